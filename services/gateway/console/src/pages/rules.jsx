// Earn rule versions, newest first, and the rules of the one selected.
import { useState } from "preact/hooks";
import { call, storePath } from "../api.js";
import { Loading, Table, useLoad } from "../components.jsx";
import { when } from "../format.js";

export const title = "Rules";
export const order = 3;

function Version({ version }) {
  const state = useLoad(() => call("GET", storePath(`/earn-rules/${version}`)), [version]);
  if (!state.data) return <Loading state={state} />;
  return (
    <div>
      <h2>Version {version}</h2>
      <pre data-testid="rule-version">{JSON.stringify(state.data.version.rules, null, 2)}</pre>
    </div>
  );
}

export default function Rules() {
  const state = useLoad(() => call("GET", storePath("/earn-rules")), []);
  const [selected, setSelected] = useState(null);
  return (
    <div>
      <p class="muted">Publish new versions with <code>loyaltyctl rules publish</code>.</p>
      <Loading state={state} />
      <Table testid="rule-versions" rows={state.data?.versions} empty="No rules published."
        columns={[
          { label: "Version", value: (v) => v.version },
          { label: "Effective from (UTC)", value: (v) => when(v.effectiveFrom) },
          { label: "Published (UTC)", value: (v) => when(v.publishedAt) },
          { label: "", value: (v) => (
            <button class="small" onClick={() => setSelected(v.version)}>View</button>) },
        ]} />
      {selected ? <Version version={selected} /> : null}
    </div>
  );
}
