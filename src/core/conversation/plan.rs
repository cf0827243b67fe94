//! What a shopper's message or marketing preference leads to (docs/rules.md §2), decided once
//! and returned as data: the answer, if any; the consent record to append; whether the
//! conversation goes to the merchant's inbox; which carts hear of it. The shop ledger reads a
//! [`Snapshot`] of what it knows about the shopper, calls [`plan`], and writes what comes back.

use serde::{Deserialize, Serialize};

use super::{cart_buttons, guess_language, interpret, reply_text, window_open, Faq, Intent};
use super::{Lang, ReplyKind};
use crate::core::gate::consent::{self, ConsentKind, ConsentRecord, ConsentStatus};
use crate::core::journey::ShopperSignal;
use crate::core::values::ids::CheckoutToken;
use crate::core::values::phone::Phone;
use crate::core::values::time::Millis;
use crate::core::whatsapp::inbound::{Content, Preference};
use crate::core::whatsapp::message::{
    interactive_message, text_message, InteractiveMessage, TextMessage,
};

/// What the ledger records for a keyword: what it meant, not the shopper's message itself,
/// which may carry anything (a name, an address).
pub const KEYWORD_OPT_OUT: &str =
    "Replied on WhatsApp with a stop keyword (STOP, PARAR, BAJA, ...)";
pub const KEYWORD_OPT_IN: &str = "Replied on WhatsApp with a start keyword (START, ...)";
pub const PREFERENCE_STOP: &str = "Stopped marketing messages in WhatsApp";
pub const PREFERENCE_RESUME: &str = "Resumed marketing messages in WhatsApp";

/// What reached us from the shopper.
pub enum Inbound<'a> {
    Message {
        at: Millis,
        profile_name: Option<&'a str>,
        content: &'a Content,
    },
    /// WhatsApp's own "stop / resume marketing" menu.
    Preference { value: &'a Preference, at: Millis },
}

/// What the ledger knows about the shopper when the message arrives.
pub struct Snapshot<'a> {
    pub phone: &'a Phone,
    /// The shopper's consent records, oldest first.
    pub consents: &'a [ConsentRecord],
    /// The locale of the shopper's latest checkout: the language replies default to.
    pub locale: Option<&'a str>,
    pub faq: &'a Faq,
    /// The shopper's running journeys.
    pub active_journeys: &'a [CheckoutToken],
    /// The journey of the message of ours the shopper answered, when they quoted one.
    pub quoted_journey: Option<&'a CheckoutToken>,
    /// The recovery token of the quoted journey, else of the shopper's latest.
    pub recovery_token: Option<&'a str>,
    /// An earlier message of theirs waits in the inbox for a person.
    pub waiting_for_human: bool,
    /// A journey still running, or one that ran its course without an order.
    pub has_unbought_cart: bool,
    /// The shopper's last message before this one.
    pub last_inbound: Option<Millis>,
    /// Where recovery links point.
    pub app_url: &'a str,
}

/// A free-form message to the shopper.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub to: Phone,
    pub text: String,
    /// Reply buttons `(id, title)` under the text (an interactive message).
    #[serde(default)]
    pub buttons: Vec<(String, String)>,
}

/// A reply as the Graph API takes it.
#[derive(Serialize)]
#[serde(untagged)]
pub enum ReplyMessage {
    Text(TextMessage),
    Interactive(InteractiveMessage),
}

impl Reply {
    pub fn message(&self) -> ReplyMessage {
        if self.buttons.is_empty() {
            return ReplyMessage::Text(text_message(&self.to, &self.text));
        }
        let buttons: Vec<(&str, &str)> = self
            .buttons
            .iter()
            .map(|(id, title)| (id.as_str(), title.as_str()))
            .collect();
        ReplyMessage::Interactive(interactive_message(&self.to, &self.text, &buttons))
    }
}

/// A message that waits in the merchant's inbox for a person.
#[derive(Clone, Debug, PartialEq)]
pub struct InboxEntry {
    pub name: Option<String>,
    pub text: String,
    pub at: Millis,
}

/// Everything the ledger writes and the Worker does about one inbound event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// What the carts in `journeys` are told.
    pub signal: Option<ShopperSignal>,
    pub journeys: Vec<CheckoutToken>,
    /// Sent only inside the 24-hour service window; `None` outside it.
    pub reply: Option<Reply>,
    /// Appended to the consent ledger.
    pub consent: Option<ConsentRecord>,
    pub inbox: Option<InboxEntry>,
    /// The shopper wrote at this moment: the service window runs from it, and journeys
    /// already messaged count as replied.
    pub wrote_at: Option<Millis>,
    /// The shopper reached out (a message or a preference): the window runs from here.
    pub window_from: Option<Millis>,
}

pub fn plan(event: Inbound, snap: &Snapshot, now: Millis) -> Plan {
    let mut plan = match event {
        Inbound::Message {
            at,
            profile_name,
            content,
        } => message(at, profile_name, content, snap),
        Inbound::Preference { value, at } => preference(value, at, snap),
    };
    let last = snap.last_inbound.max(plan.window_from);
    if !window_open(last, now) {
        plan.reply = None;
    }
    plan
}

fn already_opted_out(snap: &Snapshot) -> bool {
    consent::status(snap.consents) == ConsentStatus::OptedOut
}

fn reply(snap: &Snapshot, kind: ReplyKind, lang: Lang) -> Reply {
    text_reply(snap, reply_text(kind, lang).to_string(), vec![])
}

fn text_reply(snap: &Snapshot, text: String, buttons: Vec<(String, String)>) -> Reply {
    Reply {
        to: snap.phone.clone(),
        text,
        buttons,
    }
}

fn message(at: Millis, name: Option<&str>, content: &Content, snap: &Snapshot) -> Plan {
    let text = content.text();
    let lang = guess_language(text, snap.locale);
    let journeys = snap.active_journeys.to_vec();
    let base = Plan {
        wrote_at: Some(at),
        window_from: Some(at),
        ..Plan::default()
    };
    let to_inbox = || InboxEntry {
        name: name.map(str::to_string),
        text: text.to_string(),
        at,
    };
    match interpret(content, snap.faq, lang) {
        Intent::OptOut => Plan {
            signal: Some(ShopperSignal::OptedOut),
            journeys,
            // One confirmation, never a second for a repeated STOP.
            reply: (!already_opted_out(snap))
                .then(|| reply(snap, ReplyKind::OptOutConfirmation, lang)),
            consent: Some(ConsentRecord::from_whatsapp(
                ConsentKind::OptOut,
                KEYWORD_OPT_OUT,
                at,
            )),
            ..base
        },
        Intent::OptIn => Plan {
            reply: Some(reply(snap, ReplyKind::OptInConfirmation, lang)),
            consent: Some(ConsentRecord::from_whatsapp(
                ConsentKind::OptIn,
                KEYWORD_OPT_IN,
                at,
            )),
            ..base
        },
        Intent::NotInterested => Plan {
            signal: Some(ShopperSignal::NotInterested),
            // The quoted message says which cart; without one, every running cart.
            journeys: snap.quoted_journey.map_or(journeys, |j| vec![j.clone()]),
            reply: Some(reply(snap, ReplyKind::NotInterestedAck, lang)),
            ..base
        },
        Intent::CompleteOrder => Plan {
            reply: snap.recovery_token.map(|token| {
                let text = format!(
                    "{} {}/r/{token}",
                    reply_text(ReplyKind::RecoveryLink, lang),
                    snap.app_url.trim_end_matches('/')
                );
                text_reply(snap, text, vec![])
            }),
            ..base
        },
        // The bot is quiet while a person is expected to answer.
        _ if snap.waiting_for_human => Plan {
            signal: Some(ShopperSignal::Replied),
            journeys,
            inbox: Some(to_inbox()),
            ..base
        },
        Intent::Faq { index, .. } => {
            // While a cart of theirs is still unbought, the answer offers to finish it.
            let buttons = if snap.has_unbought_cart {
                cart_buttons(lang)
                    .iter()
                    .map(|(id, title)| (id.to_string(), title.to_string()))
                    .collect()
            } else {
                vec![]
            };
            Plan {
                signal: Some(ShopperSignal::Replied),
                journeys,
                reply: snap
                    .faq
                    .entries
                    .get(index)
                    .map(|e| text_reply(snap, e.answer.clone(), buttons)),
                ..base
            }
        }
        Intent::Human | Intent::Unknown => Plan {
            signal: Some(ShopperSignal::Replied),
            journeys,
            reply: Some(reply(snap, ReplyKind::HumanAck, lang)),
            inbox: Some(to_inbox()),
            ..base
        },
    }
}

fn preference(value: &Preference, at: Millis, snap: &Snapshot) -> Plan {
    // Treated as the shopper reaching out, so the one confirmation may go (if Meta refuses it
    // with 131047, only the confirmation is lost).
    let base = Plan {
        window_from: Some(at),
        ..Plan::default()
    };
    match value {
        Preference::Stop => Plan {
            signal: Some(ShopperSignal::OptedOut),
            journeys: snap.active_journeys.to_vec(),
            reply: (!already_opted_out(snap)).then(|| {
                let lang = guess_language("", snap.locale);
                reply(snap, ReplyKind::OptOutConfirmation, lang)
            }),
            consent: Some(ConsentRecord::from_whatsapp(
                ConsentKind::OptOut,
                PREFERENCE_STOP,
                at,
            )),
            ..base
        },
        Preference::Resume => Plan {
            consent: Some(ConsentRecord::from_whatsapp(
                ConsentKind::OptIn,
                PREFERENCE_RESUME,
                at,
            )),
            ..base
        },
        Preference::Other(_) => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::conversation::FaqEntry;
    use crate::core::gate::consent::ConsentSource;

    const T: Millis = Millis(1_790_000_000_000);
    const APP: &str = "https://cartback.test";

    struct World {
        phone: Phone,
        consents: Vec<ConsentRecord>,
        faq: Faq,
        active: Vec<CheckoutToken>,
        quoted: Option<CheckoutToken>,
        token: Option<String>,
        waiting: bool,
        unbought: bool,
        last: Option<Millis>,
        locale: Option<String>,
    }

    fn world() -> World {
        World {
            phone: Phone::parse("+5511987654321", None).unwrap(),
            consents: vec![],
            faq: Faq {
                entries: vec![FaqEntry {
                    question: "Do you ship to Lisbon?".into(),
                    answer: "Yes, we ship to Portugal in 3 days.".into(),
                    keywords: vec!["ship".into(), "lisbon".into(), "shipping".into()],
                    language: Some("en".into()),
                }],
            },
            active: vec![CheckoutToken::new("c1"), CheckoutToken::new("c2")],
            quoted: None,
            token: Some("rtok".into()),
            waiting: false,
            unbought: true,
            last: None,
            locale: None,
        }
    }

    fn run(w: &World, event: Inbound) -> Plan {
        let snap = Snapshot {
            phone: &w.phone,
            consents: &w.consents,
            locale: w.locale.as_deref(),
            faq: &w.faq,
            active_journeys: &w.active,
            quoted_journey: w.quoted.as_ref(),
            recovery_token: w.token.as_deref(),
            waiting_for_human: w.waiting,
            has_unbought_cart: w.unbought,
            last_inbound: w.last,
            app_url: APP,
        };
        plan(event, &snap, T)
    }

    fn text(w: &World, s: &str) -> Plan {
        let content = Content::Text(s.into());
        run(
            w,
            Inbound::Message {
                at: T,
                profile_name: Some("Ana"),
                content: &content,
            },
        )
    }

    #[test]
    fn stop_opts_out_tells_every_running_cart_and_confirms_once() {
        let mut w = world();
        let p = text(&w, "STOP");
        assert_eq!(p.signal, Some(ShopperSignal::OptedOut));
        assert_eq!(p.journeys, w.active);
        let record = p.consent.clone().unwrap();
        assert_eq!(
            (record.kind, record.source),
            (ConsentKind::OptOut, ConsentSource::WhatsappKeyword)
        );
        assert_eq!(record.wording, KEYWORD_OPT_OUT);
        assert!(p.reply.unwrap().text.contains("START"));
        // Already opted out: recorded again, but no second confirmation.
        w.consents.push(record);
        let again = text(&w, "stop");
        assert!(again.consent.is_some());
        assert_eq!(again.reply, None);
    }

    #[test]
    fn start_opts_in_and_confirms_in_the_shoppers_language() {
        let mut w = world();
        w.locale = Some("pt-BR".into());
        let p = text(&w, "START");
        assert_eq!(p.consent.unwrap().kind, ConsentKind::OptIn);
        assert_eq!(p.signal, None);
        assert!(p.journeys.is_empty());
        assert!(p.reply.unwrap().text.starts_with("Que bom"));
    }

    #[test]
    fn a_confident_faq_answer_offers_the_cart_buttons_while_a_cart_is_unbought() {
        let mut w = world();
        let p = text(&w, "Do you ship to Lisbon?");
        assert_eq!(p.signal, Some(ShopperSignal::Replied));
        let reply = p.reply.unwrap();
        assert_eq!(reply.text, "Yes, we ship to Portugal in 3 days.");
        assert_eq!(reply.buttons.len(), 2);
        assert_eq!(p.inbox, None);
        w.unbought = false;
        assert!(text(&w, "Do you ship to Lisbon?")
            .reply
            .unwrap()
            .buttons
            .is_empty());
    }

    #[test]
    fn a_question_without_an_answer_goes_to_the_inbox_with_one_acknowledgement() {
        let w = world();
        let p = text(&w, "Can I pay with a gift card from my aunt?");
        let entry = p.inbox.unwrap();
        assert_eq!(entry.name.as_deref(), Some("Ana"));
        assert_eq!(entry.at, T);
        assert!(p.reply.unwrap().text.contains("Someone from our team"));
        assert_eq!(p.signal, Some(ShopperSignal::Replied));
    }

    #[test]
    fn the_bot_stays_quiet_while_a_person_is_expected() {
        let mut w = world();
        w.waiting = true;
        for message in ["Do you ship to Lisbon?", "hello?", "human please"] {
            let p = text(&w, message);
            assert_eq!(p.reply, None, "{message}");
            assert!(p.inbox.is_some(), "{message}");
        }
        // A STOP is still a STOP.
        let p = text(&w, "STOP");
        assert!(p.reply.is_some() && p.consent.is_some() && p.inbox.is_none());
    }

    #[test]
    fn not_interested_ends_the_quoted_cart_only() {
        let mut w = world();
        w.quoted = Some(CheckoutToken::new("c2"));
        let content = Content::Button {
            payload: crate::core::whatsapp::message::NOT_INTERESTED.into(),
            text: "Not interested".into(),
        };
        let p = run(
            &w,
            Inbound::Message {
                at: T,
                profile_name: None,
                content: &content,
            },
        );
        assert_eq!(p.signal, Some(ShopperSignal::NotInterested));
        assert_eq!(p.journeys, vec![CheckoutToken::new("c2")]);
        assert!(p.reply.is_some());
    }

    #[test]
    fn complete_my_order_resends_the_recovery_link() {
        let mut w = world();
        let content = Content::InteractiveReply {
            id: crate::core::conversation::COMPLETE_ORDER.into(),
            title: "Complete my order".into(),
        };
        let event = || Inbound::Message {
            at: T,
            profile_name: None,
            content: &content,
        };
        let p = run(&w, event());
        assert!(p
            .reply
            .unwrap()
            .text
            .ends_with("https://cartback.test/r/rtok"));
        assert_eq!(p.signal, None);
        w.token = None;
        assert_eq!(run(&w, event()).reply, None);
    }

    #[test]
    fn replies_leave_only_inside_the_service_window() {
        let w = world();
        let content = Content::Text("STOP".into());
        // A message written more than a day ago (a late redelivery) opts out but cannot answer.
        let stale = run(
            &w,
            Inbound::Message {
                at: T.plus_millis(-25 * 3_600_000),
                profile_name: None,
                content: &content,
            },
        );
        assert!(stale.consent.is_some());
        assert_eq!(stale.reply, None);
    }

    #[test]
    fn whatsapps_marketing_stop_and_resume() {
        let mut w = world();
        let stop = run(
            &w,
            Inbound::Preference {
                value: &Preference::Stop,
                at: T,
            },
        );
        assert_eq!(stop.signal, Some(ShopperSignal::OptedOut));
        assert_eq!(stop.journeys, w.active);
        assert_eq!(stop.consent.clone().unwrap().wording, PREFERENCE_STOP);
        assert!(stop.reply.is_some());
        assert_eq!(stop.wrote_at, None, "a preference is not a reply");
        w.consents.push(stop.consent.unwrap());
        let resume = run(
            &w,
            Inbound::Preference {
                value: &Preference::Resume,
                at: T,
            },
        );
        assert_eq!(resume.consent.unwrap().kind, ConsentKind::OptIn);
        assert_eq!((resume.signal, resume.reply), (None, None));
        let other = run(
            &w,
            Inbound::Preference {
                value: &Preference::Other("x".into()),
                at: T,
            },
        );
        assert_eq!(other.consent, None);
    }
}
