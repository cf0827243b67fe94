// Web vitals as App Bridge measures them, sent to the Worker, which keeps their p75.
const NAMES = new Set(["LCP", "CLS", "INP", "FCP", "TTFB"]);

export function reportWebVitals() {
  shopify.webVitals?.onReport((metric) => {
    if (!NAMES.has(metric.name) || !Number.isFinite(metric.value)) return;
    void shopify
      .idToken()
      .then((token) =>
        fetch("/api/web-vitals", {
          method: "POST",
          keepalive: true,
          headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
          body: JSON.stringify({ name: metric.name, value: metric.value }),
        }),
      )
      .catch(() => undefined);
  });
}
