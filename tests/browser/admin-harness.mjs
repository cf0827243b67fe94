// The embedded admin page in headless Chromium against the real Worker in workerd: Shopify's CDN
// scripts are answered by the local stand-ins (App Bridge hands out real session tokens for the
// shop), and the shop is installed, connected and configured through the admin API itself.
import { readFileSync } from "node:fs";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { PHONE_NUMBER_ID, SHOP, WHATSAPP_TOKEN, adminApi, sessionToken, startApp } from "../e2e/harness.mjs";

const root = new URL("../../", import.meta.url).pathname;
const CDN = "https://cdn.shopify.com/shopifycloud/";
export const ARTIFACTS = `${root}test-artifacts/admin`;
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];
export const ROUTES = ["/", "/playbook", "/whatsapp", "/consent", "/inbox", "/faq", "/activity"];
export const WABA_ID = "102290129340398";

/** A playbook like the design's sample, with a one-second first step so tests do not wait. */
export const TEST_PLAYBOOK = {
  version: 1,
  enabled: true,
  consent_mode: "checkout_marketing_consent",
  default_language: "en_US",
  steps: [
    {
      id: "reminder",
      delay_seconds: 1,
      template: { name: "cart_reminder", languages: ["en_US", "pt_BR"] },
      body_params: ["first_name", "top_item_title", "cart_total"],
      button_url_param: "recovery_token",
    },
    {
      id: "offer",
      delay_seconds: 86400,
      template: { name: "cart_offer", languages: ["en_US"] },
      body_params: ["first_name", "discount_percent", "discount_code"],
      button_url_param: "recovery_token",
      when: { min_cart_value: "150.00" },
      discount: { percent: 10, expires_after_hours: 48 },
    },
  ],
  quiet_hours: null,
  caps: null,
  stop_on_reply: false,
  holdout_percent: 0,
  journey_ttl_days: 30,
};

export const api = async (app, path, options = {}) => {
  const res = await adminApi(app, path, { token: sessionToken({ shop: SHOP }), ...options });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
};

/**
 * The Worker with its fakes, and the shop installed as Shopify's managed installation does it
 * (the first session token is exchanged), WhatsApp connected with cartback's recommended
 * templates and the playbook saved, all through the admin API.
 */
export async function startInstalledApp({ playbook = TEST_PLAYBOOK, connect = true } = {}) {
  const app = await startApp();
  app.shopify.setShopName(SHOP, "Maple & Finch");
  const shop = await api(app, "/api/shop");
  if (shop.status !== 200) throw new Error(`install: ${shop.status} ${JSON.stringify(shop.body)}`);
  if (connect) {
    const wa = await api(app, "/api/whatsapp", {
      method: "PUT",
      body: { phone_number_id: PHONE_NUMBER_ID, waba_id: WABA_ID, access_token: WHATSAPP_TOKEN },
    });
    if (wa.status !== 200) throw new Error(`connect: ${wa.status} ${JSON.stringify(wa.body)}`);
    // As a merchant does on the WhatsApp page: Meta's fake approves them at once.
    const templates = await api(app, "/api/templates/install", { method: "POST" });
    if (templates.status !== 200) throw new Error(`templates: ${templates.status} ${JSON.stringify(templates.body)}`);
  }
  if (playbook) {
    const pb = await api(app, "/api/playbook", { method: "PUT", body: playbook });
    if (pb.status !== 200) throw new Error(`playbook: ${pb.status} ${JSON.stringify(pb.body)}`);
  }
  return app;
}

export const launch = () =>
  chromium.launch({ executablePath: process.env.CHROMIUM_BIN ?? "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });

const STANDINS = `${root}scripts/shopify-cdn/`;

/**
 * A browser context whose requests to Shopify's CDN get the local stand-ins; `tokens` collects
 * every session token handed out. Console errors and page errors are collected in `errors`.
 */
export async function adminContext(browser, { width = 1280, height = 900, shop = SHOP } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1 });
  const tokens = [];
  const errors = [];
  await context.route(`${CDN}**`, async (route) => {
    const url = new URL(route.request().url());
    const name = url.pathname.replace("/shopifycloud/", "");
    const cors = { "Access-Control-Allow-Origin": "*", "Cache-Control": "no-store" };
    if (name === "app-bridge.js" || name === "polaris.js") {
      return route.fulfill({ status: 200, headers: { ...cors, "Content-Type": "text/javascript" }, body: readFileSync(`${STANDINS}${name}`, "utf8") });
    }
    if (name === "session-token") {
      const count = Math.min(16, Math.max(1, Number(url.searchParams.get("count")) || 1));
      const fresh = Array.from({ length: count }, () => sessionToken({ shop: url.searchParams.get("shop") || shop }));
      tokens.push(...fresh);
      return route.fulfill({ status: 200, headers: { ...cors, "Content-Type": "application/json" }, body: JSON.stringify({ tokens: fresh }) });
    }
    return route.fulfill({ status: 404, headers: cors, body: "" });
  });
  const watch = (page) => {
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`${m.text()} @ ${m.location()?.url ?? ""}`);
    });
    page.on("pageerror", (e) => errors.push(String(e)));
  };
  context.on("page", watch);
  return { context, tokens, errors };
}

/** The admin page's URL as Shopify admin frames it. */
export const adminUrl = (app, path = "/", { locale = "en", shop = SHOP } = {}) =>
  `${String(app.url).replace(/\/$/, "")}${path}?${new URLSearchParams({ embedded: "1", shop, host: Buffer.from(`admin.shopify.com/store/${shop.split(".")[0]}`).toString("base64url"), locale })}`;

/** Waits until the page has drawn its route (no loading state left). */
export async function settled(page) {
  await page.waitForFunction(() => {
    const page = document.querySelector("s-page");
    return page && !document.querySelector(".loading, .pending");
  });
  await page.evaluate(() => document.fonts?.ready);
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

const AXE = readFileSync(`${root}node_modules/axe-core/axe.min.js`, "utf8");

/** axe-core's serious and critical violations on the page, as short strings. */
export async function seriousViolations(page) {
  await page.addScriptTag({ content: AXE });
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).slice(0, 5).join(" | ")}`);
}

/**
 * Every control that should take focus, pierced through shadow roots, and whether Tab reaches
 * each of them: answers the ones it never reached.
 */
export async function unreachableByKeyboard(page) {
  const total = await page.evaluate(() => {
    const found = [];
    const walk = (root) => {
      for (const el of root.querySelectorAll("*")) {
        if (el.shadowRoot) walk(el.shadowRoot);
        const focusable = el.matches("a[href], button, input, select, textarea, [tabindex]:not([tabindex='-1'])");
        const rect = el.getBoundingClientRect();
        if (focusable && !el.disabled && rect.width > 0 && rect.height > 0) found.push(el);
      }
    };
    walk(document);
    found.forEach((el, i) => (el.dataset.kbd = String(i)));
    window.__kbdSeen = new Set();
    return found.length;
  });
  await page.evaluate(() => document.activeElement?.blur?.());
  for (let i = 0; i < total + 10; i++) {
    await page.keyboard.press("Tab");
    await page.evaluate(() => {
      let el = document.activeElement;
      while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
      if (el?.dataset?.kbd) window.__kbdSeen.add(el.dataset.kbd);
    });
  }
  return page.evaluate(() => {
    const missed = [];
    const walk = (root) => {
      for (const el of root.querySelectorAll("[data-kbd]")) {
        if (!window.__kbdSeen.has(el.dataset.kbd)) missed.push(`${el.tagName.toLowerCase()} ${el.getAttribute("aria-label") ?? el.textContent?.trim().slice(0, 40) ?? ""}`);
      }
      for (const el of root.querySelectorAll("*")) if (el.shadowRoot) walk(el.shadowRoot);
    };
    walk(document);
    return missed;
  });
}

/** The page's whole text and every field's value, shadow roots included. */
export const deepText = (page) =>
  page.evaluate(() => {
    const parts = [document.documentElement.outerHTML];
    const walk = (root) => {
      for (const el of root.querySelectorAll("*")) {
        if ("value" in el && typeof el.value === "string") parts.push(el.value);
        if (el.shadowRoot) {
          parts.push(el.shadowRoot.innerHTML);
          walk(el.shadowRoot);
        }
      }
    };
    walk(document);
    return parts.join("\n");
  });

/** A field (s-text-field, s-select, ...) found by its label text, for the test to read or fill. */
export const field = (page, label) => page.getByLabel(label, { exact: true });

export { PHONE_NUMBER_ID, SHOP, WHATSAPP_TOKEN };

/** Waits until `check()` is truthy (outside a test, where expect.poll cannot run). */
export async function until(check, { timeout = 10_000, what = "condition" } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
