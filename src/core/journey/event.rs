//! What a journey is told (events), what it asks the shell to do (effects), and what it
//! reports for the merchant's metrics (facts).

use serde::{Deserialize, Serialize};

use super::SkipReason;
use crate::core::gate::zone_rules::ZoneRules;
use crate::core::gate::GateRequest;
use crate::core::gate::GateVerdict;
use crate::core::optimizer::Learning;
use crate::core::playbook::Playbook;
use crate::core::shopify::payloads::{Checkout, Order};
use crate::core::values::ids::{CheckoutToken, StepId, Wamid};
use crate::core::values::money::Money;
use crate::core::values::phone::Phone;
use crate::core::values::time::Millis;
use crate::core::whatsapp::delivery::SendOutcome;
use crate::core::whatsapp::inbound::DeliveryStatus;
use crate::core::whatsapp::message::TemplateMessage;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    Active,
    Ended { reason: EndReason, at: Millis },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// An order was placed for this checkout.
    Ordered,
    /// Shopify reported the checkout completed.
    Completed,
    /// Shopify deleted the checkout.
    Deleted,
    /// Every step has run.
    Finished,
    /// The shopper opted out of messages.
    OptedOut,
    /// The shopper replied and the playbook stops on replies.
    Replied,
    /// The shopper tapped "Not interested".
    NotInterested,
    /// The app was uninstalled or the shop's data erased.
    ShopGone,
}

impl EndReason {
    /// The reason's name, as the ledger stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Ordered => "ordered",
            EndReason::Completed => "completed",
            EndReason::Deleted => "deleted",
            EndReason::Finished => "finished",
            EndReason::OptedOut => "opted_out",
            EndReason::Replied => "replied",
            EndReason::NotInterested => "not_interested",
            EndReason::ShopGone => "shop_gone",
        }
    }
}

/// A delivery status Meta reported for a sent message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Delivery {
    Delivered,
    Read,
    Failed { code: Option<i64> },
}

impl Delivery {
    /// What a status webhook tells the journey; `sent` (Meta took it) tells it nothing new.
    pub fn of_status(status: DeliveryStatus, error_codes: &[i64]) -> Option<Delivery> {
        match status {
            DeliveryStatus::Sent => None,
            DeliveryStatus::Delivered => Some(Delivery::Delivered),
            DeliveryStatus::Read => Some(Delivery::Read),
            DeliveryStatus::Failed => Some(Delivery::Failed {
                code: error_codes.first().copied(),
            }),
        }
    }
}

/// The checkout named in the callback data a journey sends with its messages
/// (`cb1;checkout={token};step={step_id}`): how a status finds its cart before the ledger knows
/// the message.
pub fn checkout_of_callback(callback: Option<&str>) -> Option<CheckoutToken> {
    let mut parts = callback?.split(';');
    (parts.next()? == "cb1").then_some(())?;
    parts
        .find_map(|p| p.strip_prefix("checkout="))
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(CheckoutToken::from)
}

/// What the shopper did in the conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShopperSignal {
    OptedOut,
    Replied,
    NotInterested,
    Clicked,
}

/// What the journey is told about. Events are applied in any order and any number of times.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Checkout {
        checkout: Box<Checkout>,
        event_id: Option<String>,
    },
    Order(Order),
    CheckoutDeleted,
    ShopGone,
    Timeout,
    Gated {
        step_id: StepId,
        verdict: GateVerdict,
    },
    Discount {
        step_id: StepId,
        code: Option<String>,
    },
    /// The top item's image as Shopify (or the ledger's copy) has it; `None` when it has none
    /// or could not be asked.
    Image {
        step_id: StepId,
        url: Option<String>,
    },
    Sent {
        step_id: StepId,
        outcome: SendOutcome,
    },
    Status {
        wamid: Wamid,
        delivery: Delivery,
    },
    Shopper(ShopperSignal),
}

/// The shop as the journey needs to see it at decision time.
#[derive(Clone, Copy, Debug)]
pub struct ShopContext<'a> {
    pub name: &'a str,
    pub whatsapp_connected: bool,
    /// Meta refused the shop's token; nothing is sent until the merchant reconnects.
    pub sending_paused: bool,
    /// The shop's IANA time zone, for quiet hours where the shopper's is ambiguous.
    pub timezone: Option<&'a str>,
    pub playbook: &'a Playbook,
    /// What the optimizer has learned, read when a journey begins with `optimize` enabled
    /// (`None`: nothing yet, every option is as likely).
    pub learning: Option<&'a Learning>,
    /// The time-zone database, for the shopper's quiet hours.
    pub zones: &'a dyn ZoneRules,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Ask the shop ledger; report its answer as `Event::Gated`.
    Gate { request: GateRequest, phone: Phone },
    /// Create this code at Shopify; report the result as `Event::Discount`.
    CreateDiscount {
        step_id: StepId,
        code: String,
        percent: u8,
        ends_at: Millis,
    },
    /// Find this variant's image (the ledger's copy, else Shopify); report it as `Event::Image`.
    LookupImage { step_id: StepId, variant_id: String },
    /// Send this template; report the outcome back as `Event::Sent`.
    Send {
        step_id: StepId,
        message: Box<TemplateMessage>,
    },
    /// A fact for the merchant's metrics and the logs.
    Record(Fact),
    /// The journey is over and its retention has passed: erase it whole.
    Forget,
    /// The journey ended (and, after its last send, Meta said it was delivered or a day
    /// passed): erase the cart's storage whole now and keep only what
    /// [`Cart::scrub`](super::Cart::scrub) leaves, which holds no personal data (enough to
    /// credit a later order, answer the recovery link and ignore repeated webhooks).
    Scrub,
    /// Meta refused the shop's token (190): stop the shop's sending until it reconnects.
    PauseSending,
}

impl Effect {
    /// Whether this only records a fact: nothing asked of anyone, nothing sent.
    pub fn is_fact(&self) -> bool {
        matches!(self, Effect::Record(_))
    }

    pub fn into_fact(self) -> Option<Fact> {
        match self {
            Effect::Record(fact) => Some(fact),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum Fact {
    Started {
        holdout: bool,
    },
    Deferred {
        step_id: StepId,
        until: Millis,
    },
    Skipped {
        step_id: StepId,
        reason: SkipReason,
    },
    Sent {
        step_id: StepId,
        wamid: Wamid,
    },
    Failed {
        step_id: StepId,
        code: Option<i64>,
    },
    Unknown {
        step_id: StepId,
    },
    Ended {
        reason: EndReason,
    },
    /// The checkout's latest phone differs from the one before (`None`: it has none now).
    PhoneChanged {
        phone: Option<Phone>,
    },
    /// A finished journey is active again: its last message failed and will be retried.
    Reopened,
    /// The shopper opened the recovery link (counted once).
    Clicked,
    /// The journey's retention has passed: only its counts remain, no personal data.
    Forgotten,
    /// The checkout was bought (an order or a completed checkout), for the optimizer's
    /// trial; only on journeys it measures. `revenue`: net of discounts, in the cart's currency.
    Converted {
        revenue: Option<Money>,
        at: Millis,
    },
    /// An order after a message (or, in the held-out group, after the first due time).
    Recovered {
        order_id: String,
        total: Option<Money>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_names_its_cart_by_our_callback_only() {
        let ours = Some("cb1;checkout=4d9ed871eaca8d62;step=reminder");
        assert_eq!(
            checkout_of_callback(ours),
            Some(CheckoutToken::from("4d9ed871eaca8d62"))
        );
        for other in [
            None,
            Some(""),
            Some("cb2;checkout=abc"),
            Some("cb1;checkout=a/b;step=x"),
            Some("cb1;step=x"),
        ] {
            assert_eq!(checkout_of_callback(other), None, "{other:?}");
        }
    }

    #[test]
    fn only_delivered_read_and_failed_statuses_tell_a_journey_anything() {
        assert_eq!(Delivery::of_status(DeliveryStatus::Sent, &[]), None);
        assert_eq!(
            Delivery::of_status(DeliveryStatus::Failed, &[131049, 131000]),
            Some(Delivery::Failed { code: Some(131049) })
        );
        assert_eq!(
            Delivery::of_status(DeliveryStatus::Read, &[]),
            Some(Delivery::Read)
        );
    }
}
