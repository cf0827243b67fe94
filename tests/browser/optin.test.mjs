// The storefront opt-in widget in headless Chromium: a cart page rendered from the theme app
// extension's own Liquid, a stand-in for Shopify's app proxy that signs each request on to the
// real Worker in workerd, and a shopper who types, ticks and submits.
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from "vitest";
import { PHONE_NUMBER_ID, SECRETS, SHOP, WHATSAPP_TOKEN, installShop, seal, startApp } from "../e2e/harness.mjs";
import { inbound, text, whatsappWebhook } from "../e2e/meta.mjs";
import { launch } from "./admin-harness.mjs";

const EXTENSION = new URL("../../extensions/cartback-optin/", import.meta.url).pathname;
const LIQUID = readFileSync(`${EXTENSION}blocks/optin.liquid`, "utf8");
const SCHEMA = JSON.parse(LIQUID.match(/\{%\s*schema\s*%\}([\s\S]*?)\{%\s*endschema\s*%\}/)[1]);
const DEFAULTS = Object.fromEntries(SCHEMA.settings.filter((s) => s.id).map((s) => [s.id, s.default]));
const PROXY_PATH = "/apps/cartback/optin";
const CART_TOKEN = "8b1b416090082bf3b0803f06056a7b90";

/**
 * Renders the app embed as Shopify would, for the handful of Liquid constructs the block uses.
 * Anything else left in the output fails the render, so the block cannot drift from this test.
 */
function renderOptin({ template = "cart", settings = {}, country = "PT" } = {}) {
  const vars = {
    "template.name": template,
    "routes.cart_url": "/cart",
    "localization.country.iso_code": country,
  };
  for (const [id, value] of Object.entries({ ...DEFAULTS, ...settings })) vars[`block.settings.${id}`] = value;
  const lookup = (name) => {
    if (!(name in vars)) throw new Error(`unknown Liquid variable ${name}`);
    return vars[name];
  };
  const operand = (token) => (/^'.*'$/.test(token) ? token.slice(1, -1) : lookup(token));
  const condition = (expr) =>
    expr.split(/\s+and\s+/).every((part) => {
      const [, left, op, right] = part.trim().match(/^(\S+)\s*(==|!=)\s*(\S+)$/);
      const value = operand(left);
      const equal = right === "blank" ? String(value).trim() === "" : value === operand(right);
      return op === "==" ? equal : !equal;
    });
  const filters = {
    escape: (v) =>
      String(v).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]),
    asset_url: (v) => `/assets/${v}`,
    stylesheet_tag: (v) => `<link href="${v}" rel="stylesheet" type="text/css" media="all" />`,
  };
  const output = (expr) => {
    const [head, ...rest] = expr.split("|").map((s) => s.trim());
    return rest.reduce((value, name) => {
      if (!filters[name]) throw new Error(`unknown Liquid filter ${name}`);
      return filters[name](value);
    }, operand(head));
  };
  const html = LIQUID.replace(/\{%\s*schema\s*%\}[\s\S]*?\{%\s*endschema\s*%\}/, "")
    .replace(/\{%-?\s*comment\s*-?%\}[\s\S]*?\{%-?\s*endcomment\s*-?%\}/g, "")
    .replace(/\{%-?\s*if (.+?)\s*-?%\}([\s\S]*?)\{%-?\s*endif\s*-?%\}/g, (_, cond, inner) =>
      condition(cond) ? inner : "",
    )
    .replace(/\{\{-?\s*(.+?)\s*-?\}\}/g, (_, expr) => output(expr));
  if (/\{[{%]/.test(html)) throw new Error(`Liquid left unrendered:\n${html}`);
  return html.trim();
}

/** Shopify's app-proxy signature: sorted `key=value` pairs, repeated keys comma-joined, no separator. */
function signProxy(pairs, secret = SECRETS.SHOPIFY_API_SECRET) {
  const grouped = new Map();
  for (const [key, value] of pairs) {
    if (key !== "signature") grouped.set(key, [...(grouped.get(key) ?? []), value]);
  }
  const message = [...grouped.keys()]
    .sort()
    .map((key) => `${key}=${grouped.get(key).join(",")}`)
    .join("");
  return createHmac("sha256", secret).update(message).digest("hex");
}

/** An App Bridge session token for the admin API, as the embedded page would send it. */
function sessionToken(shop = SHOP) {
  const now = Math.floor(Date.now() / 1000);
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${part({ alg: "HS256", typ: "JWT" })}.${part({
    iss: `https://${shop}/admin`,
    dest: `https://${shop}`,
    aud: SECRETS.SHOPIFY_API_KEY,
    sub: "42",
    exp: now + 60,
    nbf: now - 1,
    iat: now - 1,
    jti: randomUUID(),
    sid: "browser-test",
  })}`;
  return `${unsigned}.${createHmac("sha256", SECRETS.SHOPIFY_API_SECRET).update(unsigned).digest("base64url")}`;
}

const readBody = (req) =>
  new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });

/**
 * The storefront: the cart page, `/cart.js`, the extension's assets, and the app proxy, which
 * forwards to the Worker's `/proxy/optin` with the query Shopify adds. `?endpoint=` on the cart
 * page points the widget at `/held/optin` instead, whose answers the test releases by hand.
 */
function startStorefront(app) {
  const proxied = [];
  const held = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://storefront.test");
    try {
      if (req.method === "GET" && url.pathname === "/cart") {
        let widget = renderOptin();
        const endpoint = url.searchParams.get("endpoint");
        if (endpoint) widget = widget.replace(`data-endpoint="${PROXY_PATH}"`, `data-endpoint="${endpoint}"`);
        res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Your cart</title></head>
<body><main><h1>Your cart</h1><a href="/collections/all">Continue shopping</a>${widget}</main></body></html>`);
      } else if (req.method === "GET" && url.pathname === "/cart.js") {
        res.writeHead(200, { "Content-Type": "application/json" }).end(
          JSON.stringify({ token: CART_TOKEN, item_count: 1, currency: "EUR" }),
        );
      } else if (req.method === "GET" && /^\/assets\/optin\.(js|css)$/.test(url.pathname)) {
        const type = url.pathname.endsWith(".js") ? "text/javascript" : "text/css";
        res.writeHead(200, { "Content-Type": type }).end(readFileSync(`${EXTENSION}${url.pathname.slice(1)}`));
      } else if (req.method === "POST" && url.pathname === PROXY_PATH) {
        const body = await readBody(req);
        const params = [
          ...url.searchParams,
          ["shop", SHOP],
          ["logged_in_customer_id", ""],
          ["path_prefix", "/apps/cartback"],
          ["timestamp", String(Math.floor(Date.now() / 1000))],
        ];
        const query = new URLSearchParams([...params, ["signature", signProxy(params)]]);
        const answer = await app.mf.dispatchFetch(`${app.url}proxy/optin?${query}`, {
          method: "POST",
          headers: { "Content-Type": req.headers["content-type"] ?? "application/octet-stream" },
          body,
        });
        const text = await answer.text();
        proxied.push({ body: JSON.parse(body), status: answer.status, answer: text });
        res.writeHead(answer.status, { "Content-Type": answer.headers.get("Content-Type") ?? "text/plain" }).end(text);
      } else if (req.method === "POST" && url.pathname === "/held/optin") {
        const body = JSON.parse(await readBody(req));
        held.push({ body, answer: (status) => res.writeHead(status, { "Content-Type": "application/json" }).end("{}") });
      } else {
        res.writeHead(404).end();
      }
    } catch (e) {
      res.writeHead(502, { "Content-Type": "text/plain" }).end(String(e));
    }
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ origin: `http://127.0.0.1:${server.address().port}`, server, proxied, held }),
    ),
  );
}

let app;
let storefront;
let browser;
let page;
let posts;

beforeAll(async () => {
  app = await startApp();
  await installShop(app.kv);
  storefront = await startStorefront(app);
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (storefront ? storefront.server.close(resolve) : resolve()));
  await app?.mf.dispose();
  expect(app?.unexpected).toEqual([]);
});

beforeEach(async () => {
  page = await (await browser.newContext()).newPage();
  posts = [];
  page.on("request", (r) => r.method() === "POST" && posts.push(r.url()));
});

afterEach(async () => {
  await page.context().close();
});

const widget = () => ({
  phone: page.getByLabel(DEFAULTS.phone_label),
  consent: page.getByRole("checkbox", { name: DEFAULTS.consent_label }),
  submit: page.getByRole("button", { name: DEFAULTS.button_label }),
  status: page.getByRole("status"),
});

const openCart = (query = "") => page.goto(`${storefront.origin}/cart${query}`);

test("the proxy signer matches Shopify's documented vector", () => {
  const query = new URLSearchParams(
    "extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555",
  );
  expect(signProxy([...query], "hush")).toBe("4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb");
});

test("the embed renders on the cart page only, and not without the merchant's wording", () => {
  expect(renderOptin()).toContain('type="checkbox"');
  expect(renderOptin({ template: "product" })).toBe("");
  expect(renderOptin({ settings: { consent_label: "  " } })).toBe("");
  expect(renderOptin({ settings: { consent_label: `<b>"x"</b>` } })).toContain("&lt;b&gt;&quot;x&quot;&lt;/b&gt;");
});

test("a shopper opts in and the Worker records their consent with the wording they saw", async () => {
  await openCart();
  const { phone, consent, submit, status } = widget();
  await expect.poll(() => phone.getAttribute("type")).toBe("tel");
  expect(await phone.getAttribute("autocomplete")).toBe("tel");
  expect(await phone.getAttribute("inputmode")).toBe("tel");
  expect(await status.getAttribute("aria-live")).toBe("polite");

  await phone.fill("+351 912 345 678");
  await consent.check();
  await submit.click();
  await expect.poll(() => status.textContent()).toBe(DEFAULTS.success_message);

  expect(storefront.proxied.at(-1)).toMatchObject({
    status: 200,
    body: {
      phone: "+351 912 345 678",
      consent: true,
      wording: DEFAULTS.consent_label,
      cart_token: CART_TOKEN,
      country: "PT",
    },
  });
  expect(JSON.parse(storefront.proxied.at(-1).answer)).toEqual({ status: "opted_in" });

  const res = await app.mf.dispatchFetch(`${app.url}api/consents?phone=${encodeURIComponent("+351912345678")}`, {
    headers: { Authorization: `Bearer ${sessionToken()}` },
  });
  expect(res.status).toBe(200);
  const ledger = await res.json();
  expect(ledger).toMatchObject({ phone: "+351912345678", status: "opted_in" });
  expect(ledger.records).toEqual([
    expect.objectContaining({ kind: "opt_in", source: "storefront_widget", wording: DEFAULTS.consent_label }),
  ]);
});

test("without the box ticked nothing is sent", async () => {
  await openCart();
  const { phone, consent, submit, status } = widget();
  await phone.fill("+351 912 345 679");
  await submit.click();

  await expect.poll(() => status.textContent()).toBe(DEFAULTS.consent_missing_message);
  expect(await consent.getAttribute("aria-invalid")).toBe("true");
  expect(await consent.evaluate((el) => el === document.activeElement)).toBe(true);
  expect(posts).toEqual([]);
});

test("an unusable phone number shows the phone error", async () => {
  await openCart();
  const { phone, consent, submit, status } = widget();
  await phone.fill("12345");
  await consent.check();
  await submit.click();

  await expect.poll(() => status.textContent()).toBe(DEFAULTS.phone_error_message);
  expect(storefront.proxied.at(-1)).toMatchObject({ status: 400, body: { phone: "12345" } });
  expect(await phone.getAttribute("aria-invalid")).toBe("true");
  expect(await phone.evaluate((el) => el === document.activeElement)).toBe(true);
});

test("while sending, the button is disabled and a second press sends nothing; 429 says wait", async () => {
  await openCart("?endpoint=/held/optin");
  const { phone, consent, submit, status } = widget();
  await phone.fill("+351 912 345 680");
  await consent.check();
  await submit.click();

  await expect.poll(() => storefront.held.length).toBe(1);
  expect(await submit.isDisabled()).toBe(true);
  await submit.click({ force: true });
  await page.keyboard.press("Enter");
  storefront.held.shift().answer(429);

  await expect.poll(() => status.textContent()).toBe(DEFAULTS.rate_limited_message);
  expect(await submit.isEnabled()).toBe(true);
  expect(storefront.held).toEqual([]);
  expect(posts).toHaveLength(1);
});

test("the widget works with the keyboard alone", async () => {
  await openCart();
  const { phone, consent, submit, status } = widget();
  await expect.poll(() => phone.isVisible()).toBe(true);
  const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);

  await page.keyboard.press("Tab");
  expect(await focused()).toBe("A");
  await page.keyboard.press("Tab");
  expect(await focused()).toBe("cartback-optin-phone");
  await page.keyboard.type("+351 912 345 681");
  await page.keyboard.press("Tab");
  expect(await focused()).toBe("cartback-optin-consent");
  await page.keyboard.press("Space");
  expect(await consent.isChecked()).toBe(true);
  await page.keyboard.press("Tab");
  expect(await submit.evaluate((el) => el === document.activeElement)).toBe(true);
  await page.keyboard.press("Enter");

  await expect.poll(() => status.textContent()).toBe(DEFAULTS.success_message);
  expect(storefront.proxied.at(-1).body).toMatchObject({ phone: "+351 912 345 681", consent: true });
});

test("a number that opted out from WhatsApp is offered the confirmation there, and only that lifts it", async () => {
  await installShop(app.kv, {
    record: {
      whatsapp: { phone_number_id: PHONE_NUMBER_ID, waba_id: "102290129340398", access_token: seal(WHATSAPP_TOKEN), display_number: "+1 628-555-0107" },
    },
  });
  const number = "+351912345670";
  expect((await whatsappWebhook(app, inbound(number, text("STOP")))).status).toBe(200);
  await openCart();
  const { phone, consent, submit, status } = widget();
  await phone.fill(number);
  await consent.check();
  await submit.click();
  await expect.poll(() => status.textContent()).toBe(DEFAULTS.confirm_message);
  const link = page.getByRole("link", { name: DEFAULTS.confirm_button_label });
  expect(await link.getAttribute("href")).toBe("https://wa.me/16285550107?text=START");
  await page.screenshot({ path: "test-artifacts/optin/confirm-on-whatsapp.png", fullPage: true });
  const ledger = async () =>
    (await app.mf.dispatchFetch(`${app.url}api/consents?phone=${encodeURIComponent(number)}`, {
      headers: { Authorization: `Bearer ${sessionToken()}` },
    })).json();
  expect((await ledger()).status).toBe("opted_out");
  // The prefilled message, sent from the phone (a second later: WhatsApp stamps to the second).
  await new Promise((r) => setTimeout(r, 1100));
  expect((await whatsappWebhook(app, inbound(number, text("START")))).status).toBe(200);
  await expect.poll(async () => (await ledger()).status).toBe("opted_in");
});
