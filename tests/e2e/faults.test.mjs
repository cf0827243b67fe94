// 200 journeys of two steps against a Graph API that answers 20 % of sends with a 5xx, 5 % with
// 130429, holds 10 % of its answers up to 3 s (past the Worker's 2 s send timeout for a third of
// them) and, for 2 %, accepts the message and never answers in time. No message may be accepted
// twice, every definite refusal must be retried (or end failed at the last attempt), and every
// step that came due must end sent, skipped, failed or unknown, as the dashboard reports it.
import { afterAll, beforeAll, expect, test } from "vitest";
import { startApp } from "./harness.mjs";
import { MAX_ATTEMPTS, formatTable, runFaultJourneys } from "./faults.mjs";

const JOURNEYS = 200;
let app;
let report;

beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  app.graph.releaseHeld();
  expect(app.graph.invalid).toEqual([]);
  expect(app.shopify.invalid).toEqual([]);
  expect(app.unexpected).toEqual([]);
  await app.mf.dispose();
});

test(`${JOURNEYS} journeys through a failing Graph API: no message twice, refusals retried, outcomes reconcile`, async () => {
  report = await runFaultJourneys(app, { journeys: JOURNEYS });
  const { injected, table } = report;
  console.log(
    `faults: ${report.journeys} journeys, ${report.sends} sends in ${(report.resolvedMs / 1000).toFixed(1)} s ` +
      `(ingest ${(report.ingestedMs / 1000).toFixed(1)} s); injected ${JSON.stringify(injected)}; ` +
      `${report.accepted} accepted by Meta; ${report.refusals} refusals: ${report.retried} retried, ` +
      `${report.failedAtMax} failed at attempt ${MAX_ATTEMPTS}, ${report.supersededAfterRefusal} superseded, ` +
      `${report.lostRefusals} lost (answer held past the timeout); ${report.late} given up on although answered in time\n` +
      `${formatTable(report)}`,
  );

  // Everything resolved, and the fault mode really did fail sends.
  expect(report.open).toBe(0);
  expect(injected.server_error).toBeGreaterThan(0);
  expect(injected.throttled).toBeGreaterThan(0);
  expect(injected.blackhole).toBeGreaterThan(0);
  expect(injected.delayed_past_timeout).toBeGreaterThan(0);

  // Never a message accepted twice, for any journey's step or any phone's step.
  expect(report.duplicates).toEqual([]);
  expect(report.phoneDuplicates).toEqual([]);
  // Each step's outcome is what the fake's answers imply: definite refusals retried (or failed
  // at the last attempt), accepted ones sent, lost ones unknown and never repeated.
  expect(report.violations).toEqual([]);
  expect(report.retried).toBeGreaterThan(0);
  // Unknown although the fake answered well within the timeout: the Worker's isolate (one
  // thread for the Worker and all its objects in workerd) was too busy to take the answer
  // within the harness's 2 s. Safe, as it is never repeated, and none on an idle machine; on a
  // loaded one it happens, so only a Worker that loses most answers fails here.
  if (report.late) console.warn(`given up on although answered in time (a busy machine):\n${report.lateCases.join("\n")}`);
  expect(report.late).toBeLessThan(report.sends * 0.5);

  // Reconciliation, as the journeys list shows it: every due step ended one way.
  for (const row of table) {
    expect(row.due, row.step).toBe(JOURNEYS);
    expect(row.other, row.step).toBe(0);
    expect(row.sent + row.skipped + row.failed + row.unknown, row.step).toBe(row.due);
  }
  // And as the dashboard counts it, as far as it counts: messages sent and steps skipped.
  for (const row of table) {
    expect(row.metrics.messaged, row.step).toBe(row.sent);
    expect(row.metrics.skipped, row.step).toBe(row.skipped);
  }
}, 150_000);

// The dashboard's per-step counts: `failed` and `unknown` are steps that ended so.
test("the dashboard's per-step counts reconcile: messaged + skipped + failed + unknown = due", () => {
  for (const row of report.table) {
    expect(row.metrics.failed, row.step).toBe(row.failed);
    expect(row.metrics.unknown, row.step).toBe(row.unknown);
    expect(row.metrics.messaged + row.metrics.skipped + row.metrics.failed + row.metrics.unknown, row.step).toBe(row.due);
  }
});
