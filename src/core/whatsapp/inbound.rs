//! WhatsApp Cloud API webhook deliveries (`POST /webhooks/whatsapp`), flattened into events.
//!
//! Meta batches freely: one delivery may hold several entries, each with several changes, each
//! with messages, statuses, errors and preference changes. A delivery we answer with an error is
//! retried for days, good items included, so each item that cannot be read is skipped on its own
//! and only a body that is not a JSON object is refused. Every string kept is bounded, because
//! these values end up in Durable Object state and the merchant's inbox.

use crate::core::values::ids::Wamid;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::costs::{parse_pricing, Pricing};
use crate::core::values::phone::Phone;
use crate::core::values::time::Millis;
use crate::core::whatsapp::message::MAX_TEXT_CHARS;

/// Meta's limit on `biz_opaque_callback_data`; a longer value is not one we sent.
const MAX_CALLBACK_CHARS: usize = 512;
/// Button payloads, reply ids and wamids are far shorter in practice.
const MAX_ID_CHARS: usize = 256;
const MAX_LABEL_CHARS: usize = 128;
const MAX_KIND_CHARS: usize = 32;
const MAX_ERRORS_PER_STATUS: usize = 8;
/// Phone number ids are Graph object ids: decimal digits.
const MAX_PHONE_NUMBER_ID_DIGITS: usize = 32;

/// One thing that happened on a business number, in delivery order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InboundEvent {
    /// A shopper wrote or tapped something; any message reopens the 24-hour service window.
    Message {
        phone_number_id: String,
        from: Phone,
        wamid: Wamid,
        at: Millis,
        profile_name: Option<String>,
        /// The wamid of the message this one answers (a tapped template button, for example).
        context_wamid: Option<Wamid>,
        content: Content,
    },
    /// Progress of a message we sent.
    Status {
        phone_number_id: String,
        wamid: Wamid,
        status: DeliveryStatus,
        at: Millis,
        recipient: Option<Phone>,
        /// `biz_opaque_callback_data` as we sent it.
        callback: Option<String>,
        error_codes: Vec<i64>,
        /// What Meta bills for the message, when the status says.
        pricing: Option<Pricing>,
    },
    /// The shopper stopped or resumed marketing messages from WhatsApp's own menu.
    UserPreference {
        phone_number_id: String,
        phone: Phone,
        /// `marketing_messages` in every delivery seen so far.
        category: Option<String>,
        value: Preference,
        at: Millis,
    },
    /// An error about the business number as a whole, not tied to one message (e.g. 130429).
    AccountError { phone_number_id: String, code: i64 },
}

impl InboundEvent {
    /// The business number the event belongs to: the key that finds the shop.
    pub fn phone_number_id(&self) -> &str {
        match self {
            InboundEvent::Message {
                phone_number_id, ..
            }
            | InboundEvent::Status {
                phone_number_id, ..
            }
            | InboundEvent::UserPreference {
                phone_number_id, ..
            }
            | InboundEvent::AccountError {
                phone_number_id, ..
            } => phone_number_id,
        }
    }
}

/// What an inbound message carries, as far as the app cares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    Text(String),
    /// A template quick-reply tap. Without a payload Meta repeats the button text in it, so
    /// either one fills in for the other.
    Button {
        payload: String,
        text: String,
    },
    /// A tap on a reply button or list row of an interactive message we sent.
    InteractiveReply {
        id: String,
        title: String,
    },
    /// Anything else (`image`, `reaction`, `order`, `unsupported`, ...), by its `type`.
    Other(String),
}

impl Content {
    /// What the shopper sees as having said: the text, or the label of what they tapped.
    pub fn text(&self) -> &str {
        match self {
            Content::Text(text) => text,
            Content::Button { text, .. } => text,
            Content::InteractiveReply { title, .. } => title,
            Content::Other(_) => "",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Sent,
    Delivered,
    Read,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preference {
    Stop,
    Resume,
    /// A value we do not act on (pywa has seen `signup`), kept for the logs.
    Other(String),
}

/// Why a whole delivery was refused (answered 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookError {
    NotJson,
    NotAnObject,
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WebhookError::NotJson => "webhook body is not JSON",
            WebhookError::NotAnObject => "webhook body is not a JSON object",
        })
    }
}

impl std::error::Error for WebhookError {}

/// Reads a webhook body, already verified with `verify_meta_webhook`.
///
/// A body about another product (`object` other than `whatsapp_business_account`) and changes
/// of fields other than `messages` and `user_preferences` yield no events. Items skipped as
/// malformed: no valid `metadata.phone_number_id` on their change, a `from`/`wa_id` that is no
/// phone number (including the empty ones business-scoped user ids will bring), no id or
/// timestamp, a status other than sent/delivered/read/failed, an error without an integer code.
pub fn parse_webhook(body: &[u8]) -> Result<Vec<InboundEvent>, WebhookError> {
    let root: Value = serde_json::from_slice(body).map_err(|_| WebhookError::NotJson)?;
    let root = root.as_object().ok_or(WebhookError::NotAnObject)?;
    let mut events = Vec::new();
    if root.get("object").and_then(Value::as_str) != Some("whatsapp_business_account") {
        return Ok(events);
    }
    for change in items(root.get("entry"))
        .iter()
        .flat_map(|entry| items(entry.get("changes")))
    {
        let Some(value) = change.get("value") else {
            continue;
        };
        let Some(pnid) = value
            .pointer("/metadata/phone_number_id")
            .and_then(Value::as_str)
            .filter(|id| is_phone_number_id(id))
        else {
            continue;
        };
        match change.get("field").and_then(Value::as_str) {
            Some("messages") => {
                let names = profile_names(value);
                events.extend(
                    items(value.get("messages"))
                        .iter()
                        .filter_map(|m| message(pnid, m, &names)),
                );
                events.extend(
                    items(value.get("statuses"))
                        .iter()
                        .filter_map(|s| status(pnid, s)),
                );
                events.extend(items(value.get("errors")).iter().filter_map(|e| {
                    Some(InboundEvent::AccountError {
                        phone_number_id: pnid.to_owned(),
                        code: e.get("code")?.as_i64()?,
                    })
                }));
            }
            Some("user_preferences") => events.extend(
                items(value.get("user_preferences"))
                    .iter()
                    .filter_map(|p| preference(pnid, p)),
            ),
            _ => {}
        }
    }
    Ok(events)
}

/// The elements of a JSON array; anything else (absent, null, an object) has none.
fn items(value: Option<&Value>) -> &[Value] {
    value
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn is_phone_number_id(id: &str) -> bool {
    (1..=MAX_PHONE_NUMBER_ID_DIGITS).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

fn str_field<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// The first `max` characters of `s`, cut on a character boundary.
fn bounded(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => s.get(..cut).unwrap_or_default().to_owned(),
        None => s.to_owned(),
    }
}

/// A non-empty label: ids and button texts, kept only when printable and short enough.
fn label(value: Option<&Value>, max: usize) -> Option<String> {
    value
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty() && s.chars().count() <= max)
        .filter(|s| !s.chars().any(char::is_control))
        .map(str::to_owned)
}

/// Message ids key idempotency records, so they must be plain.
fn wamid(value: Option<&Value>) -> Option<Wamid> {
    value
        .and_then(Value::as_str)
        .filter(|id| (1..=MAX_ID_CHARS).contains(&id.len()))
        .filter(|id| id.bytes().all(|b| b.is_ascii_graphic()))
        .map(Wamid::from)
}

/// Unix seconds as a string of digits (messages, statuses) or a JSON integer (user_preferences).
fn timestamp(value: Option<&Value>) -> Option<Millis> {
    let seconds = match value? {
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<i64>().ok()?
        }
        Value::Number(n) => n.as_i64().filter(|s| *s >= 0)?,
        _ => return None,
    };
    seconds.checked_mul(1000).map(Millis)
}

/// `contacts[]` names by phone; WhatsApp profile names are free text, so they are tidied.
fn profile_names(value: &Value) -> Vec<(Phone, String)> {
    items(value.get("contacts"))
        .iter()
        .filter_map(|c| {
            let phone = Phone::from_wa_id(str_field(c, "wa_id")?).ok()?;
            let raw = c.pointer("/profile/name").and_then(Value::as_str)?;
            let words: Vec<&str> = raw
                .split(|ch: char| ch.is_whitespace() || ch.is_control())
                .filter(|w| !w.is_empty())
                .collect();
            (!words.is_empty()).then(|| (phone, bounded(&words.join(" "), MAX_LABEL_CHARS)))
        })
        .collect()
}

fn message(pnid: &str, m: &Value, names: &[(Phone, String)]) -> Option<InboundEvent> {
    let from = Phone::from_wa_id(str_field(m, "from")?).ok()?;
    let wamid_ = wamid(m.get("id"))?;
    let at = timestamp(m.get("timestamp"))?;
    let profile_name = names
        .iter()
        .find(|(phone, _)| *phone == from)
        .map(|(_, name)| name.clone());
    Some(InboundEvent::Message {
        phone_number_id: pnid.to_owned(),
        context_wamid: m.get("context").and_then(|c| wamid(c.get("id"))),
        content: content(m),
        from,
        wamid: wamid_,
        at,
        profile_name,
    })
}

/// A recognised type whose body is missing or unusable is still a message (it reopens the
/// window and counts as a reply), so it falls back to `Other` rather than being dropped.
fn content(m: &Value) -> Content {
    let kind = str_field(m, "type")
        .filter(|k| {
            (1..=MAX_KIND_CHARS).contains(&k.len())
                && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        })
        .unwrap_or("unknown");
    let parsed = match kind {
        "text" => m
            .pointer("/text/body")
            .and_then(Value::as_str)
            .map(|body| Content::Text(bounded(body, MAX_TEXT_CHARS))),
        "button" => {
            let payload = label(m.pointer("/button/payload"), MAX_ID_CHARS);
            let text = label(m.pointer("/button/text"), MAX_LABEL_CHARS);
            match (payload, text) {
                (Some(payload), Some(text)) => Some(Content::Button { payload, text }),
                (Some(only), None) | (None, Some(only)) => Some(Content::Button {
                    payload: only.clone(),
                    text: only,
                }),
                (None, None) => None,
            }
        }
        "interactive" => {
            let reply = match m.pointer("/interactive/type").and_then(Value::as_str) {
                Some("button_reply") => m.pointer("/interactive/button_reply"),
                Some("list_reply") => m.pointer("/interactive/list_reply"),
                _ => None,
            };
            reply.and_then(|r| {
                Some(Content::InteractiveReply {
                    id: label(r.get("id"), MAX_ID_CHARS)?,
                    title: label(r.get("title"), MAX_LABEL_CHARS).unwrap_or_default(),
                })
            })
        }
        _ => None,
    };
    parsed.unwrap_or_else(|| Content::Other(kind.to_owned()))
}

fn status(pnid: &str, s: &Value) -> Option<InboundEvent> {
    // `played` (voice) and `deleted` say nothing about a cart message.
    let status = match str_field(s, "status")? {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed,
        _ => return None,
    };
    Some(InboundEvent::Status {
        phone_number_id: pnid.to_owned(),
        wamid: wamid(s.get("id"))?,
        status,
        at: timestamp(s.get("timestamp"))?,
        recipient: str_field(s, "recipient_id").and_then(|r| Phone::from_wa_id(r).ok()),
        callback: str_field(s, "biz_opaque_callback_data")
            .filter(|c| !c.is_empty() && c.chars().count() <= MAX_CALLBACK_CHARS)
            .map(str::to_owned),
        error_codes: items(s.get("errors"))
            .iter()
            .filter_map(|e| e.get("code")?.as_i64())
            .take(MAX_ERRORS_PER_STATUS)
            .collect(),
        pricing: parse_pricing(s.get("pricing")),
    })
}

fn preference(pnid: &str, p: &Value) -> Option<InboundEvent> {
    let raw = str_field(p, "value")?;
    let value = if raw.eq_ignore_ascii_case("stop") {
        Preference::Stop
    } else if raw.eq_ignore_ascii_case("resume") {
        Preference::Resume
    } else {
        Preference::Other(bounded(raw, MAX_KIND_CHARS))
    };
    Some(InboundEvent::UserPreference {
        phone_number_id: pnid.to_owned(),
        phone: Phone::from_wa_id(str_field(p, "wa_id")?).ok()?,
        category: label(p.get("category"), MAX_KIND_CHARS),
        value,
        at: timestamp(p.get("timestamp"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNID: &str = "318462950071245";

    fn emily() -> Phone {
        Phone::from_wa_id("14165550142").unwrap()
    }

    fn parse(body: &str) -> Vec<InboundEvent> {
        parse_webhook(body.as_bytes()).unwrap()
    }

    /// A delivery with one change of `field` whose value holds `value_fields`.
    fn wrap(field: &str, value_fields: &str) -> String {
        format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"402117843319668","changes":[{{"field":"{field}","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"16285550107","phone_number_id":"{PNID}"}}{value_fields}}}}}]}}]}}"#
        )
    }

    #[test]
    fn text_fixture() {
        let events = parse_webhook(include_bytes!(
            "../../../tests/fixtures/whatsapp/webhook-message-text.json"
        ))
        .unwrap();
        assert_eq!(
            events,
            vec![InboundEvent::Message {
                phone_number_id: PNID.into(),
                from: emily(),
                wamid: "wamid.HBgLMTQxNjU1NTAxNDIVAgASGBQzQTJFMzJGM0VFNjdGOUM2NjgzOAA=".into(),
                at: Millis(1_792_089_185_000),
                profile_name: Some("Emily Carter".into()),
                context_wamid: None,
                content: Content::Text("Do you ship to Lisbon?".into()),
            }]
        );
        assert_eq!(events[0].phone_number_id(), PNID);
    }

    #[test]
    fn button_fixture() {
        let events = parse_webhook(include_bytes!(
            "../../../tests/fixtures/whatsapp/webhook-message-button.json"
        ))
        .unwrap();
        let [InboundEvent::Message {
            from,
            wamid,
            at,
            context_wamid,
            content,
            profile_name,
            ..
        }] = events.as_slice()
        else {
            panic!("{events:?}")
        };
        assert_eq!(from, &emily());
        assert_eq!(
            wamid,
            "wamid.HBgLMTQxNjU1NTAxNDIVAgASGBQzQTUyMEQ3NjhFQkUwNkUyQkVGOAA="
        );
        assert_eq!(*at, Millis(1_792_004_564_000));
        assert_eq!(profile_name.as_deref(), Some("Emily Carter"));
        assert_eq!(
            context_wamid.as_ref().map(Wamid::as_str),
            Some("wamid.HBgLMTQxNjU1NTAxNDIVAgARGBJEODMwMTZFMTg5ODMwMkVEMzcA")
        );
        assert_eq!(
            content,
            &Content::Button {
                payload: "not_interested".into(),
                text: "Not interested".into()
            }
        );
        assert_eq!(content.text(), "Not interested");
    }

    #[test]
    fn interactive_fixture() {
        let events = parse_webhook(include_bytes!(
            "../../../tests/fixtures/whatsapp/webhook-message-interactive-button-reply.json"
        ))
        .unwrap();
        let [InboundEvent::Message {
            content,
            context_wamid,
            at,
            ..
        }] = events.as_slice()
        else {
            panic!("{events:?}")
        };
        assert_eq!(
            content,
            &Content::InteractiveReply {
                id: "complete_order".into(),
                title: "Complete my order".into()
            }
        );
        assert_eq!(content.text(), "Complete my order");
        assert_eq!(
            context_wamid.as_ref().map(Wamid::as_str),
            Some("wamid.HBgLMTQxNjU1NTAxNDIVAgARGBJCMzRFODZEQzU2RUI4MjgzMzMA")
        );
        assert_eq!(*at, Millis(1_792_089_252_000));
    }

    const OFFER_WAMID: &str = "wamid.HBgLMTQxNjU1NTAxNDIVAgARGBJEMDc3RDlBQUM4MzBGRjY2MDkA";
    const OFFER_CALLBACK: &str = "cb1;shop=68417253091;checkout=36521894117523;step=offer";

    fn offer_status(status: DeliveryStatus, seconds: i64) -> InboundEvent {
        // The fixtures' sent and delivered statuses carry Meta's pricing; read carries none.
        let pricing = (status != DeliveryStatus::Read).then(|| Pricing {
            billable: true,
            category: "marketing".into(),
            pricing_model: Some("PMP".into()),
            kind: Some("regular".into()),
        });
        InboundEvent::Status {
            phone_number_id: PNID.into(),
            wamid: OFFER_WAMID.into(),
            status,
            at: Millis(seconds * 1000),
            recipient: Some(emily()),
            callback: Some(OFFER_CALLBACK.into()),
            error_codes: vec![],
            pricing,
        }
    }

    #[test]
    fn status_fixtures() {
        let sent = include_bytes!("../../../tests/fixtures/whatsapp/webhook-status-sent.json");
        let delivered =
            include_bytes!("../../../tests/fixtures/whatsapp/webhook-status-delivered.json");
        let read = include_bytes!("../../../tests/fixtures/whatsapp/webhook-status-read.json");
        assert_eq!(
            parse_webhook(sent).unwrap(),
            vec![offer_status(DeliveryStatus::Sent, 1_792_087_794)]
        );
        assert_eq!(
            parse_webhook(delivered).unwrap(),
            vec![offer_status(DeliveryStatus::Delivered, 1_792_087_796)]
        );
        assert_eq!(
            parse_webhook(read).unwrap(),
            vec![offer_status(DeliveryStatus::Read, 1_792_089_067)]
        );
    }

    #[test]
    fn failed_status_fixture() {
        let events = parse_webhook(include_bytes!(
            "../../../tests/fixtures/whatsapp/webhook-status-failed-131026.json"
        ))
        .unwrap();
        assert_eq!(
            events,
            vec![InboundEvent::Status {
                phone_number_id: PNID.into(),
                wamid: "wamid.HBgLMTYwNDU1NTAxNjMVAgARGBJCQThGQjNDOUM5QzE0NUE1RDgA".into(),
                status: DeliveryStatus::Failed,
                at: Millis(1_792_073_542_000),
                recipient: Some(Phone::parse("+1 604-555-0163", None).unwrap()),
                callback: Some("cb1;shop=68417253091;checkout=36521894550187;step=reminder".into()),
                error_codes: vec![131026],
                pricing: None,
            }]
        );
    }

    #[test]
    fn user_preferences_fixture() {
        let events = parse_webhook(include_bytes!(
            "../../../tests/fixtures/whatsapp/webhook-user-preferences-stop.json"
        ))
        .unwrap();
        assert_eq!(
            events,
            vec![InboundEvent::UserPreference {
                phone_number_id: PNID.into(),
                phone: emily(),
                category: Some("marketing_messages".into()),
                value: Preference::Stop,
                at: Millis(1_792_106_763_000),
            }]
        );
    }

    #[test]
    fn batched_delivery_keeps_order_and_skips_only_bad_items() {
        let body = r#"{
          "object": "whatsapp_business_account",
          "entry": [
            {"id": "1", "changes": [
              {"field": "messages", "value": {
                "metadata": {"phone_number_id": "111"},
                "contacts": [
                  {"profile": {"name": "  Ana\n Souza "}, "wa_id": "5511987654321"},
                  {"profile": {"name": "Emily"}, "wa_id": "14165550142"}
                ],
                "messages": [
                  {"from": "5511987654321", "id": "wamid.A", "timestamp": "1700000000",
                   "type": "text", "text": {"body": "Olá, vocês entregam em Lisboa?"}},
                  {"from": "5511987654321", "id": "wamid.B", "timestamp": "not a time",
                   "type": "text", "text": {"body": "lost: no valid timestamp"}},
                  {"from": "14165550142", "id": "wamid.C", "timestamp": "1700000001",
                   "type": "image", "image": {"id": "9"}},
                  {"from": "14165550142", "id": "wamid.D", "timestamp": "1700000002",
                   "type": "interactive", "context": {"id": "wamid.LIST"},
                   "interactive": {"type": "list_reply",
                     "list_reply": {"id": "size_m", "title": "M", "description": "Medium"}}},
                  "not an object",
                  {"from": "", "from_user_id": "user.123", "id": "wamid.E",
                   "timestamp": "1700000003", "type": "text", "text": {"body": "bsuid"}}
                ],
                "statuses": [
                  {"id": "wamid.S1", "status": "sent", "timestamp": "1700000010",
                   "recipient_id": "14165550142"},
                  {"id": "wamid.S2", "status": "played", "timestamp": "1700000011",
                   "recipient_id": "14165550142"},
                  {"id": "wamid.S3", "status": "failed", "timestamp": "1700000012",
                   "recipient_id": "",
                   "errors": [{"code": 131049}, {"code": "x"}, {"title": "no code"}, {"code": 131000}]}
                ],
                "errors": [{"code": 130429, "title": "Rate limit hit"}, {"code": null}]
              }},
              {"field": "account_update", "value": {
                "metadata": {"phone_number_id": "111"},
                "messages": [{"from": "14165550142", "id": "wamid.X", "timestamp": "1",
                  "type": "text", "text": {"body": "ignored field"}}]
              }},
              {"field": "messages", "value": {"metadata": {"phone_number_id": 111},
                "messages": [{"from": "14165550142", "id": "wamid.Y", "timestamp": "1",
                  "type": "text", "text": {"body": "no routable number"}}]}},
              {"field": "messages"}
            ]},
            {"id": "2", "changes": "not an array"},
            {"id": "3", "changes": [
              {"field": "user_preferences", "value": {
                "metadata": {"phone_number_id": "222"},
                "user_preferences": [
                  {"wa_id": "14165550142", "category": "marketing_messages",
                   "value": "resume", "timestamp": "1700000100"},
                  {"wa_id": "14165550142", "value": "signup", "timestamp": 1700000101},
                  {"wa_id": "14165550142", "value": "stop", "timestamp": 1.5}
                ]
              }}
            ]}
          ]
        }"#;
        let ana = Phone::from_wa_id("5511987654321").unwrap();
        let message = |from: &Phone, id: &str, s: i64, name: &str, ctx: Option<&str>, c| {
            InboundEvent::Message {
                phone_number_id: "111".into(),
                from: from.clone(),
                wamid: id.into(),
                at: Millis(s * 1000),
                profile_name: Some(name.into()),
                context_wamid: ctx.map(Into::into),
                content: c,
            }
        };
        assert_eq!(
            parse(body),
            vec![
                message(
                    &ana,
                    "wamid.A",
                    1_700_000_000,
                    "Ana Souza",
                    None,
                    Content::Text("Olá, vocês entregam em Lisboa?".into())
                ),
                message(
                    &emily(),
                    "wamid.C",
                    1_700_000_001,
                    "Emily",
                    None,
                    Content::Other("image".into())
                ),
                message(
                    &emily(),
                    "wamid.D",
                    1_700_000_002,
                    "Emily",
                    Some("wamid.LIST"),
                    Content::InteractiveReply {
                        id: "size_m".into(),
                        title: "M".into()
                    }
                ),
                InboundEvent::Status {
                    phone_number_id: "111".into(),
                    wamid: "wamid.S1".into(),
                    status: DeliveryStatus::Sent,
                    at: Millis(1_700_000_010_000),
                    recipient: Some(emily()),
                    callback: None,
                    error_codes: vec![],
                    pricing: None,
                },
                InboundEvent::Status {
                    phone_number_id: "111".into(),
                    wamid: "wamid.S3".into(),
                    status: DeliveryStatus::Failed,
                    at: Millis(1_700_000_012_000),
                    recipient: None,
                    callback: None,
                    error_codes: vec![131049, 131000],
                    pricing: None,
                },
                InboundEvent::AccountError {
                    phone_number_id: "111".into(),
                    code: 130429
                },
                InboundEvent::UserPreference {
                    phone_number_id: "222".into(),
                    phone: emily(),
                    category: Some("marketing_messages".into()),
                    value: Preference::Resume,
                    at: Millis(1_700_000_100_000),
                },
                InboundEvent::UserPreference {
                    phone_number_id: "222".into(),
                    phone: emily(),
                    category: None,
                    value: Preference::Other("signup".into()),
                    at: Millis(1_700_000_101_000),
                },
            ]
        );
    }

    #[test]
    fn several_entries_each_with_several_items() {
        let msg = |id: &str| {
            format!(
                r#"{{"from":"14165550142","id":"{id}","timestamp":"1700000000","type":"text","text":{{"body":"{id}"}}}}"#
            )
        };
        let change = |ids: &[&str]| {
            let messages: Vec<String> = ids.iter().map(|id| msg(id)).collect();
            format!(
                r#"{{"field":"messages","value":{{"metadata":{{"phone_number_id":"{PNID}"}},"messages":[{}]}}}}"#,
                messages.join(",")
            )
        };
        let body = format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"changes":[{},{}]}},{{"changes":[{}]}}]}}"#,
            change(&["m1", "m2"]),
            change(&["m3"]),
            change(&["m4", "m5", "m6"])
        );
        let texts: Vec<String> = parse(&body)
            .into_iter()
            .map(|e| match e {
                InboundEvent::Message { content, .. } => content.text().to_owned(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(texts, ["m1", "m2", "m3", "m4", "m5", "m6"]);
    }

    #[test]
    fn button_without_payload_or_text_borrows_the_other() {
        let tap = |button: &str| {
            let body = wrap(
                "messages",
                &format!(
                    r#","messages":[{{"from":"14165550142","id":"wamid.T","timestamp":"1","type":"button","button":{button}}}]"#
                ),
            );
            match parse(&body).pop() {
                Some(InboundEvent::Message { content, .. }) => content,
                other => panic!("{other:?}"),
            }
        };
        let both = |s: &str| Content::Button {
            payload: s.into(),
            text: s.into(),
        };
        assert_eq!(tap(r#"{"text":"Unsubscribe"}"#), both("Unsubscribe"));
        assert_eq!(tap(r#"{"payload":"STOP_PROMO"}"#), both("STOP_PROMO"));
        assert_eq!(
            tap(r#"{"payload":"","text":"  "}"#),
            Content::Other("button".into())
        );
        assert_eq!(tap(r#"{}"#), Content::Other("button".into()));
        assert_eq!(tap(r#""flat""#), Content::Other("button".into()));
    }

    #[test]
    fn unusable_bodies_of_known_types_become_other() {
        let one = |m: &str| {
            let body = wrap(
                "messages",
                &format!(
                    r#","messages":[{{"from":"14165550142","id":"wamid.T","timestamp":"1",{m}}}]"#
                ),
            );
            match parse(&body).pop() {
                Some(InboundEvent::Message { content, .. }) => content,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(one(r#""type":"text""#), Content::Other("text".into()));
        assert_eq!(
            one(r#""type":"text","text":{"body":7}"#),
            Content::Other("text".into())
        );
        assert_eq!(
            one(r#""type":"text","text":{"body":""}"#),
            Content::Text(String::new())
        );
        assert_eq!(
            one(r#""type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{}}"#),
            Content::Other("interactive".into())
        );
        assert_eq!(
            one(
                r#""type":"interactive","interactive":{"type":"button_reply","button_reply":{"title":"no id"}}"#
            ),
            Content::Other("interactive".into())
        );
        assert_eq!(
            one(r#""type":"reaction""#),
            Content::Other("reaction".into())
        );
        assert_eq!(
            one(r#""type":"Sticker!""#),
            Content::Other("unknown".into())
        );
        assert_eq!(one(r#""type":7"#), Content::Other("unknown".into()));
        assert_eq!(one(r#""no":"type""#), Content::Other("unknown".into()));
        let long_kind = format!(r#""type":"{}""#, "a".repeat(33));
        assert_eq!(one(&long_kind), Content::Other("unknown".into()));
    }

    #[test]
    fn timestamps_accept_strings_and_integers_only() {
        let at = |ts: &str| {
            let body = wrap(
                "user_preferences",
                &format!(
                    r#","user_preferences":[{{"wa_id":"14165550142","value":"stop","timestamp":{ts}}}]"#
                ),
            );
            match parse(&body).pop() {
                Some(InboundEvent::UserPreference { at, .. }) => Some(at),
                None => None,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(at("1731705721"), Some(Millis(1_731_705_721_000)));
        assert_eq!(at(r#""1731705721""#), Some(Millis(1_731_705_721_000)));
        assert_eq!(at("0"), Some(Millis(0)));
        for bad in [
            "-1",
            r#""-1""#,
            r#""+1""#,
            r#"" 1""#,
            r#""""#,
            "1.5",
            "1e3",
            "null",
            "true",
            "[1]",
            r#""1731705721.0""#,
            "9223372036854775807",
            r#""9223372036854775807""#,
            r#""99999999999999999999999""#,
            "18446744073709551615",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }

    #[test]
    fn refuses_only_bodies_that_are_not_json_objects() {
        for bad in [
            &b""[..],
            b"   ",
            b"{",
            b"not json",
            b"{\"object\":\"whatsapp_business_account\",}",
            b"\xff\xfe{}",
            b"{\"object\":\"\xff\"}",
        ] {
            assert_eq!(parse_webhook(bad), Err(WebhookError::NotJson), "{bad:?}");
        }
        for not_object in [&b"[]"[..], b"null", b"\"x\"", b"42", b"true"] {
            assert_eq!(parse_webhook(not_object), Err(WebhookError::NotAnObject));
        }
        assert_eq!(
            WebhookError::NotAnObject.to_string(),
            "webhook body is not a JSON object"
        );
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(parse_webhook(deep.as_bytes()), Err(WebhookError::NotJson));
        let deep_inside = format!(
            r#"{{"object":"whatsapp_business_account","entry":{}{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert_eq!(
            parse_webhook(deep_inside.as_bytes()),
            Err(WebhookError::NotJson)
        );
    }

    #[test]
    fn other_objects_and_shapes_yield_nothing() {
        for body in [
            r#"{}"#,
            r#"{"object":"page","entry":[{"changes":[]}]}"#,
            r#"{"object":"WHATSAPP_BUSINESS_ACCOUNT","entry":[]}"#,
            r#"{"object":"whatsapp_business_account"}"#,
            r#"{"object":"whatsapp_business_account","entry":null}"#,
            r#"{"object":"whatsapp_business_account","entry":{"changes":[]}}"#,
            r#"{"object":"whatsapp_business_account","entry":[null,1,"x",[],{"changes":[null,{"value":[]}]}]}"#,
        ] {
            assert_eq!(parse(body), vec![], "{body}");
        }
    }

    #[test]
    fn phone_number_ids_must_be_digits() {
        let route = |pnid: &str| {
            let body = format!(
                r#"{{"object":"whatsapp_business_account","entry":[{{"changes":[{{"field":"messages","value":{{"metadata":{{"phone_number_id":{pnid}}},"errors":[{{"code":131000}}]}}}}]}}]}}"#
            );
            parse(&body).len()
        };
        assert_eq!(route(r#""106540352242922""#), 1);
        for bad in [
            r#""""#,
            r#""abc""#,
            r#""1 2""#,
            r#""../shop""#,
            r#""١٢٣""#,
            "106540352242922",
            "null",
        ] {
            assert_eq!(route(bad), 0, "{bad}");
        }
        assert_eq!(route(&format!(r#""{}""#, "1".repeat(32))), 1);
        assert_eq!(route(&format!(r#""{}""#, "1".repeat(33))), 0);
    }

    #[test]
    fn hostile_strings_are_bounded_or_refused() {
        let long_text = "é".repeat(10_000);
        // JSON escapes for NUL and BEL, which a profile name must not carry into the inbox.
        let name = format!("Eve\\u0000\\u0007{}", "x".repeat(500));
        let body = wrap(
            "messages",
            &format!(
                r#","contacts":[{{"profile":{{"name":"{name}"}},"wa_id":"14165550142"}}],
                "messages":[
                  {{"from":"14165550142","id":"wamid.1","timestamp":"1","type":"text","text":{{"body":"{long_text}"}},"context":{{"id":"has space"}}}},
                  {{"from":"+14165550142","id":"wamid.2","timestamp":"1","type":"text","text":{{"body":"plus"}}}},
                  {{"from":"14165550142","id":"{}","timestamp":"1","type":"text","text":{{"body":"long id"}}}},
                  {{"from":"14165550142","id":"wamid 3","timestamp":"1","type":"text","text":{{"body":"space"}}}},
                  {{"from":"14165550142","timestamp":"1","type":"text","text":{{"body":"no id"}}}},
                  {{"from":"14165550142","id":"wamid.4","timestamp":"1","type":"button","button":{{"payload":"{}","text":"ok"}}}}
                ],
                "statuses":[
                  {{"id":"wamid.S","status":"sent","timestamp":"1","biz_opaque_callback_data":"{}"}},
                  {{"id":"wamid.S","status":"SENT","timestamp":"1"}},
                  {{"id":"wamid.S","status":"read","timestamp":"1","errors":[{}]}}
                ]"#,
                "w".repeat(257),
                "p".repeat(257),
                "c".repeat(513),
                vec![r#"{"code":1}"#; 20].join(",")
            ),
        );
        let events = parse(&body);
        assert_eq!(events.len(), 4, "{events:#?}");
        let InboundEvent::Message {
            content: Content::Text(text),
            profile_name,
            context_wamid,
            ..
        } = &events[0]
        else {
            panic!("{:?}", events[0])
        };
        assert_eq!(text.chars().count(), MAX_TEXT_CHARS);
        let profile_name = profile_name.as_deref().unwrap();
        assert!(profile_name.starts_with("Eve xxx"));
        assert_eq!(profile_name.chars().count(), MAX_LABEL_CHARS);
        assert_eq!(context_wamid, &None);
        // The button's payload is too long, so its text stands in for it.
        let InboundEvent::Message { content, .. } = &events[1] else {
            panic!("{:?}", events[1])
        };
        assert_eq!(
            content,
            &Content::Button {
                payload: "ok".into(),
                text: "ok".into()
            }
        );
        assert!(matches!(
            &events[2],
            InboundEvent::Status { callback: None, .. }
        ));
        let InboundEvent::Status { error_codes, .. } = &events[3] else {
            panic!("{:?}", events[3])
        };
        assert_eq!(error_codes.len(), MAX_ERRORS_PER_STATUS);
    }

    #[test]
    fn profile_names_match_by_phone_not_position() {
        // Mexico: WhatsApp's wa_id keeps the old mobile `1`; the same person either way.
        let body = wrap(
            "messages",
            r#","contacts":[
                {"profile":{"name":"Other"},"wa_id":"14165550142"},
                {"profile":{"name":"Lupita"},"wa_id":"5215512345678"},
                {"profile":{},"wa_id":"447911123456"}],
               "messages":[
                {"from":"525512345678","id":"wamid.1","timestamp":"1","type":"text","text":{"body":"hola"}},
                {"from":"447911123456","id":"wamid.2","timestamp":"1","type":"text","text":{"body":"hi"}}]"#,
        );
        let names: Vec<Option<String>> = parse(&body)
            .into_iter()
            .map(|e| match e {
                InboundEvent::Message { profile_name, .. } => profile_name,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(names, [Some("Lupita".to_owned()), None]);
    }

    #[test]
    fn events_round_trip_through_serde() {
        let events = parse_webhook(include_bytes!(
            "../../../tests/fixtures/whatsapp/webhook-message-button.json"
        ))
        .unwrap();
        let json = serde_json::to_string(&events).unwrap();
        assert!(json.contains(r#""kind":"message""#), "{json}");
        let back: Vec<InboundEvent> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, events);
    }

    /// Every prefix of every fixture, and every fixture with one byte changed: no panic.
    #[test]
    fn damaged_fixtures_never_panic() {
        let fixtures: [&[u8]; 8] = [
            include_bytes!("../../../tests/fixtures/whatsapp/webhook-message-text.json"),
            include_bytes!("../../../tests/fixtures/whatsapp/webhook-message-button.json"),
            include_bytes!(
                "../../../tests/fixtures/whatsapp/webhook-message-interactive-button-reply.json"
            ),
            include_bytes!("../../../tests/fixtures/whatsapp/webhook-status-sent.json"),
            include_bytes!("../../../tests/fixtures/whatsapp/webhook-status-delivered.json"),
            include_bytes!("../../../tests/fixtures/whatsapp/webhook-status-read.json"),
            include_bytes!("../../../tests/fixtures/whatsapp/webhook-status-failed-131026.json"),
            include_bytes!("../../../tests/fixtures/whatsapp/webhook-user-preferences-stop.json"),
        ];
        for fixture in fixtures {
            assert_eq!(parse_webhook(fixture).map(|e| e.len()), Ok(1));
            for cut in 0..fixture.len() {
                let _ = parse_webhook(&fixture[..cut]);
            }
            for i in 0..fixture.len() {
                for b in [b'"', b'0', b'{', b']', b'x', 0xff] {
                    let mut damaged = fixture.to_vec();
                    damaged[i] = b;
                    let _ = parse_webhook(&damaged);
                }
            }
        }
    }
}
