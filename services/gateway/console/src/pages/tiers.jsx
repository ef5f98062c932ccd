// The tier program, versioned: each version's tiers (threshold and benefits), what they are
// measured on, the window and the grace days, with who published it and why (docs/tiers.md).
// Publishing stays with `loyaltyctl tiers publish FILE --reason`.
import { call, storePath } from "../api.js";
import { Loading, Table, useLoad } from "../components.jsx";
import { int, money, percent, when } from "../format.js";

export const title = "Tiers";
export const order = 4;

const MEASURES = { TIER_MEASURE_SPEND: "qualifying spend", TIER_MEASURE_POINTS: "points earned" };
const WINDOWS = {
  TIER_WINDOW_ROLLING_12_MONTHS: "the last 12 months",
  TIER_WINDOW_CALENDAR_YEAR: "the calendar year",
};

function threshold(program, tier) {
  return program.measure === "TIER_MEASURE_SPEND"
    ? money(tier.threshold, program.currencyCode)
    : `${int(tier.threshold)} points`;
}

function benefits(b = {}) {
  const parts = [];
  if (b.earnMultiplierBps && b.earnMultiplierBps !== 10000) {
    parts.push(`earns ${percent(b.earnMultiplierBps)} of the points`);
  }
  if (b.freeShipping) parts.push("free shipping");
  if (b.exclusiveRewards) parts.push("exclusive rewards");
  return parts.join(", ") || "none";
}

export default function Tiers() {
  const state = useLoad(() => call("GET", storePath("/tiers")), []);
  const versions = state.data?.versions;
  const current = versions?.[0];
  return (
    <div>
      <Loading state={state} />
      {versions && !current ? <p class="muted" data-testid="tiers">No tiers published yet.</p>
        : null}
      {current ? (
        <div>
          <h2>Version {current.version}, in force from {when(current.effectiveFrom)} UTC</h2>
          <p data-testid="tier-program">
            On {MEASURES[current.program.measure] ?? current.program.measure} over{" "}
            {WINDOWS[current.program.window] ?? current.program.window}; a tier is kept to the end
            of its period plus {current.program.graceDays ?? 0} days.
          </p>
          <Table testid="tiers" rows={current.program.tiers} columns={[
            { label: "Tier", value: (t) => `${t.name} (${t.tierId})` },
            { label: "From", value: (t) => threshold(current.program, t) },
            { label: "Benefits", value: (t) => benefits(t.benefits) },
          ]} />
        </div>
      ) : null}
      <h2>Versions</h2>
      <Table testid="tier-versions" rows={versions} empty="None." columns={[
        { label: "Version", value: (v) => v.version },
        { label: "Effective from (UTC)", value: (v) => when(v.effectiveFrom) },
        { label: "Published (UTC)", value: (v) => when(v.publishedAt) },
        { label: "By", value: (v) => v.author },
        { label: "Why", value: (v) => v.reason },
      ]} />
    </div>
  );
}
