// The admin API the embedded page uses: connecting WhatsApp, listing journeys, sending a test
// message. Every call carries the shop's session token; nothing answers with a token.
import { afterAll, beforeAll, expect, test } from "vitest";
import { PHONE_NUMBER_ID, SHOP, WHATSAPP_TOKEN, adminApi, installShop, sessionToken, shopifyWebhook, startApp } from "./harness.mjs";
import { checkoutOf, freshPhone, templatesTo } from "./meta.mjs";

let app;
const token = (shop = SHOP) => sessionToken({ shop });
beforeAll(async () => {
  app = await startApp();
  app.graph.accounts.addNumber({ phoneNumberId: "555000111222", accessToken: "EAA-second-number" });
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.shopify.invalid).toEqual([]);
  await app.mf.dispose();
});

test("connecting WhatsApp checks the credentials with Meta and never returns the token", async () => {
  const before = await (await adminApi(app, "/api/whatsapp", { token: token() })).json();
  expect(before).toMatchObject({ connected: false, status: "not_connected" });

  const wrong = await adminApi(app, "/api/whatsapp", {
    token: token(),
    method: "PUT",
    body: { phone_number_id: PHONE_NUMBER_ID, waba_id: "102290129340398", access_token: "not-the-token" },
  });
  expect(wrong.status).toBe(422);

  const ok = await adminApi(app, "/api/whatsapp", {
    token: token(),
    method: "PUT",
    body: { phone_number_id: PHONE_NUMBER_ID, waba_id: "102290129340398", access_token: WHATSAPP_TOKEN, messages_per_second: 250 },
  });
  expect(ok.status).toBe(200);
  const connected = await (await adminApi(app, "/api/whatsapp", { token: token() })).json();
  expect(connected).toEqual({
    phone_number_id: PHONE_NUMBER_ID,
    waba_id: "102290129340398",
    connected: true,
    status: "connected",
    messages_per_second: 250,
  });
  expect(JSON.stringify(connected)).not.toContain(WHATSAPP_TOKEN);
  expect(await app.kv.get(`shop:${SHOP}`)).not.toContain(WHATSAPP_TOKEN);
  expect(await app.kv.get(`wa:${PHONE_NUMBER_ID}`)).toBe(SHOP);
});

test("a number connected to one shop cannot be taken by another (409)", async () => {
  const res = await adminApi(app, "/api/whatsapp", {
    token: token("another-shop.myshopify.com"),
    method: "PUT",
    body: { phone_number_id: PHONE_NUMBER_ID, waba_id: "1", access_token: WHATSAPP_TOKEN },
  });
  expect(res.status).toBe(409);
  expect((await res.json()).error.code).toBe("number_in_use");
});

test("malformed connection bodies get 400", async () => {
  for (const body of [{}, { phone_number_id: "abc", waba_id: "1", access_token: "x" }, "not json"]) {
    const res = await adminApi(app, "/api/whatsapp", { token: token(), method: "PUT", body });
    expect(res.status).toBe(400);
  }
});

test("journeys are listed by status, for the session's shop only", async () => {
  await installShop(app.kv, { delaySeconds: 1 });
  const phone = freshPhone();
  const checkout = checkoutOf(phone);
  await shopifyWebhook(app, "checkouts/update", checkout);
  await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 8000 }).toBe(1);
  const all = await (await adminApi(app, "/api/journeys", { token: token() })).json();
  const mine = all.journeys.find((j) => j.checkout_token === checkout.token);
  expect(mine).toMatchObject({ phone, cart_total: "215.95", currency: "USD", status: "ended" });
  expect(mine.steps[0]).toMatchObject({ id: "reminder", state: "sent" });
  const active = await (await adminApi(app, "/api/journeys?status=active", { token: token() })).json();
  expect(active.journeys.find((j) => j.checkout_token === checkout.token)).toBeUndefined();
  const other = await (await adminApi(app, "/api/journeys", { token: token("another-shop.myshopify.com") })).json();
  expect(other.journeys).toEqual([]);
  expect((await adminApi(app, "/api/journeys?status=bogus", { token: token() })).status).toBe(400);
});

test("a test message goes to the merchant's phone with sample values", async () => {
  const res = await adminApi(app, "/api/test-message", { token: token(), method: "POST", body: { phone: "+351912345678" } });
  expect(res.status).toBe(200);
  const { wamid } = await res.json();
  const sent = app.graph.messages.find((m) => m.wamid === wamid);
  expect(sent.to).toBe("+351912345678");
  expect(sent.body.template.name).toBe("cart_reminder");
});

test("a FAQ breaking a bound gets 400 naming the field; a valid one is stored", async () => {
  const entry = { question: "Do you ship to Portugal?", answer: "Yes, in 3 to 5 days.", language: "en", keywords: ["shipping"] };
  const tooMany = { entries: [entry, { ...entry, keywords: Array.from({ length: 21 }, (_, i) => `k${i}`) }] };
  const res = await adminApi(app, "/api/faq", { token: token(), method: "PUT", body: tooMany });
  expect(res.status).toBe(400);
  const { error } = await res.json();
  expect(error.code).toBe("invalid_faq");
  expect(error.fields).toEqual([{ field: "entries[1].keywords", message: "at most 20 keywords" }]);

  const blank = await adminApi(app, "/api/faq", { token: token(), method: "PUT", body: { entries: [{ ...entry, answer: " " }] } });
  expect(blank.status).toBe(400);
  expect((await blank.json()).error.fields.map((f) => f.field)).toEqual(["entries[0].answer"]);

  const ok = await adminApi(app, "/api/faq", { token: token(), method: "PUT", body: { entries: [entry] } });
  expect(ok.status).toBe(200);
  expect(await (await adminApi(app, "/api/faq", { token: token() })).json()).toEqual({ entries: [entry] });
});

test("when Meta cannot check the credentials, connecting answers 502, not that they are wrong", async () => {
  const handle = app.graph.handle;
  app.graph.handle = () => new Response("upstream unavailable", { status: 503 });
  try {
    const res = await adminApi(app, "/api/whatsapp", {
      token: token(),
      method: "PUT",
      body: { phone_number_id: PHONE_NUMBER_ID, waba_id: "102290129340398", access_token: WHATSAPP_TOKEN },
    });
    expect(res.status).toBe(502);
    expect((await res.json()).error.code).toBe("whatsapp_unreachable");
  } finally {
    app.graph.handle = handle;
  }
});

test("consent records are answered with RFC 3339 instants", async () => {
  await installShop(app.kv, { delaySeconds: 1 });
  const phone = freshPhone();
  const before = Date.now();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 8000 }).toBe(1);
  const res = await adminApi(app, `/api/consents?phone=${encodeURIComponent(phone)}`, { token: token() });
  expect(res.status).toBe(200);
  const { records } = await res.json();
  expect(records).toHaveLength(1);
  expect(records[0]).toMatchObject({ kind: "opt_in", source: "checkout_marketing_consent" });
  expect(records[0].at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(Date.parse(records[0].at)).toBeGreaterThanOrEqual(before);
});
