// Where a checkout webhook's time goes: the calls one event makes (KV, Durable Objects, their
// storage, outbound fetches) and the time awaited on each, for a first event of a cart, a
// repeated delivery of it (same event id) and a later update of the same checkout.
// The Worker runs with its bindings wrapped (counting-worker.mjs).
import { randomUUID } from "node:crypto";
import { Miniflare } from "miniflare";
import { GRAPH_ORIGIN, SECRETS, SHOPIFY_ORIGIN, installShop, shopifyWebhook } from "../e2e/harness.mjs";
import { checkoutOf } from "../e2e/meta.mjs";

const root = new URL("../../", import.meta.url).pathname;

async function start() {
  const unexpected = [];
  const mf = new Miniflare({
    rootPath: root,
    modulesRoot: root,
    modules: true,
    scriptPath: "tests/bench/counting-worker.mjs",
    modulesRules: [
      { type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true },
      { type: "ESModule", include: ["build/index.js"] },
    ],
    compatibilityDate: "2026-04-20",
    durableObjects: {
      CART: { className: "CartJourney", useSQLite: true },
      SHOP: { className: "ShopLedger", useSQLite: true },
    },
    kvNamespaces: ["APP_KV"],
    bindings: {
      ...SECRETS,
      APP_URL: "https://cartback.test",
      SHOPIFY_API_VERSION: "2025-10",
      GRAPH_API_VERSION: "v23.0",
      GRAPH_API_ORIGIN: GRAPH_ORIGIN,
      SHOPIFY_ADMIN_ORIGIN: SHOPIFY_ORIGIN,
    },
    // Ingest calls nobody outside; anything that tries is listed.
    outboundService: (req) => {
      unexpected.push(`${req.method} ${req.url}`);
      return new Response("not during ingest", { status: 599 });
    },
  });
  const url = await mf.ready;
  return { mf, url, kv: await mf.getKVNamespace("APP_KV"), unexpected };
}

const counts = async (app) => (await app.mf.dispatchFetch(`${app.url}__bench/counts?reset=1`)).json();

/** Mean calls and awaited ms per event over `carts` carts, for each kind of event. */
export async function ingestCounts({ carts = 20 } = {}) {
  const app = await start();
  await installShop(app.kv, { delaySeconds: 3600 });
  const kinds = { first: [], duplicate: [], update: [] };
  const latency = { first: [], duplicate: [], update: [] };
  const send = async (kind, checkout, eventId) => {
    await counts(app);
    const started = performance.now();
    const res = await shopifyWebhook(app, "checkouts/update", checkout, { eventId });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${kind} answered ${res.status}`);
    latency[kind].push(performance.now() - started);
    kinds[kind].push(await counts(app));
  };
  for (let i = 0; i < carts; i++) {
    const checkout = checkoutOf(`+14165${600000 + i}`);
    const eventId = randomUUID();
    await send("first", checkout, eventId);
    await send("duplicate", checkout, eventId);
    checkout.updated_at = new Date(Date.parse(checkout.updated_at) + 60_000).toISOString();
    await send("update", checkout, randomUUID());
  }
  await app.mf.dispose();
  const result = {};
  for (const [kind, runs] of Object.entries(kinds)) {
    const ops = {};
    for (const run of runs)
      for (const [op, c] of Object.entries(run)) {
        ops[op] ??= { calls: 0, awaited_ms: 0 };
        ops[op].calls += c.calls / runs.length;
        ops[op].awaited_ms += c.awaited_ms / runs.length;
      }
    const sorted = latency[kind].slice().sort((a, b) => a - b);
    result[kind] = { median_ms: sorted[Math.floor(sorted.length / 2)], ops };
  }
  return { carts, unexpected_outbound: app.unexpected, ...result };
}

/** One line per kind of event: `kv.get 2, do.CART.fetch 1, ...`. */
export function summarize(kind) {
  return Object.entries(kind.ops)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([op, c]) => `${op} ${Number(c.calls.toFixed(2))}`)
    .join(", ");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await ingestCounts();
  console.log(JSON.stringify(r, null, 2));
}
