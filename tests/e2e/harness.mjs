// Starts the built Worker in workerd (Miniflare) with every outbound request answered by fakes
// that speak the real wire formats, and builds signed requests the way Shopify and Meta do.
import { createCipheriv, createHmac, randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import { Miniflare } from "miniflare";
import { createGraphFake } from "../fakes/graph.mjs";
import { createShopifyFake, signSessionToken } from "../fakes/shopify.mjs";

const root = new URL("../../", import.meta.url).pathname;

// Miniflare answers workerd's outbound requests (the fakes) through a Node HTTP server, which
// closes a keep-alive connection after 5 idle seconds; workerd may reuse it in that instant,
// and the send fails with "Network connection lost" before reaching the fake. The Worker
// rightly counts such a send as of unknown outcome and never repeats it, so in a burst a few
// carts went unsent. Idle connections are kept longer than any pause in a test.
const createServer = http.createServer;
http.createServer = (...args) => {
  const server = createServer(...args);
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  return server;
};
export const fixture = (path) => readFileSync(`${root}tests/fixtures/${path}`, "utf8");

export const SECRETS = {
  SHOPIFY_API_KEY: "test_api_key",
  SHOPIFY_API_SECRET: "test_client_secret",
  META_APP_SECRET: "test_app_secret",
  WHATSAPP_VERIFY_TOKEN: "test_verify_token",
  DATA_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
};
export const GRAPH_ORIGIN = "http://graph.test";
export const SHOPIFY_ORIGIN = "http://shopify.test";
export const SHOP = "maple-and-finch-demo.myshopify.com";
export const PHONE_NUMBER_ID = "318462950071245";
export const WHATSAPP_TOKEN = "EAAtest-whatsapp-token";
export const WABA_ID = "102290129340398";
/** The Admin API version the Worker calls and Shopify's webhooks are sent in. */
export const SHOPIFY_API_VERSION = "2026-10";

/** The admin page's files as wrangler.toml serves them: Miniflare puts its asset router in front. */
export const ASSETS = {
  directory: `${root}admin-ui/dist`,
  binding: "ASSETS",
  // As `run_worker_first` in wrangler.toml: the Worker answers first and fills in the page.
  routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true },
  assetConfig: { not_found_handling: "single-page-application" },
};

/**
 * Starts the built Worker in workerd with its fakes. `unexpected` collects outbound calls to
 * hosts nobody fakes. `persistRoot` keeps Durable Object and KV storage in files there, to
 * inspect their bytes. `app.stallSends = n` makes the next n Graph API sends reach the fake and
 * then never answer in time, as when the network or the isolate fails after the request left
 * (with a short `sendTimeoutMs`, such as 2000). Tests write KV directly to set a shop up, as no
 * deployed writer but the ledger does, so each event reads the settings afresh
 * (`settingsFreshMs` 0); `null` keeps the Worker's own default, as the benchmarks do.
 */
export async function startApp({ persistRoot, scriptPath = "build/index.js", settingsFreshMs = 0, sendTimeoutMs = null } = {}) {
  const graph = createGraphFake();
  graph.accounts.addNumber({ phoneNumberId: PHONE_NUMBER_ID, accessToken: WHATSAPP_TOKEN });
  const shopify = createShopifyFake({ apiKey: SECRETS.SHOPIFY_API_KEY, apiSecret: SECRETS.SHOPIFY_API_SECRET });
  const unexpected = [];
  const app = {};
  const mf = new Miniflare({
    rootPath: root,
    modulesRoot: root,
    modules: true,
    // `scriptPath` may wrap the built Worker (tests/bench/counting-worker.mjs counts its calls).
    scriptPath,
    modulesRules: [
      { type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true },
      { type: "ESModule", include: ["build/index.js"] },
    ],
    compatibilityDate: "2026-04-20",
    durableObjects: {
      CART: { className: "CartJourney", useSQLite: true },
      SHOP: { className: "ShopLedger", useSQLite: true },
    },
    kvNamespaces: ["APP_KV"],
    assets: ASSETS,
    bindings: {
      ...SECRETS,
      APP_URL: "https://cartback.test",
      SHOPIFY_API_VERSION: SHOPIFY_API_VERSION,
      GRAPH_API_VERSION: "v23.0",
      GRAPH_API_ORIGIN: GRAPH_ORIGIN,
      SHOPIFY_ADMIN_ORIGIN: SHOPIFY_ORIGIN,
      // The Worker's own 15 s unless a test stalls sends on purpose: on a busy machine the fake
      // may take seconds to answer, and a send timed out is never retried (its outcome is unknown).
      ...(sendTimeoutMs === null ? {} : { WHATSAPP_SEND_TIMEOUT_MS: String(sendTimeoutMs) }),
      ...(settingsFreshMs === null ? {} : { SETTINGS_FRESH_MS: String(settingsFreshMs) }),
    },
    ...(persistRoot ? { defaultPersistRoot: persistRoot, kvPersist: true, durableObjectsPersist: true } : {}),
    outboundService: async (req) => {
      if (req.url.startsWith(`${GRAPH_ORIGIN}/`)) {
        const res = await graph.handle(req);
        if (app.stallSends > 0 && /\/(marketing_)?messages$/.test(req.url)) {
          app.stallSends -= 1;
          await new Promise((r) => setTimeout(r, 4000));
        }
        return res;
      }
      if (req.url.startsWith(`${SHOPIFY_ORIGIN}/`)) return shopify.handle(req);
      unexpected.push(`${req.method} ${req.url}`);
      return new Response("no fake for this host", { status: 599 });
    },
  });
  const url = await mf.ready;
  const kv = await mf.getKVNamespace("APP_KV");
  Object.assign(app, { mf, url, kv, graph, shopify, unexpected, stallSends: 0 });
  return app;
}

/**
 * An App Bridge session token for `shop`, valid from `now` for `ttl` seconds. Override any claim
 * with `claims`, the signing key with `secret`, or the header with `header` (e.g. alg "none").
 */
export function sessionToken({ shop = SHOP, now = Date.now(), ttl = 60, secret = SECRETS.SHOPIFY_API_SECRET, header, claims = {} } = {}) {
  const seconds = Math.floor(now / 1000);
  const standard = {
    iss: `https://${shop}/admin`,
    dest: `https://${shop}`,
    aud: SECRETS.SHOPIFY_API_KEY,
    sub: "42",
    exp: seconds + ttl,
    nbf: seconds,
    iat: seconds,
    jti: randomUUID(),
    sid: randomBytes(8).toString("hex"),
  };
  return signSessionToken({ ...standard, ...claims }, secret, header);
}

/** Calls the admin API as the embedded page does: `Authorization: Bearer <session token>`. */
export function adminApi(app, path, { token, method = "GET", body, headers = {} } = {}) {
  return app.mf.dispatchFetch(`${app.url}${path.replace(/^\//, "")}`, {
    method,
    headers: {
      ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Seals a value as the Worker does at rest: `v1.` + base64url(nonce ‖ AES-256-GCM ciphertext ‖ tag). */
export function seal(plaintext, keyBase64 = SECRETS.DATA_ENCRYPTION_KEY) {
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(keyBase64, "base64"), nonce);
  const sealed = Buffer.concat([nonce, cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `v1.${sealed.toString("base64url")}`;
}

/**
 * Asks the shop's ledger directly, as the Worker does (`op` as in `LedgerRequest`): how tests
 * read what only the ledger holds, such as the shop's Shopify grant.
 */
export async function askLedger(app, shop, op, call) {
  const ns = await app.mf.getDurableObjectNamespace("SHOP");
  const res = await ns.get(ns.idFromName(shop)).fetch("https://do/ledger", {
    method: "POST",
    body: JSON.stringify({ op, call }),
  });
  if (res.status !== 200) throw new Error(`ledger ${op}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** The shop's record as its ledger holds it (the Shopify grant included, sealed). */
export const ledgerRecord = (app, shop = SHOP) => askLedger(app, shop, "shop_state", { shop });

/** Sealed once per run: a record written again by `installShop` names the same connection. */
const SEALED_WHATSAPP_TOKEN = seal(WHATSAPP_TOKEN);

/** Connects the WhatsApp number as the merchant does, through `PUT /api/whatsapp`. */
export async function connectWhatsApp(app, shop = SHOP) {
  const res = await adminApi(app, "/api/whatsapp", {
    token: sessionToken({ shop }),
    method: "PUT",
    body: { phone_number_id: PHONE_NUMBER_ID, waba_id: WABA_ID, access_token: WHATSAPP_TOKEN },
  });
  if (res.status !== 200) throw new Error(`connecting WhatsApp: ${res.status} ${await res.text()}`);
}

/**
 * A playbook step (one-step playbooks by default) and a connected WhatsApp number, as KV held
 * them before the shop's ledger took its record over: the ledger adopts this record the first
 * time it needs it, and from then on its own copy is the truth (change it through the API).
 */
export async function installShop(kv, { delaySeconds = 1, shop = SHOP, playbook = {}, record = {} } = {}) {
  await kv.put(
    `shop:${shop}`,
    JSON.stringify({
      name: "Maple & Finch",
      whatsapp: { phone_number_id: PHONE_NUMBER_ID, waba_id: WABA_ID, access_token: SEALED_WHATSAPP_TOKEN },
      ...record,
    }),
  );
  await kv.put(`wa:${PHONE_NUMBER_ID}`, shop);
  await kv.put(`waba:${WABA_ID}`, shop);
  await kv.put(
    `playbook:${shop}`,
    JSON.stringify({
      version: 1,
      consent_mode: "checkout_marketing_consent",
      steps: [
        {
          id: "reminder",
          delay_seconds: delaySeconds,
          template: { name: "cart_reminder", languages: ["en_US"] },
          body_params: ["first_name", "top_item_title", "cart_total"],
          button_url_param: "recovery_token",
        },
      ],
      quiet_hours: null,
      caps: null,
      ...playbook,
    }),
  );
}

/**
 * A fixture body as Shopify sends it in `SHOPIFY_API_VERSION`: since 2026-04 `checkouts/*` carry
 * no `id` and orders no `checkout_id` (the fixtures are 2025-10 bodies).
 */
export function currentPayload(path) {
  const body = JSON.parse(fixture(path));
  if (path.startsWith("shopify/checkouts-")) delete body.id;
  if (path === "shopify/orders-create.json") delete body.checkout_id;
  return body;
}

/** The update fixture as a new abandoned checkout: fresh token, last activity at `updatedAt`. */
export function checkoutPayload({ token = randomBytes(16).toString("hex"), updatedAt = new Date() } = {}) {
  const checkout = currentPayload("shopify/checkouts-update.json");
  checkout.token = token;
  checkout.updated_at = updatedAt.toISOString();
  return checkout;
}

export function orderPayload(checkoutToken) {
  const order = currentPayload("shopify/orders-create.json");
  order.checkout_token = checkoutToken;
  order.cart_token = randomBytes(16).toString("hex");
  return order;
}

export const signShopify = (body, secret = SECRETS.SHOPIFY_API_SECRET) =>
  createHmac("sha256", secret).update(body).digest("base64");

/** POSTs a Shopify webhook; `hmac` overrides the signature, `eventId` the event id. */
export function shopifyWebhook(app, topic, payload, { hmac, eventId = randomUUID(), shop = SHOP, triggeredAt, apiVersion = SHOPIFY_API_VERSION } = {}) {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  return app.mf.dispatchFetch(`${app.url}webhooks/shopify`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "X-Shopify-Topic": topic,
      "X-Shopify-Shop-Domain": shop,
      "X-Shopify-API-Version": apiVersion,
      "X-Shopify-Event-Id": eventId,
      "X-Shopify-Triggered-At": triggeredAt ?? new Date().toISOString(),
      "X-Shopify-Hmac-Sha256": hmac ?? signShopify(body),
    },
    body,
  });
}

/** Messages the fake Graph API accepted for one checkout (found by its callback data). */
export const messagesFor = (graph, token) =>
  graph.messages.filter((m) => m.body.biz_opaque_callback_data?.includes(`;checkout=${token};`));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
