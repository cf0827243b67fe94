// The admin page against Worker endpoints that are still to come: the frame-ancestors policy and
// the API key in the served HTML, replies from the inbox, web vitals kept as p75 beside the
// health figures, held-out journeys counted as abandoned, breakdowns by product, FAQ tries.
import { afterAll, beforeAll, expect, test } from "vitest";
import { SECRETS, SHOP, shopifyWebhook, sleep } from "../e2e/harness.mjs";
import { checkoutOf, freshPhone, inbound, status, templatesTo, text, whatsappWebhook } from "../e2e/meta.mjs";
import { TEST_PLAYBOOK, adminContext, adminUrl, api, launch, settled, startInstalledApp } from "./admin-harness.mjs";

let app;
let browser;

async function messaged(phone) {
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 10_000 }).toBe(1);
  await whatsappWebhook(app, status(phone, templatesTo(app.graph, phone)[0].wamid, "delivered"));
}

beforeAll(async () => {
  app = await startInstalledApp();
  browser = await launch();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.mf.dispose();
  expect(app?.unexpected).toEqual([]);
});

test("the HTML carries the API key and is answered with the frame-ancestors policy", async () => {
  for (const path of ["", "inbox"]) {
    const res = await app.mf.dispatchFetch(`${app.url}${path}?embedded=1&shop=${SHOP}`);
    expect(res.headers.get("content-security-policy")).toBe(`frame-ancestors https://${SHOP} https://admin.shopify.com;`);
    expect(await res.text()).toContain(`<meta name="shopify-api-key" content="${SECRETS.SHOPIFY_API_KEY}">`);
  }
  const forged = await app.mf.dispatchFetch(`${app.url}?shop=evil.example.com`);
  expect(forged.headers.get("content-security-policy")).toBe("frame-ancestors https://admin.shopify.com;");
});

test("a reply from the inbox reaches the Graph API, and resolving removes the conversation", async () => {
  const phone = freshPhone();
  await messaged(phone);
  await whatsappWebhook(app, inbound(phone, text("Can I talk to a person?"), { name: "Rui Costa" }));
  await expect.poll(async () => (await api(app, "/api/inbox")).body.conversations.some((c) => c.phone === phone)).toBe(true);

  const { context } = await adminContext(browser);
  const page = await context.newPage();
  await page.goto(adminUrl(app, "/inbox"));
  await settled(page);
  const thread = page.locator(`.thread[data-phone="${phone}"]`);
  await thread.getByLabel("Reply (Rui Costa)", { exact: true }).fill("Hi Rui, Ana here from the shop. How can I help?");
  await thread.getByRole("button", { name: "Send reply" }).click();
  await expect
    .poll(() => app.graph.messages.filter((m) => m.to === phone && m.type === "text").map((m) => m.body.text.body))
    .toContain("Hi Rui, Ana here from the shop. How can I help?");
  await thread.getByRole("button", { name: /^Mark resolved/ }).click();
  await expect.poll(() => thread.count()).toBe(0);
  expect((await api(app, "/api/inbox")).body.conversations.map((c) => c.phone)).not.toContain(phone);
  await context.close();
});

test("once the 24-hour window has closed, the reply is refused at its field", async () => {
  const phone = freshPhone();
  await messaged(phone);
  const old = inbound(phone, text("I need a person"), { name: "Late Shopper" });
  old.entry[0].changes[0].value.messages[0].timestamp = String(Math.floor(Date.now() / 1000) - 25 * 3600);
  await whatsappWebhook(app, old);
  await expect.poll(async () => (await api(app, "/api/inbox")).body.conversations.some((c) => c.phone === phone)).toBe(true);
  const direct = await api(app, "/api/inbox/reply", { method: "POST", body: { phone, text: "Hello?" } });
  expect(direct).toMatchObject({ status: 409, body: { error: { code: "window_closed" } } });

  const { context } = await adminContext(browser);
  const page = await context.newPage();
  await page.goto(adminUrl(app, "/inbox"));
  await settled(page);
  const thread = page.locator(`.thread[data-phone="${phone}"]`);
  const reply = thread.getByLabel("Reply (Late Shopper)", { exact: true });
  await reply.fill("Hello?");
  await thread.getByRole("button", { name: "Send reply" }).click();
  await expect.poll(() => reply.getAttribute("aria-invalid")).toBe("true");
  expect(await thread.locator("s-text-area").getAttribute("error")).toMatch(/24-hour window has closed/);
  await context.close();
});

test("the page reports its web vitals, and the dashboard shows their p75 beside the health figures", async () => {
  const { context } = await adminContext(browser);
  const page = await context.newPage();
  const posted = [];
  page.on("request", (r) => r.url().endsWith("/api/web-vitals") && posted.push(JSON.parse(r.postData())));
  await page.goto(adminUrl(app, "/"));
  await settled(page);
  await page.evaluate(() => shopify.webVitals.flush());
  await expect.poll(() => posted.map((p) => p.name)).toContain("LCP");
  await sleep(300);
  const m = (await api(app, "/api/metrics")).body;
  expect(m.health).toMatchObject({ overdue_steps: expect.any(Number), swept: expect.any(Number) });
  expect(m.health.web_vitals.LCP.p75).toBeGreaterThan(0);
  await page.reload();
  await settled(page);
  expect(await page.getByTestId("health").textContent()).toMatch(/LCP \d+ ms/);
  await context.close();
});

test("abandoned counts every journey with a phone, held-out ones included, on the page as in the API", async () => {
  await api(app, "/api/playbook", { method: "PUT", body: { ...TEST_PLAYBOOK, holdout_percent: 50 } });
  const before = (await api(app, "/api/metrics")).body.funnel.abandoned;
  for (let i = 0; i < 10; i++) await shopifyWebhook(app, "checkouts/update", checkoutOf(freshPhone()));
  await sleep(2500);
  const m = (await api(app, "/api/metrics")).body;
  expect(m.holdout.held_out.journeys).toBeGreaterThan(0);
  expect(m.funnel.abandoned).toBe(before + 10);

  const { context } = await adminContext(browser);
  const page = await context.newPage();
  await page.goto(adminUrl(app, "/"));
  await settled(page);
  expect(await page.locator('[data-stage="abandoned"] .stage-value').getAttribute("data-value")).toBe(String(m.funnel.abandoned));
  expect(await page.getByTestId("holdout").textContent()).toContain("Held-out group");
  await context.close();
  await api(app, "/api/playbook", { method: "PUT", body: TEST_PLAYBOOK });
});

test("breakdowns by product come from the carts' line items", async () => {
  const m = (await api(app, "/api/metrics?by=product")).body;
  expect(m.breakdown.length).toBeGreaterThan(0);
  expect(m.breakdown[0]).toMatchObject({ key: expect.any(String), abandoned: expect.any(Number), recovered: expect.any(Number) });
  const { context } = await adminContext(browser);
  const page = await context.newPage();
  await page.goto(adminUrl(app, "/"));
  await settled(page);
  expect(await page.getByRole("heading", { name: "By product" }).count()).toBe(1);
  await context.close();
});

test("trying a question shows what the bot would answer", async () => {
  await api(app, "/api/faq", {
    method: "PUT",
    body: { entries: [{ question: "Do you ship to Portugal?", answer: "Yes, in 3 to 5 working days.", language: "en", keywords: ["ship", "portugal"] }] },
  });
  const direct = await api(app, `/api/faq/try?q=${encodeURIComponent("do you ship to portugal")}`);
  expect(direct).toMatchObject({ status: 200, body: { answer: "Yes, in 3 to 5 working days." } });
  const { context } = await adminContext(browser);
  const page = await context.newPage();
  await page.goto(adminUrl(app, "/faq"));
  await settled(page);
  await page.locator("s-section[heading='Try a question']").getByLabel("Question", { exact: true }).fill("do you ship to portugal");
  await page.getByRole("button", { name: "Ask" }).click();
  await expect.poll(() => page.getByTestId("faq-try-answer").textContent()).toContain("Yes, in 3 to 5 working days.");
  await context.close();
});
