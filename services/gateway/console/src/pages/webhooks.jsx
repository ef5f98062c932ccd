// Webhook endpoints (docs/webhooks.md), each one's delivery attempts (status, response code,
// latency) and a replay from an event cursor.
import { useState } from "preact/hooks";
import { call, query, requestId, storePath } from "../api.js";
import { ErrorBox, Loading, Table, useLoad } from "../components.jsx";
import { when } from "../format.js";

export const title = "Webhooks";
export const order = 5;

function Attempts({ endpoint, onReplayed }) {
  const id = endpoint.endpointId;
  const base = storePath(`/webhooks/${encodeURIComponent(id)}`);
  const state = useLoad(() => call("GET", `${base}/attempts${query({ pageSize: 100 })}`), [id]);
  const [replay, setReplay] = useState({});
  const submit = async (event) => {
    event.preventDefault();
    const after = String(new FormData(event.target).get("after")).trim();
    try {
      await call("POST", `${base}:replay`, { requestId: requestId(), after });
      setReplay({ done: after || "the beginning" });
      onReplayed();
    } catch (e) {
      setReplay({ error: e });
    }
  };
  return (
    <div>
      <h2>Attempts to {endpoint.url}</h2>
      <Loading state={state} />
      <Table testid="attempts" rows={state.data?.attempts} empty="No attempts yet." columns={[
        { label: "When (UTC)", value: (a) => when(a.createTime) },
        { label: "Event", value: (a) => `${a.eventType} (${a.eventCursor})` },
        { label: "Try", value: (a) => a.attempt },
        { label: "Status", value: (a) => a.status },
        { label: "HTTP", value: (a) => a.responseCode || "" },
        { label: "Latency", value: (a) => `${a.latencyMs} ms` },
        { label: "Error", value: (a) => a.error },
      ]} />
      <h2>Replay</h2>
      <form class="inline" onSubmit={submit}>
        <label>After event cursor (empty: from the beginning)<input name="after" size={24} />
        </label>
        <button type="submit">Replay</button>
      </form>
      <ErrorBox error={replay.error} />
      {replay.done ? <p class="ok">Replaying after {replay.done}.</p> : null}
    </div>
  );
}

export default function Webhooks() {
  const state = useLoad(() => call("GET", storePath("/webhooks")), []);
  const [selected, setSelected] = useState(null);
  return (
    <div>
      <p class="muted">Create endpoints with the API (<code>POST /v1/stores/…/webhooks</code>):
        the secret is shown once.</p>
      <Loading state={state} />
      <ErrorBox error={state.error} />
      <Table testid="endpoints" rows={state.data?.endpoints} empty="No endpoints." columns={[
        { label: "Endpoint", value: (e) => e.endpointId },
        { label: "URL", value: (e) => e.url },
        { label: "Events", value: (e) => (e.eventTypes.length ? e.eventTypes.join(", ") : "all") },
        { label: "Enabled", value: (e) => (e.enabled ? "yes" : `no: ${e.disabledReason}`) },
        { label: "Cursor", value: (e) => e.cursor },
        { label: "Failing", value: (e) => e.pendingAttempts },
        { label: "", value: (e) => (
          <button class="small" onClick={() => setSelected(e)}>Attempts</button>) },
      ]} />
      {selected ? <Attempts endpoint={selected} onReplayed={state.reload} /> : null}
    </div>
  );
}
