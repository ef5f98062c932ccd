// The store at a glance, each figure as the report RPC answers it: retention rate and repeat
// revenue per quarter (the last four complete quarters, in the store's time zone), the latest
// quarter's customers, 80/20 concentration, and the points liability.
import { call, storePath } from "../api.js";
import { Chart } from "../chart.jsx";
import { Figure, Loading, useLoad } from "../components.jsx";
import { int, money, percent } from "../format.js";

export const title = "Overview";
export const order = 1;

// How many days without an order end being a customer, for the retention figures.
const WINDOW_DAYS = 90;

// The last `count` complete calendar quarters before today in `timeZone`, oldest first.
export function lastQuarters(timeZone, count, now = new Date()) {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit" })
    .formatToParts(now);
  const year = Number(today.find((p) => p.type === "year").value);
  const month = Number(today.find((p) => p.type === "month").value);
  const start = (index) => {
    const y = Math.floor(index / 4);
    return `${y}-${String((index % 4) * 3 + 1).padStart(2, "0")}-01`;
  };
  const current = year * 4 + Math.floor((month - 1) / 3);
  const quarters = [];
  for (let i = current - count; i < current; i++) {
    quarters.push({
      label: `${Math.floor(i / 4)} Q${(i % 4) + 1}`,
      period: { startDate: start(i), endDate: start(i + 1) },
    });
  }
  return quarters;
}

async function loadOverview(store) {
  const quarters = lastQuarters(store.timeZone, 4);
  const report = (name, query) =>
    call("POST", storePath(`/reports/${name}`), { query }).then((r) => r.report);
  const perQuarter = await Promise.all(
    quarters.map(async (q) => ({
      ...q,
      retention: await report("retention", { period: q.period, activityWindowDays: WINDOW_DAYS }),
      repeat: await report("repeat-revenue", { period: q.period }),
    })),
  );
  const latest = perQuarter[perQuarter.length - 1];
  const concentration = await report("revenue-concentration", {
    period: latest.period,
    topPercent: 20,
  });
  const liability = (await call("GET", storePath("/reports/liability"))).report;
  const { members } = await call("GET", storePath("/members:count"));
  return { perQuarter, latest, concentration, liability, members };
}

export default function Overview({ store }) {
  const state = useLoad(() => loadOverview(store), [store.storeId]);
  if (!state.data) return <Loading state={state} />;
  const { perQuarter, latest, concentration, liability, members } = state.data;
  const currency = store.currencyCode;
  const r = latest.retention;
  return (
    <div>
      <p class="muted" data-testid="period" data-start={latest.period.startDate}
        data-end={latest.period.endDate} data-window={WINDOW_DAYS}>
        Latest complete quarter: {latest.label} ({latest.period.startDate} to{" "}
        {latest.period.endDate}, end exclusive; {store.timeZone}). Customers are active with an
        order in the {WINDOW_DAYS} days before a date.
      </p>
      <div class="figures">
        <Figure label="Members" testid="members" value={int(members)}
          detail="registered customers, erased ones left out" />
        <Figure label={`Members buying in ${latest.label}`} testid="buyers"
          value={int(latest.repeat.customers)}
          detail={`${int(latest.repeat.repeatCustomers)} of them repeat customers`} />
        <Figure label={`Active at ${latest.period.endDate}`} testid="active"
          value={int(r.customersAtEnd)}
          detail={`${int(r.customersAtStart)} at the start, ${int(r.newCustomers)} new`} />
        <Figure label={`Retention rate ${latest.label}`} testid="retention-rate"
          value={percent(r.retentionRate.basisPoints)}
          detail={`(E − N) ÷ S = ${int(r.retentionRate.numerator)} ÷ ` +
            `${int(r.retentionRate.denominator)}`} />
        <Figure label="Repeat-revenue share" testid="repeat-share"
          value={percent(latest.repeat.repeatRevenueShare.basisPoints)}
          detail={`${money(latest.repeat.repeatRevenueMinor, currency)} of ` +
            `${money(latest.repeat.totalRevenueMinor, currency)}`} />
        <Figure label="Top 20 % of customers bring" testid="concentration"
          value={percent(concentration.topRevenueShare.basisPoints)}
          detail={`${int(concentration.topCustomers)} of ${int(concentration.customers)} ` +
            `customers: ${money(concentration.topRevenueMinor, currency)}`} />
      </div>
      <h2>Retention and repeat revenue per quarter</h2>
      <div class="charts">
        <Chart title="Retention rate (%)" testid="retention-chart"
          labels={perQuarter.map((q) => q.label)} unit="%"
          values={perQuarter.map((q) => Number(q.retention.retentionRate.basisPoints) / 100)} />
        <Chart title="Repeat-revenue share (%)" testid="repeat-chart"
          labels={perQuarter.map((q) => q.label)} unit="%"
          values={perQuarter.map((q) => Number(q.repeat.repeatRevenueShare.basisPoints) / 100)} />
      </div>
      <h2>Points liability</h2>
      <div class="figures">
        <Figure label="Outstanding points" testid="outstanding"
          value={int(liability.outstanding)}
          detail={`worth ${money(liability.outstandingValueMinor, currency)}`} />
        <Figure label="Breakage (expired ÷ issued)" testid="breakage"
          value={percent(liability.breakageBps)}
          detail={`${int(liability.expired)} of ${int(liability.issued)} issued`} />
        <Figure label="Redeemed" value={int(liability.redeemed)}
          detail={`clawed back ${int(liability.clawedBack)}, written off ` +
            `${int(liability.writtenOff)}`} />
      </div>
    </div>
  );
}
