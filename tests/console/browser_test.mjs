// The admin console in a real browser (Debian's headless chromium, driven by puppeteer-core).
// tests/gateway/console_it.cpp starts the platform and runs:
//   node browser_test.mjs <gateway HTTP URL> <operator token> <screenshot dir>
// Seeds a store through the HTTP/JSON API, signs in with its owner key, checks the overview's
// figures against the report RPCs, adjusts a customer's points and sees the ledger row, publishes
// edited rules and sees the diff, checks the tiers and rewards pages against the API (withdraws
// and creates a reward) and the campaigns page (a segment's members as the API counts them),
// visits every page, and saves a screenshot of each. Exits 1 at the first failed check.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import puppeteer from "puppeteer-core";

const [base, operatorToken, shots] = process.argv.slice(2);
const CHROMIUM = process.env.LOYALTY_CHROMIUM || "/usr/bin/chromium";
const DAY = 86400 * 1000;
setTimeout(() => { console.error("browser test: over 100 s"); process.exit(1); }, 100000).unref();

async function api(method, route, key, body) {
  const response = await fetch(base + route, {
    method,
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  assert.ok(response.ok, `${method} ${route}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

// The console's number format, written again here so a drift in either shows: bps → "75.00 %".
const percent = (bps) => `${(BigInt(bps) / 100n)}.${String(BigInt(bps) % 100n).padStart(2, "0")} %`;

// The last complete calendar quarter in Paris time: [start, end) as local dates and instants.
function lastQuarter(now = new Date()) {
  const [y, m] = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Paris", year: "numeric",
    month: "2-digit" }).format(now).split("-").map(Number);
  const index = y * 4 + Math.floor((m - 1) / 3) - 1;
  const date = (i) => `${Math.floor(i / 4)}-${String((i % 4) * 3 + 1).padStart(2, "0")}-01`;
  return { startDate: date(index), endDate: date(index + 1) };
}

async function seed() {
  const created = await api("POST", "/v1/stores", operatorToken, {
    requestId: "console-it-store", name: "Console Tea Shop", currencyCode: "EUR",
    timeZone: "Europe/Paris",
  });
  const store = created.store.storeId;
  const owner = created.ownerKeySecret;
  const storefront = (await api("POST", `/v1/stores/${store}/keys`, owner, {
    requestId: "console-it-sf", kind: "KEY_KIND_STOREFRONT", displayName: "storefront",
  })).secret;
  const ids = {};
  for (const name of ["ada", "bo", "cy", "di", "eve"]) {
    ids[name] = (await api("POST", "/v1/customers", storefront, {
      requestId: `console-it-${name}`, email: `${name}@example.com`, name,
    })).customer.customerId;
  }
  // Around the last complete quarter [qs, qe): ada, bo and cy are customers at its start (an
  // order 30 days before), ada orders again inside it (retained), di (twice) and eve (once) are
  // new in it; the quarters before have orders too, for the charts. Retention (E − N) ÷ S =
  // (3 − 2) ÷ 3; eve's order is the quarter's only one not from a repeat customer.
  const q = lastQuarter();
  const qs = Date.parse(q.startDate + "T12:00:00Z");
  const qe = Date.parse(q.endDate + "T12:00:00Z");
  const orders = [
    ["ada", qs - 30 * DAY, 4200], ["bo", qs - 30 * DAY, 1500], ["cy", qs - 30 * DAY, 900],
    ["ada", qe - 20 * DAY, 6100], ["di", qs + 10 * DAY, 2500], ["di", qe - 10 * DAY, 1800],
    ["eve", qs + 5 * DAY, 2000],
    ["ada", qs - 120 * DAY, 3000], ["bo", qs - 150 * DAY, 2000], ["ada", qs - 210 * DAY, 1000],
    ["cy", qs - 240 * DAY, 1200], ["bo", qs - 300 * DAY, 800],
  ].map(([who, at, price], i) => ({
    order: { orderId: `console-it-${i}`, customerId: ids[who],
      lines: [{ lineId: "1", sku: "sencha", category: "tea", unitPriceMinor: String(price),
        quantity: 1 }] },
    placedAt: new Date(at).toISOString(),
    fulfilled: true,
  }));
  await api("POST", `/v1/stores/${store}/orders:import`, owner, { requestId: "console-it-import",
    orders });
  // Some points outstanding and a rule version, so that those pages show something.
  await api("POST", `/v1/stores/${store}/customers/${ids.bo}/points:adjust`, owner, {
    requestId: "console-it-bo", points: "120", reason: "welcome gift" });
  await api("POST", `/v1/stores/${store}/earn-rules`, owner, { requestId: "console-it-rules",
    rules: { baseRate: "1", multipliers: [{ category: "tea", multiplierBps: 20000 }] } });
  // A tier program and a reward, for their pages.
  await api("POST", `/v1/stores/${store}/tiers`, owner, { requestId: "console-it-tiers",
    reason: "launch", program: { measure: "TIER_MEASURE_SPEND",
      window: "TIER_WINDOW_CALENDAR_YEAR", graceDays: 30, tiers: [
        { tierId: "member", name: "Member", threshold: "0" },
        { tierId: "silver", name: "Silver", threshold: "5000",
          benefits: { earnMultiplierBps: 12500, freeShipping: true } }] } });
  await api("POST", `/v1/stores/${store}/rewards`, owner, { requestId: "console-it-reward",
    rewardId: "five-off", reason: "launch", definition: { name: "5 off",
      kind: "REWARD_KIND_AMOUNT_OFF", pointsCost: "500", amountOffMinor: "500",
      stockLimit: "20" } });
  // A saved segment and a campaign that names it, for the campaigns page.
  await api("PUT", `/v1/stores/${store}/segments/tea-buyers`, owner, {
    requestId: "console-it-segment", reason: "tea promotion",
    definition: { categories: ["tea"], withinDays: 3660 } });
  await api("PUT", `/v1/stores/${store}/campaigns/we-miss-you`, owner, {
    requestId: "console-it-campaign", reason: "autumn",
    definition: { kind: "CAMPAIGN_KIND_WIN_BACK", lapsedDays: 60, segmentId: "tea-buyers" } });
  return { store, owner, ids, quarter: q };
}

const text = (page, testid) =>
  page.$eval(`[data-testid="${testid}"]`, (e) => e.textContent.trim());

// Views version 1, publishes an edited copy (base rate 2) and sees version 2 and its diff.
async function editRules(page) {
  await page.click('[data-testid="rule-versions"] button');
  const textarea = await page.waitForSelector('[data-testid="publish-form"] textarea');
  const rules = JSON.parse(await textarea.evaluate((e) => e.value));
  assert.deepEqual(rules.multipliers.map((m) => m.category), ["tea"]);
  await textarea.evaluate((e, text) => { e.value = text; },
    JSON.stringify({ ...rules, baseRate: "2" }, null, 2));
  await page.click('[data-testid="publish-form"] button');
  await page.waitForFunction(() => document.querySelector(".ok")?.textContent ===
    "Published version 2.");
  await page.waitForFunction(() =>
    document.querySelectorAll('[data-testid="rule-versions"] tbody tr').length === 2);
  await page.click('[data-testid="rule-versions"] tbody tr:first-child button');
  const diff = await page.waitForSelector('[data-testid="rule-diff"]');
  const lines = await diff.evaluate((e) => [...e.children].map((d) => d.textContent));
  assert.ok(lines.includes('-   "baseRate": "1",'), lines.join("\n"));
  assert.ok(lines.includes('+   "baseRate": "2",'), lines.join("\n"));
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const seeded = await seed();
  const { store, owner } = seeded;

  // The console's own headers: a CSP without inline script, no CORS.
  const index = await fetch(base + "/admin");
  assert.equal(index.status, 200);
  assert.match(index.headers.get("content-security-policy"), /script-src 'self';/);
  assert.equal(index.headers.get("access-control-allow-origin"), null);

  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    defaultViewport: { width: 1280, height: 900 },
  });
  const problems = [];
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(20000);
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
    page.on("response", (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });
    await page.evaluateOnNewDocument(() => {
      document.addEventListener("securitypolicyviolation", (e) =>
        console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
    });

    // Sign in with the key alone: it is granted one store, which the console finds.
    await page.goto(base + "/admin", { waitUntil: "networkidle0" });
    await page.type('input[name="key"]', owner);
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-testid="retention-rate"]');
    assert.equal(await text(page, "store-name"), "Console Tea Shop");
    assert.ok(!page.url().includes(owner), "the key is never in the URL");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("loyalty.adminKey")), owner);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("loyalty.storeId")), store);

    // The overview's figures are the RPCs' own, for the period it shows.
    const shown = await page.$eval('[data-testid="period"]', (e) => ({ ...e.dataset }));
    assert.deepEqual({ startDate: shown.start, endDate: shown.end }, seeded.quarter);
    const period = { startDate: shown.start, endDate: shown.end };
    const report = async (name, query) =>
      (await api("POST", `/v1/stores/${store}/reports/${name}`, owner, { query })).report;
    const retention = await report("retention",
      { period, activityWindowDays: Number(shown.window) });
    assert.equal(retention.retentionRate.denominator, "3", "the seeded S");
    assert.equal(retention.retentionRate.basisPoints, "3333", "the seeded (E − N) ÷ S");
    assert.equal(await text(page, "retention-rate"), percent(retention.retentionRate.basisPoints));
    assert.equal(await text(page, "active"), retention.customersAtEnd);
    const repeat = await report("repeat-revenue", { period });
    assert.equal(repeat.repeatRevenueShare.basisPoints, "8387", "10400 of 12400 from repeaters");
    assert.equal(await text(page, "buyers"), repeat.customers);
    const { members } = await api("GET", `/v1/stores/${store}/members:count`, owner);
    assert.equal(await text(page, "members"), members);
    assert.equal(await text(page, "repeat-share"), percent(repeat.repeatRevenueShare.basisPoints));
    const top = await report("revenue-concentration", { period, topPercent: 20 });
    assert.equal(await text(page, "concentration"), percent(top.topRevenueShare.basisPoints));
    const liability = (await api("GET", `/v1/stores/${store}/reports/liability`, owner)).report;
    assert.equal(liability.outstanding, "120", "bo's welcome gift");
    assert.equal(await text(page, "outstanding"), liability.outstanding);
    assert.equal(await text(page, "breakage"), percent(liability.breakageBps));
    await page.waitForSelector('[data-testid="retention-chart"] canvas');
    await page.screenshot({ path: path.join(shots, "overview.png"), fullPage: true });

    // Find a customer by email, adjust their points, see the ledger row.
    await page.click('nav a[href="#/customers"]');
    await page.waitForSelector('[data-testid="find-form"]');
    await page.type('[data-testid="find-form"] input[name="who"]', "ada@example.com");
    await page.click('[data-testid="find-form"] button');
    await page.waitForSelector('[data-testid="adjust-form"]');
    assert.match(await text(page, "customer"), /ada@example\.com/);
    await page.type('[data-testid="adjust-form"] input[name="points"]', "25");
    await page.type('[data-testid="adjust-form"] input[name="reason"]', "console goodwill");
    await page.click('[data-testid="adjust-form"] button');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid="ledger"] tbody tr')].some((row) =>
        row.textContent.includes("console goodwill") && row.textContent.includes("adjust")));
    const row = await page.$eval('[data-testid="ledger"] tbody tr', (r) =>
      [...r.cells].map((c) => c.textContent));
    assert.equal(row[1], "adjust");
    assert.equal(row[2], "25");
    assert.equal(row[4], "console goodwill");
    const ledger = await api("GET",
      `/v1/stores/${store}/customers/${seeded.ids.ada}/ledger`, owner);
    assert.equal(ledger.transfers[0].reason, "console goodwill");
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="available"]')?.textContent === "25");
    await page.screenshot({ path: path.join(shots, "customers.png"), fullPage: true });

    // The other pages render, and the audit log shows the adjustment.
    for (const [id, ready] of [["rules", "rule-versions"], ["tiers", "tiers"],
      ["rewards", "rewards"], ["campaigns", "segments"], ["keys", "keys"],
      ["webhooks", "endpoints"], ["audit", "audit"]]) {
      await page.click(`nav a[href="#/${id}"]`);
      await page.waitForSelector(`[data-testid="${ready}"]`);
      if (id === "rules") await editRules(page);
      await page.screenshot({ path: path.join(shots, `${id}.png`), fullPage: true });
    }
    assert.match(await text(page, "audit"), /AdjustPoints/);

    // Tiers: the version in force, each tier's threshold and benefits, as published.
    await page.click('nav a[href="#/tiers"]');
    await page.waitForSelector('[data-testid="tiers"]');
    const tiers = await text(page, "tiers");
    assert.match(tiers, /Silver \(silver\)\s*50\.00 EUR\s*earns 125\.00 % of the points, free shipping/);
    assert.match(await text(page, "tier-versions"), /launch/);

    // Rewards: the catalogue as the API lists it; withdraw one, then create another.
    await page.click('nav a[href="#/rewards"]');
    await page.waitForSelector('[data-testid="rewards"]');
    assert.match(await text(page, "rewards"), /5 off \(five-off\)\s*500 points\s*5\.00 EUR\s*anyone\s*0 of 20/);
    await (await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid="rewards"] tbody tr button')]
        .find((button) => button.textContent === "Withdraw"))).click();
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="rewards"] tbody tr button')?.textContent === "Restore");
    let rewards = (await api("GET", `/v1/stores/${store}/rewards`, owner)).rewards;
    assert.equal(rewards[0].definition.disabled, true);
    assert.equal(rewards[0].version, 2);
    await page.type('[data-testid="reward-form"] input[name="rewardId"]', "ship");
    await page.type('[data-testid="reward-form"] input[name="reason"]', "summer");
    await page.$eval('[data-testid="reward-form"] textarea', (t) => {
      t.value = JSON.stringify({ name: "Free shipping", kind: "REWARD_KIND_FREE_SHIPPING",
        pointsCost: "100" });
    });
    await page.click('[data-testid="reward-form"] button');
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="reward-result"]')?.textContent === "ship: created.");
    rewards = (await api("GET", `/v1/stores/${store}/rewards`, owner)).rewards;
    assert.deepEqual(rewards.map((r) => r.rewardId), ["five-off", "ship"]);
    await page.screenshot({ path: path.join(shots, "rewards.png"), fullPage: true });

    // Campaigns: the campaign and the segment as written; the segment's members as the API counts.
    await page.click('nav a[href="#/campaigns"]');
    await page.waitForSelector('[data-testid="campaigns"]');
    assert.match(await text(page, "campaigns"),
      /we-miss-you\s*no order for 60 days, once per lapse\s*segment tea-buyers\s*no code/);
    assert.match(await text(page, "segments"), /tea-buyers\s*bought tea, within 3660 days/);
    await page.click('[data-testid="segments"] tbody tr button');
    await page.waitForSelector('[data-testid="members-tea-buyers"]');
    const segment = await api("GET", `/v1/stores/${store}/segments/tea-buyers/members`, owner);
    assert.equal(await text(page, "members-tea-buyers"),
      `${segment.members} members, ${segment.withConsent ?? "0"} with consent`);
    assert.ok(Number(segment.members) >= 5, "every customer bought tea");
    await page.screenshot({ path: path.join(shots, "campaigns.png"), fullPage: true });

    // Webhooks: create an endpoint (the secret shown once), then disable it; the API agrees.
    await page.click('nav a[href="#/webhooks"]');
    await page.waitForSelector('[data-testid="endpoints"]');
    await page.type('input[name="url"]', "https://shop.example/hooks");
    await page.type('input[name="types"]', "points.earned, tier.changed");
    await page.click('form.inline button[type="submit"]');
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="endpoint-result"]')?.textContent.includes("whsec_"));
    let endpoints = (await api("GET", `/v1/stores/${store}/webhooks`, owner)).endpoints;
    assert.equal(endpoints.length, 1);
    assert.equal(endpoints[0].url, "https://shop.example/hooks");
    assert.deepEqual(endpoints[0].eventTypes, ["points.earned", "tier.changed"]);
    // The table reloads after the create: wait for the new row's Disable button.
    const disable = await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid="endpoints"] tbody tr button')]
        .find((button) => button.textContent === "Disable"));
    await disable.click();
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="endpoints"] tbody tr')?.textContent.includes("no:"));
    endpoints = (await api("GET", `/v1/stores/${store}/webhooks`, owner)).endpoints;
    assert.equal(endpoints[0].enabled, false);
    await page.screenshot({ path: path.join(shots, "webhooks.png"), fullPage: true });
  } finally {
    await browser.close();
  }
  assert.deepEqual(problems, [], "no script error and no CSP violation");
  console.log(`console browser test passed; screenshots in ${shots}`);
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
