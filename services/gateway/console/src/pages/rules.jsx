// Earn rule versions, newest first: the rules of one, what changed from the version before it
// (a line diff of the two as JSON), and publishing an edited copy as a new version (editor or
// owner keys; the gateway checks the rules and names a bad field).
import { useState } from "preact/hooks";
import { call, requestId, storePath } from "../api.js";
import { ErrorBox, Loading, Table, useLoad } from "../components.jsx";
import { lineDiff } from "../diff.js";
import { when } from "../format.js";

export const title = "Rules";
export const order = 3;

const rulesOf = (version) =>
  call("GET", storePath(`/earn-rules/${version}`)).then((r) => r.version.rules);

function Version({ version, previous, onPublished }) {
  const state = useLoad(
    async () => ({ rules: await rulesOf(version), before: previous && await rulesOf(previous) }),
    [version, previous],
  );
  const [publish, setPublish] = useState({});
  if (!state.data) return <Loading state={state} />;
  const text = JSON.stringify(state.data.rules, null, 2);
  const submit = async (event) => {
    event.preventDefault();
    try {
      const rules = JSON.parse(String(new FormData(event.target).get("rules")));
      const { version: made } = await call("POST", storePath("/earn-rules"),
        { requestId: requestId(), rules });
      setPublish({ done: made.version });
      onPublished();
    } catch (e) {
      setPublish({ error: e });
    }
  };
  return (
    <div>
      <h2>Version {version}</h2>
      <pre data-testid="rule-version">{text}</pre>
      {previous ? (
        <div>
          <h2>Changes from version {previous}</h2>
          <pre class="diff" data-testid="rule-diff">
            {lineDiff(JSON.stringify(state.data.before, null, 2), text).map(([mark, line]) => (
              <div class={mark === "+" ? "added" : mark === "-" ? "removed" : ""}>
                {mark} {line}
              </div>
            ))}
          </pre>
        </div>
      ) : null}
      <h2>Publish an edited copy</h2>
      <form onSubmit={submit} data-testid="publish-form">
        <textarea name="rules" rows={14} spellcheck={false} defaultValue={text} />
        <button type="submit">Publish as a new version, effective now</button>
      </form>
      <ErrorBox error={publish.error} />
      {publish.done ? <p class="ok">Published version {publish.done}.</p> : null}
    </div>
  );
}

export default function Rules() {
  const state = useLoad(() => call("GET", storePath("/earn-rules")), []);
  const [selected, setSelected] = useState(null);
  const versions = state.data?.versions;
  // Newest first: the version before one is the next row.
  const previous = (v) => versions[versions.findIndex((x) => x.version === v) + 1]?.version;
  return (
    <div>
      <Loading state={state} />
      <Table testid="rule-versions" rows={versions} empty="No rules published yet."
        columns={[
          { label: "Version", value: (v) => v.version },
          { label: "Effective from (UTC)", value: (v) => when(v.effectiveFrom) },
          { label: "Published (UTC)", value: (v) => when(v.publishedAt) },
          { label: "", value: (v) => (
            <button class="small" onClick={() => setSelected(v.version)}>View</button>) },
        ]} />
      {selected ? (
        <Version key={selected} version={selected} previous={previous(selected)}
          onPublished={state.reload} />
      ) : null}
    </div>
  );
}
