//! Cart-value segments: the optimizer learns apart for small, medium and large carts, since what
//! brings back a 20-dollar cart (a reminder) and a 300-dollar one (perhaps an offer) differ.
//!
//! Tiers are in the cart's currency's major units: below 50, below 150, and 150 or more (the
//! default offer's threshold). Zero-decimal currencies whose unit is small (JPY, KRW, ...) are
//! scaled by 100 so ¥9,000 is a medium cart like $90. A cart without a total is `unknown`.

use serde::{Deserialize, Serialize};

use crate::core::values::money::Money;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    Small,
    Medium,
    Large,
    Unknown,
}

impl Segment {
    pub const ALL: [Segment; 4] = [
        Segment::Small,
        Segment::Medium,
        Segment::Large,
        Segment::Unknown,
    ];

    pub fn of(total: Option<&Money>) -> Segment {
        let Some(total) = total else {
            return Segment::Unknown;
        };
        let unit = 10i64.pow(total.currency().exponent());
        let scale = match total.currency().as_str() {
            "JPY" | "KRW" | "CLP" | "ISK" | "HUF" | "VND" | "IDR" | "COP" | "UGX" | "PYG" => 100,
            _ => 1,
        };
        match total.minor() / unit / scale {
            m if m < 50 => Segment::Small,
            m if m < 150 => Segment::Medium,
            _ => Segment::Large,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Segment::Small => "small",
            Segment::Medium => "medium",
            Segment::Large => "large",
            Segment::Unknown => "unknown",
        }
    }
}
