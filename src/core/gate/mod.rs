//! The shop-wide gate every send passes right before it leaves: consent, suppression, frequency
//! caps and pacing, decided in one place (the shop's ledger) so two carts of the same shopper
//! due in the same second cannot both slip through.

pub mod caps;
pub mod consent;
pub mod holdout;
pub mod pacing;
pub mod quiet_hours;
pub mod zone_rules;

use crate::core::values::ids::{CheckoutToken, StepId};
use serde::{Deserialize, Serialize};

use crate::core::gate::pacing::Micros;
use crate::core::playbook::{Caps, ConsentMode};
use crate::core::values::time::Millis;
use consent::{ConsentRecord, ConsentRefusal};

/// What a cart asks the ledger before sending step `step_id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateRequest {
    pub checkout_token: CheckoutToken,
    pub step_id: StepId,
    /// The shopper accepted marketing at checkout (counts only in `checkout_marketing_consent`).
    pub checkout_consent: bool,
    /// In the control group: checked for eligibility like the others, then never sent.
    pub holdout: bool,
    /// Linked to a consent the checkout implies.
    pub cart_token: Option<String>,
    /// Which try of the step this is (0 first): a retry after a refusal is gated afresh.
    #[serde(default)]
    pub attempt: u32,
    /// The template and language the step will be sent with.
    #[serde(default)]
    pub template: Option<TemplateRef>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRef {
    pub name: String,
    pub language: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum GateVerdict {
    /// Send at `slot_at` (now, or later when the number's pace is taken).
    Granted {
        slot_at: Millis,
    },
    Denied {
        reason: Denial,
    },
}

/// Why the gate refused a send; the journey records it as the step's skip reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Denial {
    /// The shop has no WhatsApp number connected (any more): it uninstalled or disconnected.
    NotConnected,
    NoConsent,
    OptedOut,
    /// In the held-out control group.
    Holdout,
    /// The shopper reached `caps.max_messages_per_customer`.
    Capped,
    /// Meta limited marketing to this shopper (131049) less than 24 hours ago.
    MarketingLimited,
    /// The step's template is paused, rejected or no longer a marketing template.
    TemplateUnavailable,
}

/// What the ledger knows about the shopper and the number at the moment of asking.
pub struct Ledger<'a> {
    /// The shop's WhatsApp number is connected, as the ledger (the record's one writer) knows
    /// it now: a cart's copy of the record may be seconds old.
    pub connected: bool,
    pub consents: &'a [ConsentRecord],
    pub suppressed: bool,
    /// Meta limited marketing to this shopper (131049) until then.
    pub limited_until: Option<Millis>,
    /// This shopper's earlier sends, across all carts.
    pub sends: &'a [Millis],
    /// The pacing slot this send would go in: the one its step holds, or the first free one
    /// (`pacing`).
    pub slot: Micros,
}

pub struct Settings<'a> {
    pub mode: ConsentMode,
    pub caps: Option<&'a Caps>,
}

/// The ledger's decision and what it must write down with it.
#[derive(Debug, PartialEq)]
pub struct Decision {
    pub verdict: GateVerdict,
    /// The shopper passed consent and suppression: counted as eligible.
    pub eligible: bool,
    /// A consent the checkout implied, to append to the ledger.
    pub record: Option<ConsentRecord>,
    /// The send counts against the caps and takes this pacing slot.
    pub takes_slot: Option<Micros>,
}

pub fn decide(req: &GateRequest, ledger: &Ledger, settings: &Settings, now: Millis) -> Decision {
    let denied = |reason, eligible| Decision {
        verdict: GateVerdict::Denied { reason },
        eligible,
        record: None,
        takes_slot: None,
    };
    if !ledger.connected {
        return denied(Denial::NotConnected, false);
    }
    if ledger.suppressed {
        return denied(Denial::OptedOut, false);
    }
    let record = match consent::may_message(
        ledger.consents,
        settings.mode,
        req.checkout_consent,
        req.cart_token.as_deref(),
        now,
    ) {
        Ok(record) => record,
        Err(ConsentRefusal::OptedOut) => return denied(Denial::OptedOut, false),
        Err(ConsentRefusal::NoConsent) => return denied(Denial::NoConsent, false),
    };
    if req.holdout {
        return Decision {
            record,
            ..denied(Denial::Holdout, true)
        };
    }
    if ledger.limited_until.is_some_and(|until| now < until) {
        return Decision {
            record,
            ..denied(Denial::MarketingLimited, true)
        };
    }
    if let Some(c) = settings.caps {
        if caps::allows(ledger.sends, c, now).is_err() {
            return Decision {
                record,
                ..denied(Denial::Capped, true)
            };
        }
    }
    Decision {
        verdict: GateVerdict::Granted {
            slot_at: Millis(ledger.slot.div_euclid(1000)),
        },
        eligible: true,
        record,
        takes_slot: Some(ledger.slot),
    }
}

/// Withdraws a grant when the step's template cannot be sent now (`templates::sendable`): the
/// step is skipped rather than sent into an error. Consent and eligibility stand; no cap or
/// pacing slot is taken.
pub fn require_template(decision: Decision, sendable: bool) -> Decision {
    if sendable || !matches!(decision.verdict, GateVerdict::Granted { .. }) {
        return decision;
    }
    Decision {
        verdict: GateVerdict::Denied {
            reason: Denial::TemplateUnavailable,
        },
        takes_slot: None,
        ..decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_goes_once_the_number_is_disconnected_whatever_the_consent() {
        let req = GateRequest {
            checkout_token: CheckoutToken::new("c1"),
            step_id: StepId::new("reminder"),
            checkout_consent: true,
            holdout: false,
            cart_token: None,
            attempt: 0,
            template: None,
        };
        let ledger = |connected| Ledger {
            connected,
            consents: &[],
            suppressed: false,
            limited_until: None,
            sends: &[],
            slot: 0,
        };
        let settings = Settings {
            mode: ConsentMode::CheckoutMarketingConsent,
            caps: None,
        };
        let now = Millis(1_000_000);
        let granted = decide(&req, &ledger(true), &settings, now);
        assert!(matches!(granted.verdict, GateVerdict::Granted { .. }));
        let denied = decide(&req, &ledger(false), &settings, now);
        assert_eq!(
            denied.verdict,
            GateVerdict::Denied {
                reason: Denial::NotConnected
            }
        );
        assert_eq!((denied.eligible, denied.record), (false, None));
    }
}
