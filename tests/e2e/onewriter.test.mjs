// One writer per shop: the shop's ledger alone writes its record (Shopify grant, WhatsApp
// connection, playbook). Many carts needing the Admin API at once share one token renewal at a
// time, so Shopify's rotating refresh token is never spent twice; an uninstall arriving in the
// middle of it wins, and no token survives it anywhere.
import { afterAll, beforeAll, expect, test } from "vitest";
import { PHONE_NUMBER_ID, SHOP, adminApi, askLedger, installShop, ledgerRecord, sessionToken, shopifyWebhook, sleep, startApp, fixture } from "./harness.mjs";
import { checkoutOf, freshPhone, templatesTo } from "./meta.mjs";

const CARTS = 20;

let app;
beforeAll(async () => {
  app = await startApp();
  await installShop(app.kv, {
    playbook: {
      steps: [
        {
          id: "offer",
          delay_seconds: 1,
          template: { name: "cart_offer", languages: ["en_US"] },
          body_params: ["first_name", "discount_percent", "discount_code"],
          button_url_param: "recovery_token",
          discount: { percent: 10, expires_after_hours: 48 },
        },
      ],
    },
  });
});
afterAll(async () => {
  expect(app.shopify.invalid).toEqual([]);
  expect(app.graph.invalid).toEqual([]);
  expect(app.unexpected).toEqual([]);
  await app.mf.dispose();
});

test("carts share one token renewal at a time, and an uninstall in the middle leaves no token anywhere", async () => {
  // Installed through the real flow, with tokens that are due for renewal as soon as issued:
  // every Admin API use renews, and each renewal spends the refresh token the last one issued.
  app.shopify.setAccessTokenTtl(120);
  app.shopify.slowRefresh(250);
  const res = await adminApi(app, "/api/shop", { token: sessionToken() });
  expect(await res.json()).toMatchObject({ installed: true, whatsapp_connected: true });
  expect((await ledgerRecord(app)).shopify.sealed_refresh_token).toMatch(/^v1\./);

  const phones = Array.from({ length: CARTS }, freshPhone);
  await Promise.all(phones.map((phone) => shopifyWebhook(app, "checkouts/update", checkoutOf(phone))));
  // The carts are due a second later; renewals queue behind each other, 250 ms apiece.
  await expect.poll(() => app.shopify.grantsFor(SHOP).filter((g) => g.grantType === "refresh_token").length, { timeout: 15_000 }).toBeGreaterThanOrEqual(4);
  const uninstall = await shopifyWebhook(app, "app/uninstalled", fixture("shopify/app-uninstalled.json"));
  expect(uninstall.status).toBe(200);
  const uninstalledAt = Date.now();
  await sleep(CARTS * 250 + 3000); // every queued cart has had its turn

  const refreshes = app.shopify.grantsFor(SHOP).filter((g) => g.grantType === "refresh_token");
  // Never two renewals at once, and none spent a refresh token already spent.
  expect(app.shopify.mostConcurrentRefreshes).toBe(1);
  expect(refreshes.filter((g) => !g.ok)).toEqual([]);
  // Each renewal used the refresh token the one before it issued.
  for (let i = 1; i < refreshes.length; i++) {
    expect(refreshes[i].body.refresh_token).toBe(refreshes[i - 1].answer.refresh_token);
  }
  // After the uninstall no renewal began and no message left.
  expect(refreshes.filter((g) => g.at > uninstalledAt)).toEqual([]);
  const late = phones.flatMap((p) => templatesTo(app.graph, p)).filter((m) => m.at > uninstalledAt + 1000);
  expect(late).toEqual([]);

  // No token survives: not in the ledger, not in KV's copy, and the number routes nowhere.
  const record = await ledgerRecord(app);
  expect([record.shopify, record.whatsapp]).toEqual([null, null]);
  const copy = await app.kv.get(`shop:${SHOP}`);
  expect(JSON.parse(copy).whatsapp ?? null).toBeNull();
  expect(copy).not.toMatch(/sealed_|access_token/);
  expect(await app.kv.get(`wa:${PHONE_NUMBER_ID}`)).toBeNull();
  expect(await askLedger(app, SHOP, "admin_token", { shop: SHOP, rejected: null })).toEqual({ Err: { kind: "not_installed" } });
  console.log(`one writer: ${refreshes.length} renewals in sequence for ${CARTS} carts, ${app.shopify.discounts.length} codes created before the uninstall`);
  app.shopify.slowRefresh(0);
  app.shopify.setAccessTokenTtl(3600);
}, 60_000);
