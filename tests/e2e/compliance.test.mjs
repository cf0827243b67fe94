// Shopify's lifecycle and privacy topics end to end: deleted checkouts, uninstall, and the
// mandatory compliance webhooks, checked down to the bytes of every storage file.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, expect, test } from "vitest";
import { SHOP, adminApi, connectWhatsApp, currentPayload, fixture, installShop, orderPayload, sessionToken, shopifyWebhook, sleep, startApp } from "./harness.mjs";
import { checkoutOf, freshPhone, inbound, status, templatesTo, text, whatsappWebhook } from "./meta.mjs";

let app;
const persistRoot = mkdtempSync(join(tmpdir(), "cartback-storage-"));
beforeAll(async () => {
  app = await startApp({ persistRoot });
});
beforeEach(async () => {
  await installShop(app.kv, { delaySeconds: 2 });
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.shopify.invalid).toEqual([]);
  await app.mf.dispose();
  rmSync(persistRoot, { recursive: true, force: true });
});

/** Every byte Durable Objects and KV have written, as one string (SQLite files included). */
function storageDump() {
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(readFileSync(path).toString("latin1"));
    }
  };
  walk(persistRoot);
  return files.join("\n");
}

const COMPLIANCE = ["customers/data_request", "customers/redact", "shop/redact"];

test("every compliance topic refuses a bad HMAC with 401", async () => {
  for (const topic of COMPLIANCE) {
    const body = fixture(`shopify/${topic.replace("/", "-")}.json`);
    const res = await shopifyWebhook(app, topic, body, { hmac: "bm9wZQ==" });
    expect(res.status).toBe(401);
  }
});

test("checkouts/delete before Admin API 2026-04 ends the journey (it names the checkout by id and cart only)", async () => {
  const phone = freshPhone();
  const checkout = checkoutOf(phone);
  checkout.id = Date.now();
  checkout.cart_token = `cart${Date.now()}`;
  const old = { apiVersion: "2025-10" };
  await shopifyWebhook(app, "checkouts/update", checkout, old);
  const deleted = JSON.parse(fixture("shopify/checkouts-delete.json"));
  deleted.id = checkout.id;
  deleted.cart_token = checkout.cart_token;
  expect((await shopifyWebhook(app, "checkouts/delete", deleted, old)).status).toBe(200);
  await sleep(3000);
  expect(templatesTo(app.graph, phone)).toHaveLength(0);
});

test("an order that only names the cart still stops the journey", async () => {
  const phone = freshPhone();
  const checkout = checkoutOf(phone);
  checkout.cart_token = `cart${Date.now()}`;
  await shopifyWebhook(app, "checkouts/update", checkout);
  const order = currentPayload("shopify/orders-create.json");
  delete order.checkout_token;
  order.cart_token = checkout.cart_token;
  expect((await shopifyWebhook(app, "orders/create", order)).status).toBe(200);
  await sleep(3000);
  expect(templatesTo(app.graph, phone)).toHaveLength(0);
});

test("an order from a new checkout of the same cart stops the earlier journey", async () => {
  const phone = freshPhone();
  const abandoned = checkoutOf(phone);
  abandoned.cart_token = `cart${Date.now()}`;
  await shopifyWebhook(app, "checkouts/update", abandoned);
  const order = currentPayload("shopify/orders-create.json");
  order.checkout_token = "f".repeat(32); // the shopper came back through another checkout
  order.cart_token = abandoned.cart_token;
  expect((await shopifyWebhook(app, "orders/create", order)).status).toBe(200);
  await sleep(3000);
  expect(templatesTo(app.graph, phone)).toHaveLength(0);
});

test("checkouts/delete (Admin API 2026-04 and later) ends exactly the checkout its token names", async () => {
  const cart = `cart${Date.now()}`;
  const [first, second] = [freshPhone(), freshPhone()];
  const deletedCheckout = checkoutOf(first);
  deletedCheckout.cart_token = cart;
  const newer = checkoutOf(second);
  newer.cart_token = cart;
  await shopifyWebhook(app, "checkouts/update", deletedCheckout);
  await shopifyWebhook(app, "checkouts/update", newer);
  // The newer payloads carry no id: only the token (and the cart, which names both).
  const deleted = { token: deletedCheckout.token, cart_token: cart };
  expect((await shopifyWebhook(app, "checkouts/delete", deleted)).status).toBe(200);
  await expect.poll(() => templatesTo(app.graph, second).length, { timeout: 8000 }).toBe(1);
  expect(templatesTo(app.graph, first)).toHaveLength(0);
});

test("customers/data_request makes what we hold available to the merchant", async () => {
  const phone = freshPhone();
  const checkout = checkoutOf(phone);
  checkout.customer.id = 99001;
  await shopifyWebhook(app, "checkouts/update", checkout);
  await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 8000 }).toBe(1);
  const request = JSON.parse(fixture("shopify/customers-data_request.json"));
  request.customer = { id: 99001, email: "someone@example.com", phone };
  request.data_request = { id: 777 };
  expect((await shopifyWebhook(app, "customers/data_request", request)).status).toBe(200);
  const res = await adminApi(app, "/api/data-requests", { token: sessionToken({ shop: SHOP }) });
  const { data_requests } = await res.json();
  const report = data_requests.find((r) => r.id === "777").report;
  expect(report.phone).toBe(phone);
  expect(report.journeys).toHaveLength(1);
  expect(report.journeys[0].phone).toBe(phone);
  expect(report.consents[0]).toMatchObject({ kind: "opt_in", source: "checkout_marketing_consent" });
});

test("after customers/redact the shopper's phone, name and email are in no storage file", async () => {
  // A second step an hour away keeps the journey running until the redaction.
  const steps = ["reminder", "nudge"].map((id, i) => ({ id, delay_seconds: i ? 3600 : 2, template: { name: `cart_${id}`, languages: ["en_US"] } }));
  await installShop(app.kv, { playbook: { steps } });
  const phone = "+14165550199";
  const checkout = checkoutOf(phone);
  checkout.customer.id = 7938205146271;
  checkout.customer.first_name = "Zephyrine";
  checkout.shipping_address.first_name = "Zephyrine";
  checkout.billing_address.first_name = "Zephyrine";
  await shopifyWebhook(app, "checkouts/update", checkout);
  await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 8000 }).toBe(1);
  expect(storageDump()).toContain("Zephyrine"); // the journey holds it while it runs
  // A reply ends the journey (its cart keeps nothing personal); the conversation waits in the
  // inbox, sealed, until the redaction.
  await whatsappWebhook(app, inbound(phone, text("Can I talk to a person?"), { name: "Zephyrine Quill" }));
  await sleep(500);

  const request = JSON.parse(fixture("shopify/customers-data_request.json"));
  request.customer = { id: 7938205146271, email: "zephyrine@example.com", phone };
  request.data_request = { id: 4242 };
  await shopifyWebhook(app, "customers/data_request", request);
  const redact = JSON.parse(fixture("shopify/customers-redact.json"));
  redact.customer = { id: 7938205146271, email: "zephyrine@example.com", phone };
  expect((await shopifyWebhook(app, "customers/redact", redact)).status).toBe(200);
  await sleep(1500);
  const dump = storageDump();
  for (const needle of ["Zephyrine", "Quill", "zephyrine@example.com", "4165550199", "416-555-0199"]) {
    expect(dump.includes(needle), needle).toBe(false);
  }
  // The data-request report about her is gone too.
  const reports = await (await adminApi(app, "/api/data-requests", { token: sessionToken({ shop: SHOP }) })).json();
  expect(reports.data_requests.find((r) => r.id === "4242")).toBeUndefined();
  // Never messaged again: the salted hash stays on the suppression list.
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  await sleep(3000);
  expect(templatesTo(app.graph, phone)).toHaveLength(1);
});

test("a journey is wiped as soon as it ends: its phone is in no storage file, and a later order is still credited", async () => {
  const token = sessionToken({ shop: SHOP });
  const recovered = async () => (await (await adminApi(app, "/api/metrics", { token })).json()).funnel.recovered;
  const before = await recovered();
  const phone = freshPhone();
  const checkout = checkoutOf(phone);
  await shopifyWebhook(app, "checkouts/update", checkout);
  expect(storageDump()).toContain(phone.slice(2)); // the journey holds it while it runs
  await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 8000 }).toBe(1);
  // Meta's statuses follow its answer to the send, which the cart has then taken in.
  const sent = async () => {
    const { journeys } = await (await adminApi(app, "/api/journeys", { token })).json();
    return journeys.find((j) => j.checkout_token === checkout.token)?.steps[0]?.state;
  };
  await expect.poll(sent, { timeout: 5000 }).toBe("sent");
  // Its one step went out and Meta delivered it: the journey has ended, and the cart kept
  // nothing personal. (Until the delivery, a transient failure would take the step back up.)
  await whatsappWebhook(app, status(phone, templatesTo(app.graph, phone)[0].wamid, "delivered"));
  await expect.poll(() => storageDump().includes(phone.slice(2)), { timeout: 5000 }).toBe(false);
  const order = orderPayload(checkout.token);
  order.created_at = new Date().toISOString();
  expect((await shopifyWebhook(app, "orders/create", order)).status).toBe(200);
  await expect.poll(recovered, { timeout: 5000 }).toBe(before + 1);
  // The recovery link still opens the checkout.
  const link = templatesTo(app.graph, phone)[0].body.template.components.find((c) => c.sub_type === "url").parameters[0].text;
  const res = await app.mf.dispatchFetch(`${app.url}r/${link}`, { redirect: "manual" });
  expect(res.status).toBe(302);
  expect(res.headers.get("location")).toMatch(/^https:\/\//);
});

test("app/uninstalled deletes the tokens and stops pending messages", async () => {
  const phone = freshPhone();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  expect((await shopifyWebhook(app, "app/uninstalled", fixture("shopify/app-uninstalled.json"))).status).toBe(200);
  await sleep(3000);
  expect(templatesTo(app.graph, phone)).toHaveLength(0);
  const record = JSON.parse(await app.kv.get(`shop:${SHOP}`));
  expect(record.whatsapp ?? null).toBeNull();
  expect(record.shopify ?? null).toBeNull();
  expect(await app.kv.get("wa:318462950071245")).toBeNull();
});

test("a repeated delivery of the same event is answered 200 and handled once", async () => {
  const eventId = crypto.randomUUID();
  const body = fixture("shopify/customers-data_request.json");
  const first = await shopifyWebhook(app, "customers/data_request", body, { eventId });
  expect(await first.json()).toEqual({ ok: true });
  const again = await shopifyWebhook(app, "customers/data_request", body, { eventId });
  expect(again.status).toBe(200);
  expect(await again.json()).toEqual({ ok: true, duplicate: true });
});

test("shop/redact deletes everything of the shop", async () => {
  await connectWhatsApp(app); // the merchant came back after the uninstall above
  const phone = freshPhone();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 8000 }).toBe(1);
  expect((await shopifyWebhook(app, "shop/redact", fixture("shopify/shop-redact.json"))).status).toBe(200);
  await sleep(1500);
  const keys = (await app.kv.list()).keys.map((k) => k.name).filter((k) => k.includes(SHOP));
  expect(keys).toEqual([]);
  expect(storageDump().includes(phone.slice(2))).toBe(false);
  // The shop can come back: its ledger starts empty and works.
  await installShop(app.kv, { delaySeconds: 1 });
  await connectWhatsApp(app);
  const again = freshPhone();
  expect((await shopifyWebhook(app, "checkouts/update", checkoutOf(again))).status).toBe(200);
  await expect.poll(() => templatesTo(app.graph, again).length, { timeout: 8000 }).toBe(1);
  expect((await shopifyWebhook(app, "orders/create", currentPayload("shopify/orders-create.json"))).status).toBe(200);
});
