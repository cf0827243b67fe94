//! Meta's webhook deliveries (`POST /webhooks/whatsapp`): never a panic, every kept string is
//! bounded as the module promises, and every event survives the storage round trip.
#![no_main]

use cartback::core::whatsapp::inbound::{parse_webhook, Content, InboundEvent, Preference};
use cartback_fuzz::{assert_e164, round_trip};
use libfuzzer_sys::fuzz_target;

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn assert_label(s: &str, max: usize) {
    assert!(!s.trim().is_empty() && chars(s) <= max, "{s:?}");
    assert!(!s.chars().any(char::is_control), "{s:?}");
}

fn assert_wamid(id: &str) {
    assert!((1..=256).contains(&id.len()), "{id:?}");
    assert!(id.bytes().all(|b| b.is_ascii_graphic()), "{id:?}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(events) = parse_webhook(data) else {
        return;
    };
    for event in &events {
        let pnid = event.phone_number_id();
        assert!((1..=32).contains(&pnid.len()) && pnid.bytes().all(|b| b.is_ascii_digit()));
        match event {
            InboundEvent::Message {
                from,
                wamid,
                at,
                profile_name,
                context_wamid,
                content,
                ..
            } => {
                assert_e164(from);
                assert_wamid(wamid.as_str());
                if let Some(c) = context_wamid {
                    assert_wamid(c.as_str());
                }
                assert!(at.0 >= 0);
                if let Some(name) = profile_name {
                    assert!(!name.is_empty() && chars(name) <= 128, "{name:?}");
                    assert!(!name.starts_with(' ') && !name.ends_with(' '), "{name:?}");
                }
                match content {
                    Content::Text(text) => assert!(chars(text) <= 4096),
                    Content::Button { payload, text } => {
                        assert_label(payload, 256);
                        assert_label(text, 256);
                    }
                    Content::InteractiveReply { id, title } => {
                        assert_label(id, 256);
                        if !title.is_empty() {
                            assert_label(title, 128);
                        }
                    }
                    Content::Other(kind) => {
                        assert!((1..=32).contains(&kind.len()));
                        assert!(kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
                    }
                }
                let _ = content.text();
            }
            InboundEvent::Status {
                wamid,
                at,
                recipient,
                callback,
                error_codes,
                pricing,
                ..
            } => {
                assert_wamid(wamid.as_str());
                assert!(at.0 >= 0);
                if let Some(r) = recipient {
                    assert_e164(r);
                }
                if let Some(cb) = callback {
                    assert!(!cb.is_empty() && chars(cb) <= 512);
                }
                assert!(error_codes.len() <= 8);
                if let Some(p) = pricing {
                    assert!((1..=40).contains(&p.category.len()));
                }
            }
            InboundEvent::UserPreference {
                phone,
                category,
                value,
                at,
                ..
            } => {
                assert_e164(phone);
                assert!(at.0 >= 0);
                if let Some(c) = category {
                    assert_label(c, 32);
                }
                if let Preference::Other(v) = value {
                    assert!(chars(v) <= 32);
                }
            }
            InboundEvent::AccountError { .. } => {}
        }
        round_trip(event);
    }
});
