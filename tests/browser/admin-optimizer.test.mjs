// The admin page's optimizer panel in headless Chromium against the compiled Worker: journeys
// and orders through signed webhooks, a window short enough to settle within the test, the
// learned best said in plain words with the numbers beside, and the settings and reset.
import { afterAll, beforeAll, expect, test } from "vitest";
import { orderPayload, shopifyWebhook, sleep } from "../e2e/harness.mjs";
import { checkoutOf, freshPhone } from "../e2e/meta.mjs";
import { TEST_PLAYBOOK, adminContext, adminUrl, api, deepText, launch, screenshot, seriousViolations, settled, startInstalledApp } from "./admin-harness.mjs";

const WINDOW_S = 5;
let app;
let browser;

beforeAll(async () => {
  const [reminder, offer] = TEST_PLAYBOOK.steps;
  app = await startInstalledApp({
    playbook: {
      ...TEST_PLAYBOOK,
      attribution_window_hours: WINDOW_S / 3600,
      optimize: { enabled: true, goal: "recoveries", explore_percent: 10 },
      steps: [{ ...reminder, delay_options: [1, 2] }, { ...offer, delay_seconds: 4 }],
    },
  });
  browser = await launch();
  // Twenty journeys; every shopper whose reminder came after 2 seconds buys, a few others do.
  const checkouts = await Promise.all(
    Array.from({ length: 20 }, async () => {
      const checkout = checkoutOf(freshPhone());
      expect((await shopifyWebhook(app, "checkouts/update", checkout)).status).toBe(200);
      return checkout;
    }),
  );
  await sleep(2500);
  const { journeys } = (await api(app, "/api/journeys?status=all")).body;
  let others = 0;
  for (const checkout of checkouts) {
    const j = journeys.find((j) => j.checkout_token === checkout.token);
    const delay = Number.parseInt(j.steps[0].options[0], 10);
    if (delay !== 2 && others++ % 4 !== 0) continue;
    const order = orderPayload(checkout.token);
    order.created_at = new Date().toISOString();
    expect((await shopifyWebhook(app, "orders/create", order)).status).toBe(200);
  }
  await sleep(2 * WINDOW_S * 1000 + 1000); // every trial's window and grace have passed
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await app?.mf.dispose();
});

test("the panel says what was learned in plain words, with the numbers beside", async () => {
  const report = (await api(app, "/api/optimization")).body;
  const decision = report.decisions.find((d) => d.step === "reminder" && d.dimension === "delay");
  expect(decision.segment).toBe("large");
  for (const [label, width, height] of [["desktop", 1280, 900], ["phone", 390, 844]]) {
    const { context, errors } = await adminContext(browser, { width, height });
    const page = await context.newPage();
    await page.goto(adminUrl(app, "/optimizer"));
    await settled(page);
    const block = page.locator('[data-decision="reminder/delay/large"]');
    await block.waitFor();
    const sentence = await block.locator(".opt-sentence").innerText();
    expect(sentence).toContain("Large carts:");
    const best = decision.options.find((o) => o.option === decision.would_choose);
    if (best.probability_best >= 0.5) {
      expect(sentence).toContain(`reminders after ${decision.would_choose === "2s" ? "2 seconds" : "1 second"} recover most`);
      // The page fetched its own report: its probabilities are Monte Carlo draws of their own,
      // so they agree with this one's within a point or two, not to the digit.
      const shown = Number(/(\d+)% likely best/.exec(sentence)?.[1]);
      expect(Math.abs(shown - best.probability_best * 100)).toBeLessThanOrEqual(3);
    }
    for (const o of decision.options) {
      const row = block.locator(`tr[data-option="${o.option}"]`);
      expect(await row.locator("td").nth(1).innerText()).toBe(String(o.journeys));
      expect(await row.locator("td").nth(2).innerText()).toBe(String(o.recoveries));
      // Nothing is held out in this shop: no lift is made up, the page says why.
      expect(o.lift).toBeNull();
      expect(await row.locator("td").nth(4).innerText()).toBe("—");
    }
    expect(await page.getByTestId("opt-no-holdout").innerText()).toContain("No journeys are held out");
    // Every column is on the screen, without scrolling sideways, at a phone's width too.
    const hidden = await block.locator(".table-scroll").evaluate((e) => e.scrollWidth - e.clientWidth);
    expect(hidden).toBeLessThanOrEqual(0);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, `${label}-optimizer`);
    expect(errors).toEqual([]);
    await context.close();
  }
});

test("the panel speaks Portuguese and Spanish too", async () => {
  const report = (await api(app, "/api/optimization")).body;
  const decision = report.decisions.find((d) => d.step === "reminder" && d.dimension === "delay");
  const best = decision.options.find((o) => o.option === decision.would_choose);
  const seconds = decision.would_choose === "2s" ? "2 segundos" : "1 segundo";
  for (const [locale, title, segment, recovers] of [
    ["pt-BR", "O que funciona na sua loja", "Carrinhos grandes:", `lembretes após ${seconds} recuperam mais`],
    ["es", "Lo que funciona en tu tienda", "Carritos grandes:", `los recordatorios tras ${seconds} recuperan más`],
  ]) {
    const { context, errors } = await adminContext(browser);
    const page = await context.newPage();
    await page.goto(adminUrl(app, "/optimizer", { locale }));
    await settled(page);
    const block = page.locator('[data-decision="reminder/delay/large"]');
    await block.waitFor();
    const sentence = await block.locator(".opt-sentence").innerText();
    expect(sentence).toContain(segment);
    if (best.probability_best >= 0.5) expect(sentence).toContain(recovers);
    // Longer headings than English, still every column on the screen.
    const hidden = await block.locator(".table-scroll").evaluate((e) => e.scrollWidth - e.clientWidth);
    expect(hidden).toBeLessThanOrEqual(0);
    const text = await deepText(page);
    expect(text).toContain(title);
    for (const english of ["What works for your shop", "Options to try", "Large carts", "Forget what was learned"]) {
      expect(text).not.toContain(english);
    }
    await screenshot(page, `desktop-optimizer-${locale}`);
    expect(errors).toEqual([]);
    await context.close();
  }
});

test("the merchant turns the optimizer off and on, adds options and resets what it learned", async () => {
  const { context } = await adminContext(browser);
  const page = await context.newPage();
  await page.goto(adminUrl(app, "/optimizer"));
  await settled(page);
  await page.getByLabel("Delays to try for “offer”").fill("0.001"); // within the test's 5-second window
  await page.getByLabel("Try “reminder” with and without an offer").check();
  await page.getByLabel("Let cartback find what works").uncheck();
  await page.getByRole("button", { name: "Save" }).click();
  await expect.poll(async () => (await api(app, "/api/playbook")).body.optimize.enabled).toBe(false);
  const saved = (await api(app, "/api/playbook")).body;
  expect(saved.steps[1].delay_options).toEqual([4]);
  expect(saved.steps[0].discount_options).toEqual([null, { percent: 10, expires_after_hours: 48 }]);
  expect(saved.steps[0].delay_options).toEqual([1, 2]);
  await page.getByLabel("Let cartback find what works").check();
  await page.getByRole("button", { name: "Save" }).click();
  await expect.poll(async () => (await api(app, "/api/playbook")).body.optimize.enabled).toBe(true);

  page.on("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Forget what was learned" }).click();
  await page.getByTestId("opt-empty").waitFor();
  expect((await api(app, "/api/optimization")).body.decisions).toEqual([]);
  expect(await deepText(page)).toContain("Nothing learned yet");
  await context.close();
});
