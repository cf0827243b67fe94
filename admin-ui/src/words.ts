// Plain words for WhatsApp error codes, skip reasons and journey endings, per language.
import type { Lang } from "./i18n";

type Entry = [what: string, todo: string];
type Table = Record<string, Record<Lang, Entry>>;

export const FAILURES: Table = {
  "131049": {
    en: ["Meta held the message back: this shopper has had many marketing messages lately.", "Nothing to fix. cartback waits 24 hours before trying this shopper again; fewer, better-timed steps help."],
    "pt-BR": ["A Meta segurou a mensagem: este cliente recebeu muitas mensagens de marketing recentemente.", "Nada a corrigir. O cartback espera 24 horas antes de tentar de novo; menos etapas, bem programadas, ajudam."],
    es: ["Meta retuvo el mensaje: este cliente ha recibido muchos mensajes de marketing últimamente.", "Nada que corregir. cartback espera 24 horas antes de volver a intentarlo; menos pasos y mejor programados ayudan."],
  },
  "131026": {
    en: ["The message could not be delivered: the number may not use WhatsApp or has an old app version.", "Nothing to fix for this shopper; if it is frequent, check that phone numbers are collected with their country code."],
    "pt-BR": ["A mensagem não pôde ser entregue: o número pode não usar WhatsApp ou ter uma versão antiga do app.", "Nada a corrigir para este cliente; se for frequente, confira se os telefones são coletados com o código do país."],
    es: ["No se pudo entregar el mensaje: puede que el número no use WhatsApp o tenga una versión antigua.", "Nada que corregir para este cliente; si es frecuente, comprueba que los teléfonos se recogen con el prefijo del país."],
  },
  "132001": {
    en: ["The template does not exist in this language or is not approved yet.", "Open WhatsApp Manager, check the template's name and languages, and match them on the Playbook page."],
    "pt-BR": ["O modelo não existe neste idioma ou ainda não foi aprovado.", "Abra o WhatsApp Manager, confira o nome e os idiomas do modelo e use os mesmos na página Roteiro."],
    es: ["La plantilla no existe en este idioma o aún no está aprobada.", "Abre WhatsApp Manager, revisa el nombre y los idiomas de la plantilla y úsalos igual en la página Guion."],
  },
  "190": {
    en: ["Meta no longer accepts the access token, so sending is paused.", "Create a new access token and connect WhatsApp again on the WhatsApp page."],
    "pt-BR": ["A Meta não aceita mais o token de acesso, então os envios estão pausados.", "Crie um novo token de acesso e conecte o WhatsApp de novo na página WhatsApp."],
    es: ["Meta ya no acepta el token de acceso, así que los envíos están en pausa.", "Crea un token de acceso nuevo y vuelve a conectar WhatsApp en la página WhatsApp."],
  },
  "131047": {
    en: ["More than 24 hours passed since the shopper last wrote, so only templates may be sent.", "Nothing to fix: recovery steps use templates."],
    "pt-BR": ["Passaram mais de 24 horas desde a última mensagem do cliente; só modelos podem ser enviados.", "Nada a corrigir: as etapas de recuperação usam modelos."],
    es: ["Pasaron más de 24 horas desde el último mensaje del cliente; solo se pueden enviar plantillas.", "Nada que corregir: los pasos de recuperación usan plantillas."],
  },
  "131050": {
    en: ["The shopper stopped marketing messages from your business in WhatsApp.", "Nothing to do: cartback recorded the opt-out and will not message them again."],
    "pt-BR": ["O cliente bloqueou mensagens de marketing da sua empresa no WhatsApp.", "Nada a fazer: o cartback registrou a recusa e não enviará mais mensagens."],
    es: ["El cliente detuvo los mensajes de marketing de tu empresa en WhatsApp.", "Nada que hacer: cartback registró la baja y no volverá a escribirle."],
  },
  "130429": {
    en: ["Meta's throughput limit for your number was reached.", "Lower messages per second on the WhatsApp page to your number's tier."],
    "pt-BR": ["O limite de envio da Meta para o seu número foi atingido.", "Reduza as mensagens por segundo na página WhatsApp para a capacidade do seu número."],
    es: ["Se alcanzó el límite de envío de Meta para tu número.", "Reduce los mensajes por segundo en la página WhatsApp a la capacidad de tu número."],
  },
  "131056": {
    en: ["Too many messages to the same shopper in a short time.", "cartback retries later; space the steps further apart."],
    "pt-BR": ["Mensagens demais para o mesmo cliente em pouco tempo.", "O cartback tenta de novo depois; espace mais as etapas."],
    es: ["Demasiados mensajes al mismo cliente en poco tiempo.", "cartback lo reintenta más tarde; separa más los pasos."],
  },
  "132000": {
    en: ["The number of parameters does not match the template.", "On the Playbook page, give the step as many body parameters as the template has variables."],
    "pt-BR": ["O número de parâmetros não corresponde ao modelo.", "Na página Roteiro, dê à etapa tantos parâmetros quantas variáveis o modelo tiver."],
    es: ["El número de parámetros no coincide con la plantilla.", "En la página Guion, da al paso tantos parámetros como variables tenga la plantilla."],
  },
  "132015": {
    en: ["Meta paused the template for low quality.", "Edit the template in WhatsApp Manager or choose another one on the Playbook page."],
    "pt-BR": ["A Meta pausou o modelo por baixa qualidade.", "Edite o modelo no WhatsApp Manager ou escolha outro na página Roteiro."],
    es: ["Meta pausó la plantilla por baja calidad.", "Edita la plantilla en WhatsApp Manager o elige otra en la página Guion."],
  },
  "131000": {
    en: ["Meta reported an unknown error.", "cartback retries with backoff; if it keeps happening, check Meta's status page."],
    "pt-BR": ["A Meta informou um erro desconhecido.", "O cartback tenta de novo aos poucos; se continuar, veja a página de status da Meta."],
    es: ["Meta informó de un error desconocido.", "cartback reintenta con espera; si continúa, revisa la página de estado de Meta."],
  },
};

const OTHER: Record<Lang, Entry> = {
  en: ["WhatsApp refused the message with error {code}.", "Look the code up in Meta's error reference."],
  "pt-BR": ["O WhatsApp recusou a mensagem com o erro {code}.", "Procure o código na referência de erros da Meta."],
  es: ["WhatsApp rechazó el mensaje con el error {code}.", "Busca el código en la referencia de errores de Meta."],
};

export function failure(code: string, lang: Lang): Entry {
  const e = FAILURES[code]?.[lang];
  return e ?? (OTHER[lang].map((s) => s.replace("{code}", code)) as Entry);
}

const SKIPS: Record<string, Record<Lang, string>> = {
  shop_disabled: { en: "Messages were turned off", "pt-BR": "As mensagens estavam desativadas", es: "Los mensajes estaban desactivados" },
  whatsapp_not_connected: { en: "WhatsApp was not connected", "pt-BR": "O WhatsApp não estava conectado", es: "WhatsApp no estaba conectado" },
  step_removed: { en: "The step was removed from the playbook", "pt-BR": "A etapa foi removida do roteiro", es: "El paso se quitó del guion" },
  no_phone: { en: "No usable phone number", "pt-BR": "Sem telefone utilizável", es: "Sin teléfono utilizable" },
  country_blocked: { en: "WhatsApp does not deliver marketing to this country (US numbers)", "pt-BR": "O WhatsApp não entrega marketing neste país (números dos EUA)", es: "WhatsApp no entrega marketing a este país (números de EE. UU.)" },
  superseded: { en: "A later step was already due", "pt-BR": "Uma etapa posterior já estava na hora", es: "Ya tocaba un paso posterior" },
  expired: { en: "The journey was too old", "pt-BR": "A jornada era antiga demais", es: "El recorrido era demasiado antiguo" },
  condition_not_met: { en: "The cart value was outside the step's condition", "pt-BR": "O valor do carrinho estava fora da condição da etapa", es: "El valor del carrito no cumplía la condición del paso" },
  holdout: { en: "In the held-out group", "pt-BR": "No grupo de controle", es: "En el grupo de control" },
  no_consent: { en: "No consent from the shopper", "pt-BR": "Sem consentimento do cliente", es: "Sin consentimiento del cliente" },
  opted_out: { en: "The shopper opted out", "pt-BR": "O cliente recusou mensagens", es: "El cliente se dio de baja" },
  capped: { en: "Frequency cap reached", "pt-BR": "Limite de frequência atingido", es: "Límite de frecuencia alcanzado" },
  marketing_limited: { en: "Meta limited marketing to this shopper in the last 24 hours", "pt-BR": "A Meta limitou o marketing a este cliente nas últimas 24 horas", es: "Meta limitó el marketing a este cliente en las últimas 24 horas" },
  discount_unavailable: { en: "The discount code could not be created", "pt-BR": "Não foi possível criar o código de desconto", es: "No se pudo crear el código de descuento" },
  template_unavailable: { en: "The template was paused, rejected or moved out of marketing by Meta", "pt-BR": "O modelo foi pausado, rejeitado ou tirado de marketing pela Meta", es: "Meta pausó, rechazó o sacó de marketing la plantilla" },
  image_unavailable: { en: "Neither the product nor the playbook had an image for the header", "pt-BR": "Nem o produto nem o roteiro tinham imagem para o cabeçalho", es: "Ni el producto ni el guion tenían imagen para el encabezado" },
};

export const skip = (reason: string, lang: Lang) => SKIPS[reason]?.[lang] ?? reason.replace(/_/g, " ");

const ENDS: Record<string, Record<Lang, string>> = {
  ordered: { en: "ordered", "pt-BR": "comprou", es: "compró" },
  completed: { en: "checkout completed", "pt-BR": "checkout concluído", es: "checkout completado" },
  deleted: { en: "checkout deleted", "pt-BR": "checkout excluído", es: "checkout eliminado" },
  finished: { en: "every step ran", "pt-BR": "todas as etapas rodaram", es: "se ejecutaron todos los pasos" },
  opted_out: { en: "opted out", "pt-BR": "recusou mensagens", es: "se dio de baja" },
  replied: { en: "the shopper replied", "pt-BR": "o cliente respondeu", es: "el cliente respondió" },
  not_interested: { en: "not interested", "pt-BR": "sem interesse", es: "sin interés" },
  shop_gone: { en: "app uninstalled", "pt-BR": "app desinstalado", es: "app desinstalada" },
};

export const ending = (reason: string | null | undefined, lang: Lang) =>
  reason ? (ENDS[reason]?.[lang] ?? reason.replace(/_/g, " ")) : "";

const SOURCES: Record<string, Record<Lang, string>> = {
  storefront_widget: { en: "Storefront widget", "pt-BR": "Widget da loja", es: "Widget de la tienda" },
  whatsapp_keyword: { en: "WhatsApp keyword", "pt-BR": "Palavra-chave no WhatsApp", es: "Palabra clave en WhatsApp" },
  checkout_marketing_consent: { en: "Checkout marketing consent", "pt-BR": "Consentimento de marketing do checkout", es: "Consentimiento de marketing del checkout" },
  import: { en: "Import", "pt-BR": "Importação", es: "Importación" },
  shopify_customer: { en: "Shopify customer", "pt-BR": "Cliente Shopify", es: "Cliente de Shopify" },
};

export const source = (s: string, lang: Lang) => SOURCES[s]?.[lang] ?? s.replace(/_/g, " ");
