// What the messages cost: Meta's pricing on each status, priced by the shop's table, once per
// message, beside what the messages recovered.
import { afterAll, beforeAll, expect, test } from "vitest";
import { SHOP, adminApi, installShop, sessionToken, shopifyWebhook, startApp } from "./harness.mjs";
import { checkoutOf, freshPhone, status, templatesTo, whatsappWebhook } from "./meta.mjs";

let app;
const token = () => sessionToken({ shop: SHOP });
const metrics = async () => (await adminApi(app, "/api/metrics", { token: token() })).json();
const pricing = (category, billable = true, type = "regular") => ({ billable, pricing_model: "PMP", type, category });
const BRAZIL = "+5511987654321";

beforeAll(async () => {
  app = await startApp();
  await installShop(app.kv, { delaySeconds: 1 });
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  await app.mf.dispose();
});

test("the shipped table holds Meta's marketing rates with their date and source", async () => {
  const res = await adminApi(app, "/api/prices", { token: token() });
  expect(res.status).toBe(200);
  const prices = await res.json();
  expect(prices).toMatchObject({ currency: "USD", as_of: "2026-01-01", default: { marketing: "0.0604" } });
  expect(prices.source).toContain("developers.facebook.com");
  expect(prices.countries.BR).toEqual({ marketing: "0.0625" });
  expect(prices.countries.CA).toEqual({ marketing: "0.025" });
});

test("delivered billable messages are priced once each, by country; failed and free ones cost nothing", async () => {
  const a = freshPhone();
  const b = freshPhone();
  const checkoutA = checkoutOf(a);
  await shopifyWebhook(app, "checkouts/update", checkoutA);
  await shopifyWebhook(app, "checkouts/update", checkoutOf(b));
  await expect.poll(() => templatesTo(app.graph, a).length + templatesTo(app.graph, b).length, { timeout: 8000 }).toBe(2);
  const wamidA = templatesTo(app.graph, a)[0].wamid;
  const wamidB = templatesTo(app.graph, b)[0].wamid;
  const marketing = pricing("marketing");

  // A: sent, delivered twice (Meta repeats), read: one charge at the Canadian rate.
  await whatsappWebhook(app, status(a, wamidA, "sent", { pricing: marketing }));
  await whatsappWebhook(app, status(a, wamidA, "delivered", { pricing: marketing }));
  await whatsappWebhook(app, status(a, wamidA, "delivered", { pricing: marketing }));
  await whatsappWebhook(app, status(a, wamidA, "read"));
  // B: announced billable when sent, then failed: never billed.
  await whatsappWebhook(app, status(b, wamidB, "sent", { pricing: marketing }));
  await whatsappWebhook(app, status(b, wamidB, "failed", { errors: [131026] }));
  // Messages to Brazil that no journey owns (a reply, say) cost the shop too: a marketing one
  // read without a delivered, a utility one (no rate: counted, unpriced), a free service one.
  await whatsappWebhook(app, status(BRAZIL, "wamid.brazil-marketing", "read", { pricing: pricing("marketing_lite") }));
  await whatsappWebhook(app, status(BRAZIL, "wamid.brazil-utility", "delivered", { pricing: pricing("utility") }));
  await whatsappWebhook(
    app,
    status(BRAZIL, "wamid.brazil-service", "delivered", { pricing: pricing("service", false, "free_customer_service") }),
  );
  await shopifyWebhook(app, "orders/create", {
    id: 6354782910464,
    checkout_token: checkoutA.token,
    cart_token: checkoutA.cart_token,
    currency: "USD",
    total_price: "180.90",
    created_at: new Date().toISOString(),
  });

  await expect.poll(async () => (await metrics()).funnel.recovered, { timeout: 8000 }).toBe(1);
  const { cost } = await metrics();
  expect(cost).toMatchObject({
    currency: "USD",
    total: "0.0875",
    per_recovered_order: "0.0875",
    billable_messages: 3,
    unpriced_messages: 1,
    free_messages: 1,
    prices_as_of: "2026-01-01",
    by_category: {
      marketing: { messages: 1, cost: "0.025" },
      marketing_lite: { messages: 1, cost: "0.0625" },
      utility: { messages: 1, cost: "0" },
    },
  });
  expect(cost.return_on_cost).toBeCloseTo(180.9 / 0.0875, 6);
});

test("the merchant's own table prices the same messages; a bad one is refused field by field", async () => {
  const bad = await adminApi(app, "/api/prices", {
    token: token(),
    method: "PUT",
    body: { currency: "dollars", as_of: "2026-01-01", countries: { ZZ: { marketing: "0.05" }, CA: { marketing: 0.05 } } },
  });
  expect(bad.status).toBe(400);
  const error = (await bad.json()).error;
  expect(error.code).toBe("invalid_prices");
  expect(error.fields.map((f) => f.field)).toEqual(["currency", "countries.CA.marketing", "countries.ZZ"]);

  const mine = {
    currency: "USD",
    as_of: "2026-10-01",
    source: "our October invoice",
    default: { marketing: "0.1", utility: "0.02" },
    countries: { CA: { marketing: "0.05" } },
  };
  const put = await adminApi(app, "/api/prices", { token: token(), method: "PUT", body: mine });
  expect(put.status).toBe(200);
  expect(await (await adminApi(app, "/api/prices", { token: token() })).json()).toEqual(mine);
  const { cost } = await metrics();
  // CA 0.05 + BR marketing at the default 0.1 + BR utility at the default 0.02.
  expect(cost).toMatchObject({ total: "0.17", unpriced_messages: 0, prices_as_of: "2026-10-01" });
});
