//! The rules of the world's clocks (the IANA time-zone database), which quiet hours read and
//! the core cannot compute: it is handed them, like `now`.
//!
//! The Worker asks the JavaScript runtime's copy (`Intl`, `platform::zones`), which every
//! isolate carries already: shipping a second one inside the wasm would cost ~115 KiB gzip.
//! Native builds (tests, benchmarks, fuzzing) read chrono-tz's, below.

use std::fmt::Debug;

use crate::core::values::time::Millis;

pub trait ZoneRules: Debug {
    /// Whether `zone` names a zone these rules know (`Europe/Lisbon`, `UTC`).
    fn knows(&self, zone: &str) -> bool;

    /// How far the wall clock of `zone` is ahead of UTC at `at`, in seconds; `None` for a zone
    /// the rules do not know or an instant outside their calendar.
    fn utc_offset(&self, zone: &str, at: Millis) -> Option<i32>;
}

/// chrono-tz's copy of the database, for native builds.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default, Clone, Copy)]
pub struct TzDatabase;

#[cfg(not(target_arch = "wasm32"))]
impl ZoneRules for TzDatabase {
    fn knows(&self, zone: &str) -> bool {
        zone.parse::<chrono_tz::Tz>().is_ok()
    }

    fn utc_offset(&self, zone: &str, at: Millis) -> Option<i32> {
        use chrono::{Offset, TimeZone};
        let zone: chrono_tz::Tz = zone.parse().ok()?;
        let utc = chrono::DateTime::from_timestamp_millis(at.0)?.naive_utc();
        Some(zone.offset_from_utc_datetime(&utc).fix().local_minus_utc())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_from_the_database() {
        let at = |s: &str| Millis::parse_rfc3339(s).unwrap();
        let db = TzDatabase;
        assert!(db.knows("Europe/Lisbon") && db.knows("UTC"));
        assert!(!db.knows("Mars/Olympus_Mons") && !db.knows(""));
        assert_eq!(
            db.utc_offset("Asia/Kolkata", at("2026-06-01T00:00:00Z")),
            Some(19_800)
        );
        assert_eq!(
            db.utc_offset("Europe/Lisbon", at("2026-01-10T10:00:00Z")),
            Some(0)
        );
        assert_eq!(
            db.utc_offset("Europe/Lisbon", at("2026-07-10T10:00:00Z")),
            Some(3_600)
        );
        assert_eq!(
            db.utc_offset("America/Nowhere", at("2026-07-10T10:00:00Z")),
            None
        );
    }
}
