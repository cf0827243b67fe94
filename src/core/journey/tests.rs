//! The journey on virtual time: every instant is chosen by the test, and the shop ledger is
//! simulated with the same gate decision the real ledger runs.

use super::*;
use crate::core::gate::consent::{ConsentKind, ConsentRecord, ConsentSource};
use crate::core::gate::pacing;
use crate::core::gate::zone_rules::TzDatabase;
use crate::core::gate::{self, GateVerdict};
use crate::core::playbook::Variable;
use crate::core::playbook::{Caps, ConsentMode, Discount, QuietHours, Step, Template};
use crate::core::values::ids::{ShopDomain, StepId};
use crate::core::whatsapp::message::TemplateMessage;

/// 2027-01-15T08:00:00Z: 03:00 in Toronto, 08:00 in Lisbon.
const T0: Millis = Millis(1_800_000_000_000);
const CA_PHONE: &str = "+14165550142";

fn step(id: &str, delay_seconds: i64) -> Step {
    Step {
        id: id.into(),
        delay_seconds,
        template: Template {
            name: format!("cart_{id}"),
            languages: vec!["en_US".into(), "pt_BR".into()],
        },
        body_params: vec![Variable::FirstName, Variable::CartTotal],
        button_url_param: Some(Variable::RecoveryToken),
        when: None,
        discount: None,
        delay_options: vec![],
        discount_options: vec![],
        template_options: vec![],
        header: None,
    }
}

fn playbook() -> Playbook {
    Playbook {
        steps: vec![step("reminder", 1800), step("nudge", 86_400)],
        quiet_hours: None,
        caps: None,
        consent_mode: ConsentMode::CheckoutMarketingConsent,
        ..Playbook::default()
    }
}

fn ctx(playbook: &Playbook) -> ShopContext<'_> {
    ShopContext {
        name: "Maple & Finch",
        whatsapp_connected: true,
        sending_paused: false,
        timezone: Some("America/Toronto"),
        playbook,
        learning: None,
        zones: &TzDatabase,
    }
}

fn checkout(updated_at: Millis, phone: Option<&str>) -> Checkout {
    let mut c = Checkout::from_webhook(include_bytes!(
        "../../../tests/fixtures/shopify/checkouts-update.json"
    ))
    .unwrap();
    c.updated_at = updated_at;
    c.phone = phone.map(|p| Phone::parse(p, None).unwrap());
    c
}

fn begin(p: &Playbook, c: Checkout) -> (Journey, Vec<Effect>) {
    Journey::begin(
        &ShopDomain::parse("maple.myshopify.com").unwrap(),
        c,
        Some("ev-1".into()),
        "tok".into(),
        ctx(p),
        T0,
    )
    .expect("a checkout with a phone starts a journey")
}

/// The shop ledger, in memory: consent records, sends per phone, pacing.
#[derive(Default)]
struct Ledger {
    consents: Vec<ConsentRecord>,
    sends: Vec<Millis>,
    /// The number's taken pacing slots, in order.
    taken: Vec<i64>,
    per_second: u32,
}

impl Ledger {
    fn open() -> Ledger {
        Ledger {
            per_second: 80,
            ..Ledger::default()
        }
    }

    fn gate(&mut self, request: &gate::GateRequest, p: &Playbook, now: Millis) -> GateVerdict {
        let decision = gate::decide(
            request,
            &gate::Ledger {
                connected: true,
                consents: &self.consents,
                suppressed: false,
                limited_until: None,
                sends: &self.sends,
                slot: pacing::slot_now(now.0, pacing::interval(self.per_second), &self.taken),
            },
            &gate::Settings {
                mode: p.consent_mode,
                caps: p.caps.as_ref(),
            },
            now,
        );
        self.consents.extend(decision.record);
        if let Some(slot) = decision.takes_slot {
            let at = self.taken.partition_point(|&t| t < slot);
            self.taken.insert(at, slot);
            self.sends.push(now);
        }
        decision.verdict
    }
}

/// Runs effects the way the Durable Object does: gates and discounts are answered at once,
/// sends are returned for the test to answer.
fn run(
    j: &mut Journey,
    ledger: &mut Ledger,
    p: &Playbook,
    effects: Vec<Effect>,
    now: Millis,
) -> Vec<(StepId, TemplateMessage)> {
    let mut queue = std::collections::VecDeque::from(effects);
    let mut sent = vec![];
    while let Some(effect) = queue.pop_front() {
        let event = match effect {
            Effect::Gate { request, .. } => Event::Gated {
                step_id: request.step_id.clone(),
                verdict: ledger.gate(&request, p, now),
            },
            Effect::CreateDiscount { step_id, code, .. } => Event::Discount {
                step_id,
                code: Some(code),
            },
            Effect::Send { step_id, message } => {
                sent.push((step_id, *message));
                continue;
            }
            _ => continue,
        };
        queue.extend(j.handle(event, ctx(p), now));
    }
    sent
}

fn tick(
    j: &mut Journey,
    ledger: &mut Ledger,
    p: &Playbook,
    now: Millis,
) -> Vec<(StepId, TemplateMessage)> {
    let effects = j.handle(Event::Timeout, ctx(p), now);
    run(j, ledger, p, effects, now)
}

fn accept(j: &mut Journey, p: &Playbook, step_id: &str, wamid: &str, now: Millis) -> Vec<Effect> {
    j.handle(
        Event::Sent {
            step_id: step_id.into(),
            outcome: SendOutcome::Accepted {
                wamid: wamid.into(),
            },
        },
        ctx(p),
        now,
    )
}

#[test]
fn a_checkout_with_a_phone_schedules_its_first_step_after_the_delay() {
    let p = playbook();
    let (j, effects) = begin(&p, checkout(T0, Some(CA_PHONE)));
    assert_eq!(
        effects,
        vec![Effect::Record(Fact::Started { holdout: false }),]
    );
    assert_eq!(j.next_deadline(&p), Some(T0.plus_seconds(1800)));
}

#[test]
fn the_next_step_holds_a_pacing_slot_and_wakes_at_it() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let due = T0.plus_seconds(1800);
    let reminder = StepId::new("reminder");
    let hold = SlotChange::Hold {
        step_id: reminder.clone(),
        due_at: due,
    };
    assert_eq!(j.slot_change(), Some(hold.clone()));
    let slot_at = due.plus_millis(4_250);
    j.hold(Some(HeldSlot {
        step_id: reminder.clone(),
        due_at: due,
        slot_at,
    }));
    assert_eq!(j.slot_change(), None, "held: nothing to ask");
    assert_eq!(j.next_deadline(&p), Some(slot_at));
    // The gate takes the slot; the next step asks for its own.
    let mut gated = j.clone();
    let mut ledger = Ledger::open();
    tick(&mut gated, &mut ledger, &p, slot_at);
    assert_eq!(gated.held, None);
    assert!(
        matches!(gated.slot_change(), Some(SlotChange::Hold { step_id, .. }) if step_id.as_str() == "nudge")
    );
    // New activity re-times the step: the slot held for the old time no longer counts.
    let later = Event::Checkout {
        checkout: Box::new(checkout(T0.plus_seconds(60), Some(CA_PHONE))),
        event_id: Some("ev-2".into()),
    };
    j.handle(later, ctx(&p), T0.plus_seconds(60));
    let due = T0.plus_seconds(1860);
    assert_eq!(j.next_deadline(&p), Some(due));
    assert_eq!(
        j.slot_change(),
        Some(SlotChange::Hold {
            step_id: reminder,
            due_at: due
        })
    );
}

#[test]
fn an_ended_or_held_out_journey_holds_no_slot() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let due = T0.plus_seconds(1800);
    j.hold(Some(HeldSlot {
        step_id: StepId::new("reminder"),
        due_at: due,
        slot_at: due,
    }));
    j.handle(Event::CheckoutDeleted, ctx(&p), T0.plus_seconds(5));
    assert_eq!(j.slot_change(), Some(SlotChange::Release));
    j.hold(None);
    assert_eq!(j.slot_change(), None);
    let (mut held_out, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    held_out.holdout = true;
    assert_eq!(held_out.slot_change(), None, "never sent: needs no slot");
}

#[test]
fn a_checkout_without_a_usable_phone_never_schedules() {
    let p = playbook();
    let none = Journey::begin(
        &ShopDomain::parse("s.myshopify.com").unwrap(),
        checkout(T0, None),
        None,
        "t".into(),
        ctx(&p),
        T0,
    );
    assert!(none.is_none());
}

#[test]
fn the_alarm_sends_the_due_step_once_and_arms_the_next() {
    let p = playbook();
    let mut ledger = Ledger::open();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let due = T0.plus_seconds(1800);

    // An early alarm sends nothing and re-arms for the due time.
    let early = j.handle(Event::Timeout, ctx(&p), due.plus_millis(-1));
    assert!(early.is_empty());
    assert_eq!(j.next_deadline(&p), Some(due));

    let sent = tick(&mut j, &mut ledger, &p, due);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.template.name, "cart_reminder");
    assert_eq!(sent[0].1.to, CA_PHONE);
    assert_eq!(j.steps[0].state, StepState::Attempting { since: due });

    // A repeated alarm while the request is out sends nothing.
    assert!(tick(&mut j, &mut ledger, &p, due.plus_millis(5)).is_empty());

    let after = accept(&mut j, &p, "reminder", "wamid.1", due.plus_millis(300));
    assert_eq!(j.next_deadline(&p), Some(T0.plus_seconds(86_400)));
    assert!(after.contains(&Effect::Record(Fact::Sent {
        step_id: "reminder".into(),
        wamid: "wamid.1".into()
    })));
    // Alarms after the send never repeat it.
    assert!(tick(&mut j, &mut ledger, &p, due.plus_seconds(60)).is_empty());
}

#[test]
fn an_order_before_the_due_time_cancels_everything() {
    let p = playbook();
    let mut ledger = Ledger::open();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let order = Order::from_webhook(include_bytes!(
        "../../../tests/fixtures/shopify/orders-create.json"
    ))
    .unwrap();
    let effects = j.handle(Event::Order(order), ctx(&p), T0.plus_seconds(60));
    // Only the retention deadline is left.
    assert_eq!(j.next_deadline(&p), Some(j.forget_at(&p)));
    assert!(tick(&mut j, &mut ledger, &p, T0.plus_seconds(1800)).is_empty());
    assert!(matches!(
        j.status,
        Status::Ended {
            reason: EndReason::Ordered,
            ..
        }
    ));
    // No message went out, so the order is not a recovery.
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::Record(Fact::Recovered { .. }))));
}

#[test]
fn an_order_after_a_message_is_a_recovery() {
    let p = playbook();
    let mut ledger = Ledger::open();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let due = T0.plus_seconds(1800);
    tick(&mut j, &mut ledger, &p, due);
    accept(&mut j, &p, "reminder", "wamid.1", due);
    let mut order = Order::from_webhook(include_bytes!(
        "../../../tests/fixtures/shopify/orders-create.json"
    ))
    .unwrap();
    order.checkout_token = Some(j.checkout.token.clone());
    order.created_at = Some(due.plus_seconds(3600));
    let effects = j.handle(Event::Order(order.clone()), ctx(&p), due.plus_seconds(3600));
    assert!(effects.contains(&Effect::Record(Fact::Recovered {
        order_id: order.id.clone(),
        total: order.total
    })));
    // The same order again is not counted twice.
    let again = j.handle(Event::Order(order), ctx(&p), due.plus_seconds(3601));
    assert!(!again
        .iter()
        .any(|e| matches!(e, Effect::Record(Fact::Recovered { .. }))));
}

#[test]
fn an_order_for_another_checkout_changes_nothing() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let order = Order {
        id: "1".into(),
        checkout_token: Some("other".into()),
        cart_token: None,
        total: None,
        created_at: None,
        status_url: None,
    };
    assert!(j.handle(Event::Order(order), ctx(&p), T0).is_empty());
    assert!(j.is_active());
}

#[test]
fn a_repeated_or_older_update_changes_nothing() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0.plus_seconds(10), Some(CA_PHONE)));
    let before = j.clone();
    let same = Event::Checkout {
        checkout: Box::new(checkout(T0.plus_seconds(10), Some(CA_PHONE))),
        event_id: Some("ev-1".into()),
    };
    assert!(j.handle(same, ctx(&p), T0.plus_seconds(20)).is_empty());
    let older = Event::Checkout {
        checkout: Box::new(checkout(T0, Some("+351912345678"))),
        event_id: Some("ev-0".into()),
    };
    assert!(j.handle(older, ctx(&p), T0.plus_seconds(20)).is_empty());
    assert_eq!(j.steps, before.steps);
    assert_eq!(j.checkout, before.checkout);
}

#[test]
fn only_a_new_newer_checkout_of_a_running_journey_is_news() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0.plus_seconds(10), Some(CA_PHONE)));
    let newer = checkout(T0.plus_seconds(11), Some(CA_PHONE));
    assert!(!j.is_news(&newer, Some("ev-1")), "a delivery already seen");
    assert!(
        !j.is_news(&checkout(T0, Some(CA_PHONE)), Some("ev-2")),
        "older"
    );
    assert!(j.is_news(&newer, Some("ev-2")));
    assert!(j.is_news(&newer, None));
    let mut order = Order::from_webhook(include_bytes!(
        "../../../tests/fixtures/shopify/orders-create.json"
    ))
    .unwrap();
    order.checkout_token = Some(j.checkout.token.clone());
    j.handle(Event::Order(order), ctx(&p), T0.plus_seconds(20));
    assert!(!j.is_active());
    assert!(
        !j.is_news(&newer, Some("ev-3")),
        "an ended journey hears nothing new"
    );
}

#[test]
fn the_recovery_link_opens_with_its_own_token_only() {
    let p = playbook();
    let (j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    assert!(j.opens_with("tok"));
    assert!(!j.opens_with("tok2"));
    assert!(!j.opens_with(""));
}

#[test]
fn new_activity_re_times_steps_not_yet_sent() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let later = T0.plus_seconds(600);
    let effects = j.handle(
        Event::Checkout {
            checkout: Box::new(checkout(later, Some(CA_PHONE))),
            event_id: Some("ev-2".into()),
        },
        ctx(&p),
        later,
    );
    assert!(effects.is_empty());
    assert_eq!(j.next_deadline(&p), Some(later.plus_seconds(1800)));
    assert_eq!(j.steps[1].due_at, later.plus_seconds(86_400));
}

#[test]
fn a_lost_outcome_is_never_repeated() {
    let p = playbook();
    let mut ledger = Ledger::open();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let due = T0.plus_seconds(1800);
    assert_eq!(tick(&mut j, &mut ledger, &p, due).len(), 1);
    // The isolate died after the request left: the retried alarm comes after the grace.
    assert!(tick(&mut j, &mut ledger, &p, due.plus_millis(ATTEMPT_GRACE_MS)).is_empty());
    assert_eq!(j.steps[0].state, StepState::Unknown { since: due });
    assert_eq!(j.next_deadline(&p), Some(T0.plus_seconds(86_400)));
}

#[test]
fn transient_refusals_retry_with_backoff_then_fail() {
    let p = playbook();
    let mut ledger = Ledger::open();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let mut now = T0.plus_seconds(1800);
    for attempt in 1..=MAX_ATTEMPTS {
        assert_eq!(
            tick(&mut j, &mut ledger, &p, now).len(),
            1,
            "attempt {attempt}"
        );
        j.handle(
            Event::Sent {
                step_id: "reminder".into(),
                outcome: SendOutcome::Rejected {
                    http_status: 400,
                    code: Some(130429),
                },
            },
            ctx(&p),
            now,
        );
        if attempt < MAX_ATTEMPTS {
            let next = j.steps[0].due_at;
            assert!(next > now, "attempt {attempt} backs off");
            now = next;
        }
    }
    assert!(matches!(
        j.steps[0].state,
        StepState::Failed {
            code: Some(130429),
            ..
        }
    ));
}

#[test]
fn final_refusals_fail_the_step_at_once() {
    let p = playbook();
    let mut ledger = Ledger::open();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let due = T0.plus_seconds(1800);
    tick(&mut j, &mut ledger, &p, due);
    let effects = j.handle(
        Event::Sent {
            step_id: "reminder".into(),
            outcome: SendOutcome::Rejected {
                http_status: 400,
                code: Some(131026),
            },
        },
        ctx(&p),
        due,
    );
    assert!(effects.contains(&Effect::Record(Fact::Failed {
        step_id: "reminder".into(),
        code: Some(131026)
    })));
}

#[test]
fn an_invalid_token_pauses_the_shop_and_keeps_the_step() {
    let p = playbook();
    let mut ledger = Ledger::open();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let due = T0.plus_seconds(1800);
    tick(&mut j, &mut ledger, &p, due);
    let effects = j.handle(
        Event::Sent {
            step_id: "reminder".into(),
            outcome: SendOutcome::Rejected {
                http_status: 401,
                code: Some(190),
            },
        },
        ctx(&p),
        due,
    );
    assert!(effects.contains(&Effect::PauseSending));
    assert_eq!(j.steps[0].state, StepState::Pending);
    // While paused, the due step waits instead of being dropped.
    let paused = ShopContext {
        sending_paused: true,
        ..ctx(&p)
    };
    let later = j.steps[0].due_at;
    let effects = j.handle(Event::Timeout, paused, later);
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Record(Fact::Deferred { .. }))));
    assert!(!effects.iter().any(|e| matches!(e, Effect::Gate { .. })));
}

#[test]
fn a_failed_status_for_a_sent_message_is_classified_too() {
    let p = playbook();
    let mut ledger = Ledger::open();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let due = T0.plus_seconds(1800);
    tick(&mut j, &mut ledger, &p, due);
    accept(&mut j, &p, "reminder", "wamid.1", due);
    let status = |code| Event::Status {
        wamid: "wamid.1".into(),
        delivery: Delivery::Failed { code: Some(code) },
    };
    j.handle(status(131049), ctx(&p), due.plus_seconds(5));
    assert!(matches!(
        j.steps[0].state,
        StepState::Failed {
            code: Some(131049),
            ..
        }
    ));
    // Statuses for unknown messages change nothing.
    assert!(j
        .handle(
            Event::Status {
                wamid: "wamid.other".into(),
                delivery: Delivery::Read
            },
            ctx(&p),
            due
        )
        .is_empty());
}

#[test]
fn a_read_without_delivered_counts_as_both() {
    let p = playbook();
    let mut ledger = Ledger::open();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let due = T0.plus_seconds(1800);
    tick(&mut j, &mut ledger, &p, due);
    accept(&mut j, &p, "reminder", "wamid.1", due);
    j.handle(
        Event::Status {
            wamid: "wamid.1".into(),
            delivery: Delivery::Read,
        },
        ctx(&p),
        due,
    );
    assert!(matches!(
        j.steps[0].state,
        StepState::Sent {
            delivered: true,
            read: true,
            ..
        }
    ));
}

#[test]
fn a_late_alarm_sends_only_the_latest_due_step() {
    let p = playbook();
    let mut ledger = Ledger::open();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let sent = tick(&mut j, &mut ledger, &p, T0.plus_seconds(90_000));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.template.name, "cart_nudge");
    assert!(matches!(
        j.steps[0].state,
        StepState::Skipped {
            reason: SkipReason::Superseded,
            ..
        }
    ));
}

#[test]
fn us_numbers_are_skipped_with_their_reason() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0, Some("+12125550100")));
    let effects = j.handle(Event::Timeout, ctx(&p), T0.plus_seconds(1800));
    assert!(effects.contains(&Effect::Record(Fact::Skipped {
        step_id: "reminder".into(),
        reason: SkipReason::CountryBlocked
    })));
}

#[test]
fn nothing_is_sent_while_whatsapp_is_disconnected() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let off = ShopContext {
        whatsapp_connected: false,
        ..ctx(&p)
    };
    let effects = j.handle(Event::Timeout, off, T0.plus_seconds(1800));
    assert!(!effects.iter().any(|e| matches!(e, Effect::Gate { .. })));
}

#[test]
fn steps_outside_their_cart_value_condition_are_skipped() {
    let mut p = playbook();
    p.steps[0].when = Some(crate::core::playbook::Condition {
        min_cart_value: Some("250.00".into()),
        max_cart_value: None,
    });
    p.steps[1].when = Some(crate::core::playbook::Condition {
        min_cart_value: Some("150.00".into()),
        max_cart_value: Some("215.95".into()),
    });
    let mut ledger = Ledger::open();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let effects = j.handle(Event::Timeout, ctx(&p), T0.plus_seconds(1800));
    assert!(effects.contains(&Effect::Record(Fact::Skipped {
        step_id: "reminder".into(),
        reason: SkipReason::ConditionNotMet
    })));
    // 215.95 is within [150.00, 215.95]: bounds are inclusive and exact.
    assert_eq!(
        tick(&mut j, &mut ledger, &p, T0.plus_seconds(86_400)).len(),
        1
    );
}

#[test]
fn a_step_due_in_quiet_hours_waits_for_their_end() {
    let mut p = playbook();
    p.quiet_hours = Some(QuietHours {
        start: "21:00".into(),
        end: "09:00".into(),
    });
    let mut ledger = Ledger::open();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    // Due at 03:30 in Toronto (EST, UTC-5): deferred to 09:00 local = 14:00 UTC.
    let due = T0.plus_seconds(1800);
    let effects = j.handle(Event::Timeout, ctx(&p), due);
    let nine = Millis::parse_rfc3339("2027-01-15T14:00:00Z").unwrap();
    assert!(effects.contains(&Effect::Record(Fact::Deferred {
        step_id: "reminder".into(),
        until: nine
    })));
    assert_eq!(j.next_deadline(&p), Some(nine));
    assert_eq!(tick(&mut j, &mut ledger, &p, nine).len(), 1);
}

#[test]
fn the_held_out_group_is_checked_but_never_messaged() {
    let p = Playbook {
        holdout_percent: 100,
        ..playbook()
    };
    let mut ledger = Ledger::open();
    let (mut j, effects) = begin(&p, checkout(T0, Some(CA_PHONE)));
    assert!(effects.contains(&Effect::Record(Fact::Started { holdout: true })));
    assert!(tick(&mut j, &mut ledger, &p, T0.plus_seconds(1800)).is_empty());
    assert!(matches!(
        j.steps[0].state,
        StepState::Skipped {
            reason: SkipReason::Holdout,
            ..
        }
    ));
    // An order after the would-be first message counts for the control group's rate.
    let order = Order {
        id: "9".into(),
        checkout_token: Some(j.checkout.token.clone()),
        cart_token: None,
        total: None,
        created_at: Some(T0.plus_seconds(4000)),
        status_url: None,
    };
    let effects = j.handle(Event::Order(order), ctx(&p), T0.plus_seconds(4000));
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Record(Fact::Recovered { .. }))));
}

#[test]
fn without_consent_nothing_is_sent() {
    let p = Playbook {
        consent_mode: ConsentMode::WhatsappOptIn,
        ..playbook()
    };
    let mut ledger = Ledger::open();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    assert!(tick(&mut j, &mut ledger, &p, T0.plus_seconds(1800)).is_empty());
    assert!(matches!(
        j.steps[0].state,
        StepState::Skipped {
            reason: SkipReason::NoConsent,
            ..
        }
    ));
    // With a recorded WhatsApp opt-in the next step goes.
    ledger.consents.push(ConsentRecord {
        kind: ConsentKind::OptIn,
        source: ConsentSource::StorefrontWidget,
        wording: "Remind me on WhatsApp".into(),
        at: T0,
        cart_token: None,
    });
    assert_eq!(
        tick(&mut j, &mut ledger, &p, T0.plus_seconds(86_400)).len(),
        1
    );
}

#[test]
fn a_discount_step_creates_its_code_once_and_sends_it() {
    let mut p = playbook();
    p.steps[0].discount = Some(Discount {
        percent: 10,
        expires_after_hours: 48,
    });
    p.steps[0].body_params = vec![
        Variable::FirstName,
        Variable::DiscountPercent,
        Variable::DiscountCode,
    ];
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let due = T0.plus_seconds(1800);
    let effects = j.handle(Event::Timeout, ctx(&p), due);
    let Some(Effect::Gate { request, .. }) =
        effects.iter().find(|e| matches!(e, Effect::Gate { .. }))
    else {
        panic!("gate first");
    };
    let granted = j.handle(
        Event::Gated {
            step_id: request.step_id.clone(),
            verdict: GateVerdict::Granted { slot_at: due },
        },
        ctx(&p),
        due,
    );
    let code = discount_code("tok", &"reminder".into(), 10);
    assert!(granted.contains(&Effect::CreateDiscount {
        step_id: "reminder".into(),
        code: code.clone(),
        percent: 10,
        ends_at: due.plus_seconds(48 * 3600),
    }));
    // The answer was lost: the retry asks for the very same code.
    let retried = j.handle(Event::Timeout, ctx(&p), due.plus_millis(ATTEMPT_GRACE_MS));
    assert!(retried
        .iter()
        .any(|e| matches!(e, Effect::CreateDiscount { code: c, .. } if *c == code)));
    let sent = j.handle(
        Event::Discount {
            step_id: "reminder".into(),
            code: Some(code.clone()),
        },
        ctx(&p),
        due.plus_millis(ATTEMPT_GRACE_MS),
    );
    let Some(Effect::Send { message, .. }) = sent.iter().find(|e| matches!(e, Effect::Send { .. }))
    else {
        panic!("sent after the code exists");
    };
    let m = serde_json::to_value(message).unwrap();
    assert_eq!(
        m["template"]["components"][0]["parameters"][1]["text"],
        "10%"
    );
    assert_eq!(
        m["template"]["components"][0]["parameters"][2]["text"],
        code.as_str()
    );
    assert_eq!(m["template"]["components"][1]["sub_type"], "copy_code");
    assert!(code.len() <= 15, "{code}");
}

#[test]
fn a_failed_discount_skips_the_step() {
    let mut p = playbook();
    p.steps[0].discount = Some(Discount {
        percent: 10,
        expires_after_hours: 48,
    });
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let due = T0.plus_seconds(1800);
    j.handle(Event::Timeout, ctx(&p), due);
    j.handle(
        Event::Gated {
            step_id: "reminder".into(),
            verdict: GateVerdict::Granted { slot_at: due },
        },
        ctx(&p),
        due,
    );
    let effects = j.handle(
        Event::Discount {
            step_id: "reminder".into(),
            code: None,
        },
        ctx(&p),
        due,
    );
    assert!(effects.contains(&Effect::Record(Fact::Skipped {
        step_id: "reminder".into(),
        reason: SkipReason::DiscountUnavailable
    })));
}

/// The reminder with an image header, granted at once: the effects that follow the grant.
fn granted_with_image(p: &Playbook, c: Checkout) -> (Journey, Vec<Effect>, Millis) {
    let (mut j, _) = begin(p, c);
    let due = T0.plus_seconds(1800);
    j.handle(Event::Timeout, ctx(p), due);
    let effects = j.handle(
        Event::Gated {
            step_id: "reminder".into(),
            verdict: GateVerdict::Granted { slot_at: due },
        },
        ctx(p),
        due,
    );
    (j, effects, due)
}

fn image_playbook(fallback: Option<&str>) -> Playbook {
    let mut p = playbook();
    p.steps[0].header = Some(crate::core::playbook::Header::TopItemImage);
    p.fallback_image_url = fallback.map(str::to_string);
    p
}

fn header_link(effects: &[Effect]) -> Option<String> {
    effects.iter().find_map(|e| match e {
        Effect::Send { message, .. } => {
            let v = serde_json::to_value(message).unwrap();
            v.pointer("/template/components/0/parameters/0/image/link")
                .and_then(|l| l.as_str())
                .map(str::to_string)
        }
        _ => None,
    })
}

#[test]
fn an_image_header_shows_the_top_items_image() {
    let p = image_playbook(Some("https://shop.example/logo.png"));
    let (mut j, effects, due) = granted_with_image(&p, checkout(T0, Some(CA_PHONE)));
    let variant = "gid://shopify/ProductVariant/47120398563412".to_string();
    assert_eq!(
        effects,
        vec![Effect::LookupImage {
            step_id: "reminder".into(),
            variant_id: variant
        }]
    );
    assert_eq!(j.steps[0].state.name(), "imaging");
    assert_eq!(j.next_deadline(&p), Some(due.plus_millis(ATTEMPT_GRACE_MS)));
    let image = "https://cdn.shopify.com/s/files/sweater.jpg";
    let effects = j.handle(
        Event::Image {
            step_id: "reminder".into(),
            url: Some(image.into()),
        },
        ctx(&p),
        due,
    );
    assert_eq!(header_link(&effects).as_deref(), Some(image));
    // A transient refusal sends again with the same image, without asking again.
    j.handle(
        Event::Sent {
            step_id: "reminder".into(),
            outcome: SendOutcome::Rejected {
                code: Some(131_000),
                http_status: 500,
            },
        },
        ctx(&p),
        due,
    );
    assert_eq!(j.steps[0].image_url.as_deref(), Some(image));
}

#[test]
fn without_a_product_image_the_fallback_goes_and_without_both_the_step_is_skipped() {
    let p = image_playbook(Some("https://shop.example/logo.png"));
    let (mut j, _, due) = granted_with_image(&p, checkout(T0, Some(CA_PHONE)));
    let none = Event::Image {
        step_id: "reminder".into(),
        url: None,
    };
    let effects = j.handle(none.clone(), ctx(&p), due);
    assert_eq!(
        header_link(&effects).as_deref(),
        Some("https://shop.example/logo.png")
    );

    let p = image_playbook(None);
    let (mut j, _, due) = granted_with_image(&p, checkout(T0, Some(CA_PHONE)));
    let effects = j.handle(none, ctx(&p), due);
    assert!(effects.contains(&Effect::Record(Fact::Skipped {
        step_id: "reminder".into(),
        reason: SkipReason::ImageUnavailable
    })));

    // A custom line item has no variant to ask about: the fallback at once.
    let p = image_playbook(Some("https://shop.example/logo.png"));
    let mut c = checkout(T0, Some(CA_PHONE));
    c.first_variant_id = None;
    let (_, effects, _) = granted_with_image(&p, c);
    assert_eq!(
        header_link(&effects).as_deref(),
        Some("https://shop.example/logo.png")
    );
}

/// The gate's answer to the reminder: granted for `slot`, heard at `now`.
fn grant_reminder(j: &mut Journey, p: &Playbook, slot: Millis, now: Millis) -> Vec<Effect> {
    let verdict = GateVerdict::Granted { slot_at: slot };
    let step_id = "reminder".into();
    j.handle(Event::Gated { step_id, verdict }, ctx(p), now)
}

/// The request of the gate call among `effects`.
fn gate_request(effects: &[Effect]) -> Option<GateRequest> {
    effects.iter().find_map(|e| match e {
        Effect::Gate { request, .. } => Some(request.clone()),
        _ => None,
    })
}

#[test]
fn a_later_pacing_slot_is_waited_for() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let due = T0.plus_seconds(1800);
    j.handle(Event::Timeout, ctx(&p), due);
    let slot = due.plus_millis(750);
    let effects = grant_reminder(&mut j, &p, slot, due);
    assert_eq!(j.next_deadline(&p), Some(slot));
    assert!(!effects.iter().any(|e| matches!(e, Effect::Send { .. })));
    let at_slot = j.handle(Event::Timeout, ctx(&p), slot);
    assert!(at_slot.iter().any(|e| matches!(e, Effect::Send { .. })));
}

#[test]
fn a_grant_woken_long_after_its_slot_asks_the_gate_again() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let due = T0.plus_seconds(1800);
    let first = j.handle(Event::Timeout, ctx(&p), due);
    let attempt = |effects: &[Effect]| gate_request(effects).map(|r| r.attempt);
    let slot = due.plus_millis(750);
    grant_reminder(&mut j, &p, slot, due);
    // Woken within a second of its slot, the grant is used.
    let mut on_time = j.clone();
    let sent = on_time.handle(Event::Timeout, ctx(&p), slot.plus_millis(900));
    assert!(sent.iter().any(|e| matches!(e, Effect::Send { .. })));
    // Woken 25 s late, it sends nothing and asks again as a new attempt.
    let late = j.handle(Event::Timeout, ctx(&p), slot.plus_seconds(25));
    assert!(!late.iter().any(|e| matches!(e, Effect::Send { .. })));
    assert_eq!(attempt(&late), attempt(&first).map(|a| a + 1));
}

#[test]
fn an_answer_long_after_its_slot_asks_again_a_bounded_number_of_times() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let due = T0.plus_seconds(1800);
    let first = j.handle(Event::Timeout, ctx(&p), due);
    let mut attempt = gate_request(&first).map(|r| r.attempt);
    let sends = |effects: &[Effect]| effects.iter().any(|e| matches!(e, Effect::Send { .. }));
    // Within a second of its slot, the answer is used.
    let mut on_time = j.clone();
    assert!(sends(&grant_reminder(
        &mut on_time,
        &p,
        due,
        due.plus_millis(900)
    )));
    // Each answer 25 s late asks again, as a new attempt, until the bound; then it sends late.
    let mut now = due;
    for _ in 0..pacing::LATE_ROUNDS {
        now = now.plus_seconds(25);
        let late = grant_reminder(&mut j, &p, now.plus_seconds(-25), now);
        assert!(!sends(&late));
        let again = gate_request(&late).map(|r| r.attempt);
        assert_eq!(again, attempt.map(|a| a + 1));
        attempt = again;
    }
    now = now.plus_seconds(25);
    assert!(sends(&grant_reminder(
        &mut j,
        &p,
        now.plus_seconds(-25),
        now
    )));
}

#[test]
fn shopper_signals_end_the_journey() {
    let p = playbook();
    for (signal, reason) in [
        (ShopperSignal::OptedOut, EndReason::OptedOut),
        (ShopperSignal::NotInterested, EndReason::NotInterested),
        (ShopperSignal::Replied, EndReason::Replied),
    ] {
        let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
        j.handle(Event::Shopper(signal), ctx(&p), T0);
        assert!(matches!(j.status, Status::Ended { reason: r, .. } if r == reason));
    }
    let keep_going = Playbook {
        stop_on_reply: false,
        ..playbook()
    };
    let (mut j, _) = begin(&keep_going, checkout(T0, Some(CA_PHONE)));
    j.handle(Event::Shopper(ShopperSignal::Replied), ctx(&keep_going), T0);
    assert!(j.is_active());
}

#[test]
fn personal_data_is_forgotten_after_the_ttl() {
    let p = Playbook {
        journey_ttl_days: 1,
        ..playbook()
    };
    let mut ledger = Ledger::open();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    tick(&mut j, &mut ledger, &p, T0.plus_seconds(1800));
    accept(&mut j, &p, "reminder", "wamid.1", T0.plus_seconds(1800));
    assert_eq!(j.next_deadline(&p), Some(T0.plus_seconds(86_400)));
    let effects = j.handle(Event::Timeout, ctx(&p), T0.plus_seconds(86_400));
    assert!(effects.contains(&Effect::Forget));
}

#[test]
fn caps_hold_across_carts_of_the_same_shopper() {
    let p = Playbook {
        caps: Some(Caps {
            max_messages_per_customer: 1,
            window_days: 7,
        }),
        ..playbook()
    };
    let mut ledger = Ledger::open();
    let c1 = checkout(T0, Some(CA_PHONE));
    let mut c2 = checkout(T0, Some(CA_PHONE));
    c2.token = "second".into();
    let (mut a, _) = begin(&p, c1);
    let (mut b, _) = begin(&p, c2);
    let due = T0.plus_seconds(1800);
    let sent = tick(&mut a, &mut ledger, &p, due).len() + tick(&mut b, &mut ledger, &p, due).len();
    assert_eq!(sent, 1);
}

#[test]
fn the_message_is_rendered_for_the_shopper() {
    let p = playbook();
    let mut ledger = Ledger::open();
    let mut c = checkout(T0, Some(CA_PHONE));
    c.locale = Some("pt-BR".into());
    let (mut j, _) = begin(&p, c);
    let sent = tick(&mut j, &mut ledger, &p, T0.plus_seconds(1800));
    let m = serde_json::to_value(&sent[0].1).unwrap();
    assert_eq!(m["template"]["language"]["code"], "pt_BR");
    assert_eq!(
        m["template"]["components"][0]["parameters"][0]["text"],
        "Emily"
    );
    assert_eq!(
        m["template"]["components"][1]["parameters"][0]["text"],
        "tok"
    );
    assert_eq!(
        m["biz_opaque_callback_data"],
        "cb1;checkout=4d9ed871eaca8d62a63c301b8c3dc244;step=reminder"
    );
}

#[test]
fn journey_state_stays_small_and_round_trips() {
    let p = playbook();
    let (j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let json = serde_json::to_string(&j).unwrap();
    assert!(json.len() < 4096, "{} bytes", json.len());
    assert_eq!(serde_json::from_str::<Journey>(&json).unwrap(), j);
}

#[test]
fn a_grant_put_back_by_quiet_hours_asks_the_gate_again() {
    let mut p = playbook();
    p.quiet_hours = Some(QuietHours {
        start: "21:00".into(),
        end: "09:00".into(),
    });
    let mut ledger = Ledger::open();
    // Due at 20:59 in Toronto; the pace grants a slot two minutes later, in quiet hours.
    let due = Millis::parse_rfc3339("2027-01-16T01:59:00Z").unwrap();
    let (mut j, _) = begin(&p, checkout(due.plus_seconds(-1800), Some(CA_PHONE)));
    let asked = j.handle(Event::Timeout, ctx(&p), due);
    let first = gate_request(&asked).expect("the due step asks the gate");
    let slot = due.plus_seconds(120);
    grant_reminder(&mut j, &p, slot, due);
    let put_back = j.handle(Event::Timeout, ctx(&p), slot);
    assert!(!put_back.iter().any(|e| matches!(e, Effect::Send { .. })));
    let nine = Millis::parse_rfc3339("2027-01-16T14:00:00Z").unwrap();
    assert_eq!(j.next_deadline(&p), Some(nine));
    // The shopper says STOP overnight; the morning's ask is a new one, and is refused.
    ledger.consents.push(ConsentRecord {
        kind: ConsentKind::OptOut,
        source: ConsentSource::WhatsappKeyword,
        wording: "STOP".into(),
        at: slot.plus_seconds(60),
        cart_token: None,
    });
    let morning = j.handle(Event::Timeout, ctx(&p), nine);
    let again = morning
        .iter()
        .find_map(|e| match e {
            Effect::Gate { request, .. } => Some(request.clone()),
            _ => None,
        })
        .expect("asked again");
    assert_ne!(
        again.attempt, first.attempt,
        "not the repeat of a lost answer"
    );
    let sent = run(&mut j, &mut ledger, &p, morning, nine);
    assert!(sent.is_empty());
    assert!(matches!(
        j.steps[0].state,
        StepState::Skipped {
            reason: SkipReason::OptedOut,
            ..
        }
    ));
}

#[test]
fn a_new_phone_on_the_checkout_moves_the_journey_to_it() {
    let p = playbook();
    let mut ledger = Ledger::open();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let later = T0.plus_seconds(60);
    let effects = j.handle(
        Event::Checkout {
            checkout: Box::new(checkout(later, Some("+351912345678"))),
            event_id: Some("ev-2".into()),
        },
        ctx(&p),
        later,
    );
    let new_phone = Phone::parse("+351912345678", None).unwrap();
    assert_eq!(
        effects,
        vec![Effect::Record(Fact::PhoneChanged {
            phone: Some(new_phone.clone())
        })]
    );
    let sent = tick(&mut j, &mut ledger, &p, later.plus_seconds(1800));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.to, new_phone.as_str());
    // The old number is nowhere in the cart's state any more.
    let stored = serde_json::to_string(&j).unwrap();
    assert!(!stored.contains("4165550142"));
}

fn optimized() -> Playbook {
    let mut p = playbook();
    p.optimize.enabled = true;
    p.steps[0].delay_options = vec![600, 7200];
    p.steps[0].template_options = vec![
        p.steps[0].template.clone(),
        Template {
            name: "cart_social_proof".into(),
            languages: vec!["en_US".into()],
        },
    ];
    p
}

#[test]
fn the_optimizer_chooses_once_and_the_journey_runs_its_choice() {
    let p = optimized();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let choice = j.choice.clone().expect("chosen when the journey began");
    let reminder = choice.step_as_run(&p.steps[0]).into_owned();
    assert!(p.steps[0].delay_options.contains(&reminder.delay_seconds));
    let due = T0.plus_seconds(reminder.delay_seconds);
    assert_eq!(j.steps[0].due_at, due);
    // A later update re-times the step with the same chosen delay.
    let later = T0.plus_seconds(60);
    let update = Event::Checkout {
        checkout: Box::new(checkout(later, Some(CA_PHONE))),
        event_id: Some("ev-2".into()),
    };
    j.handle(update, ctx(&p), later);
    assert_eq!(j.choice.as_ref(), Some(&choice));
    assert_eq!(
        j.steps[0].due_at,
        later.plus_seconds(reminder.delay_seconds)
    );
    let mut ledger = Ledger::open();
    let sent = tick(
        &mut j,
        &mut ledger,
        &p,
        later.plus_seconds(reminder.delay_seconds),
    );
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.template.name, reminder.template.name);
    // The trial opens at the checkout's last activity when the journey began.
    let trial = j.trial().unwrap();
    assert_eq!((trial.opened_at, trial.arms.len()), (T0, 2));
}

#[test]
fn an_order_settles_the_trial_once_sent_or_not() {
    let p = optimized();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let order = Order {
        id: "o1".into(),
        checkout_token: Some(j.checkout.token.clone()),
        cart_token: None,
        total: Some(Money::parse("99.00", "CAD").unwrap()),
        created_at: Some(T0.plus_seconds(30)),
        status_url: None,
    };
    let effects = j.handle(Event::Order(order.clone()), ctx(&p), T0.plus_seconds(30));
    let converted: Vec<&Effect> = effects
        .iter()
        .filter(|e| matches!(e, Effect::Record(Fact::Converted { .. })))
        .collect();
    assert_eq!(converted.len(), 1, "{effects:?}");
    // Nothing had been sent: not recovered for the dashboard, but the trial counts it.
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::Record(Fact::Recovered { .. }))));
    let again = j.handle(Event::Order(order), ctx(&p), T0.plus_seconds(40));
    assert!(!again
        .iter()
        .any(|e| matches!(e, Effect::Record(Fact::Converted { .. }))));
}

#[test]
fn without_the_optimizer_options_change_nothing() {
    let plain = playbook();
    let mut with_options = optimized();
    with_options.optimize.enabled = false;
    let (a, ea) = begin(&plain, checkout(T0, Some(CA_PHONE)));
    let (b, eb) = begin(&with_options, checkout(T0, Some(CA_PHONE)));
    assert_eq!(ea, eb);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    assert!(b.trial().is_none());
}

#[test]
fn a_journey_that_ends_is_scrubbed_and_still_credits_a_later_order() {
    let p = Playbook {
        steps: vec![step("reminder", 1800)],
        ..playbook()
    };
    let mut ledger = Ledger::open();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let due = T0.plus_seconds(1800);
    tick(&mut j, &mut ledger, &p, due);
    let effects = accept(&mut j, &p, "reminder", "wamid.1", due);
    // The last step went out: the journey ends, but keeps the phone until Meta says the message
    // was delivered (a transient failure would take the step back up), a day at most.
    assert!(!effects.contains(&Effect::Scrub), "{effects:?}");
    assert_eq!(
        j.next_deadline(&p),
        Some(due.plus_millis(FATE_GRACE_MS)).min(Some(j.forget_at(&p)))
    );
    let delivered = j.handle(
        Event::Status {
            wamid: "wamid.1".into(),
            delivery: Delivery::Delivered,
        },
        ctx(&p),
        due.plus_seconds(5),
    );
    assert!(delivered.contains(&Effect::Scrub), "{delivered:?}");
    j.scrub();
    let stored = serde_json::to_string(&j).unwrap();
    // Meta's message ids encode the recipient's number: they go too.
    for personal in ["4165550142", "Emily", "Carter", "wamid.1"] {
        assert!(!stored.contains(personal), "{personal} in {stored}");
    }
    let url = j
        .recovery_url()
        .expect("the recovery link still opens the checkout");
    assert!(url.starts_with("https://"));
    let mut order = Order::from_webhook(include_bytes!(
        "../../../tests/fixtures/shopify/orders-create.json"
    ))
    .unwrap();
    order.checkout_token = Some(j.checkout.token.clone());
    order.created_at = Some(due.plus_seconds(7200));
    let later = j.handle(Event::Order(order.clone()), ctx(&p), due.plus_seconds(7200));
    assert!(later.contains(&Effect::Record(Fact::Recovered {
        order_id: order.id,
        total: order.total
    })));
    // A checkout update of the ended journey starts nothing and sends nothing.
    let again = j.handle(
        Event::Checkout {
            checkout: Box::new(checkout(T0.plus_seconds(9000), Some(CA_PHONE))),
            event_id: Some("ev-2".into()),
        },
        ctx(&p),
        due.plus_seconds(9000),
    );
    assert!(!again
        .iter()
        .any(|e| matches!(e, Effect::Gate { .. } | Effect::Send { .. })));
    assert!(!serde_json::to_string(&j).unwrap().contains("4165550142"));
}

#[test]
fn an_undelivered_last_send_is_scrubbed_a_day_later() {
    let p = Playbook {
        steps: vec![step("reminder", 1800)],
        ..playbook()
    };
    let mut ledger = Ledger::open();
    let (mut j, _) = begin(&p, checkout(T0, Some(CA_PHONE)));
    let due = T0.plus_seconds(1800);
    tick(&mut j, &mut ledger, &p, due);
    accept(&mut j, &p, "reminder", "wamid.1", due);
    assert!(!j.may_scrub(due.plus_millis(FATE_GRACE_MS - 1)));
    let later = j.handle(Event::Timeout, ctx(&p), due.plus_millis(FATE_GRACE_MS));
    assert!(later.contains(&Effect::Scrub), "{later:?}");
}
