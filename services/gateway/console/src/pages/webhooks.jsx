// Webhook endpoints (docs/webhooks.md): create (the secret is shown once), rotate the secret
// (the old one signs beside it for 24 h), disable and enable; each one's delivery attempts
// (status, response code, latency) and a replay from an event cursor.
import { useState } from "preact/hooks";
import { call, query, requestId, storePath } from "../api.js";
import { ErrorBox, Loading, Table, useLoad } from "../components.jsx";
import { when } from "../format.js";

export const title = "Webhooks";
export const order = 7;

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

// Create, rotate, disable, enable: each answers the endpoint; create and rotate also the secret.
function useEndpointActions(reload) {
  const [result, setResult] = useState({});
  const act = async (path, body, what) => {
    try {
      const answer = await call("POST", path, { requestId: requestId(), ...body });
      setResult({ secret: answer.secret, what: `${what} ${answer.endpoint.endpointId}` });
      reload();
      return true;
    } catch (e) {
      setResult({ error: e });
      return false;
    }
  };
  const one = (e) => storePath(`/webhooks/${encodeURIComponent(e.endpointId)}`);
  return {
    result,
    create: async (event) => {
      event.preventDefault();
      const form = new FormData(event.target);
      const eventTypes = String(form.get("types")).split(",").map((t) => t.trim()).filter(Boolean);
      const url = String(form.get("url")).trim();
      if (await act(storePath("/webhooks"), { url, eventTypes }, "Created")) event.target.reset();
    },
    rotate: (e) => act(`${one(e)}:rotate-secret`, {}, "New secret for"),
    toggle: (e) => act(`${one(e)}:${e.enabled ? "disable" : "enable"}`, {},
                       e.enabled ? "Disabled" : "Enabled"),
  };
}

export default function Webhooks() {
  const state = useLoad(() => call("GET", storePath("/webhooks")), []);
  const [selected, setSelected] = useState(null);
  const actions = useEndpointActions(state.reload);
  const { result } = actions;
  return (
    <div>
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
          <span>
            <button class="small" onClick={() => setSelected(e)}>Attempts</button>{" "}
            <button class="small" onClick={() => actions.rotate(e)}>Rotate secret</button>{" "}
            <button class="small" onClick={() => actions.toggle(e)}>
              {e.enabled ? "Disable" : "Enable"}</button>
          </span>) },
      ]} />
      <h2>New endpoint</h2>
      <form class="inline" onSubmit={actions.create}>
        <label>URL<input name="url" type="url" required size={40} /></label>
        <label>Event types (comma-separated; empty: all)<input name="types" size={30} /></label>
        <button type="submit">Create</button>
      </form>
      <ErrorBox error={result.error} />
      {result.what ? (
        <p class="ok" data-testid="endpoint-result">{result.what}
          {result.secret ? <span>: secret <code>{result.secret}</code> — copy it now, it is not
            shown again.</span> : null}</p>
      ) : null}
      {selected ? <Attempts endpoint={selected} onReplayed={state.reload} /> : null}
    </div>
  );
}
