// A journey follows its checkout's latest phone, and a shopper's replies find it whichever of
// WhatsApp's forms of the number they arrive in.
import { afterAll, beforeAll, expect, test } from "vitest";
import { installShop, shopifyWebhook, sleep, startApp } from "./harness.mjs";
import { checkoutOf, freshPhone, inbound, templatesTo, text, whatsappWebhook } from "./meta.mjs";

let app;
beforeAll(async () => {
  app = await startApp();
  await installShop(app.kv, { delaySeconds: 3 });
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.shopify.invalid).toEqual([]);
  await app.mf.dispose();
});

/** WhatsApp's `wa_id` for a phone: its digits, as Meta reports the sender. */
const stopFrom = (waId) => whatsappWebhook(app, inbound(`+${waId}`, text("STOP")));

test("a checkout update that changes the phone moves the journey to the new phone", async () => {
  const [before, after] = [freshPhone(), freshPhone()];
  const checkout = checkoutOf(before);
  await shopifyWebhook(app, "checkouts/update", checkout);
  const changed = { ...checkoutOf(after), token: checkout.token, updated_at: new Date(Date.now() + 1000).toISOString() };
  await shopifyWebhook(app, "checkouts/update", changed);
  // A STOP from the old number no longer reaches this journey; one from the new number does.
  expect((await stopFrom(before.slice(1))).status).toBe(200);
  await sleep(4500);
  expect(templatesTo(app.graph, before)).toHaveLength(0);
  expect(templatesTo(app.graph, after)).toHaveLength(1);

  const [first, second] = [freshPhone(), freshPhone()];
  const other = checkoutOf(first);
  await shopifyWebhook(app, "checkouts/update", other);
  await shopifyWebhook(app, "checkouts/update", {
    ...checkoutOf(second),
    token: other.token,
    updated_at: new Date(Date.now() + 1000).toISOString(),
  });
  expect((await stopFrom(second.slice(1))).status).toBe(200);
  await sleep(4500);
  expect(templatesTo(app.graph, second)).toHaveLength(0);
});

test("a Brazilian mobile replying without its ninth digit is the same shopper", async () => {
  // Mobiles had eight digits starting with 6–9 before the leading 9 was added.
  const phone = `+55119${String(Math.floor(80_000_000 + Math.random() * 19_999_999))}`; // +55 11 9 8xxx-xxxx
  const withoutNinth = `5511${phone.slice(6)}`;
  expect(withoutNinth).toHaveLength(12);
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  expect((await stopFrom(withoutNinth)).status).toBe(200);
  await sleep(4500);
  expect(templatesTo(app.graph, phone)).toHaveLength(0);
});

test("a Mexican mobile replying as 521… is the same shopper", async () => {
  const phone = `+5255${String(Math.floor(10_000_000 + Math.random() * 89_999_999))}`; // +52 55 xxxx xxxx
  const waId = `521${phone.slice(3)}`;
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  expect((await stopFrom(waId)).status).toBe(200);
  await sleep(4500);
  expect(templatesTo(app.graph, phone)).toHaveLength(0);
});
