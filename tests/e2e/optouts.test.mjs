// Opt-outs are the phone owner's. A STOP, WhatsApp's own "stop marketing", a send Meta refuses
// with 131050 and the suppression kept after an erasure are lifted only from that phone: a
// number typed into a storefront is a request that changes nothing.
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { PHONE_NUMBER_ID, SECRETS, SHOP, adminApi, installShop, sessionToken, shopifyWebhook, sleep, startApp } from "./harness.mjs";
import { checkoutOf, freshPhone, inbound, templatesTo, text, textsTo, whatsappWebhook } from "./meta.mjs";

let app;
beforeAll(async () => {
  app = await startApp();
  await installShop(app.kv, { delaySeconds: 1 });
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.shopify.invalid).toEqual([]);
  await app.mf.dispose();
});

/** POSTs a storefront opt-in the way Shopify's app proxy forwards it. */
function storefrontOptIn(phone) {
  const params = {
    shop: SHOP,
    path_prefix: "/apps/cartback",
    timestamp: String(Math.floor(Date.now() / 1000)),
    logged_in_customer_id: "",
  };
  const message = Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join("");
  const signature = createHmac("sha256", SECRETS.SHOPIFY_API_SECRET).update(message).digest("hex");
  return app.mf.dispatchFetch(`${app.url}proxy/optin?${new URLSearchParams({ ...params, signature })}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "CF-Connecting-IP": "198.51.100.7" },
    body: JSON.stringify({ phone, consent: true, wording: "Send me WhatsApp reminders", cart_token: "abc123" }),
  });
}

async function consents(phone) {
  const res = await adminApi(app, `/api/consents?phone=${encodeURIComponent(phone)}`, { token: sessionToken() });
  return res.json();
}

async function stopped() {
  const phone = freshPhone();
  expect((await whatsappWebhook(app, inbound(phone, text("STOP")))).status).toBe(200);
  await expect.poll(() => textsTo(app.graph, phone).length, { timeout: 5000 }).toBe(1);
  return phone;
}

test("STOP, then a storefront opt-in: a new checkout gets nothing", async () => {
  const phone = await stopped();
  expect((await storefrontOptIn(phone)).status).toBe(200);
  const ledger = await consents(phone);
  expect(ledger.status).toBe("opted_out");
  expect(ledger.records.map((r) => [r.kind, r.source])).toEqual([
    ["opt_out", "whatsapp_keyword"],
    ["opt_in", "storefront_widget"],
  ]);
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  await sleep(3000);
  expect(templatesTo(app.graph, phone)).toHaveLength(0);
});

test("STOP, then START from the phone: a new checkout gets its message", async () => {
  const phone = await stopped();
  await sleep(1100); // WhatsApp stamps messages to the second; a tie would be an opt-out
  expect((await whatsappWebhook(app, inbound(phone, text("START")))).status).toBe(200);
  await expect.poll(async () => (await consents(phone)).status, { timeout: 5000 }).toBe("opted_in");
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 8000 }).toBe(1);
});

test("a send refused with 131050 is recorded as the phone's opt-out", async () => {
  app.graph.failNext(1, 131050);
  const phone = freshPhone();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  await expect.poll(async () => (await consents(phone)).status, { timeout: 8000 }).toBe("opted_out");
  const ledger = await consents(phone);
  expect(ledger.records.at(-1)).toMatchObject({ kind: "opt_out", source: "whatsapp_refusal" });
  // Not even a storefront opt-in brings the next cart a message.
  expect((await storefrontOptIn(phone)).status).toBe(200);
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  await sleep(3000);
  expect(templatesTo(app.graph, phone)).toHaveLength(0);
});

test("after customers/redact only the phone can opt back in", async () => {
  const phone = freshPhone();
  const redact = { shop_id: 1, shop_domain: SHOP, customer: { id: 5550001, phone }, orders_to_redact: [] };
  expect((await shopifyWebhook(app, "customers/redact", redact)).status).toBe(200);
  await storefrontOptIn(phone);
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  await sleep(3000);
  expect(templatesTo(app.graph, phone)).toHaveLength(0);
  expect((await consents(phone)).records.map((r) => r.source)).toEqual(["redaction", "storefront_widget"]);
});

test("a STOP sent to a number no shop has connected is kept, and applies once a shop connects it", async () => {
  const number = "318462950077777";
  const token = "EAAtest-second-number";
  app.graph.accounts.addNumber({ phoneNumberId: number, accessToken: token });
  const phone = freshPhone();
  const stop = inbound(phone, text("STOP"));
  stop.entry[0].changes[0].value.metadata.phone_number_id = number;
  expect((await whatsappWebhook(app, stop)).status).toBe(200);
  await sleep(500);
  expect(textsTo(app.graph, phone)).toHaveLength(0); // nobody can answer for that number
  // A second shop connects the number; its shopper's STOP is on its ledger from the start.
  const shop = "juniper-and-vine.myshopify.com";
  await installShop(app.kv, { shop, delaySeconds: 1, record: { whatsapp: null } });
  await app.kv.put(`wa:${PHONE_NUMBER_ID}`, SHOP); // the first shop keeps its own number
  const connect = await adminApi(app, "/api/whatsapp", {
    token: sessionToken({ shop }),
    method: "PUT",
    body: { phone_number_id: number, waba_id: "102290129340399", access_token: token },
  });
  expect(connect.status).toBe(200);
  const ledger = await (await adminApi(app, `/api/consents?phone=${encodeURIComponent(phone)}`, { token: sessionToken({ shop }) })).json();
  expect(ledger).toMatchObject({ status: "opted_out", records: [{ kind: "opt_out", source: "whatsapp_keyword" }] });
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone), { shop });
  await sleep(3000);
  expect(templatesTo(app.graph, phone)).toHaveLength(0);

  // Just after the connection, a Worker elsewhere may not see KV's new route yet: what reaches
  // the number's own ledger then is passed on to the shop, not stranded there.
  await app.kv.delete(`wa:${number}`);
  const late = freshPhone();
  const lateStop = inbound(late, text("STOP"));
  lateStop.entry[0].changes[0].value.metadata.phone_number_id = number;
  expect((await whatsappWebhook(app, lateStop)).status).toBe(200);
  const after = await (await adminApi(app, `/api/consents?phone=${encodeURIComponent(late)}`, { token: sessionToken({ shop }) })).json();
  expect(after).toMatchObject({ status: "opted_out", records: [{ kind: "opt_out", source: "whatsapp_keyword" }] });
  await expect.poll(() => textsTo(app.graph, late).length, { timeout: 5000 }).toBe(1); // the shop confirms it
});
