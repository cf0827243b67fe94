// The embedded admin page in headless Chromium against the compiled Worker in workerd. Every
// figure it shows comes from real signed webhooks through the fakes; every page is looked at
// (screenshots at desktop and phone width), checked by axe-core and walked with the keyboard.
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { SECRETS, orderPayload, shopifyWebhook, sleep } from "../e2e/harness.mjs";
import { checkoutOf, freshPhone, inbound, status, templatesTo, text, whatsappWebhook } from "../e2e/meta.mjs";
import {
  ROUTES,
  WABA_ID,
  WHATSAPP_TOKEN,
  adminContext,
  adminUrl,
  api,
  deepText,
  launch,
  screenshot,
  seriousViolations,
  settled,
  startInstalledApp,
  unreachableByKeyboard,
  until,
} from "./admin-harness.mjs";

// Requests the page makes that are refused by design, which Chromium logs as console errors:
// endpoints the Worker does not have yet (the page degrades without them), and the templates
// of a shop that has not connected WhatsApp (409).
const NOT_YET = [/by=product/, /\/api\/templates.*409|409.*\/api\/templates/];
const realErrors = (errors) => errors.filter((e) => !NOT_YET.some((re) => re.test(e)));

let app;
let browser;
const phones = {};

/** A journey that goes as far down the funnel as `stage` says, through webhooks only. */
async function journey(phone, { stage = "sent", consent = true, orderTotal = "180.90" } = {}) {
  const checkout = checkoutOf(phone);
  if (!consent) {
    checkout.buyer_accepts_marketing = false;
    checkout.buyer_accepts_sms_marketing = false;
  }
  expect((await shopifyWebhook(app, "checkouts/update", checkout)).status).toBe(200);
  if (!consent) return checkout;
  await until(() => templatesTo(app.graph, phone).length === 1, { what: `the reminder to ${phone}` });
  const wamid = templatesTo(app.graph, phone)[0].wamid;
  const stages = ["delivered", "read", "replied", "clicked", "ordered"];
  const reach = stages.indexOf(stage);
  const pricing = { billable: true, pricing_model: "PMP", type: "regular", category: "marketing" };
  if (reach >= 0) await whatsappWebhook(app, status(phone, wamid, "delivered", { pricing }));
  if (reach >= 1) await whatsappWebhook(app, status(phone, wamid, "read"));
  if (reach >= 2) await whatsappWebhook(app, inbound(phone, text("Is the sweater warm?")));
  if (reach >= 3) {
    const link = templatesTo(app.graph, phone)[0].body.template.components.find((c) => c.sub_type === "url").parameters[0].text;
    expect((await app.mf.dispatchFetch(`${app.url}r/${link}`, { redirect: "manual" })).status).toBe(302);
  }
  if (reach >= 4) {
    const order = orderPayload(checkout.token);
    order.cart_token = checkout.cart_token;
    order.total_price = orderTotal;
    order.currency = "USD";
    order.created_at = new Date().toISOString();
    expect((await shopifyWebhook(app, "orders/create", order)).status).toBe(200);
  }
  return checkout;
}

beforeAll(async () => {
  app = await startInstalledApp();
  browser = await launch();
  phones.ordered = freshPhone();
  phones.read = freshPhone();
  phones.noConsent = freshPhone();
  phones.human = freshPhone();
  await journey(phones.ordered, { stage: "ordered" });
  await journey(phones.read, { stage: "read" });
  await journey(phones.noConsent, { consent: false });
  await journey(phones.human, { stage: "delivered" });
  // A shopper who wants a person: the bot hands the conversation to the inbox.
  await whatsappWebhook(app, inbound(phones.human, text("Can I talk to a person please?"), { name: "Emily Carter" }));
  await until(async () => (await api(app, "/api/inbox")).body.conversations.length > 0, { what: "the inbox" });
  await api(app, "/api/faq", {
    method: "PUT",
    body: {
      entries: [
        { question: "Do you ship to Portugal?", answer: "Yes, in 3 to 5 working days.", language: "en", keywords: ["ship", "shipping", "portugal"] },
        { question: "Enviam para o Brasil?", answer: "Sim, em até 10 dias úteis.", language: "pt-BR", keywords: ["enviar", "brasil"] },
      ],
    },
  });
  await sleep(300);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.mf.dispose();
  expect(app?.unexpected).toEqual([]);
  expect(app?.graph.invalid).toEqual([]);
  expect(app?.shopify.invalid).toEqual([]);
});

test("the page is built the Shopify way: API key meta and App Bridge first in <head>, Polaris from the CDN", async () => {
  const res = await app.mf.dispatchFetch(`${app.url}?embedded=1&shop=maple-and-finch-demo.myshopify.com`);
  expect(res.status).toBe(200);
  const html = await res.text();
  const head = html.slice(html.indexOf("<head>"), html.indexOf("</head>"));
  const scripts = [...head.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]);
  expect(scripts[0]).toBe("https://cdn.shopify.com/shopifycloud/app-bridge.js");
  expect(scripts).toContain("https://cdn.shopify.com/shopifycloud/polaris.js");
  expect(head.indexOf('name="shopify-api-key"')).toBeLessThan(head.indexOf("app-bridge.js"));
  // Each section of the app is the same page.
  const inbox = await app.mf.dispatchFetch(`${app.url}inbox?embedded=1`);
  expect(inbox.status).toBe(200);
  expect(await inbox.text()).toBe(html);
});

test("every /api call carries a fresh session token from shopify.idToken()", async () => {
  const { context, tokens } = await adminContext(browser);
  const page = await context.newPage();
  const calls = [];
  page.on("request", (r) => new URL(r.url()).pathname.startsWith("/api/") && calls.push({ url: r.url(), auth: r.headers().authorization }));
  await page.goto(adminUrl(app, "/"));
  await settled(page);
  await context.close();
  expect(calls.length).toBeGreaterThan(3);
  const used = calls.map((c) => c.auth?.replace(/^Bearer /, ""));
  for (const token of used) expect(tokens).toContain(token);
  // One token per call: none is reused.
  expect(new Set(used).size).toBe(used.length);
  for (const token of used) {
    const [h, p, s] = token.split(".");
    expect(createHmac("sha256", SECRETS.SHOPIFY_API_SECRET).update(`${h}.${p}`).digest("base64url")).toBe(s);
  }
});

test("the dashboard shows exactly the numbers GET /api/metrics gives", async () => {
  const { context, errors } = await adminContext(browser);
  const page = await context.newPage();
  await page.goto(adminUrl(app, "/"));
  await settled(page);
  const m = (await api(app, "/api/metrics")).body;
  expect(m.funnel.recovered).toBe(1);
  for (const [stage, n] of Object.entries(m.funnel)) {
    expect(await page.locator(`[data-stage="${stage}"] .stage-value`).getAttribute("data-value"), stage).toBe(String(n));
    expect(await page.locator(`[data-stage="${stage}"] .stage-value`).textContent()).toBe(new Intl.NumberFormat("en").format(n));
  }
  const money = (v) => new Intl.NumberFormat("en", { style: "currency", currency: m.currency }).format(Number(v));
  expect(await page.getByTestId("recovered-revenue").textContent()).toBe(money(m.recovered_revenue));
  expect(await page.getByTestId("aov").textContent()).toBe(money(m.average_order_value));
  const cost = (v) =>
    new Intl.NumberFormat("en", { style: "currency", currency: m.cost.currency, maximumFractionDigits: 4 }).format(Number(v));
  expect(await page.getByTestId("message-cost").textContent()).toBe(cost(m.cost.total));
  expect(await page.getByTestId("cost-per-order").textContent()).toBe(cost(m.cost.per_recovered_order));
  // Messaged journeys 3 (ordered, read, human), recovered 1: a third.
  expect(await page.locator('[data-stage="recovered"] .stage-rate').textContent()).toBe(
    `${new Intl.NumberFormat("en", { style: "percent", maximumFractionDigits: 1 }).format(m.funnel.recovered / m.funnel.messaged)} of messaged`,
  );
  for (const s of m.skipped) {
    expect(await page.locator(`[data-testid="skips"] [data-key="${s.key}"] strong`).textContent()).toBe(String(s.n));
  }
  expect(await page.getByTestId("holdout-none").isVisible()).toBe(true);
  expect(realErrors(errors)).toEqual([]);
  await context.close();
});

test("a playbook edit is saved through the contextual save bar and read back", async () => {
  const { context, errors } = await adminContext(browser);
  const page = await context.newPage();
  const before = (await api(app, "/api/playbook")).body;
  try {
    await page.goto(adminUrl(app, "/playbook"));
    await settled(page);
    const bar = page.locator("ui-save-bar#playbook-save-bar");
    expect(await bar.getAttribute("data-shown")).toBeNull();

    const first = page.locator('fieldset[data-step="0"]');
    await first.getByLabel("Unit", { exact: true }).selectOption("hours");
    await first.getByLabel("Send after", { exact: true }).fill("2");
    await page.locator('fieldset[data-step="1"]').getByLabel("Only when the cart is at least", { exact: true }).fill("120.00");
    await expect.poll(() => bar.getAttribute("data-shown")).toBe("");
    await bar.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => bar.getAttribute("data-shown")).toBeNull();

    const saved = (await api(app, "/api/playbook")).body;
    expect(saved.steps[0].delay_seconds).toBe(7200);
    expect(saved.steps[1].when.min_cart_value).toBe("120.00");

    await page.reload();
    await settled(page);
    expect(await first.getByLabel("Send after", { exact: true }).inputValue()).toBe("2");
    expect(await first.getByLabel("Unit", { exact: true }).inputValue()).toBe("hours");
    expect(realErrors(errors)).toEqual([]);
  } finally {
    // Back to the test playbook for the tests after this one, even when this one failed.
    await context.close();
    const restored = await api(app, "/api/playbook", { method: "PUT", body: before });
    expect([restored.status, restored.body.steps[0].delay_seconds]).toEqual([200, before.steps[0].delay_seconds]);
  }
});

test("steps are added, reordered and removed; discarding brings back what was saved", async () => {
  const { context } = await adminContext(browser);
  const page = await context.newPage();
  await page.goto(adminUrl(app, "/playbook"));
  await settled(page);
  await page.getByRole("button", { name: "Add step" }).click();
  expect(await page.locator("fieldset[data-step]").count()).toBe(3);
  await page.getByRole("button", { name: "Move up: Step 2" }).click();
  expect(await page.locator('fieldset[data-step="0"] > legend').textContent()).toBe("Step 1: offer");
  await page.getByRole("button", { name: "Remove step: Step 3" }).click();
  expect(await page.locator("fieldset[data-step]").count()).toBe(2);
  await page.locator("ui-save-bar").getByRole("button", { name: "Discard" }).click();
  expect(await page.locator('fieldset[data-step="0"] > legend').textContent()).toBe("Step 1: reminder");
  expect(await page.locator("ui-save-bar").getAttribute("data-shown")).toBeNull();
  await context.close();
});

test("a validation error from the 400 appears at its field", async () => {
  const { context } = await adminContext(browser);
  const page = await context.newPage();
  await page.goto(adminUrl(app, "/playbook"));
  await settled(page);
  const second = page.locator('fieldset[data-step="1"]');
  await second.getByLabel("Step name", { exact: true }).fill("reminder");
  await page.locator("ui-save-bar").getByRole("button", { name: "Save" }).click();

  const name = second.getByLabel("Step name", { exact: true });
  await expect.poll(() => name.getAttribute("aria-invalid")).toBe("true");
  const error = await second.locator("s-text-field[error]").first().getAttribute("error");
  expect(error).toMatch(/\S/);
  // The message is shown next to the field and announced with it.
  const described = await name.evaluate((el) =>
    el.getAttribute("aria-describedby").split(" ").map((id) => el.getRootNode().getElementById(id)?.textContent).join(" "),
  );
  expect(described).toContain(error);
  // Nothing was saved.
  expect((await api(app, "/api/playbook")).body.steps[1].id).toBe("offer");
  await context.close();
});

test("a step's image header and the fallback image are edited, checked against the templates and saved", async () => {
  const { context, errors } = await adminContext(browser);
  const page = await context.newPage();
  const before = (await api(app, "/api/playbook")).body;
  // The first step's template as installed (no header), given an image header for a moment.
  const reminder = app.graph.templates.list(WABA_ID).find((t) => t.name === before.steps[0].template.name && t.language === "en_US");
  const components = reminder.components;
  try {
    reminder.components = [{ type: "HEADER", format: "IMAGE", example: { header_handle: ["4::aW1hZ2UvanBlZw==:ARb"] } }, ...components];
    // The kept listing is asked to refresh from Graph, as after a template webhook.
    expect((await api(app, "/api/templates?refresh=1")).body.templates.find((t) => t.id === reminder.id).header).toBe("IMAGE");
    await page.goto(adminUrl(app, "/playbook"));
    await settled(page);
    const first = page.locator('fieldset[data-step="0"]');
    const header = first.getByLabel("Show the cart's top product in the image header", { exact: true });
    const box = first.locator("s-checkbox[label=\"Show the cart's top product in the image header\"]");
    expect(await header.isChecked()).toBe(false);
    await expect.poll(() => box.getAttribute("details")).toBe("This template has an image header: turn this on to fill it.");

    reminder.components = components;
    expect((await api(app, "/api/templates?refresh=1")).body.templates.find((t) => t.id === reminder.id).header).toBeNull();
    await page.reload();
    await settled(page);
    expect(await header.isChecked()).toBe(false);
    expect(await box.getAttribute("details")).toBeNull();
    expect(await page.getByTestId("preview-image").count()).toBe(0);
    await header.check();
    // The installed templates have no image header: the step says what it needs.
    await expect.poll(() => box.getAttribute("details")).toBe("Needs a template with an image header.");
    expect(await page.getByTestId("preview-image").isVisible()).toBe(true);

    const fallback = page.getByLabel("Fallback header image (https URL)", { exact: true });
    await fallback.fill("http://images.example/fallback.png");
    const bar = page.locator("ui-save-bar#playbook-save-bar");
    await bar.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => fallback.getAttribute("aria-invalid")).toBe("true");
    expect((await api(app, "/api/playbook")).body.fallback_image_url ?? null).toBeNull();

    await fallback.fill("https://images.example/fallback.png");
    await bar.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => bar.getAttribute("data-shown")).toBeNull();
    const saved = (await api(app, "/api/playbook")).body;
    expect(saved.steps[0].header).toBe("top_item_image");
    expect(saved.steps[1].header ?? null).toBeNull();
    expect(saved.fallback_image_url).toBe("https://images.example/fallback.png");
    await page.reload();
    await settled(page);
    expect(await header.isChecked()).toBe(true);
    expect(await fallback.inputValue()).toBe("https://images.example/fallback.png");
    await screenshot(page, "desktop-playbook-image-header");
    // The refused save is the only error the browser logs.
    expect(realErrors(errors)).toEqual([expect.stringMatching(/status of 400/)]);
  } finally {
    // Back to the test playbook and templates for the tests after this one, even when this one failed.
    reminder.components = components;
    await context.close();
    expect((await api(app, "/api/templates?refresh=1")).status).toBe(200);
    const restored = await api(app, "/api/playbook", { method: "PUT", body: before });
    expect([restored.status, restored.body.steps[0].header ?? null, restored.body.fallback_image_url ?? null]).toEqual([200, null, null]);
  }
});

test("resolving a conversation in the inbox removes it", async () => {
  const { context } = await adminContext(browser);
  const page = await context.newPage();
  await page.goto(adminUrl(app, "/inbox"));
  await settled(page);
  const thread = page.locator(`.thread[data-phone="${phones.human}"]`);
  expect(await thread.textContent()).toContain("Can I talk to a person please?");
  await thread.getByRole("button", { name: /^Mark resolved/ }).click();
  await expect.poll(() => thread.count()).toBe(0);
  const inbox = (await api(app, "/api/inbox")).body.conversations;
  expect(inbox.map((c) => c.phone)).not.toContain(phones.human);
  await context.close();
  // Another shopper asks, for the pages' screenshots.
  await whatsappWebhook(app, inbound(phones.human, text("Sorry, one more thing: can someone call me?"), { name: "Emily Carter" }));
});

test("the WhatsApp token is written once and never appears in the page", async () => {
  const { context } = await adminContext(browser);
  const page = await context.newPage();
  const answers = [];
  page.on("response", async (r) => {
    if (new URL(r.url()).pathname.startsWith("/api/")) answers.push(await r.text().catch(() => ""));
  });
  await page.goto(adminUrl(app, "/whatsapp"));
  await settled(page);
  await page.getByLabel("Access token", { exact: true }).fill(WHATSAPP_TOKEN);
  expect(await page.getByLabel("Access token", { exact: true }).getAttribute("type")).toBe("password");
  await page.getByRole("button", { name: "Connect", exact: true }).click();
  await expect.poll(() => page.getByLabel("Access token", { exact: true }).inputValue()).toBe("");
  await settled(page);
  expect(await page.getByTestId("wa-status").textContent()).toContain("Connected");
  expect(await deepText(page)).not.toContain(WHATSAPP_TOKEN);
  expect(answers.join("\n")).not.toContain(WHATSAPP_TOKEN);
  await page.reload();
  await settled(page);
  expect(await deepText(page)).not.toContain(WHATSAPP_TOKEN);
  await context.close();
});

test("the WhatsApp page lists the account's templates and installs the recommended ones", async () => {
  const { context } = await adminContext(browser);
  const page = await context.newPage();
  // A new account: Meta holds none of cartback's templates yet.
  app.graph.templates.list(WABA_ID).length = 0;
  app.graph.created.length = 0;
  await page.goto(adminUrl(app, "/whatsapp"));
  await settled(page);
  await page.getByRole("button", { name: "Install recommended templates" }).click();
  await expect.poll(() => app.graph.created.length, { timeout: 10_000 }).toBe(6);
  await settled(page);
  expect(await page.getByTestId("templates").locator("tbody tr").count()).toBe(6);
  const rows = await page.getByTestId("templates").locator("tbody tr").allTextContents();
  expect(rows.every((r) => r.includes("APPROVED") && r.includes("MARKETING"))).toBe(true);
  expect(rows.filter((r) => r.startsWith("cart_reminder en_US"))).toHaveLength(1);
  await context.close();
});

test("the page speaks the admin's language, with money in the shop's currency", async () => {
  const { context } = await adminContext(browser);
  const page = await context.newPage();
  await page.goto(adminUrl(app, "/", { locale: "pt-BR" }));
  await settled(page);
  expect(await page.evaluate(() => document.documentElement.lang)).toBe("pt-BR");
  expect(await page.locator("s-page").getAttribute("heading")).toBe("Recuperação de carrinhos no WhatsApp");
  const m = (await api(app, "/api/metrics")).body;
  expect(await page.getByTestId("recovered-revenue").textContent()).toBe(
    new Intl.NumberFormat("pt-BR", { style: "currency", currency: m.currency }).format(Number(m.recovered_revenue)),
  );
  await screenshot(page, "desktop-home-pt-BR");
  await page.goto(adminUrl(app, "/playbook", { locale: "es-ES" }));
  await settled(page);
  expect(await page.locator("s-page").getAttribute("heading")).toBe("Guion");
  await screenshot(page, "desktop-playbook-es");
  await context.close();
});

for (const [label, width, height] of [["desktop", 1280, 900], ["phone", 390, 844]]) {
  test(`every page at ${label} width: screenshot, no console errors, no serious axe violation, keyboard reaches every control`, async () => {
    const { context, errors } = await adminContext(browser, { width, height });
    const page = await context.newPage();
    for (const route of ROUTES) {
      await page.goto(adminUrl(app, route));
      await settled(page);
      if (route === "/consent") {
        await page.getByLabel("Phone number", { exact: true }).fill(phones.ordered);
        await page.getByRole("button", { name: "Look up" }).click();
        await page.getByTestId("consent-result").waitFor();
      }
      if (route === "/playbook" && label === "desktop") {
        await page.locator('fieldset[data-step="0"]').getByLabel("Step name", { exact: true }).fill("first_reminder");
      }
      await page.evaluate(() => window.scrollTo(0, 0));
      await screenshot(page, `${label}${route === "/" ? "-home" : route.replace("/", "-")}`);
      expect(await seriousViolations(page), route).toEqual([]);
      expect(await unreachableByKeyboard(page), route).toEqual([]);
    }
    expect(realErrors(errors)).toEqual([]);
    await context.close();
  }, 120_000);
}

test("until the shop is ready, home is a setup checklist with a link into the theme editor", async () => {
  const fresh = await startInstalledApp({ connect: false });
  try {
    const { context, errors } = await adminContext(browser);
    const page = await context.newPage();
    await page.goto(adminUrl(fresh, "/"));
    await settled(page);
    const items = page.locator(".checklist li");
    expect(await items.count()).toBe(4);
    expect(await items.first().textContent()).toContain("Connect your WhatsApp Business number");
    expect(await page.locator('[data-stage="abandoned"]').count()).toBe(0);
    const editor = await page.locator(".checklist s-link", { hasText: "Open the theme editor" }).getAttribute("href");
    expect(editor).toMatch(/^https:\/\/maple-and-finch-demo\.myshopify\.com\/admin\/themes\/current\/editor\?context=apps&.*activateAppId=.*%2F?optin|\/optin$/);
    await screenshot(page, "desktop-home-setup");
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole("link", { name: "Set up: Connect your WhatsApp Business number" }).click();
    await expect.poll(() => page.evaluate(() => location.pathname)).toBe("/whatsapp");
    await settled(page);
    expect(await page.getByTestId("wa-status").textContent()).toContain("Not connected");
    expect(realErrors(errors)).toEqual([]);
    await context.close();
  } finally {
    await fresh.mf.dispose();
  }
});
