// Installs the demo shop the way Shopify's managed installation does: the admin page's first
// call carries an App Bridge session token, which the Worker exchanges for an access token.
import { randomUUID } from "node:crypto";
import { signSessionToken } from "../tests/fakes/shopify.mjs";
import { devVars } from "./dev-vars.mjs";
import { DEMO_SHOP } from "./demo-shop.mjs";

const base = process.argv[2] ?? "http://127.0.0.1:8787";
const vars = devVars();
const now = Math.floor(Date.now() / 1000);
const token = signSessionToken(
  {
    iss: `https://${DEMO_SHOP}/admin`,
    dest: `https://${DEMO_SHOP}`,
    aud: vars.SHOPIFY_API_KEY,
    sub: "1",
    exp: now + 60,
    nbf: now,
    iat: now,
    jti: randomUUID(),
    sid: randomUUID(),
  },
  vars.SHOPIFY_API_SECRET,
);
const res = await fetch(`${base}/api/shop`, { headers: { Authorization: `Bearer ${token}` } });
console.log(`demo shop ${DEMO_SHOP}: ${res.status} ${await res.text()}`);
