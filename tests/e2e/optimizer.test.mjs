// The optimizer end to end: a one-step playbook whose reminder may go after 1, 2 or 3 seconds,
// a 15-second attribution window, and scripted shoppers who buy far more often after the
// 2-second reminder. The second wave of carts already learns from the first while its windows
// are open (pending trials); once every window has closed, GET /api/optimization says what
// won, and every order, repeated or not, counts once.
import { afterAll, beforeAll, expect, test } from "vitest";
import { SHOP, adminApi, askLedger, checkoutPayload, installShop, messagesFor, orderPayload, sessionToken, shopifyWebhook, sleep, startApp } from "./harness.mjs";
import { checkoutOf, freshPhone } from "./meta.mjs";

const WINDOW_S = 15;
// A trial matures when its window closes plus a grace as long as the window.
const MATURE_MS = 2 * WINDOW_S * 1000 + 1500;

let app;
const token = () => sessionToken({ shop: SHOP });
const api = (path, options = {}) => adminApi(app, path, { token: token(), ...options });

beforeAll(async () => {
  app = await startApp();
  await installShop(app.kv, {
    playbook: {
      holdout_percent: 0,
      attribution_window_hours: WINDOW_S / 3600,
      optimize: { enabled: true, goal: "recoveries", explore_percent: 10 },
    },
  });
  const playbook = await (await api("/api/playbook")).json();
  playbook.steps[0].delay_options = [1, 2, 3];
  expect((await api("/api/playbook", { method: "PUT", body: playbook })).status).toBe(200);
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.unexpected).toEqual([]);
  await app.mf.dispose();
});

/** Starts `n` journeys now and, once every reminder has gone, notes the delay each ran with. */
async function wave(n, delayOf) {
  const updated = new Set();
  for (let i = 0; i < n; i++) {
    const checkout = checkoutOf(freshPhone(), checkoutPayload({ updatedAt: new Date() }));
    updated.add(checkout.token);
    expect((await shopifyWebhook(app, "checkouts/create", checkout)).status).toBe(200);
  }
  const tokens = [...updated];
  const opened = Date.now();
  for (let waited = 0; waited < 20 && tokens.some((t) => messagesFor(app.graph, t).length === 0); waited++) await sleep(500);
  const { journeys } = await (await api("/api/journeys?status=all")).json();
  for (const j of journeys.filter((j) => updated.has(j.checkout_token))) {
    delayOf.set(j.checkout_token, Number.parseInt(j.steps[0].options[0], 10));
  }
  expect(tokens.map((t) => delayOf.get(t)).filter((d) => ![1, 2, 3].includes(d))).toEqual([]);
  return { tokens, opened };
}

/** The scripted shoppers: 4 in 5 buy after the 2-second reminder, 1 in 10 after the others. */
function buyers(tokens, delayOf) {
  const seen = { 1: 0, 2: 0, 3: 0 };
  return tokens.filter((t) => {
    const d = delayOf.get(t);
    seen[d] += 1;
    return d === 2 ? seen[d] % 5 !== 0 : seen[d] % 10 === 0;
  });
}

async function order(checkoutToken) {
  const order = orderPayload(checkoutToken);
  order.created_at = new Date().toISOString();
  // Shopify delivers at least once: the same order twice counts once.
  for (let i = 0; i < 2; i++) expect((await shopifyWebhook(app, "orders/create", order)).status).toBe(200);
}

const share2 = (tokens, delayOf) => tokens.filter((t) => delayOf.get(t) === 2).length / tokens.length;

test("the optimizer learns the delay that brings carts back and says so", async () => {
  const delayOf = new Map();
  let bought = 0;
  // First wave: nothing learned yet, every delay about as likely.
  const first = await wave(40, delayOf);
  const firstBuyers = buyers(first.tokens, delayOf);
  await Promise.all(firstBuyers.map(order));
  bought += firstBuyers.length;
  // Second wave: the first's orders count already, its misses in part.
  const second = await wave(30, delayOf);
  const secondBuyers = buyers(second.tokens, delayOf);
  await Promise.all(secondBuyers.map(order));
  bought += secondBuyers.length;
  expect(share2(second.tokens, delayOf)).toBeGreaterThan(Math.max(0.6, share2(first.tokens, delayOf)));
  await sleep(Math.max(0, second.opened + MATURE_MS - Date.now()));

  const report = await (await api("/api/optimization")).json();
  expect(report.enabled).toBe(true);
  expect(report.attribution_window_hours).toBeCloseTo(WINDOW_S / 3600);
  const decision = report.decisions.find((d) => d.step === "reminder" && d.dimension === "delay");
  expect(decision.segment).toBe("large");
  expect(decision.would_choose).toBe("2s");
  const byOption = Object.fromEntries(decision.options.map((o) => [o.option, o]));
  expect(byOption["2s"].probability_best).toBeGreaterThan(0.9);
  const journeys = decision.options.reduce((sum, o) => sum + o.journeys, 0);
  const recoveries = decision.options.reduce((sum, o) => sum + o.recoveries, 0);
  expect(decision.options.filter((o) => o.pending)).toEqual([]); // all settled
  expect(journeys).toBe(70);
  expect(recoveries).toBe(bought);
  for (const o of decision.options) {
    expect(o.interval[0]).toBeLessThanOrEqual(o.mean);
    expect(o.mean).toBeLessThanOrEqual(o.interval[1]);
  }

  // Reset: nothing learned any more.
  const reset = await (await api("/api/optimization/reset", { method: "POST" })).json();
  expect(reset.decisions).toEqual([]);
}, 90_000);

test("a journey begun again before its save is measured with the options it runs", async () => {
  // A cart that restarts after the ledger indexed its journey and before its own save begins
  // the journey again when Shopify retries, with a new recovery link and perhaps other
  // options: the ledger's trial must be the one that runs. Told to the ledger as the cart
  // tells it, on a shop of its own.
  const shop = "renewed-journey.myshopify.com";
  await installShop(app.kv, {
    shop,
    playbook: { holdout_percent: 0, attribution_window_hours: 1, optimize: { enabled: true, goal: "recoveries", explore_percent: 10 } },
  });
  const shopApi = (path, options = {}) => adminApi(app, path, { token: sessionToken({ shop }), ...options });
  const playbook = await (await shopApi("/api/playbook")).json();
  playbook.steps[0].delay_options = [1, 2, 3];
  expect((await shopApi("/api/playbook", { method: "PUT", body: playbook })).status).toBe(200);

  const checkout_token = "renewed-checkout";
  const began = Date.now();
  const registration = (link, segment, delay) => ({
    registration: {
      checkout_token, cart_token: null, checkout_id: null, recovery_token: link, customer_id: null, locale: "en",
      phone: freshPhone(), holdout: false, segment, product: null, at: began,
      trial: {
        id: checkout_token, segment, holdout: false, opened_at: began, closes_at: began + 3_600_000,
        arms: [{ step: "reminder", dimension: "delay", option: `${delay}s` }], conversion: null, folded: false,
      },
    },
    checkout_token, facts: [], at: began, summary: null,
  });
  const delays = async () => {
    const report = await (await shopApi("/api/optimization")).json();
    return report.decisions
      .filter((d) => d.dimension === "delay")
      .flatMap((d) => d.options.filter((o) => o.journeys > 0).map((o) => [d.segment, o.option, o.journeys, o.recoveries]));
  };
  await askLedger(app, shop, "report", registration("link-first", "small", 1));
  expect(await delays()).toEqual([["small", "1s", 1, 0]]);
  // Begun again: another link, another segment and delay. Its trial takes the first's place.
  await askLedger(app, shop, "report", registration("link-again", "large", 3));
  expect(await delays()).toEqual([["large", "3s", 1, 0]]);
  // The same registration retried (same link) changes nothing, whatever it carries.
  await askLedger(app, shop, "report", registration("link-again", "medium", 2));
  expect(await delays()).toEqual([["large", "3s", 1, 0]]);
  // Once the trial has taught something (its order came), a later beginning leaves it be.
  const converted = { fact: "converted", revenue: { amount: "80.00", currency: "USD" }, at: began + 1000 };
  await askLedger(app, shop, "report", { checkout_token, facts: [converted], at: began + 1000, summary: null });
  expect(await delays()).toEqual([["large", "3s", 1, 1]]);
  await askLedger(app, shop, "report", registration("link-third", "small", 1));
  expect(await delays()).toEqual([["large", "3s", 1, 1]]);
});
