// The rewards catalogue (docs/rewards.md): each reward's current version, what it costs and takes
// off, who may redeem it, its stock and window; withdrawing or restoring one writes a new version
// with a reason, and a new reward is created from its definition as JSON (editor or owner keys;
// the gateway checks it and names a bad field).
import { useState } from "preact/hooks";
import { call, requestId, storePath } from "../api.js";
import { ErrorBox, Loading, Table, useLoad } from "../components.jsx";
import { int, money, percent, when } from "../format.js";

export const title = "Rewards";
export const order = 5;

function takesOff(d) {
  switch (d.kind) {
    case "REWARD_KIND_AMOUNT_OFF":
      return money(d.amountOffMinor, d.currencyCode);
    case "REWARD_KIND_PERCENT_OFF":
      return `${percent(d.percentOffBps)}, at most ${money(d.capMinor, d.currencyCode)}`;
    case "REWARD_KIND_FREE_SHIPPING":
      return "the shipping";
    case "REWARD_KIND_FREE_PRODUCT":
      return `one ${d.sku}`;
    case "REWARD_KIND_GIFT_WRAP":
      return `gift wrap ${d.sku}`;
    default:
      return d.kind;
  }
}

function who(d) {
  const tiers = d.tierIds?.length ? `tiers ${d.tierIds.join(", ")}` : "";
  const exclusive = d.exclusive ? "tiers with exclusive rewards" : "";
  return [tiers, exclusive].filter(Boolean).join(" and ") || "anyone";
}

function stock(r) {
  const limit = r.definition.stockLimit;
  return limit && limit !== "0" ? `${int(r.redeemed)} of ${int(limit)}` : `${int(r.redeemed)}`;
}

function windowOf(d) {
  if (!d.activeFrom && !d.activeUntil) return "always";
  return `${d.activeFrom ? when(d.activeFrom) : "…"} to ${d.activeUntil ? when(d.activeUntil) : "…"}`;
}

const EXAMPLE = JSON.stringify(
  { name: "5 off", kind: "REWARD_KIND_AMOUNT_OFF", pointsCost: "500", amountOffMinor: "500" },
  null, 2);

export default function Rewards() {
  const state = useLoad(() => call("GET", storePath("/rewards")), []);
  const [result, setResult] = useState({});
  const write = async (action) => {
    try {
      setResult({ done: await action() });
      state.reload();
    } catch (e) {
      setResult({ error: e });
    }
  };
  const toggle = (r) => write(async () => {
    const definition = { ...r.definition, disabled: !r.definition.disabled };
    await call("PUT", storePath(`/rewards/${encodeURIComponent(r.rewardId)}`), {
      requestId: requestId(), definition,
      reason: definition.disabled ? "withdrawn in the console" : "restored in the console",
    });
    return `${r.rewardId}: ${definition.disabled ? "withdrawn" : "restored"}.`;
  });
  const create = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    write(async () => {
      const { reward } = await call("POST", storePath("/rewards"), {
        requestId: requestId(),
        rewardId: String(form.get("rewardId")),
        definition: JSON.parse(String(form.get("definition"))),
        reason: String(form.get("reason")),
      });
      return `${reward.rewardId}: created.`;
    });
  };
  return (
    <div>
      <Loading state={state} />
      <Table testid="rewards" rows={state.data?.rewards} empty="No rewards yet." columns={[
        { label: "Reward", value: (r) => `${r.definition.name} (${r.rewardId})` },
        { label: "Costs", value: (r) => `${int(r.definition.pointsCost)} points` },
        { label: "Takes off", value: (r) => takesOff(r.definition) },
        { label: "For", value: (r) => who(r.definition) },
        { label: "Redeemed", value: (r) => stock(r) },
        { label: "Active (UTC)", value: (r) => windowOf(r.definition) },
        { label: "Version", value: (r) => `${r.version}: ${r.reason}` },
        { label: "", value: (r) => (
          <button class="small" onClick={() => toggle(r)}>
            {r.definition.disabled ? "Restore" : "Withdraw"}
          </button>) },
      ]} />
      <ErrorBox error={result.error} />
      {result.done ? <p class="ok" data-testid="reward-result">{result.done}</p> : null}
      <h2>Create a reward</h2>
      <form onSubmit={create} data-testid="reward-form">
        <label>Reward id <input name="rewardId" required pattern="[A-Za-z0-9_.:\-]+" /></label>
        <label>Why <input name="reason" required /></label>
        <textarea name="definition" rows={8} spellcheck={false} defaultValue={EXAMPLE} />
        <button type="submit">Create</button>
      </form>
    </div>
  );
}
