// The built Worker with a back door into each cart's storage, for `stored-carts.test.mjs` only:
// `GET /__test/cart?name={shop}:{token}&do=read|as-object|drop` tells what the cart's stored
// value is, rewrites it as the object an earlier build stored (serde_wasm_bindgen's form of the
// same fields, which is what JSON.parse of the text gives), or drops it with its alarm, as if
// the cart had reported its journey and restarted before saving it.
import Entry, { CartJourney as Cart, ShopLedger } from "../../build/index.js";

export { ShopLedger };

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
      return Response.json({ stored: typeof stored });
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
