use serde_json::json;

use super::*;

fn table() -> PriceTable {
    PriceTable::defaults().expect("the shipped rates parse")
}

#[test]
fn shipped_rates_cover_their_markets_with_a_default() {
    let t = table();
    assert_eq!(t.currency.as_str(), "USD");
    assert_eq!(t.as_of, "2026-01-01");
    let marketing = |c: Option<&str>| t.rate(c, Category::Marketing).map(Rate::micros);
    assert_eq!(marketing(Some("BR")), Some(62_500));
    assert_eq!(marketing(Some("CA")), Some(25_000));
    assert_eq!(marketing(Some("AT")), Some(59_200));
    // Unlisted and unknown countries pay "Other".
    assert_eq!(marketing(Some("IS")), Some(60_400));
    assert_eq!(marketing(None), Some(60_400));
    // Only marketing ships: other categories are counted, not priced.
    assert_eq!(t.rate(Some("BR"), Category::Utility), None);
    for country in t.countries.keys() {
        assert!(is_region(country), "{country} is no ISO region");
    }
}

#[test]
fn rates_are_exact_decimals() {
    assert_eq!(Rate::parse("0.0625").map(Rate::micros), Ok(62_500));
    assert_eq!(Rate::parse("3").map(Rate::micros), Ok(3_000_000));
    assert_eq!(Rate::parse("0.000001").map(Rate::micros), Ok(1));
    for bad in [
        "",
        ".5",
        "1.",
        "-0.1",
        "1e-3",
        "0,05",
        " 1",
        "0.0000001",
        "99999999",
    ] {
        assert!(Rate::parse(bad).is_err(), "{bad:?} accepted");
    }
    assert_eq!(micros_to_decimal(62_500), "0.0625");
    assert_eq!(micros_to_decimal(0), "0");
    assert_eq!(micros_to_decimal(2_500_000), "2.5");
    assert_eq!(micros_to_decimal(-125_000), "-0.125");
}

#[test]
fn a_valid_table_round_trips() {
    let body = json!({
        "currency": "EUR", "as_of": "2026-10-01", "source": "my invoice",
        "default": {"marketing": "0.05"},
        "countries": {"BR": {"marketing": "0.0582", "utility": "0.0063"}}
    });
    let t = validate_prices(&body).expect("valid");
    assert_eq!(t.rate(Some("BR"), Category::Utility), Some(Rate(6_300)));
    assert_eq!(serde_json::to_value(&t).unwrap(), body);
}

#[test]
fn every_offending_field_is_named() {
    let body = json!({
        "currency": "usd", "as_of": "2026-13-01", "extra": 1,
        "default": {"marketing": 0.05},
        "countries": {
            "XX": {"marketing": "0.01"},
            "BR": {"marketing": "-1", "promo": "0.01", "utility": "0.0000001"}
        }
    });
    let errors = validate_prices(&body).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "extra",
            "currency",
            "as_of",
            "default.marketing",
            "countries.BR.marketing",
            "countries.BR.promo",
            "countries.BR.utility",
            "countries.XX",
        ]
    );
    assert!(validate_prices(&json!([])).is_err());
    assert!(
        validate_prices(&json!({"currency": "USD", "as_of": "2026-01-01", "countries": []}))
            .is_err()
    );
}

#[test]
fn pricing_is_read_as_meta_sends_it() {
    let p = parse_pricing(Some(&json!({
        "billable": true, "pricing_model": "PMP", "type": "regular", "category": "marketing"
    })))
    .unwrap();
    assert!(p.billable);
    assert_eq!(p.category, "marketing");
    assert_eq!(p.pricing_model.as_deref(), Some("PMP"));
    assert_eq!(p.kind.as_deref(), Some("regular"));
    assert_eq!(parse_pricing(None), None);
    assert_eq!(
        parse_pricing(Some(&json!({"billable": "yes", "category": "x"}))),
        None
    );
    assert_eq!(parse_pricing(Some(&json!({"billable": true}))), None);
    let free = parse_pricing(Some(&json!({"billable": false, "category": "service"}))).unwrap();
    assert_eq!(free.kind, None);
}

#[test]
fn a_charge_is_made_on_delivery_by_country_and_never_on_failure() {
    let pricing = Pricing {
        billable: true,
        category: "marketing".into(),
        pricing_model: Some("PMP".into()),
        kind: Some("regular".into()),
    };
    let phone = Phone::parse("+5511987654321", None).unwrap();
    let c = charge_of(DeliveryStatus::Delivered, Some(&phone), Some(&pricing)).unwrap();
    assert_eq!(c.country.as_deref(), Some("BR"));
    assert!(c.delivered);
    let sent = charge_of(DeliveryStatus::Sent, Some(&phone), Some(&pricing)).unwrap();
    assert!(!sent.delivered);
    assert!(
        charge_of(DeliveryStatus::Read, None, Some(&pricing))
            .unwrap()
            .delivered
    );
    assert_eq!(
        charge_of(DeliveryStatus::Failed, Some(&phone), Some(&pricing)),
        None
    );
    assert_eq!(
        charge_of(DeliveryStatus::Delivered, Some(&phone), None),
        None
    );
}

#[test]
fn cost_prices_what_the_table_knows_and_counts_the_rest() {
    let t = table();
    let billed = |country: Option<&str>, category: &str, n| Billed {
        country: country.map(str::to_owned),
        category: category.into(),
        n,
    };
    let c = cost(
        &t,
        &[
            billed(Some("BR"), "marketing", 3),
            billed(Some("CA"), "marketing_lite", 1),
            billed(None, "marketing", 1),
            billed(Some("BR"), "service", 2),
        ],
    );
    assert_eq!(c.total_micros, 3 * 62_500 + 25_000 + 60_400);
    assert_eq!(c.billable, 7);
    assert_eq!(c.unpriced, 2);
    assert_eq!(c.by_category["marketing"], (4, 3 * 62_500 + 60_400));
    assert_eq!(c.by_category["service"], (2, 0));
    assert_eq!(per_order(c.total_micros, 2), Some("0.13645".into()));
    assert_eq!(per_order(c.total_micros, 0), None);
}
