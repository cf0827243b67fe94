// The Shopify side end to end: App Bridge session tokens on /api, the managed-installation token
// exchange, expiring tokens and their refresh, and the authorization-code install, against a fake
// Shopify Admin that speaks the real formats.
import { createDecipheriv } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { signQuery } from "../fakes/shopify.mjs";
import { SECRETS, SHOPIFY_ORIGIN, adminApi, installShop, ledgerRecord, sessionToken, startApp } from "./harness.mjs";

let app;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  expect(app.shopify.invalid).toEqual([]);
  expect(app.unexpected).toEqual([]);
  await app.mf.dispose();
});

let shopSerial = 0;
/** A shop no other test has touched. */
const freshShop = () => `shopify-e2e-${Date.now().toString(36)}-${++shopSerial}.myshopify.com`;

/** Opens a value the Worker sealed at rest (`v1.` + base64url(nonce ‖ ciphertext ‖ tag)). */
function openSealed(sealed) {
  expect(sealed).toMatch(/^v1\./);
  const packed = Buffer.from(sealed.slice(3), "base64url");
  const decipher = createDecipheriv("aes-256-gcm", Buffer.from(SECRETS.DATA_ENCRYPTION_KEY, "base64"), packed.subarray(0, 12));
  decipher.setAuthTag(packed.subarray(packed.length - 16));
  return Buffer.concat([decipher.update(packed.subarray(12, packed.length - 16)), decipher.final()]).toString("utf8");
}

/** The record as the ledger keeps it; KV's copy, for everyone else to read, has no grant. */
const record = async (shop) => {
  const copy = JSON.parse(await app.kv.get(`shop:${shop}`));
  expect(copy?.shopify ?? null).toBeNull();
  return ledgerRecord(app, shop);
};
const shopInfo = async (shop, token = sessionToken({ shop })) => {
  const res = await adminApi(app, "/api/shop", { token });
  expect(res.status).toBe(200);
  return res.json();
};

describe("session tokens", () => {
  const shop = freshShop();
  const now = Date.now();
  const valid = sessionToken({ shop });
  const [header, payload] = valid.split(".");
  const forged = JSON.parse(Buffer.from(payload, "base64url").toString());
  forged.dest = "https://other-shop.myshopify.com";
  forged.iss = "https://other-shop.myshopify.com/admin";
  const cases = {
    "no Authorization header": undefined,
    "an empty bearer": "",
    garbage: "not-a-jwt",
    "a tampered payload": `${header}.${Buffer.from(JSON.stringify(forged)).toString("base64url")}.${valid.split(".")[2]}`,
    "a tampered signature": `${valid.slice(0, -3)}${valid.endsWith("AAA") ? "BBB" : "AAA"}`,
    "another app's secret": sessionToken({ shop, secret: "someone-elses-secret" }),
    "an expired token": sessionToken({ shop, now: now - 120_000 }),
    "a token not valid yet": sessionToken({ shop, claims: { nbf: Math.floor(now / 1000) + 30 } }),
    "another app's audience": sessionToken({ shop, claims: { aud: "another_api_key" } }),
    "alg none": sessionToken({ shop, header: { alg: "none", typ: "JWT" } }),
    "a dest that is not a shop": sessionToken({ shop, claims: { dest: "https://evil.example", iss: "https://evil.example/admin" } }),
    "an iss for another shop": sessionToken({ shop, claims: { iss: "https://other-shop.myshopify.com/admin" } }),
  };

  for (const [name, token] of Object.entries(cases)) {
    test(`${name} gets 401 with App Bridge's retry header`, async () => {
      const res = await adminApi(app, "/api/shop", { token });
      expect(res.status).toBe(401);
      expect(res.headers.get("x-shopify-retry-invalid-session-request")).toBe("1");
      expect((await res.json()).error.code).toBe("invalid_session");
    });
  }

  test("none of them reached Shopify", () => {
    expect(app.shopify.grantsFor(shop)).toEqual([]);
    expect(app.shopify.grantsFor("other-shop.myshopify.com")).toEqual([]);
  });

  test("unknown /api paths are 404 JSON, with or without a session", async () => {
    for (const token of [undefined, valid]) {
      const res = await adminApi(app, "/api/nothing-here", { token });
      expect(res.status).toBe(404);
      expect((await res.json()).error.code).toBe("not_found");
    }
  });
});

describe("managed installation", () => {
  test("the first /api call exchanges the session token and stores the tokens sealed", async () => {
    const shop = freshShop();
    app.shopify.setShopName(shop, "Juniper & Vine");
    const token = sessionToken({ shop });
    expect(await shopInfo(shop, token)).toEqual({
      shop,
      name: "Juniper & Vine",
      installed: true,
      needs_reauth: false,
      whatsapp_connected: false,
      // Learned from Shopify with the name: the dashboard's currency and time zone.
      currency: "USD",
      timezone: "America/Toronto",
      optin_embed_enabled: null,
      consent_mode_chosen: false,
    });

    const [grant, ...more] = app.shopify.grantsFor(shop);
    expect(more).toEqual([]);
    expect(grant).toMatchObject({ grantType: "token_exchange", ok: true });
    expect(grant.body).toMatchObject({
      client_id: SECRETS.SHOPIFY_API_KEY,
      subject_token: token,
      requested_token_type: "urn:shopify:params:oauth:token-type:offline-access-token",
      expiring: "1",
    });
    const { access_token, refresh_token } = grant.answer;

    const raw = await app.kv.get(`shop:${shop}`);
    expect(raw).not.toContain(access_token);
    expect(raw).not.toContain(refresh_token);
    expect(raw).not.toContain(access_token.slice(6)); // not even without its prefix
    const stored = await record(shop);
    expect(JSON.stringify(stored)).not.toContain(access_token.slice(6));
    expect(openSealed(stored.shopify.sealed_access_token)).toBe(access_token);
    expect(openSealed(stored.shopify.sealed_refresh_token)).toBe(refresh_token);
    expect(stored.shopify.expires_at).toBeGreaterThan(Date.now() + 3_000_000);
    expect(stored.installed_at).toBeLessThanOrEqual(Date.now());

    // The name was read with the new token; later calls neither exchange nor call Shopify again.
    expect(app.shopify.callsFor(shop).map((c) => c.accessToken)).toEqual([access_token]);
    await shopInfo(shop);
    await shopInfo(shop);
    expect(app.shopify.grantsFor(shop)).toHaveLength(1);
    expect(app.shopify.callsFor(shop)).toHaveLength(1);
  });

  test("a session token for shop A never reads shop B's data", async () => {
    const a = freshShop();
    const b = freshShop();
    await installShop(app.kv, { shop: b }); // B has WhatsApp connected and a name
    const tokenA = sessionToken({ shop: a });

    for (const path of ["/api/shop", `/api/shop?shop=${b}`]) {
      const res = await adminApi(app, path, { token: tokenA, headers: { "X-Shopify-Shop-Domain": b } });
      expect(await res.json()).toMatchObject({ shop: a, whatsapp_connected: false });
    }
    expect(app.shopify.grantsFor(a)).toHaveLength(1);
    expect(app.shopify.grantsFor(b)).toEqual([]);
    expect((await record(b)).shopify).toBeNull();
    expect(await shopInfo(b)).toMatchObject({ shop: b, name: "Maple & Finch", whatsapp_connected: true });
  });

  test("an expiring token is refreshed before it expires, and the refresh token rotates", async () => {
    const shop = freshShop();
    app.shopify.setAccessTokenTtl(120); // under the 5-minute margin: due at once
    try {
      await shopInfo(shop);
    } finally {
      app.shopify.setAccessTokenTtl(3600);
    }
    const [exchange, refresh, ...more] = app.shopify.grantsFor(shop);
    expect(more).toEqual([]);
    expect(exchange.grantType).toBe("token_exchange");
    expect(refresh).toMatchObject({ grantType: "refresh_token", ok: true });
    expect(refresh.body).toEqual({
      client_id: SECRETS.SHOPIFY_API_KEY,
      client_secret: SECRETS.SHOPIFY_API_SECRET,
      grant_type: "refresh_token",
      refresh_token: exchange.answer.refresh_token,
    });
    // The Admin call went out with the refreshed token, never the one about to expire.
    expect(app.shopify.callsFor(shop).map((c) => c.accessToken)).toEqual([refresh.answer.access_token]);
    expect(app.shopify.isRefreshTokenValid(exchange.answer.refresh_token)).toBe(false);
    const stored = (await record(shop)).shopify;
    expect(openSealed(stored.sealed_access_token)).toBe(refresh.answer.access_token);
    expect(openSealed(stored.sealed_refresh_token)).toBe(refresh.answer.refresh_token);
  });

  test("a 401 from Shopify triggers one refresh and a retry with the new token", async () => {
    const shop = freshShop();
    app.shopify.failNext(1, "unauthorized", { shop });
    expect(await shopInfo(shop)).toMatchObject({ installed: true, needs_reauth: false });
    const [exchange, refresh, ...more] = app.shopify.grantsFor(shop);
    expect(more).toEqual([]);
    expect(refresh).toMatchObject({ grantType: "refresh_token", ok: true });
    expect(app.shopify.callsFor(shop).map((c) => [c.accessToken, c.status])).toEqual([
      [exchange.answer.access_token, 401],
      [refresh.answer.access_token, 200],
    ]);
  });

  test("when that refresh is refused, needs_reauth shows in GET /api/shop until the next exchange", async () => {
    const shop = freshShop();
    app.shopify.failNext(1, "unauthorized", { shop });
    app.shopify.refuseRefresh(shop);
    try {
      expect(await shopInfo(shop)).toMatchObject({ installed: true, needs_reauth: true, name: "" });
      expect(app.shopify.grantsFor(shop).map((g) => [g.grantType, g.ok])).toEqual([
        ["token_exchange", true],
        ["refresh_token", false],
      ]);
      expect(app.shopify.callsFor(shop)).toHaveLength(1);
      expect((await record(shop)).needs_reauth).toBe(true);
    } finally {
      app.shopify.refuseRefresh(shop, false);
    }
    // The merchant opens the app again: a fresh session token repairs the install.
    expect(await shopInfo(shop)).toMatchObject({ installed: true, needs_reauth: false });
    expect(app.shopify.grantsFor(shop).map((g) => g.grantType)).toEqual(["token_exchange", "refresh_token", "token_exchange"]);
  });
});

describe("authorization-code install", () => {
  const COOKIE = "__Host-cartback_oauth_state";

  /** GET /auth?shop=: the redirect to Shopify and the state cookie. */
  async function start(shop) {
    const res = await app.mf.dispatchFetch(`${app.url}auth?shop=${shop}`, { redirect: "manual" });
    expect(res.status).toBe(302);
    const setCookie = res.headers.get("set-cookie");
    const cookie = setCookie.split(";")[0];
    return { location: new URL(res.headers.get("location")), setCookie, cookie };
  }

  /** Shopify's approval: the signed callback URL, pointed at the Worker under test. */
  async function approve(location) {
    const res = await app.shopify.handle(new Request(location));
    expect(res.status).toBe(302);
    const callback = new URL(res.headers.get("location"));
    expect(callback.origin).toBe("https://cartback.test");
    return new URL(`${app.url}auth/callback${callback.search}`);
  }

  const callback = (url, cookie) =>
    app.mf.dispatchFetch(url.toString(), { redirect: "manual", headers: cookie ? { Cookie: `theme=dark; ${cookie}` } : {} });

  test("/auth sends the merchant to Shopify with our scopes, redirect and a state bound to the browser", async () => {
    const shop = freshShop();
    const { location, setCookie } = await start(shop);
    expect(`${location.origin}${location.pathname}`).toBe(`${SHOPIFY_ORIGIN}/${shop}/admin/oauth/authorize`);
    expect(Object.fromEntries(location.searchParams)).toEqual({
      client_id: SECRETS.SHOPIFY_API_KEY,
      scope: "read_orders,read_products,write_discounts,write_app_proxy,write_customers",
      redirect_uri: "https://cartback.test/auth/callback",
      state: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
    });
    expect(setCookie).toMatch(new RegExp(`^${COOKIE}=\\d+\\.[0-9a-f]{64};`));
    for (const attribute of ["Path=/", "HttpOnly", "Secure", "SameSite=Lax"]) expect(setCookie).toContain(attribute);
    expect(setCookie).not.toContain(location.searchParams.get("state"));
    expect(setCookie).not.toMatch(/Domain=/i);
  });

  test("/auth refuses a shop that is not a myshopify.com domain", async () => {
    for (const shop of ["evil.example", "", "a.myshopify.com.evil.example", "UPPER.myshopify.com"]) {
      const res = await app.mf.dispatchFetch(`${app.url}auth?shop=${encodeURIComponent(shop)}`, { redirect: "manual" });
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe("bad_request");
    }
  });

  test("a signed callback from the same browser installs the shop and opens the embedded app", async () => {
    const shop = freshShop();
    const { location, cookie } = await start(shop);
    const url = await approve(location);
    const res = await callback(url, cookie);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`https://${shop}/admin/apps/${SECRETS.SHOPIFY_API_KEY}`);
    expect(res.headers.get("set-cookie")).toMatch(new RegExp(`^${COOKIE}=;.*Max-Age=0`));

    const [grant, ...more] = app.shopify.grantsFor(shop);
    expect(more).toEqual([]);
    expect(grant).toMatchObject({ grantType: "authorization_code", ok: true });
    expect(grant.body).toMatchObject({ client_id: SECRETS.SHOPIFY_API_KEY, client_secret: SECRETS.SHOPIFY_API_SECRET, expiring: "1" });
    const raw = await app.kv.get(`shop:${shop}`);
    expect(raw).not.toContain(grant.answer.access_token);
    expect(openSealed((await record(shop)).shopify.sealed_access_token)).toBe(grant.answer.access_token);
    expect(await shopInfo(shop)).toMatchObject({ installed: true, needs_reauth: false });
    expect(app.shopify.grantsFor(shop)).toHaveLength(1); // already installed: no token exchange

    // The same callback again: Shopify refuses a spent code.
    const replay = await callback(url, cookie);
    expect(replay.status).toBe(400);
    expect((await replay.json()).error.code).toBe("code_refused");
  });

  test("a callback with a bad HMAC gets 401 and installs nothing", async () => {
    const shop = freshShop();
    const { location, cookie } = await start(shop);
    const good = await approve(location);

    const wrongHmac = new URL(good);
    wrongHmac.searchParams.set("hmac", "0".repeat(64));
    const otherShop = new URL(good);
    otherShop.searchParams.set("shop", freshShop());
    const unsigned = new URL(good);
    unsigned.searchParams.delete("hmac");
    const wrongSecret = new URL(good);
    wrongSecret.searchParams.set("hmac", signQuery(good.searchParams, "not-the-secret"));
    for (const url of [wrongHmac, otherShop, unsigned, wrongSecret]) {
      const res = await callback(url, cookie);
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe("unauthorized");
    }
    expect(app.shopify.grantsFor(shop)).toEqual([]);
    expect(await app.kv.get(`shop:${shop}`)).toBeNull();
  });

  test("a stale signed callback gets 401", async () => {
    const shop = freshShop();
    const { location, cookie } = await start(shop);
    const url = await approve(location);
    url.searchParams.set("timestamp", String(Math.floor(Date.now() / 1000) - 600));
    url.searchParams.set("hmac", signQuery(url.searchParams, SECRETS.SHOPIFY_API_SECRET));
    expect((await callback(url, cookie)).status).toBe(401);
  });

  test("a callback whose state is not this browser's gets 403 and installs nothing", async () => {
    const shop = freshShop();
    const { location, cookie } = await start(shop);
    const url = await approve(location);
    const otherBrowser = (await start(shop)).cookie; // a second /auth: another state
    const otherShop = (await start(freshShop())).cookie;
    for (const jar of [undefined, otherBrowser, otherShop, `${COOKIE}=garbage`, `${COOKIE}=${cookie.split("=")[1].replace(/^\d+/, "99999999999999")}`]) {
      const res = await callback(url, jar);
      expect(res.status).toBe(403);
      expect((await res.json()).error.code).toBe("invalid_state");
    }
    // A correctly signed query with a forged state fails the same way.
    const forged = new URL(url);
    forged.searchParams.set("state", "forged-state");
    forged.searchParams.set("hmac", signQuery(forged.searchParams, SECRETS.SHOPIFY_API_SECRET));
    expect((await callback(forged, cookie)).status).toBe(403);
    expect(app.shopify.grantsFor(shop)).toEqual([]);

    // The right browser can still finish.
    expect((await callback(url, cookie)).status).toBe(302);
  });
});
