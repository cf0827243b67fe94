#!/usr/bin/env node
// Walks a running `make dev` through the demo in headless Chromium, as a newcomer would: opens
// the admin, abandons a checkout in the store, waits for the reminder on the shopper's phone,
// follows its link to the checkout, pays, and reads the dashboard again. Screenshots of each
// step go to test-artifacts/demo/. Usage: node scripts/demo-browser.mjs [store port] [phones port]
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const store = `http://127.0.0.1:${process.argv[2] ?? 8798}`;
const phones = `http://127.0.0.1:${process.argv[3] ?? 8799}/phones`;
const out = new URL("../test-artifacts/demo/", import.meta.url).pathname;
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_BIN ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const started = Date.now();
const step = (what) => console.log(`${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s  ${what}`);
const recovered = (admin) =>
  admin.frameLocator("iframe").locator('[data-stage="recovered"] .stage-value').getAttribute("data-value");

const admin = await context.newPage();
await admin.goto(`${store}/admin`);
await admin.frameLocator("iframe").locator('[data-stage="recovered"]').waitFor({ timeout: 30_000 });
const before = Number(await recovered(admin));
await admin.screenshot({ path: `${out}1-admin.png` });
step(`admin open: ${before} recovered so far`);

const shop = await context.newPage();
await shop.goto(`${store}/store`);
await shop.selectOption("select[name=country]", "BR");
await shop.fill("input[name=value]", "180.00");
await shop.click("text=Abandon the checkout");
await shop.screenshot({ path: `${out}2-store.png` });
step("checkout abandoned by a shopper in Brazil");

const phone = await context.newPage();
await phone.goto(phones);
const link = phone.locator(".phone").last().locator(".buttons a").first();
await link.waitFor({ timeout: 60_000 });
await phone.screenshot({ path: `${out}3-phone.png` });
step("the reminder is on the shopper's phone");

const [checkout] = await Promise.all([context.waitForEvent("page"), link.click()]);
await checkout.waitForLoadState();
await checkout.screenshot({ path: `${out}4-checkout.png` });
await checkout.click("text=Pay now");
await checkout.locator("text=Thank you").waitFor();
await checkout.screenshot({ path: `${out}5-paid.png` });
step("the shopper followed the link and paid");

await admin.bringToFront();
const end = Date.now() + 30_000;
while (Number(await recovered(admin)) <= before && Date.now() < end) await admin.waitForTimeout(1000);
await admin.screenshot({ path: `${out}6-admin-after.png` });
const after = Number(await recovered(admin));
step(`dashboard: ${after} recovered`);
await browser.close();
if (after <= before) {
  console.error("the dashboard did not move");
  process.exit(1);
}
console.log(`screenshots in ${out}`);
