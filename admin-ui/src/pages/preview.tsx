// The message as the shopper's phone shows it, filled from a sample cart.
import type { Step, WabaTemplate } from "../api";
import type { Lang } from "../i18n";
import { useApp } from "../ui";

// The wording of the templates cartback recommends, for when the WABA's own is not known.
const KNOWN: Record<string, Partial<Record<Lang, string>>> = {
  cart_reminder: {
    en: "Hi {{1}}, you left {{2}} in your cart. Your total is {{3}} — tap below to finish your order.",
    "pt-BR": "Oi {{1}}, você deixou {{2}} no carrinho. O total é {{3}} — toque abaixo para concluir o pedido.",
    es: "Hola {{1}}, dejaste {{2}} en tu carrito. El total es {{3}}: toca abajo para terminar tu pedido.",
  },
  cart_offer: {
    en: "{{1}}, your cart is still waiting. Here is {{2}}% off with code {{3}}, for the next 48 hours.",
    "pt-BR": "{{1}}, seu carrinho ainda está esperando. Aqui vai {{2}}% de desconto com o código {{3}}, nas próximas 48 horas.",
    es: "{{1}}, tu carrito sigue esperando. Tienes un {{2}} % de descuento con el código {{3}} durante las próximas 48 horas.",
  },
};

const BUTTON: Record<Lang, string> = { en: "Complete my order", "pt-BR": "Concluir meu pedido", es: "Completar mi pedido" };
const STOP: Record<Lang, string> = { en: "Reply STOP to opt out", "pt-BR": "Responda PARAR para sair", es: "Responde BAJA para darte de baja" };

export function Preview({ step, language, templates }: { step: Step; language: string; templates: WabaTemplate[] | null }) {
  const { fmt, shop } = useApp();
  const lang = step.template.languages.includes(language) ? language : (step.template.languages[0] ?? language);
  const sample: Record<string, string> = {
    first_name: "Ana",
    shop_name: shop.name || "Maple & Finch",
    cart_total: fmt.money("215.95"),
    item_count: "2",
    top_item_title: "Merino wool sweater",
    items_summary: "Merino wool sweater, Linen scarf",
    recovery_token: "r/8kQ2…",
    discount_code: "CARTBACK-7Q2X",
    discount_percent: String(step.discount?.percent ?? 10),
  };
  const values = step.body_params.map((p) => sample[p] ?? p);
  const own = templates?.find((t) => t.name === step.template.name && t.language === lang)?.body;
  const text = own ?? KNOWN[step.template.name]?.[fmt.lang];
  const body = text
    ? text.replace(/\{\{(\d+)\}\}/g, (_, n: string) => values[Number(n) - 1] ?? `{{${n}}}`)
    : values.map((v, i) => `{{${i + 1}}} ${v}`).join("\n");
  return (
    <div class="phone" data-testid="preview">
      <div class="phone-top">
        <span class="avatar" aria-hidden="true">
          {(shop.name || "M").slice(0, 1)}
        </span>
        <span>{shop.name || "Maple & Finch"}</span>
      </div>
      <div class="phone-screen">
        <div class="bubble">
          {step.header === "top_item_image" && (
            <div class="bubble-image" role="img" aria-label={fmt.t("preview_image")} data-testid="preview-image">
              {fmt.t("preview_image")}
            </div>
          )}
          <p class="bubble-meta">
            {step.template.name} · {lang}
          </p>
          <p class="bubble-body">{body}</p>
          <p class="bubble-footer">{STOP[fmt.lang]}</p>
          {step.button_url_param && <div class="bubble-button">↗ {BUTTON[fmt.lang]}</div>}
        </div>
      </div>
    </div>
  );
}
