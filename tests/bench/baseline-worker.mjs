// The yardstick for webhook ingest: a minimal hand-written JS Worker doing what cartback's
// ingest must at least do — verify the HMAC, parse the checkout, write it to the cart's
// Durable Object and set its alarm.
import { DurableObject } from "cloudflare:workers";

export class Cart extends DurableObject {
  async fetch(request) {
    const checkout = await request.json();
    await this.ctx.storage.put("checkout", { token: checkout.token, updated_at: checkout.updated_at, phone: checkout.phone });
    await this.ctx.storage.setAlarm(Date.parse(checkout.updated_at) + 1_800_000);
    return new Response("ok");
  }
  async alarm() {}
}

export default {
  async fetch(request, env) {
    const body = await request.arrayBuffer();
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(env.SHOPIFY_API_SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    const signature = Uint8Array.from(atob(request.headers.get("X-Shopify-Hmac-Sha256") ?? ""), (c) => c.charCodeAt(0));
    if (!(await crypto.subtle.verify("HMAC", key, signature, body))) return new Response("unauthorized", { status: 401 });
    const checkout = JSON.parse(new TextDecoder().decode(body));
    const shop = request.headers.get("X-Shopify-Shop-Domain");
    const stub = env.CART.get(env.CART.idFromName(`${shop}:${checkout.token}`));
    await stub.fetch("https://cart/", { method: "POST", body: JSON.stringify(checkout) });
    return Response.json({ ok: true });
  }
};
