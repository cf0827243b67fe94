//! The journey on virtual time: every instant is chosen by the test.

use super::*;
use crate::core::playbook::{Step, Template};

const T0: Millis = Millis(1_800_000_000_000);

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
    }
}

fn playbook() -> Playbook {
    Playbook {
        steps: vec![step("reminder", 1800), step("nudge", 86_400)],
        ..Playbook::default()
    }
}

fn ctx(playbook: &Playbook) -> ShopContext<'_> {
    ShopContext {
        name: "Maple & Finch",
        whatsapp_connected: true,
        playbook,
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
        "maple.myshopify.com",
        c,
        Some("ev-1".into()),
        "tok".into(),
        ctx(p),
        T0,
    )
    .expect("a checkout with a phone starts a journey")
}

fn sends(effects: &[Effect]) -> Vec<&TemplateMessage> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { message, .. } => Some(message.as_ref()),
            _ => None,
        })
        .collect()
}

fn accepted(wamid: &str) -> SendOutcome {
    SendOutcome::Accepted {
        wamid: wamid.into(),
    }
}

#[test]
fn a_checkout_with_a_phone_schedules_its_first_step_after_the_delay() {
    let p = playbook();
    let (j, effects) = begin(&p, checkout(T0, Some("+14165550142")));
    assert_eq!(
        effects,
        vec![
            Effect::Record(Fact::Started),
            Effect::Timer(Some(T0.plus_seconds(1800)))
        ]
    );
    assert_eq!(j.next_deadline(), Some(T0.plus_seconds(1800)));
}

#[test]
fn a_checkout_without_a_usable_phone_never_schedules() {
    let p = playbook();
    let none = Journey::begin("s", checkout(T0, None), None, "t".into(), ctx(&p), T0);
    assert!(none.is_none());
}

#[test]
fn the_alarm_sends_the_due_step_once_and_arms_the_next() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0, Some("+14165550142")));
    let due = T0.plus_seconds(1800);

    // An early alarm sends nothing and re-arms for the due time.
    let early = j.handle(Event::Timeout, ctx(&p), due.plus_millis(-1));
    assert_eq!(early, vec![Effect::Timer(Some(due))]);

    let effects = j.handle(Event::Timeout, ctx(&p), due);
    let sent = sends(&effects);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].template.name, "cart_reminder");
    assert_eq!(sent[0].to, "+14165550142");
    assert_eq!(j.steps[0].state, StepState::Attempting { since: due });

    // A repeated alarm while the request is out sends nothing.
    assert!(sends(&j.handle(Event::Timeout, ctx(&p), due.plus_millis(5))).is_empty());

    let after = j.handle(
        Event::Sent {
            step_id: "reminder".into(),
            outcome: accepted("wamid.1"),
        },
        ctx(&p),
        due.plus_millis(300),
    );
    assert!(after.contains(&Effect::Timer(Some(T0.plus_seconds(86_400)))));
    assert!(matches!(j.steps[0].state, StepState::Sent { .. }));
    // Alarms after the send never repeat it.
    assert!(sends(&j.handle(Event::Timeout, ctx(&p), due.plus_seconds(60))).is_empty());
}

#[test]
fn an_order_before_the_due_time_cancels_everything() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0, Some("+14165550142")));
    let order = Order::from_webhook(include_bytes!(
        "../../../tests/fixtures/shopify/orders-create.json"
    ))
    .unwrap();
    let effects = j.handle(Event::Order(order), ctx(&p), T0.plus_seconds(60));
    assert!(effects.contains(&Effect::Timer(None)));
    assert_eq!(j.next_deadline(), None);
    assert!(sends(&j.handle(Event::Timeout, ctx(&p), T0.plus_seconds(1800))).is_empty());
    assert!(matches!(
        j.status,
        Status::Ended {
            reason: EndReason::Ordered,
            ..
        }
    ));
}

#[test]
fn an_order_for_another_checkout_changes_nothing() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0, Some("+14165550142")));
    let order = Order {
        id: "1".into(),
        checkout_token: Some("other".into()),
        cart_token: None,
        total: None,
        created_at: None,
    };
    assert!(j.handle(Event::Order(order), ctx(&p), T0).is_empty());
    assert!(j.is_active());
}

#[test]
fn a_repeated_or_older_update_changes_nothing() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0.plus_seconds(10), Some("+14165550142")));
    let before = j.clone();
    // The same delivery again.
    let same = Event::Checkout {
        checkout: checkout(T0.plus_seconds(10), Some("+14165550142")),
        event_id: Some("ev-1".into()),
    };
    assert!(j.handle(same, ctx(&p), T0.plus_seconds(20)).is_empty());
    // An older update arriving late, under another delivery id.
    let older = Event::Checkout {
        checkout: checkout(T0, Some("+351912345678")),
        event_id: Some("ev-0".into()),
    };
    assert!(j.handle(older, ctx(&p), T0.plus_seconds(20)).is_empty());
    assert_eq!(j.steps, before.steps);
    assert_eq!(j.checkout, before.checkout);
}

#[test]
fn new_activity_re_times_steps_not_yet_sent() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0, Some("+14165550142")));
    let later = T0.plus_seconds(600);
    let effects = j.handle(
        Event::Checkout {
            checkout: checkout(later, Some("+14165550142")),
            event_id: Some("ev-2".into()),
        },
        ctx(&p),
        later,
    );
    assert_eq!(effects, vec![Effect::Timer(Some(later.plus_seconds(1800)))]);
    assert_eq!(j.steps[1].due_at, later.plus_seconds(86_400));
}

#[test]
fn a_lost_outcome_is_never_repeated() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0, Some("+14165550142")));
    let due = T0.plus_seconds(1800);
    assert_eq!(sends(&j.handle(Event::Timeout, ctx(&p), due)).len(), 1);
    // The isolate died after the request left: the retried alarm comes after the grace.
    let effects = j.handle(Event::Timeout, ctx(&p), due.plus_millis(ATTEMPT_GRACE_MS));
    assert!(sends(&effects).is_empty());
    assert_eq!(j.steps[0].state, StepState::Unknown { since: due });
    assert_eq!(j.next_deadline(), Some(T0.plus_seconds(86_400)));
}

#[test]
fn transient_refusals_retry_with_backoff_then_fail() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0, Some("+14165550142")));
    let mut now = T0.plus_seconds(1800);
    for attempt in 1..=MAX_ATTEMPTS {
        assert_eq!(sends(&j.handle(Event::Timeout, ctx(&p), now)).len(), 1);
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
    let (mut j, _) = begin(&p, checkout(T0, Some("+14165550142")));
    let due = T0.plus_seconds(1800);
    j.handle(Event::Timeout, ctx(&p), due);
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
fn a_late_alarm_sends_only_the_latest_due_step() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0, Some("+14165550142")));
    let effects = j.handle(Event::Timeout, ctx(&p), T0.plus_seconds(90_000));
    let sent = sends(&effects);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].template.name, "cart_nudge");
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
    assert!(sends(&effects).is_empty());
    assert!(effects.contains(&Effect::Record(Fact::Skipped {
        step_id: "reminder".into(),
        reason: SkipReason::CountryBlocked
    })));
}

#[test]
fn nothing_is_sent_while_whatsapp_is_disconnected() {
    let p = playbook();
    let (mut j, _) = begin(&p, checkout(T0, Some("+14165550142")));
    let off = ShopContext {
        whatsapp_connected: false,
        ..ctx(&p)
    };
    assert!(sends(&j.handle(Event::Timeout, off, T0.plus_seconds(1800))).is_empty());
}

#[test]
fn the_message_is_rendered_for_the_shopper() {
    let p = playbook();
    let mut c = checkout(T0, Some("+14165550142"));
    c.locale = Some("pt-BR".into());
    let (mut j, _) = begin(&p, c);
    let effects = j.handle(Event::Timeout, ctx(&p), T0.plus_seconds(1800));
    let m = serde_json::to_value(sends(&effects)[0]).unwrap();
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
        "cb1;4d9ed871eaca8d62a63c301b8c3dc244;reminder"
    );
}

#[test]
fn journey_state_stays_small_and_round_trips() {
    let p = playbook();
    let (j, _) = begin(&p, checkout(T0, Some("+14165550142")));
    let json = serde_json::to_string(&j).unwrap();
    assert!(json.len() < 4096, "{} bytes", json.len());
    assert_eq!(serde_json::from_str::<Journey>(&json).unwrap(), j);
}
