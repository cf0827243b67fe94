//! The time-zone database the Worker reads quiet hours by: the JavaScript runtime's own,
//! through `Intl.DateTimeFormat`, rather than a copy inside the wasm
//! (`core::gate::zone_rules`).

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::NaiveDate;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::js_sys::{Array, Object, Reflect};

use crate::core::gate::zone_rules::ZoneRules;
use crate::core::values::time::Millis;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Intl)]
    type DateTimeFormat;

    /// Throws a RangeError for a zone the runtime does not know.
    #[wasm_bindgen(constructor, catch, js_namespace = Intl)]
    fn new(locale: &str, options: &Object) -> std::result::Result<DateTimeFormat, JsValue>;

    #[wasm_bindgen(method, catch, js_name = formatToParts)]
    fn format_to_parts(this: &DateTimeFormat, at: f64) -> std::result::Result<Array, JsValue>;
}

/// The runtime's zones; formatters are built once per zone and isolate (building one costs far
/// more than using it).
#[derive(Debug, Default, Clone, Copy)]
pub struct IntlZones;

thread_local! {
    static FORMATS: RefCell<HashMap<String, Option<DateTimeFormat>>> = RefCell::new(HashMap::new());
}

/// Zones kept per isolate at most: the real ones number a few hundred, and a shop record with
/// an odd name must not grow the cache without end.
const MAX_FORMATS: usize = 1024;

/// The calendar `Intl` answers in without eras: years 1 to 9999.
const FIRST_MS: i64 = -62_135_596_800_000;
const LAST_MS: i64 = 253_402_300_799_999;

impl ZoneRules for IntlZones {
    fn knows(&self, zone: &str) -> bool {
        with_format(zone, |f| f.is_some())
    }

    fn utc_offset(&self, zone: &str, at: Millis) -> Option<i32> {
        if !(FIRST_MS..=LAST_MS).contains(&at.0) {
            return None;
        }
        let parts = with_format(zone, |f| f.map(|f| f.format_to_parts(at.0 as f64)))?.ok()?;
        let local = wall_clock(&parts)?;
        let second = at.0 - at.0.rem_euclid(1000);
        i32::try_from((local - second) / 1000).ok()
    }
}

fn with_format<T>(zone: &str, read: impl FnOnce(Option<&DateTimeFormat>) -> T) -> T {
    FORMATS.with(|formats| {
        let mut formats = formats.borrow_mut();
        if !formats.contains_key(zone) {
            if formats.len() >= MAX_FORMATS {
                formats.clear();
            }
            formats.insert(zone.to_owned(), format_for(zone));
        }
        read(formats.get(zone).and_then(Option::as_ref))
    })
}

/// A formatter that writes every field of the wall clock in `zone` as plain numbers.
fn format_for(zone: &str) -> Option<DateTimeFormat> {
    if zone.is_empty() {
        return None;
    }
    let options = Object::new();
    let fields = [
        ("timeZone", zone),
        ("hourCycle", "h23"),
        ("calendar", "iso8601"),
        ("numberingSystem", "latn"),
        ("year", "numeric"),
        ("month", "numeric"),
        ("day", "numeric"),
        ("hour", "numeric"),
        ("minute", "numeric"),
        ("second", "numeric"),
    ];
    for (key, value) in fields {
        Reflect::set(&options, &key.into(), &value.into()).ok()?;
    }
    DateTimeFormat::new("en-US", &options).ok()
}

/// The wall clock `formatToParts` wrote, as milliseconds of a UTC calendar.
fn wall_clock(parts: &Array) -> Option<i64> {
    let mut fields = [None::<u32>; 6];
    const NAMES: [&str; 6] = ["year", "month", "day", "hour", "minute", "second"];
    for part in parts.iter() {
        let kind = Reflect::get(&part, &"type".into()).ok()?.as_string()?;
        let Some(i) = NAMES.iter().position(|n| *n == kind) else {
            continue;
        };
        let value = Reflect::get(&part, &"value".into()).ok()?;
        fields[i] = value
            .dyn_ref::<worker::js_sys::JsString>()?
            .as_string()?
            .parse()
            .ok();
    }
    let [year, month, day, hour, minute, second] = fields;
    let date = NaiveDate::from_ymd_opt(i32::try_from(year?).ok()?, month?, day?)?;
    let time = date.and_hms_opt(hour?, minute?, second?)?;
    Some(time.and_utc().timestamp_millis())
}
