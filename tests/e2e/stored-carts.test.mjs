// How a cart is kept in its Durable Object's storage: as JSON text, a cart an earlier build
// stored as an object still read (and saved as text from then on), and a cart's events saved one
// after the other even when they arrive together (an update of a begun journey reports to the
// shop ledger before its save, and is handled again when another event saved first).
import { afterAll, beforeAll, expect, test } from "vitest";
import { randomBytes } from "node:crypto";
import { SHOP, adminApi, checkoutPayload, fixture, installShop, messagesFor, orderPayload, sessionToken, shopifyWebhook, sleep, startApp } from "./harness.mjs";
import { checkoutOf, freshPhone, inbound, interactiveReply, templatesTo, textsTo, whatsappWebhook } from "./meta.mjs";

let app;
beforeAll(async () => {
  app = await startApp({ scriptPath: "tests/e2e/stored-cart-worker.mjs" });
  await installShop(app.kv, { delaySeconds: 3 });
  expect((await adminApi(app, "/api/shop", { token: sessionToken({ shop: SHOP }) })).status).toBe(200);
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.unexpected).toEqual([]);
  await app.mf.dispose();
});

const backDoor = async (token, action) =>
  (await app.mf.dispatchFetch(`${app.url}__test/cart?name=${SHOP}:${token}&do=${action}`)).json();
const stored = async (token, action = "read") => (await backDoor(token, action)).stored;

/** One message per checkout, greeting Emma (the newest event's name), `delayMs` after it, and no second. */
async function expectOneMessageEach(newest, delayMs) {
  for (const checkout of newest) {
    await expect.poll(() => messagesFor(app.graph, checkout.token).length, { timeout: 15_000 }).toBe(1);
    const [message] = messagesFor(app.graph, checkout.token);
    const body = message.body.template.components.find((c) => c.type === "body");
    expect(body.parameters[0].text).toBe("Emma");
    expect(message.at).toBeGreaterThanOrEqual(Date.parse(checkout.updated_at) + delayMs);
  }
  await sleep(1500);
  for (const checkout of newest) expect(messagesFor(app.graph, checkout.token)).toHaveLength(1);
}

test("a cart is stored as JSON text", async () => {
  const checkout = checkoutPayload();
  expect((await shopifyWebhook(app, "checkouts/update", checkout)).status).toBe(200);
  expect(await stored(checkout.token)).toBe("string");
});

test("a cart stored as an object by an earlier build goes on where it was", async () => {
  const checkout = checkoutPayload();
  expect((await shopifyWebhook(app, "checkouts/update", checkout)).status).toBe(200);
  expect(await stored(checkout.token, "as-object")).toBe("string");
  expect(await stored(checkout.token)).toBe("object");
  // The same checkout again is read against the stored cart: old news, nothing saved.
  expect((await shopifyWebhook(app, "checkouts/update", checkout)).status).toBe(200);
  expect(await stored(checkout.token)).toBe("object");

  // Its step is still due and goes out once, from the alarm; what is saved then is text.
  await expect.poll(() => messagesFor(app.graph, checkout.token).length, { timeout: 10_000 }).toBe(1);
  expect(await stored(checkout.token)).toBe("string");
  await sleep(1000);
  expect(messagesFor(app.graph, checkout.token)).toHaveLength(1);
});

test("a checkout's create and update arriving together make one journey, the update's, and one message", async () => {
  const pairs = Array.from({ length: 8 }, () => {
    const update = checkoutPayload();
    update.customer.first_name = "Emma";
    const create = { ...checkoutPayload({ token: update.token, updatedAt: new Date(Date.now() - 1000) }) };
    return { create, update };
  });
  const answers = await Promise.all(
    pairs.flatMap(({ create, update }) => [
      shopifyWebhook(app, "checkouts/create", create),
      shopifyWebhook(app, "checkouts/update", update),
    ]),
  );
  expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
  await expectOneMessageEach(pairs.map(({ update }) => update), 3000);
});

test("updates of a begun journey arriving together leave the newest, and one message", async () => {
  // Long enough that no journey comes due before its updates, however busy the machine.
  await installShop(app.kv, { delaySeconds: 6 });
  const checkouts = Array.from({ length: 8 }, () => checkoutPayload({ updatedAt: new Date(Date.now() - 1000) }));
  for (const checkout of checkouts) expect((await shopifyWebhook(app, "checkouts/create", checkout)).status).toBe(200);
  const base = Date.now() - 1000;
  const updates = checkouts.map((checkout) =>
    [500, 1000, 0].map((ahead, i) => {
      const update = checkoutPayload({ token: checkout.token, updatedAt: new Date(base + ahead) });
      update.customer.first_name = ["Ada", "Emma", "Ida"][i];
      return update;
    }),
  );
  const answers = await Promise.all(updates.flat().map((update) => shopifyWebhook(app, "checkouts/update", update)));
  expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
  await expectOneMessageEach(updates.map(([, newest]) => newest), 6000);
  await installShop(app.kv, { delaySeconds: 3 });
});

test("a journey registered but never saved (a restart between) begins again, and the ledger's link is the new one", async () => {
  const phone = freshPhone();
  const checkout = checkoutOf(phone);
  expect((await shopifyWebhook(app, "checkouts/update", checkout)).status).toBe(200);
  expect(await stored(checkout.token, "drop")).toBe("string");
  expect(await stored(checkout.token)).toBe("undefined");
  // Shopify delivers the event again (its first answer was lost with the object).
  expect((await shopifyWebhook(app, "checkouts/update", checkout)).status).toBe(200);
  await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 15_000 }).toBe(1);

  const wamid = templatesTo(app.graph, phone)[0].wamid;
  await whatsappWebhook(app, inbound(phone, interactiveReply("complete_order", "Complete my order"), { context: wamid }));
  await expect.poll(() => textsTo(app.graph, phone).length, { timeout: 5000 }).toBe(1);
  const link = textsTo(app.graph, phone)[0].match(/https:\/\/cartback\.test\/r\/([A-Za-z0-9_-]+)/);
  const res = await app.mf.dispatchFetch(`${app.url}r/${link[1]}`, { redirect: "manual" });
  expect(res.status).toBe(302);
  expect(res.headers.get("Location")).toBe(checkout.abandoned_checkout_url);
});

test("an order while a new cart's first report is out ends the journey, whatever comes after", async () => {
  const tokens = [];
  for (let n = 0; n < 3; n++) {
    const token = `slowbefore${randomBytes(8).toString("hex")}`;
    tokens.push(token);
    const phone = freshPhone();
    const create = shopifyWebhook(app, "checkouts/create", checkoutOf(phone, { token, updatedAt: new Date(Date.now() - 500) }));
    await sleep(150);
    const order = shopifyWebhook(app, "orders/create", orderPayload(token));
    await sleep(200);
    const update = shopifyWebhook(app, "checkouts/update", checkoutOf(phone, { token }));
    expect((await Promise.all([create, order, update])).map((r) => r.status)).toEqual([200, 200, 200]);
  }
  await sleep(5000);
  for (const token of tokens) expect(messagesFor(app.graph, token)).toHaveLength(0);
});

test("customers/redact while a new cart's first report is out leaves nothing of the shopper", async () => {
  const phone = freshPhone();
  const create = checkoutOf(phone);
  create.token = `slowafter${randomBytes(8).toString("hex")}`;
  create.updated_at = new Date(Date.now() - 500).toISOString();
  const update = { ...checkoutOf(phone), token: create.token, updated_at: new Date().toISOString() };
  const redact = JSON.parse(fixture("shopify/customers-redact.json"));
  redact.customer = { ...redact.customer, phone };
  const created = shopifyWebhook(app, "checkouts/create", create);
  await sleep(250);
  const redacted = shopifyWebhook(app, "customers/redact", redact);
  await sleep(250);
  const updated = shopifyWebhook(app, "checkouts/update", update);
  expect((await Promise.all([created, redacted, updated])).map((r) => r.status)).toEqual([200, 200, 200]);
  await sleep(1500);
  expect((await backDoor(create.token, "read")).text).not.toContain(phone.slice(1));
  await sleep(3500);
  expect(templatesTo(app.graph, phone)).toHaveLength(0);
});
