//! Money: Shopify's decimal strings (`Money::parse`) and amounts built in minor units. Never a
//! panic; what parses follows the documented grammar; every amount writes out
//! (`to_decimal_string`) as text that parses back to itself, and survives serde.
#![no_main]

use cartback::core::values::money::{Currency, Money};
use cartback_fuzz::round_trip;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    decimal: String,
    currency: String,
    minor: i64,
    locale: String,
}

/// `-`? digits (`.` digits)?: the only form Shopify writes.
fn grammar(s: &str) -> bool {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction)
}

fn check(money: &Money, locale: &str) {
    let text = money.to_decimal_string();
    assert_eq!(
        Money::parse(&text, money.currency().as_str()).as_ref(),
        Ok(money),
        "{text:?}"
    );
    round_trip(money);
    let _ = money.format(locale);
    let _ = money.amount_1000();
}

fuzz_target!(|input: Input| {
    if let Ok(money) = Money::parse(&input.decimal, &input.currency) {
        assert!(grammar(&input.decimal), "{:?}", input.decimal);
        check(&money, &input.locale);
    }
    let currency = Currency::parse(&input.currency).unwrap_or(Currency::parse("USD").unwrap());
    check(&Money::from_minor(input.minor, currency), &input.locale);
});
