//! One abandoned checkout's journey: a state machine driven by events and by time.
//!
//! `handle(event, ctx, now)` returns the effects the shell must carry out, in order; the shell
//! persists the journey *before* executing them, so a send is written down as `attempting`
//! before the request leaves. `next_deadline()` is when the shell must call back with
//! `Event::Timeout` (the Durable Object's alarm).

use serde::{Deserialize, Serialize};

use super::delivery::{backoff_ms, classify, SendOutcome, Verdict};
use super::message::{choose_language, template_message, TemplateMessage, Variables};
use super::phone::Phone;
use super::playbook::{Playbook, Variable};
use super::shopify::{Checkout, Order};
use super::time::Millis;

/// How long a send may stay `attempting` before we conclude its outcome will never be known.
/// Longer than the shell's request timeout, so a live request is never declared lost.
pub const ATTEMPT_GRACE_MS: i64 = 60_000;
/// Transient refusals are retried this many times in all before the step counts as failed.
pub const MAX_ATTEMPTS: u32 = 5;
/// Delivery ids remembered to drop repeated webhooks (Shopify delivers at least once).
const REMEMBERED_EVENTS: usize = 16;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Journey {
    pub shop: String,
    pub checkout: Checkout,
    /// Opaque, unguessable token of the recovery link `/r/{token}`.
    pub recovery_token: String,
    pub status: Status,
    pub steps: Vec<StepRun>,
    seen_events: Vec<String>,
}

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
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRun {
    pub id: String,
    pub due_at: Millis,
    pub attempts: u32,
    #[serde(flatten)]
    pub state: StepState,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StepState {
    Pending,
    /// Written down before the request leaves; resolved by `Event::Sent`.
    Attempting {
        since: Millis,
    },
    Sent {
        wamid: String,
        at: Millis,
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
    /// The step needs a discount code and none could be created.
    DiscountUnavailable,
}

/// What the journey is told about. Events are applied in any order and any number of times.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Checkout {
        checkout: Checkout,
        event_id: Option<String>,
    },
    Order(Order),
    CheckoutDeleted,
    Timeout,
    Sent {
        step_id: String,
        outcome: SendOutcome,
    },
}

/// The shop as the journey needs to see it at decision time.
#[derive(Clone, Copy, Debug)]
pub struct ShopContext<'a> {
    pub name: &'a str,
    pub whatsapp_connected: bool,
    pub playbook: &'a Playbook,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Arm the timer at this instant, or disarm it.
    Timer(Option<Millis>),
    /// Send this template; report the outcome back as `Event::Sent`.
    Send {
        step_id: String,
        message: Box<TemplateMessage>,
    },
    /// A fact for the merchant's metrics and the logs.
    Record(Fact),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Fact {
    Started,
    Skipped { step_id: String, reason: SkipReason },
    Sent { step_id: String },
    Failed { step_id: String, code: Option<i64> },
    Unknown { step_id: String },
    Ended { reason: EndReason },
}

impl Journey {
    /// A journey begins with the first checkout that has a usable phone; without one there is
    /// nobody to message and nothing is stored.
    pub fn begin(
        shop: &str,
        checkout: Checkout,
        event_id: Option<String>,
        recovery_token: String,
        ctx: ShopContext,
        now: Millis,
    ) -> Option<(Journey, Vec<Effect>)> {
        if checkout.phone.is_none() || checkout.completed {
            return None;
        }
        let mut journey = Journey {
            shop: shop.to_string(),
            checkout,
            recovery_token,
            status: Status::Active,
            steps: vec![],
            seen_events: event_id.into_iter().collect(),
        };
        journey.plan(ctx.playbook);
        let mut effects = vec![Effect::Record(Fact::Started)];
        // The checkout may be old news already (a delayed webhook): anything due runs now.
        effects.extend(journey.handle(Event::Timeout, ctx, now));
        if !effects.iter().any(|e| matches!(e, Effect::Timer(_))) {
            effects.push(Effect::Timer(journey.next_deadline()));
        }
        Some((journey, effects))
    }

    pub fn is_active(&self) -> bool {
        self.status == Status::Active
    }

    /// When the shell must deliver `Event::Timeout` next.
    pub fn next_deadline(&self) -> Option<Millis> {
        if !self.is_active() {
            return None;
        }
        self.steps
            .iter()
            .filter_map(|s| match s.state {
                StepState::Pending => Some(s.due_at),
                StepState::Attempting { since } => Some(since.plus_millis(ATTEMPT_GRACE_MS)),
                _ => None,
            })
            .min()
    }

    pub fn handle(&mut self, event: Event, ctx: ShopContext, now: Millis) -> Vec<Effect> {
        let before = self.next_deadline();
        let mut effects = vec![];
        let is_timeout = event == Event::Timeout;
        match event {
            Event::Checkout { checkout, event_id } => {
                self.on_checkout(checkout, event_id, ctx, now, &mut effects)
            }
            Event::Order(order) => {
                if self.matches_order(&order) {
                    self.end(EndReason::Ordered, now, &mut effects);
                }
            }
            Event::CheckoutDeleted => self.end(EndReason::Deleted, now, &mut effects),
            Event::Timeout => self.on_timeout(ctx, now, &mut effects),
            Event::Sent { step_id, outcome } => self.on_sent(&step_id, outcome, now, &mut effects),
        }
        let after = self.next_deadline();
        // After a timeout the runtime's alarm is spent, so it is re-armed even if unchanged.
        if after != before || is_timeout {
            effects.push(Effect::Timer(after));
        }
        effects
    }

    fn matches_order(&self, order: &Order) -> bool {
        order.checkout_token.as_deref() == Some(self.checkout.token.as_str())
            || (order.cart_token.is_some() && order.cart_token == self.checkout.cart_token)
    }

    fn on_checkout(
        &mut self,
        checkout: Checkout,
        event_id: Option<String>,
        ctx: ShopContext,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        if let Some(id) = &event_id {
            if self.seen_events.contains(id) {
                return;
            }
            if self.seen_events.len() == REMEMBERED_EVENTS {
                self.seen_events.remove(0);
            }
            self.seen_events.push(id.clone());
        }
        // Webhooks arrive late and out of order: only a newer checkout says anything new.
        if !self.is_active() || checkout.updated_at <= self.checkout.updated_at {
            return;
        }
        let completed = checkout.completed;
        self.checkout = checkout;
        if completed {
            self.end(EndReason::Completed, now, effects);
        } else {
            self.plan(ctx.playbook);
        }
    }

    /// Adds the playbook's steps not yet planned and re-times those not yet sent, each
    /// `delay_seconds` after the checkout's last activity.
    fn plan(&mut self, playbook: &Playbook) {
        let activity = self.checkout.updated_at;
        for step in &playbook.steps {
            let due_at = activity.plus_seconds(step.delay_seconds);
            match self.steps.iter_mut().find(|s| s.id == step.id) {
                Some(run) if run.state == StepState::Pending => run.due_at = due_at,
                Some(_) => {}
                None => self.steps.push(StepRun {
                    id: step.id.clone(),
                    due_at,
                    attempts: 0,
                    state: StepState::Pending,
                }),
            }
        }
    }

    fn on_timeout(&mut self, ctx: ShopContext, now: Millis, effects: &mut Vec<Effect>) {
        if !self.is_active() {
            return;
        }
        for run in &mut self.steps {
            if let StepState::Attempting { since } = run.state {
                if now >= since.plus_millis(ATTEMPT_GRACE_MS) {
                    run.state = StepState::Unknown { since };
                    effects.push(Effect::Record(Fact::Unknown {
                        step_id: run.id.clone(),
                    }));
                }
            }
        }
        let due: Vec<usize> = (0..self.steps.len())
            .filter(|&i| self.steps[i].state == StepState::Pending && self.steps[i].due_at <= now)
            .collect();
        let Some((&latest, earlier)) = due.split_last() else {
            self.finish_if_done(now, effects);
            return;
        };
        for &i in earlier {
            self.skip(i, SkipReason::Superseded, now, effects);
        }
        match self.check_send(&self.steps[latest].id, ctx, now) {
            Err(reason) => self.skip(latest, reason, now, effects),
            Ok(message) => {
                let run = &mut self.steps[latest];
                run.state = StepState::Attempting { since: now };
                run.attempts += 1;
                effects.push(Effect::Send {
                    step_id: run.id.clone(),
                    message: Box::new(message),
                });
            }
        }
        self.finish_if_done(now, effects);
    }

    /// The checks made right before each send, on the latest state (DESIGN.md §5 rule 3).
    fn check_send(
        &self,
        step_id: &str,
        ctx: ShopContext,
        now: Millis,
    ) -> Result<TemplateMessage, SkipReason> {
        let playbook = ctx.playbook;
        if !playbook.enabled {
            return Err(SkipReason::ShopDisabled);
        }
        if !ctx.whatsapp_connected {
            return Err(SkipReason::WhatsappNotConnected);
        }
        let step = playbook.step(step_id).ok_or(SkipReason::StepRemoved)?;
        let phone = self.checkout.phone.as_ref().ok_or(SkipReason::NoPhone)?;
        let ttl_seconds = i64::from(playbook.journey_ttl_days) * 86_400;
        if now > self.checkout.updated_at.plus_seconds(ttl_seconds) {
            return Err(SkipReason::Expired);
        }
        if !marketing_allowed(phone) {
            return Err(SkipReason::CountryBlocked);
        }
        if step.discount.is_some() {
            return Err(SkipReason::DiscountUnavailable);
        }
        let language = choose_language(
            &step.template.languages,
            self.checkout.locale.as_deref(),
            &playbook.default_language,
        );
        let callback = format!("cb1;{};{}", self.checkout.token, step.id);
        let vars = JourneyVariables {
            journey: self,
            shop_name: ctx.name,
        };
        Ok(template_message(step, phone, language, callback, &vars))
    }

    fn on_sent(
        &mut self,
        step_id: &str,
        outcome: SendOutcome,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        let seed = self.retry_seed(step_id);
        let Some(run) = self.steps.iter_mut().find(|s| s.id == step_id) else {
            return;
        };
        let StepState::Attempting { since } = run.state else {
            return; // a late or repeated outcome: the step has moved on
        };
        let id = run.id.clone();
        match outcome {
            SendOutcome::Accepted { wamid } => {
                run.state = StepState::Sent { wamid, at: now };
                effects.push(Effect::Record(Fact::Sent { step_id: id }));
            }
            SendOutcome::Unknown => {
                run.state = StepState::Unknown { since };
                effects.push(Effect::Record(Fact::Unknown { step_id: id }));
            }
            SendOutcome::Rejected { http_status, code } => {
                if classify(http_status, code) == Verdict::Retry && run.attempts < MAX_ATTEMPTS {
                    run.state = StepState::Pending;
                    run.due_at = now.plus_millis(backoff_ms(run.attempts, seed));
                } else {
                    run.state = StepState::Failed { code, at: now };
                    effects.push(Effect::Record(Fact::Failed { step_id: id, code }));
                }
            }
        }
        self.finish_if_done(now, effects);
    }

    /// Deterministic jitter: the same journey and step always back off the same way.
    fn retry_seed(&self, step_id: &str) -> u64 {
        self.checkout
            .token
            .bytes()
            .chain(step_id.bytes())
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
        let open = self
            .steps
            .iter()
            .any(|s| matches!(s.state, StepState::Pending | StepState::Attempting { .. }));
        if self.is_active() && !open && !self.steps.is_empty() {
            self.end(EndReason::Finished, now, effects);
        }
    }

    fn end(&mut self, reason: EndReason, now: Millis, effects: &mut Vec<Effect>) {
        if !self.is_active() {
            return;
        }
        for run in &mut self.steps {
            if run.state == StepState::Pending {
                run.state = StepState::Cancelled { at: now };
            }
        }
        self.status = Status::Ended { reason, at: now };
        effects.push(Effect::Record(Fact::Ended { reason }));
    }
}

/// Meta has refused marketing templates to US numbers since 2025-04-01.
fn marketing_allowed(phone: &Phone) -> bool {
    phone.region() != Some("US")
}

struct JourneyVariables<'a> {
    journey: &'a Journey,
    shop_name: &'a str,
}

impl Variables for JourneyVariables<'_> {
    fn value(&self, var: Variable) -> String {
        let c = &self.journey.checkout;
        let locale = c.locale.as_deref().unwrap_or("en");
        match var {
            Variable::FirstName => c
                .first_name
                .clone()
                .unwrap_or_else(|| greeting_fallback(locale).to_string()),
            Variable::ShopName => self.shop_name.to_string(),
            Variable::CartTotal => c
                .total
                .as_ref()
                .map(|t| t.format(locale))
                .unwrap_or_default(),
            Variable::ItemCount => c.item_count.to_string(),
            Variable::TopItemTitle => c.top_item_title.clone().unwrap_or_default(),
            Variable::ItemsSummary => c.items_summary.clone(),
            Variable::RecoveryToken => self.journey.recovery_token.clone(),
            // Discount steps are skipped before rendering until codes can be created.
            Variable::DiscountCode | Variable::DiscountPercent => String::new(),
        }
    }
}

/// Stands in for a first name Shopify did not give us ("Hi there").
fn greeting_fallback(locale: &str) -> &'static str {
    match locale.split(['-', '_']).next().unwrap_or("") {
        "pt" | "es" | "it" => "cliente",
        "fr" => "client",
        "de" => "Kunde",
        _ => "there",
    }
}

#[cfg(test)]
mod tests;
