// Quiet hours on the shopper's own clock, read through the runtime's time-zone database: a
// step falling due inside them waits for their end, in the zone the phone's country (or the
// shop's zone) places the shopper in.
import { afterAll, beforeAll, expect, test } from "vitest";
import { SHOP, adminApi, installShop, sessionToken, shopifyWebhook, startApp } from "./harness.mjs";
import { checkoutOf } from "./meta.mjs";

const MINUTE = 60_000;
let app;
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.unexpected).toEqual([]);
  await app.mf.dispose();
});

/** How far `zone`'s clock is ahead of UTC at `at`, by Node's own copy of the database. */
function offsetMs(zone, at) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
    hour: "numeric", minute: "numeric", second: "numeric",
  }).formatToParts(at);
  const f = Object.fromEntries(parts.map((p) => [p.type, Number(p.value)]));
  const local = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
  return local - Math.floor(at / 1000) * 1000;
}

const hhmm = (localMs) => new Date(localMs).toISOString().slice(11, 16);

// Quiet hours from an hour before now to two hours after, on `zone`'s clock (wrapping
// midnight where they do), and the UTC instant they end there.
function windowAround(zone, now) {
  const base = Math.floor((now + offsetMs(zone, now)) / MINUTE) * MINUTE;
  const endLocal = base + 120 * MINUTE;
  const quiet = { start: hhmm(base - 60 * MINUTE), end: hhmm(endLocal) };
  return { quiet, ends: endLocal - offsetMs(zone, endLocal - offsetMs(zone, now)) };
}

async function deferredUntil(shop, token) {
  const { journeys } = await (await adminApi(app, "/api/journeys", { token: sessionToken({ shop }) })).json();
  const step = journeys.find((j) => j.checkout_token === token)?.steps[0];
  return Date.parse(step.due_at) > Date.now() + 30 * MINUTE ? step.due_at : null;
}

const cases = [
  // +91: India, one zone at +05:30.
  { name: "an Indian phone waits for the end on India's clock", phone: "+919812345678", shopZone: "Europe/Lisbon", zone: "Asia/Kolkata" },
  // +64 with the shop on the Chatham Islands, New Zealand's other clock (+12:45, +13:45 in summer).
  { name: "a New Zealand phone in a Chatham Islands shop waits for the end on Chatham time", phone: "+64211234567", shopZone: "Pacific/Chatham", zone: "Pacific/Chatham" },
  // +61 with a zone no database knows: Australia's main clock, Sydney's.
  { name: "an Australian phone, the shop's zone unknown, waits for the end on Sydney's clock", phone: "+61412345678", shopZone: "Mars/Olympus_Mons", zone: "Australia/Sydney" },
];

beforeAll(async () => {
  app = await startApp();
});

for (const [i, c] of cases.entries()) {
  test(c.name, async () => {
    // A shop each: a shop's ledger keeps its own record (and zone) once it has adopted one.
    const shop = `quiet-hours-${i}.myshopify.com`;
    const { quiet, ends } = windowAround(c.zone, Date.now());
    await installShop(app.kv, { shop, playbook: { quiet_hours: quiet }, record: { timezone: c.shopZone } });
    const checkout = checkoutOf(c.phone);
    checkout.abandoned_checkout_url = checkout.abandoned_checkout_url.replace(SHOP, shop);
    expect((await shopifyWebhook(app, "checkouts/update", checkout, { shop })).status).toBe(200);
    await expect.poll(() => deferredUntil(shop, checkout.token), { timeout: 10_000, interval: 200 }).toBe(new Date(ends).toISOString());
    expect(app.graph.messages.filter((m) => m.to?.replace("+", "") === c.phone.slice(1))).toEqual([]);
  });
}
