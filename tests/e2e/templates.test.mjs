// The merchant's WhatsApp templates end to end: cartback's recommended ones installed in the
// WABA, the list with its fit check, and Meta's template webhooks keeping it current, so a step
// whose template was paused, rejected or moved out of marketing is skipped, never sent.
import { afterAll, beforeAll, expect, test } from "vitest";
import { SHOP, WABA_ID, adminApi, installShop, sessionToken, shopifyWebhook, startApp } from "./harness.mjs";
import { checkoutOf, freshPhone, templateWebhook, templatesTo, whatsappWebhook } from "./meta.mjs";

let app;
beforeAll(async () => {
  app = await startApp();
  await installShop(app.kv);
  expect((await adminApi(app, "/api/shop", { token: sessionToken({ shop: SHOP }) })).status).toBe(200);
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.shopify.invalid).toEqual([]);
  expect(app.unexpected).toEqual([]);
  await app.mf.dispose();
});

const api = async (path, options = {}) => {
  const res = await adminApi(app, path, { token: sessionToken(), ...options });
  return { status: res.status, body: await res.json() };
};
const find = (list, name, language = "en_US") => list.find((t) => t.name === name && t.language === language);

/** A checkout of a fresh shopper, and the state of its one step once it is settled. */
async function stepOf() {
  const phone = freshPhone();
  expect((await shopifyWebhook(app, "checkouts/update", checkoutOf(phone))).status).toBe(200);
  let step;
  await expect
    .poll(
      async () => {
        const { body } = await api("/api/journeys");
        step = body.journeys.find((j) => j.phone === phone)?.steps[0];
        return ["sent", "skipped"].includes(step?.state);
      },
      { timeout: 10_000 },
    )
    .toBe(true);
  return { phone, step };
}

test("before WhatsApp is connected the list answers 409", async () => {
  const res = await adminApi(app, "/api/templates", { token: sessionToken({ shop: "unconnected-shop.myshopify.com" }) });
  expect(res.status).toBe(409);
  expect((await res.json()).error.code).toBe("whatsapp_not_connected");
});

test("installing creates the reminder and the offer in three languages, with a 12 h TTL and the steps' button layout", async () => {
  const { status, body } = await api("/api/templates/install", { method: "POST", body: {} });
  expect(status).toBe(200);
  expect(body.installed).toHaveLength(6);
  expect(body.installed.every((i) => i.result === "created")).toBe(true);
  const created = app.graph.created.map((c) => c.body);
  expect(created.map((c) => `${c.name}/${c.language}`).sort()).toEqual(
    ["cart_offer/en_US", "cart_offer/es", "cart_offer/pt_BR", "cart_reminder/en_US", "cart_reminder/es", "cart_reminder/pt_BR"],
  );
  for (const c of created) {
    expect(c).toMatchObject({ category: "MARKETING", message_send_ttl_seconds: 43200 });
    const buttons = c.components.find((x) => x.type === "BUTTONS").buttons.map((b) => b.type);
    expect(buttons).toEqual(c.name === "cart_offer" ? ["COPY_CODE", "URL", "QUICK_REPLY"] : ["URL", "QUICK_REPLY"]);
    expect(c.components.find((x) => x.type === "BUTTONS").buttons.find((b) => b.type === "URL").url).toBe("https://cartback.test/r/{{1}}");
  }
  // The shop's one step sends cart_reminder in en_US: that one fits; the offer no step uses.
  const reminder = find(body.templates, "cart_reminder");
  expect(reminder).toMatchObject({ status: "APPROVED", category: "MARKETING", fits: true, used_by: ["reminder"], problems: [] });
  expect(find(body.templates, "cart_offer")).toMatchObject({ fits: false, used_by: [] });

  // A second install changes nothing: Meta refuses the names it has.
  const again = await api("/api/templates/install", { method: "POST" });
  expect(again.body.installed.every((i) => i.result === "refused" && i.code === 100)).toBe(true);
  expect(app.graph.templates.list(WABA_ID)).toHaveLength(6);
});

test("the list follows Graph's pages and reports what does not fit", async () => {
  for (let i = 0; i < 130; i++) app.graph.templates.add(WABA_ID, { name: `promo_${i}`, language: "en_US" });
  app.graph.templates.add(WABA_ID, {
    name: "cart_reminder",
    language: "pt_BR",
    components: [{ type: "BODY", text: "Oi {{1}}" }],
  });
  await installShop(app.kv, {
    playbook: {
      steps: [
        { id: "reminder", delay_seconds: 1, template: { name: "cart_reminder", languages: ["en_US", "pt_BR"] }, body_params: ["first_name", "top_item_title", "cart_total"], button_url_param: "recovery_token" },
      ],
    },
  });
  try {
    // The listing the install took is still fresh: the ledger answers, Graph is not asked.
    expect((await api("/api/templates")).body.templates).toHaveLength(6);
    const { body } = await api("/api/templates?refresh=1");
    expect(body.templates).toHaveLength(137);
    const portuguese = body.templates.filter((t) => t.name === "cart_reminder" && t.language === "pt_BR");
    const odd = portuguese.find((t) => !t.fits);
    expect(odd.problems).toEqual([
      "reminder: the body has 1 variables, the step fills 3",
      "reminder: its buttons are [], the step sends [URL, QUICK_REPLY]",
    ]);
  } finally {
    await installShop(app.kv);
  }
});

test("once the account's templates are listed, a playbook may only name templates the account has", async () => {
  const { body: playbook } = await api("/api/playbook");
  const social = { name: "cart_reminder_social_proof", languages: ["en_US"] };
  const offering = (templates) => ({
    ...playbook,
    optimize: { ...playbook.optimize, enabled: true },
    steps: playbook.steps.map((s, i) => (i === 0 ? { ...s, template_options: templates } : s)),
  });
  const refused = await api("/api/playbook", { method: "PUT", body: offering([playbook.steps[0].template, social]) });
  expect(refused.status).toBe(400);
  expect(refused.body.error.code).toBe("invalid_playbook");
  expect(refused.body.error.fields.map((f) => f.field)).toEqual(["steps[0].template_options[1].name"]);
  expect(refused.body.error.fields[0].message).toBe("is not a template of the shop's WhatsApp account");
  expect((await api("/api/playbook")).body).toEqual(playbook);
  // Created in WhatsApp Manager and listed again: now it is one of the account's.
  app.graph.templates.add(WABA_ID, { name: social.name, language: "en_US" });
  expect((await api("/api/templates?refresh=1")).status).toBe(200);
  const saved = await api("/api/playbook", { method: "PUT", body: offering([playbook.steps[0].template, social]) });
  expect(saved.status).toBe(200);
  expect(saved.body.steps[0].template_options[1]).toEqual(social);
  expect((await api("/api/playbook", { method: "PUT", body: playbook })).status).toBe(200);
});

test("a paused template's step is skipped as template_unavailable until Meta approves it again", async () => {
  // Meta pauses it, and says so.
  const status = (event) => {
    app.graph.templates.change(WABA_ID, "cart_reminder", "en_US", { status: event });
    return whatsappWebhook(app, templateWebhook("message_template_status_update", { name: "cart_reminder", event }));
  };
  expect((await status("PAUSED")).status).toBe(200);
  const paused = await stepOf();
  expect(paused.step).toMatchObject({ state: "skipped", reason: "template_unavailable" });
  expect(templatesTo(app.graph, paused.phone)).toHaveLength(0);
  expect(find((await api("/api/templates")).body.templates, "cart_reminder")).toMatchObject({ status: "PAUSED", sendable: false });

  expect((await status("APPROVED")).status).toBe(200);
  const approved = await stepOf();
  expect(approved.step.state).toBe("sent");
});

test("a template moved to another category is skipped; an announced move changes nothing yet", async () => {
  const category = (value) => whatsappWebhook(app, templateWebhook("template_category_update", { name: "cart_reminder", ...value }));
  expect((await category({ correct_category: "UTILITY", new_category: "MARKETING", category_update_timestamp: 1 })).status).toBe(200);
  expect((await stepOf()).step.state).toBe("sent");

  expect((await category({ previous_category: "MARKETING", new_category: "UTILITY" })).status).toBe(200);
  const moved = await stepOf();
  expect(moved.step).toMatchObject({ state: "skipped", reason: "template_unavailable" });
  const { body } = await api("/api/metrics");
  expect(body.skipped).toContainEqual({ key: "template_unavailable", n: expect.any(Number) });

  expect((await category({ previous_category: "UTILITY", new_category: "MARKETING" })).status).toBe(200);
  expect((await stepOf()).step.state).toBe("sent");
});

test("an image header is added when asked, with the sample the merchant uploaded", async () => {
  app.graph.templates.list(WABA_ID).length = 0;
  app.graph.created.length = 0;
  const { body } = await api("/api/templates/install", { method: "POST", body: { image_header_handle: "4::aW1hZ2UvanBlZw==:ARb" } });
  expect(body.installed.every((i) => i.result === "created")).toBe(true);
  for (const { body: c } of app.graph.created) {
    expect(c.components[0]).toEqual({ type: "HEADER", format: "IMAGE", example: { header_handle: ["4::aW1hZ2UvanBlZw==:ARb"] } });
  }
  // The steps send no header yet: the fit check says so instead of letting Meta refuse the sends.
  expect(find(body.templates, "cart_reminder").problems).toEqual(["reminder: its image header needs a value the step does not send"]);
  expect((await api("/api/templates/install", { method: "POST", body: { image_header: true } })).status).toBe(400);
});
