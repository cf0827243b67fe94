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

mod phrases;
pub mod plan;
mod replies;

use phrases::*;
pub use replies::{
    cart_buttons, confirmation_link, reply_text, window_closes_at, window_open, ReplyKind,
    SERVICE_WINDOW_MS,
};

use serde::{Deserialize, Serialize};

use crate::core::playbook::validation::FieldError;
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

/// What the bot would answer to `text` right now: the FAQ entry it would send (`None`: the
/// conversation would go to the merchant's inbox, or the text is a keyword), and the language
/// it reads the text in. The merchant tries questions with it in the admin page.
pub fn try_faq(faq: &Faq, text: &str) -> (Option<usize>, Lang) {
    let lang = guess_language(text, None);
    match interpret(&Content::Text(text.to_string()), faq, lang) {
        Intent::Faq { index, .. } => (Some(index), lang),
        _ => (None, lang),
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

#[cfg(test)]
mod tests;
