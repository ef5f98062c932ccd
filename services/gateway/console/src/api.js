// Calls the gateway's HTTP/JSON API (docs/http.md) as the signed-in admin. The key is kept in
// sessionStorage only (gone when the tab closes, never in a URL or a cookie) and sent as
// `Authorization: Bearer <key>` to the same origin: the gateway sends no CORS headers.
const KEY = "loyalty.adminKey";
const STORE = "loyalty.storeId";

export function session() {
  const key = sessionStorage.getItem(KEY);
  const store = sessionStorage.getItem(STORE);
  return key && store ? { key, store } : null;
}

export function saveSession(key, store) {
  sessionStorage.setItem(KEY, key);
  sessionStorage.setItem(STORE, store);
}

export function signOut() {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(STORE);
}

// A google.rpc.Status answered by the gateway: its message, ErrorInfo reason and the field.
export class ApiError extends Error {
  constructor(status, body) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    for (const detail of body.details || []) {
      if (detail.reason) this.reason = detail.reason;
      if (detail.fieldViolations) this.field = detail.fieldViolations[0].field;
    }
  }
}

export async function call(method, path, body, key = session()?.key) {
  const headers = { Authorization: `Bearer ${key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "omit",
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

// "/v1/stores/<the signed-in store><suffix>".
export function storePath(suffix, store = session()?.store) {
  return `/v1/stores/${encodeURIComponent(store)}${suffix}`;
}

// A fresh idempotency key for one mutation (the same one is reused if the user retries it).
export function requestId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "console-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function query(params) {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return parts.length ? "?" + parts.join("&") : "";
}
