//! The consent ledger's model (docs/rules.md §3): append-only records of opt-ins and opt-outs per
//! phone, what they add up to, and whether a marketing message may go out under the
//! playbook's `consent_mode`. Also the rate limit of the storefront opt-in endpoint.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::core::playbook::ConsentMode;
use crate::core::values::time::Millis;
use crate::core::whatsapp::delivery::SHOPPER_STOPPED_MARKETING;

/// What the ledger records when a checkout's marketing consent stands in for a WhatsApp opt-in.
pub const CHECKOUT_CONSENT_WORDING: &str = "Accepted marketing (email or SMS) at checkout; the \
     merchant attests that its checkout consent wording covers WhatsApp messages \
     (consent_mode checkout_marketing_consent).";

const REFUSAL_WORDING: &str = "WhatsApp refused a message: the shopper has stopped marketing \
     messages from this business (error 131050)";
const SHOPIFY_CUSTOMER_WORDING: &str = "The shopper's Shopify customer record shows WhatsApp \
     marketing consent as subscribed";
const SHOPIFY_UNSUBSCRIBED_WORDING: &str = "The shopper's Shopify customer record shows \
     WhatsApp marketing consent as unsubscribed";
const REDACTION_WORDING: &str = "The shopper's data was erased at their request \
     (customers/redact); the number is kept only as a keyed hash so it is never messaged again";

/// Longest consent wording kept, in characters.
pub const MAX_WORDING_CHARS: usize = 1000;

/// Most distinct keys a [`RateCounts`] tracks in one window; see [`RateLimit::check`].
pub const MAX_RATE_KEYS: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentKind {
    OptIn,
    OptOut,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentSource {
    StorefrontWidget,
    WhatsappKeyword,
    CheckoutMarketingConsent,
    Import,
    /// Meta refused a message because the shopper stopped marketing messages (131050).
    WhatsappRefusal,
    /// `customers/redact` erased the shopper's records; this one stays so the number is
    /// never messaged again.
    Redaction,
    /// The Shopify customer's WhatsApp marketing consent (read by the reconciliation sweep):
    /// `SUBSCRIBED`, which like an import may predate an opt-out and cannot lift one, or
    /// `UNSUBSCRIBED`, an opt-out made at Shopify.
    ShopifyCustomer,
}

impl ConsentSource {
    /// Only the phone's owner can lift what came from the phone: a stop word, WhatsApp's own
    /// "stop marketing", a send refused because of it, and the suppression kept after an
    /// erasure. Anyone can type a number into a storefront.
    fn binds_the_phone(self) -> bool {
        matches!(
            self,
            ConsentSource::WhatsappKeyword
                | ConsentSource::WhatsappRefusal
                | ConsentSource::Redaction
        )
    }

    /// Records of this source are written to the Shopify customer (`shopify_sync`): not what
    /// came from there, not a checkout's email or SMS consent standing in under the merchant's
    /// attestation, and not the suppression a redaction leaves.
    fn told_to_shopify(self) -> bool {
        !matches!(
            self,
            ConsentSource::ShopifyCustomer
                | ConsentSource::CheckoutMarketingConsent
                | ConsentSource::Redaction
        )
    }

    /// The shopper personally asked for WhatsApp messages just now, which alone can lift an
    /// earlier opt-out. A checkout box ticked for email or SMS cannot, nor can an imported
    /// list, which may predate the opt-out.
    fn is_explicit(self) -> bool {
        matches!(
            self,
            ConsentSource::StorefrontWidget | ConsentSource::WhatsappKeyword
        )
    }
}

/// One line of the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub kind: ConsentKind,
    pub source: ConsentSource,
    /// The words the shopper saw (or sent, for a keyword), kept as evidence.
    pub wording: String,
    pub at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cart_token: Option<String>,
}

impl ConsentRecord {
    /// The opt-out a send refused with `code` implies, if any: with 131050 the shopper has
    /// stopped marketing messages in WhatsApp, and Meta tells us instead of them.
    pub fn implied_by_refusal(code: Option<i64>, at: Millis) -> Option<ConsentRecord> {
        (code == Some(SHOPPER_STOPPED_MARKETING)).then(|| ConsentRecord::from_refusal(at))
    }

    fn from_refusal(at: Millis) -> ConsentRecord {
        ConsentRecord {
            kind: ConsentKind::OptOut,
            source: ConsentSource::WhatsappRefusal,
            wording: REFUSAL_WORDING.to_string(),
            at,
            cart_token: None,
        }
    }

    /// What stays of a shopper's consent after `customers/redact`.
    pub fn after_redaction(at: Millis) -> ConsentRecord {
        ConsentRecord {
            kind: ConsentKind::OptOut,
            source: ConsentSource::Redaction,
            wording: REDACTION_WORDING.to_string(),
            at,
            cart_token: None,
        }
    }

    /// What the WhatsApp consent on the Shopify customer stands for, given `at`: an opt-in
    /// when subscribed, an opt-out when unsubscribed.
    pub fn from_shopify_customer(kind: ConsentKind, at: Millis) -> ConsentRecord {
        let wording = match kind {
            ConsentKind::OptIn => SHOPIFY_CUSTOMER_WORDING,
            ConsentKind::OptOut => SHOPIFY_UNSUBSCRIBED_WORDING,
        };
        ConsentRecord {
            kind,
            source: ConsentSource::ShopifyCustomer,
            wording: wording.to_string(),
            at,
            cart_token: None,
        }
    }

    /// A record the shopper made from their own phone: a keyword or WhatsApp's own menu.
    pub fn from_whatsapp(kind: ConsentKind, wording: &str, at: Millis) -> ConsentRecord {
        ConsentRecord {
            kind,
            source: ConsentSource::WhatsappKeyword,
            wording: wording.to_string(),
            at,
            cart_token: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    OptedIn,
    OptedOut,
    None,
}

/// What a phone's records add up to. The latest record wins, except that an opt-out is only
/// lifted by an explicit opt-in (storefront widget, WhatsApp START) strictly later than it,
/// and an opt-out that came from the phone only by an opt-in from the phone (START, or the
/// confirmation the storefront widget asks for): a storefront opt-in after it is a request
/// that changes nothing. Records may come in any order; an opt-in and an opt-out at the same
/// instant is an opt-out.
pub fn status(records: &[ConsentRecord]) -> ConsentStatus {
    status_of(records.iter())
}

fn latest<'a>(
    records: impl Iterator<Item = &'a ConsentRecord>,
    kind: ConsentKind,
    from_phone: bool,
) -> Option<Millis> {
    records
        .filter(|r| r.kind == kind && (!from_phone || r.source.binds_the_phone()))
        .map(|r| r.at)
        .max()
}

fn status_of<'a>(mut records: impl Iterator<Item = &'a ConsentRecord> + Clone) -> ConsentStatus {
    let last_opt_out = latest(records.clone(), ConsentKind::OptOut, false);
    let phone_opt_out = latest(records.clone(), ConsentKind::OptOut, true);
    let phone_opt_in = latest(records.clone(), ConsentKind::OptIn, true);
    // An opt-out from the phone that no later opt-in from the phone has lifted.
    let phone_bound = phone_opt_out.is_some_and(|out| phone_opt_in.is_none_or(|i| i <= out));
    let opted_in = records.any(|r| {
        r.kind == ConsentKind::OptIn
            && last_opt_out.is_none_or(|out| r.at > out && r.source.is_explicit())
            && (!phone_bound || r.source.binds_the_phone())
    });
    if opted_in {
        ConsentStatus::OptedIn
    } else if last_opt_out.is_some() {
        ConsentStatus::OptedOut
    } else {
        ConsentStatus::None
    }
}

/// Whether the shopper behind these records had their data erased (`customers/redact`) and has
/// not opted back in from the phone since: Shopify may still list their old checkouts, and the
/// reconciliation sweep must not bring one back into a journey (and personal data back into
/// storage).
pub fn erased(records: &[ConsentRecord]) -> bool {
    records.iter().any(|r| r.source == ConsentSource::Redaction)
        && status(records) == ConsentStatus::OptedOut
}

/// Whether the WhatsApp consent on the Shopify customer (`kind`, given `at`) is worth recording
/// for a phone with these records; the sweep reads it again every run, so each is added once.
///
/// - Subscribed: only when the records say nothing yet. One already opted in needs no second
///   record, and an opt-out is not lifted by it (it may be older).
/// - Unsubscribed: when the phone is not opted out already and the unsubscribe is at least
///   [`SHOPIFY_DATE_MARGIN_MS`] later than every record this ledger told Shopify: the shopper,
///   or the merchant for them, withdrew there after it. One dated no later is what this ledger
///   wrote there itself (its writes carry their record's date, which Shopify may round to the
///   second) or was answered since by an opt-in here. Records never told to Shopify (a
///   checkout's consent counted at a send, say) do not answer it, however late.
pub fn takes_shopify_consent(records: &[ConsentRecord], kind: ConsentKind, at: Millis) -> bool {
    match kind {
        ConsentKind::OptIn => status(records) == ConsentStatus::None,
        ConsentKind::OptOut => {
            status(records) != ConsentStatus::OptedOut
                && records
                    .iter()
                    .filter(|r| r.source.told_to_shopify())
                    .all(|r| r.at.0 + SHOPIFY_DATE_MARGIN_MS <= at.0)
        }
    }
}

/// How much later than this ledger's last word to Shopify an unsubscribe read there must be
/// to be the shopper's own: the dates this ledger writes may come back rounded up to the second.
pub const SHOPIFY_DATE_MARGIN_MS: i64 = 1_000;

/// What Shopify's customer record must be told after a record moved a phone's consent from
/// `before` to `after` (docs/rules.md §3): a change to opted in or out, made here. Not what
/// came from Shopify, not a checkout's email or SMS consent standing in under the merchant's
/// attestation, and not the suppression a redaction leaves.
pub fn shopify_sync(
    before: ConsentStatus,
    after: ConsentStatus,
    record: &ConsentRecord,
) -> Option<ShopifyConsent> {
    if !record.source.told_to_shopify() || before == after {
        return None;
    }
    match after {
        ConsentStatus::OptedIn => Some(ShopifyConsent::Subscribed {
            confirmed: record.source.binds_the_phone(),
        }),
        ConsentStatus::OptedOut => Some(ShopifyConsent::Unsubscribed),
        ConsentStatus::None => None,
    }
}

/// A WhatsApp marketing consent as Shopify's customer record keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShopifyConsent {
    /// `confirmed`: the shopper confirmed from the phone itself (a double opt-in).
    Subscribed {
        confirmed: bool,
    },
    Unsubscribed,
}

/// Why a marketing message may not go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentRefusal {
    /// No consent the playbook's mode accepts.
    NoConsent,
    /// The shopper withdrew consent.
    OptedOut,
}

/// Whether the phone whose ledger is `records` may get marketing now, under `mode`:
///
/// - `whatsapp_opt_in`: only an opt-in recorded for WhatsApp counts; opt-ins recorded earlier
///   from checkout consent (while the shop used the other mode) do not.
/// - `checkout_marketing_consent`: a recorded opt-in, or else the checkout's marketing consent
///   (`checkout_consent`: `buyer_accepts_marketing` or SMS consent), which is then returned as
///   a record the caller must append before sending.
///
/// An opt-out always refuses; checkout consent never overrides it.
pub fn may_message(
    records: &[ConsentRecord],
    mode: ConsentMode,
    checkout_consent: bool,
    cart_token: Option<&str>,
    now: Millis,
) -> Result<Option<ConsentRecord>, ConsentRefusal> {
    let accepts_checkout = mode == ConsentMode::CheckoutMarketingConsent;
    let counted = records.iter().filter(|r| {
        accepts_checkout
            || r.kind == ConsentKind::OptOut
            || r.source != ConsentSource::CheckoutMarketingConsent
    });
    match status_of(counted) {
        ConsentStatus::OptedIn => Ok(None),
        ConsentStatus::OptedOut => Err(ConsentRefusal::OptedOut),
        ConsentStatus::None if accepts_checkout && checkout_consent => Ok(Some(ConsentRecord {
            kind: ConsentKind::OptIn,
            source: ConsentSource::CheckoutMarketingConsent,
            wording: CHECKOUT_CONSENT_WORDING.to_owned(),
            at: now,
            cart_token: cart_token.map(str::to_owned),
        })),
        ConsentStatus::None => Err(ConsentRefusal::NoConsent),
    }
}

/// Why a consent wording was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WordingError {
    Empty,
    TooLong,
}

impl fmt::Display for WordingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WordingError::Empty => f.write_str("consent wording is empty"),
            WordingError::TooLong => write!(
                f,
                "consent wording is longer than {MAX_WORDING_CHARS} characters"
            ),
        }
    }
}

impl std::error::Error for WordingError {}

/// The wording as the ledger keeps it: trimmed, non-empty, at most [`MAX_WORDING_CHARS`]
/// characters. Nothing else is changed: it is evidence of what the shopper saw.
pub fn validate_wording(raw: &str) -> Result<String, WordingError> {
    let wording = raw.trim();
    if wording.is_empty() {
        Err(WordingError::Empty)
    } else if wording.chars().nth(MAX_WORDING_CHARS).is_some() {
        Err(WordingError::TooLong)
    } else {
        Ok(wording.to_owned())
    }
}

/// A fixed-window rate limit: at most `limit` requests per key in each window of `window_ms`
/// aligned on the epoch. Simple and small enough to persist whole; a burst straddling a window
/// edge may reach twice the limit, which is fine for slowing down abuse of the opt-in form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u32,
    pub window_ms: i64,
}

/// The counts of the current window, which the Durable Object stores between requests.
/// Keys should be opaque (a salted phone hash, an IP): the ledger keeps no plaintext phones.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateCounts {
    window: Option<i64>,
    counts: BTreeMap<String, u32>,
}

impl RateLimit {
    /// Counts a request for `key` at `now` and says whether it may proceed. A new window
    /// forgets every count. While [`MAX_RATE_KEYS`] keys are already counted in this window a
    /// new key is refused, so a flood of distinct keys cannot grow the stored state unbounded.
    pub fn check(&self, counts: &mut RateCounts, key: &str, now: Millis) -> bool {
        let window = now.0.div_euclid(self.window_ms.max(1));
        // A clock stepping back stays in the newer window instead of reopening an older one.
        if counts.window.is_none_or(|current| window > current) {
            counts.window = Some(window);
            counts.counts.clear();
        }
        let count = counts.counts.get(key).copied().unwrap_or(0);
        if count >= self.limit || (count == 0 && counts.counts.len() >= MAX_RATE_KEYS) {
            return false;
        }
        counts.counts.insert(key.to_owned(), count + 1);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Millis = Millis(1_780_000_000_000);

    fn record(kind: ConsentKind, source: ConsentSource, at: i64) -> ConsentRecord {
        ConsentRecord {
            kind,
            source,
            wording: "Send me WhatsApp reminders about my cart".into(),
            at: T.plus_seconds(at),
            cart_token: None,
        }
    }

    use ConsentKind::{OptIn, OptOut};
    use ConsentSource::{
        CheckoutMarketingConsent, Import, Redaction, ShopifyCustomer, StorefrontWidget,
        WhatsappKeyword, WhatsappRefusal,
    };

    #[test]
    fn status_follows_the_latest_record() {
        assert_eq!(status(&[]), ConsentStatus::None);
        let widget_in = record(OptIn, StorefrontWidget, 0);
        let stop = record(OptOut, WhatsappKeyword, 10);
        let start = record(OptIn, WhatsappKeyword, 20);
        assert_eq!(
            status(std::slice::from_ref(&widget_in)),
            ConsentStatus::OptedIn
        );
        assert_eq!(
            status(&[widget_in.clone(), stop.clone()]),
            ConsentStatus::OptedOut
        );
        assert_eq!(
            status(&[widget_in.clone(), stop.clone(), start.clone()]),
            ConsentStatus::OptedIn
        );
        // Order in the slice does not matter, only the instants.
        assert_eq!(
            status(&[start.clone(), stop.clone(), widget_in]),
            ConsentStatus::OptedIn
        );
        let stop_again = record(OptOut, Import, 30);
        assert_eq!(status(&[stop, start, stop_again]), ConsentStatus::OptedOut);
        assert_eq!(
            status(&[record(OptIn, CheckoutMarketingConsent, 0)]),
            ConsentStatus::OptedIn
        );
        assert_eq!(
            status(&[record(OptOut, Import, 0)]),
            ConsentStatus::OptedOut
        );
    }

    #[test]
    fn only_an_explicit_later_opt_in_lifts_an_opt_out() {
        let stop = record(OptOut, Import, 10);
        for source in [CheckoutMarketingConsent, Import] {
            assert_eq!(
                status(&[stop.clone(), record(OptIn, source, 20)]),
                ConsentStatus::OptedOut,
                "{source:?}"
            );
        }
        for source in [StorefrontWidget, WhatsappKeyword] {
            assert_eq!(
                status(&[stop.clone(), record(OptIn, source, 20)]),
                ConsentStatus::OptedIn,
                "{source:?}"
            );
            assert_eq!(
                status(&[stop.clone(), record(OptIn, source, 10)]),
                ConsentStatus::OptedOut,
                "a tie is an opt-out"
            );
        }
    }

    #[test]
    fn an_opt_out_from_the_phone_is_lifted_only_from_the_phone() {
        for stop in [
            record(OptOut, WhatsappKeyword, 10),
            record(OptOut, WhatsappRefusal, 10),
            record(OptOut, Redaction, 10),
        ] {
            // Anyone can type a number into a storefront: a request, not a lift.
            for source in [StorefrontWidget, CheckoutMarketingConsent, Import] {
                assert_eq!(
                    status(&[stop.clone(), record(OptIn, source, 20)]),
                    ConsentStatus::OptedOut,
                    "{:?} then {source:?}",
                    stop.source
                );
            }
            let start = record(OptIn, WhatsappKeyword, 30);
            assert_eq!(
                status(&[stop.clone(), start.clone()]),
                ConsentStatus::OptedIn
            );
            // Once the phone has lifted it, a later opt-out and storefront opt-in behave as
            // any others.
            let later = [
                stop.clone(),
                start,
                record(OptOut, Import, 40),
                record(OptIn, StorefrontWidget, 50),
            ];
            assert_eq!(status(&later), ConsentStatus::OptedIn);
        }
        assert_eq!(
            ConsentRecord::implied_by_refusal(Some(131050), T).map(|r| r.source),
            Some(ConsentSource::WhatsappRefusal)
        );
        assert_eq!(ConsentRecord::implied_by_refusal(Some(131026), T), None);
        assert_eq!(ConsentRecord::implied_by_refusal(None, T), None);
        assert_eq!(ConsentRecord::after_redaction(T).kind, OptOut);
    }

    #[test]
    fn whatsapp_opt_in_mode_needs_a_whatsapp_opt_in() {
        let mode = ConsentMode::WhatsappOptIn;
        let may = |records: &[ConsentRecord], checkout: bool| {
            may_message(records, mode, checkout, Some("cart1"), T)
        };
        assert_eq!(may(&[], true), Err(ConsentRefusal::NoConsent));
        assert_eq!(may(&[record(OptIn, StorefrontWidget, 0)], false), Ok(None));
        assert_eq!(may(&[record(OptIn, Import, 0)], false), Ok(None));
        assert_eq!(
            may(&[record(OptIn, CheckoutMarketingConsent, 0)], true),
            Err(ConsentRefusal::NoConsent),
            "recorded under the other mode"
        );
        assert_eq!(
            may(
                &[
                    record(OptIn, CheckoutMarketingConsent, 0),
                    record(OptOut, CheckoutMarketingConsent, 5)
                ],
                true
            ),
            Err(ConsentRefusal::OptedOut)
        );
        assert_eq!(
            may(
                &[
                    record(OptIn, WhatsappKeyword, 0),
                    record(OptOut, WhatsappKeyword, 5)
                ],
                true
            ),
            Err(ConsentRefusal::OptedOut)
        );
    }

    #[test]
    fn checkout_mode_records_the_checkout_consent() {
        let mode = ConsentMode::CheckoutMarketingConsent;
        let appended = may_message(&[], mode, true, Some("cart1"), T)
            .unwrap()
            .unwrap();
        assert_eq!(appended.kind, OptIn);
        assert_eq!(appended.source, CheckoutMarketingConsent);
        assert_eq!(appended.wording, CHECKOUT_CONSENT_WORDING);
        assert_eq!(appended.at, T);
        assert_eq!(appended.cart_token.as_deref(), Some("cart1"));
        // Once recorded it counts by itself; nothing more is appended.
        assert_eq!(
            may_message(std::slice::from_ref(&appended), mode, false, None, T),
            Ok(None)
        );
        assert_eq!(
            may_message(&[], mode, false, None, T),
            Err(ConsentRefusal::NoConsent)
        );
        assert_eq!(
            may_message(&[record(OptIn, WhatsappKeyword, 0)], mode, false, None, T),
            Ok(None)
        );
        // Checkout consent never overrides a withdrawal, not even a later one.
        let stop = record(OptOut, WhatsappKeyword, -10);
        assert_eq!(
            may_message(std::slice::from_ref(&stop), mode, true, Some("cart2"), T),
            Err(ConsentRefusal::OptedOut)
        );
        assert_eq!(
            may_message(&[stop, appended], mode, true, None, T),
            Err(ConsentRefusal::OptedOut)
        );
    }

    #[test]
    fn records_serialize_as_the_api_shows_them() {
        let json = serde_json::to_value(record(OptOut, WhatsappKeyword, 0)).unwrap();
        assert_eq!(json["kind"], "opt_out");
        assert_eq!(json["source"], "whatsapp_keyword");
        assert_eq!(json["at"], T.0);
        assert!(json.get("cart_token").is_none());
        let back: ConsentRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, record(OptOut, WhatsappKeyword, 0));
        for (status, name) in [
            (ConsentStatus::OptedIn, "\"opted_in\""),
            (ConsentStatus::OptedOut, "\"opted_out\""),
            (ConsentStatus::None, "\"none\""),
        ] {
            assert_eq!(serde_json::to_string(&status).unwrap(), name);
        }
        assert_eq!(
            serde_json::to_string(&CheckoutMarketingConsent).unwrap(),
            "\"checkout_marketing_consent\""
        );
        assert_eq!(
            serde_json::to_string(&ConsentRefusal::NoConsent).unwrap(),
            "\"no_consent\""
        );
    }

    #[test]
    fn wording() {
        assert_eq!(
            validate_wording("  Text me on WhatsApp \n").as_deref(),
            Ok("Text me on WhatsApp")
        );
        assert_eq!(validate_wording(""), Err(WordingError::Empty));
        assert_eq!(validate_wording(" \t\n\u{a0}"), Err(WordingError::Empty));
        let longest = "é".repeat(MAX_WORDING_CHARS);
        assert_eq!(validate_wording(&longest), Ok(longest.clone()));
        assert_eq!(
            validate_wording(&format!("  {longest}  ")),
            Ok(longest.clone())
        );
        assert_eq!(
            validate_wording(&format!("{longest}x")),
            Err(WordingError::TooLong)
        );
        assert_eq!(
            WordingError::TooLong.to_string(),
            "consent wording is longer than 1000 characters"
        );
    }

    #[test]
    fn rate_limit_counts_per_key_and_window() {
        let limit = RateLimit {
            limit: 3,
            window_ms: 60_000,
        };
        let mut counts = RateCounts::default();
        let start = Millis(1_780_000_020_000); // a whole number of minutes
        for _ in 0..3 {
            assert!(limit.check(&mut counts, "ip:a", start));
        }
        assert!(!limit.check(&mut counts, "ip:a", start.plus_millis(59_999)));
        assert!(limit.check(&mut counts, "ip:b", start.plus_millis(59_999)));
        // The next window starts afresh.
        assert!(limit.check(&mut counts, "ip:a", start.plus_millis(60_000)));
        // A clock stepping back does not reopen the old window.
        assert!(limit.check(&mut counts, "ip:a", start));
        assert!(limit.check(&mut counts, "ip:a", start));
        assert!(!limit.check(&mut counts, "ip:a", start));
        // The counts survive a round trip through storage.
        let stored: RateCounts =
            serde_json::from_str(&serde_json::to_string(&counts).unwrap()).unwrap();
        assert_eq!(stored, counts);
        assert!(!limit.check(&mut stored.clone(), "ip:a", start.plus_millis(60_000)));
    }

    #[test]
    fn rate_limit_edges() {
        let mut counts = RateCounts::default();
        let never = RateLimit {
            limit: 0,
            window_ms: 1000,
        };
        assert!(!never.check(&mut counts, "k", T));
        let odd = RateLimit {
            limit: 1,
            window_ms: 0,
        };
        assert!(odd.check(&mut counts, "k", Millis(i64::MIN)));
        assert!(odd.check(&mut counts, "k", Millis(i64::MAX)));
        assert!(!odd.check(&mut counts, "k", Millis(i64::MAX)));
        let negative = RateLimit {
            limit: 1,
            window_ms: -5,
        };
        assert!(!negative.check(&mut counts, "k", Millis(i64::MAX)));
    }

    #[test]
    fn rate_limit_state_is_bounded() {
        let limit = RateLimit {
            limit: 5,
            window_ms: 60_000,
        };
        let mut counts = RateCounts::default();
        for i in 0..MAX_RATE_KEYS {
            assert!(limit.check(&mut counts, &format!("k{i}"), T));
        }
        assert!(!limit.check(&mut counts, "newcomer", T));
        assert!(limit.check(&mut counts, "k0", T), "known keys still count");
        assert!(limit.check(&mut counts, "newcomer", T.plus_millis(60_000)));
        assert_eq!(counts.counts.len(), 1);
    }

    #[test]
    fn a_shopify_consent_counts_under_whatsapp_opt_in_but_lifts_no_opt_out() {
        let shopify = record(OptIn, ShopifyCustomer, 10);
        assert_eq!(
            may_message(
                std::slice::from_ref(&shopify),
                ConsentMode::WhatsappOptIn,
                false,
                None,
                T
            ),
            Ok(None)
        );
        let stopped = [record(OptOut, WhatsappKeyword, 5), shopify.clone()];
        assert_eq!(status(&stopped), ConsentStatus::OptedOut);
        let takes = |records: &[ConsentRecord]| takes_shopify_consent(records, OptIn, T);
        assert!(takes(&[]));
        assert!(!takes(&[record(OptOut, Import, 1)]));
        assert!(!takes(&[shopify]));
    }

    #[test]
    fn an_unsubscribe_at_shopify_after_every_record_is_an_opt_out() {
        let widget = record(OptIn, StorefrontWidget, 10);
        let at = |seconds| T.plus_seconds(seconds);
        // Later than the opt-in: recorded, and it refuses whatever the checkout consented to.
        assert!(takes_shopify_consent(
            std::slice::from_ref(&widget),
            OptOut,
            at(11)
        ));
        let out = ConsentRecord::from_shopify_customer(OptOut, at(11));
        let both = [widget.clone(), out.clone()];
        assert_eq!(status(&both), ConsentStatus::OptedOut);
        for mode in [
            ConsentMode::WhatsappOptIn,
            ConsentMode::CheckoutMarketingConsent,
        ] {
            assert_eq!(
                may_message(&both, mode, true, None, at(20)),
                Err(ConsentRefusal::OptedOut)
            );
        }
        // With no record at all, it still holds checkout consent back.
        assert!(takes_shopify_consent(&[], OptOut, at(11)));
        assert_eq!(
            may_message(
                std::slice::from_ref(&out),
                ConsentMode::CheckoutMarketingConsent,
                true,
                None,
                at(20)
            ),
            Err(ConsentRefusal::OptedOut)
        );
        // Once only, and never an echo of this ledger's own write (its date, perhaps rounded
        // up to the second) or one an opt-in here answered.
        assert!(!takes_shopify_consent(&both, OptOut, at(12)));
        let echo = widget.at.plus_millis(SHOPIFY_DATE_MARGIN_MS - 1);
        for answered in [echo, widget.at, at(9)] {
            let records = std::slice::from_ref(&widget);
            assert!(!takes_shopify_consent(records, OptOut, answered));
        }
        // A checkout's consent counted at a send after it was never Shopify's to see: it
        // answers nothing.
        let counted = [widget.clone(), record(OptIn, CheckoutMarketingConsent, 20)];
        assert!(takes_shopify_consent(&counted, OptOut, at(11)));
        // Lifted as any opt-out not from the phone: by an explicit opt-in after it (the
        // storefront widget or START), not by a checkout's consent or Shopify's own.
        for source in [StorefrontWidget, WhatsappKeyword] {
            let again = record(OptIn, source, 12);
            let records = [widget.clone(), out.clone(), again];
            assert_eq!(status(&records), ConsentStatus::OptedIn, "{source:?}");
        }
        for source in [CheckoutMarketingConsent, ShopifyCustomer, Import] {
            let later = record(OptIn, source, 12);
            let records = [widget.clone(), out.clone(), later];
            assert_eq!(status(&records), ConsentStatus::OptedOut, "{source:?}");
        }
        // Not told back to Shopify, where it came from.
        assert_eq!(
            shopify_sync(ConsentStatus::OptedIn, ConsentStatus::OptedOut, &out),
            None
        );
    }

    #[test]
    fn changes_made_here_are_told_to_shopify_and_nothing_else() {
        use ConsentStatus::{None as Nothing, OptedIn, OptedOut};
        let stop = record(OptOut, WhatsappKeyword, 1);
        assert_eq!(
            shopify_sync(OptedIn, OptedOut, &stop),
            Some(ShopifyConsent::Unsubscribed)
        );
        assert_eq!(
            shopify_sync(Nothing, OptedOut, &stop),
            Some(ShopifyConsent::Unsubscribed)
        );
        assert_eq!(shopify_sync(OptedOut, OptedOut, &stop), None, "no change");
        assert_eq!(
            shopify_sync(Nothing, OptedIn, &record(OptIn, StorefrontWidget, 1)),
            Some(ShopifyConsent::Subscribed { confirmed: false })
        );
        assert_eq!(
            shopify_sync(OptedOut, OptedIn, &record(OptIn, WhatsappKeyword, 1)),
            Some(ShopifyConsent::Subscribed { confirmed: true })
        );
        for source in [ShopifyCustomer, CheckoutMarketingConsent, Redaction] {
            let kind = if source == Redaction { OptOut } else { OptIn };
            let after = if kind == OptIn { OptedIn } else { OptedOut };
            assert_eq!(shopify_sync(Nothing, after, &record(kind, source, 1)), None);
        }
    }

    #[test]
    fn an_erased_shopper_stays_erased_until_the_phone_opts_back_in() {
        let erased_once = [
            record(OptIn, StorefrontWidget, 1),
            record(OptOut, Redaction, 2),
        ];
        assert!(erased(&erased_once));
        let back = [erased_once[1].clone(), record(OptIn, WhatsappKeyword, 3)];
        assert!(!erased(&back));
        assert!(!erased(&[record(OptOut, WhatsappKeyword, 1)]));
    }
}
