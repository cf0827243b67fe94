// Meta's Marketing Messages API end to end: marketing templates go to /marketing_messages, with
// the same body /messages takes; replies and other free-form messages stay on /messages; a number
// whose business has not accepted the API's terms falls back once, and is remembered.
import { afterAll, beforeAll, expect, test } from "vitest";
import { PHONE_NUMBER_ID, SHOP, adminApi, installShop, sessionToken, shopifyWebhook, startApp } from "./harness.mjs";
import { checkoutOf, freshPhone, inbound, text, whatsappWebhook } from "./meta.mjs";

let app;
beforeAll(async () => {
  app = await startApp();
  await installShop(app.kv);
  expect((await adminApi(app, "/api/shop", { token: sessionToken({ shop: SHOP }) })).status).toBe(200);
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.shopify.invalid).toEqual([]);
  expect(app.unexpected).toEqual([]);
  await app.mf.dispose();
});

const to = (list, phone) => list.filter((m) => m.to === phone);

async function abandon() {
  const phone = freshPhone();
  expect((await shopifyWebhook(app, "checkouts/update", checkoutOf(phone))).status).toBe(200);
  await expect.poll(() => to(app.graph.messages, phone).length, { timeout: 10_000 }).toBe(1);
  return phone;
}

test("a cart reminder goes through the Marketing Messages API; the STOP confirmation through /messages", async () => {
  const phone = await abandon();
  const [reminder] = to(app.graph.messages, phone);
  expect(reminder).toMatchObject({ endpoint: "marketing_messages", type: "template", phoneNumberId: PHONE_NUMBER_ID });
  expect(reminder.body.template.name).toBe("cart_reminder");
  expect(reminder.body.biz_opaque_callback_data).toMatch(/^cb1;checkout=/);

  expect((await whatsappWebhook(app, inbound(phone, text("STOP")))).status).toBe(200);
  await expect.poll(() => to(app.graph.messages, phone).length, { timeout: 5000 }).toBe(2);
  const confirmation = to(app.graph.messages, phone)[1];
  expect(confirmation).toMatchObject({ endpoint: "messages", type: "text" });
});

test("the merchant's test message is a marketing template too", async () => {
  const phone = freshPhone();
  const res = await adminApi(app, "/api/test-message", { token: sessionToken(), method: "POST", body: { phone } });
  expect(res.status).toBe(200);
  expect(to(app.graph.messages, phone)).toMatchObject([{ endpoint: "marketing_messages", type: "template" }]);
});

test("a number not onboarded: 131055, one fallback to /messages, remembered for the next cart", async () => {
  app.graph.accounts.setMarketingMessages(PHONE_NUMBER_ID, false);
  try {
    const first = await abandon();
    expect(to(app.graph.rejected, first)).toMatchObject([{ endpoint: "marketing_messages", code: 131055 }]);
    expect(to(app.graph.messages, first)).toMatchObject([{ endpoint: "messages", type: "template" }]);

    // The ledger remembers: the next reminder goes straight to /messages, and only once.
    const second = await abandon();
    expect(to(app.graph.rejected, second)).toEqual([]);
    expect(to(app.graph.messages, second)).toMatchObject([{ endpoint: "messages" }]);
    const journeys = (await (await adminApi(app, "/api/journeys", { token: sessionToken() })).json()).journeys;
    for (const phone of [first, second]) {
      const journey = journeys.find((j) => j.phone === phone);
      expect(journey.steps[0].state).toBe("sent");
    }
  } finally {
    app.graph.accounts.setMarketingMessages(PHONE_NUMBER_ID, true);
  }
});
