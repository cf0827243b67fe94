// Abandons a checkout at the running `make dev`: a signed `checkouts/update` webhook built from
// the Shopify fixture, with a fresh token and `updated_at` = now.
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { DEMO_DELAY_SECONDS, DEMO_SHOP } from "./demo-shop.mjs";

const base = process.argv[2] ?? "http://127.0.0.1:8787";
const vars = Object.fromEntries(
  readFileSync(".dev.vars", "utf8")
    .split("\n")
    .filter((l) => l.includes("="))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
);

const checkout = JSON.parse(readFileSync("tests/fixtures/shopify/checkouts-update.json", "utf8"));
delete checkout.id; // Admin API 2026-04 and later name a checkout by its token only
checkout.token = randomBytes(16).toString("hex");
checkout.updated_at = new Date().toISOString();
const body = JSON.stringify(checkout);
const hmac = createHmac("sha256", vars.SHOPIFY_API_SECRET).update(body).digest("base64");

const res = await fetch(`${base}/webhooks/shopify`, {
  method: "POST",
  headers: {
    "Content-Type": "application/json",
    "X-Shopify-Topic": "checkouts/update",
    "X-Shopify-Shop-Domain": DEMO_SHOP,
    "X-Shopify-API-Version": "2026-10",
    "X-Shopify-Event-Id": randomUUID(),
    "X-Shopify-Hmac-Sha256": hmac,
  },
  body,
});
console.log(`checkout ${checkout.token} abandoned: ${res.status} ${await res.text()}`);
console.log(`its reminder reaches the WhatsApp simulator in about ${DEMO_DELAY_SECONDS} s`);
