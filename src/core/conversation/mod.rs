//! What a shopper's reply means, and the few texts the bot answers with.
//!
//! All matching works on *words*: the text lower-cased, accents folded by hand (`Arrêt` →
//! `arret`, `Straße` → `strasse`), and split on anything that is not a letter or digit, so
//! punctuation, apostrophes and emoji never matter. Words for "message(s)" in the five languages
//! are read as one word, so each phrase is written once.
//!
//! **Keywords** (opt-out, opt-in, "not interested", a bare request such as "human") match only
//! the *whole* message, after trimming courtesy words at its edges ("please", "thanks", "por
//! favor", "bitte", greetings, "now") and one lead-in at its start ("I want to", "can you",
//! "quero", "quiero", "je veux", "ich möchte"). So "Stop!", "stop please", "please stop
//! messaging me", "quiero darme de baja" and "Keine Nachrichten mehr, danke" opt out, while
//! "don't stop", "when will it stop raining?" and "stop by the store" do not: a keyword inside
//! a longer sentence is never enough, because an opt-out cannot be taken back by the bot.
//!
//! **Requests for a person** also match inside a sentence: a clause (text between `.`, `,`,
//! `?`, `!`, ...) with a contact verb ("talk", "falar", "hablar", "parler", "sprechen") and a
//! person noun ("person", "atendente", "agente", "conseiller", "Mitarbeiter") anywhere in it, or
//! a wanting verb ("want", "need", "quero", "necesito") followed within three words by such a
//! noun, and no negation in the clause ("I don't need to talk to anyone").
//!
//! **FAQ** matching is described at [`match_faq`].

pub mod plan;

use serde::{Deserialize, Serialize};

use crate::core::playbook::validation::FieldError;
use crate::core::values::time::Millis;
use crate::core::whatsapp::inbound::Content;
use crate::core::whatsapp::message::NOT_INTERESTED;

/// The interactive reply id of the app's "Complete my order" button.
pub const COMPLETE_ORDER: &str = "complete_order";

/// Below this, a question goes to the merchant instead of being answered from the FAQ.
pub const FAQ_THRESHOLD: f32 = 0.6;

/// How much of the confidence comes from the share of the shopper's words an entry explains.
const TEXT_WEIGHT: f32 = 0.6;
/// Ranking bonus for an entry written in the shopper's language, and for one with no language.
const SAME_LANGUAGE_BONUS: f32 = 0.1;
const ANY_LANGUAGE_BONUS: f32 = 0.05;
/// Two different answers this close to each other: the question is ambiguous.
const AMBIGUITY_MARGIN: f32 = 0.1;
/// Keyword phrases are short; a long message is never one, and is not read further.
const MAX_PHRASE_WORDS: usize = 16;
/// Words read from a message for FAQ matching and language guessing.
const MAX_WORDS: usize = 64;
/// Human requests are short sentences; longer clauses are left to the merchant.
const MAX_CLAUSE_WORDS: usize = 24;
/// Both words must be this long for a shared beginning to count as the same word.
const MIN_PREFIX: usize = 4;
const SHARED_PREFIX: usize = 5;

/// The languages the bot answers in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Pt,
    Es,
    Fr,
    De,
}

impl Lang {
    const ALL: [Lang; 5] = [Lang::En, Lang::Pt, Lang::Es, Lang::Fr, Lang::De];

    /// The language of a locale or template language code: `pt-BR`, `pt_BR`, `PT` and `pt`
    /// are all Portuguese. Languages the bot does not speak give `None`.
    pub fn from_locale(locale: &str) -> Option<Lang> {
        let primary = locale.trim().split(['-', '_']).next().unwrap_or_default();
        Lang::ALL
            .into_iter()
            .find(|lang| primary.eq_ignore_ascii_case(lang.code()))
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Pt => "pt",
            Lang::Es => "es",
            Lang::Fr => "fr",
            Lang::De => "de",
        }
    }
}

/// The merchant's questions and answers (`GET/PUT /api/faq`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faq {
    #[serde(default)]
    pub entries: Vec<FaqEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqEntry {
    pub question: String,
    pub answer: String,
    /// A locale or language code (`pt-BR`, `en`); `None` for an entry in any language.
    #[serde(default)]
    pub language: Option<String>,
    /// Words or short phrases that point at this entry (`shipping`, `return policy`).
    #[serde(default)]
    pub keywords: Vec<String>,
}

// The FAQ is stored whole and matched against every inbound question, so it stays small.
pub const MAX_FAQ_ENTRIES: usize = 100;
pub const MAX_QUESTION_CHARS: usize = 500;
pub const MAX_ANSWER_CHARS: usize = 1000;
pub const MAX_KEYWORDS: usize = 20;
pub const MAX_KEYWORD_CHARS: usize = 50;
/// Room for a locale such as `zh-Hant-TW`.
pub const MAX_LANGUAGE_CHARS: usize = 16;

/// Every rule the FAQ breaks, one error per offending field (`entries[2].keywords[0]`), in
/// document order. Past the entry or keyword count the items are not examined one by one.
pub fn validate_faq(faq: &Faq) -> Result<(), Vec<FieldError>> {
    if faq.entries.len() > MAX_FAQ_ENTRIES {
        return Err(vec![field_error(
            "entries".into(),
            format!("at most {MAX_FAQ_ENTRIES} entries"),
        )]);
    }
    let mut errors = vec![];
    for (i, entry) in faq.entries.iter().enumerate() {
        errors.extend(text_error(
            format!("entries[{i}].question"),
            &entry.question,
            MAX_QUESTION_CHARS,
        ));
        errors.extend(text_error(
            format!("entries[{i}].answer"),
            &entry.answer,
            MAX_ANSWER_CHARS,
        ));
        // Empty means any language, as when the field is left out.
        if let Some(language) = &entry.language {
            let well_formed = language.chars().nth(MAX_LANGUAGE_CHARS).is_none()
                && language
                    .bytes()
                    .all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'-');
            if !well_formed {
                errors.push(field_error(
                    format!("entries[{i}].language"),
                    format!(
                        "must be a language code like pt-BR, up to {MAX_LANGUAGE_CHARS} characters"
                    ),
                ));
            }
        }
        if entry.keywords.len() > MAX_KEYWORDS {
            errors.push(field_error(
                format!("entries[{i}].keywords"),
                format!("at most {MAX_KEYWORDS} keywords"),
            ));
            continue;
        }
        for (k, keyword) in entry.keywords.iter().enumerate() {
            errors.extend(text_error(
                format!("entries[{i}].keywords[{k}]"),
                keyword,
                MAX_KEYWORD_CHARS,
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn field_error(field: String, message: String) -> FieldError {
    FieldError { field, message }
}

/// Blank text or text over `max` characters.
fn text_error(field: String, value: &str, max: usize) -> Option<FieldError> {
    (value.trim().is_empty() || value.chars().nth(max).is_some())
        .then(|| field_error(field, format!("must be 1 to {max} characters")))
}

/// What a reply asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Intent {
    /// Stop all marketing now and confirm once.
    OptOut,
    /// Opt back in (START and its translations).
    OptIn,
    /// Hand the conversation to the merchant's inbox.
    Human,
    /// Answer with `faq.entries[index].answer`.
    Faq { index: usize, confidence: f32 },
    /// The "Not interested" quick reply, or those words: end the journey.
    NotInterested,
    /// The "Complete my order" reply button: send the recovery link again.
    CompleteOrder,
    /// Nothing the bot can act on; the merchant sees it in the inbox.
    Unknown,
}

/// Reads an inbound message. `lang` is [`guess_language`]'s answer, used to prefer FAQ entries
/// in the shopper's language. Opt-out is checked first, so no other reading can hide it.
pub fn interpret(content: &Content, faq: &Faq, lang: Lang) -> Intent {
    match content {
        // Meta's own example sends a button whose payload and text are both "Unsubscribe".
        Content::Button { payload, text } => {
            if is_opt_out(payload) || is_opt_out(text) {
                Intent::OptOut
            } else if payload == NOT_INTERESTED || is_not_interested(text) {
                Intent::NotInterested
            } else if payload == COMPLETE_ORDER {
                Intent::CompleteOrder
            } else {
                Intent::Unknown
            }
        }
        Content::InteractiveReply { id, title } => {
            if is_opt_out(title) {
                Intent::OptOut
            } else if id == COMPLETE_ORDER {
                Intent::CompleteOrder
            } else if id == NOT_INTERESTED {
                Intent::NotInterested
            } else {
                Intent::Unknown
            }
        }
        Content::Text(text) => {
            let phrase = core_phrase(&words(text, MAX_PHRASE_WORDS + 1));
            if in_table(OPT_OUT, &phrase) {
                Intent::OptOut
            } else if in_table(OPT_IN, &phrase) {
                Intent::OptIn
            } else if in_table(NOT_INTERESTED_PHRASES, &phrase) {
                Intent::NotInterested
            } else if in_table(HUMAN_PHRASES, &phrase) || asks_for_human(text) {
                Intent::Human
            } else if let Some((index, confidence)) = best_faq(faq, text, lang) {
                Intent::Faq { index, confidence }
            } else {
                Intent::Unknown
            }
        }
        Content::Other(_) => Intent::Unknown,
    }
}

/// The language to answer in. The text decides when one language clearly leads (its own
/// function words, greetings and keywords, and letters such as `ã`, `ñ`, `ß`); otherwise the
/// shopper's locale `hint` (`pt-BR`, `es`); otherwise English. Words shared by several
/// languages (`de`, `me`, `no`) and universal keywords (STOP, START) count for none.
pub fn guess_language(text: &str, hint: Option<&str>) -> Lang {
    let mut score = [0u32; 5];
    let words = words(text, MAX_WORDS);
    for word in &words {
        if let [only] = languages_of_word(word).as_slice() {
            score[*only as usize] += 1;
        }
    }
    for (marker, lang) in MARKER_LETTERS {
        if text.chars().any(|c| c.to_lowercase().any(|l| l == *marker)) {
            score[*lang as usize] += 1;
        }
    }
    let phrase = core_phrase(&words);
    for table in [OPT_OUT, OPT_IN, NOT_INTERESTED_PHRASES, HUMAN_PHRASES] {
        let langs: Vec<Lang> = table
            .iter()
            .filter(|(_, phrases)| phrases.contains(&phrase.as_str()))
            .filter_map(|(lang, _)| *lang)
            .collect();
        if let [only] = langs.as_slice() {
            score[*only as usize] += 2;
        }
    }
    let best = Lang::ALL
        .into_iter()
        .max_by_key(|lang| score[*lang as usize])
        .unwrap_or(Lang::En);
    let best_score = score[best as usize];
    let clear = best_score > 0 && score.iter().filter(|s| **s == best_score).count() == 1;
    if clear {
        best
    } else {
        hint.and_then(Lang::from_locale).unwrap_or(Lang::En)
    }
}

/// The FAQ entry that answers `text`, with its confidence in `0.0..=1.0`, if confident.
///
/// Both sides are reduced to content words (function words of all five languages and one-letter
/// words dropped). Two words match when equal, when one of at least four letters begins the
/// other (`ship`/`shipping`), or when they share their first five letters (`entrega`/`entregam`).
///
/// confidence = 0.6 × (share of the message's words the entry knows, from its question or its
/// keywords) + 0.4 × (1 when every word of one of its keywords is in the message, else the share
/// of the question's words found in the message). Answered only from [`FAQ_THRESHOLD`] (0.6)
/// up, so most of what the shopper wrote must be understood: "Do you ship to Lisbon?" against
/// "Do you ship internationally?" with keyword `shipping` scores 0.6 × ½ + 0.4 = 0.7 (0.5
/// without the keyword); "I bought shoes last week but the shipping label was wrong" scores
/// 0.6 × ⅐ + 0.4 ≈ 0.49.
///
/// Entries in `language` rank 0.1 higher, entries with no language 0.05 (ranking only; the
/// confidence returned is the entry's own). If another confident entry of the same language
/// with a different answer ranks within 0.1 of the best, the question is ambiguous: `None`.
pub fn match_faq<'a>(faq: &'a Faq, text: &str, language: Lang) -> Option<(&'a FaqEntry, f32)> {
    let (index, confidence) = best_faq(faq, text, language)?;
    Some((faq.entries.get(index)?, confidence))
}

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
pub const SERVICE_WINDOW_MS: i64 = 24 * 3_600_000;

pub fn window_open(last_inbound: Option<Millis>, now: Millis) -> bool {
    last_inbound.is_some_and(|at| now.0 >= at.0 && now.0 - at.0 < SERVICE_WINDOW_MS)
}

// ---- normalization ----

/// Lower case with accents folded; combining marks (from decomposed input) vanish.
fn fold(c: char, out: &mut String) {
    for c in c.to_lowercase() {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => out.push('a'),
            'ç' | 'ć' | 'č' => out.push('c'),
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' | 'ī' => out.push('i'),
            'ñ' | 'ń' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => out.push('o'),
            'ù' | 'ú' | 'û' | 'ü' | 'ū' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'ß' => out.push_str("ss"),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            '\u{300}'..='\u{36f}' => {}
            c => out.push(c),
        }
    }
}

/// The first `limit` words of `text`, folded.
fn words(text: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut folded = String::new();
    for c in text.chars() {
        folded.clear();
        fold(c, &mut folded);
        for f in folded.chars() {
            if f.is_alphanumeric() {
                word.push(f);
            } else if !word.is_empty() {
                out.push(std::mem::take(&mut word));
                if out.len() == limit {
                    return out;
                }
            }
        }
    }
    if !word.is_empty() && out.len() < limit {
        out.push(word);
    }
    out
}

/// One spelling for "message(s)" in every language, so phrases need not list each.
fn canonical(word: &str) -> &str {
    match word {
        "message" | "messages" | "msg" | "msgs" | "text" | "texts" | "sms" | "mensagem"
        | "mensagens" | "mensaje" | "mensajes" | "nachricht" | "nachrichten" => "msg",
        other => other,
    }
}

fn starts_with_phrase(words: &[&str], phrase: &str) -> bool {
    let n = phrase.split(' ').count();
    words.len() >= n && phrase.split(' ').eq(words.iter().take(n).copied())
}

fn ends_with_phrase(words: &[&str], phrase: &str) -> bool {
    let n = phrase.split(' ').count();
    words.len() >= n
        && words
            .get(words.len() - n..)
            .is_some_and(|tail| phrase.split(' ').eq(tail.iter().copied()))
}

/// The message reduced to what a keyword must equal (see the module docs); empty when it is
/// too long to be one.
fn core_phrase(words: &[String]) -> String {
    if words.len() > MAX_PHRASE_WORDS {
        return String::new();
    }
    let mut core: Vec<&str> = Vec::with_capacity(words.len());
    for word in words {
        let word = canonical(word);
        if core.last() != Some(&word) {
            core.push(word);
        }
    }
    trim_courtesy(&mut core);
    if let Some(n) = longest(LEAD_INS, |p| starts_with_phrase(&core, p)) {
        core.drain(..n);
        trim_courtesy(&mut core);
    }
    core.join(" ")
}

/// Drops courtesy words from both ends, preferring the longest phrase ("danke schön").
fn trim_courtesy(core: &mut Vec<&str>) {
    loop {
        let before = core.len();
        if let Some(n) = longest(COURTESY, |p| starts_with_phrase(core, p)) {
            core.drain(..n);
        }
        if let Some(n) = longest(COURTESY, |p| ends_with_phrase(core, p)) {
            core.truncate(core.len() - n);
        }
        if core.len() == before {
            break;
        }
    }
}

/// The word count of the longest phrase of `list` that `fits`.
fn longest(list: &[&str], fits: impl Fn(&str) -> bool) -> Option<usize> {
    list.iter()
        .filter(|p| fits(p))
        .map(|p| p.split(' ').count())
        .max()
}

type Table = &'static [(Option<Lang>, &'static [&'static str])];

fn in_table(table: Table, phrase: &str) -> bool {
    !phrase.is_empty() && table.iter().any(|(_, phrases)| phrases.contains(&phrase))
}

fn is_opt_out(text: &str) -> bool {
    in_table(OPT_OUT, &core_phrase(&words(text, MAX_PHRASE_WORDS + 1)))
}

fn is_not_interested(text: &str) -> bool {
    in_table(
        NOT_INTERESTED_PHRASES,
        &core_phrase(&words(text, MAX_PHRASE_WORDS + 1)),
    )
}

fn languages_of_word(word: &str) -> Vec<Lang> {
    FUNCTION_WORDS
        .iter()
        .filter(|(_, list)| list.contains(&word))
        .map(|(lang, _)| *lang)
        .collect()
}

fn is_function_word(word: &str) -> bool {
    FUNCTION_WORDS.iter().any(|(_, list)| list.contains(&word))
}

// ---- requests for a person ----

fn asks_for_human(text: &str) -> bool {
    text.split(['.', ',', ';', ':', '!', '?', '¿', '¡', '\n', '(', ')'])
        .take(MAX_WORDS)
        .any(|clause| {
            let clause = words(clause, MAX_CLAUSE_WORDS + 1);
            if clause.len() > MAX_CLAUSE_WORDS
                || clause.iter().any(|w| NEGATIONS.contains(&w.as_str()))
            {
                return false;
            }
            let is_noun = |w: &String| PERSON_NOUNS.contains(&w.as_str());
            let contact = clause.iter().any(|w| CONTACT_VERBS.contains(&w.as_str()));
            let wanted = clause.iter().enumerate().any(|(i, w)| {
                WANT_VERBS.contains(&w.as_str()) && clause.iter().skip(i + 1).take(3).any(is_noun)
            });
            (contact && clause.iter().any(is_noun)) || wanted
        })
}

// ---- FAQ ----

/// Content words: no function words, no one-letter words, no repeats.
fn content_words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in words(text, MAX_WORDS * 2) {
        if word.chars().count() >= 2 && !is_function_word(&word) && !out.contains(&word) {
            out.push(word);
            if out.len() == MAX_WORDS {
                break;
            }
        }
    }
    out
}

fn similar(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let shared = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let shorter = a.chars().count().min(b.chars().count());
    shared >= SHARED_PREFIX || (shared == shorter && shorter >= MIN_PREFIX)
}

fn known(words: &[String], word: &str) -> bool {
    words.iter().any(|w| similar(w, word))
}

fn confidence(entry: &FaqEntry, text_words: &[String]) -> f32 {
    let question = content_words(&entry.question);
    let keywords: Vec<Vec<String>> = entry
        .keywords
        .iter()
        .map(|k| content_words(k))
        .filter(|k| !k.is_empty())
        .collect();
    let matched_text = text_words
        .iter()
        .filter(|w| known(&question, w) || keywords.iter().any(|k| known(k, w)))
        .count();
    if matched_text == 0 {
        return 0.0;
    }
    let matched_question = question.iter().filter(|q| known(text_words, q)).count();
    let keyword_hit = keywords
        .iter()
        .any(|k| k.iter().all(|w| known(text_words, w)));
    let text_share = matched_text as f32 / text_words.len() as f32;
    let question_side = if keyword_hit {
        1.0
    } else if question.is_empty() {
        0.0
    } else {
        matched_question as f32 / question.len() as f32
    };
    TEXT_WEIGHT * text_share + (1.0 - TEXT_WEIGHT) * question_side
}

/// The entry's language as compared between entries: its primary subtag, lower case; empty for
/// an entry in any language.
fn language_key(entry: &FaqEntry) -> String {
    entry
        .language
        .as_deref()
        .unwrap_or_default()
        .trim()
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn best_faq(faq: &Faq, text: &str, language: Lang) -> Option<(usize, f32)> {
    let text_words = content_words(text);
    if text_words.is_empty() {
        return None;
    }
    let candidates: Vec<(usize, f32, f32)> = faq
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| {
            let confidence = confidence(entry, &text_words);
            if confidence < FAQ_THRESHOLD {
                return None;
            }
            let key = language_key(entry);
            let bonus = if key.is_empty() {
                ANY_LANGUAGE_BONUS
            } else if Lang::from_locale(&key) == Some(language) {
                SAME_LANGUAGE_BONUS
            } else {
                0.0
            };
            Some((i, confidence, confidence + bonus))
        })
        .collect();
    let (best, confidence, rank) = candidates
        .iter()
        .copied()
        .max_by(|a, b| a.2.total_cmp(&b.2).then(b.0.cmp(&a.0)))?;
    let best_entry = faq.entries.get(best)?;
    let ambiguous = candidates.iter().any(|(i, _, other_rank)| {
        faq.entries.get(*i).is_some_and(|other| {
            *i != best
                && language_key(other) == language_key(best_entry)
                && other.answer.trim() != best_entry.answer.trim()
                && *other_rank >= rank - AMBIGUITY_MARGIN
        })
    });
    (!ambiguous).then_some((best, confidence))
}

// ---- tables (all folded: lower case, no accents; "msg" stands for any word for message) ----

/// Opt-out phrases; `None` marks the ones every language uses.
#[rustfmt::skip]
const OPT_OUT: Table = &[
    (None, &["stop", "stop msg", "stop all", "stopall", "unsubscribe"]),
    (
        Some(Lang::En),
        &[
            "stop all msg", "stop messaging", "stop messaging me", "stop texting",
            "stop texting me", "stop sending", "stop sending msg", "stop sending me",
            "stop sending me msg", "stop it", "quit it", "stop this", "stop sending this",
            "stop sending me this", "stop sending these", "stop contacting me", "remove my number",
            "delete my number", "remove my number from your list", "unsubscribe me", "unsub",
            "opt out", "optout", "opt me out", "cancel", "end", "quit", "no more",
            "no more msg", "remove me", "remove me from your list", "remove me from the list",
            "take me off", "take me off your list", "take me off the list", "don t msg me",
            "do not msg me", "don t contact me", "do not contact me", "leave me alone",
        ],
    ),
    (
        Some(Lang::Pt),
        &[
            "parar", "pare", "para", "sair", "cancelar", "descadastrar", "descadastrar me",
            "me descadastrar", "me descadastre", "me descadastra", "descadastre me", "remover",
            "me remova", "me remove", "me tire da lista", "me tira da lista", "remover meu numero",
            "remova meu numero", "apague meu numero", "nao quero mais",
            "nao quero mais msg", "nao quero receber mais msg", "nao quero receber msg",
            "nao envie mais msg", "nao me envie mais msg", "nao mande mais msg",
            "nao me mande mais msg", "pare de enviar msg", "pare de me enviar msg",
            "pare de mandar msg", "pare de me mandar msg", "para de mandar msg",
            "para de me mandar msg", "chega", "chega de msg", "sem mais msg",
        ],
    ),
    (
        Some(Lang::Es),
        &[
            "baja", "dar de baja", "darme de baja", "de baja", "me doy de baja", "parar",
            "para", "pare", "alto", "basta", "cancelar", "salir", "desuscribir",
            "desuscribirme", "desuscribirse", "desinscribir", "desinscribirme",
            "anular suscripcion", "cancelar suscripcion", "no mas", "no mas msg",
            "no quiero mas", "no quiero mas msg", "no quiero recibir mas msg",
            "no quiero recibir msg", "deja de enviar msg", "deja de enviarme msg",
            "dejen de enviar msg", "dejen de enviarme msg", "no me envies mas msg",
            "no me envien mas msg", "no me manden mas msg", "eliminame de la lista",
            "sacame de la lista", "eliminar mi numero", "elimina mi numero", "borra mi numero",
        ],
    ),
    (
        Some(Lang::Fr),
        &[
            "arret", "arrete", "arreter", "arretez", "arretez les msg",
            "arretez d envoyer des msg", "arretez de m envoyer des msg", "desabonner",
            "me desabonner", "desabonnement", "desabonnez moi", "desinscrire",
            "me desinscrire", "desinscription", "desinscrivez moi", "plus de msg",
            "je ne veux plus de msg", "je ne veux plus recevoir de msg",
            "ne plus recevoir de msg", "annuler",
        ],
    ),
    (
        Some(Lang::De),
        &[
            "stopp", "abmelden", "mich abmelden", "abmeldung", "abbestellen", "austragen",
            "mich austragen", "keine msg mehr", "keine weiteren msg", "aufhoren", "hor auf",
            "horen sie auf", "beenden", "kundigen",
        ],
    ),
];

#[rustfmt::skip]
const OPT_IN: Table = &[
    (None, &["start", "unstop"]),
    (
        Some(Lang::En),
        &["subscribe", "subscribe me", "resume", "opt in", "optin", "opt me in", "start again"],
    ),
    (
        Some(Lang::Pt),
        &["voltar", "assinar", "inscrever", "reativar", "comecar", "voltar a receber"],
    ),
    (
        Some(Lang::Es),
        &["alta", "darme de alta", "dar de alta", "suscribir", "suscribirme", "reanudar", "iniciar"],
    ),
    (
        Some(Lang::Fr),
        &["reprendre", "abonner", "m abonner", "me reabonner", "reabonner"],
    ),
    (Some(Lang::De), &["anmelden", "wieder anmelden", "starten", "fortsetzen"]),
];

#[rustfmt::skip]
const NOT_INTERESTED_PHRASES: Table = &[
    (
        Some(Lang::En),
        &["not interested", "im not interested", "i m not interested", "i am not interested", "no interest"],
    ),
    (
        Some(Lang::Pt),
        &[
            "nao tenho interesse", "sem interesse", "nao estou interessado",
            "nao estou interessada", "nao me interessa",
        ],
    ),
    (
        Some(Lang::Es),
        &["no me interesa", "no estoy interesado", "no estoy interesada", "sin interes"],
    ),
    (
        Some(Lang::Fr),
        &[
            "pas interesse", "pas interessee", "je ne suis pas interesse",
            "je ne suis pas interessee", "ca ne m interesse pas",
        ],
    ),
    (
        Some(Lang::De),
        &["kein interesse", "nicht interessiert", "ich habe kein interesse"],
    ),
];

/// A bare request for a person, as a whole message.
#[rustfmt::skip]
const HUMAN_PHRASES: Table = &[
    (
        Some(Lang::En),
        &[
            "human", "a human", "real person", "a real person", "person", "a person", "agent",
            "an agent", "live agent", "representative", "a representative", "operator",
            "customer service", "customer support", "support", "live chat",
        ],
    ),
    (
        Some(Lang::Pt),
        &[
            "humano", "um humano", "atendente", "um atendente", "pessoa", "uma pessoa",
            "pessoa real", "atendimento", "atendimento humano", "suporte", "agente", "operador",
        ],
    ),
    (
        Some(Lang::Es),
        &[
            "humano", "un humano", "agente", "un agente", "persona", "una persona",
            "persona real", "asesor", "un asesor", "operador", "atencion al cliente",
            "servicio al cliente", "soporte",
        ],
    ),
    (
        Some(Lang::Fr),
        &[
            "humain", "un humain", "conseiller", "un conseiller", "agent", "un agent",
            "service client", "une personne", "personne reelle", "operateur",
        ],
    ),
    (
        Some(Lang::De),
        &["mensch", "ein mensch", "mitarbeiter", "kundenservice", "kundendienst", "berater", "support"],
    ),
];

/// Trimmed from both ends of a message before keywords are compared.
#[rustfmt::skip]
const COURTESY: &[&str] = &[
    "please", "pls", "plz", "thanks", "thank you", "thx", "ty", "ok", "okay", "hi", "hello", "hey",
    "now", "right now", "por favor", "porfavor", "pfv", "pf", "obrigado", "obrigada", "valeu",
    "oi", "ola", "bom dia", "boa tarde", "boa noite", "agora", "ja", "gracias", "hola",
    "buenos dias", "buenas tardes", "buenas noches", "ahora", "ya", "merci", "s il vous plait",
    "s il te plait", "svp", "stp", "bonjour", "bonsoir", "salut", "maintenant", "bitte", "danke",
    "danke schon", "hallo", "guten tag", "jetzt", "sofort",
];

/// One of these may open a keyword message ("I want to unsubscribe", "quero sair").
#[rustfmt::skip]
const LEAD_INS: &[&str] = &[
    "i want to", "i wanna", "i would like to", "i d like to", "id like to", "i wish to",
    "can you", "could you", "would you", "quero", "eu quero", "queria", "eu queria",
    "gostaria de", "eu gostaria de", "quiero", "yo quiero", "quisiera", "me gustaria",
    "je veux", "je voudrais", "ich mochte", "ich moechte", "ich will",
];

#[rustfmt::skip]
const CONTACT_VERBS: &[&str] = &[
    "talk", "speak", "chat", "contact", "connect", "transfer", "reach", "call", "falar", "fala",
    "fale", "conversar", "chamar", "contatar", "contactar", "transferir", "hablar",
    "comunicarme", "comunicar", "pasame", "pasar", "parler", "discuter", "contacter",
    "joindre", "appeler", "transferer", "sprechen", "reden", "chatten", "kontaktieren",
    "verbinden", "erreichen",
];

/// Verbs that ask for a person only when one is named right after them.
#[rustfmt::skip]
const WANT_VERBS: &[&str] = &[
    "want", "need", "get", "quero", "queria", "preciso", "gostaria", "quiero", "necesito",
    "quisiera", "veux", "voudrais", "besoin", "mochte", "moechte", "brauche", "will",
];

#[rustfmt::skip]
const PERSON_NOUNS: &[&str] = &[
    "human", "humans", "person", "agent", "agents", "representative", "rep", "operator",
    "someone", "somebody", "staff", "employee", "manager", "support", "humano", "pessoa",
    "atendente", "agente", "operador", "alguem", "funcionario", "vendedor", "vendedora",
    "suporte", "atendimento", "gerente", "persona", "asesor", "asesora", "alguien",
    "representante", "ejecutivo", "encargado", "soporte", "humain", "personne", "conseiller",
    "conseillere", "quelqu", "operateur", "vendeur", "responsable", "mensch", "menschen",
    "mitarbeiter", "mitarbeiterin", "berater", "beraterin", "jemand", "jemandem",
    "kundenservice", "kundendienst",
];

/// A clause with one of these is not a request ("I don't need to talk to anyone").
/// English contractions arrive split ("don't" is `don` `t`), so their first halves are here.
#[rustfmt::skip]
const NEGATIONS: &[&str] = &[
    "not", "no", "never", "don", "dont", "doesn", "didn", "won", "wont", "isn", "aren", "wouldn",
    "nao", "nunca", "nem", "ni", "ne", "n", "pas", "jamais", "nicht", "kein", "keine", "keinen",
    "keinem", "nie",
];

/// Letters that point at one language.
const MARKER_LETTERS: &[(char, Lang)] = &[
    ('ã', Lang::Pt),
    ('õ', Lang::Pt),
    ('ñ', Lang::Es),
    ('¿', Lang::Es),
    ('¡', Lang::Es),
    ('ß', Lang::De),
    ('ä', Lang::De),
    ('ö', Lang::De),
    ('ü', Lang::De),
    ('œ', Lang::Fr),
    ('è', Lang::Fr),
    ('ù', Lang::Fr),
];

/// Function, courtesy and question-framing words ("I wanted to know if ..."): dropped for FAQ
/// matching, since they say nothing about the topic, and evidence of a language when only one
/// list has them.
#[rustfmt::skip]
const FUNCTION_WORDS: &[(Lang, &[&str])] = &[
    (
        Lang::En,
        &[
            "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "for",
            "from", "with", "by", "about", "as", "into", "is", "are", "was", "were", "be", "been",
            "am", "do", "does", "did", "have", "has", "had", "i", "me", "my", "we", "our", "you",
            "your", "it", "its", "this", "that", "these", "those", "there", "what", "which",
            "who", "when", "where", "why", "how", "can", "could", "will", "would", "should",
            "may", "might", "any", "some", "much", "many", "also", "just", "so", "than", "then",
            "too", "very", "please", "thanks", "thank", "hi", "hello", "hey", "yes", "no", "not",
            "ll", "re", "ve", "don", "doesn", "didn", "isn", "aren", "won", "want", "wanted",
            "wanna", "know", "like", "wondering", "wonder", "question", "quick", "tell", "ask",
            "asking", "let", "need", "get",
        ],
    ),
    (
        Lang::Pt,
        &[
            "a", "o", "os", "as", "um", "uma", "uns", "umas", "de", "do", "da", "dos", "das",
            "em", "no", "na", "nos", "nas", "por", "para", "pra", "com", "sem", "e", "ou", "mas",
            "se", "que", "qual", "quais", "quando", "onde", "como", "quanto", "quanta", "eu",
            "voce", "voces", "vc", "vcs", "ele", "ela", "meu", "minha", "meus", "minhas", "seu",
            "sua", "seus", "suas", "esse", "essa", "este", "esta", "isso", "isto", "sao",
            "estao", "tem", "tenho", "temos", "ha", "foi", "vai", "vao", "pode", "posso",
            "podem", "nao", "sim", "ja", "mais", "muito", "tambem", "ola", "oi", "obrigado",
            "obrigada", "favor", "me", "quero", "queria", "saber", "gostaria", "pergunta",
            "duvida", "dizer", "preciso", "bom", "dia", "tarde",
        ],
    ),
    (
        Lang::Es,
        &[
            "el", "la", "los", "las", "un", "una", "unos", "unas", "de", "del", "al", "en",
            "con", "sin", "por", "para", "y", "o", "pero", "si", "que", "cual", "cuales",
            "cuando", "donde", "como", "cuanto", "cuanta", "yo", "tu", "usted", "ustedes",
            "ella", "nosotros", "mi", "mis", "su", "sus", "este", "esta", "estos", "estas",
            "ese", "esa", "eso", "es", "son", "estan", "hay", "tiene", "tienen", "tengo",
            "puedo", "puede", "pueden", "no", "ya", "mas", "muy", "tambien", "hola", "gracias",
            "favor", "me", "te", "se", "lo", "le", "les", "quiero", "queria", "saber", "gustaria",
            "pregunta", "duda", "decir", "necesito", "buenos", "buenas", "dias",
        ],
    ),
    (
        Lang::Fr,
        &[
            "a", "le", "la", "les", "l", "un", "une", "des", "du", "de", "d", "au", "aux", "en",
            "dans", "sur", "avec", "sans", "pour", "par", "et", "ou", "mais", "si", "que", "qui",
            "quoi", "quel", "quelle", "quels", "quelles", "quand", "comment", "combien", "je",
            "j", "tu", "vous", "il", "elle", "nous", "on", "ils", "elles", "mon", "ma", "mes",
            "ton", "votre", "vos", "son", "sa", "ses", "ce", "cet", "cette", "ces", "c", "est",
            "sont", "suis", "etes", "avez", "ai", "ont", "peux", "peut", "pouvez", "ne", "n",
            "pas", "plus", "tres", "aussi", "bonjour", "salut", "merci", "svp", "qu", "y", "me",
            "m", "se", "s", "veux", "voudrais", "aimerais", "savoir", "question", "dire", "besoin",
        ],
    ),
    (
        Lang::De,
        &[
            "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer",
            "und", "oder", "aber", "wenn", "ob", "in", "im", "an", "am", "auf", "aus", "bei",
            "mit", "nach", "von", "vom", "zu", "zum", "zur", "fur", "uber", "ich", "du", "sie",
            "er", "es", "wir", "ihr", "mich", "mir", "dich", "dir", "uns", "mein", "meine",
            "meinen", "dein", "ihre", "ist", "sind", "bin", "bist", "seid", "hat", "habe",
            "haben", "habt", "kann", "kannst", "konnen", "wird", "werden", "was", "wer", "wann",
            "wo", "wie", "warum", "welche", "welcher", "nicht", "kein", "keine", "ja", "nein",
            "auch", "noch", "schon", "sehr", "bitte", "danke", "hallo", "mochte", "wissen", "frage",
            "sagen", "brauche", "gerne", "kurze",
        ],
    ),
];

#[cfg(test)]
mod window_tests {
    use super::*;

    #[test]
    fn buttons_fit_whatsapps_limits() {
        for lang in [Lang::En, Lang::Pt, Lang::Es, Lang::Fr, Lang::De] {
            for (id, title) in cart_buttons(lang) {
                assert!(title.chars().count() <= 20, "{title}");
                assert!(!id.is_empty());
            }
            // A tap on either button reads as what it says.
            let [(complete, title), (not_interested, other)] = cart_buttons(lang);
            let tap = |id: &str, title: &str| {
                interpret(
                    &Content::InteractiveReply {
                        id: id.into(),
                        title: title.into(),
                    },
                    &Faq::default(),
                    lang,
                )
            };
            assert_eq!(tap(complete, title), Intent::CompleteOrder);
            assert_eq!(tap(not_interested, other), Intent::NotInterested);
        }
    }

    #[test]
    fn the_service_window_lasts_24_hours_from_the_last_message() {
        let at = Millis(1_800_000_000_000);
        assert!(window_open(Some(at), at));
        assert!(window_open(Some(at), at.plus_millis(SERVICE_WINDOW_MS - 1)));
        assert!(!window_open(Some(at), at.plus_millis(SERVICE_WINDOW_MS)));
        assert!(!window_open(None, at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Intent {
        interpret(&Content::Text(t.into()), &Faq::default(), Lang::En)
    }

    #[test]
    fn stop_words_in_five_languages() {
        for msg in [
            "STOP",
            "Stop!",
            "stop.",
            "  stop  ",
            "Stop please",
            "please stop",
            "STOP STOP",
            "🛑 STOP 🛑",
            "\"Stop\"",
            "Unsubscribe",
            "unsubscribe me",
            "Opt-out",
            "STOPALL",
            "please stop messaging me",
            "Stop sending me messages!",
            "stop messages",
            "No more messages",
            "no more messages please",
            "I want to unsubscribe",
            "Can you stop texting me?",
            "cancel",
            "Leave me alone",
            "Hi, stop please",
            "stop now",
            "stop right now",
            "Can you please stop",
            "Please remove my number",
            "Danke schön, STOPP",
            "ok stop, thanks",
            // pt
            "PARAR",
            "Pare por favor",
            "pare, obrigado",
            "Sair",
            "Quero sair",
            "CANCELAR",
            "Não quero mais",
            "não quero mais mensagens",
            "Não quero receber mais mensagens",
            "Me tira da lista",
            "Pare de me mandar mensagem",
            "Olá, pare por favor",
            "chega!",
            // es
            "BAJA",
            "Baja por favor",
            "darme de baja",
            "Quiero darme de baja",
            "No más mensajes",
            "Deja de enviarme mensajes",
            "desinscribir",
            "DESINSCRIBIRME",
            "basta ya",
            "Gracias, no quiero recibir más mensajes",
            // fr
            "ARRÊT",
            "arret",
            "Arrêtez svp",
            "je veux me désabonner",
            "Je ne veux plus recevoir de messages",
            "Désinscription",
            "STOP merci",
            // de
            "STOPP",
            "Abmelden",
            "bitte abmelden",
            "Ich möchte mich abmelden",
            "Keine Nachrichten mehr, danke",
            "hör auf",
            "Abbestellen!",
            // decomposed accents (NFD) and fullwidth-free oddities
            "Arre\u{302}t",
            "NA\u{303}O QUERO MAIS",
        ] {
            assert_eq!(text(msg), Intent::OptOut, "{msg:?}");
        }
    }

    #[test]
    fn stop_words_inside_sentences_are_not_opt_outs() {
        for msg in [
            "don't stop",
            "Don't stop!",
            "please don't stop",
            "when will it stop raining?",
            "stop by the store later",
            "Can't stop thinking about those shoes",
            "non-stop delivery?",
            "bus stop",
            "stopover",
            "Is the sale going to end soon?",
            "How do I cancel my order?",
            "I want to stop by tomorrow",
            "Para mí, el azul",
            "para quando é a entrega?",
            "Não pare!",
            "¿Baja el precio?",
            "La baja de precio es buena",
            "sair para comprar",
            "Stopp den Versand nicht",
            "unsubscribe from what?",
            "Reply STOP to unsubscribe? I just want the shoes",
            "start",
            "thanks",
            "",
            "   ",
            "?!",
        ] {
            assert_ne!(text(msg), Intent::OptOut, "{msg:?}");
        }
        let long = format!("stop {}", "please ".repeat(20));
        assert_ne!(text(&long), Intent::OptOut, "keywords are short messages");
    }

    #[test]
    fn opt_in_words() {
        for msg in [
            "START",
            "Start!",
            "unstop",
            "Subscribe",
            "resume",
            "I want to subscribe",
            "voltar",
            "Quero voltar a receber",
            "alta",
            "darme de alta",
            "reprendre",
            "Anmelden",
            "wieder anmelden",
            "start please",
        ] {
            assert_eq!(text(msg), Intent::OptIn, "{msg:?}");
        }
        for msg in ["start my order", "when does the sale start?", "don't start"] {
            assert_ne!(text(msg), Intent::OptIn, "{msg:?}");
        }
    }

    #[test]
    fn requests_for_a_person() {
        for msg in [
            "Can I talk to a person?",
            "I want to speak with someone",
            "human",
            "HUMAN please",
            "Agent",
            "I need a human",
            "connect me to an agent",
            "Is there a real person I can talk to?",
            "No, I want to talk to a person",
            "Hi! Could I chat with your support team?",
            "falar com atendente",
            "Quero falar com um atendente",
            "posso falar com alguém?",
            "Atendente",
            "hablar con un agente",
            "¿Puedo hablar con una persona?",
            "Necesito un humano",
            "je voudrais parler à un conseiller",
            "Je veux parler à quelqu'un",
            "Kann ich mit einem Mitarbeiter sprechen?",
            "Ich brauche einen Menschen",
        ] {
            assert_eq!(text(msg), Intent::Human, "{msg:?}");
        }
        for msg in [
            "I don't need to talk to anyone",
            "I don't want to talk to a person",
            "no quiero hablar con un agente",
            "je ne veux parler à personne",
            "Ich möchte nicht mit einem Menschen sprechen",
            "Can someone tell me the price?",
            "I want to know if someone can deliver on Sunday",
            "Do you ship to Lisbon?",
            "personal engraving available?",
        ] {
            assert_ne!(text(msg), Intent::Human, "{msg:?}");
        }
    }

    #[test]
    fn quick_replies_and_buttons() {
        let faq = Faq::default();
        let read = |c: Content| interpret(&c, &faq, Lang::En);
        let button = |payload: &str, text: &str| Content::Button {
            payload: payload.into(),
            text: text.into(),
        };
        let reply = |id: &str, title: &str| Content::InteractiveReply {
            id: id.into(),
            title: title.into(),
        };
        assert_eq!(
            read(button("not_interested", "Not interested")),
            Intent::NotInterested
        );
        assert_eq!(
            read(button("Not interested", "Not interested")),
            Intent::NotInterested
        );
        assert_eq!(
            read(button("", "Não tenho interesse")),
            Intent::NotInterested
        );
        assert_eq!(
            read(button("complete_order", "Finish")),
            Intent::CompleteOrder
        );
        assert_eq!(read(button("Unsubscribe", "Unsubscribe")), Intent::OptOut);
        assert_eq!(read(button("promo_1", "Stop promotions")), Intent::Unknown);
        assert_eq!(read(button("view_cart", "View cart")), Intent::Unknown);
        assert_eq!(
            read(reply("complete_order", "Complete my order")),
            Intent::CompleteOrder
        );
        assert_eq!(
            read(reply("not_interested", "No thanks")),
            Intent::NotInterested
        );
        assert_eq!(read(reply("stop_msgs", "Stop messages")), Intent::OptOut);
        assert_eq!(read(reply("size_m", "M")), Intent::Unknown);
        assert_eq!(read(Content::Other("image".into())), Intent::Unknown);
        for msg in [
            "not interested",
            "Não tenho interesse",
            "no me interesa",
            "Kein Interesse!",
            "pas intéressé",
        ] {
            assert_eq!(text(msg), Intent::NotInterested, "{msg:?}");
        }
        assert_ne!(
            text("not interested in blue, do you have red?"),
            Intent::NotInterested
        );
    }

    #[test]
    fn fixture_replies() {
        use crate::core::whatsapp::inbound::{parse_webhook, InboundEvent};
        let content = |body: &[u8]| match parse_webhook(body).unwrap().pop() {
            Some(InboundEvent::Message { content, .. }) => content,
            other => panic!("{other:?}"),
        };
        let faq = sample_faq();
        let button = content(include_bytes!(
            "../../../tests/fixtures/whatsapp/webhook-message-button.json"
        ));
        assert_eq!(interpret(&button, &faq, Lang::En), Intent::NotInterested);
        let interactive = content(include_bytes!(
            "../../../tests/fixtures/whatsapp/webhook-message-interactive-button-reply.json"
        ));
        assert_eq!(
            interpret(&interactive, &faq, Lang::En),
            Intent::CompleteOrder
        );
        let question = content(include_bytes!(
            "../../../tests/fixtures/whatsapp/webhook-message-text.json"
        ));
        let lang = guess_language(question.text(), Some("en"));
        assert_eq!(lang, Lang::En);
        let Intent::Faq { index, confidence } = interpret(&question, &faq, lang) else {
            panic!("{:?}", interpret(&question, &faq, lang))
        };
        assert_eq!(index, 0);
        assert!((confidence - 0.7).abs() < 1e-6, "{confidence}");
    }

    fn entry(question: &str, answer: &str, language: Option<&str>, keywords: &[&str]) -> FaqEntry {
        FaqEntry {
            question: question.into(),
            answer: answer.into(),
            language: language.map(Into::into),
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
        }
    }

    fn sample_faq() -> Faq {
        Faq {
            entries: vec![
                entry(
                    "Do you ship internationally?",
                    "Yes, we ship to over 50 countries.",
                    Some("en"),
                    &["shipping", "international", "delivery"],
                ),
                entry(
                    "Vocês enviam para o exterior?",
                    "Sim, enviamos para mais de 50 países.",
                    Some("pt-BR"),
                    &["envio", "entrega", "internacional", "frete"],
                ),
                entry(
                    "What is your return policy?",
                    "You can return any item within 30 days.",
                    Some("en_US"),
                    &["return", "refund", "exchange"],
                ),
                entry(
                    "¿Hacen envíos internacionales?",
                    "Sí, enviamos a más de 50 países.",
                    Some("es"),
                    &["envío", "internacional"],
                ),
                entry(
                    "How long does delivery take?",
                    "Orders arrive in 3 to 5 business days.",
                    None,
                    &["delivery time"],
                ),
            ],
        }
    }

    fn faq_fields(faq: &Faq) -> Vec<String> {
        validate_faq(faq)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn faq_validation_bounds_every_field() {
        assert_eq!(validate_faq(&Faq::default()), Ok(()));
        assert_eq!(validate_faq(&sample_faq()), Ok(()));
        let one = |e: FaqEntry| Faq { entries: vec![e] };

        let full = Faq {
            entries: vec![entry("q", "a", None, &[]); MAX_FAQ_ENTRIES],
        };
        assert_eq!(validate_faq(&full), Ok(()));
        let mut over = full.clone();
        over.entries.push(entry("", "", None, &[]));
        assert_eq!(
            validate_faq(&over),
            Err(vec![FieldError {
                field: "entries".into(),
                message: "at most 100 entries".into()
            }]),
            "past the count, entries are not listed one by one"
        );

        let longest = |n: usize| "é".repeat(n);
        let question = longest(MAX_QUESTION_CHARS);
        let answer = longest(MAX_ANSWER_CHARS);
        let keyword = longest(MAX_KEYWORD_CHARS);
        assert_eq!(
            validate_faq(&one(entry(&question, &answer, None, &[&keyword]))),
            Ok(())
        );
        assert_eq!(
            faq_fields(&one(entry(&(question + "x"), &(answer + "x"), None, &[]))),
            ["entries[0].question", "entries[0].answer"]
        );
        assert_eq!(
            faq_fields(&one(entry(
                "",
                " \n ",
                None,
                &["ok", " ", &(keyword + "x")]
            ))),
            [
                "entries[0].question",
                "entries[0].answer",
                "entries[0].keywords[1]",
                "entries[0].keywords[2]"
            ]
        );

        let keywords = |n: usize| vec!["k"; n];
        assert_eq!(
            validate_faq(&one(entry("q", "a", None, &keywords(MAX_KEYWORDS)))),
            Ok(())
        );
        let mut too_many = keywords(MAX_KEYWORDS + 1);
        too_many[0] = "";
        let errors = validate_faq(&one(entry("q", "a", None, &too_many))).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "entries[0].keywords");
        assert_eq!(errors[0].message, "at most 20 keywords");
    }

    #[test]
    fn faq_languages_are_codes() {
        let with = |language: &str| Faq {
            entries: vec![entry("q", "a", Some(language), &[])],
        };
        for ok in [
            "en",
            "pt-BR",
            "en_US",
            "zh-Hant-TW",
            "",
            &"x".repeat(MAX_LANGUAGE_CHARS),
        ] {
            assert_eq!(validate_faq(&with(ok)), Ok(()), "{ok:?}");
        }
        for bad in [
            "pt BR",
            "en1",
            "fr.",
            "日本",
            &"x".repeat(MAX_LANGUAGE_CHARS + 1),
        ] {
            assert_eq!(faq_fields(&with(bad)), ["entries[0].language"], "{bad:?}");
        }
    }

    fn faq_index(faq: &Faq, msg: &str, lang: Lang) -> Option<usize> {
        let (found, confidence) = match_faq(faq, msg, lang)?;
        assert!((FAQ_THRESHOLD..=1.0).contains(&confidence), "{confidence}");
        faq.entries.iter().position(|e| std::ptr::eq(e, found))
    }

    #[test]
    fn faq_answers_confident_matches_in_the_shoppers_language() {
        let faq = sample_faq();
        assert_eq!(faq_index(&faq, "Do you ship to Lisbon?", Lang::En), Some(0));
        assert_eq!(
            faq_index(
                &faq,
                "Hi! Quick question: do you ship to Lisbon? Thanks",
                Lang::En
            ),
            Some(0)
        );
        assert_eq!(
            faq_index(&faq, "I wanted to know if you ship to Lisbon", Lang::En),
            Some(0)
        );
        assert_eq!(
            faq_index(
                &faq,
                "Oi, queria saber se vocês entregam em Lisboa",
                Lang::Pt
            ),
            Some(1)
        );
        assert_eq!(faq_index(&faq, "shipping to Portugal?", Lang::En), Some(0));
        assert_eq!(
            faq_index(&faq, "Do you ship internationally", Lang::En),
            Some(0)
        );
        assert_eq!(
            faq_index(&faq, "Vocês entregam em Lisboa?", Lang::Pt),
            Some(1)
        );
        assert_eq!(
            faq_index(&faq, "¿Hacen envíos a Lisboa?", Lang::Es),
            Some(3)
        );
        assert_eq!(faq_index(&faq, "Can I get a refund?", Lang::En), Some(2));
        assert_eq!(
            faq_index(&faq, "what's your RETURN policy", Lang::En),
            Some(2)
        );
        assert_eq!(
            faq_index(&faq, "how long does delivery take", Lang::Fr),
            Some(4)
        );
        let (_, exact) = match_faq(&faq, "Do you ship internationally?", Lang::En).unwrap();
        assert!((exact - 1.0).abs() < 1e-6);
        let (_, lisbon) = match_faq(&faq, "Do you ship to Lisbon?", Lang::En).unwrap();
        assert!((lisbon - 0.7).abs() < 1e-6);
    }

    #[test]
    fn faq_stays_quiet_when_unsure() {
        let faq = sample_faq();
        for msg in [
            "Do you have it in blue?",
            "I bought shoes last week but the shipping label was wrong",
            "What's the shipping cost for a blue sweater in size M?",
            "hello",
            "",
            "?!",
            "the and of to",
            "🙂🙂🙂",
        ] {
            assert_eq!(match_faq(&faq, msg, Lang::En), None, "{msg:?}");
        }
        let without_keywords = Faq {
            entries: vec![entry("Do you ship internationally?", "Yes.", None, &[])],
        };
        assert_eq!(
            match_faq(&without_keywords, "Do you ship to Lisbon?", Lang::En),
            None
        );
        assert_eq!(
            match_faq(&Faq::default(), "Do you ship to Lisbon?", Lang::En),
            None
        );
    }

    #[test]
    fn faq_prefers_the_shoppers_language_and_refuses_ties() {
        let same = |lang: Option<&str>, answer: &str| {
            entry("Do you ship internationally?", answer, lang, &["shipping"])
        };
        let faq = Faq {
            entries: vec![
                same(Some("en"), "Yes."),
                same(Some("pt"), "Sim."),
                same(None, "Any."),
            ],
        };
        assert_eq!(faq_index(&faq, "shipping?", Lang::Pt), Some(1));
        assert_eq!(faq_index(&faq, "shipping?", Lang::En), Some(0));
        assert_eq!(
            faq_index(&faq, "shipping?", Lang::Fr),
            Some(2),
            "untagged beats foreign"
        );
        let blank = Faq {
            entries: vec![same(Some("en"), "Yes."), same(Some(" "), "Any.")],
        };
        assert_eq!(
            faq_index(&blank, "shipping?", Lang::Fr),
            Some(1),
            "blank is untagged"
        );

        let ambiguous = Faq {
            entries: vec![
                entry(
                    "Do you ship internationally?",
                    "Yes.",
                    Some("en"),
                    &["shipping"],
                ),
                entry(
                    "How much is shipping?",
                    "It's free.",
                    Some("en"),
                    &["shipping"],
                ),
            ],
        };
        assert_eq!(match_faq(&ambiguous, "shipping?", Lang::En), None);
        assert_eq!(
            faq_index(&ambiguous, "how much is shipping", Lang::En),
            None,
            "both 1.0"
        );
        // The same answer twice is no ambiguity.
        let twice = Faq {
            entries: vec![
                entry("Do you ship abroad?", "Yes.", None, &["shipping"]),
                entry("International shipping?", " Yes.", None, &["shipping"]),
            ],
        };
        assert_eq!(faq_index(&twice, "shipping?", Lang::En), Some(0));
    }

    #[test]
    fn faq_survives_odd_entries() {
        let faq = Faq {
            entries: vec![
                entry("", "empty", None, &[]),
                entry("?", "punctuation", Some("xx-YY-ZZ"), &["", "the", "🙂"]),
                entry(&"ship ".repeat(10_000), "huge", Some(""), &["shipping"]),
            ],
        };
        let (found, _) = match_faq(&faq, "shipping?", Lang::En).unwrap();
        assert_eq!(found.answer, "huge");
        assert_eq!(match_faq(&faq, &"é".repeat(100_000), Lang::En), None);
        let parsed: Faq =
            serde_json::from_str(r#"{"entries":[{"question":"Q?","answer":"A."}]}"#).unwrap();
        assert_eq!(parsed.entries[0].language, None);
        assert!(parsed.entries[0].keywords.is_empty());
        assert_eq!(serde_json::from_str::<Faq>("{}").unwrap(), Faq::default());
    }

    #[test]
    fn questions_go_through_the_faq_only_after_keywords_and_people() {
        let faq = sample_faq();
        let read = |t: &str| interpret(&Content::Text(t.into()), &faq, Lang::En);
        assert_eq!(read("stop"), Intent::OptOut);
        assert_eq!(read("can I talk to someone about shipping?"), Intent::Human);
        assert!(matches!(
            read("Do you ship to Lisbon?"),
            Intent::Faq { index: 0, .. }
        ));
        assert_eq!(read("Is it available in red?"), Intent::Unknown);
    }

    #[test]
    fn language_guesses() {
        for (msg, hint, want) in [
            ("STOP", Some("pt-BR"), Lang::Pt),
            ("STOP", None, Lang::En),
            ("STOP", Some("it"), Lang::En),
            ("Sair", Some("en"), Lang::Pt),
            ("Parar", Some("es"), Lang::Es),
            ("Parar", Some("pt_BR"), Lang::Pt),
            ("BAJA", None, Lang::Es),
            ("STOPP", None, Lang::De),
            ("ARRÊT", None, Lang::Fr),
            ("Olá, vocês entregam em Lisboa?", Some("en"), Lang::Pt),
            ("Do you ship to Lisbon?", Some("pt-BR"), Lang::En),
            ("Wann kommt meine Bestellung?", None, Lang::De),
            ("Quand allez-vous livrer ?", None, Lang::Fr),
            ("¿Hacen envíos a Madrid?", None, Lang::Es),
            ("Não", None, Lang::Pt),
            ("Größe?", None, Lang::De),
            ("👍", Some("fr-CA"), Lang::Fr),
            ("ok", None, Lang::En),
            ("", Some("DE"), Lang::De),
            ("de", Some("es"), Lang::Es),
        ] {
            assert_eq!(guess_language(msg, hint), want, "{msg:?} {hint:?}");
        }
    }

    #[test]
    fn locales() {
        assert_eq!(Lang::from_locale("pt-BR"), Some(Lang::Pt));
        assert_eq!(Lang::from_locale("pt_BR"), Some(Lang::Pt));
        assert_eq!(Lang::from_locale(" EN "), Some(Lang::En));
        assert_eq!(Lang::from_locale("es-419"), Some(Lang::Es));
        assert_eq!(Lang::from_locale("de_CH"), Some(Lang::De));
        assert_eq!(Lang::from_locale("fr"), Some(Lang::Fr));
        assert_eq!(Lang::from_locale("it"), None);
        assert_eq!(Lang::from_locale(""), None);
        assert_eq!(Lang::from_locale("english"), None);
        assert_eq!(serde_json::to_string(&Lang::Pt).unwrap(), r#""pt""#);
    }

    #[test]
    fn replies_exist_and_agree_with_the_keywords() {
        let kinds = [
            ReplyKind::OptOutConfirmation,
            ReplyKind::OptInConfirmation,
            ReplyKind::HumanAck,
            ReplyKind::NotInterestedAck,
            ReplyKind::RecoveryLink,
        ];
        for lang in Lang::ALL {
            for kind in kinds {
                let reply = reply_text(kind, lang);
                assert!(
                    !reply.is_empty() && reply.chars().count() <= 200,
                    "{kind:?} {lang:?}"
                );
            }
            // The confirmation names the way back, and that way works.
            assert!(reply_text(ReplyKind::OptOutConfirmation, lang).contains("START"));
            assert!(reply_text(ReplyKind::OptInConfirmation, lang).contains("STOP"));
        }
        assert_eq!(text("START"), Intent::OptIn);
        assert_eq!(text("STOP"), Intent::OptOut);
    }

    /// Every table entry is written the way messages are normalized, is reachable (no courtesy
    /// word or lead-in swallows it), and means one thing only.
    #[test]
    fn tables_are_normalized_and_disjoint() {
        let tables = [
            ("opt-out", OPT_OUT),
            ("opt-in", OPT_IN),
            ("not interested", NOT_INTERESTED_PHRASES),
            ("human", HUMAN_PHRASES),
        ];
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for (name, table) in tables {
            for (_, phrases) in table {
                for phrase in *phrases {
                    let normalized: Vec<String> = words(phrase, 99)
                        .iter()
                        .map(|w| canonical(w).to_owned())
                        .collect();
                    assert_eq!(normalized.join(" "), *phrase, "{name}: {phrase}");
                    assert_eq!(core_phrase(&words(phrase, 99)), *phrase, "{name}: {phrase}");
                    if let Some((other, _)) = seen.iter().find(|(n, p)| p == phrase && *n != name) {
                        panic!("{phrase:?} is both {other} and {name}");
                    }
                    seen.push((name, phrase));
                }
            }
        }
        for list in [
            COURTESY,
            LEAD_INS,
            CONTACT_VERBS,
            WANT_VERBS,
            PERSON_NOUNS,
            NEGATIONS,
        ] {
            for item in list {
                assert_eq!(words(item, 99).join(" "), *item);
            }
        }
        for (_, list) in FUNCTION_WORDS {
            for (i, word) in list.iter().enumerate() {
                assert_eq!(words(word, 99).join(" "), *word);
                assert!(!list[..i].contains(word), "{word} twice");
            }
        }
    }

    #[test]
    fn folding() {
        assert_eq!(
            words("ARRÊT! Straße, ŒUVRE ça-va? NÃO", 99),
            ["arret", "strasse", "oeuvre", "ca", "va", "nao"]
        );
        assert_eq!(words("don’t l'aide", 99), ["don", "t", "l", "aide"]);
        assert_eq!(words("a b c", 2), ["a", "b"]);
        assert_eq!(words("🛑stop🛑", 99), ["stop"]);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}", hint in "[a-zA-Z_-]{0,6}") {
            let faq = sample_faq();
            let lang = guess_language(&s, Some(&hint));
            let _ = interpret(&Content::Text(s.clone()), &faq, lang);
            let _ = interpret(&Content::Button { payload: s.clone(), text: s.clone() }, &faq, lang);
            let _ = interpret(&Content::InteractiveReply { id: s.clone(), title: s.clone() }, &faq, lang);
            if let Some((_, c)) = match_faq(&faq, &s, lang) {
                proptest::prop_assert!((FAQ_THRESHOLD..=1.0).contains(&c));
            }
        }

        /// Wrapping a stop word in a sentence that does not end or start with courtesy never
        /// makes an opt-out.
        #[test]
        fn stop_inside_a_sentence_is_not_an_opt_out(before in "[a-z]{6,9}", after in "[a-z]{6,9}") {
            let edge = |w: &str| COURTESY.contains(&w) || LEAD_INS.contains(&w);
            proptest::prop_assume!(!edge(&before) && !edge(&after));
            let msg = format!("{before} stop {after}");
            proptest::prop_assert_ne!(text(&msg), Intent::OptOut);
        }
    }
}
