//! A planned step of a journey: where it stands, and why it was skipped if it was.

use serde::{Deserialize, Serialize};

use crate::core::gate::Denial;
use crate::core::values::ids::{StepId, Wamid};
use crate::core::values::time::Millis;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRun {
    pub id: StepId,
    pub due_at: Millis,
    pub attempts: u32,
    /// Times a granted step was put back (quiet hours began, or its slot passed) and asked the
    /// gate again: part of each new attempt's number.
    #[serde(default)]
    pub gate_rounds: u32,
    /// Of those, the rounds because its slot had passed: bounded by `pacing::LATE_ROUNDS`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub late_rounds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_code: Option<String>,
    /// The link an image header shows, once chosen (kept for a retry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    #[serde(flatten)]
    pub state: StepState,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StepState {
    Pending,
    /// Asked the shop ledger for consent, caps and a pacing slot.
    Gating {
        since: Millis,
    },
    /// Creating the step's discount code at Shopify.
    Discounting {
        since: Millis,
        slot_at: Millis,
    },
    /// Looking up the top item's image for the step's image header.
    Imaging {
        since: Millis,
        slot_at: Millis,
    },
    /// Cleared by the ledger; waits for its pacing slot (`due_at`).
    Granted,
    /// Written down before the request leaves; resolved by `Event::Sent`.
    Attempting {
        since: Millis,
    },
    Sent {
        wamid: Wamid,
        at: Millis,
        #[serde(default)]
        delivered: bool,
        #[serde(default)]
        read: bool,
    },
    Failed {
        code: Option<i64>,
        at: Millis,
    },
    /// The request may have left but its outcome was lost: never repeated.
    Unknown {
        since: Millis,
    },
    Skipped {
        reason: SkipReason,
        at: Millis,
    },
    Cancelled {
        at: Millis,
    },
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl StepRun {
    /// Its slot passed before it could send: back to ask the gate for a fresh one, as a new
    /// attempt. Nothing was sent, so nothing can be repeated.
    pub fn put_back_late(&mut self) {
        self.state = StepState::Pending;
        self.gate_rounds += 1;
        self.late_rounds += 1;
    }
}

impl StepState {
    /// The state's name, as `GET /api/journeys` shows it.
    pub fn name(&self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Gating { .. } => "gating",
            StepState::Discounting { .. } => "discounting",
            StepState::Imaging { .. } => "imaging",
            StepState::Granted => "granted",
            StepState::Attempting { .. } => "attempting",
            StepState::Sent { .. } => "sent",
            StepState::Failed { .. } => "failed",
            StepState::Unknown { .. } => "unknown",
            StepState::Skipped { .. } => "skipped",
            StepState::Cancelled { .. } => "cancelled",
        }
    }

    /// Not yet resolved: still has work ahead of it.
    pub fn is_open(&self) -> bool {
        matches!(
            self,
            StepState::Pending
                | StepState::Gating { .. }
                | StepState::Discounting { .. }
                | StepState::Imaging { .. }
                | StepState::Granted
                | StepState::Attempting { .. }
        )
    }
}

/// Why a due step was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    ShopDisabled,
    WhatsappNotConnected,
    StepRemoved,
    NoPhone,
    /// Meta refuses marketing templates to this country (US numbers since April 2025).
    CountryBlocked,
    /// A later step was already due; one message instead of a burst.
    Superseded,
    /// The journey is older than `journey_ttl_days`.
    Expired,
    /// The cart's value is outside the step's `when` condition.
    ConditionNotMet,
    /// In the held-out control group.
    Holdout,
    NoConsent,
    OptedOut,
    /// The shopper reached `caps.max_messages_per_customer`.
    Capped,
    /// Meta limited marketing to this shopper (131049) less than 24 hours ago.
    MarketingLimited,
    /// The step needs a discount code and none could be created.
    DiscountUnavailable,
    /// The step's template is paused, rejected or no longer a marketing template.
    TemplateUnavailable,
    /// The step has an image header, and neither the product nor the playbook has an image.
    ImageUnavailable,
}

impl SkipReason {
    /// The reason's name, as the ledger stores it and the dashboard counts it.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::ShopDisabled => "shop_disabled",
            SkipReason::WhatsappNotConnected => "whatsapp_not_connected",
            SkipReason::StepRemoved => "step_removed",
            SkipReason::NoPhone => "no_phone",
            SkipReason::CountryBlocked => "country_blocked",
            SkipReason::Superseded => "superseded",
            SkipReason::Expired => "expired",
            SkipReason::ConditionNotMet => "condition_not_met",
            SkipReason::Holdout => "holdout",
            SkipReason::NoConsent => "no_consent",
            SkipReason::OptedOut => "opted_out",
            SkipReason::Capped => "capped",
            SkipReason::MarketingLimited => "marketing_limited",
            SkipReason::DiscountUnavailable => "discount_unavailable",
            SkipReason::TemplateUnavailable => "template_unavailable",
            SkipReason::ImageUnavailable => "image_unavailable",
        }
    }
}

impl From<Denial> for SkipReason {
    fn from(denial: Denial) -> Self {
        match denial {
            Denial::NotConnected => SkipReason::WhatsappNotConnected,
            Denial::NoConsent => SkipReason::NoConsent,
            Denial::OptedOut => SkipReason::OptedOut,
            Denial::Holdout => SkipReason::Holdout,
            Denial::Capped => SkipReason::Capped,
            Denial::MarketingLimited => SkipReason::MarketingLimited,
            Denial::TemplateUnavailable => SkipReason::TemplateUnavailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::journey::EndReason;

    /// The names the ledger stores are the names the wire carries.
    #[test]
    fn names_are_the_serialized_names() {
        use SkipReason::*;
        for reason in [
            ShopDisabled,
            WhatsappNotConnected,
            StepRemoved,
            NoPhone,
            CountryBlocked,
            Superseded,
            Expired,
            ConditionNotMet,
            Holdout,
            NoConsent,
            OptedOut,
            Capped,
            MarketingLimited,
            DiscountUnavailable,
            TemplateUnavailable,
            ImageUnavailable,
        ] {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.as_str());
        }
        for reason in [
            EndReason::Ordered,
            EndReason::Completed,
            EndReason::Deleted,
            EndReason::Finished,
            EndReason::OptedOut,
            EndReason::Replied,
            EndReason::NotInterested,
            EndReason::ShopGone,
        ] {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.as_str());
        }
        let at = Millis(1);
        for state in [
            StepState::Pending,
            StepState::Gating { since: at },
            StepState::Discounting {
                since: at,
                slot_at: at,
            },
            StepState::Imaging {
                since: at,
                slot_at: at,
            },
            StepState::Granted,
            StepState::Attempting { since: at },
            StepState::Sent {
                wamid: "wamid.1".into(),
                at,
                delivered: false,
                read: false,
            },
            StepState::Failed { code: None, at },
            StepState::Unknown { since: at },
            StepState::Skipped {
                reason: SkipReason::Capped,
                at,
            },
            StepState::Cancelled { at },
        ] {
            assert_eq!(serde_json::to_value(&state).unwrap()["state"], state.name());
        }
    }

    #[test]
    fn every_gate_denial_is_a_skip_reason_of_the_same_name() {
        for denial in [
            Denial::NoConsent,
            Denial::OptedOut,
            Denial::Holdout,
            Denial::Capped,
            Denial::MarketingLimited,
            Denial::TemplateUnavailable,
        ] {
            assert_eq!(
                serde_json::to_value(denial).unwrap(),
                SkipReason::from(denial).as_str()
            );
        }
    }
}
