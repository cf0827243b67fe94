// The storefront opt-in widget in headless Chromium, on a Dawn-like storefront rendered with the
// theme app extension's own Liquid and locale files: the cart page, the cart drawer as the theme
// opens and re-renders it, the product-page prompt, three languages and the merchant's own texts,
// posting through a stand-in for Shopify's app proxy to the real Worker in workerd.
import { mkdirSync } from "node:fs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { PHONE_NUMBER_ID, SHOP, WHATSAPP_TOKEN, installShop, seal, sessionToken, startApp } from "../e2e/harness.mjs";
import { inbound, text, whatsappWebhook } from "../e2e/meta.mjs";
import { launch, seriousViolations } from "./admin-harness.mjs";
import { PROXY_PATH, renderEmbed, signProxy, startStorefront, translated } from "./storefront.mjs";

const ARTIFACTS = new URL("../../test-artifacts/optin/", import.meta.url).pathname;
const en = translated("en");

let app;
let storefront;
let browser;
let page;
let posts;
let errors;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
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
  storefront.settings = {};
  storefront.endpoint = PROXY_PATH;
  page = await (await browser.newContext()).newPage();
  // Counts the observers the widget creates: one, however often it mounts.
  await page.addInitScript(() => {
    const Native = window.MutationObserver;
    window.observersMade = 0;
    window.MutationObserver = class extends Native {
      constructor(callback) {
        super(callback);
        if (new Error().stack.includes("/assets/optin.js")) window.observersMade += 1;
      }
    };
  });
  posts = [];
  errors = [];
  page.on("request", (r) => r.url().includes("/optin") && r.method() === "POST" && posts.push(r.url()));
  page.on("pageerror", (e) => errors.push(String(e)));
  // Answers of 400 and 429 are part of the tests; Chromium logs each refused request.
  page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && errors.push(m.text()));
});

afterEach(async () => {
  await page.context().close();
  expect(errors).toEqual([]);
});

/** The widget's controls inside `scope` (a place: `cart`, `drawer`, `product`), by their names. */
const widget = (place, t = en) => {
  const root = page.locator(`.cartback-optin[data-place="${place}"]`);
  return {
    root,
    phone: root.getByLabel(t("phone_label")),
    consent: root.getByRole("checkbox", { name: t("consent") }),
    submit: root.getByRole("button", { name: t("button") }),
    status: root.getByRole("status"),
  };
};

const open = (path, locale = "en") => page.goto(`${storefront.origin}${locale === "en" ? "" : `/${locale}`}${path}`);
const openCart = (locale) => open("/cart", locale);
const openProduct = (locale) => open("/products/linen-shirt", locale);
/** Puts the shirt in this shopper's cart, as another tab would. */
const addToCartAside = () =>
  page.request.post(`${storefront.origin}/cart/add.js`, { data: { id: 40011, quantity: 1 } });
const cartToken = async () => (await (await page.request.get(`${storefront.origin}/cart.js`)).json()).token;
const widgets = (place) => page.locator(`.cartback-optin[data-place="${place}"]`).count();

const consents = async (phone) =>
  (
    await app.mf.dispatchFetch(`${app.url}api/consents?phone=${encodeURIComponent(phone)}`, {
      headers: { Authorization: `Bearer ${sessionToken({ shop: SHOP })}` },
    })
  ).json();

test("the proxy signer matches Shopify's documented vector", () => {
  const query = new URLSearchParams(
    "extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555",
  );
  expect(signProxy([...query], "hush")).toBe("4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb");
});

test("the embed ships its form as a template, with the merchant's texts escaped and the prompt only where turned on", () => {
  const cart = renderEmbed();
  expect(cart).toMatch(/<template\s+id="cartback-optin"/);
  expect(cart).toContain('data-template="cart"');
  expect(cart).toContain(`<span>${en("consent").replace("'", "&#39;")}</span>`);
  expect(cart).not.toContain("cartback-optin__toggle");
  expect(renderEmbed({ page: "product" })).not.toContain("cartback-optin__toggle");
  expect(renderEmbed({ page: "product", settings: { product_prompt: true } })).toContain("cartback-optin__toggle");
  expect(renderEmbed({ page: "collection", settings: { product_prompt: true } })).not.toContain("cartback-optin__toggle");
  expect(renderEmbed({ settings: { consent_label: `<b>"x"</b>` } })).toContain("<span>&lt;b&gt;&quot;x&quot;&lt;/b&gt;</span>");
  // Blank merchant text is no text: the translation shows.
  expect(renderEmbed({ settings: { consent_label: "  " } })).toContain(`<span>${en("consent").replace("'", "&#39;")}</span>`);
});

describe("on the cart page", () => {
  test("a shopper opts in and the Worker records their consent with the wording they saw", async () => {
    await addToCartAside();
    await openCart();
    const { phone, consent, submit, status } = widget("cart");
    await expect.poll(() => phone.getAttribute("type")).toBe("tel");
    expect(await phone.getAttribute("autocomplete")).toBe("tel");
    expect(await phone.getAttribute("inputmode")).toBe("tel");
    expect(await status.getAttribute("aria-live")).toBe("polite");
    // Placed above the checkout button, not at the foot of the page.
    expect(await page.evaluate(() => document.querySelector(".cartback-optin").nextElementSibling.className)).toBe("cart__ctas");

    await phone.fill("+351 912 345 678");
    await consent.check();
    await submit.click();
    await expect.poll(() => status.textContent()).toBe(en("success"));

    expect(storefront.proxied.at(-1)).toMatchObject({
      status: 200,
      body: { phone: "+351 912 345 678", consent: true, wording: en("consent"), cart_token: await cartToken(), country: "PT" },
    });
    expect(JSON.parse(storefront.proxied.at(-1).answer)).toEqual({ status: "opted_in" });
    const ledger = await consents("+351912345678");
    expect(ledger).toMatchObject({ phone: "+351912345678", status: "opted_in" });
    expect(ledger.records).toEqual([
      expect.objectContaining({ kind: "opt_in", source: "storefront_widget", wording: en("consent") }),
    ]);
  });

  test("without the box ticked nothing is sent", async () => {
    await openCart();
    const { phone, consent, submit, status } = widget("cart");
    await phone.fill("+351 912 345 679");
    await submit.click();

    await expect.poll(() => status.textContent()).toBe(en("consent_missing"));
    expect(await consent.getAttribute("aria-invalid")).toBe("true");
    expect(await consent.getAttribute("aria-describedby")).toBe(await status.getAttribute("id"));
    expect(await consent.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(posts).toEqual([]);
  });

  test("an unusable phone number shows the phone error", async () => {
    await openCart();
    const { phone, consent, submit, status } = widget("cart");
    await phone.fill("12345");
    await consent.check();
    await submit.click();

    await expect.poll(() => status.textContent()).toBe(en("phone_error"));
    expect(storefront.proxied.at(-1)).toMatchObject({ status: 400, body: { phone: "12345" } });
    expect(await phone.getAttribute("aria-invalid")).toBe("true");
    expect(await consent.getAttribute("aria-invalid")).toBe(null);
    expect(await phone.evaluate((el) => el === document.activeElement)).toBe(true);
  });

  test("while sending, the button is disabled and a second press sends nothing; 429 says wait", async () => {
    storefront.endpoint = "/held/optin";
    await openCart();
    const { phone, consent, submit, status } = widget("cart");
    await phone.fill("+351 912 345 680");
    await consent.check();
    await submit.click();

    await expect.poll(() => storefront.held.length).toBe(1);
    expect(await submit.isDisabled()).toBe(true);
    await submit.click({ force: true });
    await page.keyboard.press("Enter");
    storefront.held.shift().answer(429);

    await expect.poll(() => status.textContent()).toBe(en("rate_limited"));
    expect(await submit.isEnabled()).toBe(true);
    expect(storefront.held).toEqual([]);
    expect(posts).toHaveLength(1);
  });

  test("the widget works with the keyboard alone", async () => {
    await addToCartAside();
    await openCart();
    const { phone, consent, submit, status } = widget("cart");
    await expect.poll(() => phone.isVisible()).toBe(true);
    const focusedIs = (locator) => locator.evaluate((el) => el === document.activeElement);

    // Tab through the page (header, cart) until the phone field: it is in the tab order.
    for (let i = 0; i < 10 && !(await focusedIs(phone)); i++) await page.keyboard.press("Tab");
    expect(await focusedIs(phone)).toBe(true);
    await page.keyboard.type("+351 912 345 681");
    await page.keyboard.press("Tab");
    expect(await focusedIs(consent)).toBe(true);
    await page.keyboard.press("Space");
    expect(await consent.isChecked()).toBe(true);
    await page.keyboard.press("Tab");
    expect(await focusedIs(submit)).toBe(true);
    await page.keyboard.press("Enter");

    await expect.poll(() => status.textContent()).toBe(en("success"));
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
    const { phone, consent, submit, status, root } = widget("cart");
    await phone.fill(number);
    await consent.check();
    await submit.click();
    await expect.poll(() => status.textContent()).toBe(en("confirm"));
    const link = root.getByRole("link", { name: en("confirm_button") });
    expect(await link.getAttribute("href")).toBe("https://wa.me/16285550107?text=START");
    await page.screenshot({ path: `${ARTIFACTS}confirm-on-whatsapp.png`, fullPage: true });
    expect((await consents(number)).status).toBe("opted_out");
    // The prefilled message, sent from the phone (a second later: WhatsApp stamps to the second).
    await new Promise((r) => setTimeout(r, 1100));
    expect((await whatsappWebhook(app, inbound(number, text("START")))).status).toBe(200);
    await expect.poll(async () => (await consents(number)).status).toBe("opted_in");
  });
});

describe("in the cart drawer", () => {
  test("an empty drawer has no widget; the drawer the theme opens after an add-to-cart has one, which opts in", async () => {
    await openProduct();
    await page.waitForFunction(() => customElements.get("cart-drawer") && window.cartbackOptin);
    expect(await widgets("drawer")).toBe(0);

    await page.getByRole("button", { name: "Add to cart" }).click();
    const { phone, consent, submit, status } = widget("drawer");
    await expect.poll(() => phone.isVisible()).toBe(true);
    expect(await widgets("drawer")).toBe(1);
    // Between the totals and the checkout button, inside the drawer's dialog.
    expect(await page.evaluate(() => document.querySelector('[data-place="drawer"]').closest('[role="dialog"]') !== null)).toBe(true);
    expect(await page.evaluate(() => document.querySelector('[data-place="drawer"]').nextElementSibling.className)).toBe("cart__ctas");

    await phone.fill("+351 912 345 682");
    await consent.check();
    await submit.click();
    await expect.poll(() => status.textContent()).toBe(en("success"));
    expect(storefront.proxied.at(-1).body).toMatchObject({ phone: "+351 912 345 682", wording: en("consent"), cart_token: await cartToken() });
    expect((await consents("+351912345682")).status).toBe("opted_in");
  });

  test("opening a drawer that has items shows the widget, labelled, with no serious axe violation", async () => {
    await addToCartAside();
    await openProduct();
    const { phone, consent, submit } = widget("drawer");
    expect(await phone.isVisible()).toBe(false);
    await page.getByRole("link", { name: /Your cart/ }).click();
    await expect.poll(() => phone.isVisible()).toBe(true);
    expect(await consent.isVisible()).toBe(true);
    expect(await submit.isVisible()).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
  });

  test("re-renders after an add-to-cart and a quantity change keep one widget and what the shopper typed", async () => {
    await addToCartAside();
    await openProduct();
    await page.getByRole("link", { name: /Your cart/ }).click();
    const { phone, consent } = widget("drawer");
    await expect.poll(() => phone.isVisible()).toBe(true);
    await phone.fill("+351 912 345 683");
    await consent.check();
    const first = await phone.elementHandle();

    // Dawn's add-to-cart: publishes, then replaces the whole drawer from the section HTML.
    await page.getByRole("button", { name: "Close" }).click();
    await page.getByRole("button", { name: "Add to cart" }).click();
    await expect.poll(() => page.locator(".cart-item__quantity").textContent()).toBe("2");
    await expect.poll(() => phone.isVisible()).toBe(true);
    expect(await first.evaluate((el) => el.isConnected)).toBe(false);
    expect(await widgets("drawer")).toBe(1);
    expect(await phone.inputValue()).toBe("+351 912 345 683");
    expect(await consent.isChecked()).toBe(true);

    // A quantity change re-renders only the drawer's inner part and announces nothing.
    await page.getByRole("button", { name: "+1 Linen shirt" }).click();
    await expect.poll(() => page.locator(".cart-item__quantity").textContent()).toBe("3");
    await expect.poll(() => widgets("drawer")).toBe(1);
    expect(await phone.inputValue()).toBe("+351 912 345 683");
    expect(await consent.isChecked()).toBe(true);
    expect(await page.locator(".cartback-optin").count()).toBe(1);
    expect(await page.evaluate(() => window.observersMade)).toBe(1);
  });

  test("a re-render while the shopper is typing keeps the focus in the phone field", async () => {
    await addToCartAside();
    await openProduct();
    await page.getByRole("link", { name: /Your cart/ }).click();
    const { phone } = widget("drawer");
    await expect.poll(() => phone.isVisible()).toBe(true);
    await phone.click();
    await page.keyboard.type("+351 912");
    await page.evaluate(() => document.querySelector("cart-drawer-items").update(1, 4));
    await expect.poll(() => page.locator(".cart-item__quantity").textContent()).toBe("4");
    await expect.poll(() => phone.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.type(" 345 684");
    expect(await phone.inputValue()).toBe("+351 912 345 684");
  });

  test("after opting in, a re-render shows the thanks, not the form again", async () => {
    await addToCartAside();
    await openProduct();
    await page.getByRole("link", { name: /Your cart/ }).click();
    const { phone, consent, submit, status, root } = widget("drawer");
    await phone.fill("+351 912 345 685");
    await consent.check();
    await submit.click();
    await expect.poll(() => status.textContent()).toBe(en("success"));
    await page.getByRole("button", { name: "+1 Linen shirt" }).click();
    await expect.poll(() => page.locator(".cart-item__quantity").textContent()).toBe("2");
    await expect.poll(() => widgets("drawer")).toBe(1);
    expect(await status.textContent()).toBe(en("success"));
    expect(await root.locator("form").isHidden()).toBe(true);
    expect(posts).toHaveLength(1);
  });

  for (const [label, viewport] of [
    ["desktop", { width: 1280, height: 800 }],
    ["phone", { width: 390, height: 844 }],
  ]) {
    test(`the open drawer at ${label} width: screenshot`, async () => {
      await page.setViewportSize(viewport);
      await addToCartAside();
      await openProduct();
      await page.getByRole("link", { name: /Your cart/ }).click();
      const { phone, submit } = widget("drawer");
      await expect.poll(() => phone.isVisible()).toBe(true);
      await submit.click();
      await expect.poll(() => widget("drawer").status.textContent()).toBe(en("phone_error"));
      // Every control of the widget is on screen without scrolling the drawer.
      for (const control of [phone, submit]) {
        const box = await control.boundingBox();
        expect(box.y + box.height).toBeLessThanOrEqual(viewport.height);
        expect(box.x + box.width).toBeLessThanOrEqual(viewport.width);
      }
      await page.screenshot({ path: `${ARTIFACTS}drawer-${label}.png` });
    });
  }
});

describe("on product pages", () => {
  test("without the merchant's setting there is no prompt", async () => {
    await openProduct();
    await page.waitForFunction(() => window.cartbackOptin);
    expect(await page.locator(".cartback-optin").count()).toBe(0);
  });

  test("with it, a prompt under the buy button opens the form, which opts in", async () => {
    storefront.settings = { product_prompt: true };
    await openProduct();
    const toggle = page.getByRole("button", { name: en("prompt") });
    await expect.poll(() => toggle.isVisible()).toBe(true);
    expect(await page.evaluate(() => document.querySelector('[data-place="product"]').previousElementSibling.tagName)).toBe("PRODUCT-FORM");
    expect(await toggle.getAttribute("aria-expanded")).toBe("false");
    const { phone, consent, submit, status } = widget("product");
    expect(await phone.isVisible()).toBe(false);

    await toggle.press("Enter");
    expect(await toggle.getAttribute("aria-expanded")).toBe("true");
    expect(await phone.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}product-prompt.png` });
    await phone.fill("+351 912 345 686");
    await consent.check();
    await submit.click();
    await expect.poll(() => status.textContent()).toBe(en("success"));
    expect(await toggle.count()).toBe(0);
    expect((await consents("+351912345686")).status).toBe("opted_in");
  });
});

describe("in the storefront's language", () => {
  for (const locale of ["pt-BR", "es"]) {
    test(`${locale}: labels, messages and the wording sent are the ${locale} translations`, async () => {
      const t = translated(locale);
      expect(t("consent")).not.toBe(en("consent"));
      await addToCartAside();
      storefront.settings = { product_prompt: true };
      await openProduct(locale);
      expect(await page.getByRole("button", { name: t("prompt") }).isVisible()).toBe(true);
      await openCart(locale);
      const { phone, consent, submit, status } = widget("cart", t);
      await expect.poll(() => phone.isVisible()).toBe(true);
      await submit.click();
      await expect.poll(() => status.textContent()).toBe(t("phone_error"));
      await phone.fill("+351 912 345 687");
      await submit.click();
      await expect.poll(() => status.textContent()).toBe(t("consent_missing"));
      await consent.check();
      await submit.click();
      await expect.poll(() => status.textContent()).toBe(t("success"));
      expect(storefront.proxied.at(-1).body).toMatchObject({ wording: t("consent"), cart_token: await cartToken() });
      expect((await consents("+351912345687")).records.at(-1)).toMatchObject({ wording: t("consent") });
    });
  }

  test("the merchant's texts override the translations, in every language", async () => {
    storefront.settings = { consent_label: "Sim, quero lembretes da Maple & Finch.", button_label: "Quero!" };
    await openCart("pt-BR");
    const t = translated("pt-BR");
    const root = page.locator('.cartback-optin[data-place="cart"]');
    const consent = root.getByRole("checkbox", { name: "Sim, quero lembretes da Maple & Finch." });
    await expect.poll(() => consent.isVisible()).toBe(true);
    expect(await root.getByRole("button", { name: "Quero!" }).isVisible()).toBe(true);
    // What the merchant left empty stays translated.
    expect(await root.getByLabel(t("phone_label")).isVisible()).toBe(true);
    await openCart("es");
    expect(await page.getByRole("button", { name: "Quero!" }).isVisible()).toBe(true);
  });
});
