#!/usr/bin/env node
// Local stand-in for Shopify during `make dev`, on two ports:
// - the store port: the Admin API the Worker calls (its SHOPIFY_ADMIN_ORIGIN points here: token
//   exchange and refresh, discount codes), a stand-in for Shopify admin at /admin framing the
//   real admin page, and a store at /store that abandons checkouts on demand and completes
//   orders, each through the real signed webhooks;
// - the app port: the Worker itself, as Shopify's CDN and admin would show it to the admin
//   page. Requests pass through unchanged, except that Shopify's CDN scripts (App Bridge,
//   Polaris) are served by the local stand-ins in scripts/shopify-cdn, whose App Bridge hands out
//   real session tokens for the demo shop, and the page's frame-ancestors policy names the
//   local admin instead of admin.shopify.com.
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createShopifyFake, signSessionToken } from "../tests/fakes/shopify.mjs";
import { devVars } from "./dev-vars.mjs";

const HOST = "127.0.0.1";
const PORT = Number(process.env.SHOPIFY_SIM_PORT || 8798);
const APP_PORT = Number(process.env.APP_PORT || PORT - 1);
const WORKER_URL = process.env.WORKER_URL || "http://127.0.0.1:8787";
const PHONES_URL = process.env.PHONES_URL || "http://127.0.0.1:8799/phones";
const DEMO_SHOP = "cartback-demo.myshopify.com";
// The webhooks' version, as shopify.app.toml subscribes them.
const API_VERSION = "2026-10";
const STORE = `http://${HOST}:${PORT}`;
const APP = `http://${HOST}:${APP_PORT}`;
const CDN = "https://cdn.shopify.com/shopifycloud/";
const LOCAL_CDN = "/__cdn/shopifycloud/";
const STANDINS = new URL("./shopify-cdn/", import.meta.url);
const FIXTURE = new URL("../tests/fixtures/shopify/checkouts-update.json", import.meta.url);

const vars = devVars();
const shopify = createShopifyFake({ apiKey: vars.SHOPIFY_API_KEY, apiSecret: vars.SHOPIFY_API_SECRET });
shopify.setShopName(DEMO_SHOP, "Maple & Finch (demo)");

const readBody = async (req) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
};
const headersOf = (req) =>
  Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]));
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const html = (res, body, status = 200) => res.writeHead(status, { "Content-Type": "text/html; charset=utf-8" }).end(body);

/** A session token for the demo shop, as App Bridge gets one from Shopify admin. */
function sessionToken(shop = DEMO_SHOP) {
  const now = Math.floor(Date.now() / 1000);
  return signSessionToken(
    { iss: `https://${shop}/admin`, dest: `https://${shop}`, aud: vars.SHOPIFY_API_KEY, sub: "1", exp: now + 60, nbf: now - 1, iat: now - 1, jti: randomUUID(), sid: "make-dev" },
    vars.SHOPIFY_API_SECRET,
  );
}

/** Sends a Shopify webhook to the Worker, signed as Shopify signs it. */
async function webhook(topic, payload) {
  const body = JSON.stringify(payload);
  const res = await fetch(`${WORKER_URL}/webhooks/shopify`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "X-Shopify-Topic": topic,
      "X-Shopify-Shop-Domain": DEMO_SHOP,
      "X-Shopify-API-Version": API_VERSION,
      "X-Shopify-Event-Id": randomUUID(),
      "X-Shopify-Triggered-At": new Date().toISOString(),
      "X-Shopify-Hmac-Sha256": createHmac("sha256", vars.SHOPIFY_API_SECRET).update(body).digest("base64"),
    },
    body,
  });
  return `${res.status} ${await res.text()}`;
}

// Shoppers the store can make: a country, its phone numbers and where they live.
const COUNTRIES = {
  PT: { name: "Portugal", dial: "351", local: () => `91${digits(7)}`, city: "Lisboa", language: "pt-PT", first: "Inês", last: "Ferreira" },
  BR: { name: "Brasil", dial: "55", local: () => `119${digits(8)}`, city: "São Paulo", language: "pt-BR", first: "Ana", last: "Souza" },
  ES: { name: "España", dial: "34", local: () => `6${digits(8)}`, city: "Madrid", language: "es", first: "Lucía", last: "García" },
  MX: { name: "México", dial: "52", local: () => `155${digits(7)}`, city: "Ciudad de México", language: "es", first: "Sofía", last: "Hernández" },
  CA: { name: "Canada", dial: "1", local: () => `416555${digits(4)}`, city: "Toronto", language: "en", first: "Emily", last: "Carter" },
  GB: { name: "United Kingdom", dial: "44", local: () => `7700900${digits(3)}`, city: "London", language: "en-GB", first: "Oliver", last: "Smith" },
};
function digits(n) {
  let s = "";
  while (s.length < n) s += String(randomBytes(1)[0] % 10);
  return s;
}

const checkouts = new Map(); // token -> { checkout, phone, status: "abandoned" | "ordered", order? }

function abandon({ country = "PT", language, value = "89.00", name }) {
  const c = COUNTRIES[country] ?? COUNTRIES.PT;
  const phone = `+${c.dial}${c.local()}`;
  const checkout = JSON.parse(readFileSync(FIXTURE, "utf8"));
  const token = randomBytes(16).toString("hex");
  const total = Math.max(1, Number(value) || 89).toFixed(2);
  const [first, last] = name?.trim() ? [name.trim().split(/\s+/)[0], name.trim().split(/\s+/).slice(1).join(" ")] : [c.first, c.last];
  delete checkout.id; // Admin API 2026-04 and later name a checkout by its token only
  checkout.token = token;
  checkout.cart_token = randomBytes(16).toString("hex");
  checkout.created_at = checkout.updated_at = new Date().toISOString();
  checkout.customer_locale = language || c.language;
  checkout.phone = checkout.sms_marketing_phone = phone;
  checkout.buyer_accepts_marketing = true;
  checkout.buyer_accepts_sms_marketing = true;
  // One line whose price is the cart value the demo asked for.
  checkout.line_items = checkout.line_items.slice(0, 1).map((l) => ({ ...l, quantity: 1, price: total, line_price: total }));
  checkout.total_line_items_price = checkout.subtotal_price = checkout.total_price = total;
  checkout.total_tax = "0.00";
  checkout.total_discounts = "0.00";
  for (const address of [checkout.shipping_address, checkout.billing_address]) {
    if (!address) continue;
    Object.assign(address, { first_name: first, last_name: last, name: `${first} ${last}`.trim(), phone, city: c.city, country: c.name, country_code: country, province: null, province_code: null });
  }
  if (checkout.customer) Object.assign(checkout.customer, { first_name: first, last_name: last, phone: null });
  checkout.abandoned_checkout_url = `https://${DEMO_SHOP}/68417253091/checkouts/${token}/recover?key=${randomBytes(16).toString("hex")}`;
  checkouts.set(token, { checkout, phone, status: "abandoned" });
  return checkouts.get(token);
}

async function order(token) {
  const entry = checkouts.get(token);
  if (!entry || entry.status === "ordered") return entry;
  const { checkout } = entry;
  const number = 1000 + [...checkouts.values()].filter((e) => e.order).length + 1;
  const payload = {
    id: Number(`63547829${digits(5)}`),
    name: `#${number}`,
    order_number: number,
    checkout_token: checkout.token,
    cart_token: checkout.cart_token,
    currency: checkout.currency,
    presentment_currency: checkout.presentment_currency,
    total_price: checkout.total_price,
    subtotal_price: checkout.subtotal_price,
    created_at: new Date().toISOString(),
    phone: entry.phone,
    line_items: checkout.line_items,
  };
  entry.status = "ordered";
  entry.order = payload;
  entry.answer = await webhook("orders/create", payload);
  console.log(`store: order ${payload.name} for checkout ${token.slice(0, 8)}…: ${entry.answer}`);
  return entry;
}

const STYLE = `
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, sans-serif; color: #303030; background: #f1f1f1; }
  a { color: #005bd3; }
  :focus-visible { outline: 2px solid #005bd3; outline-offset: 2px; }
  main { max-width: 860px; margin: 0 auto; padding: 20px; }
  h1 { font-size: 22px; margin: 0 0 16px; }
  h2 { font-size: 16px; margin: 0 0 12px; }
  .card { background: #fff; border-radius: 12px; padding: 16px; margin-bottom: 16px; box-shadow: 0 0 0 1px rgba(0,0,0,.06); }
  form.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; align-items: end; }
  label { display: grid; gap: 4px; }
  input, select { font: inherit; padding: 7px 10px; border: 1px solid #8a8a8a; border-radius: 8px; background: #fff; }
  button { font: 600 14px/1 inherit; padding: 9px 14px; border-radius: 8px; border: 0; background: #303030; color: #fff; cursor: pointer; }
  button.secondary { background: #fff; color: #303030; border: 1px solid #8a8a8a; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 8px 6px; border-bottom: 1px solid #ebebeb; }
  .muted { color: #616161; }
  .ok { color: #0c5132; font-weight: 600; }`;

function adminPage(query) {
  const locale = query.get("locale") || "en";
  const host = Buffer.from(`admin.shopify.com/store/${DEMO_SHOP.split(".")[0]}`).toString("base64url");
  const app = `${APP}/?${new URLSearchParams({ embedded: "1", shop: DEMO_SHOP, host, locale })}`;
  const option = (v, label) => `<option value="${v}"${v === locale ? " selected" : ""}>${label}</option>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<title>Shopify admin (local stand-in) · cartback</title><style>${STYLE}
  body { display: grid; grid-template-rows: 48px 1fr; height: 100vh; }
  header { background: #1a1a1a; color: #fff; display: flex; align-items: center; gap: 16px; padding: 0 16px; }
  header strong { flex: 1; }
  header a { color: #fff; }
  header select { padding: 4px 8px; }
  header label { display: flex; align-items: center; gap: 8px; }
  .shell { display: grid; grid-template-columns: 220px 1fr; min-height: 0; }
  nav { background: #ebebeb; padding: 12px; display: grid; align-content: start; gap: 6px; }
  nav a { padding: 6px 10px; border-radius: 8px; color: #303030; text-decoration: none; }
  nav a.current { background: #fff; font-weight: 600; }
  iframe { width: 100%; height: 100%; border: 0; background: #f1f1f1; }
  @media (max-width: 700px) { .shell { grid-template-columns: 1fr; grid-template-rows: auto 1fr; } nav { grid-auto-flow: column; overflow-x: auto; } }
</style></head><body>
<header><strong>Maple &amp; Finch (demo) · Shopify admin, local stand-in</strong>
<form method="get" action="/admin"><label>Admin language <select name="locale" onchange="this.form.submit()">${option("en", "English")}${option("pt-BR", "Português (Brasil)")}${option("es", "Español")}</select></label></form></header>
<div class="shell"><nav aria-label="Admin"><a href="/store" target="_blank">Online store ↗</a><a href="${esc(PHONES_URL)}" target="_blank">Shoppers' phones (WhatsApp) ↗</a><a class="current" href="/admin" aria-current="page">Apps › cartback</a></nav>
<iframe title="cartback" src="${esc(app)}"></iframe></div></body></html>`;
}

function storePage(flash = "") {
  const rows = [...checkouts.entries()]
    .reverse()
    .map(([token, e]) => {
      const c = e.checkout;
      return `<tr><td>${esc(c.shipping_address?.name)}<br><span class="muted">${esc(e.phone)} · ${esc(c.customer_locale)}</span></td><td>${esc(c.total_price)} ${esc(c.currency)}</td>
<td>${e.status === "ordered" ? `<span class="ok">Ordered ${esc(e.order.name)}</span>` : `<form method="post" action="/store/order"><input type="hidden" name="token" value="${token}"><button class="secondary">Complete the order</button></form>`}</td></tr>`;
    })
    .join("");
  const countries = Object.entries(COUNTRIES).map(([code, c]) => `<option value="${code}">${esc(c.name)} (+${c.dial})</option>`).join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>Maple &amp; Finch · demo store</title><style>${STYLE}</style></head><body><main>
<h1>Maple &amp; Finch · demo store</h1>
${flash ? `<p class="card" role="status">${flash}</p>` : ""}
<section class="card" aria-labelledby="abandon-h"><h2 id="abandon-h">A shopper leaves a checkout</h2>
<form class="grid" method="post" action="/store/abandon">
<label>Shopper's country <select name="country">${countries}</select></label>
<label>Language <select name="language"><option value="">The country's</option><option value="en">English</option><option value="pt-BR">Português (Brasil)</option><option value="es">Español</option></select></label>
<label>Cart value (USD) <input name="value" type="number" min="1" step="0.01" value="89.00" inputmode="decimal"></label>
<label>Name <input name="name" autocomplete="off" placeholder="Ana Souza"></label>
<button>Abandon the checkout</button></form>
<p class="muted">The checkout reaches cartback as Shopify's signed <code>checkouts/update</code> webhook, with the shopper's checkout marketing consent. Carts of 150 or more also get the offer step.</p></section>
<section class="card" aria-labelledby="list-h"><h2 id="list-h">Checkouts</h2>
${rows ? `<table><thead><tr><th scope="col">Shopper</th><th scope="col">Cart</th><th scope="col">Order</th></tr></thead><tbody>${rows}</tbody></table>` : `<p class="muted">None yet.</p>`}</section>
<p><a href="/admin">Shopify admin (cartback)</a> · <a href="${esc(PHONES_URL)}">Shoppers' phones</a></p>
</main></body></html>`;
}

function checkoutPage(token, query) {
  const e = checkouts.get(token);
  if (!e) return null;
  const c = e.checkout;
  const discount = query.get("discount") || c.discount_codes?.[0]?.code;
  const line = c.line_items[0];
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>Checkout · Maple &amp; Finch</title><style>${STYLE}</style></head><body><main>
<h1>Checkout · Maple &amp; Finch</h1><section class="card" aria-labelledby="cart-h"><h2 id="cart-h">Your cart</h2>
<table><tbody><tr><td>${esc(line?.title ?? line?.presentment_title)} <span class="muted">${esc(line?.variant_title ?? "")}</span></td><td>${esc(c.total_price)} ${esc(c.currency)}</td></tr></tbody></table>
${discount ? `<p>Discount code <strong>${esc(discount)}</strong> applied at payment.</p>` : ""}
<p class="muted">Shipping to ${esc(c.shipping_address?.name)}, ${esc(c.shipping_address?.city)} · ${esc(e.phone)}</p>
${e.status === "ordered" ? `<p class="ok" role="status">Thank you! Order ${esc(e.order.name)} is placed.</p>` : `<form method="post" action="/store/order"><input type="hidden" name="token" value="${token}"><input type="hidden" name="back" value="checkout"><button>Pay now</button></form>`}
</section><p><a href="/store">Back to the store</a></p></main></body></html>`;
}

let printed = 0;
const store = createServer(async (req, res) => {
  try {
    const url = new URL(req.url, STORE);
    const body = await readBody(req);
    if (req.method === "GET" && (url.pathname === "/" || url.pathname === "/admin")) {
      if (url.pathname === "/") return res.writeHead(302, { Location: "/admin" }).end();
      return html(res, adminPage(url.searchParams));
    }
    if (req.method === "GET" && url.pathname === "/store") return html(res, storePage());
    if (req.method === "POST" && url.pathname === "/store/abandon") {
      const form = new URLSearchParams(body.toString());
      const entry = abandon(Object.fromEntries(form));
      const answer = await webhook("checkouts/update", entry.checkout);
      console.log(`store: ${entry.phone} abandoned checkout ${entry.checkout.token.slice(0, 8)}… (${entry.checkout.total_price}): ${answer}`);
      return html(res, storePage(`Checkout abandoned by ${esc(entry.phone)}: cartback answered ${esc(answer)}. Watch the shopper's phone.`));
    }
    if (req.method === "POST" && url.pathname === "/store/order") {
      const form = new URLSearchParams(body.toString());
      const entry = await order(form.get("token"));
      if (form.get("back") === "checkout" && entry) return res.writeHead(303, { Location: `/store/checkouts/${form.get("token")}/recover` }).end();
      return html(res, storePage(entry ? `Order placed: cartback answered ${esc(entry.answer)}.` : "No such checkout."));
    }
    // The recovery link lands here (the WhatsApp simulator maps the shop's own host to it).
    const recover = url.pathname.match(/^\/store\/checkouts\/([0-9a-f]+)\/recover$/);
    if (req.method === "GET" && recover) {
      const page = checkoutPage(recover[1], url.searchParams);
      return page ? html(res, page) : html(res, "<!doctype html><title>Not found</title><p>No such checkout.</p>", 404);
    }
    // Everything else is the Admin API the Worker calls.
    const request = new Request(`${STORE}${req.url}`, {
      method: req.method,
      headers: headersOf(req),
      body: ["GET", "HEAD"].includes(req.method) ? undefined : body,
    });
    const response = await shopify.handle(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
    for (const d of shopify.discounts.slice(printed)) console.log(`Shopify: discount code ${d.code} created for ${d.shop}`);
    printed = shopify.discounts.length;
  } catch (error) {
    console.error(`shopify-sim: ${error.stack ?? error}`);
    if (!res.headersSent) res.writeHead(500).end();
  }
});

// The admin page as Shopify admin loads it: the Worker, with Shopify's CDN served locally.
const app = createServer(async (req, res) => {
  try {
    const url = new URL(req.url, APP);
    if (url.pathname.startsWith(LOCAL_CDN)) {
      const name = url.pathname.slice(LOCAL_CDN.length);
      if (name === "session-token") {
        const count = Math.min(16, Math.max(1, Number(url.searchParams.get("count")) || 1));
        const tokens = Array.from({ length: count }, () => sessionToken());
        return res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" }).end(JSON.stringify({ tokens }));
      }
      if (name === "app-bridge.js" || name === "polaris.js") {
        return res.writeHead(200, { "Content-Type": "text/javascript", "Cache-Control": "no-store" }).end(readFileSync(new URL(name, STANDINS)));
      }
      return res.writeHead(404).end();
    }
    const body = await readBody(req);
    const headers = headersOf(req).filter(([k]) => !["host", "connection", "accept-encoding"].includes(k));
    const answer = await fetch(`${WORKER_URL}${req.url}`, {
      method: req.method,
      headers,
      body: ["GET", "HEAD"].includes(req.method) ? undefined : body,
      redirect: "manual",
    });
    const out = Object.fromEntries([...answer.headers].filter(([k]) => !["content-encoding", "content-length", "transfer-encoding", "connection"].includes(k)));
    let payload = Buffer.from(await answer.arrayBuffer());
    if ((answer.headers.get("content-type") ?? "").startsWith("text/html")) {
      payload = Buffer.from(payload.toString("utf8").replaceAll(CDN, LOCAL_CDN));
      if (out["content-security-policy"]) out["content-security-policy"] = `frame-ancestors ${STORE};`;
    }
    res.writeHead(answer.status, out).end(payload);
  } catch (error) {
    console.error(`shopify-sim (app): ${error.stack ?? error}`);
    if (!res.headersSent) res.writeHead(502, { "Content-Type": "text/plain" }).end(`the Worker did not answer: ${error.message}`);
  }
});

store.listen(PORT, HOST, () => console.log(`Shopify store simulator on ${STORE} (Admin API, /admin, /store)`));
app.listen(APP_PORT, HOST, () => console.log(`cartback as Shopify admin frames it on ${APP}`));
