// The dashboard's numbers end to end: each funnel stage counted once per journey, recovered
// revenue from the orders, and the held-out group beside the messaged one.
import { afterAll, beforeAll, expect, test } from "vitest";
import { SHOP, adminApi, installShop, sessionToken, shopifyWebhook, sleep, startApp } from "./harness.mjs";
import { checkoutOf, freshPhone, inbound, status, templatesTo, text, whatsappWebhook } from "./meta.mjs";

let app;
const metrics = async (query = "") =>
  (await adminApi(app, `/api/metrics${query}`, { token: sessionToken({ shop: SHOP }) })).json();

beforeAll(async () => {
  app = await startApp();
  await installShop(app.kv, { delaySeconds: 1 });
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.shopify.invalid).toEqual([]);
  await app.mf.dispose();
});

test("statuses, replies, clicks and orders move each journey down the funnel once", async () => {
  // Journey A: delivered, read twice, replied, clicked, then bought.
  const a = freshPhone();
  const checkoutA = checkoutOf(a);
  await shopifyWebhook(app, "checkouts/update", checkoutA);
  // Journey B: only read (a read without a delivered counts as both).
  const b = freshPhone();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(b));
  // Journey C: abandoned, never messaged (no consent in the checkout).
  const c = checkoutOf(freshPhone());
  c.buyer_accepts_marketing = false;
  c.buyer_accepts_sms_marketing = false;
  await shopifyWebhook(app, "checkouts/update", c);
  await expect.poll(() => templatesTo(app.graph, a).length + templatesTo(app.graph, b).length, { timeout: 8000 }).toBe(2);
  const wamidA = templatesTo(app.graph, a)[0].wamid;
  const wamidB = templatesTo(app.graph, b)[0].wamid;

  await whatsappWebhook(app, status(a, wamidA, "delivered"));
  await whatsappWebhook(app, status(a, wamidA, "read"));
  await whatsappWebhook(app, status(a, wamidA, "read"));
  await whatsappWebhook(app, status(b, wamidB, "read"));
  await whatsappWebhook(app, inbound(a, text("Is the sweater warm?")));
  const link = templatesTo(app.graph, a)[0].body.template.components.find((x) => x.sub_type === "url").parameters[0].text;
  const click = await app.mf.dispatchFetch(`${app.url}r/${link}`, { redirect: "manual" });
  expect(click.status).toBe(302);
  await app.mf.dispatchFetch(`${app.url}r/${link}`, { redirect: "manual" });
  const order = JSON.parse(JSON.stringify(checkoutA));
  await shopifyWebhook(app, "orders/create", {
    id: 6354782910463,
    checkout_token: order.token,
    cart_token: order.cart_token,
    currency: "USD",
    total_price: "180.90",
    created_at: new Date().toISOString(),
  });
  await sleep(500);

  const m = await metrics();
  expect(m.funnel).toEqual({
    abandoned: 3,
    eligible: 2,
    messaged: 2,
    delivered: 2,
    read: 2,
    replied: 1,
    clicked: 1,
    recovered: 1,
  });
  expect(m.recovered_revenue).toBe("180.90");
  expect(m.currency).toBe("USD");
  expect(m.average_order_value).toBe("180.90");
  expect(m.skipped).toEqual([{ key: "no_consent", n: 1 }]);

  const bySegment = await metrics("?by=segment");
  expect(bySegment.breakdown).toEqual([expect.objectContaining({ key: "large", abandoned: 3, recovered: 1 })]);
  const byTemplate = await metrics("?by=template");
  expect(byTemplate.breakdown).toEqual([expect.objectContaining({ key: "cart_reminder", messaged: 2 })]);
  const byDay = await metrics("?by=day");
  expect(byDay.breakdown[0].key).toBe(new Date().toISOString().slice(0, 10));

  const journeys = await (await adminApi(app, "/api/journeys?status=ended", { token: sessionToken({ shop: SHOP }) })).json();
  const ended = journeys.journeys.find((j) => j.phone === a);
  expect(ended).toMatchObject({ status: "ended", end_reason: "ordered", cart_total: "215.95", currency: "USD" });
  expect(ended.steps).toEqual([expect.objectContaining({ id: "reminder", state: "sent" })]);
});

test("the held-out group is tracked beside the messaged one, never messaged", async () => {
  await installShop(app.kv, { delaySeconds: 1, playbook: { holdout_percent: 50 } });
  const phones = Array.from({ length: 12 }, () => freshPhone());
  for (const phone of phones) await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  await sleep(3000);
  const m = await metrics();
  const { messaged, held_out } = m.holdout;
  expect(held_out.journeys).toBeGreaterThan(0);
  const sent = phones.filter((p) => templatesTo(app.graph, p).length === 1).length;
  // Every eligible journey lands in exactly one group; only the messaged group got messages.
  expect(sent + held_out.journeys).toBe(phones.length);
  expect(messaged.journeys).toBeGreaterThanOrEqual(sent);
});

test("metrics refuse malformed ranges", async () => {
  const token = sessionToken({ shop: SHOP });
  for (const q of ["?from=yesterday", "?from=2026-11-20&to=2026-11-01", "?by=colour"]) {
    const res = await adminApi(app, `/api/metrics${q}`, { token });
    expect(res.status).toBe(400);
  }
});
