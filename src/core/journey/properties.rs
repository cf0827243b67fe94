//! Properties of journeys under any sequence of events: checkout updates in any order and
//! repeated, orders, alarms at any time, opt-outs, replies and every send outcome, for two
//! carts of the same shopper sharing one shop ledger.

use crate::core::playbook::Variable;
use crate::core::values::ids::{ShopDomain, StepId};

fn shop() -> ShopDomain {
    ShopDomain::parse("shop.myshopify.com").unwrap()
}

use proptest::prelude::*;

use super::*;
use crate::core::gate::consent::{ConsentKind, ConsentRecord, ConsentSource};
use crate::core::gate::quiet_hours::{defer, shopper_zone};
use crate::core::gate::zone_rules::TzDatabase;
use crate::core::gate::{self, pacing};
use crate::core::playbook::{Caps, ConsentMode, QuietHours, Step, Template};

const T0: Millis = Millis(1_800_000_000_000);
const PHONE: &str = "+351912345678";

#[derive(Clone, Debug)]
enum Input {
    Update {
        cart: usize,
        offset_s: i64,
        event: u8,
    },
    Order {
        cart: usize,
    },
    Alarm {
        cart: usize,
    },
    OptOut,
    Reply {
        cart: usize,
    },
    /// The next send of a cart gets this outcome.
    Outcome(Outcome),
}

#[derive(Clone, Copy, Debug)]
enum Outcome {
    Accepted,
    Transient,
    Final,
    Unknown,
}

fn input() -> impl Strategy<Value = (i64, Input)> {
    let cart = 0..2usize;
    let input = prop_oneof![
        2 => (cart.clone(), -3_600i64..7_200, 0u8..4)
            .prop_map(|(cart, offset_s, event)| Input::Update { cart, offset_s, event }),
        1 => cart.clone().prop_map(|cart| Input::Order { cart }),
        5 => cart.clone().prop_map(|cart| Input::Alarm { cart }),
        1 => Just(Input::OptOut),
        1 => cart.prop_map(|cart| Input::Reply { cart }),
        2 => prop_oneof![
            Just(Outcome::Accepted),
            Just(Outcome::Transient),
            Just(Outcome::Final),
            Just(Outcome::Unknown)
        ]
        .prop_map(Input::Outcome),
    ];
    // Time moves on by up to six hours between inputs.
    (0i64..21_600_000, input)
}

fn playbook() -> Playbook {
    let step = |id: &str, delay_seconds| Step {
        id: id.into(),
        delay_seconds,
        template: Template {
            name: format!("cart_{id}"),
            languages: vec!["en_US".into()],
        },
        body_params: vec![Variable::FirstName],
        button_url_param: Some(Variable::RecoveryToken),
        when: None,
        discount: None,
        delay_options: vec![],
        discount_options: vec![],
        template_options: vec![],
        header: None,
    };
    Playbook {
        steps: vec![step("a", 1800), step("b", 14_400), step("c", 86_400)],
        consent_mode: ConsentMode::CheckoutMarketingConsent,
        quiet_hours: Some(QuietHours {
            start: "21:00".into(),
            end: "09:00".into(),
        }),
        caps: Some(Caps {
            max_messages_per_customer: 3,
            window_days: 7,
        }),
        stop_on_reply: false,
        ..Playbook::default()
    }
}

/// The same playbook with the optimizer's options on every step: delays in their order,
/// discounts and templates to choose from.
fn optimized(enabled: bool) -> Playbook {
    let mut p = playbook();
    p.optimize.enabled = enabled;
    p.steps[0].delay_options = vec![1800, 3600, 7200];
    p.steps[1].delay_options = vec![10_800, 14_400, 43_200];
    p.steps[2].discount_options = vec![
        None,
        Some(crate::core::playbook::Discount {
            percent: 10,
            expires_after_hours: 48,
        }),
    ];
    p.steps[2].template_options = vec![
        p.steps[2].template.clone(),
        Template {
            name: "cart_c_social".into(),
            languages: vec!["en_US".into()],
        },
    ];
    p
}

struct World {
    playbook: Playbook,
    /// Varies the checkout tokens, and with them the optimizer's draws.
    salt: u8,
    carts: [Cart; 2],
    consents: Vec<ConsentRecord>,
    sends: Vec<Millis>,
    taken: Vec<i64>,
    outcome: Outcome,
    now: Millis,
    ordered: [bool; 2],
    opted_out: bool,
    /// Sends that may have reached the shopper, per (cart, step).
    delivered: Vec<(usize, StepId, Millis)>,
}

fn ctx(playbook: &Playbook) -> ShopContext<'_> {
    ShopContext {
        name: "Shop",
        whatsapp_connected: true,
        sending_paused: false,
        timezone: Some("Europe/Lisbon"),
        playbook,
        learning: None,
        zones: &TzDatabase,
    }
}

impl World {
    fn new(playbook: Playbook, salt: u8) -> World {
        World {
            playbook,
            salt,
            carts: [Cart::default(), Cart::default()],
            consents: vec![],
            sends: vec![],
            taken: vec![],
            outcome: Outcome::Accepted,
            now: T0,
            ordered: [false; 2],
            opted_out: false,
            delivered: vec![],
        }
    }

    fn token(&self, cart: usize) -> String {
        format!("cart{cart}-{}", self.salt)
    }

    fn checkout(&self, cart: usize, updated_at: Millis) -> Checkout {
        let mut c = Checkout::from_webhook(include_bytes!(
            "../../../tests/fixtures/shopify/checkouts-update.json"
        ))
        .unwrap();
        c.token = self.token(cart).into();
        c.cart_token = Some(format!("c{cart}"));
        c.updated_at = updated_at;
        c.phone = Some(Phone::parse(PHONE, None).unwrap());
        c.country = Some("PT".into());
        c
    }

    fn event(&mut self, cart: usize, event: Event) {
        let token = format!("tok{cart}");
        let effects = self.carts[cart].handle(&shop(), event, token, ctx(&self.playbook), self.now);
        self.run(cart, effects);
    }

    fn run(&mut self, cart: usize, effects: Vec<Effect>) {
        let mut queue = std::collections::VecDeque::from(effects);
        while let Some(effect) = queue.pop_front() {
            let event = match effect {
                Effect::Gate { request, .. } => {
                    let decision = gate::decide(
                        &request,
                        &gate::Ledger {
                            connected: true,
                            consents: &self.consents,
                            suppressed: self.opted_out,
                            limited_until: None,
                            sends: &self.sends,
                            slot: pacing::slot_now(self.now.0, pacing::interval(80), &self.taken),
                        },
                        &gate::Settings {
                            mode: self.playbook.consent_mode,
                            caps: self.playbook.caps.as_ref(),
                        },
                        self.now,
                    );
                    self.consents.extend(decision.record);
                    if let Some(slot) = decision.takes_slot {
                        let at = self.taken.partition_point(|&t| t < slot);
                        self.taken.insert(at, slot);
                        self.sends.push(self.now);
                    }
                    Event::Gated {
                        step_id: request.step_id,
                        verdict: decision.verdict,
                    }
                }
                Effect::Send { step_id, .. } => {
                    assert!(!self.ordered[cart], "sent after the order");
                    assert!(!self.opted_out, "sent after the opt-out");
                    self.assert_not_quiet();
                    let outcome = match self.outcome {
                        Outcome::Accepted => SendOutcome::Accepted {
                            wamid: format!("wamid.{cart}.{step_id}.{}", self.now.0).into(),
                        },
                        Outcome::Transient => SendOutcome::Rejected {
                            http_status: 400,
                            code: Some(130429),
                        },
                        Outcome::Final => SendOutcome::Rejected {
                            http_status: 400,
                            code: Some(131026),
                        },
                        Outcome::Unknown => SendOutcome::Unknown,
                    };
                    if matches!(self.outcome, Outcome::Accepted | Outcome::Unknown) {
                        self.delivered.push((cart, step_id.clone(), self.now));
                    }
                    Event::Sent { step_id, outcome }
                }
                _ => continue,
            };
            let token = format!("tok{cart}");
            queue.extend(self.carts[cart].handle(
                &shop(),
                event,
                token,
                ctx(&self.playbook),
                self.now,
            ));
        }
    }

    fn assert_not_quiet(&self) {
        let quiet = self.playbook.quiet_hours.as_ref().unwrap();
        let zone = shopper_zone(
            Some("PT"),
            Some("PT"),
            None,
            Some("Europe/Lisbon"),
            &TzDatabase,
        );
        assert_eq!(
            defer(self.now, quiet, zone, &TzDatabase),
            self.now,
            "sent in quiet hours"
        );
    }
}

impl World {
    fn play(&mut self, inputs: Vec<(i64, Input)>) {
        for (elapsed, input) in inputs {
            self.now = self.now.plus_millis(elapsed);
            match input {
                Input::Update {
                    cart,
                    offset_s,
                    event,
                } => {
                    let checkout = self.checkout(cart, self.now.plus_seconds(offset_s));
                    let event_id = Some(format!("ev{event}"));
                    self.event(
                        cart,
                        Event::Checkout {
                            checkout: Box::new(checkout),
                            event_id,
                        },
                    );
                }
                Input::Order { cart } => {
                    self.ordered[cart] = true;
                    let order = Order {
                        id: format!("o{cart}"),
                        checkout_token: Some(self.token(cart).into()),
                        cart_token: None,
                        total: None,
                        created_at: Some(self.now),
                        status_url: None,
                    };
                    self.event(cart, Event::Order(order));
                }
                Input::Alarm { cart } => {
                    // Alarms fire at their deadline or late, never early, and repeat.
                    let deadline = self.carts[cart]
                        .journey()
                        .and_then(|j| j.next_deadline(&self.playbook));
                    if let Some(deadline) = deadline {
                        self.now = self.now.max(deadline);
                    }
                    self.event(cart, Event::Timeout);
                }
                Input::OptOut => {
                    self.opted_out = true;
                    self.consents.push(ConsentRecord {
                        kind: ConsentKind::OptOut,
                        source: ConsentSource::WhatsappKeyword,
                        wording: "STOP".into(),
                        at: self.now,
                        cart_token: None,
                    });
                    for cart in 0..2 {
                        self.event(cart, Event::Shopper(ShopperSignal::OptedOut));
                    }
                }
                Input::Reply { cart } => self.event(cart, Event::Shopper(ShopperSignal::Replied)),
                Input::Outcome(outcome) => self.outcome = outcome,
            }
        }
    }

    fn check_no_duplicates_and_caps(&self) -> Result<(), TestCaseError> {
        // Never the same step twice to the shopper.
        let mut seen = std::collections::HashSet::new();
        for (cart, step, _) in &self.delivered {
            prop_assert!(
                seen.insert((*cart, step.clone())),
                "step {step} of cart {cart} sent twice"
            );
        }
        // Caps: at most 3 messages in any 7 days, across both carts.
        let week = 7 * 86_400_000;
        for (_, _, at) in &self.delivered {
            let in_window = self
                .delivered
                .iter()
                .filter(|(_, _, t)| t.0 >= at.0 && t.0 < at.0 + week)
                .count();
            prop_assert!(in_window <= 3, "{in_window} messages within a week");
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_duplicates_nothing_after_order_or_opt_out_no_quiet_hours_caps_hold(
        inputs in prop::collection::vec(input(), 1..60)
    ) {
        let mut world = World::new(playbook(), 0);
        world.play(inputs);
        world.check_no_duplicates_and_caps()?;
    }

    /// Whatever the optimizer chooses, the gate still holds: the same checks (caps, consent,
    /// quiet hours, nothing after an order or an opt-out, no step twice) as without it.
    #[test]
    fn no_option_breaks_a_rule(
        inputs in prop::collection::vec(input(), 1..60),
        salt: u8,
    ) {
        let mut world = World::new(optimized(true), salt);
        world.play(inputs);
        world.check_no_duplicates_and_caps()?;
    }

    /// Options without `optimize.enabled` are inert: the same messages, the same state.
    #[test]
    fn disabled_the_optimizer_changes_nothing(
        inputs in prop::collection::vec(input(), 1..40),
        salt: u8,
    ) {
        let mut plain = World::new(playbook(), salt);
        let mut with_options = World::new(optimized(false), salt);
        plain.play(inputs.clone());
        with_options.play(inputs);
        prop_assert_eq!(&plain.delivered, &with_options.delivered);
        prop_assert_eq!(
            serde_json::to_string(&plain.carts).unwrap(),
            serde_json::to_string(&with_options.carts).unwrap()
        );
    }
}
