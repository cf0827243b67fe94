// The recovery playbook end to end: the admin API that edits it, a two-step journey with a
// Shopify discount code, caps across carts, consent modes and the storefront opt-in's limits.
import { afterAll, beforeAll, expect, test } from "vitest";
import { createHmac } from "node:crypto";
import { SECRETS, SHOP, adminApi, installShop, sessionToken, shopifyWebhook, sleep, startApp } from "./harness.mjs";
import { checkoutOf, freshPhone, templatesTo } from "./meta.mjs";

let app;
const token = () => sessionToken({ shop: SHOP });
beforeAll(async () => {
  app = await startApp();
  await installShop(app.kv);
  // The first admin call installs the shop (token exchange): discounts need its Admin token.
  expect((await adminApi(app, "/api/shop", { token: token() })).status).toBe(200);
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.shopify.invalid).toEqual([]);
  expect(app.unexpected).toEqual([]);
  await app.mf.dispose();
});

const step = (id, delay_seconds, extra = {}) => ({
  id,
  delay_seconds,
  template: { name: `cart_${id}`, languages: ["en_US", "pt_BR"] },
  body_params: ["first_name", "cart_total"],
  button_url_param: "recovery_token",
  ...extra,
});

async function putPlaybook(changes) {
  const current = await (await adminApi(app, "/api/playbook", { token: token() })).json();
  const res = await adminApi(app, "/api/playbook", { token: token(), method: "PUT", body: { ...current, ...changes } });
  return res;
}

test("a new shop gets the default playbook", async () => {
  const res = await adminApi(app, "/api/playbook", { token: sessionToken({ shop: "fresh-shop.myshopify.com" }) });
  expect(res.status).toBe(200);
  const playbook = await res.json();
  expect(playbook.version).toBe(1);
  expect(playbook.consent_mode).toBe("whatsapp_opt_in");
  expect(playbook.steps.map((s) => s.id)).toEqual(["reminder", "offer"]);
});

test("an invalid playbook gets 400 with one message per offending field", async () => {
  const res = await putPlaybook({
    holdout_percent: 90,
    steps: [step("a", 0), step("a", 10, { discount: { percent: 150, expires_after_hours: 48 } })],
  });
  expect(res.status).toBe(400);
  const { error } = await res.json();
  const fields = error.fields.map((f) => f.field);
  expect(fields).toEqual(expect.arrayContaining(["holdout_percent", "steps[0].delay_seconds", "steps[1].id", "steps[1].discount.percent"]));
  expect(new Set(fields).size).toBe(fields.length);
  const wrongType = await putPlaybook({ journey_ttl_days: "thirty" });
  expect(wrongType.status).toBe(400);
  expect((await wrongType.json()).error.fields[0].field).toBe("journey_ttl_days");
});

test("a two-step journey with a discount goes through Shopify and WhatsApp", async () => {
  expect(
    (
      await putPlaybook({
        consent_mode: "checkout_marketing_consent",
        quiet_hours: null,
        caps: null,
        steps: [
          step("reminder", 1),
          step("offer", 3, {
            body_params: ["first_name", "discount_percent", "discount_code"],
            when: { min_cart_value: "150.00" },
            discount: { percent: 10, expires_after_hours: 48 },
          }),
        ],
      })
    ).status,
  ).toBe(200);
  app.shopify.failNext(1, "throttled"); // the code is created on the retry, once
  const phone = freshPhone();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 15_000 }).toBe(2);
  const [reminder, offer] = templatesTo(app.graph, phone);
  expect(reminder.body.template.name).toBe("cart_reminder");
  expect(offer.body.template.name).toBe("cart_offer");
  const code = offer.body.template.components.find((c) => c.sub_type === "copy_code").parameters[0].coupon_code;
  const created = app.shopify.discounts.filter((d) => d.code === code);
  expect(created).toHaveLength(1);
  expect(created[0].input.usageLimit).toBe(1);
  expect(created[0].input.appliesOncePerCustomer).toBe(true);
  const body = offer.body.template.components.find((c) => c.type === "body").parameters.map((p) => p.text);
  expect(body).toEqual(["Emily", "10%", code]);
  expect(offer.at - reminder.at).toBeGreaterThanOrEqual(1500);
});

test("when Shopify cannot create the code, the discount step is skipped", async () => {
  await putPlaybook({
    consent_mode: "checkout_marketing_consent",
    steps: [step("offer", 1, { discount: { percent: 10, expires_after_hours: 48 } })],
  });
  app.shopify.failNext(8, { status: 503 });
  const phone = freshPhone();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  await sleep(9000);
  expect(templatesTo(app.graph, phone)).toHaveLength(0);
});

test("caps hold across two carts of the same shopper due in the same second", async () => {
  await putPlaybook({
    consent_mode: "checkout_marketing_consent",
    caps: { max_messages_per_customer: 1, window_days: 7 },
    steps: [step("reminder", 1)],
  });
  const phone = freshPhone();
  const updatedAt = new Date();
  await Promise.all([
    shopifyWebhook(app, "checkouts/update", checkoutOf(phone, { updatedAt })),
    shopifyWebhook(app, "checkouts/update", checkoutOf(phone, { updatedAt })),
  ]);
  await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 8000 }).toBe(1);
  await sleep(2000);
  expect(templatesTo(app.graph, phone)).toHaveLength(1);
});

test("in whatsapp_opt_in mode only an opt-in through the storefront widget counts", async () => {
  await putPlaybook({ consent_mode: "whatsapp_opt_in", caps: null, steps: [step("reminder", 1)] });
  const without = freshPhone();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(without));
  const withOptIn = freshPhone();
  expect((await optIn(withOptIn)).status).toBe(200);
  await shopifyWebhook(app, "checkouts/update", checkoutOf(withOptIn));
  await expect.poll(() => templatesTo(app.graph, withOptIn).length, { timeout: 8000 }).toBe(1);
  expect(templatesTo(app.graph, without)).toHaveLength(0);

  const res = await adminApi(app, `/api/consents?phone=${encodeURIComponent(withOptIn.replace("+1", "+1 "))}`, { token: token() });
  const consents = await res.json();
  expect(consents).toMatchObject({ phone: withOptIn, status: "opted_in" });
  expect(consents.records[0]).toMatchObject({ kind: "opt_in", source: "storefront_widget", wording: "Send me WhatsApp reminders" });
});

test("the storefront opt-in is rate limited per phone", async () => {
  const phone = freshPhone();
  const statuses = [];
  for (let i = 0; i < 7; i++) statuses.push((await optIn(phone)).status);
  expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
  expect(statuses.slice(5)).toEqual([429, 429]);
  const unsigned = await optIn(freshPhone(), { signature: "00" });
  expect(unsigned.status).toBe(401);
  const noConsent = await optIn(freshPhone(), { consent: false });
  expect(noConsent.status).toBe(400);
  const badPhone = await optIn("not a phone");
  expect(badPhone.status).toBe(400);
});

/** POSTs an opt-in the way Shopify's app proxy forwards it. */
function optIn(phone, { consent = true, signature } = {}) {
  const params = {
    shop: SHOP,
    path_prefix: "/apps/cartback",
    timestamp: String(Math.floor(Date.now() / 1000)),
    logged_in_customer_id: "",
  };
  const query = new URLSearchParams({ ...params, signature: signature ?? signProxy(params) });
  return app.mf.dispatchFetch(`${app.url}proxy/optin?${query}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "CF-Connecting-IP": `198.51.100.${Math.floor(Math.random() * 250)}` },
    body: JSON.stringify({ phone, consent, wording: "Send me WhatsApp reminders", cart_token: "abc123" }),
  });
}

/** The app proxy's signature: hex HMAC of the sorted `key=value` pairs, joined without separators. */
const signProxy = (params) =>
  createHmac("sha256", SECRETS.SHOPIFY_API_SECRET)
    .update(Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join(""))
    .digest("hex");
