// Forged Shopify webhooks change nothing. The app secret signs webhooks, session tokens, OAuth
// queries and app-proxy queries, and a merchant with any store can obtain the last three; the
// shop header is not signed at all. For every topic, bodies signed through those other uses of
// the secret, and genuine bodies of another shop, are sent against a victim shop, whose
// playbook, connection, tokens, consents, opt-outs, journeys and scheduled messages must be
// exactly as before.
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  PHONE_NUMBER_ID,
  SECRETS,
  SHOP,
  adminApi,
  fixture,
  installShop,
  ledgerRecord,
  seal,
  sessionToken,
  shopifyWebhook,
  sleep,
  startApp,
} from "./harness.mjs";
import { checkoutOf, freshPhone, inbound, text, whatsappWebhook } from "./meta.mjs";

const ATTACKER = "attacker-dev.myshopify.com";
const TOPICS = [
  "checkouts/create",
  "checkouts/update",
  "checkouts/delete",
  "orders/create",
  "app/uninstalled",
  "customers/redact",
  "customers/data_request",
  "shop/redact",
];
const hmacHex = (message) => createHmac("sha256", SECRETS.SHOPIFY_API_SECRET).update(message).digest("hex");
const hexToBase64 = (hex) => Buffer.from(hex, "hex").toString("base64");

/** A session token of the attacker's own store: its signature covers `header.payload`. */
function fromSessionToken() {
  const [header, payload, signature] = sessionToken({ shop: ATTACKER }).split(".");
  return { body: `${header}.${payload}`, hmac: Buffer.from(signature, "base64url").toString("base64") };
}

/** An OAuth callback query of the attacker's store: hex HMAC over the sorted `k=v&k=v` query. */
function fromOAuthQuery() {
  const query = `code=0907a61c0c8d55e99db179b68161bc00&host=YWRtaW4uc2hvcGlmeS5jb20&shop=${ATTACKER}&state=0123456789&timestamp=${Math.floor(Date.now() / 1000)}`;
  return { body: query, hmac: hexToBase64(hmacHex(query)) };
}

/** An app-proxy query: sorted `key=value` pairs with nothing between them. */
function proxyMessage(pairs) {
  return [...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join("");
}
function fromProxyQuery() {
  const message = proxyMessage([
    ["logged_in_customer_id", ""],
    ["path_prefix", "/apps/cartback"],
    ["shop", ATTACKER],
    ["timestamp", String(Math.floor(Date.now() / 1000))],
  ]);
  return { body: message, hmac: hexToBase64(hmacHex(message)) };
}

/**
 * A shopper chooses an app-proxy request's parameters: a key that sorts first and one that
 * sorts last wrap Shopify's own parameters into a string, and the signed bytes are a JSON
 * object that names the victim.
 */
function fromProxyShapedAsJson(topic) {
  const opening = {
    "customers/redact": ` {"shop_id": 1, "shop_domain": "${SHOP}", "customer": {"id": 1, "phone": "+14165550142", "email": "`,
    "customers/data_request": ` {"shop_id": 1, "shop_domain": "${SHOP}", "customer": {"id": 1, "email": "`,
    "shop/redact": ` {"shop_id": 1, "shop_domain": "${SHOP}", "x": "`,
    "app/uninstalled": ` {"id": 1, "myshopify_domain": "${SHOP}", "name": "`,
  }[topic] ?? ` {"token": "t${Date.now()}", "id": 1, "x": "`;
  const closing = topic.startsWith("customers/") ? '"}}' : '"}';
  const message = proxyMessage([
    [opening, "a"],
    ["logged_in_customer_id", ""],
    ["path_prefix", "/apps/cartback"],
    ["shop", ATTACKER],
    ["timestamp", String(Math.floor(Date.now() / 1000))],
    ["~", closing],
  ]);
  JSON.parse(message); // really a JSON object
  return { body: message, hmac: hexToBase64(hmacHex(message)) };
}

/** A genuine webhook of the attacker's store, replayed under the victim's shop header. */
function genuineOfAnotherShop(topic) {
  const name = topic.replace("/", "-");
  const body = JSON.parse(fixture(`shopify/${name}.json`));
  if ("shop_domain" in body) body.shop_domain = ATTACKER;
  if ("myshopify_domain" in body) body.myshopify_domain = ATTACKER;
  if ("domain" in body) body.domain = ATTACKER;
  if (body.abandoned_checkout_url) body.abandoned_checkout_url = body.abandoned_checkout_url.replace(SHOP, ATTACKER);
  if (body.order_status_url) body.order_status_url = body.order_status_url.replace(SHOP, ATTACKER);
  // Ids are unique across shops: the attacker's deleted checkout is not one of the victim's.
  if (topic === "checkouts/delete") body.id = 987654321012;
  // The attacker's own checkout: a phone the attacker holds, with marketing accepted.
  if (topic.startsWith("checkouts/") && topic !== "checkouts/delete") {
    body.phone = "+14165559999";
    body.buyer_accepts_marketing = true;
    body.updated_at = new Date().toISOString();
  }
  return JSON.stringify(body);
}

let app;
const optedIn = freshPhone();
const optedOut = freshPhone();
const shopper = freshPhone();
beforeAll(async () => {
  app = await startApp();
  await installShop(app.kv, {
    delaySeconds: 3600,
    record: {
      shopify: { sealed_access_token: seal("shpat_victim"), scope: "read_orders,write_discounts" },
      installed_at: Date.now() - 60_000,
      currency: "USD",
      timezone: "America/Toronto",
    },
  });
  // The victim's consents: one opt-in from the storefront's checkout consent, one STOP.
  expect((await shopifyWebhook(app, "checkouts/update", checkoutOf(optedIn))).status).toBe(200);
  expect((await shopifyWebhook(app, "checkouts/update", checkoutOf(shopper))).status).toBe(200);
  expect((await whatsappWebhook(app, inbound(optedOut, text("STOP")))).status).toBe(200);
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.shopify.invalid).toEqual([]);
  await app.mf.dispose();
});

async function snapshot() {
  const token = sessionToken();
  const read = async (path) => {
    const res = await adminApi(app, path, { token });
    expect(res.status).toBe(200);
    return res.json();
  };
  return {
    playbook: await read("/api/playbook"),
    whatsapp: await read("/api/whatsapp"),
    consents: [await read(`/api/consents?phone=${encodeURIComponent(optedIn)}`), await read(`/api/consents?phone=${encodeURIComponent(optedOut)}`)],
    journeys: await read("/api/journeys?status=all"),
    record: await ledgerRecord(app),
    copy: JSON.parse(await app.kv.get(`shop:${SHOP}`)),
    numberIndex: await app.kv.get(`wa:${PHONE_NUMBER_ID}`),
    storedPlaybook: await app.kv.get(`playbook:${SHOP}`),
  };
}

test("forged and foreign webhooks, for every topic, leave the victim shop exactly as it was", async () => {
  const before = await snapshot();
  expect(before.journeys.journeys.length).toBe(2);
  expect(before.consents[1].status).toBe("opted_out");
  expect(before.record.shopify.sealed_access_token).toBeTruthy();

  const answers = [];
  for (const topic of TOPICS) {
    for (const [kind, forged] of [
      ["session token", fromSessionToken()],
      ["OAuth query", fromOAuthQuery()],
      ["app-proxy query", fromProxyQuery()],
    ]) {
      const res = await shopifyWebhook(app, topic, forged.body, { hmac: forged.hmac });
      answers.push([topic, kind, res.status]);
      expect(res.status, `${topic} signed as a ${kind}`).toBe(400);
      expect((await res.json()).error.code).toBeTruthy();
    }
    const shaped = fromProxyShapedAsJson(topic);
    const res = await shopifyWebhook(app, topic, shaped.body, { hmac: shaped.hmac });
    answers.push([topic, "app-proxy query shaped as JSON", res.status]);
    // It can only look like JSON behind a leading key that sorts first: not a webhook body.
    expect(res.status, `${topic} as a JSON-shaped app-proxy query`).toBe(400);
    const foreign = await shopifyWebhook(app, topic, genuineOfAnotherShop(topic));
    answers.push([topic, "genuine body of another shop", foreign.status]);
    expect(foreign.status).toBe(200);
  }
  // Anything the ledger's outbox would have done has had time to happen.
  await sleep(2500);
  const after = await snapshot();
  expect(after).toEqual(before);
  // The journeys still wait for their message, an hour after their activity.
  for (const journey of after.journeys.journeys) {
    expect(journey.status).toBe("active");
    expect(journey.steps.map((s) => s.state)).toEqual(["pending"]);
  }
  expect(app.graph.messages.filter((m) => m.type === "template")).toHaveLength(0);
  console.log(`forgery: ${answers.length} forged deliveries, statuses ${[...new Set(answers.map((a) => a[2]))].join(", ")}`);
}, 60_000);

test("a genuine uninstall still works, and one from before the latest install is ignored", async () => {
  const { installed_at: installedAt } = await ledgerRecord(app);
  expect(installedAt).toBeGreaterThan(0);
  const stale = await shopifyWebhook(app, "app/uninstalled", fixture("shopify/app-uninstalled.json"), {
    triggeredAt: new Date(installedAt - 60_000).toISOString(),
  });
  expect(stale.status).toBe(200);
  expect((await ledgerRecord(app)).shopify).toBeTruthy();
  expect(JSON.parse(await app.kv.get(`shop:${SHOP}`)).whatsapp).toBeTruthy();
  const current = await shopifyWebhook(app, "app/uninstalled", fixture("shopify/app-uninstalled.json"));
  expect(current.status).toBe(200);
  const record = await ledgerRecord(app);
  expect([record.shopify, record.whatsapp]).toEqual([null, null]);
  const copy = JSON.parse(await app.kv.get(`shop:${SHOP}`));
  expect([copy.shopify ?? null, copy.whatsapp ?? null]).toEqual([null, null]);
});

test("a body that is not a JSON object is refused with 400, whatever the topic", async () => {
  for (const body of ["[]", '"text"', "12", "null", "{not json", ""]) {
    for (const topic of ["checkouts/update", "orders/create", "app/uninstalled", "products/update"]) {
      const res = await shopifyWebhook(app, topic, body);
      expect(res.status, `${topic} ${JSON.stringify(body)}`).toBe(400);
    }
  }
});
