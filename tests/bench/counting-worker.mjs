// The built Worker with its bindings wrapped, for `make bench` only: every KV call, Durable Object
// call, storage call and outbound fetch is counted, with the time awaited for it. Counts live in
// this module, which the Worker and its Durable Objects share in one local isolate; they are read
// and reset through `GET /__bench/counts` (`?reset=1`).
import Entry, { CartJourney as Cart, ShopLedger as Ledger } from "../../build/index.js";

let counts = {};
// The subrequests of each Worker invocation and of each ledger alarm run, kept apart so a test
// can hold each to a Worker's per-invocation limit (`GET /__bench/invocations`).
let invocations = [];
// Outbound fetches carry no binding to tell whose they are: while a ledger alarm runs they are
// counted as its own (in the tests that read them, nothing else fetches then).
let alarmRunning = null;
// workerd's clock only moves across I/O, which is exactly what is timed here.
function record(kind, started, into) {
  if (into) into[kind] = (into[kind] ?? 0) + 1;
  const c = (counts[kind] ??= { calls: 0, awaited_ms: 0 });
  c.calls += 1;
  const settle = (v) => {
    c.awaited_ms += Date.now() - started;
    return v;
  };
  return { settle, fail: (e) => { settle(); throw e; } };
}

/** `target[name](...)` counted as `kind`; promises are timed until they settle. */
function counted(kind, fn, target, box) {
  return (...args) => {
    const r = record(kind, Date.now(), box?.calls);
    const out = fn.apply(target, args);
    return out instanceof Promise ? out.then(r.settle, r.fail) : r.settle(out);
  };
}

/** Wraps every method of `target` (natives need their own `this`); `wrap` may replace results. */
function proxy(target, prefix, wrap = {}, box) {
  return new Proxy(target, {
    get(t, name) {
      const v = Reflect.get(t, name);
      if (typeof name !== "string" || name === "constructor") return v;
      if (wrap[name]) return wrap[name](v, t);
      return typeof v === "function" ? counted(`${prefix}.${name}`, v, t, box) : v;
    },
  });
}

const stub = (s, binding, box) => proxy(s, `do.${binding}`, {}, box);
const namespace = (ns, binding, box) =>
  proxy(ns, `do.${binding}`, {
    get: (fn, t) => (id) => stub(fn.call(t, id), binding, box),
    getByName: (fn, t) => (name) => stub(fn.call(t, name), binding, box),
    idFromName: (fn, t) => fn.bind(t),
    idFromString: (fn, t) => fn.bind(t),
    newUniqueId: (fn, t) => fn.bind(t),
  });

/** `box.calls`, when set, also receives the counts (one invocation's or alarm run's). */
function env(inner, box) {
  return new Proxy(inner, {
    get(t, name) {
      const v = Reflect.get(t, name);
      if (name === "APP_KV") return proxy(v, "kv", {}, box);
      if (name === "CART" || name === "SHOP") return namespace(v, name, box);
      return v;
    },
  });
}

function state(inner, kind) {
  const storage = proxy(inner.storage, `storage.${kind}`, { sql: (sql) => proxy(sql, `storage.${kind}.sql`) });
  return new Proxy(inner, {
    get(t, name) {
      if (name === "storage") return storage;
      const v = Reflect.get(t, name);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
}

const outbound = globalThis.fetch;
globalThis.fetch = (...args) => counted("fetch", outbound, globalThis, { calls: alarmRunning })(...args);

export class CartJourney {
  constructor(ctx, inner) {
    return new Cart(state(ctx, "cart"), env(inner));
  }
}

export class ShopLedger {
  constructor(ctx, inner) {
    const box = { calls: null };
    const ledger = new Ledger(state(ctx, "ledger"), env(inner, box));
    const alarm = ledger.alarm.bind(ledger);
    ledger.alarm = async (...args) => {
      box.calls = {};
      alarmRunning = box.calls;
      try {
        return await alarm(...args);
      } finally {
        invocations.push({ kind: "ledger alarm", calls: box.calls });
        box.calls = null;
        alarmRunning = null;
      }
    };
    return ledger;
  }
}

export default {
  async fetch(request, inner, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/__bench/counts") {
      const answer = Response.json(counts);
      if (url.searchParams.has("reset")) counts = {};
      return answer;
    }
    if (url.pathname === "/__bench/invocations") {
      const answer = Response.json(invocations);
      if (url.searchParams.has("reset")) invocations = [];
      return answer;
    }
    const box = { calls: {} };
    try {
      return await Entry.prototype.fetch.call({ env: env(inner, box), ctx }, request);
    } finally {
      invocations.push({ kind: `${request.method} ${url.pathname}`, calls: box.calls });
    }
  },
};
