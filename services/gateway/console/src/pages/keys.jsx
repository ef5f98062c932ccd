// The store's API keys: list, create (the secret is shown once) and revoke (owner keys).
import { useState } from "preact/hooks";
import { call, requestId, storePath } from "../api.js";
import { ErrorBox, Loading, Table, useLoad } from "../components.jsx";
import { when } from "../format.js";

export const title = "API keys";
export const order = 6;

const label = (enumName) => enumName.replace(/^(KEY_KIND_|ROLE_)/, "").toLowerCase();

export default function Keys() {
  const state = useLoad(() => call("GET", storePath("/keys")), []);
  const [result, setResult] = useState({});
  const create = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const kind = String(form.get("kind"));
    try {
      const created = await call("POST", storePath("/keys"), {
        requestId: requestId(),
        kind,
        role: kind === "KEY_KIND_ADMIN" ? String(form.get("role")) : "ROLE_UNSPECIFIED",
        displayName: String(form.get("name")),
      });
      event.target.reset();
      setResult({ secret: created.secret, keyId: created.key.keyId });
      state.reload();
    } catch (e) {
      setResult({ error: e });
    }
  };
  const revoke = async (keyId) => {
    if (!confirm(`Revoke ${keyId}? Calls with it stop at once.`)) return;
    try {
      await call("POST", storePath(`/keys/${encodeURIComponent(keyId)}:revoke`), {});
      state.reload();
    } catch (e) {
      setResult({ error: e });
    }
  };
  return (
    <div>
      <Loading state={state} />
      <Table testid="keys" rows={state.data?.keys} columns={[
        { label: "Key id", value: (k) => k.keyId },
        { label: "Name", value: (k) => k.displayName },
        { label: "Kind", value: (k) => label(k.kind) },
        { label: "Role", value: (k) => (k.kind === "KEY_KIND_ADMIN" ? label(k.role) : "") },
        { label: "Created (UTC)", value: (k) => when(k.createTime) },
        { label: "Revoked (UTC)", value: (k) => when(k.revokeTime) },
        { label: "", value: (k) => (k.revokeTime ? "" : (
          <button class="small" onClick={() => revoke(k.keyId)}>Revoke</button>)) },
      ]} />
      <h2>New key</h2>
      <form class="inline" onSubmit={create}>
        <label>Name<input name="name" required /></label>
        <label>Kind
          <select name="kind">
            <option value="KEY_KIND_STOREFRONT">storefront</option>
            <option value="KEY_KIND_ADMIN">admin</option>
          </select>
        </label>
        <label>Role (admin keys)
          <select name="role">
            <option value="ROLE_VIEWER">viewer</option>
            <option value="ROLE_EDITOR">editor</option>
            <option value="ROLE_OWNER">owner</option>
          </select>
        </label>
        <button type="submit">Create</button>
      </form>
      <ErrorBox error={result.error} />
      {result.secret ? (
        <p class="ok">Key {result.keyId}: <code>{result.secret}</code> — copy it now, it is not
          shown again.</p>
      ) : null}
    </div>
  );
}
