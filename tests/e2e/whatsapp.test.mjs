// WhatsApp end to end: Meta's verification, signed webhooks, statuses, conversations and every
// way a send can fail, with the built Worker in workerd and the Graph API fake.
import { afterAll, beforeAll, beforeEach, expect, test } from "vitest";
import { SECRETS, SHOP, adminApi, connectWhatsApp, fixture, installShop, sessionToken, shopifyWebhook, sleep, startApp } from "./harness.mjs";
import {
  button,
  checkoutOf,
  freshPhone,
  inbound,
  interactiveReply,
  status,
  templatesTo,
  text,
  textsTo,
  userPreference,
  whatsappWebhook,
} from "./meta.mjs";

let app;
beforeAll(async () => {
  app = await startApp({ sendTimeoutMs: 2000 });
  await installShop(app.kv);
  expect((await adminApi(app, "/api/shop", { token: sessionToken({ shop: SHOP }) })).status).toBe(200);
});
beforeEach(async () => {
  await installShop(app.kv, { delaySeconds: 1 });
});
afterAll(async () => {
  expect(app.graph.invalid).toEqual([]);
  expect(app.shopify.invalid).toEqual([]);
  await app.mf.dispose();
});

/** Abandons a checkout of a fresh shopper and waits for its first template. */
async function messaged({ delaySeconds = 1 } = {}) {
  const phone = freshPhone();
  const checkout = checkoutOf(phone);
  expect((await shopifyWebhook(app, "checkouts/update", checkout)).status).toBe(200);
  await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 10_000 + delaySeconds * 1000 }).toBe(1);
  return { phone, checkout, wamid: templatesTo(app.graph, phone)[0].wamid };
}

/** A reminder after 1 s and a nudge after 3 s, so a test can see the second one not go out. */
function installTwoSteps(playbook = {}) {
  return installShop(app.kv, {
    playbook: {
      ...playbook,
      steps: [
        { id: "reminder", delay_seconds: 1, template: { name: "cart_reminder", languages: ["en_US"] } },
        { id: "nudge", delay_seconds: 3, template: { name: "cart_nudge", languages: ["en_US"] } },
      ],
    },
  });
}

test("Meta's subscription check gets the challenge back, a wrong token 403", async () => {
  const ok = await app.mf.dispatchFetch(
    `${app.url}webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=${SECRETS.WHATSAPP_VERIFY_TOKEN}`,
  );
  expect(ok.status).toBe(200);
  expect(await ok.text()).toBe("1158201444");
  const wrong = await app.mf.dispatchFetch(
    `${app.url}webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1&hub.verify_token=guess`,
  );
  expect(wrong.status).toBe(403);
  expect((await wrong.json()).error.code).toBe("forbidden");
});

test("a bad signature gets 401, a good one over bad JSON 400", async () => {
  const body = JSON.stringify(inbound(freshPhone(), text("STOP")));
  expect((await whatsappWebhook(app, body, { signature: "sha256=" + "0".repeat(64) })).status).toBe(401);
  expect((await whatsappWebhook(app, body, { signature: "" })).status).toBe(401);
  const res = await whatsappWebhook(app, "{nope");
  expect(res.status).toBe(400);
  expect((await res.json()).error.code).toBe("bad_request");
});

test("delivery statuses are accepted, statuses for unknown messages ignored", async () => {
  const { phone, wamid } = await messaged();
  for (const value of ["sent", "delivered", "read"]) {
    expect((await whatsappWebhook(app, status(phone, wamid, value))).status).toBe(200);
  }
  expect((await whatsappWebhook(app, status(phone, "wamid.unknown", "read"))).status).toBe(200);
});

test("STOP opts out at once: one confirmation, then nothing more", async () => {
  await installTwoSteps();
  const { phone } = await messaged();
  const stop = inbound(phone, text("Stop!"));
  expect((await whatsappWebhook(app, stop)).status).toBe(200);
  expect((await whatsappWebhook(app, stop)).status).toBe(200); // Meta delivers again
  expect((await whatsappWebhook(app, inbound(phone, text("STOP")))).status).toBe(200);
  await sleep(4000);
  expect(textsTo(app.graph, phone)).toHaveLength(1);
  expect(textsTo(app.graph, phone)[0]).toMatch(/START/);
  expect(templatesTo(app.graph, phone)).toHaveLength(1);
  // A new cart of the same shopper is not messaged either.
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  await sleep(2500);
  expect(templatesTo(app.graph, phone)).toHaveLength(1);
});

test("stop words in other languages opt out too", async () => {
  for (const word of ["PARAR", "baja", "Arrêt", "STOPP", "sair"]) {
    const { phone } = await messaged();
    await whatsappWebhook(app, inbound(phone, text(word)));
    await expect.poll(() => textsTo(app.graph, phone).length, { timeout: 5000 }).toBe(1);
  }
});

test("Meta's marketing stop (user_preferences) opts out with one confirmation", async () => {
  await installTwoSteps();
  const { phone } = await messaged();
  expect((await whatsappWebhook(app, userPreference(phone, "stop"))).status).toBe(200);
  await sleep(3500);
  expect(textsTo(app.graph, phone)).toHaveLength(1);
  expect(templatesTo(app.graph, phone)).toHaveLength(1);
});

test("'Not interested' ends the journey", async () => {
  await installTwoSteps({ stop_on_reply: false });
  const { phone, wamid } = await messaged();
  await whatsappWebhook(app, inbound(phone, button("not_interested", "Not interested"), { context: wamid }));
  await sleep(3500);
  expect(templatesTo(app.graph, phone)).toHaveLength(1);
});

test("'Complete my order' sends the recovery link, which redirects to the checkout", async () => {
  const { phone, checkout, wamid } = await messaged();
  await whatsappWebhook(app, inbound(phone, interactiveReply("complete_order", "Complete my order"), { context: wamid }));
  await expect.poll(() => textsTo(app.graph, phone).length, { timeout: 5000 }).toBe(1);
  const link = textsTo(app.graph, phone)[0].match(/https:\/\/cartback\.test\/r\/([A-Za-z0-9_-]+)/);
  expect(link).toBeTruthy();
  const res = await app.mf.dispatchFetch(`${app.url}r/${link[1]}`, { redirect: "manual" });
  expect(res.status).toBe(302);
  expect(res.headers.get("Location")).toBe(checkout.abandoned_checkout_url);
  const guessed = await app.mf.dispatchFetch(`${app.url}r/AAAAAAAAAAAAAAAAAAAAAA`, { redirect: "manual" });
  expect(guessed.status).toBe(404);
});

test("a request for a person gets one acknowledgement, then the bot stays quiet", async () => {
  const { phone } = await messaged();
  await whatsappWebhook(app, inbound(phone, text("Can I talk to a person please?")));
  await whatsappWebhook(app, inbound(phone, text("Hello? Anyone there?")));
  await whatsappWebhook(app, inbound(phone, text("STOP")));
  await sleep(1000);
  const texts = textsTo(app.graph, phone);
  // The acknowledgement, then silence — except that STOP is always honoured and confirmed.
  expect(texts).toHaveLength(2);
  expect(texts[1]).toMatch(/START/);
});

test("a transient refusal (130429) is retried and sent once", async () => {
  app.graph.failNext(1, 130429);
  const { phone } = await messaged({ delaySeconds: 4 });
  expect(app.graph.rejected.filter((r) => r.to === phone)).toHaveLength(1);
  await sleep(1500);
  expect(templatesTo(app.graph, phone)).toHaveLength(1);
});

test("a 5xx from Meta is retried", async () => {
  app.graph.failNext(1, { httpStatus: 503 });
  const { phone } = await messaged({ delaySeconds: 4 });
  expect(templatesTo(app.graph, phone)).toHaveLength(1);
});

test("a final refusal (131026) is not retried", async () => {
  app.graph.failNext(1, 131026);
  const phone = freshPhone();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  await expect.poll(() => app.graph.rejected.filter((r) => r.to === phone).length, { timeout: 5000 }).toBe(1);
  await sleep(4000);
  expect(app.graph.rejected.filter((r) => r.to === phone)).toHaveLength(1);
  expect(templatesTo(app.graph, phone)).toHaveLength(0);
});

test("an expired token (190) pauses the shop's sending until it reconnects", async () => {
  app.graph.failNext(1, 190);
  const phone = freshPhone();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  await expect.poll(async () => JSON.parse(await app.kv.get(`shop:${SHOP}`)).whatsapp.paused, { timeout: 5000 }).toBe(true);
  // The merchant sees it in the admin page.
  const shown = await (await adminApi(app, "/api/whatsapp", { token: sessionToken({ shop: SHOP }) })).json();
  expect(shown).toMatchObject({ connected: false, status: "token_rejected" });
  const other = freshPhone();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(other));
  await sleep(2500);
  expect(templatesTo(app.graph, other)).toHaveLength(0);
  // The merchant connects again: sending resumes.
  await connectWhatsApp(app);
  expect(await (await adminApi(app, "/api/whatsapp", { token: sessionToken({ shop: SHOP }) })).json()).toMatchObject({ connected: true });
  const later = freshPhone();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(later));
  await expect.poll(() => templatesTo(app.graph, later).length, { timeout: 8000 }).toBe(1);
});

test("a failed status with 131049 is not retried within 24 hours", async () => {
  const { phone, wamid } = await messaged();
  await whatsappWebhook(app, status(phone, wamid, "failed", { errors: [131049] }));
  await sleep(3000);
  expect(templatesTo(app.graph, phone)).toHaveLength(1);
});

test("a failed status with a transient code is retried", async () => {
  const { phone, wamid } = await messaged();
  await whatsappWebhook(app, status(phone, wamid, "failed", { errors: [131000] }));
  await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 8000 }).toBe(2);
});

test("questions are answered from the FAQ, with buttons to finish the order", async () => {
  const token = sessionToken({ shop: SHOP });
  const faq = {
    entries: [
      { question: "Do you ship internationally?", answer: "Yes, we ship to Portugal in 3–5 days.", keywords: ["ship", "shipping", "lisbon"] },
      { question: "Você entrega em Lisboa?", answer: "Sim, entregamos em Lisboa em 3 a 5 dias.", language: "pt", keywords: ["entrega", "lisboa"] },
    ],
  };
  expect((await adminApi(app, "/api/faq", { token, method: "PUT", body: faq })).status).toBe(200);
  expect(await (await adminApi(app, "/api/faq", { token })).json()).toMatchObject(faq);
  const { phone } = await messaged();
  const question = JSON.parse(fixture("whatsapp/webhook-message-text.json").replaceAll("14165550142", phone.slice(1)));
  question.entry[0].changes[0].value.messages[0].timestamp = String(Math.floor(Date.now() / 1000));
  await whatsappWebhook(app, question);
  await expect.poll(() => app.graph.messages.filter((m) => m.to === phone && m.type === "interactive").length, { timeout: 5000 }).toBe(1);
  const answer = app.graph.messages.find((m) => m.to === phone && m.type === "interactive").body.interactive;
  expect(answer.body.text).toBe("Yes, we ship to Portugal in 3–5 days.");
  expect(answer.action.buttons.map((b) => b.reply.id)).toEqual(["complete_order", "not_interested"]);

  const pt = freshPhone();
  await whatsappWebhook(app, inbound(pt, text("Vocês entregam em Lisboa?")));
  await expect.poll(() => textsTo(app.graph, pt), { timeout: 5000 }).toEqual(["Sim, entregamos em Lisboa em 3 a 5 dias."]);
});

test("unclear questions go to the inbox until the merchant resolves them", async () => {
  const token = sessionToken({ shop: SHOP });
  const { phone } = await messaged();
  await whatsappWebhook(app, inbound(phone, text("Is the merino itchy on sensitive skin?"), { name: "Iris Vale" }));
  await expect.poll(() => textsTo(app.graph, phone).length, { timeout: 5000 }).toBe(1);
  const inbox = await (await adminApi(app, "/api/inbox", { token })).json();
  const waiting = inbox.conversations.find((c) => c.phone === phone);
  expect(waiting).toMatchObject({ name: "Iris Vale", last_message: "Is the merino itchy on sensitive skin?" });
  // The bot stays quiet in that conversation...
  await whatsappWebhook(app, inbound(phone, text("Do you ship internationally?")));
  await sleep(800);
  expect(textsTo(app.graph, phone)).toHaveLength(1);
  // ...until the merchant resolves it.
  const resolved = await adminApi(app, "/api/inbox/resolve", { token, method: "POST", body: { phone } });
  expect(await resolved.json()).toEqual({ resolved: true });
  const after = await (await adminApi(app, "/api/inbox", { token })).json();
  expect(after.conversations.find((c) => c.phone === phone)).toBeUndefined();
});

test("every WhatsApp fixture is accepted with its own signature", async () => {
  const manifest = JSON.parse(fixture("manifest.json"));
  for (const [file, context] of Object.entries(manifest.whatsapp ?? {})) {
    const signature = context.headers?.["X-Hub-Signature-256"];
    if (!signature) continue; // responses, not webhooks
    const res = await whatsappWebhook(app, fixture(file), { signature });
    expect(res.status, file).toBe(200);
  }
});

test("a send whose answer is lost after it left is never repeated", async () => {
  app.stallSends = 1;
  const phone = freshPhone();
  await shopifyWebhook(app, "checkouts/update", checkoutOf(phone));
  await expect.poll(() => templatesTo(app.graph, phone).length, { timeout: 8000 }).toBe(1);
  await sleep(5000);
  expect(templatesTo(app.graph, phone)).toHaveLength(1);
});
