// A local stand-in for Shopify's App Bridge (cdn.shopify.com/shopifycloud/app-bridge.js), for the
// browser tests and `make dev`: the `shopify` global with real session tokens for the shop in the
// page's query (signed by whoever serves `session-token` next to this script), the admin's
// locale, the contextual save bar, toasts and web vitals.
(() => {
  const here = new URL(".", document.currentScript.src);
  const query = new URLSearchParams(location.search);
  const shop = query.get("shop") || "";
  const apiKey = document.querySelector('meta[name="shopify-api-key"]')?.content || "";

  // Each call gets its own token, signed moments before: they come a few at a time, as the page
  // asks for several at once, and one left unused for 20 s is thrown away.
  let pool = [];
  let refill = null;
  async function fill() {
    const res = await fetch(new URL(`session-token?shop=${encodeURIComponent(shop)}&count=8`, here), { cache: "no-store" });
    if (!res.ok) throw new Error(`session token: HTTP ${res.status}`);
    const at = Date.now();
    pool.push(...(await res.json()).tokens.map((token) => ({ token, at })));
  }
  async function idToken() {
    for (;;) {
      pool = pool.filter((t) => Date.now() - t.at < 20_000);
      const next = pool.shift();
      if (next) return next.token;
      refill ??= fill().finally(() => (refill = null));
      await refill;
    }
  }

  // The contextual save bar: a <ui-save-bar id> whose buttons are the page's own.
  const barCss = `
    :host { display: none; }
    :host([data-shown]) { display: block; position: fixed; inset: 0 0 auto 0; z-index: 1000; }
    .bar { display: flex; align-items: center; gap: 8px; padding: 8px 16px; background: #1a1a1a; color: #fff;
      font: 600 14px/1.4 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, sans-serif; }
    .bar span { flex: 1; }
    ::slotted(button) { font: inherit; border-radius: 8px; padding: 6px 12px; border: 1px solid #8a8a8a; background: #303030; color: #fff; cursor: pointer; }
    ::slotted(button[variant="primary"]) { background: #fff; color: #1a1a1a; border-color: #fff; }
    ::slotted(button:focus-visible) { outline: 2px solid #79a7ff; outline-offset: 2px; }
    ::slotted(button[disabled]) { opacity: .6; }`;
  class SaveBar extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return;
      this.attachShadow({ mode: "open" }).innerHTML =
        `<style>${barCss}</style><div class="bar" role="region" aria-label="Unsaved changes"><span>Unsaved changes</span><slot></slot></div>`;
    }
  }
  customElements.define("ui-save-bar", SaveBar);
  const bar = (id) => {
    const el = document.getElementById(id);
    if (!el) return Promise.reject(new Error(`no ui-save-bar #${id}`));
    return el;
  };
  const saveBar = {
    async show(id) {
      (await bar(id)).setAttribute("data-shown", "");
    },
    async hide(id) {
      document.getElementById(id)?.removeAttribute("data-shown");
    },
    async toggle(id) {
      (await bar(id)).toggleAttribute("data-shown");
    },
  };

  let toasts;
  const toast = {
    show(message, { isError = false, duration = 4000 } = {}) {
      if (!toasts) {
        toasts = document.createElement("div");
        toasts.setAttribute("role", "status");
        toasts.setAttribute("aria-live", "polite");
        toasts.style.cssText = "position:fixed;bottom:16px;left:50%;transform:translateX(-50%);z-index:1001;display:grid;gap:8px;font:14px -apple-system,Segoe UI,Roboto,sans-serif";
        document.body.append(toasts);
      }
      const item = document.createElement("div");
      item.textContent = message;
      item.dataset.toast = isError ? "error" : "info";
      item.style.cssText = `padding:10px 16px;border-radius:10px;color:#fff;background:${isError ? "#8e1f0b" : "#1a1a1a"}`;
      toasts.append(item);
      setTimeout(() => item.remove(), duration);
    },
  };

  // Web vitals as App Bridge reports them: {id, name, value}.
  const reporters = new Set();
  const metrics = {};
  const record = (name, value) => {
    metrics[name] = { id: `v1-${name}-${Date.now()}`, name, value };
  };
  let flushed = false;
  const flush = () => {
    if (flushed) return;
    flushed = true;
    for (const m of Object.values(metrics)) for (const cb of reporters) cb(m);
  };
  try {
    let cls = 0;
    new PerformanceObserver((l) => l.getEntries().forEach((e) => record("LCP", e.startTime))).observe({ type: "largest-contentful-paint", buffered: true });
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) if (!e.hadRecentInput) cls += e.value;
      record("CLS", cls);
    }).observe({ type: "layout-shift", buffered: true });
    new PerformanceObserver((l) => l.getEntries().forEach((e) => e.name === "first-contentful-paint" && record("FCP", e.startTime))).observe({ type: "paint", buffered: true });
    let inp = 0;
    new PerformanceObserver((l) => l.getEntries().forEach((e) => (inp = Math.max(inp, e.duration), record("INP", inp)))).observe({ type: "event", buffered: true, durationThreshold: 16 });
    addEventListener("load", () => {
      const nav = performance.getEntriesByType("navigation")[0];
      if (nav) record("TTFB", nav.responseStart);
      record("CLS", cls);
    });
  } catch {
    // An engine without these entry types reports nothing.
  }
  addEventListener("visibilitychange", () => document.visibilityState === "hidden" && flush());
  addEventListener("pagehide", flush);
  const webVitals = {
    onReport(cb) {
      if (cb === null) reporters.clear();
      else reporters.add(cb);
    },
    // Not in App Bridge: lets a test or the demo report without leaving the page.
    flush,
  };

  // Navigation inside the app, as the admin's side menu triggers it.
  const push = history.pushState.bind(history);
  history.pushState = (...args) => {
    push(...args);
    dispatchEvent(new Event("standin:navigated"));
  };

  window.shopify = {
    idToken,
    config: { apiKey, shop, host: query.get("host") || "", locale: query.get("locale") || navigator.language || "en" },
    saveBar,
    toast,
    webVitals,
  };
})();
