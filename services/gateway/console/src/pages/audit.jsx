// The store's audit log: every admin change, who made it, and the state before and after.
import { useState } from "preact/hooks";
import { call, query, storePath } from "../api.js";
import { Loading, Table, useLoad } from "../components.jsx";
import { when } from "../format.js";

export const title = "Audit log";
export const order = 8;

export default function Audit() {
  const [pages, setPages] = useState([""]);
  const token = pages[pages.length - 1];
  const state = useLoad(
    () => call("GET", storePath(`/audit-log${query({ pageSize: 50, pageToken: token })}`)),
    [token],
  );
  const next = state.data?.nextPageToken;
  return (
    <div>
      <Loading state={state} />
      <Table testid="audit" rows={state.data?.entries} columns={[
        { label: "#", value: (e) => e.auditId },
        { label: "When (UTC)", value: (e) => when(e.createTime) },
        { label: "Who", value: (e) => e.actorKeyId },
        { label: "What", value: (e) => e.method },
        { label: "Request", value: (e) => <code>{e.requestJson}</code> },
        { label: "After", value: (e) => <code>{e.afterJson}</code> },
      ]} />
      <p>
        {pages.length > 1 ? (
          <button class="small" onClick={() => setPages(pages.slice(0, -1))}>Newer</button>
        ) : null}{" "}
        {next ? <button class="small" onClick={() => setPages([...pages, next])}>Older</button>
          : null}
      </p>
    </div>
  );
}
