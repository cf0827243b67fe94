// Where a checkout webhook's time goes: the calls one event makes (KV, Durable Objects, their
// storage, outbound fetches) and the time awaited on each, for a first event of a cart, a
// repeated delivery of it (same event id) and a later update of the same checkout.
// The Worker runs with its bindings wrapped (counting-worker.mjs).
import { randomUUID } from "node:crypto";
import { installShop, shopifyWebhook, startApp } from "../e2e/harness.mjs";
import { checkoutOf } from "../e2e/meta.mjs";

/** The app with its calls counted; ingest calls nobody outside (`app.unexpected` lists any). */
const start = () => startApp({ scriptPath: "tests/bench/counting-worker.mjs", settingsFreshMs: null });

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
