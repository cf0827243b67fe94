// The shop's settings as carts read them: at most once every few seconds per isolate
// (SETTINGS_FRESH_MS), dropped at once where the ledger writes them, and a recovery link that
// names its cart and opens only with its own secret.
import { afterAll, beforeAll, expect, test } from "vitest";
import { SHOP, adminApi, installShop, sessionToken, shopifyWebhook, sleep, startApp } from "./harness.mjs";
import { checkoutOf, freshPhone, templatesTo } from "./meta.mjs";

const FRESH_MS = 1500;
let app;
const token = () => sessionToken({ shop: SHOP });
beforeAll(async () => {
  app = await startApp({ settingsFreshMs: FRESH_MS });
  await installShop(app.kv);
  expect((await adminApi(app, "/api/shop", { token: token() })).status).toBe(200);
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.unexpected).toEqual([]);
  await app.mf.dispose();
});

const templateOf = async (phone) => {
  await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 8000 }).toBe(1);
  return templatesTo(app.graph, phone)[0].body.template.name;
};

async function putTemplate(name) {
  const current = await (await adminApi(app, "/api/playbook", { token: token() })).json();
  current.steps[0].template.name = name;
  const res = await adminApi(app, "/api/playbook", { token: token(), method: "PUT", body: current });
  expect(res.status).toBe(200);
}

test("a playbook saved through the admin API applies to the very next checkout", async () => {
  await shopifyWebhook(app, "checkouts/update", checkoutOf(freshPhone())); // settings now read
  await putTemplate("cart_saved_now");
  const phone = freshPhone();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  expect(await templateOf(phone)).toBe("cart_saved_now");
});

test("settings changed elsewhere are read again once the isolate's copy is stale", async () => {
  await putTemplate("cart_before");
  const first = freshPhone();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(first));
  // Written by another location's ledger: this isolate's copy is not dropped, only aged out.
  const playbook = JSON.parse(await app.kv.get(`playbook:${SHOP}`));
  playbook.steps[0].template.name = "cart_after";
  await app.kv.put(`playbook:${SHOP}`, JSON.stringify(playbook));
  const soon = freshPhone();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(soon));
  expect(await templateOf(first)).toBe("cart_before");
  expect(await templateOf(soon)).toBe("cart_before");
  await sleep(FRESH_MS + 200);
  const later = freshPhone();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(later));
  expect(await templateOf(later)).toBe("cart_after");
});

test("a recovery link names its cart and opens only with its own secret", async () => {
  const phone = freshPhone();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  await templateOf(phone);
  const sent = templatesTo(app.graph, phone)[0].body.template.components;
  const link = sent.find((c) => c.sub_type === "url").parameters[0].text;
  expect(link).toMatch(/^[0-9a-f]{64}[A-Za-z0-9_-]{22}$/);
  const open = (t) => app.mf.dispatchFetch(`${app.url}r/${t}`, { redirect: "manual" });
  const res = await open(link);
  expect(res.status).toBe(302);
  expect(res.headers.get("location")).toMatch(/^https:\/\//);
  // The same cart with another secret, a cart that does not exist, and garbage: all unknown.
  const forged = link.slice(0, 64) + (link[64] === "A" ? "B" : "A") + link.slice(65);
  const nobody = "0".repeat(63) + "1" + link.slice(64);
  for (const bad of [forged, nobody, link.slice(0, 70), `${link}x`, "..%2F"]) {
    const answer = await open(bad);
    expect(answer.status, bad).toBe(404);
    expect((await answer.json()).error.code).toBe("not_found");
  }
  // No KV record is needed for it.
  expect((await app.kv.list({ prefix: "r:" })).keys).toEqual([]);
});
