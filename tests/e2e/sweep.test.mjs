// The reconciliation sweep and consent kept in step with Shopify, end to end: the Cron Trigger
// makes every installed shop's ledger page through `abandonedCheckouts` within the Admin API's
// cost limits and start the journeys whose webhooks never came, never a second one; a
// subscribed WhatsApp consent on the Shopify customer counts as consent; every opt-in and
// opt-out recorded here reaches the Shopify customer's WhatsApp marketing consent.
import { createHmac, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SECRETS, SHOP, adminApi, installShop, sessionToken, shopifyWebhook, sleep, startApp } from "./harness.mjs";
import { checkoutOf, freshPhone, inbound, templatesTo, text, whatsappWebhook } from "./meta.mjs";

let app;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.shopify.invalid).toEqual([]);
  expect(app.unexpected).toEqual([]);
  await app.mf.dispose();
});

let serial = 0;
const freshShop = () => `sweep-e2e-${Date.now().toString(36)}-${++serial}.myshopify.com`;

/** A shop with its number connected, a one-step playbook and an Admin API token (token exchange). */
async function installed(shop, playbook = {}) {
  await installShop(app.kv, { shop, playbook });
  const res = await adminApi(app, "/api/shop", { token: sessionToken({ shop }) });
  expect(res.status).toBe(200);
}

/** Runs the Cron Trigger, as Cloudflare does every 15 minutes. */
async function cron() {
  const worker = await app.mf.getWorker();
  const result = await worker.scheduled({ cron: "*/15 * * * *" });
  expect(result.outcome).toBe("ok");
}

/** An AbandonedCheckout node as the Admin API lists it: last touched 20 minutes ago by default. */
function abandonedNode(shop, { token = randomBytes(16).toString("hex"), phone = null, whatsApp = "NOT_SUBSCRIBED", sms = "SUBSCRIBED", updatedAt } = {}) {
  serial += 1;
  const at = (updatedAt ?? new Date(Date.now() - 20 * 60_000)).toISOString();
  return {
    id: `gid://shopify/AbandonedCheckout/${900_000 + serial}`,
    abandonedCheckoutUrl: `https://${shop}/548380009/checkouts/ac/${token}/recover?key=k${serial}`,
    createdAt: at,
    updatedAt: at,
    completedAt: null,
    customer: phone && {
      id: `gid://shopify/Customer/${700_000 + serial}`,
      firstName: "Emily",
      locale: "en",
      defaultEmailAddress: { marketingState: "NOT_SUBSCRIBED" },
      defaultPhoneNumber: { phoneNumber: phone, smsMarketingConsent: { state: sms }, whatsAppMarketingConsent: { state: whatsApp, updatedAt: at } },
    },
    shippingAddress: { firstName: "Emily", phone: null, countryCodeV2: "CA", provinceCode: "ON" },
    billingAddress: null,
    lineItems: { nodes: [{ title: "Linen apron", quantity: 1, originalTotalPriceSet: { presentmentMoney: { amount: "48.00", currencyCode: "CAD" } } }] },
    totalPriceSet: { presentmentMoney: { amount: "48.00", currencyCode: "CAD" } },
  };
}

const api = async (shop, path) => {
  const res = await adminApi(app, path, { token: sessionToken({ shop }) });
  expect(res.status).toBe(200);
  return res.json();
};
const health = async (shop) => (await api(shop, "/api/metrics")).health;
const journeys = async (shop) => (await api(shop, "/api/journeys")).journeys;
const sweepCalls = (shop) => app.shopify.callsFor(shop).filter((c) => /abandonedCheckouts/.test(c.query ?? ""));

describe("the reconciliation sweep", () => {
  test("a checkout whose webhooks never came becomes a journey, sent under the shopper's WhatsApp consent at Shopify", async () => {
    const shop = freshShop();
    await installed(shop, { consent_mode: "whatsapp_opt_in" });
    const phone = freshPhone();
    const node = abandonedNode(shop, { phone, whatsApp: "SUBSCRIBED" });
    app.shopify.addAbandonedCheckout(shop, node);

    await cron();
    const [journey] = await journeys(shop);
    expect(journey.checkout_token).toBe(node.abandonedCheckoutUrl.split("/")[6]);
    expect(journey.phone).toBe(phone);
    const consents = await api(shop, `/api/consents?phone=${encodeURIComponent(phone)}`);
    expect(consents.status).toBe("opted_in");
    expect(consents.records.map((r) => [r.kind, r.source])).toEqual([["opt_in", "shopify_customer"]]);
    await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 8000 }).toBe(1);
    const figures = await health(shop);
    expect(figures.swept).toBe(1);
    expect(figures.last_sweep.report).toMatchObject({ found: 1, started: 1, unusable: 0, stopped: null });

    // The next run overlaps the last window: it finds the checkout again and starts nothing.
    await cron();
    expect(await journeys(shop)).toHaveLength(1);
    expect((await health(shop)).swept).toBe(1);
    const records = await api(shop, `/api/consents?phone=${encodeURIComponent(phone)}`);
    expect(records.records).toHaveLength(1);
    await sleep(1500);
    expect(templatesTo(app.graph, phone)).toHaveLength(1);
  });

  test("an unsubscribe at Shopify is an opt-out: the checkout's own consent no longer counts", async () => {
    const shop = freshShop();
    await installed(shop, { consent_mode: "checkout_marketing_consent" });
    const phone = freshPhone();
    const consentsOf = async () => api(shop, `/api/consents?phone=${encodeURIComponent(phone)}`);
    // A first checkout by webhook: sent under the checkout's SMS consent, which is recorded.
    const first = checkoutOf(phone);
    first.abandoned_checkout_url = `https://${shop}/548380009/checkouts/ac/${first.token}/recover?key=k0`;
    expect((await shopifyWebhook(app, "checkouts/update", first, { shop })).status).toBe(200);
    await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 8000 }).toBe(1);
    expect((await consentsOf()).records.map((r) => r.source)).toEqual(["checkout_marketing_consent"]);

    // The shopper had withdrawn WhatsApp at Shopify a minute before that send (the sweep only
    // reads it now); a second checkout, again with SMS consent, comes by the sweep.
    const node = abandonedNode(shop, { phone, whatsApp: "UNSUBSCRIBED", sms: "SUBSCRIBED" });
    const withdrawnAt = new Date(Date.now() - 60_000).toISOString();
    node.customer.defaultPhoneNumber.whatsAppMarketingConsent.updatedAt = withdrawnAt;
    app.shopify.addAbandonedCheckout(shop, node);
    app.shopify.addCustomer(shop, { id: node.customer.id, phone });

    await cron();
    expect(await journeys(shop)).toHaveLength(2);
    const consents = await consentsOf();
    expect(consents.status).toBe("opted_out");
    expect(consents.records.map((r) => [r.kind, r.source])).toEqual([
      ["opt_in", "checkout_marketing_consent"],
      ["opt_out", "shopify_customer"],
    ]);
    // The second journey was due a second after the sweep began it: nothing more goes out.
    await sleep(3000);
    expect(templatesTo(app.graph, phone)).toHaveLength(1);
    // Read again by the next run, recorded once; and not told back to Shopify, where it came
    // from (the customer is there to be told).
    await cron();
    expect((await consentsOf()).records).toHaveLength(2);
    await sleep(500);
    expect(app.shopify.consentUpdates.filter((u) => u.input.customerId === node.customer.id)).toEqual([]);
  });

  test("a checkout the webhooks brought is never started twice, and a late webhook joins the sweep's journey", async () => {
    const shop = freshShop();
    await installed(shop);
    const updatedAt = new Date(Date.now() - 20 * 60_000);
    /** A checkout both the webhooks and `abandonedCheckouts` know, with its recovery URL. */
    const both = () => {
      const checkout = checkoutOf(freshPhone(), { updatedAt });
      const node = abandonedNode(shop, { token: checkout.token, phone: checkout.phone, updatedAt });
      checkout.abandoned_checkout_url = node.abandonedCheckoutUrl;
      app.shopify.addAbandonedCheckout(shop, node);
      return checkout;
    };
    const byWebhook = both();
    const late = both();
    expect((await shopifyWebhook(app, "checkouts/update", byWebhook, { shop })).status).toBe(200);
    expect(await journeys(shop)).toHaveLength(1);

    await cron();
    expect((await health(shop)).last_sweep.report).toMatchObject({ found: 2, started: 1 });
    // The webhook the sweep stood in for arrives after all: the same cart, the same journey.
    expect((await shopifyWebhook(app, "checkouts/update", late, { shop })).status).toBe(200);
    const all = await journeys(shop);
    expect(all.map((j) => j.checkout_token).sort()).toEqual([byWebhook.token, late.token].sort());
    await expect.poll(() => templatesTo(app.graph, late.phone).length, { timeout: 8000 }).toBe(1);
    await expect.poll(() => templatesTo(app.graph, byWebhook.phone).length, { timeout: 8000 }).toBe(1);
    await sleep(1500);
    expect(templatesTo(app.graph, late.phone)).toHaveLength(1);
    expect((await health(shop)).swept).toBe(1);
  });

  test("pages are followed within the cost limits: the bucket's state is waited for, a throttle is asked again", async () => {
    const shop = freshShop();
    await installed(shop);
    // Room for one page (652 points) at a time, refilled at 300 a second.
    app.shopify.setBucket(shop, { maximum: 750, restoreRate: 300 });
    for (let n = 0; n < 30; n++) app.shopify.addAbandonedCheckout(shop, abandonedNode(shop));
    const last = abandonedNode(shop, { phone: freshPhone() });
    app.shopify.addAbandonedCheckout(shop, last);
    // One answer that is not a checkout's: its recovery URL names no checkout token.
    app.shopify.addAbandonedCheckout(shop, { ...abandonedNode(shop), abandonedCheckoutUrl: `https://${shop}/cart/c/xyz` });
    app.shopify.failNext(1, "throttled", { shop });

    await cron();
    const report = (await health(shop)).last_sweep.report;
    expect(report).toMatchObject({ found: 31, started: 1, unusable: 1, stopped: null });
    // The throttled answer, then two pages, each asked for only once the bucket held enough.
    const calls = sweepCalls(shop);
    expect(calls).toHaveLength(3);
    expect(calls[2].variables.after).toBeTruthy();
    expect((await journeys(shop)).map((j) => j.checkout_token)).toEqual([last.abandonedCheckoutUrl.split("/")[6]]);
  });

  test("a token Shopify refuses is renewed once; a shop that must re-authorize, or uninstalled, is left alone", async () => {
    const shop = freshShop();
    await installed(shop);
    const node = abandonedNode(shop, { phone: freshPhone() });
    app.shopify.addAbandonedCheckout(shop, node);
    app.shopify.failNext(1, "unauthorized", { shop });
    await cron();
    expect((await health(shop)).last_sweep.report).toMatchObject({ found: 1, started: 1, stopped: null });
    expect(app.shopify.grantsFor(shop).filter((g) => g.grantType === "refresh_token" && g.ok)).toHaveLength(1);

    const refused = freshShop();
    await installed(refused);
    app.shopify.addAbandonedCheckout(refused, abandonedNode(refused, { phone: freshPhone() }));
    app.shopify.refuseRefresh(refused);
    app.shopify.failNext(1, "unauthorized", { shop: refused });
    await cron();
    const stopped = (await health(refused)).last_sweep.report;
    expect(stopped).toMatchObject({ found: 0, started: 0 });
    expect(stopped.stopped).toMatch(/authoriz/i);
    expect(await journeys(refused)).toHaveLength(0);

    const gone = freshShop();
    await installed(gone);
    app.shopify.addAbandonedCheckout(gone, abandonedNode(gone, { phone: freshPhone() }));
    expect((await shopifyWebhook(app, "app/uninstalled", { domain: gone, myshopify_domain: gone }, { shop: gone })).status).toBe(200);
    await cron();
    expect(sweepCalls(gone)).toHaveLength(0);
    expect(await journeys(gone)).toHaveLength(0);
  });
});

describe("the sweep and erasure", () => {
  test("a shopper whose data was erased is not brought back by the checkouts Shopify still lists", async () => {
    const shop = freshShop();
    await installed(shop);
    const phone = freshPhone();
    const redact = { shop_domain: shop, customer: { id: 7_900_000 + ++serial, phone }, orders_to_redact: [] };
    expect((await shopifyWebhook(app, "customers/redact", redact, { shop })).status).toBe(200);
    app.shopify.addAbandonedCheckout(shop, abandonedNode(shop, { phone }));
    await cron();
    expect((await health(shop)).last_sweep.report).toMatchObject({ found: 1, started: 0 });
    expect(await journeys(shop)).toHaveLength(0);
  });
});

describe("consent in step with Shopify", () => {
  beforeAll(async () => {
    await installed(SHOP);
  });

  const updatesFor = (customerId) => app.shopify.consentUpdates.filter((u) => u.input.customerId === customerId);

  test("a STOP reaches the Shopify customer's WhatsApp marketing consent, through a throttle", async () => {
    const phone = freshPhone();
    const id = `gid://shopify/Customer/${800_000 + ++serial}`;
    app.shopify.addCustomer(SHOP, { id, phone });
    app.shopify.failNext(1, "throttled", { shop: SHOP });
    expect((await whatsappWebhook(app, inbound(phone, text("STOP")))).status).toBe(200);
    await expect.poll(() => updatesFor(id).length, { timeout: 15_000 }).toBe(1);
    expect(updatesFor(id)[0].input.whatsAppMarketingConsent).toMatchObject({ state: "UNSUBSCRIBED" });
    expect(app.shopify.customer(SHOP, id).whatsApp.state).toBe("UNSUBSCRIBED");
    // START from the phone: a confirmed opt-in.
    await sleep(1100);
    expect((await whatsappWebhook(app, inbound(phone, text("START")))).status).toBe(200);
    await expect.poll(() => updatesFor(id).length, { timeout: 10_000 }).toBe(2);
    expect(updatesFor(id)[1].input.whatsAppMarketingConsent).toMatchObject({ state: "SUBSCRIBED", optInLevel: "CONFIRMED_OPT_IN" });
  });

  test("a storefront opt-in subscribes the customer; a shopper who is no customer creates nothing", async () => {
    const phone = freshPhone();
    const id = `gid://shopify/Customer/${800_000 + ++serial}`;
    app.shopify.addCustomer(SHOP, { id, phone });
    const optIn = await storefrontOptIn(phone);
    expect(optIn.status).toBe(200);
    await expect.poll(() => updatesFor(id).length, { timeout: 10_000 }).toBe(1);
    expect(updatesFor(id)[0].input.whatsAppMarketingConsent).toMatchObject({ state: "SUBSCRIBED", optInLevel: "SINGLE_OPT_IN" });

    const stranger = freshPhone();
    const before = app.shopify.consentUpdates.length;
    expect((await storefrontOptIn(stranger)).status).toBe(200);
    const looked = () => app.shopify.callsFor(SHOP).filter((c) => c.variables?.q === `phone:'${stranger}'`).length;
    await expect.poll(looked, { timeout: 10_000 }).toBe(1);
    await sleep(500);
    expect(app.shopify.consentUpdates.length).toBe(before);
  });
});

/** A storefront opt-in the way Shopify's app proxy forwards it. */
function storefrontOptIn(phone) {
  const params = { shop: SHOP, path_prefix: "/apps/cartback", timestamp: String(Math.floor(Date.now() / 1000)), logged_in_customer_id: "" };
  const message = Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join("");
  const signature = createHmac("sha256", SECRETS.SHOPIFY_API_SECRET).update(message).digest("hex");
  return app.mf.dispatchFetch(`${app.url}proxy/optin?${new URLSearchParams({ ...params, signature })}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "CF-Connecting-IP": `198.51.100.${serial % 250}` },
    body: JSON.stringify({ phone, consent: true, wording: "Send me WhatsApp reminders", cart_token: "abc123" }),
  });
}
