//! What the bot can say on its own, in each language, and when it may say it.

use serde::{Deserialize, Serialize};

use super::{Lang, COMPLETE_ORDER};
use crate::core::values::time::{Millis, HOUR_MS};
use crate::core::whatsapp::message::NOT_INTERESTED;

/// What the bot can say on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    /// After an opt-out: no more messages, and how to come back.
    OptOutConfirmation,
    OptInConfirmation,
    /// The one acknowledgement before a person takes over.
    HumanAck,
    NotInterestedAck,
    /// Followed by the recovery link, which the caller appends after a space.
    RecoveryLink,
}

pub fn reply_text(kind: ReplyKind, lang: Lang) -> &'static str {
    use Lang::*;
    use ReplyKind::*;
    match (kind, lang) {
        (OptOutConfirmation, En) => "You're unsubscribed and won't receive any more messages from us here. Changed your mind? Reply START to opt back in.",
        (OptOutConfirmation, Pt) => "Pronto! Você não vai receber mais mensagens nossas por aqui. Mudou de ideia? Responda START para voltar a receber.",
        (OptOutConfirmation, Es) => "¡Listo! Ya no recibirás más mensajes nuestros por aquí. ¿Cambiaste de opinión? Responde START para volver a recibirlos.",
        (OptOutConfirmation, Fr) => "C'est noté : vous ne recevrez plus de messages de notre part ici. Vous changez d'avis ? Répondez START pour vous réabonner.",
        (OptOutConfirmation, De) => "Erledigt: Sie erhalten hier keine Nachrichten mehr von uns. Falls Sie es sich anders überlegen, antworten Sie einfach START.",
        (OptInConfirmation, En) => "Welcome back! You'll receive our messages here again. Reply STOP at any time to unsubscribe.",
        (OptInConfirmation, Pt) => "Que bom ter você de volta! Você voltará a receber nossas mensagens por aqui. Responda STOP a qualquer momento para sair.",
        (OptInConfirmation, Es) => "¡Qué bueno tenerte de vuelta! Volverás a recibir nuestros mensajes por aquí. Responde STOP cuando quieras para darte de baja.",
        (OptInConfirmation, Fr) => "Ravis de vous revoir ! Vous recevrez à nouveau nos messages ici. Répondez STOP à tout moment pour vous désabonner.",
        (OptInConfirmation, De) => "Willkommen zurück! Sie erhalten unsere Nachrichten hier wieder. Antworten Sie jederzeit STOP, um sich abzumelden.",
        (HumanAck, En) => "Thanks for your message! Someone from our team will reply here as soon as possible.",
        (HumanAck, Pt) => "Obrigado pela mensagem! Alguém da nossa equipe vai responder por aqui o quanto antes.",
        (HumanAck, Es) => "¡Gracias por tu mensaje! Alguien de nuestro equipo te responderá por aquí lo antes posible.",
        (HumanAck, Fr) => "Merci pour votre message ! Un membre de notre équipe vous répondra ici dès que possible.",
        (HumanAck, De) => "Danke für Ihre Nachricht! Jemand aus unserem Team antwortet Ihnen hier so bald wie möglich.",
        (NotInterestedAck, En) => "Got it, we won't send you more reminders about this cart. Thanks for letting us know!",
        (NotInterestedAck, Pt) => "Entendido, não enviaremos mais lembretes sobre este carrinho. Obrigado por avisar!",
        (NotInterestedAck, Es) => "Entendido, no te enviaremos más recordatorios sobre este carrito. ¡Gracias por avisarnos!",
        (NotInterestedAck, Fr) => "C'est noté, nous ne vous enverrons plus de rappels pour ce panier. Merci de nous avoir prévenus !",
        (NotInterestedAck, De) => "Alles klar, wir schicken Ihnen keine weiteren Erinnerungen zu diesem Warenkorb. Danke für Ihre Rückmeldung!",
        (RecoveryLink, En) => "Here is the link to complete your order:",
        (RecoveryLink, Pt) => "Aqui está o link para finalizar seu pedido:",
        (RecoveryLink, Es) => "Aquí tienes el enlace para completar tu pedido:",
        (RecoveryLink, Fr) => "Voici le lien pour finaliser votre commande :",
        (RecoveryLink, De) => "Hier ist der Link, um Ihre Bestellung abzuschließen:",
    }
}

/// The reply buttons offered under an answer while the shopper's cart is still open:
/// `(id, title)` pairs, titles within WhatsApp's 20 characters.
pub fn cart_buttons(lang: Lang) -> [(&'static str, &'static str); 2] {
    use Lang::*;
    let (complete, not_interested) = match lang {
        En => ("Complete my order", "Not interested"),
        Pt => ("Finalizar pedido", "Não tenho interesse"),
        Es => ("Completar pedido", "No me interesa"),
        Fr => ("Finaliser commande", "Pas intéressé"),
        De => ("Jetzt bestellen", "Kein Interesse"),
    };
    [(COMPLETE_ORDER, complete), (NOT_INTERESTED, not_interested)]
}

/// Free-form messages may go out only within 24 hours of the shopper's last message.
pub const SERVICE_WINDOW_MS: i64 = 24 * HOUR_MS;

/// The link the storefront widget offers when the phone must confirm an opt-in itself: it
/// opens WhatsApp on the business number with START prefilled, the one message that lifts an
/// opt-out made from the phone.
pub fn confirmation_link(business_number: &str) -> String {
    let digits: String = business_number
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    format!("https://wa.me/{digits}?text=START")
}

/// When the window that `last_inbound` opened closes, if it is still open at `now`.
pub fn window_closes_at(last_inbound: Option<Millis>, now: Millis) -> Option<Millis> {
    window_open(last_inbound, now)
        .then(|| last_inbound.map(|at| at.plus_millis(SERVICE_WINDOW_MS)))
        .flatten()
}

pub fn window_open(last_inbound: Option<Millis>, now: Millis) -> bool {
    last_inbound.is_some_and(|at| now.0 >= at.0 && now.0 - at.0 < SERVICE_WINDOW_MS)
}
