// Webhook ingest, cartback against the minimal JS Worker (baseline-worker.mjs), in alternating
// rounds of one run: each round starts a fresh workerd for each side (a local workerd runs short
// of SQLite memory with thousands of objects), times its first request (the cold start of a fresh
// isolate), warms up, then measures throughput. The order inside a round alternates too.
// Both sides run behind the same local asset router, as wrangler.toml deploys cartback.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Miniflare } from "miniflare";
import { ASSETS, SECRETS, installShop, shopifyWebhook, startApp } from "../e2e/harness.mjs";
import { checkoutOf } from "../e2e/meta.mjs";

const root = new URL("../../", import.meta.url).pathname;
export const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let phones = 0;
const nextPhone = () => `+1416${String(5_000_000 + phones++).padStart(7, "0")}`;

/** Runs `count` requests through `send`, `concurrency` at a time; requests per second. */
export async function throughput(count, concurrency, send) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const res = await send(next++);
        if (res.status !== 200) throw new Error(`answered ${res.status}`);
        await res.arrayBuffer();
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

/**
 * CPU milliseconds (user, system) the workerd processes this process started have used so
 * far, from /proc (clock ticks of 10 ms): the steadier figure behind a throughput ratio on a
 * shared machine, where the load generator takes its own share of the two cores.
 */
function workerdCpuMs() {
  let pids = [];
  try {
    pids = execFileSync("pgrep", ["-P", String(process.pid), "workerd"]).toString().trim().split("\n");
  } catch {
    return { user: NaN, system: NaN };
  }
  const cpu = { user: 0, system: 0 };
  for (const pid of pids) {
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    cpu.user += Number(fields[11]) * 10;
    cpu.system += Number(fields[12]) * 10;
  }
  return cpu;
}

const sides = {
  async cartback() {
    const app = await startApp({ settingsFreshMs: null });
    await installShop(app.kv, { delaySeconds: 3600 });
    return app;
  },
  async baseline() {
    const mf = new Miniflare({
      modules: true,
      scriptPath: `${root}tests/bench/baseline-worker.mjs`,
      compatibilityDate: "2026-04-20",
      durableObjects: { CART: { className: "Cart", useSQLite: true } },
      bindings: SECRETS,
      // Behind the same asset router as cartback (wrangler.toml's `assets`): Miniflare's two
      // Workers in front cost about 0.5 ms a request on either side (docs/budgets.md §4).
      assets: ASSETS,
    });
    return { mf, url: await mf.ready };
  },
};

async function round(side, { count, concurrency, warmup }) {
  const started = performance.now();
  const app = await sides[side]();
  const ready = performance.now();
  const webhook = () => shopifyWebhook(app, "checkouts/update", checkoutOf(nextPhone()));
  const first = performance.now();
  const res = await webhook();
  await res.arrayBuffer();
  const firstMs = performance.now() - first;
  await throughput(warmup, concurrency, webhook);
  const [cpu0, own0] = [workerdCpuMs(), process.cpuUsage()];
  const rps = await throughput(count, concurrency, webhook);
  const [cpu1, own] = [workerdCpuMs(), process.cpuUsage(own0)];
  await app.mf.dispose();
  return {
    rps,
    ready_ms: ready - started,
    first_request_ms: firstMs,
    workerd_user_ms_per_request: (cpu1.user - cpu0.user) / count,
    workerd_system_ms_per_request: (cpu1.system - cpu0.system) / count,
    load_generator_ms_per_request: (own.user + own.system) / 1000 / count,
  };
}

export async function ingest({ rounds = Number(process.env.INGEST_ROUNDS || 5), count = 300, concurrency = 24, warmup = 48 } = {}) {
  const runs = { cartback: [], baseline: [] };
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 === 0 ? ["cartback", "baseline"] : ["baseline", "cartback"]) {
      runs[side].push(await round(side, { count, concurrency, warmup }));
    }
  }
  const ratios = runs.cartback.map((ours, i) => ours.rps / runs.baseline[i].rps);
  const of = (side, key) => median(runs[side].map((r) => r[key]));
  return {
    rounds,
    requests_per_round: count,
    concurrency,
    ratio_median: median(ratios),
    ratio_min: Math.min(...ratios),
    ratio_max: Math.max(...ratios),
    cartback_rps: of("cartback", "rps"),
    baseline_js_rps: of("baseline", "rps"),
    cpu_ms_per_request: Object.fromEntries(
      ["cartback", "baseline"].map((side) => [
        side,
        {
          workerd_user: of(side, "workerd_user_ms_per_request"),
          workerd_system: of(side, "workerd_system_ms_per_request"),
          load_generator: of(side, "load_generator_ms_per_request"),
        },
      ]),
    ),
    cold_start: {
      cartback_first_request_ms: of("cartback", "first_request_ms"),
      baseline_first_request_ms: of("baseline", "first_request_ms"),
      cartback_ready_ms: of("cartback", "ready_ms"),
      baseline_ready_ms: of("baseline", "ready_ms"),
    },
    runs,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await ingest();
  console.log(JSON.stringify({ ...r, runs: undefined }, null, 2));
}
