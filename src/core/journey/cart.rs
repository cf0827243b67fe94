//! What a cart's object holds: its journey once one begins, and whether the checkout was
//! ordered or deleted before that (webhooks arrive out of order: an `orders/create` may come
//! before the `checkouts/update` that carries the phone, which must then start nothing).

use serde::{Deserialize, Serialize};

use super::{Effect, Event, HeldSlot, Journey, ShopContext, SlotChange, Summary};
use crate::core::metrics::segment;
use crate::core::optimizer::Trial;
use crate::core::playbook::Playbook;
use crate::core::shopify::payloads::Checkout;
use crate::core::values::ids::{CheckoutToken, ShopDomain};
use crate::core::values::phone::Phone;
use crate::core::values::time::Millis;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    #[serde(default)]
    shop: Option<ShopDomain>,
    journey: Option<Journey>,
    /// The shop ledger has indexed the journey (the shell retries until it has).
    #[serde(default)]
    registered: bool,
    #[serde(default)]
    closed_at: Option<Millis>,
}

/// What the shop ledger indexes about a journey: how lookups, opt-outs, redaction and the
/// metrics find it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    pub checkout_token: CheckoutToken,
    pub cart_token: Option<String>,
    pub checkout_id: Option<String>,
    pub recovery_token: String,
    pub customer_id: Option<String>,
    /// The shopper's locale, for the language of our replies.
    pub locale: Option<String>,
    pub phone: Phone,
    pub holdout: bool,
    pub segment: String,
    /// The cart's first line item, for the dashboard's breakdown by product.
    #[serde(default)]
    pub product: Option<String>,
    pub at: Millis,
    /// The optimizer's trial, when it measures this journey.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial: Option<Trial>,
}

impl Cart {
    /// Applies `event`; `recovery_token` is used only if a journey begins.
    pub fn handle(
        &mut self,
        shop: &ShopDomain,
        event: Event,
        recovery_token: String,
        ctx: ShopContext,
        now: Millis,
    ) -> Vec<Effect> {
        self.shop = Some(shop.clone());
        if let Some(journey) = &mut self.journey {
            return journey.handle(event, ctx, now);
        }
        match event {
            Event::Checkout { .. } if self.closed_at.is_some() => vec![],
            Event::Checkout { checkout, event_id } => {
                match Journey::begin(shop, *checkout, event_id, recovery_token, ctx, now) {
                    Some((journey, effects)) => {
                        self.journey = Some(journey);
                        effects
                    }
                    None => vec![],
                }
            }
            Event::Order(_) | Event::CheckoutDeleted | Event::ShopGone => {
                // The marker itself is kept only as long as a journey's data would be.
                self.closed_at = Some(now);
                vec![]
            }
            Event::Timeout => match self.closed_at {
                Some(_) if now >= self.forget_marker_at(ctx.playbook) => vec![Effect::Forget],
                _ => vec![],
            },
            _ => vec![],
        }
    }

    /// When the shell must deliver `Event::Timeout` next: the cart's only timer.
    pub fn next_deadline(&self, playbook: &Playbook) -> Option<Millis> {
        match (&self.journey, self.closed_at) {
            (Some(journey), _) => journey.next_deadline(playbook),
            (None, Some(_)) => Some(self.forget_marker_at(playbook)),
            (None, None) => None,
        }
    }

    pub fn shop(&self) -> Option<&ShopDomain> {
        self.shop.as_ref()
    }

    pub fn journey(&self) -> Option<&Journey> {
        self.journey.as_ref()
    }

    /// Whether a checkout event can change anything here: the shell stops before reading the
    /// shop's settings when it cannot (repeated deliveries are common).
    pub fn is_news(&self, checkout: &Checkout, event_id: Option<&str>) -> bool {
        match &self.journey {
            Some(journey) => journey.is_news(checkout, event_id),
            None => self.closed_at.is_none(),
        }
    }

    /// Nothing worth storing: no journey began and the checkout was never closed.
    pub fn is_blank(&self) -> bool {
        self.journey.is_none() && self.closed_at.is_none()
    }

    /// How the journey looks on the dashboard; once scrubbed, without its phone (the ledger
    /// keeps the one it was told, sealed: `Summary::keeping_phone_of`).
    pub fn summary(&self) -> Option<Summary> {
        self.journey.as_ref().map(Journey::summary)
    }

    /// Once the journey has ended and nothing of the shopper can still be needed
    /// (`Journey::may_scrub`), only what holds no personal data is kept: scrubbed on every save
    /// from then on, so an answer that comes in later (a send's message id) is never written.
    pub fn scrub(&mut self, now: Millis) {
        if let Some(journey) = self.journey.as_mut().filter(|j| j.may_scrub(now)) {
            journey.scrub();
        }
    }

    /// What the shop ledger must index, until it has (see [`Cart::mark_registered`]).
    pub fn registration(&self) -> Option<Registration> {
        if self.registered {
            return None;
        }
        let journey = self.journey.as_ref()?;
        let c = &journey.checkout;
        Some(Registration {
            checkout_token: c.token.clone(),
            cart_token: c.cart_token.clone(),
            checkout_id: c.id.clone(),
            recovery_token: journey.recovery_token.clone(),
            customer_id: c.customer_id.clone(),
            locale: c.locale.clone(),
            phone: c.phone.clone()?,
            holdout: journey.holdout,
            segment: segment(c.total.as_ref()).to_string(),
            product: c.top_item_title.clone(),
            at: journey.started_at,
            trial: journey.trial(),
        })
    }

    /// See [`Journey::slot_change`].
    pub fn slot_change(&self) -> Option<SlotChange> {
        self.journey.as_ref()?.slot_change()
    }

    pub fn hold(&mut self, held: Option<HeldSlot>) {
        if let Some(journey) = &mut self.journey {
            journey.hold(held);
        }
    }

    pub fn mark_registered(&mut self) {
        self.registered = true;
    }

    fn forget_marker_at(&self, playbook: &Playbook) -> Millis {
        self.closed_at
            .unwrap_or(Millis(0))
            .plus_millis(playbook.retention_ms())
    }
}
