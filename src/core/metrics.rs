//! How journeys are grouped and counted for the merchant's dashboard (DESIGN.md §8).

use crate::core::values::money::Money;

/// The cart-value tier a journey belongs to, in the cart's currency's major units.
pub fn segment(total: Option<&Money>) -> &'static str {
    let Some(total) = total else {
        return "unknown";
    };
    let unit = 10i64.pow(total.currency().exponent());
    // Zero-decimal currencies with small units (JPY, KRW) are scaled to comparable tiers.
    let scale = match total.currency().as_str() {
        "JPY" | "KRW" | "CLP" | "ISK" | "HUF" | "VND" | "IDR" | "COP" | "UGX" | "PYG" => 100,
        _ => 1,
    };
    match total.minor() / unit / scale {
        m if m < 50 => "small",
        m if m < 150 => "medium",
        _ => "large",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers() {
        let m = |a: &str, c: &str| Money::parse(a, c).unwrap();
        assert_eq!(segment(Some(&m("49.99", "USD"))), "small");
        assert_eq!(segment(Some(&m("215.95", "USD"))), "large");
        assert_eq!(segment(Some(&m("9000", "JPY"))), "medium");
        assert_eq!(segment(None), "unknown");
    }
}
