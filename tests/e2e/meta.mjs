// Meta's side of the wire: signed WhatsApp webhooks as the Cloud API delivers them.
import { createHmac, randomBytes } from "node:crypto";
import { PHONE_NUMBER_ID, SECRETS, WABA_ID, checkoutPayload } from "./harness.mjs";

export const signMeta = (body, secret = SECRETS.META_APP_SECRET) =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

/** POSTs a WhatsApp webhook body (object or exact string), signed unless `signature` is given. */
export function whatsappWebhook(app, payload, { signature } = {}) {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  return app.mf.dispatchFetch(`${app.url}webhooks/whatsapp`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Hub-Signature-256": signature ?? signMeta(body) },
    body,
  });
}

const envelope = (field, value) => ({
  object: "whatsapp_business_account",
  entry: [
    {
      id: "102290129340398",
      changes: [
        {
          field,
          value: {
            messaging_product: "whatsapp",
            metadata: { display_phone_number: "16285550107", phone_number_id: PHONE_NUMBER_ID },
            ...value,
          },
        },
      ],
    },
  ],
});

const now = () => String(Math.floor(Date.now() / 1000));
const wamid = () => `wamid.${randomBytes(18).toString("base64url")}`;

/** A shopper's message: text, a template quick-reply tap, or an interactive reply. */
export function inbound(phone, content, { context, name = "Emily Carter", id = wamid() } = {}) {
  const from = phone.replace("+", "");
  const message = { from, id, timestamp: now(), ...content };
  if (context) message.context = { from: "16285550107", id: context };
  return envelope("messages", { contacts: [{ profile: { name }, wa_id: from }], messages: [message] });
}

export const text = (body) => ({ type: "text", text: { body } });
export const button = (payload, label) => ({ type: "button", button: { payload, text: label } });
export const interactiveReply = (id, title) => ({
  type: "interactive",
  interactive: { type: "button_reply", button_reply: { id, title } },
});

/** A status for a message we sent. */
export function status(phone, messageId, value, { errors, pricing } = {}) {
  const item = { id: messageId, status: value, timestamp: now(), recipient_id: phone.replace("+", "") };
  if (errors) item.errors = errors.map((code) => ({ code, title: `error ${code}` }));
  if (pricing) item.pricing = pricing;
  return envelope("messages", { statuses: [item] });
}

export function userPreference(phone, value) {
  const wa = phone.replace("+", "");
  return envelope("user_preferences", {
    contacts: [{ profile: { name: "Emily Carter" }, wa_id: wa }],
    user_preferences: [
      { wa_id: wa, detail: "User requested", category: "marketing_messages", value, timestamp: Number(now()) },
    ],
  });
}

/** A fresh Canadian shopper (US numbers may not receive marketing templates). */
export const freshPhone = () => `+1416555${String(Math.floor(1000 + Math.random() * 9000))}`;

/** An abandoned checkout of `phone`. */
export function checkoutOf(phone, options) {
  const checkout = checkoutPayload(options);
  checkout.phone = phone;
  checkout.sms_marketing_phone = phone;
  checkout.shipping_address.phone = phone;
  checkout.billing_address.phone = phone;
  return checkout;
}

/** Free-form texts the fake Graph API accepted for `phone`. */
export const textsTo = (graph, phone) =>
  graph.messages.filter((m) => m.to === phone && m.type === "text").map((m) => m.body.text.body);
export const templatesTo = (graph, phone) =>
  graph.messages.filter((m) => m.to === phone && m.type === "template");

/**
 * A WhatsApp Business Account webhook about a template: `message_template_status_update`
 * (`{ event: "PAUSED" }`...) or `template_category_update` (`{ previous_category, new_category }`,
 * or an impending change with `correct_category`).
 */
export function templateWebhook(field, { name, language = "en_US", ...value }) {
  return {
    object: "whatsapp_business_account",
    entry: [
      {
        id: WABA_ID,
        time: Math.floor(Date.now() / 1000),
        changes: [{ field, value: { message_template_id: 1_000_001, message_template_name: name, message_template_language: language, ...value } }],
      },
    ],
  };
}
