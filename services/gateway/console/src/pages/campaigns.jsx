// Campaigns and saved segments (docs/campaigns.md): each campaign's kind, whom it targets and
// with which code; each segment's filters, and its members counted as of now on request (how
// many consent to marketing, whom a campaign can reach). Writing and running them stays with
// `loyaltyctl campaigns` and `loyaltyctl segments` (or the API).
import { useState } from "preact/hooks";
import { call, storePath } from "../api.js";
import { ErrorBox, Loading, Table, useLoad } from "../components.jsx";
import { int } from "../format.js";

export const title = "Campaigns";
export const order = 5.5;

function whom(d) {
  switch (d.kind) {
    case "CAMPAIGN_KIND_WIN_BACK":
      return `no order for ${d.lapsedDays} days, once per lapse`;
    case "CAMPAIGN_KIND_TOP_SPENDERS":
      return `top ${d.topPercent || 10} % by spend last month, once a month`;
    case "CAMPAIGN_KIND_BIRTHDAY":
      return "birthday today, once a year";
    case "CAMPAIGN_KIND_FIRST_PURCHASE":
      return `signed up in the last ${d.signupDays || 7} days, once`;
    default:
      return d.kind;
  }
}

// A segment's filters in words (the API's names; an empty audience is everyone). The gateway's
// JSON prints unset enums as their UNSPECIFIED value.
function filters(a = {}) {
  const parts = [];
  if (a.rfmSegment && a.rfmSegment !== "RFM_SEGMENT_UNSPECIFIED") {
    parts.push(a.rfmSegment.replace("RFM_SEGMENT_", "RFM ").toLowerCase());
  }
  const bought = [...(a.skus ?? []), ...(a.categories ?? [])];
  if (bought.length) parts.push(`bought ${bought.join(" or ")}`);
  if (a.discountUse === "DISCOUNT_USE_USED") parts.push("used a discount");
  if (a.discountUse === "DISCOUNT_USE_NOT_USED") parts.push("used no discount");
  // int64 fields come as strings in the proto JSON mapping; amounts in the store's minor units.
  const min = Number(a.minSpendMinor ?? 0);
  const max = Number(a.maxSpendMinor ?? 0);
  if (min || max) {
    parts.push(max ? `spent ${int(min)} to ${int(max)} (minor units)` : `spent ${int(min)}+ (minor units)`);
  }
  if (a.withinDays) parts.push(`within ${a.withinDays} days`);
  if (a.tierId) parts.push(`in tier ${a.tierId}`);
  return parts.join(", ") || "everyone";
}

function Members({ segmentId }) {
  const [state, setState] = useState(null);
  const count = async () => {
    try {
      setState({ data: await call("GET", storePath(`/segments/${segmentId}/members?pageSize=1`)) });
    } catch (error) {
      setState({ error });
    }
  };
  if (state?.error) return <ErrorBox error={state.error} />;
  if (state?.data) {
    return (
      <span data-testid={`members-${segmentId}`}>
        {int(state.data.members)} members, {int(state.data.withConsent)} with consent
      </span>
    );
  }
  return <button class="small" onClick={count}>Count members</button>;
}

export default function Campaigns() {
  const state = useLoad(() => call("GET", storePath("/campaigns")), []);
  return (
    <div>
      <Loading state={state} />
      <h2>Campaigns</h2>
      <Table testid="campaigns" rows={state.data ? state.data.campaigns ?? [] : undefined}
        empty="No campaigns yet." columns={[
          { label: "Campaign", value: (c) => c.campaignId },
          { label: "Reaches", value: (c) => whom(c.definition) },
          { label: "Audience", value: (c) => c.definition.segmentId
            ? `segment ${c.definition.segmentId}` : filters(c.definition.audience) },
          { label: "Code like", value: (c) => c.definition.codeBatchId || "no code" },
          { label: "By", value: (c) => c.author },
          { label: "Why", value: (c) => c.reason },
        ]} />
      <h2>Segments</h2>
      <Table testid="segments" rows={state.data ? state.data.segments ?? [] : undefined}
        empty="No saved segments yet." columns={[
          { label: "Segment", value: (s) => s.segmentId },
          { label: "Filters", value: (s) => filters(s.definition) },
          { label: "Members now", value: (s) => <Members segmentId={s.segmentId} /> },
          { label: "By", value: (s) => s.author },
          { label: "Why", value: (s) => s.reason },
        ]} />
    </div>
  );
}
