// The demo shop `make dev` installs: its KV records, printed as one `wrangler kv bulk put` file
// (one wrangler start instead of one per record).
// The WhatsApp token is sealed with the local data key, as the app keeps every token at rest.
import { seal } from "../tests/e2e/harness.mjs";
import { devVars } from "./dev-vars.mjs";
export const DEMO_SHOP = "cartback-demo.myshopify.com";
export const DEMO_PHONE_NUMBER_ID = process.env.DEMO_PHONE_NUMBER_ID ?? "100000000000001";
export const DEMO_WHATSAPP_TOKEN = process.env.DEMO_WHATSAPP_TOKEN ?? "demo-whatsapp-token";
/** Seconds between the abandoned checkout and its reminder in the demo. */
export const DEMO_DELAY_SECONDS = 10;

const record = () => ({
  name: "Maple & Finch (demo)",
  timezone: "America/Toronto",
  whatsapp: {
    phone_number_id: DEMO_PHONE_NUMBER_ID,
    waba_id: "200000000000002",
    access_token: seal(DEMO_WHATSAPP_TOKEN, devVars().DATA_ENCRYPTION_KEY),
  },
});

const playbook = {
  version: 1,
  enabled: true,
  consent_mode: "checkout_marketing_consent",
  default_language: "en_US",
  steps: [
    {
      id: "reminder",
      delay_seconds: DEMO_DELAY_SECONDS,
      template: { name: "cart_reminder", languages: ["en_US", "pt_BR"] },
      body_params: ["first_name", "top_item_title", "cart_total"],
      button_url_param: "recovery_token",
    },
    {
      id: "offer",
      delay_seconds: DEMO_DELAY_SECONDS * 3,
      template: { name: "cart_offer", languages: ["en_US"] },
      body_params: ["first_name", "discount_percent", "discount_code"],
      button_url_param: "recovery_token",
      when: { min_cart_value: "150.00" },
      discount: { percent: 10, expires_after_hours: 48 },
    },
  ],
  quiet_hours: null,
  stop_on_reply: true,
  holdout_percent: 0,
  journey_ttl_days: 30,
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const kv = [
    { key: `shop:${DEMO_SHOP}`, value: JSON.stringify(record()) },
    { key: `playbook:${DEMO_SHOP}`, value: JSON.stringify(playbook) },
    { key: `wa:${DEMO_PHONE_NUMBER_ID}`, value: DEMO_SHOP },
  ];
  console.log(JSON.stringify(kv));
}
