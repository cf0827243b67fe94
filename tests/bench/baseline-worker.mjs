// The yardstick for webhook ingest: a minimal hand-written JS Worker doing the work every ingest
// must do, and no more — verify the HMAC, parse the checkout into what a journey keeps (the
// fields cartback's `Checkout` reads), hand that to the cart's Durable Object, which reads its
// state, writes it back and sets its alarm. No shop settings, no ledger, no deduplication: those
// are cartback's own costs, which the ratio is there to show.
import { DurableObject } from "cloudflare:workers";

export class Cart extends DurableObject {
  async fetch(request) {
    const checkout = await request.json();
    const storage = this.ctx.storage;
    const cart = (await storage.get("cart")) ?? { events: 0 };
    await storage.put("cart", { ...cart, checkout, events: cart.events + 1 });
    await storage.setAlarm(checkout.updated_at + 1_800_000);
    return Response.json({});
  }
  async alarm() {}
}

const firstOf = (...values) => values.find((v) => v !== undefined && v !== null && v !== "");

function journeyFields(raw) {
  const addresses = [raw.shipping_address, raw.billing_address].filter(Boolean);
  const items = raw.line_items ?? [];
  return {
    token: raw.token,
    id: raw.id === undefined ? null : String(raw.id),
    cart_token: raw.cart_token ?? null,
    updated_at: Date.parse(raw.updated_at ?? raw.created_at),
    completed: Boolean(raw.completed_at),
    phone: firstOf(raw.sms_marketing_phone, raw.phone, raw.customer?.phone, ...addresses.map((a) => a.phone)) ?? null,
    first_name: firstOf(raw.customer?.first_name, ...addresses.map((a) => a.first_name)) ?? null,
    locale: raw.customer_locale ?? null,
    country: firstOf(...addresses.map((a) => a.country_code)) ?? null,
    province: firstOf(...addresses.map((a) => a.province_code)) ?? null,
    total: { amount: raw.total_price, currency: raw.presentment_currency ?? raw.currency },
    item_count: items.reduce((n, i) => n + (i.quantity ?? 0), 0),
    top_item_title: items[0]?.presentment_title ?? items[0]?.title ?? null,
    items_summary: items.slice(0, 3).map((i) => i.title).join(", "),
    recovery_url: raw.abandoned_checkout_url ?? null,
    accepts_marketing: raw.buyer_accepts_marketing === true,
    accepts_sms_marketing: raw.buyer_accepts_sms_marketing === true,
    customer_id: raw.customer?.id === undefined ? null : String(raw.customer.id),
  };
}

export default {
  async fetch(request, env) {
    const body = await request.arrayBuffer();
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(env.SHOPIFY_API_SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    const signature = Uint8Array.from(atob(request.headers.get("X-Shopify-Hmac-Sha256") ?? ""), (c) => c.charCodeAt(0));
    if (!(await crypto.subtle.verify("HMAC", key, signature, body))) return new Response("unauthorized", { status: 401 });
    const shop = request.headers.get("X-Shopify-Shop-Domain");
    if (!shop) return new Response("no shop", { status: 400 });
    const checkout = journeyFields(JSON.parse(new TextDecoder().decode(body)));
    const stub = env.CART.get(env.CART.idFromName(`${shop}:${checkout.token}`));
    await stub.fetch("https://cart/", { method: "POST", body: JSON.stringify(checkout) });
    return Response.json({ ok: true });
  },
};
