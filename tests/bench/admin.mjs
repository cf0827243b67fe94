// The admin page's budgets: its own JS + CSS gzip size, and LCP and CLS of the dashboard in local
// headless Chromium with a shop's worth of data made through the real webhooks, over a 90-day
// range. `adminBench()` answers rows `{what, measured, budget, ok}`; run alone with
// `node tests/bench/admin.mjs`.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { orderPayload, shopifyWebhook } from "../e2e/harness.mjs";
import { checkoutOf, inbound, status, text, whatsappWebhook } from "../e2e/meta.mjs";
import { adminContext, adminUrl, launch, settled, startInstalledApp, TEST_PLAYBOOK, until } from "../browser/admin-harness.mjs";

const root = new URL("../../", import.meta.url).pathname;
const KIB = 1024;
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p75 = (xs) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(0.75 * xs.length))];

/** The page's own files, as the Worker serves them (the CDN's App Bridge and Polaris are not ours). */
export function bundleSize() {
  const files = ["app.js", "app.css", "index.html"].map((f) => readFileSync(`${root}admin-ui/dist/${f}`));
  const gzip = files.map((b) => gzipSync(b, { level: 9 }).length);
  return { js_css_gzip: gzip[0] + gzip[1], html_gzip: gzip[2], raw: files[0].length + files[1].length };
}

/**
 * A shop's carts through the webhooks: `journeys` abandoned checkouts (each its own Durable Object,
 * so a few hundred), of which most are messaged, delivered and read, some reply, click and buy.
 * The Worker's clock is the real one, so they all start today; the 90-day range still draws
 * every day of it.
 */
async function fill(app, journeys) {
  const phones = Array.from({ length: journeys }, (_, i) => `+3519${String(10_000_000 + i * 7919).slice(-8)}`);
  const checkouts = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 12 }, async () => {
      while (next < phones.length) {
        const i = next++;
        const checkout = checkoutOf(phones[i]);
        checkout.total_price = (20 + ((i * 37) % 300)).toFixed(2);
        if (i % 9 === 0) checkout.buyer_accepts_marketing = checkout.buyer_accepts_sms_marketing = false;
        checkouts[i] = checkout;
        await shopifyWebhook(app, "checkouts/update", checkout);
      }
    }),
  );
  // Every eligible journey's reminder (held-out and unconsented ones get none): until none comes for 3 s.
  const templates = () => app.graph.messages.filter((m) => m.type === "template").length;
  let seen = -1;
  let quietSince = Date.now();
  await until(
    () => {
      if (templates() !== seen) [seen, quietSince] = [templates(), Date.now()];
      return seen > journeys / 2 && Date.now() - quietSince > 3000;
    },
    { timeout: 120_000, what: "the reminders" },
  );
  const byPhone = new Map(app.graph.messages.filter((m) => m.type === "template").map((m) => [m.to, m]));
  let k = 0;
  for (const [i, phone] of phones.entries()) {
    const sent = byPhone.get(phone);
    if (!sent) continue;
    k++;
    await whatsappWebhook(app, status(phone, sent.wamid, "delivered"));
    if (k % 3 !== 0) await whatsappWebhook(app, status(phone, sent.wamid, "read"));
    if (k % 7 === 0) await whatsappWebhook(app, inbound(phone, text("Do you ship to Porto?")));
    if (k % 5 === 0) {
      const link = sent.body.template.components.find((c) => c.sub_type === "url").parameters[0].text;
      await app.mf.dispatchFetch(`${app.url}r/${link}`, { redirect: "manual" });
    }
    if (k % 6 === 0) {
      const order = orderPayload(checkouts[i].token);
      Object.assign(order, { cart_token: checkouts[i].cart_token, total_price: checkouts[i].total_price, currency: "USD", created_at: new Date().toISOString() });
      await shopifyWebhook(app, "orders/create", order);
    }
  }
}

/** LCP and CLS of `loads` loads of the dashboard (90-day range), each in a fresh context. */
async function vitals(app, browser, loads) {
  const lcp = [];
  const cls = [];
  for (let i = 0; i < loads; i++) {
    const { context } = await adminContext(browser, { width: 1280, height: 900 });
    await context.addInitScript(() => {
      localStorage.setItem("cartback.range", "90");
      window.__vitals = { lcp: 0, cls: 0 };
      new PerformanceObserver((l) => l.getEntries().forEach((e) => (window.__vitals.lcp = e.startTime))).observe({ type: "largest-contentful-paint", buffered: true });
      new PerformanceObserver((l) => l.getEntries().forEach((e) => !e.hadRecentInput && (window.__vitals.cls += e.value))).observe({ type: "layout-shift", buffered: true });
    });
    const page = await context.newPage();
    await page.goto(adminUrl(app, "/"));
    await settled(page);
    await page.waitForSelector('[data-stage="abandoned"]');
    await page.waitForTimeout(500);
    const v = await page.evaluate(() => window.__vitals);
    lcp.push(v.lcp);
    cls.push(v.cls);
    await context.close();
  }
  return { lcp_ms_median: median(lcp), lcp_ms_p75: p75(lcp), cls_max: Math.max(...cls), loads };
}

export async function adminBench({ journeys = 240, loads = 7 } = {}) {
  const size = bundleSize();
  const app = await startInstalledApp({ playbook: { ...TEST_PLAYBOOK, holdout_percent: 10 } });
  const browser = await launch();
  try {
    await fill(app, journeys);
    const v = await vitals(app, browser, loads);
    return [
      {
        what: "admin page JS + CSS",
        measured: `${(size.js_css_gzip / KIB).toFixed(1)} KiB gzip (${(size.raw / KIB).toFixed(0)} KiB raw; HTML ${size.html_gzip} B)`,
        budget: "≤ 80 KiB gzip",
        ok: size.js_css_gzip <= 80 * KIB,
      },
      {
        what: `admin dashboard LCP, 90-day range, ${journeys} journeys`,
        measured: `median ${v.lcp_ms_median.toFixed(0)} ms, p75 ${v.lcp_ms_p75.toFixed(0)} ms (${v.loads} loads)`,
        budget: "≤ 1000 ms",
        ok: v.lcp_ms_p75 <= 1000,
      },
      {
        what: "admin dashboard CLS",
        measured: `max ${v.cls_max.toFixed(3)} (${v.loads} loads)`,
        budget: "≤ 0.05",
        ok: v.cls_max <= 0.05,
      },
    ];
  } finally {
    await browser.close();
    await app.mf.dispose();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await adminBench();
  for (const r of rows) console.log(`${r.ok ? "ok  " : "OVER"} ${r.what}: ${r.measured} (budget ${r.budget})`);
}
