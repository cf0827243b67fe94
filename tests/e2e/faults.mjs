// Journeys against a Graph API that fails: seeded 5xx, 130429, slow answers and answers that
// never come (tests/fakes/graph.mjs `setFaults`). Shared by tests/e2e/faults.test.mjs (200
// journeys) and `make bench` (1,000). It runs the journeys to completion and works out, from
// what the fake decided and what the Worker reports, every journey's expected outcome.
import { createHash } from "node:crypto";
import { SHOP, adminApi, installShop, seal, sessionToken, shopifyWebhook, sleep } from "./harness.mjs";
import { checkoutOf } from "./meta.mjs";

/** The Worker's send timeout in the harness (`WHATSAPP_SEND_TIMEOUT_MS` in startApp). */
export const SEND_TIMEOUT_MS = 2000;
/** An answer held this close to the timeout may land on either side of it. */
const EARLY_MARGIN_MS = 700;
/** `journey::MAX_ATTEMPTS`: transient refusals are retried up to this many attempts in all. */
export const MAX_ATTEMPTS = 5;
/** `GET /api/journeys` lists at most this many journeys of a shop, so each shop gets as many. */
const JOURNEYS_PER_SHOP = 200;
const OPEN = new Set(["pending", "gating", "discounting", "imaging", "granted", "attempting"]);

export const FAULTS = {
  serverError: 0.2,
  throttled: 0.05,
  delayShare: 0.1,
  delayMaxMs: 3000,
  blackhole: 0.02,
  blackholeMs: SEND_TIMEOUT_MS + 2000,
};

// Two steps a few seconds apart, counted from the checkout's last activity (by default 8 s and
// 14 s: 200 checkouts are in before the first comes due).
const STEP_IDS = ["first", "second"];
const stepsOf = (delays) => STEP_IDS.map((id, n) => ({
  id,
  delay_seconds: delays[n],
  template: { name: "cart_reminder", languages: ["en_US"] },
  body_params: ["first_name", "top_item_title", "cart_total"],
  button_url_param: "recovery_token",
}));


const shopOf = (k) => (k === 0 ? SHOP : `fault-shop-${k}.myshopify.com`);
const numberOf = (k) => String(318462950071245 + 1000 + k);
const tokenOf = (k) => `EAAfault-token-${k}`;
const phoneOf = (i) => `+1416557${String(i).padStart(4, "0")}`;
// Checkout tokens from the seed: the fake's faults are drawn per send identity, which the
// callback data (checkout token and step) names, so one seed gives one set of faults.
const tokenOfJourney = (seed, i) => createHash("sha256").update(`${seed}:${i}`).digest("hex").slice(0, 32);
const stepOf = (callback) => /;step=([^;]+)/.exec(callback ?? "")?.[1];
const checkoutOfCallback = (callback) => /;checkout=([^;]+)/.exec(callback ?? "")?.[1];

async function pool(count, concurrency, run) {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await run(next++);
  }));
}

async function listJourneys(app, shop, status = "all") {
  const res = await adminApi(app, `/api/journeys?status=${status}`, { token: sessionToken({ shop }) });
  if (res.status !== 200) throw new Error(`GET /api/journeys for ${shop} answered ${res.status}`);
  return (await res.json()).journeys;
}

async function stepMetrics(app, shop) {
  const res = await adminApi(app, "/api/metrics?by=step", { token: sessionToken({ shop }) });
  if (res.status !== 200) throw new Error(`GET /api/metrics for ${shop} answered ${res.status}`);
  return (await res.json()).breakdown;
}

/**
 * Starts `journeys` abandoned checkouts (one phone each) on shops of up to 200 journeys with
 * their own WhatsApp numbers, with the fake failing as `faults` says, and waits until every
 * step of every journey is resolved (or `deadlineMs` passes). Returns what happened.
 * `stepDelays`: the two steps' delays in seconds; longer for more journeys, so the checkouts
 * are in before the sends begin (workerd runs the Worker and every object on one thread, and
 * sends behind a queue of webhooks miss the harness's 2 s send timeout).
 */
export { tokenOfJourney, numberOf, phoneOf };

export async function runFaultJourneys(app, { journeys = 200, seed = 20261126, faults = FAULTS, deadlineMs = 100_000, stepDelays = [8, 14] } = {}) {
  const started = Date.now();
  const shops = Math.ceil(journeys / JOURNEYS_PER_SHOP);
  for (let k = 0; k < shops; k++) {
    app.graph.accounts.addNumber({ phoneNumberId: numberOf(k), accessToken: tokenOf(k) });
    await installShop(app.kv, {
      shop: shopOf(k),
      playbook: { steps: stepsOf(stepDelays) },
      record: { whatsapp: { phone_number_id: numberOf(k), waba_id: "102290129340398", access_token: seal(tokenOf(k)) } },
    });
    await app.kv.put(`wa:${numberOf(k)}`, shopOf(k));
  }
  app.graph.setFaults({ seed, ...faults });

  // Shopify delivers concurrently; each checkout's steps count from its own last activity.
  const checkouts = new Map(); // checkout token -> { phone, shop }
  await pool(journeys, 8, async (i) => {
    const k = Math.floor(i / JOURNEYS_PER_SHOP);
    const checkout = checkoutOf(phoneOf(i), { token: tokenOfJourney(seed, i), updatedAt: new Date() });
    // Its links name its own shop (a checkout naming another shop is ignored).
    checkout.abandoned_checkout_url = checkout.abandoned_checkout_url.replace(SHOP, shopOf(k));
    checkouts.set(checkout.token, { phone: phoneOf(i), shop: shopOf(k) });
    const res = await shopifyWebhook(app, "checkouts/update", checkout, { shop: shopOf(k) });
    if (res.status !== 200) throw new Error(`checkout webhook answered ${res.status}`);
  });
  const ingestedMs = Date.now() - started;

  // Until no journey is active, that is every step of every journey is resolved. Listing opens
  // every sealed summary in the shop's ledger, which then answers nothing else, so it is asked
  // for the active ones only, and less often the more there are.
  const pollMs = Math.max(1000, journeys * 5);
  await sleep(stepDelays[0] * 1000);
  while (Date.now() - started < deadlineMs) {
    await sleep(pollMs);
    const active = await Promise.all(Array.from({ length: shops }, (_, k) => listJourneys(app, shopOf(k), "active")));
    if (active.every((list) => list.length === 0)) break;
  }
  const resolvedMs = Date.now() - started;
  const listed = (await Promise.all(Array.from({ length: shops }, (_, k) => listJourneys(app, shopOf(k))))).flat();
  const open = journeys - listed.length + listed.flatMap((j) => j.steps).filter((s) => OPEN.has(s.state)).length;
  app.graph.setFaults(null);
  const metrics = await Promise.all(Array.from({ length: shops }, (_, k) => stepMetrics(app, shopOf(k))));
  return analyse(app, { journeys, shops, checkouts, listed, open, metrics, ingestedMs, resolvedMs, faults });
}

function analyse(app, { journeys, shops, checkouts, listed, open, metrics, ingestedMs, resolvedMs, faults }) {
  const numbers = new Set(Array.from({ length: shops }, (_, k) => numberOf(k)));
  const key = (checkout, step) => `${checkout}|${step}`;

  // Accepted by Meta (blackholed ones included): what may have reached the shopper.
  const accepted = new Map();
  for (const m of app.graph.messages.filter((m) => numbers.has(m.phoneNumberId))) {
    const k = key(checkoutOfCallback(m.body.biz_opaque_callback_data), stepOf(m.body.biz_opaque_callback_data));
    accepted.set(k, [...(accepted.get(k) ?? []), m]);
  }
  const duplicates = [...accepted.entries()].filter(([, list]) => list.length > 1).map(([k, list]) => ({ step: k, wamids: list.map((m) => m.wamid) }));
  const perPhoneStep = new Map();
  for (const m of app.graph.messages.filter((m) => numbers.has(m.phoneNumberId))) {
    const k = `${m.to}|${stepOf(m.body.biz_opaque_callback_data)}`;
    perPhoneStep.set(k, (perPhoneStep.get(k) ?? 0) + 1);
  }
  const phoneDuplicates = [...perPhoneStep.entries()].filter(([, n]) => n > 1);

  // What the fake decided for each attempt of each (journey, step), in order.
  const attempts = new Map();
  const log = app.graph.faults.log.filter((e) => numbers.has(e.phoneNumberId));
  for (const e of log) {
    const k = key(checkoutOfCallback(e.callback), stepOf(e.callback));
    attempts.set(k, [...(attempts.get(k) ?? []), e]);
  }
  for (const list of attempts.values()) list.sort((a, b) => a.attempt - b.attempt);
  const refusal = (e) => e.kind === "server_error" || e.kind === "throttled";
  // Held long enough that the Worker may have given up on it (a busy machine delays the way
  // back, so "well within the timeout" leaves a margin).
  const slow = (e) => e.holdMs > SEND_TIMEOUT_MS - EARLY_MARGIN_MS;

  const violations = [];
  const steps = new Map(STEP_IDS.map((id) => [id, { due: 0, sent: 0, skipped: 0, failed: 0, unknown: 0, other: 0 }]));
  let retried = 0;
  let failedAtMax = 0;
  let supersededAfterRefusal = 0;
  let lostRefusals = 0;
  let late = 0;
  const lateCases = [];
  const journeyTokens = new Set(listed.map((j) => j.checkout_token));
  for (const token of checkouts.keys()) if (!journeyTokens.has(token)) violations.push(`journey ${token} is not listed`);
  for (const j of listed.filter((j) => checkouts.has(j.checkout_token))) {
    for (const s of j.steps) {
      const row = steps.get(s.id);
      const k = key(j.checkout_token, s.id);
      const tries = attempts.get(k) ?? [];
      const where = `${j.phone} step ${s.id} (${s.state}${s.reason ? ` ${s.reason}` : ""}; attempts ${tries.map((t) => `${t.kind}/${t.holdMs}ms`).join(", ") || "none"})`;
      if (s.state !== "pending" && s.state !== "cancelled") row.due += 1;
      if (["sent", "skipped", "failed", "unknown"].includes(s.state)) row[s.state] += 1;
      else row.other += 1;

      // Safety, whatever the timing: only a refusal is ever followed by another attempt.
      tries.slice(0, -1).forEach((t) => {
        if (refusal(t)) retried += 1;
        else violations.push(`sent again after Meta ${t.kind === "ok" ? "accepted" : "accepted (answer held back)"} an attempt: ${where}`);
      });
      if (tries.length > MAX_ATTEMPTS) violations.push(`more than ${MAX_ATTEMPTS} attempts: ${where}`);
      const acceptedHere = accepted.get(k)?.length ?? 0;
      if (acceptedHere > 1) continue; // reported as a duplicate

      // The step's end follows from the last attempt.
      const lastTry = tries.at(-1);
      if (!lastTry) {
        if (s.state !== "skipped") violations.push(`${s.state} without any send: ${where}`);
        continue;
      }
      if (s.state === "sent") {
        if (refusal(lastTry) || acceptedHere !== 1) violations.push(`sent, but Meta accepted ${acceptedHere}: ${where}`);
      } else if (s.state === "failed") {
        if (!refusal(lastTry) || lastTry.attempt !== MAX_ATTEMPTS) violations.push(`failed before its last attempt, or after Meta accepted: ${where}`);
        else failedAtMax += 1;
      } else if (s.state === "skipped") {
        // A refused step waiting for its retry is superseded when a later step comes due with it.
        if (!refusal(lastTry) || s.reason !== "superseded") violations.push(`skipped after a send: ${where}`);
        else supersededAfterRefusal += 1;
      } else if (s.state === "unknown") {
        // Lost: never repeated. Expected when the answer was held back; an answer the fake gave
        // well within the timeout that the Worker still gave up on means the Worker was late.
        if (refusal(lastTry)) lostRefusals += 1;
        if (!slow(lastTry)) {
          late += 1;
          lateCases.push(where);
        }
      } else {
        violations.push(`unresolved: ${where}`);
      }
      // Liveness: a refusal the Worker saw in time was retried, or ended the step as failed.
      if (refusal(lastTry) && !slow(lastTry) && s.state !== "failed" && s.state !== "skipped" && s.state !== "unknown") {
        violations.push(`definite failure not retried: ${where}`);
      }
      if (lastTry.kind === "ok" && !slow(lastTry) && s.state !== "sent" && s.state !== "unknown") violations.push(`accepted in time but ${s.state}: ${where}`);
    }
  }

  // What GET /api/metrics?by=step reports, summed over the shops.
  const reported = new Map();
  for (const row of metrics.flat()) {
    const r = reported.get(row.key) ?? { messaged: 0, failed: 0, skipped: 0, unknown: undefined };
    r.messaged += row.messaged ?? 0;
    r.failed += row.failed ?? 0;
    r.skipped += row.skipped ?? 0;
    if (row.unknown !== undefined) r.unknown = (r.unknown ?? 0) + row.unknown;
    reported.set(row.key, r);
  }
  const table = STEP_IDS.map((id) => ({ step: id, ...steps.get(id), metrics: reported.get(id) ?? { messaged: 0, failed: 0, skipped: 0, unknown: undefined } }));

  const kinds = {};
  for (const e of log) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
  const delayed = log.filter((e) => e.kind !== "blackhole" && e.holdMs > 0).length;
  return {
    journeys,
    shops,
    open,
    ingestedMs,
    resolvedMs,
    faults,
    sends: log.length,
    injected: { ...kinds, delayed, delayed_past_timeout: log.filter((e) => e.kind !== "blackhole" && e.holdMs >= SEND_TIMEOUT_MS).length },
    accepted: [...accepted.values()].reduce((n, l) => n + l.length, 0),
    duplicates,
    phoneDuplicates,
    refusals: log.filter(refusal).length,
    retried,
    failedAtMax,
    supersededAfterRefusal,
    lostRefusals,
    late,
    lateCases,
    violations,
    table,
    invalid: app.graph.invalid.length,
  };
}

/** The reconciliation table, one line per step, for the logs. */
export function formatTable(report) {
  const lines = ["step    | due | sent | skipped | failed | unknown || metrics: messaged failed skipped unknown"];
  for (const r of report.table) {
    lines.push(
      `${r.step.padEnd(7)} | ${String(r.due).padStart(3)} | ${String(r.sent).padStart(4)} | ${String(r.skipped).padStart(7)} | ${String(r.failed).padStart(6)} | ${String(r.unknown).padStart(7)} || ` +
        `${String(r.metrics.messaged).padStart(17)} ${String(r.metrics.failed).padStart(6)} ${String(r.metrics.skipped).padStart(7)} ${String(r.metrics.unknown ?? "n/a").padStart(7)}`,
    );
  }
  return lines.join("\n");
}
