// Find a customer by email (or id), read their points ledger with its reasons, and add or
// remove points with a reason (AdjustPoints; editor or owner keys).
import { useState } from "preact/hooks";
import { call, query, requestId, storePath } from "../api.js";
import { ErrorBox, Figure, Loading, Table, useLoad } from "../components.jsx";
import { int, money, when } from "../format.js";

export const title = "Customers";
export const order = 2;

function Ledger({ customer, currency }) {
  const id = customer.customerId;
  const base = storePath(`/customers/${encodeURIComponent(id)}`);
  const ledger = useLoad(() => call("GET", `${base}/ledger${query({ pageSize: 100 })}`), [id]);
  const [adjusting, setAdjusting] = useState({});
  const adjust = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    setAdjusting({ busy: true });
    try {
      // One idempotency key per submitted form: a double click is one adjustment.
      await call("POST", `${base}/points:adjust`, {
        requestId: requestId(),
        points: String(form.get("points")).trim(),
        reason: String(form.get("reason")),
      });
      event.target.reset();
      setAdjusting({ done: true });
      ledger.reload();
    } catch (e) {
      setAdjusting({ error: e });
    }
  };
  const balance = ledger.data?.balance;
  return (
    <div>
      {balance ? (
        <div class="figures">
          <Figure label="Available" testid="available" value={int(balance.available)}
            detail={`worth ${money(balance.availableValueMinor, currency)}`} />
          <Figure label="Pending" value={int(balance.pending)} />
          <Figure label="Held" value={int(balance.held)} />
          <Figure label="Debt" value={int(balance.debt)} />
        </div>
      ) : null}
      <h2>Adjust points</h2>
      <form class="inline" onSubmit={adjust} data-testid="adjust-form">
        <label>Points (negative removes)<input name="points" required inputmode="numeric"
          pattern="-?[0-9]+" /></label>
        <label>Reason<input name="reason" required size={40} /></label>
        <button type="submit" disabled={adjusting.busy}>Adjust</button>
      </form>
      <ErrorBox error={adjusting.error} />
      {adjusting.done ? <p class="ok">Adjusted.</p> : null}
      <h2>Ledger</h2>
      <Loading state={ledger} />
      <Table testid="ledger" rows={ledger.data?.transfers} empty="No transfers yet." columns={[
        { label: "When (UTC)", value: (t) => when(t.createdAt) },
        { label: "Kind", value: (t) => t.kind },
        { label: "Points", value: (t) => int(t.amount) },
        { label: "From → to", value: (t) => `${t.fromAccount} → ${t.toAccount}` },
        { label: "Reason", value: (t) => t.reason },
        { label: "Order", value: (t) => t.orderId },
      ]} />
    </div>
  );
}

export default function Customers({ store }) {
  const [found, setFound] = useState({});
  const find = async (event) => {
    event.preventDefault();
    const text = String(new FormData(event.target).get("who")).trim();
    const key = text.includes("@") ? { email: text } : { customerId: text };
    try {
      const { customer } = await call("GET", storePath(`/customers:lookup${query(key)}`));
      setFound({ customer });
    } catch (e) {
      setFound({ error: e });
    }
  };
  const c = found.customer;
  return (
    <div>
      <form class="inline" onSubmit={find} data-testid="find-form">
        <label>Email or customer id<input name="who" required size={40} /></label>
        <button type="submit">Find</button>
      </form>
      <ErrorBox error={found.error} />
      {c ? (
        <div>
          <h2 data-testid="customer">{c.name || "(no name)"} — {c.email}</h2>
          <p class="muted">
            {c.customerId} · signed up {when(c.signedUpAt)} · marketing{" "}
            {c.marketingConsent ? "yes" : "no"}
            {c.tags.length ? ` · tags ${c.tags.join(", ")}` : ""}
            {c.erased ? " · erased" : ""}
          </p>
          <Ledger customer={c} currency={store.currencyCode} />
        </div>
      ) : null}
    </div>
  );
}
