// A cart's journey end to end: signed Shopify webhooks in, WhatsApp messages out, on the real
// runtime with real alarms.
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  PHONE_NUMBER_ID,
  SHOPIFY_API_VERSION,
  adminApi,
  checkoutPayload,
  installShop,
  messagesFor,
  orderPayload,
  sessionToken,
  shopifyWebhook,
  sleep,
  startApp,
} from "./harness.mjs";

let app;
beforeAll(async () => {
  app = await startApp();
  await installShop(app.kv, { delaySeconds: 1 });
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.shopify.invalid).toEqual([]);
  expect(app.unexpected).toEqual([]);
  await app.mf.dispose();
});

test("a signed checkout gives exactly one message after the delay", async () => {
  const updatedAt = new Date();
  const checkout = checkoutPayload({ updatedAt });
  const res = await shopifyWebhook(app, "checkouts/update", checkout);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ ok: true });

  await expect.poll(() => messagesFor(app.graph, checkout.token).length, { timeout: 10_000 }).toBe(1);
  const [message] = messagesFor(app.graph, checkout.token);
  expect(message.at).toBeGreaterThanOrEqual(updatedAt.getTime() + 1000);
  expect(message.phoneNumberId).toBe(PHONE_NUMBER_ID);
  expect(message.body).toMatchObject({
    messaging_product: "whatsapp",
    to: "+14165550142",
    type: "template",
    template: { name: "cart_reminder", language: { code: "en_US" } },
  });
  const body = message.body.template.components.find((c) => c.type === "body");
  expect(body.parameters.map((p) => p.text)).toEqual(["Emily", "Merino Crew Sweater", "$215.95"]);

  await sleep(2000);
  expect(messagesFor(app.graph, checkout.token)).toHaveLength(1);
});

test("an order before the due time means no message", async () => {
  const checkout = checkoutPayload();
  await installShop(app.kv, { delaySeconds: 2 });
  try {
    expect((await shopifyWebhook(app, "checkouts/update", checkout)).status).toBe(200);
    expect((await shopifyWebhook(app, "orders/create", orderPayload(checkout.token))).status).toBe(200);
    await sleep(3500);
    expect(messagesFor(app.graph, checkout.token)).toHaveLength(0);
  } finally {
    await installShop(app.kv, { delaySeconds: 1 });
  }
});

test("Admin API 2026-10 bodies (no checkout id, no order checkout_id): the journey runs and ends by token", async () => {
  expect(SHOPIFY_API_VERSION).toBe("2026-10");
  const checkout = checkoutPayload();
  const order = orderPayload(checkout.token);
  expect(checkout.id).toBeUndefined();
  expect(order.checkout_id).toBeUndefined();
  expect((await shopifyWebhook(app, "checkouts/update", checkout)).status).toBe(200);
  await expect.poll(() => messagesFor(app.graph, checkout.token).length, { timeout: 10_000 }).toBe(1);
  expect((await shopifyWebhook(app, "orders/create", order)).status).toBe(200);
  const journey = async () => {
    const res = await adminApi(app, "/api/journeys", { token: sessionToken() });
    return (await res.json()).journeys.find((j) => j.checkout_token === checkout.token);
  };
  await expect.poll(async () => (await journey())?.end_reason, { timeout: 5000 }).toBe("ordered");
});

test("the same webhook delivered three times gives one message", async () => {
  const checkout = checkoutPayload();
  const eventId = crypto.randomUUID();
  for (let i = 0; i < 3; i++) {
    expect((await shopifyWebhook(app, "checkouts/update", checkout, { eventId })).status).toBe(200);
  }
  await expect.poll(() => messagesFor(app.graph, checkout.token).length, { timeout: 10_000 }).toBe(1);
  await sleep(2000);
  expect(messagesFor(app.graph, checkout.token)).toHaveLength(1);
});

test("a bad HMAC gets 401 and schedules nothing", async () => {
  const checkout = checkoutPayload();
  const res = await shopifyWebhook(app, "checkouts/update", checkout, { hmac: "AAAA" + "B".repeat(40) });
  expect(res.status).toBe(401);
  expect((await res.json()).error.code).toBe("unauthorized");
  const unsigned = await shopifyWebhook(app, "checkouts/update", checkout, { hmac: "" });
  expect(unsigned.status).toBe(401);
  await sleep(2500);
  expect(messagesFor(app.graph, checkout.token)).toHaveLength(0);
});

test("malformed JSON with a good HMAC gets 400", async () => {
  for (const body of ["{not json", "[]", '{"token": 5}']) {
    const res = await shopifyWebhook(app, "checkouts/update", body);
    expect(res.status).toBe(400);
    const json = await res.json();
    expect(json.error.code).toBe("bad_request");
    expect(json.error.message).toBeTruthy();
  }
});

test("unknown topics are accepted and ignored", async () => {
  const res = await shopifyWebhook(app, "products/update", { id: 1 });
  expect(res.status).toBe(200);
});

test("a body over 1 MiB gets 413", async () => {
  const res = await shopifyWebhook(app, "checkouts/update", "x".repeat((1 << 20) + 1));
  expect(res.status).toBe(413);
  expect((await res.json()).error.code).toBe("payload_too_large");
});

test("a chunked body without Content-Length is refused with 413 once past 1 MiB, not read whole", async () => {
  // Up to 64 MiB offered in 64 KiB chunks; the Worker must stop long before the end.
  const chunk = new Uint8Array(64 * 1024).fill(0x78);
  let offered = 0;
  const body = new ReadableStream({
    pull(controller) {
      if (offered >= 64 << 20) return controller.close();
      offered += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const res = await app.mf.dispatchFetch(`${app.url}webhooks/shopify`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Shopify-Topic": "checkouts/update" },
    body,
    duplex: "half",
  });
  expect(res.status).toBe(413);
  expect((await res.json()).error.code).toBe("payload_too_large");
  expect(offered).toBeGreaterThan(1 << 20);
  expect(offered).toBeLessThan(16 << 20);
});

test("health and the admin page's files are served", async () => {
  const health = await app.mf.dispatchFetch(`${app.url}healthz`);
  expect(await health.json()).toEqual({ status: "ok" });
  const page = await app.mf.dispatchFetch(app.url);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("cartback");
  const missing = await app.mf.dispatchFetch(`${app.url}api/nothing`);
  expect(missing.status).toBe(404);
  expect((await missing.json()).error.code).toBe("not_found");
});
