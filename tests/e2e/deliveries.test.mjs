// One delivery from Meta with 200 events (statuses first in the payload, then shoppers'
// messages) is taken whole: the Worker hands it to the shop's ledger in one call, the ledger
// writes every opt-out before it looks at any status, and carts and shoppers hear of it through
// the ledger's outbox in batches.
import { afterAll, beforeAll, expect, test } from "vitest";
import { PHONE_NUMBER_ID, SHOP, adminApi, installShop, sessionToken, shopifyWebhook, sleep, startApp } from "./harness.mjs";
import { checkoutOf, signMeta, templatesTo, textsTo } from "./meta.mjs";

const CARTS = 50;
let app;
beforeAll(async () => {
  // With its calls counted, to hold each invocation to a Worker's subrequest limit.
  app = await startApp({ scriptPath: "tests/bench/counting-worker.mjs" });
  await installShop(app.kv, {
    playbook: {
      steps: [
        { id: "reminder", delay_seconds: 1, template: { name: "cart_reminder", languages: ["en_US"] } },
        { id: "nudge", delay_seconds: 3600, template: { name: "cart_nudge", languages: ["en_US"] } },
      ],
    },
  });
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.unexpected).toEqual([]);
  await app.mf.dispose();
});

/** Cloudflare's subrequests per invocation on the free plan (Durable Object calls and fetches). */
const SUBREQUESTS = 50;
const invocations = async () => (await app.mf.dispatchFetch(`${app.url}__bench/invocations?reset=1`)).json();
const subrequests = (calls) =>
  Object.entries(calls).filter(([k]) => k.startsWith("do.") || k === "fetch").reduce((n, [, c]) => n + c, 0);

/** Distinct Canadian numbers. */
function phones(n, prefix) {
  return Array.from({ length: n }, (_, i) => `+1${prefix}${String(1000 + i).padStart(4, "0")}`);
}

test("a delivery of 200 statuses and messages is processed completely, opt-outs first", async () => {
  const shoppers = phones(CARTS, "416555");
  const strangers = phones(CARTS, "647555");
  await Promise.all(shoppers.map((p) => shopifyWebhook(app, "checkouts/update", checkoutOf(p))));
  await expect.poll(() => shoppers.filter((p) => templatesTo(app.graph, p).length === 1).length, { timeout: 30_000 }).toBe(CARTS);

  const ts = String(Math.floor(Date.now() / 1000));
  const wa = (p) => p.slice(1);
  const statuses = shoppers.flatMap((p, i) => {
    const id = templatesTo(app.graph, p)[0].wamid;
    // The first shopper's reminder failed with a transient error: it would be retried, but the
    // same delivery carries their STOP, which is written first.
    const first = i === 0
      ? { id, status: "failed", timestamp: ts, recipient_id: wa(p), errors: [{ code: 131000, title: "Something went wrong" }] }
      : { id, status: "delivered", timestamp: ts, recipient_id: wa(p) };
    return [first, { id, status: "read", timestamp: ts, recipient_id: wa(p) }];
  });
  const messages = [
    ...shoppers.map((p, i) => ({ from: wa(p), id: `wamid.stop${i}`, timestamp: ts, type: "text", text: { body: "STOP" } })),
    ...strangers.map((p, i) => ({ from: wa(p), id: `wamid.hello${i}`, timestamp: ts, type: "text", text: { body: "Can a person call me about my order?" } })),
  ];
  const contacts = [...shoppers, ...strangers].map((p) => ({ profile: { name: "Shopper" }, wa_id: wa(p) }));
  const payload = {
    object: "whatsapp_business_account",
    entry: [
      {
        id: "102290129340398",
        changes: [
          { field: "messages", value: { messaging_product: "whatsapp", metadata: { display_phone_number: "16285550107", phone_number_id: PHONE_NUMBER_ID }, statuses } },
          { field: "messages", value: { messaging_product: "whatsapp", metadata: { display_phone_number: "16285550107", phone_number_id: PHONE_NUMBER_ID }, contacts, messages } },
        ],
      },
    ],
  };
  expect(statuses.length + messages.length).toBe(200);
  const body = JSON.stringify(payload);
  await invocations(); // counted from here
  const res = await app.mf.dispatchFetch(`${app.url}webhooks/whatsapp`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Hub-Signature-256": signMeta(body) },
    body,
  });
  expect(res.status).toBe(200);

  // Every STOP is confirmed once; every stranger is handed to a person.
  await expect.poll(() => shoppers.filter((p) => textsTo(app.graph, p).length === 1).length, { timeout: 30_000 }).toBe(CARTS);
  const token = sessionToken({ shop: SHOP });
  await expect.poll(async () => (await (await adminApi(app, "/api/inbox", { token })).json()).conversations.length, { timeout: 30_000 }).toBe(CARTS);
  for (const p of shoppers) {
    const consent = await (await adminApi(app, `/api/consents?phone=${encodeURIComponent(p)}`, { token })).json();
    expect(consent.status, p).toBe("opted_out");
  }
  const metrics = await (await adminApi(app, "/api/metrics", { token })).json();
  // Every message the ledger knows was sent (a send whose answer was lost under load counts as
  // unknown, not messaged) was delivered and read.
  expect(metrics.funnel.messaged).toBeGreaterThan(CARTS / 2);
  expect(metrics.funnel).toMatchObject({ delivered: metrics.funnel.messaged, read: metrics.funnel.messaged });
  await expect.poll(async () => {
    const { journeys } = await (await adminApi(app, "/api/journeys?status=active", { token })).json();
    return journeys.length;
  }, { timeout: 20_000 }).toBe(0);
  // Nothing more went to anyone who stopped: not the failed reminder's retry, not the nudge.
  await sleep(3000);
  for (const p of shoppers) expect(templatesTo(app.graph, p), p).toHaveLength(1);

  // The Worker took the whole delivery with one ledger call; each ledger alarm run that
  // delivered it stayed within a Worker's subrequest limit.
  const runs = await invocations();
  const webhook = runs.find((r) => r.kind === "POST /webhooks/whatsapp");
  expect(webhook.calls).toMatchObject({ "do.SHOP.fetch": 1 });
  expect(subrequests(webhook.calls)).toBe(1);
  const alarms = runs.filter((r) => r.kind === "ledger alarm");
  expect(alarms.length).toBeGreaterThan(1);
  for (const run of alarms) expect(subrequests(run.calls)).toBeLessThanOrEqual(SUBREQUESTS);
  console.log(`deliveries: the webhook made ${subrequests(webhook.calls)} subrequest(s); ${alarms.length} alarm runs made at most ${Math.max(...alarms.map((r) => subrequests(r.calls)))} each`);
}, 120_000);
