// Pieces every page uses: loading an API answer, showing an error, tables and figures.
import { useCallback, useEffect, useState } from "preact/hooks";

// Runs `load` (an async function) now and whenever `deps` change; reload() runs it again.
export function useLoad(load, deps) {
  const [state, setState] = useState({ loading: true });
  const run = useCallback(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error) => live && setState({ error, loading: false }),
    );
    return () => { live = false; };
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error.message}
      {error.field ? ` (field: ${error.field})` : ""}
      {error.reason ? ` [${error.reason}]` : ""}
    </p>
  );
}

export function Loading({ state }) {
  if (state.error) return <ErrorBox error={state.error} />;
  return state.loading && !state.data ? <p class="muted">Loading…</p> : null;
}

// columns: [{ label, value: (row) => text }]; nothing while rows are not loaded (undefined).
export function Table({ columns, rows, testid, empty = "Nothing yet." }) {
  if (rows === undefined) return null;
  if (!rows.length) return <p class="muted" data-testid={testid}>{empty}</p>;
  return (
    <table data-testid={testid}>
      <thead>
        <tr>{columns.map((c) => <th>{c.label}</th>)}</tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr>{columns.map((c) => <td>{c.value(row)}</td>)}</tr>
        ))}
      </tbody>
    </table>
  );
}

export function Figure({ label, value, detail, testid }) {
  return (
    <div class="figure">
      <div class="label">{label}</div>
      <div class="value" data-testid={testid}>{value}</div>
      {detail ? <div class="detail">{detail}</div> : null}
    </div>
  );
}
