//! One abandoned checkout's journey: a state machine driven by events and by time.
//!
//! `handle(event, ctx, now)` returns the effects the shell must carry out, in order; the shell
//! persists the journey *before* executing them, so a send is written down as `attempting`
//! before the request leaves. `next_deadline()` is when the shell must call back with
//! `Event::Timeout` (the Durable Object's alarm).
//!
//! A due step goes Pending → Gating (the shop ledger checks consent, caps and pacing) →
//! [Discounting (a unique Shopify code)] → [Imaging (the top item's image, for an image
//! header)] → [Granted (waiting for its pacing slot)] →
//! Attempting → Sent | Failed | Unknown, or is Skipped with a reason at any check.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::core::crypto::signature::constant_time_eq;
use crate::core::gate::holdout::in_holdout;
use crate::core::gate::pacing;
use crate::core::gate::quiet_hours::{defer, shopper_zone};
use crate::core::gate::{GateRequest, GateVerdict, TemplateRef};
use crate::core::optimizer::{choose, Choice, Learning, Rng, Segment, Trial};
use crate::core::playbook::{Playbook, Step};
use crate::core::shopify::payloads::{Checkout, Order};
use crate::core::shopify::product_image;
use crate::core::values::ids::{CheckoutToken, ShopDomain, StepId, Wamid};
use crate::core::values::money::Money;
use crate::core::values::phone::Phone;
use crate::core::values::time::{Millis, DAY_MS, HOUR_MS};
use crate::core::whatsapp::delivery::{backoff_ms, classify, SendOutcome, Verdict, TOKEN_INVALID};
use crate::core::whatsapp::message::{choose_language, template_message};

mod cart;
mod event;
mod step;
mod summary;
mod variables;

pub use cart::{Cart, Registration};
pub use event::{
    checkout_of_callback, Delivery, Effect, EndReason, Event, Fact, ShopContext, ShopperSignal,
    Status,
};
pub use step::{SkipReason, StepRun, StepState};
pub use summary::{JourneyStatus, StepSummary, Summary};
use variables::JourneyVariables;

/// How long a step may wait on the ledger, Shopify or Meta before we conclude the answer was
/// lost. Longer than a WhatsApp send may take (its timeout is capped at 30 s), so a send in
/// flight is never declared lost. A discount may take longer (its retries); asking again is
/// harmless there, as the same code is reused.
pub const ATTEMPT_GRACE_MS: i64 = 60_000;
/// How long a journey that ended with its last send keeps its personal data while Meta has not
/// said the message was delivered: a `failed` status with a transient code reopens the step
/// (§5.5), and the retry needs the phone. Our templates expire after 12 hours at Meta.
pub const FATE_GRACE_MS: i64 = DAY_MS;
/// Transient refusals are retried this many times in all before the step counts as failed.
pub const MAX_ATTEMPTS: u32 = 5;
/// How often a paused shop's due steps look again whether sending has resumed.
const PAUSED_RETRY_MS: i64 = HOUR_MS;
/// Delivery ids remembered to drop repeated webhooks (Shopify delivers at least once).
const REMEMBERED_EVENTS: usize = 16;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Journey {
    shop: ShopDomain,
    checkout: Checkout,
    /// Opaque, unguessable token of the recovery link `/r/{token}`.
    recovery_token: String,
    /// Held out: tracked like the others, never messaged (the control group).
    holdout: bool,
    started_at: Millis,
    status: Status,
    steps: Vec<StepRun>,
    #[serde(default)]
    clicked_at: Option<Millis>,
    seen_events: Vec<String>,
    /// The optimizer's options for this journey, when it is enabled (docs/optimizer.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    choice: Option<Choice>,
    /// Ended, and its personal data gone (`Effect::Scrub`).
    #[serde(default)]
    scrubbed: bool,
    /// The pacing slot the ledger holds for the next step (`gate::pacing`): the alarm wakes
    /// the cart at the slot rather than at the due time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    held: Option<HeldSlot>,
}

/// A pacing slot held for a step due at `due_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldSlot {
    pub step_id: StepId,
    pub due_at: Millis,
    pub slot_at: Millis,
}

/// What the ledger must do about the journey's pacing slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "slot", rename_all = "snake_case")]
pub enum SlotChange {
    /// Hold one for this step, due then (giving up any other the journey held).
    Hold { step_id: StepId, due_at: Millis },
    /// The journey needs none any more.
    Release,
}

impl Journey {
    /// A journey begins with the first checkout that has a usable phone; without one there is
    /// nobody to message and nothing is stored.
    pub fn begin(
        shop: &ShopDomain,
        checkout: Checkout,
        event_id: Option<String>,
        recovery_token: String,
        ctx: ShopContext,
        now: Millis,
    ) -> Option<(Journey, Vec<Effect>)> {
        if checkout.phone.is_none() || checkout.completed {
            return None;
        }
        let holdout = in_holdout(
            shop.as_str(),
            checkout.token.as_str(),
            ctx.playbook.holdout_percent,
        );
        let choice = ctx.playbook.optimize.enabled.then(|| {
            let empty = Learning::default();
            choose(
                ctx.playbook,
                ctx.learning.unwrap_or(&empty),
                Segment::of(checkout.total.as_ref()),
                checkout.updated_at,
                holdout,
                &mut Rng::for_journey(shop.as_str(), checkout.token.as_str()),
            )
        });
        let mut journey = Journey {
            shop: shop.clone(),
            checkout,
            recovery_token,
            holdout,
            started_at: now,
            status: Status::Active,
            steps: vec![],
            clicked_at: None,
            seen_events: event_id.into_iter().collect(),
            choice,
            scrubbed: false,
            held: None,
        };
        journey.plan(ctx.playbook);
        let mut effects = vec![Effect::Record(Fact::Started { holdout })];
        // The checkout may be old news already (a delayed webhook): anything due runs now.
        effects.extend(journey.handle(Event::Timeout, ctx, now));
        Some((journey, effects))
    }

    pub fn is_active(&self) -> bool {
        self.status == Status::Active
    }

    /// Whether a checkout event can change anything: not a delivery already seen, and a newer
    /// checkout of a journey still running (webhooks arrive late and out of order).
    pub fn is_news(&self, checkout: &Checkout, event_id: Option<&str>) -> bool {
        let seen = event_id.is_some_and(|id| self.seen_events.iter().any(|s| s == id));
        !seen && self.is_active() && checkout.updated_at > self.checkout.updated_at
    }

    /// The next step that will ask the gate, if any: the one a pacing slot is held for.
    fn next_to_send(&self) -> Option<&StepRun> {
        if !self.is_active() || self.holdout {
            return None;
        }
        self.steps
            .iter()
            .filter(|s| s.state == StepState::Pending)
            .min_by_key(|s| s.due_at)
    }

    /// What the ledger must change about the journey's pacing slot, when its next step moved
    /// (scheduled, re-timed, sent, skipped) or the journey ended.
    pub fn slot_change(&self) -> Option<SlotChange> {
        match (self.next_to_send(), &self.held) {
            (Some(s), Some(h)) if h.step_id == s.id && h.due_at == s.due_at => None,
            (Some(s), _) => Some(SlotChange::Hold {
                step_id: s.id.clone(),
                due_at: s.due_at,
            }),
            (None, Some(_)) => Some(SlotChange::Release),
            (None, None) => None,
        }
    }

    /// The ledger's answer to [`Journey::slot_change`]: the slot now held, if any.
    pub fn hold(&mut self, held: Option<HeldSlot>) {
        self.held = held;
    }

    /// Whether `token` is this journey's recovery link (compared in constant time: the link
    /// names the cart openly, only this part is secret).
    pub fn opens_with(&self, token: &str) -> bool {
        constant_time_eq(&self.recovery_token, token)
    }

    /// When personal data is erased: `journey_ttl_days` after the last activity.
    pub fn forget_at(&self, playbook: &Playbook) -> Millis {
        self.checkout
            .updated_at
            .plus_millis(playbook.retention_ms())
    }

    pub fn shop(&self) -> &ShopDomain {
        &self.shop
    }

    pub fn checkout_token(&self) -> &CheckoutToken {
        &self.checkout.token
    }

    /// Where the recovery link sends the shopper: the checkout's own recovery URL, with the
    /// latest discount code sent applied.
    pub fn recovery_url(&self) -> Option<String> {
        let url = self.checkout.recovery_url.clone()?;
        let code = self
            .steps
            .iter()
            .rev()
            .find_map(|s| s.discount_code.clone());
        Some(match code {
            Some(code) => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}discount={code}")
            }
            None => url,
        })
    }

    /// When the shell must deliver `Event::Timeout` next: a pending step at the pacing slot it
    /// holds, so that carts due together wake one slot apart.
    pub fn next_deadline(&self, playbook: &Playbook) -> Option<Millis> {
        if !self.is_active() {
            let forget = self.forget_at(playbook);
            return Some(self.fate_known_at().map_or(forget, |t| t.min(forget)));
        }
        let grace = |since: Millis| Some(since.plus_millis(ATTEMPT_GRACE_MS));
        let held = |s: &StepRun| {
            let h = self.held.as_ref()?;
            (h.step_id == s.id && h.due_at == s.due_at).then_some(h.slot_at.max(s.due_at))
        };
        self.steps
            .iter()
            .filter_map(|s| match s.state {
                StepState::Pending => held(s).or(Some(s.due_at)),
                StepState::Granted => Some(s.due_at),
                StepState::Gating { since }
                | StepState::Discounting { since, .. }
                | StepState::Imaging { since, .. }
                | StepState::Attempting { since } => grace(since),
                _ => None,
            })
            .chain(std::iter::once(self.forget_at(playbook)))
            .min()
    }

    pub fn handle(&mut self, event: Event, ctx: ShopContext, now: Millis) -> Vec<Effect> {
        let mut effects = vec![];
        match event {
            Event::Checkout { checkout, event_id } => {
                self.on_checkout(*checkout, event_id, ctx, now, &mut effects)
            }
            Event::Order(order) => self.on_order(order, ctx, now, &mut effects),
            Event::CheckoutDeleted => self.end(EndReason::Deleted, now, &mut effects),
            Event::ShopGone => self.end(EndReason::ShopGone, now, &mut effects),
            Event::Timeout => self.on_timeout(ctx, now, &mut effects),
            Event::Gated { step_id, verdict } => {
                self.on_gated(&step_id, verdict, ctx, now, &mut effects)
            }
            Event::Discount { step_id, code } => {
                self.on_discount(&step_id, code, ctx, now, &mut effects)
            }
            Event::Image { step_id, url } => self.on_image(&step_id, url, ctx, now, &mut effects),
            Event::Sent { step_id, outcome } => self.on_sent(&step_id, outcome, now, &mut effects),
            Event::Status { wamid, delivery } => {
                self.on_status(&wamid, delivery, now, &mut effects)
            }
            Event::Shopper(signal) => self.on_shopper(signal, ctx, now, &mut effects),
        }
        if self.may_scrub(now) && !self.scrubbed {
            effects.push(Effect::Scrub);
        }
        effects
    }

    /// Until when an ended journey waits for Meta to say its last send was delivered (see
    /// [`FATE_GRACE_MS`]); `None` once nothing is left to learn.
    fn fate_known_at(&self) -> Option<Millis> {
        let finished = matches!(
            self.status,
            Status::Ended {
                reason: EndReason::Finished,
                ..
            }
        );
        if !finished || self.scrubbed {
            return None;
        }
        self.steps
            .iter()
            .filter_map(|s| match s.state {
                StepState::Sent {
                    at,
                    delivered: false,
                    read: false,
                    ..
                } => Some(at.plus_millis(FATE_GRACE_MS)),
                _ => None,
            })
            .max()
    }

    /// The journey has ended and nothing it holds of the shopper can still be needed.
    pub fn may_scrub(&self, now: Millis) -> bool {
        !self.is_active() && self.fate_known_at().is_none_or(|t| now >= t)
    }

    fn matches_order(&self, order: &Order) -> bool {
        order.checkout_token.as_ref() == Some(&self.checkout.token)
            || (order.cart_token.is_some() && order.cart_token == self.checkout.cart_token)
    }

    fn on_order(&mut self, order: Order, ctx: ShopContext, now: Millis, effects: &mut Vec<Effect>) {
        if !self.matches_order(&order) {
            return;
        }
        let already = matches!(
            self.status,
            Status::Ended {
                reason: EndReason::Ordered | EndReason::Completed,
                ..
            }
        );
        // Recovered: the order followed our first message (for the held-out group, the moment
        // it would have gone out) within the attribution window.
        let first_touch = if self.holdout {
            self.steps.iter().map(|s| s.due_at).min()
        } else {
            self.steps
                .iter()
                .filter_map(|s| match s.state {
                    StepState::Sent { at, .. } => Some(at),
                    _ => None,
                })
                .min()
        };
        let ordered_at = order.created_at.unwrap_or(now);
        if !already {
            // The optimizer's trial counts any order, sent or not (see its learning).
            let revenue = order
                .total
                .filter(|t| Some(t.currency()) == self.checkout.total.as_ref().map(Money::currency))
                .or(self.checkout.total);
            self.converted(revenue, ordered_at, effects);
        }
        let window = ctx.playbook.attribution_ms();
        if !already && first_touch.is_some_and(|t| t <= ordered_at && ordered_at.0 - t.0 <= window)
        {
            effects.push(Effect::Record(Fact::Recovered {
                order_id: order.id,
                total: order.total,
            }));
        }
        // A journey that had run its course still ends in the order, which is what it led to.
        if matches!(
            self.status,
            Status::Ended {
                reason: EndReason::Finished,
                ..
            }
        ) {
            self.status = Status::Active;
        }
        self.end(EndReason::Ordered, now, effects);
    }

    fn on_checkout(
        &mut self,
        checkout: Checkout,
        event_id: Option<String>,
        ctx: ShopContext,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        if !self.is_news(&checkout, event_id.as_deref()) {
            return;
        }
        if let Some(id) = event_id {
            if self.seen_events.len() == REMEMBERED_EVENTS {
                self.seen_events.remove(0);
            }
            self.seen_events.push(id);
        }
        let completed = checkout.completed;
        // The journey follows the latest phone; the ledger's index must follow it too.
        if checkout.phone != self.checkout.phone {
            effects.push(Effect::Record(Fact::PhoneChanged {
                phone: checkout.phone.clone(),
            }));
        }
        self.checkout = checkout;
        if completed {
            let at = self.checkout.updated_at;
            self.converted(self.checkout.total, at, effects);
            self.end(EndReason::Completed, now, effects);
        } else {
            self.plan(ctx.playbook);
        }
    }

    /// The checkout was bought: the optimizer's trial hears of it (once per journey, since
    /// the journey ends with it).
    fn converted(&self, revenue: Option<Money>, at: Millis, effects: &mut Vec<Effect>) {
        if self.choice.is_some() {
            effects.push(Effect::Record(Fact::Converted { revenue, at }));
        }
    }

    /// The step as this journey runs it, with the optimizer's options if it chose any.
    fn as_run<'a>(&self, step: &'a Step) -> Cow<'a, Step> {
        match &self.choice {
            Some(choice) => choice.step_as_run(step),
            None => Cow::Borrowed(step),
        }
    }

    /// The journey's trial for the optimizer, if it is measured by one.
    pub fn trial(&self) -> Option<Trial> {
        let choice = self.choice.as_ref()?;
        Some(choice.trial(self.checkout.token.clone(), self.holdout))
    }

    /// Adds the playbook's steps not yet planned and re-times those not yet under way, each
    /// `delay_seconds` after the checkout's last activity.
    fn plan(&mut self, playbook: &Playbook) {
        let activity = self.checkout.updated_at;
        for step in &playbook.steps {
            let due_at = activity.plus_seconds(self.as_run(step).delay_seconds);
            match self.steps.iter_mut().find(|s| s.id == step.id) {
                Some(run) if run.state == StepState::Pending => run.due_at = due_at,
                Some(_) => {}
                None => self.steps.push(StepRun {
                    id: step.id.clone(),
                    due_at,
                    attempts: 0,
                    gate_rounds: 0,
                    late_rounds: 0,
                    discount_code: None,
                    image_url: None,
                    state: StepState::Pending,
                }),
            }
        }
    }

    fn on_timeout(&mut self, ctx: ShopContext, now: Millis, effects: &mut Vec<Effect>) {
        if now >= self.forget_at(ctx.playbook) {
            self.end(EndReason::Finished, now, effects);
            effects.push(Effect::Record(Fact::Forgotten));
            effects.push(Effect::Forget);
            return;
        }
        if !self.is_active() {
            return;
        }
        self.recover_lost_answers(ctx, now, effects);
        // A grant whose slot passed more than a moment ago is stale (the cart woke late, as
        // in a stalled runtime): the seconds since belong to other sends, and carts woken
        // together would all send at once. It asks the gate again, as a new attempt, for a
        // fresh slot; nothing was sent, so nothing can be repeated.
        for run in &mut self.steps {
            if run.state == StepState::Granted
                && pacing::asks_again(run.due_at.0, now.0, run.late_rounds)
            {
                run.put_back_late();
            }
        }
        // A step cleared by the ledger whose pacing slot has come.
        let granted: Vec<usize> = (0..self.steps.len())
            .filter(|&i| self.steps[i].state == StepState::Granted && self.steps[i].due_at <= now)
            .collect();
        for i in granted {
            self.send(i, ctx, now, effects);
        }
        let due: Vec<usize> = (0..self.steps.len())
            .filter(|&i| self.steps[i].state == StepState::Pending && self.steps[i].due_at <= now)
            .collect();
        if let Some((&latest, earlier)) = due.split_last() {
            for &i in earlier {
                self.skip(i, SkipReason::Superseded, now, effects);
            }
            self.start_step(latest, ctx, now, effects);
        }
        self.finish_if_done(now, effects);
    }

    /// Answers that never came back: a gate or a discount is asked again (both are idempotent
    /// for the same step); a send is never repeated.
    fn recover_lost_answers(&mut self, ctx: ShopContext, now: Millis, effects: &mut Vec<Effect>) {
        let lost = |since: Millis| now >= since.plus_millis(ATTEMPT_GRACE_MS);
        for i in 0..self.steps.len() {
            match self.steps[i].state {
                StepState::Gating { since } if lost(since) => {
                    self.steps[i].state = StepState::Pending;
                    self.steps[i].due_at = now;
                }
                StepState::Discounting { since, slot_at }
                | StepState::Imaging { since, slot_at }
                    if lost(since) =>
                {
                    self.discount_or_send(i, slot_at, ctx, now, effects);
                }
                StepState::Attempting { since } if lost(since) => {
                    self.steps[i].state = StepState::Unknown { since };
                    effects.push(Effect::Record(Fact::Unknown {
                        step_id: self.steps[i].id.clone(),
                    }));
                }
                _ => {}
            }
        }
    }

    /// A step has come due: the journey's own checks, then quiet hours, then the shop's gate.
    fn start_step(&mut self, i: usize, ctx: ShopContext, now: Millis, effects: &mut Vec<Effect>) {
        if let Err(reason) = self.check(&self.steps[i].id, ctx, now) {
            return self.skip(i, reason, now, effects);
        }
        // A paused shop keeps its steps: they go once the merchant reconnects WhatsApp.
        if ctx.sending_paused {
            return self.defer_step(i, now.plus_millis(PAUSED_RETRY_MS), effects);
        }
        if let Some(until) = self.quiet_until(ctx, now) {
            return self.defer_step(i, until, effects);
        }
        let Some(phone) = self.checkout.phone.clone() else {
            return self.skip(i, SkipReason::NoPhone, now, effects);
        };
        let template = ctx
            .playbook
            .step(&self.steps[i].id)
            .map(|step| TemplateRef {
                name: step.template.name.clone(),
                language: self.language(step, ctx),
            });
        let run = &mut self.steps[i];
        run.state = StepState::Gating { since: now };
        effects.push(Effect::Gate {
            request: GateRequest {
                checkout_token: self.checkout.token.clone(),
                step_id: run.id.clone(),
                checkout_consent: self.checkout.accepts_marketing
                    || self.checkout.accepts_sms_marketing,
                holdout: self.holdout,
                cart_token: self.checkout.cart_token.clone(),
                // A new number for every ask but the repeat of a lost answer.
                attempt: run.attempts + run.gate_rounds,
                template,
            },
            phone,
        });
    }

    /// The language the step's template goes out in, for this shopper.
    fn language(&self, step: &Step, ctx: ShopContext) -> String {
        choose_language(
            &step.template.languages,
            self.checkout.locale.as_deref(),
            &ctx.playbook.default_language,
        )
    }

    /// When the shopper's quiet hours end, if `now` falls in them.
    fn quiet_until(&self, ctx: ShopContext, now: Millis) -> Option<Millis> {
        let quiet = ctx.playbook.quiet_hours.as_ref()?;
        let phone_region = self.checkout.phone.as_ref().and_then(|p| p.region());
        let zone = shopper_zone(
            phone_region,
            self.checkout.country.as_deref(),
            self.checkout.province.as_deref(),
            ctx.timezone,
            ctx.zones,
        );
        Some(defer(now, quiet, zone, ctx.zones)).filter(|until| *until > now)
    }

    fn defer_step(&mut self, i: usize, until: Millis, effects: &mut Vec<Effect>) {
        let run = &mut self.steps[i];
        run.due_at = until;
        effects.push(Effect::Record(Fact::Deferred {
            step_id: run.id.clone(),
            until,
        }));
    }

    /// The checks made right before each send, on the latest state (docs/rules.md §1, rule 3).
    /// Consent, suppression and caps are the ledger's; everything the journey knows is here.
    fn check(&self, step_id: &StepId, ctx: ShopContext, now: Millis) -> Result<(), SkipReason> {
        let playbook = ctx.playbook;
        if !playbook.enabled {
            return Err(SkipReason::ShopDisabled);
        }
        if !ctx.whatsapp_connected {
            return Err(SkipReason::WhatsappNotConnected);
        }
        let step = playbook.step(step_id).ok_or(SkipReason::StepRemoved)?;
        let phone = self.checkout.phone.as_ref().ok_or(SkipReason::NoPhone)?;
        if now >= self.forget_at(playbook) {
            return Err(SkipReason::Expired);
        }
        if !marketing_allowed(phone) {
            return Err(SkipReason::CountryBlocked);
        }
        if !condition_holds(step, self.checkout.total.as_ref()) {
            return Err(SkipReason::ConditionNotMet);
        }
        Ok(())
    }

    fn on_gated(
        &mut self,
        step_id: &StepId,
        verdict: GateVerdict,
        ctx: ShopContext,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        let Some(i) = self.steps.iter().position(|s| &s.id == step_id) else {
            return;
        };
        if !matches!(self.steps[i].state, StepState::Gating { .. }) || !self.is_active() {
            return;
        }
        // The gate took the step's held slot, or gave it up with a denial.
        if self.held.as_ref().is_some_and(|h| &h.step_id == step_id) {
            self.held = None;
        }
        match verdict {
            GateVerdict::Denied { reason } => self.skip(i, reason.into(), now, effects),
            // An answer that came long after its slot (a stalled runtime): as for a stale
            // grant, a fresh slot rather than a send among other carts' seconds. A discount
            // or image made after a timely answer may take its time: its slot stays.
            GateVerdict::Granted { slot_at }
                if pacing::asks_again(slot_at.0, now.0, self.steps[i].late_rounds) =>
            {
                self.steps[i].put_back_late();
                self.start_step(i, ctx, now, effects);
            }
            GateVerdict::Granted { slot_at } => {
                self.discount_or_send(i, slot_at, ctx, now, effects)
            }
        }
        self.finish_if_done(now, effects);
    }

    /// Creates the step's discount code if it needs one it does not have yet, then finds its
    /// header image if it needs one, else sends at the pacing slot.
    fn discount_or_send(
        &mut self,
        i: usize,
        slot_at: Millis,
        ctx: ShopContext,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        let step = ctx.playbook.step(&self.steps[i].id);
        let discount = step.and_then(|s| self.as_run(s).discount.clone());
        let needs_image = step.is_some_and(|s| s.header.is_some());
        let run = &mut self.steps[i];
        match discount {
            Some(d) if run.discount_code.is_none() => {
                run.state = StepState::Discounting {
                    since: now,
                    slot_at,
                };
                effects.push(Effect::CreateDiscount {
                    step_id: run.id.clone(),
                    code: discount_code(&self.recovery_token, &run.id, d.percent),
                    percent: d.percent,
                    ends_at: now.plus_millis(i64::from(d.expires_after_hours) * HOUR_MS),
                });
            }
            _ if needs_image && run.image_url.is_none() => {
                self.find_image(i, slot_at, ctx, now, effects)
            }
            _ if slot_at > now => {
                run.state = StepState::Granted;
                run.due_at = slot_at;
            }
            _ => self.send(i, ctx, now, effects),
        }
    }

    /// Asks for the top item's image; a cart without a variant to ask about (a custom line
    /// item) goes straight to the merchant's fallback.
    fn find_image(
        &mut self,
        i: usize,
        slot_at: Millis,
        ctx: ShopContext,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        let Some(variant_id) = self.checkout.first_variant_id.clone() else {
            return self.use_image(i, slot_at, None, ctx, now, effects);
        };
        let run = &mut self.steps[i];
        run.state = StepState::Imaging {
            since: now,
            slot_at,
        };
        effects.push(Effect::LookupImage {
            step_id: run.id.clone(),
            variant_id,
        });
    }

    fn on_image(
        &mut self,
        step_id: &StepId,
        url: Option<String>,
        ctx: ShopContext,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        let Some(i) = self.steps.iter().position(|s| &s.id == step_id) else {
            return;
        };
        let StepState::Imaging { slot_at, .. } = self.steps[i].state else {
            return;
        };
        if !self.is_active() {
            return;
        }
        self.use_image(i, slot_at, url, ctx, now, effects);
        self.finish_if_done(now, effects);
    }

    /// The product's image, else the merchant's fallback; with neither the step is skipped, as
    /// Meta refuses a template whose image header is left empty.
    fn use_image(
        &mut self,
        i: usize,
        slot_at: Millis,
        found: Option<String>,
        ctx: ShopContext,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        match product_image::choose(found, ctx.playbook.fallback_image_url.as_deref()) {
            None => self.skip(i, SkipReason::ImageUnavailable, now, effects),
            Some(link) => {
                self.steps[i].image_url = Some(link);
                self.discount_or_send(i, slot_at, ctx, now, effects);
            }
        }
    }

    fn on_discount(
        &mut self,
        step_id: &StepId,
        code: Option<String>,
        ctx: ShopContext,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        let Some(i) = self.steps.iter().position(|s| &s.id == step_id) else {
            return;
        };
        let StepState::Discounting { slot_at, .. } = self.steps[i].state else {
            return;
        };
        if !self.is_active() {
            return;
        }
        match code {
            None => self.skip(i, SkipReason::DiscountUnavailable, now, effects),
            Some(code) => {
                self.steps[i].discount_code = Some(code);
                self.discount_or_send(i, slot_at, ctx, now, effects);
            }
        }
        self.finish_if_done(now, effects);
    }

    /// Renders and sends step `i`, after a last check on the latest state.
    fn send(&mut self, i: usize, ctx: ShopContext, now: Millis, effects: &mut Vec<Effect>) {
        if let Err(reason) = self.check(&self.steps[i].id, ctx, now) {
            return self.skip(i, reason, now, effects);
        }
        // A wait for the pace or a discount can run into quiet hours: then the step waits for
        // their end, and its grant (same attempt) is honoured again by the ledger.
        if let Some(until) = self.quiet_until(ctx, now) {
            // Put back: it asks the gate afresh when quiet hours end, so an opt-out or a cap
            // reached meanwhile still stops it.
            let run = &mut self.steps[i];
            run.state = StepState::Pending;
            run.gate_rounds += 1;
            return self.defer_step(i, until, effects);
        }
        let (Some(step), Some(phone)) = (
            ctx.playbook.step(&self.steps[i].id),
            self.checkout.phone.as_ref(),
        ) else {
            return self.skip(i, SkipReason::StepRemoved, now, effects);
        };
        let step = &*self.as_run(step);
        // The header was added to the step while it waited for its slot.
        if step.header.is_some() && self.steps[i].image_url.is_none() {
            return self.find_image(i, now, ctx, now, effects);
        }
        let language = self.language(step, ctx);
        let callback = format!("cb1;checkout={};step={}", self.checkout.token, step.id);
        let vars = JourneyVariables {
            journey: self,
            run: &self.steps[i],
            step,
            shop_name: ctx.name,
        };
        let image = self.steps[i].image_url.as_deref();
        let message = template_message(step, phone, language, callback, &vars, image);
        let run = &mut self.steps[i];
        run.state = StepState::Attempting { since: now };
        run.attempts += 1;
        effects.push(Effect::Send {
            step_id: run.id.clone(),
            message: Box::new(message),
        });
    }

    fn on_sent(
        &mut self,
        step_id: &StepId,
        outcome: SendOutcome,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        let seed = self.retry_seed(step_id.as_str());
        let Some(run) = self.steps.iter_mut().find(|s| &s.id == step_id) else {
            return;
        };
        let StepState::Attempting { since } = run.state else {
            return; // a late or repeated outcome: the step has moved on
        };
        let id = run.id.clone();
        match outcome {
            SendOutcome::Accepted { wamid } => {
                run.state = StepState::Sent {
                    wamid: wamid.clone(),
                    at: now,
                    delivered: false,
                    read: false,
                };
                effects.push(Effect::Record(Fact::Sent { step_id: id, wamid }));
            }
            SendOutcome::Unknown => {
                run.state = StepState::Unknown { since };
                effects.push(Effect::Record(Fact::Unknown { step_id: id }));
            }
            SendOutcome::Rejected { http_status, code } => {
                Self::refused(run, classify(http_status, code), code, seed, now, effects)
            }
        }
        self.finish_if_done(now, effects);
    }

    /// Meta said no, synchronously or in a `failed` status: nothing reached the shopper.
    fn refused(
        run: &mut StepRun,
        verdict: Verdict,
        code: Option<i64>,
        seed: u64,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        if code == Some(TOKEN_INVALID) {
            // Nothing reached the shopper: the step waits for the shop to reconnect.
            run.state = StepState::Pending;
            run.due_at = now.plus_millis(PAUSED_RETRY_MS);
            effects.push(Effect::PauseSending);
        } else if verdict == Verdict::Retry && run.attempts < MAX_ATTEMPTS {
            // Back to the start of the pipeline: the gate and quiet hours are checked again.
            run.state = StepState::Pending;
            run.due_at = now.plus_millis(backoff_ms(run.attempts, seed));
        } else {
            run.state = StepState::Failed { code, at: now };
            effects.push(Effect::Record(Fact::Failed {
                step_id: run.id.clone(),
                code,
            }));
        }
    }

    fn on_status(
        &mut self,
        wamid: &Wamid,
        delivery: Delivery,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        let seed = self.retry_seed(wamid.as_str());
        // A journey that ended only because its last step went out takes that step back up
        // when Meta reports the message failed for a reason worth retrying.
        let retryable = matches!(&delivery, Delivery::Failed { code } if classify(400, *code) == Verdict::Retry);
        let finished = matches!(
            self.status,
            Status::Ended {
                reason: EndReason::Finished,
                ..
            }
        );
        if retryable && finished && self.owns(wamid) {
            self.status = Status::Active;
            effects.push(Effect::Record(Fact::Reopened));
        }
        let active = self.is_active();
        let Some(run) = self
            .steps
            .iter_mut()
            .find(|s| matches!(&s.state, StepState::Sent { wamid: w, .. } if w == wamid))
        else {
            return; // unknown or already-resolved message: ignored
        };
        let StepState::Sent {
            delivered, read, ..
        } = &mut run.state
        else {
            return;
        };
        match delivery {
            Delivery::Delivered => *delivered = true,
            // A read without a delivered counts as both.
            Delivery::Read => {
                *delivered = true;
                *read = true;
            }
            Delivery::Failed { code } => {
                if active {
                    Self::refused(run, classify(400, code), code, seed, now, effects);
                } else {
                    run.state = StepState::Failed { code, at: now };
                    effects.push(Effect::Record(Fact::Failed {
                        step_id: run.id.clone(),
                        code,
                    }));
                }
            }
        }
    }

    fn owns(&self, wamid: &Wamid) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(&s.state, StepState::Sent { wamid: w, .. } if w == wamid))
    }

    fn on_shopper(
        &mut self,
        signal: ShopperSignal,
        ctx: ShopContext,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        match signal {
            ShopperSignal::OptedOut => self.end(EndReason::OptedOut, now, effects),
            ShopperSignal::NotInterested => self.end(EndReason::NotInterested, now, effects),
            ShopperSignal::Replied if ctx.playbook.stop_on_reply => {
                self.end(EndReason::Replied, now, effects)
            }
            ShopperSignal::Replied => {}
            ShopperSignal::Clicked => {
                if self.clicked_at.is_none() {
                    self.clicked_at = Some(now);
                    effects.push(Effect::Record(Fact::Clicked));
                }
            }
        }
    }

    /// Deterministic jitter: the same journey and step always back off the same way.
    fn retry_seed(&self, salt: &str) -> u64 {
        self.checkout
            .token
            .as_str()
            .bytes()
            .chain(salt.bytes())
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            })
    }

    fn skip(&mut self, i: usize, reason: SkipReason, now: Millis, effects: &mut Vec<Effect>) {
        let run = &mut self.steps[i];
        run.state = StepState::Skipped { reason, at: now };
        effects.push(Effect::Record(Fact::Skipped {
            step_id: run.id.clone(),
            reason,
        }));
    }

    fn finish_if_done(&mut self, now: Millis, effects: &mut Vec<Effect>) {
        let open = self.steps.iter().any(|s| s.state.is_open());
        if self.is_active() && !open && !self.steps.is_empty() {
            self.end(EndReason::Finished, now, effects);
        }
    }

    fn end(&mut self, reason: EndReason, now: Millis, effects: &mut Vec<Effect>) {
        if !self.is_active() {
            return;
        }
        for run in &mut self.steps {
            // A request already out is left to resolve; everything else stops here.
            if run.state.is_open() && !matches!(run.state, StepState::Attempting { .. }) {
                run.state = StepState::Cancelled { at: now };
            }
        }
        self.status = Status::Ended { reason, at: now };
        effects.push(Effect::Record(Fact::Ended { reason }));
    }

    /// Drops the shopper's personal data; see [`Effect::Scrub`]. Meta's message ids go too:
    /// they encode the recipient's number. Statuses that come later are the ledger's to count
    /// (it knows the ids by their keyed hash); the ended journey has nothing left to do with them.
    pub fn scrub(&mut self) {
        self.scrubbed = true;
        self.checkout.scrub();
        for run in &mut self.steps {
            if let StepState::Sent { wamid, .. } = &mut run.state {
                *wamid = Wamid::from("");
            }
        }
    }
}

/// Meta has refused marketing templates to US numbers since 2025-04-01. Numbers of US
/// territories in the +1 plan are treated alike: the pause is by US phone number.
fn marketing_allowed(phone: &Phone) -> bool {
    !matches!(
        phone.region(),
        Some("US" | "PR" | "VI" | "GU" | "AS" | "MP")
    )
}

/// The step's `when` condition on the cart's value, compared as exact decimals. A bound that
/// cannot be read in the cart's currency (`150.50` for a yen cart) fails closed: no message.
fn condition_holds(step: &Step, total: Option<&Money>) -> bool {
    let Some(when) = &step.when else {
        return true;
    };
    let within = |limit: &Option<String>, ok: fn(std::cmp::Ordering) -> bool| match limit {
        None => true,
        Some(limit) => total.is_some_and(|total| {
            Money::parse(limit, total.currency().as_str())
                .ok()
                .and_then(|bound| total.cmp_same_currency(&bound))
                .is_some_and(ok)
        }),
    };
    within(&when.min_cart_value, std::cmp::Ordering::is_ge)
        && within(&when.max_cart_value, std::cmp::Ordering::is_le)
}

/// The step's code: unique per journey and step, the same on every retry, at most 15
/// characters as WhatsApp's copy-code button requires (`CB10-K7Q2XMA`).
pub fn discount_code(recovery_token: &str, step_id: &StepId, percent: u8) -> String {
    use sha2::{Digest, Sha256};
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let digest = Sha256::new()
        .chain_update(recovery_token.as_bytes())
        .chain_update([0])
        .chain_update(step_id.as_str().as_bytes())
        .finalize();
    let suffix: String = digest
        .iter()
        .take(7)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    format!("CB{percent}-{suffix}")
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod properties;
