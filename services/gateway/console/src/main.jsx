// The admin console: sign in with an admin key, then one page per file of pages/ (each exports
// `title`, `order` and a default component), chosen by the URL's hash (#/customers).
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import pages from "console:pages";
import { call, saveSession, session, signOut, storePath } from "./api.js";
import { ErrorBox } from "./components.jsx";

const ordered = [...pages].sort((a, b) => a.order - b.order);

function currentPage() {
  const id = location.hash.replace(/^#\/?/, "");
  return ordered.find((p) => p.id === id) ?? ordered[0];
}

function SignIn({ onSignedIn }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const key = String(form.get("key")).trim();
    // A key granted one store needs no store id: "-" stands for the key's own store.
    const store = String(form.get("store")).trim() || "-";
    setBusy(true);
    try {
      // The key is checked before it is kept: the store record answers only a key granted it.
      const { store: record } = await call("GET", storePath("", store), undefined, key);
      saveSession(key, record.storeId);
      onSignedIn(record);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>Loyalty admin</h1>
      <form onSubmit={submit} autocomplete="off">
        <label>
          Admin API key
          <input name="key" type="password" required spellcheck={false} />
        </label>
        <label>
          Store id <span class="muted">(only for a key granted several stores)</span>
          <input name="store" spellcheck={false} />
        </label>
        <button type="submit" disabled={busy}>Sign in</button>
        <ErrorBox error={error} />
        <p class="muted">The key stays in this tab's session storage and is sent only to this
          gateway.</p>
      </form>
    </main>
  );
}

function App() {
  const [store, setStore] = useState(null);
  const [page, setPage] = useState(currentPage);
  const [error, setError] = useState(null);
  useEffect(() => {
    const onHash = () => setPage(currentPage());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  useEffect(() => {
    if (session() && !store) {
      call("GET", storePath("")).then((r) => setStore(r.store), (e) => {
        setError(e);
        if (e.status === 401 || e.status === 403) signOut();
      });
    }
  }, [store]);
  if (!session()) return <SignIn onSignedIn={setStore} />;
  if (!store) return error ? <ErrorBox error={error} /> : <p class="muted">Loading…</p>;
  const Page = page.default;
  return (
    <div class="shell">
      <nav>
        <div class="store" data-testid="store-name">{store.name}</div>
        <div class="muted">{store.storeId}</div>
        {ordered.map((p) => (
          <a href={`#/${p.id}`} class={p === page ? "active" : ""}>{p.title}</a>
        ))}
        <button class="link" onClick={() => { signOut(); setStore(null); }}>Sign out</button>
      </nav>
      <main>
        <h1>{page.title}</h1>
        <Page store={store} />
      </main>
    </div>
  );
}

render(<App />, document.getElementById("app"));
