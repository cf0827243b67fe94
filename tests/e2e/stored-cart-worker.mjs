// The built Worker with a back door into each cart's storage, for `stored-carts.test.mjs` only:
// `GET /__test/cart?name={shop}:{token}&do=read|as-object|drop` tells what the cart's stored
// value is, rewrites it as the object an earlier build stored (serde_wasm_bindgen's form of the
// same fields, which is what JSON.parse of the text gives), or drops it with its alarm, as if
// the cart had reported its journey and restarted before saving it.
import Entry, { CartJourney as Cart, ShopLedger as Ledger } from "../../build/index.js";

// A new journey's report (its registration) for a checkout whose token starts with `slowbefore`
// waits 800 ms before the ledger takes it, `slowafter` 800 ms after, so a test can send other
// events of the cart while it is out.
export class ShopLedger {
  constructor(ctx, env) {
    const ledger = new Ledger(ctx, env);
    const fetch = ledger.fetch.bind(ledger);
    const pause = () => new Promise((resolve) => setTimeout(resolve, 800));
    ledger.fetch = async (request) => {
      const body = await request.text();
      const registers = body.includes('"op":"report"') && body.includes('"registration":{');
      if (registers && body.includes('"slowbefore')) await pause();
      const answer = await fetch(new Request(request.url, { method: request.method, headers: request.headers, body }));
      if (registers && body.includes('"slowafter')) await pause();
      return answer;
    };
    return ledger;
  }
}

export class CartJourney {
  constructor(ctx, env) {
    const cart = new Cart(ctx, env);
    const fetch = cart.fetch.bind(cart);
    cart.fetch = async (request) => {
      const action = request.headers.get("X-Test-Cart");
      if (!action) return fetch(request);
      const stored = await ctx.storage.get("cart");
      if (action === "as-object") await ctx.storage.put("cart", JSON.parse(stored));
      if (action === "drop") {
        await ctx.storage.deleteAlarm();
        await ctx.storage.deleteAll();
      }
      return Response.json({ stored: typeof stored, text: typeof stored === "string" ? stored : JSON.stringify(stored ?? null) });
    };
    return cart;
  }
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/__test/cart") {
      const cart = env.CART.getByName(url.searchParams.get("name"));
      return cart.fetch("https://do/", { headers: { "X-Test-Cart": url.searchParams.get("do") } });
    }
    return Entry.prototype.fetch.call({ env, ctx }, request);
  },
};
