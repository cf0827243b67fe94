// A storefront for the opt-in widget: a small Dawn-like theme (header, cart drawer re-rendered
// through the Section Rendering API, product form, cart page) in the storefront's language, the
// extension's own Liquid rendered into every page, the cart endpoints a theme calls, and a
// stand-in for Shopify's app proxy that signs each request on to the real Worker.
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { Liquid } from "liquidjs";
import { SECRETS, SHOP } from "../e2e/harness.mjs";

const EXTENSION = new URL("../../extensions/cartback-optin/", import.meta.url).pathname;
const LIQUID = readFileSync(`${EXTENSION}blocks/optin.liquid`, "utf8");
const SCHEMA_TAG = /\{%-?\s*schema\s*-?%\}([\s\S]*?)\{%-?\s*endschema\s*-?%\}/;
export const SCHEMA = JSON.parse(LIQUID.match(SCHEMA_TAG)[1]);
export const PROXY_PATH = "/apps/cartback/optin";
export const LOCALES = ["en", "pt-BR", "es"];

const readJson = (path) => JSON.parse(readFileSync(`${EXTENSION}${path}`, "utf8"));
/** The storefront texts of each locale file, flattened to `optin.key` → text. */
const TRANSLATIONS = Object.fromEntries(
  LOCALES.map((locale) => {
    const file = readJson(`locales/${locale === "en" ? "en.default" : locale}.json`);
    const flat = {};
    const walk = (node, prefix) => {
      for (const [key, value] of Object.entries(node)) {
        if (typeof value === "string") flat[prefix + key] = value;
        else walk(value, `${prefix}${key}.`);
      }
    };
    walk(file, "");
    return [locale, flat];
  }),
);
/** What a shopper reads in `locale` when the merchant left a text empty: `t("consent")`. */
export const translated = (locale) => (key) => TRANSLATIONS[locale][`optin.${key}`];

/** Every setting at its schema default, which is empty for texts (the translation shows). */
const DEFAULTS = Object.fromEntries(
  SCHEMA.settings.filter((s) => s.id).map((s) => [s.id, s.default ?? (s.type === "checkbox" ? false : "")]),
);

// Strict: a variable or filter this stand-in does not provide fails the render, so the block
// cannot drift from what the test knows.
const liquid = new Liquid({ strictVariables: true, strictFilters: true, ownPropertyOnly: true });
let renderLocale = "en";
liquid.registerFilter("t", (key) => {
  // Shopify falls back to the default locale for a key the shopper's locale lacks.
  const text = TRANSLATIONS[renderLocale][key] ?? TRANSLATIONS.en[key];
  if (text === undefined) throw new Error(`no translation for ${key}`);
  return text;
});
// Shopify's escaping, which differs from liquidjs's in how it writes quotes.
liquid.registerFilter("escape", (value) =>
  String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]),
);
liquid.registerFilter("asset_url", (name) => `/assets/${name}`);
liquid.registerFilter("stylesheet_tag", (url) => `<link href="${url}" rel="stylesheet" type="text/css" media="all" />`);
const template = liquid.parse(LIQUID.replace(SCHEMA_TAG, ""));

/** The app embed as Shopify renders it for one page. */
export function renderEmbed({ page = "cart", locale = "en", settings = {}, country = "PT" } = {}) {
  renderLocale = locale;
  return liquid.renderSync(template, {
    template: { name: page },
    routes: { cart_url: `${prefix(locale)}/cart` },
    localization: { country: { iso_code: country } },
    block: { settings: { ...DEFAULTS, ...settings } },
  });
}

const prefix = (locale) => (locale === "en" ? "" : `/${locale}`);

/** Shopify's app-proxy signature: sorted `key=value` pairs, repeated keys comma-joined, no separator. */
export function signProxy(pairs, secret = SECRETS.SHOPIFY_API_SECRET) {
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

// ---- the theme ----

const PRODUCT = { id: 40011, title: "Linen shirt", price: 4500 };
const euros = (cents) => `€${(cents / 100).toFixed(2)}`;

const THEME_TEXT = {
  en: { cart: "Your cart", checkout: "Check out", add: "Add to cart", total: "Estimated total", empty: "Your cart is empty", close: "Close" },
  "pt-BR": { cart: "Seu carrinho", checkout: "Finalizar compra", add: "Adicionar ao carrinho", total: "Total estimado", empty: "Seu carrinho está vazio", close: "Fechar" },
  es: { cart: "Tu carrito", checkout: "Pagar pedido", add: "Agregar al carrito", total: "Total estimado", empty: "Tu carrito está vacío", close: "Cerrar" },
};

const count = (cart) => cart.items.reduce((n, item) => n + item.quantity, 0);
const total = (cart) => cart.items.reduce((n, item) => n + item.quantity * item.price, 0);

const bubble = (cart, locale) =>
  `<a href="${prefix(locale)}/cart" id="cart-icon-bubble" class="header__icon">${THEME_TEXT[locale].cart} (<span class="cart-count">${count(cart)}</span>)</a>`;

/** The cart-drawer section, as Dawn lays it out: items in a form, totals and checkout below. */
function drawerSection(cart, locale) {
  const t = THEME_TEXT[locale];
  const lines = cart.items
    .map(
      (item, i) => `<li class="cart-item"><span>${item.title}</span>
        <button type="button" class="quantity__button" data-line="${i + 1}" data-quantity="${item.quantity + 1}" aria-label="+1 ${item.title}">+</button>
        <span class="cart-item__quantity">${item.quantity}</span> <span>${euros(item.quantity * item.price)}</span></li>`,
    )
    .join("");
  const empty = cart.items.length === 0;
  return `<cart-drawer class="drawer${empty ? " is-empty" : ""}">
  <div id="CartDrawer" class="cart-drawer">
    <div id="CartDrawer-Overlay" class="cart-drawer__overlay"></div>
    <div class="drawer__inner" role="dialog" aria-modal="true" aria-label="${t.cart}" tabindex="-1">
      <div class="drawer__header"><h2 class="drawer__heading">${t.cart}</h2>
        <button class="drawer__close" type="button" aria-label="${t.close}">×</button></div>
      <cart-drawer-items>
        <form action="${prefix(locale)}/cart" id="CartDrawer-Form" method="post">
          <div id="CartDrawer-CartItems">${empty ? `<p>${t.empty}</p>` : `<ul class="cart-items">${lines}</ul>`}</div>
        </form>
      </cart-drawer-items>
      <div class="drawer__footer">
        <div class="cart-drawer__footer"><div class="totals"><h3>${t.total}</h3><p class="totals__total-value">${euros(total(cart))}</p></div></div>
        <div class="cart__ctas">
          <button type="submit" id="CartDrawer-Checkout" class="button" name="checkout" form="CartDrawer-Form"${empty ? " disabled" : ""}>${t.checkout}</button>
        </div>
      </div>
    </div>
  </div>
</cart-drawer>`;
}

/** The sections a cart call asks for, by id, as the Section Rendering API answers them. */
const sections = (cart, locale) => ({
  "cart-drawer": `<div id="shopify-section-cart-drawer" class="shopify-section">${drawerSection(cart, locale)}</div>`,
  "cart-icon-bubble": `<div id="shopify-section-cart-icon-bubble" class="shopify-section">${bubble(cart, locale)}</div>`,
});

function productPage(locale) {
  const t = THEME_TEXT[locale];
  return `<div class="product"><h1>${PRODUCT.title}</h1><p class="price">${euros(PRODUCT.price)}</p>
  <product-form class="product-form">
    <form method="post" action="${prefix(locale)}/cart/add" id="product-form-main">
      <input type="hidden" name="id" value="${PRODUCT.id}">
      <input type="hidden" name="quantity" value="1">
      <button type="submit" name="add" class="button">${t.add}</button>
    </form>
  </product-form></div>`;
}

function cartPage(cart, locale) {
  const t = THEME_TEXT[locale];
  const rows = cart.items.map((item) => `<tr><td>${item.title}</td><td>${item.quantity}</td><td>${euros(item.quantity * item.price)}</td></tr>`);
  return `<h1>${t.cart}</h1><a href="${prefix(locale)}/collections/all">Continue shopping</a>
  <cart-items><form action="${prefix(locale)}/cart" method="post" id="cart"><table class="cart-items">${rows.join("")}</table></form></cart-items>
  <div id="main-cart-footer"><div class="cart__footer"><div class="cart__blocks">
    <div class="js-contents totals"><h2>${t.total}</h2><p>${euros(total(cart))}</p></div>
    <div class="cart__ctas"><button type="submit" name="checkout" form="cart" class="button">${t.checkout}</button></div>
  </div></div></div>`;
}

const THEME_CSS = `
*{box-sizing:border-box} body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#121212;background:#fff}
.header{display:flex;justify-content:space-between;align-items:center;padding:1rem 1.5rem;border-bottom:1px solid #ddd}
.header__icon{color:#121212} main{padding:1.5rem;max-width:60rem;margin:0 auto} .footer{padding:1.5rem;border-top:1px solid #ddd}
.button{font:inherit;min-height:2.75rem;padding:.5rem 1.5rem;background:#121212;color:#fff;border:0;cursor:pointer;width:100%}
.button:disabled{opacity:.5} .product-form{display:block;max-width:24rem}
.drawer{position:fixed;inset:0;z-index:10;visibility:hidden;display:flex;justify-content:flex-end}
.drawer.active{visibility:visible} .cart-drawer__overlay{position:absolute;inset:0;background:rgba(18,18,18,.5)}
.drawer__inner{position:relative;width:min(25rem,100vw);height:100%;background:#fff;display:flex;flex-direction:column;padding:0 1.5rem}
.drawer__header{display:flex;justify-content:space-between;align-items:center} .drawer__close{font-size:1.5rem;background:none;border:0;min-width:2.75rem;min-height:2.75rem;cursor:pointer}
cart-drawer-items{flex:1;overflow:auto} .cart-items{list-style:none;padding:0} .cart-item{display:flex;gap:.75rem;align-items:center;justify-content:space-between}
.quantity__button{min-width:2.75rem;min-height:2.75rem} .drawer__footer{border-top:1px solid #ddd;padding:1rem 0}
.totals{display:flex;justify-content:space-between;align-items:baseline} .totals h3{font-size:1rem;margin:0}
.cart__ctas{display:flex} #main-cart-footer{max-width:24rem;margin-left:auto}`;

// Dawn's way, written for this test: a pub-sub that publishes before it re-renders, the drawer
// replaced from the section HTML after an add-to-cart, and only its inner part after a quantity
// change, which announces nothing (so only a page observer can notice).
const THEME_JS = `
const PUB_SUB_EVENTS = { cartUpdate: "cart-update" };
const subscribers = {};
function subscribe(name, callback) {
  (subscribers[name] ||= []).push(callback);
  return () => { subscribers[name] = subscribers[name].filter((c) => c !== callback); };
}
function publish(name, data) { return Promise.all((subscribers[name] || []).map((c) => c(data))); }
const sectionInner = (html, selector) => new DOMParser().parseFromString(html, "text/html").querySelector(selector).innerHTML;
const bubbleFrom = (parsed) => {
  document.getElementById("cart-icon-bubble").outerHTML = new DOMParser().parseFromString(parsed.sections["cart-icon-bubble"], "text/html").querySelector("#cart-icon-bubble").outerHTML;
  document.getElementById("cart-icon-bubble").addEventListener("click", openDrawer);
};
function openDrawer(event) { event.preventDefault(); document.querySelector("cart-drawer").open(); }

customElements.define("cart-drawer", class extends HTMLElement {
  connectedCallback() {
    document.getElementById("cart-icon-bubble").addEventListener("click", openDrawer);
    this.addEventListener("click", (e) => e.target.closest(".drawer__close, #CartDrawer-Overlay") && this.close());
    this.addEventListener("keyup", (e) => e.code === "Escape" && this.close());
  }
  open() {
    this.classList.add("active");
    this.querySelector(".drawer__inner").focus();
    document.dispatchEvent(new CustomEvent("cart-drawer:open", { bubbles: true }));
  }
  close() { this.classList.remove("active"); }
  renderContents(parsed) {
    this.classList.remove("is-empty");
    document.getElementById("CartDrawer").innerHTML = sectionInner(parsed.sections["cart-drawer"], "#CartDrawer");
    bubbleFrom(parsed);
    setTimeout(() => this.open());
  }
});

customElements.define("cart-drawer-items", class extends HTMLElement {
  connectedCallback() {
    this.addEventListener("click", (e) => {
      const button = e.target.closest("[data-line]");
      if (button) this.update(Number(button.dataset.line), Number(button.dataset.quantity));
    });
  }
  async update(line, quantity) {
    const drawer = this.closest("cart-drawer");
    const res = await fetch(window.routes.cart_change_url + ".js", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ line, quantity, sections: ["cart-drawer", "cart-icon-bubble"], sections_url: location.pathname }),
    });
    const parsed = await res.json();
    drawer.classList.toggle("is-empty", parsed.item_count === 0);
    drawer.querySelector(".drawer__inner").innerHTML = sectionInner(parsed.sections["cart-drawer"], ".drawer__inner");
    bubbleFrom(parsed);
  }
});

customElements.define("product-form", class extends HTMLElement {
  connectedCallback() { this.querySelector("form").addEventListener("submit", (e) => this.submit(e)); }
  async submit(event) {
    event.preventDefault();
    const body = new FormData(event.target);
    body.append("sections", "cart-drawer,cart-icon-bubble");
    body.append("sections_url", location.pathname);
    const res = await fetch(window.routes.cart_add_url + ".js", { method: "POST", headers: { Accept: "application/json" }, body });
    const parsed = await res.json();
    publish(PUB_SUB_EVENTS.cartUpdate, { source: "product-form", productVariantId: parsed.variant_id, cartData: parsed });
    document.querySelector("cart-drawer").renderContents(parsed);
  }
});`;

function layout({ locale, title, body, cart, embed }) {
  const p = prefix(locale);
  return `<!doctype html>
<html lang="${locale}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/theme/base.css">
<script>window.routes = { cart_add_url: "${p}/cart/add", cart_change_url: "${p}/cart/change", cart_url: "${p}/cart" };</script>
<script src="/theme/theme.js" defer></script>
</head><body>
<header class="header"><a href="${p}/" class="header__heading">Maple &amp; Finch</a>${bubble(cart, locale)}</header>
${drawerSection(cart, locale)}
<main id="MainContent">${body}</main>
<footer class="footer">Maple &amp; Finch</footer>
${embed}
</body></html>`;
}

const readBody = (req) =>
  new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });

const cartJson = (cart, locale, wanted) => ({
  token: cart.token,
  item_count: count(cart),
  total_price: total(cart),
  currency: "EUR",
  items: cart.items.map((item) => ({ id: item.id, variant_id: item.id, title: item.title, price: item.price, quantity: item.quantity })),
  ...(wanted ? { sections: sections(cart, locale) } : {}),
});

/**
 * The storefront. `settings` are the app embed's settings for the next pages; `endpoint` points
 * the widget elsewhere than the app proxy: `/held/optin` holds each answer until the test
 * releases it. `proxied` lists what went through the proxy and what the Worker answered.
 */
export function startStorefront(app) {
  const carts = new Map();
  const storefront = { settings: {}, endpoint: PROXY_PATH, proxied: [], held: [] };
  const cartOf = (req, res) => {
    const token = /(?:^|;\s*)cart=([0-9a-f]+)/.exec(req.headers.cookie ?? "")?.[1];
    if (token && carts.has(token)) return carts.get(token);
    const cart = { token: randomBytes(16).toString("hex"), items: [] };
    carts.set(cart.token, cart);
    res.setHeader("Set-Cookie", `cart=${cart.token}; Path=/; SameSite=Lax`);
    return cart;
  };
  const add = (cart, id, quantity) => {
    const line = cart.items.find((item) => item.id === id);
    if (line) line.quantity += quantity;
    else cart.items.push({ ...PRODUCT, quantity });
    return line ?? cart.items.at(-1);
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://storefront.test");
    const [, localePart, path] = url.pathname.match(/^(?:\/(pt-BR|es))?(\/.*)$/);
    const locale = localePart ?? "en";
    const json = (status, body) => res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
    try {
      if (req.method === "GET" && (path === "/cart" || path === "/products/linen-shirt")) {
        const cart = cartOf(req, res);
        const page = path === "/cart" ? "cart" : "product";
        let embed = renderEmbed({ page, locale, settings: storefront.settings });
        embed = embed.replace(`data-endpoint="${PROXY_PATH}"`, `data-endpoint="${storefront.endpoint}"`);
        const body = page === "cart" ? cartPage(cart, locale) : productPage(locale);
        const title = page === "cart" ? THEME_TEXT[locale].cart : PRODUCT.title;
        res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(layout({ locale, title, body, cart, embed }));
      } else if (req.method === "GET" && path === "/cart.js") {
        json(200, cartJson(cartOf(req, res), locale));
      } else if (req.method === "POST" && path === "/cart/add.js") {
        const cart = cartOf(req, res);
        const raw = await readBody(req);
        const type = req.headers["content-type"] ?? "";
        const form = type.startsWith("application/json")
          ? new Map(Object.entries(JSON.parse(raw)))
          : await new Response(raw, { headers: { "Content-Type": type } }).formData();
        const line = add(cart, Number(form.get("id")), Number(form.get("quantity") ?? 1));
        const item = { id: line.id, variant_id: line.id, title: line.title, price: line.price, quantity: line.quantity };
        json(200, form.get("sections") ? { ...item, sections: sections(cart, locale) } : item);
      } else if (req.method === "POST" && path === "/cart/change.js") {
        const cart = cartOf(req, res);
        const { line, quantity, sections: wanted } = JSON.parse(await readBody(req));
        const item = cart.items[line - 1];
        if (!item) return json(400, { status: "bad_request", message: "no such line" });
        item.quantity = quantity;
        cart.items = cart.items.filter((i) => i.quantity > 0);
        json(200, cartJson(cart, locale, wanted));
      } else if (req.method === "GET" && url.pathname === "/theme/theme.js") {
        res.writeHead(200, { "Content-Type": "text/javascript" }).end(THEME_JS);
      } else if (req.method === "GET" && url.pathname === "/theme/base.css") {
        res.writeHead(200, { "Content-Type": "text/css" }).end(THEME_CSS);
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
        storefront.proxied.push({ body: JSON.parse(body), status: answer.status, answer: text });
        res.writeHead(answer.status, { "Content-Type": answer.headers.get("Content-Type") ?? "text/plain" }).end(text);
      } else if (req.method === "POST" && url.pathname === "/held/optin") {
        const body = JSON.parse(await readBody(req));
        storefront.held.push({ body, answer: (status) => json(status, {}) });
      } else {
        res.writeHead(404).end();
      }
    } catch (e) {
      res.writeHead(502, { "Content-Type": "text/plain" }).end(String(e));
    }
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve(Object.assign(storefront, { origin: `http://127.0.0.1:${server.address().port}`, server })),
    ),
  );
}
