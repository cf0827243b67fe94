// `make bench`: every figure of the performance budgets (docs/budgets.md, DESIGN.md §10), measured
// on the built Worker in workerd with the same fakes as the tests. Prints a table (what, measured,
// budget, ok) and writes every figure to bench-results/bench.json. BENCH_ONLY=ingest,burst,... runs
// some sections only (names: core, bundle, ingest, counts, alarms, burst, faults, admin, dev,
// optimizer), replacing just those in the file.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { installShop, shopifyWebhook, startApp } from "../e2e/harness.mjs";
import { checkoutOf } from "../e2e/meta.mjs";
import { runFaultJourneys } from "../e2e/faults.mjs";
import { adminBench } from "./admin.mjs";
import { ingestCounts, summarize } from "./counting.mjs";
import { devLoop } from "./dev.mjs";
import { ingest, throughput } from "./ingest.mjs";
import { ledgerRows } from "./ledger-rows.mjs";

const root = new URL("../../", import.meta.url).pathname;
const KIB = 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (values, p) => values.slice().sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];
const phoneOf = (i) => `+14165${String(600000 + i)}`;
const pct = (x) => `${(x * 100).toFixed(0)} %`;

/** `cargo bench --bench core` (benches/core.rs): decision, parse and state per cart, natively. */
function core() {
  const out = execFileSync("cargo", ["bench", "--locked", "--quiet", "--bench", "core"], { cwd: root, encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").at(-1));
}

/** The Worker as uploaded: the wasm and its JS glue, gzip level 9. */
function bundle() {
  const files = ["build/index_bg.wasm", "build/index.js"].map((f) => readFileSync(`${root}${f}`));
  return { raw_bytes: files.reduce((n, b) => n + b.length, 0), gzip_bytes: files.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0) };
}

/** The median, 99th percentile and largest of `late` (ms), in whole milliseconds. */
const lateness = (late) => ({ p50_ms: Math.round(percentile(late, 50)), p99_ms: Math.round(percentile(late, 99)), max_ms: Math.round(Math.max(...late)) });

/** Carts due every 25 ms (below the pace): how late is each message after its due time? */
async function alarms() {
  const carts = 300;
  const app = await startApp({ settingsFreshMs: null });
  await installShop(app.kv, { delaySeconds: 20 });
  const start = Date.now();
  const due = new Map();
  await throughput(carts, 16, (i) => {
    const updatedAt = new Date(start + i * 25);
    due.set(phoneOf(i), updatedAt.getTime() + 20_000);
    return shopifyWebhook(app, "checkouts/update", checkoutOf(phoneOf(i), { updatedAt }));
  });
  while (app.graph.messages.length < carts && Date.now() - start < 60_000) await sleep(250);
  const late = app.graph.messages.map((m) => m.at - due.get(m.to));
  await app.mf.dispose();
  return { carts, sent: late.length, ...lateness(late) };
}

/**
 * Carts due in the same second against an 80 msg/s limit (BURST_CARTS, 2,000 by default). The
 * ledger's database is kept on disk, so that each send can be set beside the pacing slot its step
 * held when it was scheduled and the one the gate granted it (they differ when a cart woke late).
 */
async function burst() {
  const carts = Number(process.env.BURST_CARTS || 2000);
  const limit = 80;
  const persistRoot = mkdtempSync(join(tmpdir(), "cartback-burst-"));
  const app = await startApp({ settingsFreshMs: null, persistRoot });
  await installShop(app.kv, { delaySeconds: 90, record: { messages_per_second: limit } });
  app.graph.setRateLimit(limit);
  const updatedAt = new Date();
  const tokenOf = new Map();
  await throughput(carts, 32, (i) => {
    const checkout = checkoutOf(phoneOf(i), { updatedAt });
    tokenOf.set(phoneOf(i), checkout.token);
    return shopifyWebhook(app, "checkouts/update", checkout);
  });
  // Read before the first is due (90 s after the checkouts), while every step holds its slot.
  const held = new Map(ledgerRows(persistRoot, "SELECT checkout_token AS t, at_us FROM slots WHERE used = 0").map((r) => [r.t, r.at_us / 1000]));
  const deadline = updatedAt.getTime() + 90_000 + (carts / limit) * 2000;
  while (app.graph.messages.length < carts && Date.now() < deadline) await sleep(1000);
  await sleep(3000);
  // A step's grants, the last one being the slot it went in.
  const granted = new Map(ledgerRows(persistRoot, "SELECT checkout_token AS t, max(slot_at) AS slot_at FROM sends GROUP BY checkout_token").map((r) => [r.t, r.slot_at]));
  const times = app.graph.messages.map((m) => m.at).sort((a, b) => a - b);
  const second = (t) => Math.floor((t - times[0]) / 1000);
  const perSecond = new Map();
  for (const t of times) perSecond.set(second(t), (perSecond.get(second(t)) ?? 0) + 1);
  // Full seconds only: the first two fill as the alarms wake, the last is partial.
  const full = [...perSecond.entries()].filter(([s]) => s > 1 && s < second(times.at(-1))).map(([, n]) => n);
  const sustained = full.reduce((a, b) => a + b, 0) / full.length;
  const unique = new Set(app.graph.messages.map((m) => m.to)).size;
  await app.mf.dispose();
  rmSync(persistRoot, { recursive: true, force: true });
  // How long after its slot each message reached the Graph API: the slot held from scheduling,
  // and the slot granted (later, when the cart woke too late to keep its own).
  const after = (slots) => {
    const late = app.graph.messages.flatMap((m) => (slots.has(tokenOf.get(m.to)) ? [m.at - slots.get(tokenOf.get(m.to))] : []));
    return { measured: late.length, ...lateness(late), within_1s: late.filter((l) => l <= 1000).length };
  };
  return {
    carts,
    limit_per_second: limit,
    sent: app.graph.messages.length,
    lost: carts - unique,
    duplicated: app.graph.messages.length - unique,
    refused_130429: app.graph.rejected.length,
    sustained_per_second: sustained,
    share_of_limit: sustained / limit,
    per_second: [...perSecond.entries()].sort(([a], [b]) => a - b).map(([, n]) => n),
    after_held_slot: after(held),
    after_granted_slot: after(granted),
  };
}

/** Journeys against a failing Graph API (tests/e2e/faults.mjs; FAULT_JOURNEYS to change). */
async function faults() {
  const app = await startApp({ settingsFreshMs: null });
  const r = await runFaultJourneys(app, { journeys: Number(process.env.FAULT_JOURNEYS || 1000), deadlineMs: 300_000, stepDelays: [45, 51] });
  app.graph.releaseHeld();
  await app.mf.dispose();
  const reconciled = r.open === 0 && r.table.every((s) => s.due === r.journeys && s.sent + s.skipped + s.failed + s.unknown === s.due);
  return {
    journeys: r.journeys, sends: r.sends, injected: r.injected, seconds: r.resolvedMs / 1000, duplicated: r.duplicates.length,
    retried: r.retried, late: r.late, failed_at_max: r.failedAtMax, violations: r.violations, reconciled, steps: r.table,
  };
}

/**
 * The optimizer's native simulation with a known truth: runs `cargo bench --bench optimizer` once
 * benches/optimizer.rs exists. Its last line of output is read as JSON with
 * `regret_vs_random` (its regret over 5,000 journeys as a share of uniformly random choice's) and
 * `best_chosen_last_1000` (share of the last 1,000 journeys given the best option).
 */
function optimizerSimulation() {
  if (!existsSync(`${root}benches/optimizer.rs`)) return null;
  const out = execFileSync("cargo", ["bench", "--locked", "--quiet", "--bench", "optimizer"], { cwd: root, encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").at(-1));
}

const sections = { core, bundle, ingest, counts: ingestCounts, alarms, burst, faults, admin: adminBench, dev: devLoop, optimizer: optimizerSimulation };
const only = process.env.BENCH_ONLY?.split(",");
const results = {};
for (const [name, run] of Object.entries(sections)) {
  if (only && !only.includes(name)) continue;
  process.stderr.write(`bench: ${name}\n`);
  results[name] = await run();
}

function rows(r) {
  const out = [];
  const row = (what, measured, budget, ok) => out.push([what, measured, budget, ok === undefined ? "" : ok ? "ok" : "OVER"]);
  if (r.ingest) {
    const i = r.ingest;
    row(
      `webhook ingest vs minimal JS Worker, ${i.rounds}+${i.rounds} rounds`,
      `median ${pct(i.ratio_median)} (${pct(i.ratio_min)}–${pct(i.ratio_max)}); ${i.cartback_rps.toFixed(0)} vs ${i.baseline_js_rps.toFixed(0)} req/s`,
      "≥ 80 %",
      i.ratio_median >= 0.8,
    );
    const cpu = (side) => {
      const c = i.cpu_ms_per_request[side];
      return `${(c.workerd_user + c.workerd_system).toFixed(1)} ms (${c.workerd_system.toFixed(1)} in the kernel)`;
    };
    row("ingest: workerd CPU per webhook", `${cpu("cartback")} vs ${cpu("baseline")} (JS); load generator ${i.cpu_ms_per_request.cartback.load_generator.toFixed(1)} ms`, "measured");
    const c = i.cold_start;
    row("cold start: first request of a fresh isolate", `${c.cartback_first_request_ms.toFixed(0)} ms vs ${c.baseline_first_request_ms.toFixed(0)} ms (JS)`, "measured");
    row("cold start: workerd ready with the script loaded", `${c.cartback_ready_ms.toFixed(0)} ms vs ${c.baseline_ready_ms.toFixed(0)} ms (JS)`, "measured");
  }
  if (r.counts)
    for (const kind of ["first", "duplicate", "update"])
      row(`calls per checkout event: ${kind}`, `${summarize(r.counts[kind])} (${r.counts[kind].median_ms.toFixed(1)} ms)`, "measured");
  if (r.core) {
    const c = r.core;
    row("core decision, 50-line checkout", `${c.core_decision_us.toFixed(1)} µs`, "≤ 50 µs", c.core_decision_us <= 50);
    row("parse + decide", `${(c.core_decision_us + c.webhook_parse_us).toFixed(0)} µs (parse ${c.webhook_parse_us.toFixed(0)} µs, ${c.webhook_bytes} B)`, "≤ 100 µs", c.core_decision_us + c.webhook_parse_us <= 100);
    row("state per cart", `${c.state_per_cart_bytes} B`, "≤ 4096 B", c.state_per_cart_bytes <= 4096);
  }
  if (r.bundle)
    row("Worker bundle", `${(r.bundle.gzip_bytes / KIB).toFixed(0)} KiB gzip (${(r.bundle.raw_bytes / KIB).toFixed(0)} KiB raw)`, "≤ 700 KiB gzip", r.bundle.gzip_bytes <= 700 * KIB);
  if (r.alarms) {
    const a = r.alarms;
    row("alarm lateness, due → Graph API", `p50 ${a.p50_ms} ms, p99 ${a.p99_ms} ms, max ${a.max_ms} ms (${a.sent}/${a.carts})`, "p99 ≤ 500 ms", a.p99_ms <= 500 && a.sent === a.carts);
  }
  if (r.burst) {
    const b = r.burst;
    row(
      `burst of ${b.carts} carts at 80 msg/s`,
      `${b.sustained_per_second.toFixed(1)} msg/s (${pct(b.share_of_limit)}), lost ${b.lost}, duplicated ${b.duplicated}, refused ${b.refused_130429}`,
      "≥ 95 %, 0, 0, 0",
      b.share_of_limit >= 0.95 && b.lost === 0 && b.duplicated === 0 && b.refused_130429 === 0,
    );
    const [h, g] = [b.after_held_slot, b.after_granted_slot];
    if (h && g)
      row(
        "burst: each send after its slot (held from scheduling / granted)",
        `within 1 s: ${h.within_1s} / ${g.within_1s} of ${b.sent}; p50 ${h.p50_ms} / ${g.p50_ms} ms, p99 ${h.p99_ms} / ${g.p99_ms} ms, max ${h.max_ms} / ${g.max_ms} ms`,
        "each within 1 s",
        h.within_1s === b.sent,
      );
  }
  if (r.faults) {
    const f = r.faults;
    row(
      `${f.journeys} journeys, failing Graph API`,
      `duplicated ${f.duplicated}, retried ${f.retried}, late ${f.late}, violations ${f.violations.length}, reconciled ${f.reconciled ? "yes" : "no"} (${f.seconds.toFixed(0)} s)`,
      "0, –, few, 0, yes",
      f.duplicated === 0 && f.violations.length === 0 && f.reconciled,
    );
  }
  for (const a of r.admin ?? []) row(a.what, a.measured, a.budget, a.ok);
  if (r.dev) {
    const d = r.dev;
    row("make dev ready (demo shop installed), built tree", `${d.ready_s.toFixed(1)} s, Worker builds ${d.worker_builds_at_start}`, "≤ 30 s, 0 builds", d.ready_s <= 30 && d.worker_builds_at_start === 0);
    row("unchanged Worker / admin page rebuilt by make", `${d.worker_up_to_date ? "no" : "yes"} / ${d.page_up_to_date ? "no" : "yes"}`, "no / no", d.worker_up_to_date && d.page_up_to_date);
    if (d.rebuild_s !== undefined)
      row("make dev: one Rust source changed", `${d.worker_builds_after_change} build(s), reloaded after ${d.rebuild_s.toFixed(0)} s`, "1 build", d.worker_builds_after_change === 1);
  }
  if ("optimizer" in r) {
    const o = r.optimizer;
    if (o) row(`optimizer simulation, 5,000 journeys, mean of ${o.seeds ?? "?"} seeds`, `regret ${pct(o.regret_vs_random)} ± ${pct(o.regret_vs_random_standard_error ?? 0)} of random's (worst ${pct(o.regret_vs_random_worst)}); best chosen ${pct(o.best_chosen_last_1000)} of last 1,000 (worst ${pct(o.best_chosen_last_1000_worst)})`, "≤ 25 %; ≥ 80 %", o.regret_vs_random <= 0.25 && o.best_chosen_last_1000 >= 0.8);
    else row("optimizer simulation, 5,000 journeys", "not measured yet (no benches/optimizer.rs)", "≤ 25 %; ≥ 80 %");
    if (o?.choose_us_largest_playbook != null) row("one choice (native): simulated playbook; largest valid playbook", `${o.choose_us_simulated_playbook.toFixed(0)} µs; ${(o.choose_us_largest_playbook / 1000).toFixed(1)} ms`, "measured");
  }
  return out;
}

const table = rows(results);
const header = ["what", "measured", "budget", "ok"];
const width = header.map((h, c) => Math.max(h.length, ...table.map((r) => r[c].length)));
console.log(header.map((h, c) => h.padEnd(width[c])).join(" | "));
console.log(width.map((w) => "-".repeat(w)).join("-|-"));
for (const r of table) console.log(r.map((v, c) => v.padEnd(width[c])).join(" | "));
mkdirSync(`${root}bench-results`, { recursive: true });
// A run of some sections only replaces those sections of the last full run's file.
const file = `${root}bench-results/bench.json`;
const kept = only && existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
writeFileSync(file, JSON.stringify({ ...kept, ...results, measured_at: new Date().toISOString() }, null, 2));
console.log("written to bench-results/bench.json");
