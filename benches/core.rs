//! The core's cost on a large checkout, natively: parsing a 50-line `checkouts/update` body,
//! starting its journey and running its due step; and the size of the state a cart keeps.
//! Prints one JSON object (read by `make bench`).

use std::time::Instant;

use cartback::core::gate::zone_rules::TzDatabase;
use cartback::core::journey::{Cart, Event, ShopContext};
use cartback::core::playbook::Playbook;
use cartback::core::shopify::payloads::Checkout;
use cartback::core::values::ids::ShopDomain;
use cartback::core::values::time::Millis;

const T0: Millis = Millis(1_800_000_000_000);

fn main() {
    let fixture = include_bytes!("../tests/fixtures/shopify/checkouts-update.json");
    let mut payload: serde_json::Value = serde_json::from_slice(fixture).expect("fixture");
    let line = payload["line_items"][0].clone();
    payload["line_items"] = serde_json::Value::Array(vec![line; 50]);
    let body = serde_json::to_vec(&payload).expect("body");
    let playbook = Playbook::default();
    let ctx = ShopContext {
        name: "Maple & Finch",
        whatsapp_connected: true,
        sending_paused: false,
        timezone: Some("America/Toronto"),
        playbook: &playbook,
        learning: None,
        zones: &TzDatabase,
    };

    let shop = ShopDomain::parse("shop.myshopify.com").expect("a valid domain");
    let decide = |checkout: Checkout| {
        let mut cart = Cart::default();
        let event = Event::Checkout {
            checkout: Box::new(checkout),
            event_id: Some("event".into()),
        };
        cart.handle(&shop, event, "token".into(), ctx, T0);
        let due = T0.plus_seconds(1800);
        cart.handle(&shop, Event::Timeout, String::new(), ctx, due);
        cart
    };

    let runs = 20_000;
    let parsed = Checkout::from_webhook(&body).expect("parses");
    for _ in 0..2_000 {
        decide(parsed.clone());
    }
    let started = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(decide(parsed.clone()));
    }
    let decision_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(runs);

    let started = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(Checkout::from_webhook(&body).expect("parses"));
    }
    let parse_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(runs);

    let state = serde_json::to_vec(&decide(parsed)).expect("state").len();
    println!(
        "{}",
        serde_json::json!({
            "core_decision_us": decision_us,
            "webhook_parse_us": parse_us,
            "webhook_bytes": body.len(),
            "state_per_cart_bytes": state,
        })
    );
}
