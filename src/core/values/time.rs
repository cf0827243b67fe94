//! Time as the core sees it: epoch milliseconds handed in by the caller, never read from a clock.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};

pub const SECOND_MS: i64 = 1_000;
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;

/// Milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Millis(pub i64);

impl Millis {
    /// Parses an RFC 3339 timestamp with any UTC offset, as Shopify writes them
    /// (`2026-10-14T14:09:51-04:00`).
    pub fn parse_rfc3339(s: &str) -> Option<Millis> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| Millis(t.timestamp_millis()))
    }

    pub fn plus_seconds(self, seconds: i64) -> Millis {
        Millis(self.0.saturating_add(seconds.saturating_mul(1000)))
    }

    pub fn plus_millis(self, ms: i64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }

    /// The instant as an RFC 3339 string in UTC, for API answers and logs.
    pub fn to_rfc3339(self) -> String {
        Utc.timestamp_millis_opt(self.0)
            .single()
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_shopify_offsets_into_utc() {
        let t = Millis::parse_rfc3339("2026-10-14T14:09:51-04:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-10-14T18:09:51.000Z");
        assert_eq!(Millis::parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn arithmetic_saturates_instead_of_overflowing() {
        assert_eq!(Millis(i64::MAX).plus_seconds(10), Millis(i64::MAX));
        assert_eq!(Millis(0).plus_seconds(2), Millis(2000));
    }
}
