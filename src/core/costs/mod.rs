//! What the messages cost (docs/rules.md §4, "Cost"): Meta's `pricing` on each status says
//! whether a message is billable and in which category; the merchant's price table, per
//! recipient country, says at what rate. Rates are exact decimals (Meta quotes fractions of a
//! cent), held as millionths of the currency's main unit so totals never pass through a float.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::playbook::validation::FieldError;
use crate::core::values::money::Currency;
use crate::core::values::phone::{is_region, Phone};
use crate::core::whatsapp::inbound::DeliveryStatus;

/// The rates cartback ships: Meta's marketing rates, dated, with where they were read.
const DEFAULT_RATES: &str = include_str!("meta-marketing-rates.json");

/// Millionths of a main unit: Meta's rate cards have four decimals, so six leave room.
const RATE_DECIMALS: usize = 6;
const RATE_SCALE: i64 = 1_000_000;
/// No category of message costs anything near this much (in any currency Meta bills in).
const MAX_RATE: i64 = 100_000 * RATE_SCALE;
const MAX_TEXT_CHARS: usize = 1_000;

/// Meta's pricing categories. The Marketing Messages API reports its sends as
/// `marketing_lite`; they are billed as marketing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Marketing,
    Utility,
    Authentication,
    AuthenticationInternational,
    Service,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Marketing,
        Category::Utility,
        Category::Authentication,
        Category::AuthenticationInternational,
        Category::Service,
    ];

    /// The category a status's `pricing.category` names, if it is one the table can price.
    pub fn of_status(category: &str) -> Option<Category> {
        Some(match category {
            "marketing" | "marketing_lite" => Category::Marketing,
            "utility" => Category::Utility,
            "authentication" => Category::Authentication,
            "authentication_international" => Category::AuthenticationInternational,
            "service" => Category::Service,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Marketing => "marketing",
            Category::Utility => "utility",
            Category::Authentication => "authentication",
            Category::AuthenticationInternational => "authentication_international",
            Category::Service => "service",
        }
    }
}

/// A price per message, in millionths of the table currency's main unit; written as an exact
/// decimal string (`"0.0625"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rate(i64);

impl Rate {
    pub fn micros(self) -> i64 {
        self.0
    }

    /// Reads `"0.0625"`: digits, an optional `.` and at most six decimals, never negative.
    pub fn parse(text: &str) -> Result<Rate, &'static str> {
        const FORMAT: &str = "must be a decimal string such as \"0.0625\"";
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) || text.ends_with('.') {
            return Err(FORMAT);
        }
        if fraction.len() > RATE_DECIMALS {
            return Err("has more than 6 decimals");
        }
        let padded = format!("{whole}{fraction:0<RATE_DECIMALS$}");
        match padded.parse::<i64>() {
            Ok(micros) if micros <= MAX_RATE => Ok(Rate(micros)),
            _ => Err("is implausibly large"),
        }
    }
}

/// `micros` millionths as the shortest exact decimal (`62500` is `"0.0625"`, `0` is `"0"`).
pub fn micros_to_decimal(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let scale = RATE_SCALE as u64;
    let fraction = format!("{:06}", abs % scale);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{sign}{}", abs / scale)
    } else {
        format!("{sign}{}.{fraction}", abs / scale)
    }
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&micros_to_decimal(self.0))
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
        let text = String::deserialize(d)?;
        Rate::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Rates by category; a category without one is counted but not priced.
pub type Rates = BTreeMap<Category, Rate>;

/// The merchant's price table: one currency, rates per recipient country (ISO 3166-1), and
/// the rates of every country not listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriceTable {
    pub currency: Currency,
    /// The day the rates took effect (`YYYY-MM-DD`).
    pub as_of: String,
    /// Where the rates come from.
    pub source: String,
    pub default: Rates,
    pub countries: BTreeMap<String, Rates>,
}

#[derive(Deserialize)]
struct Shipped {
    currency: Currency,
    as_of: String,
    source: String,
    markets: Vec<Market>,
}

#[derive(Deserialize)]
struct Market {
    rate: Rate,
    countries: Vec<String>,
}

impl PriceTable {
    /// The shipped table: a market without countries ("Other") gives the default rate.
    /// `None` only if the shipped file were unreadable, which the tests rule out.
    pub fn defaults() -> Option<PriceTable> {
        let shipped: Shipped = serde_json::from_str(DEFAULT_RATES).ok()?;
        let mut table = PriceTable {
            currency: shipped.currency,
            as_of: shipped.as_of,
            source: shipped.source,
            default: Rates::new(),
            countries: BTreeMap::new(),
        };
        for market in shipped.markets {
            let rates = Rates::from([(Category::Marketing, market.rate)]);
            if market.countries.is_empty() {
                table.default = rates.clone();
            }
            for country in market.countries {
                table.countries.insert(country, rates.clone());
            }
        }
        Some(table)
    }

    /// The rate of a message of `category` to `country` (none known: the default rates).
    pub fn rate(&self, country: Option<&str>, category: Category) -> Option<Rate> {
        country
            .and_then(|c| self.countries.get(c))
            .unwrap_or(&self.default)
            .get(&category)
            .copied()
    }
}

/// Checks a `PUT /api/prices` body, naming every offending field.
pub fn validate_prices(body: &Value) -> Result<PriceTable, Vec<FieldError>> {
    let mut errors = vec![];
    let mut err = |field: &str, message: &str| {
        errors.push(FieldError {
            field: field.to_string(),
            message: message.to_string(),
        })
    };
    let Some(object) = body.as_object() else {
        err("", "must be a JSON object");
        return Err(errors);
    };
    for key in object.keys() {
        if !["currency", "as_of", "source", "default", "countries"].contains(&key.as_str()) {
            err(key, "is not a field of the price table");
        }
    }
    let currency = match object.get("currency").and_then(Value::as_str) {
        Some(code) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) => {
            Currency::parse(code).ok()
        }
        _ => None,
    };
    if currency.is_none() {
        err("currency", "must be an ISO 4217 code such as \"USD\"");
    }
    let as_of = object.get("as_of").and_then(Value::as_str).unwrap_or("");
    if !is_date(as_of) {
        err(
            "as_of",
            "must be the date the rates took effect, YYYY-MM-DD",
        );
    }
    let source = match object.get("source") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if s.chars().count() <= MAX_TEXT_CHARS => s.clone(),
        Some(_) => {
            err("source", "must be a text of at most 1000 characters");
            String::new()
        }
    };
    let default = match object.get("default") {
        None => Rates::new(),
        Some(rates) => rates_of(rates, "default", &mut err),
    };
    let mut countries = BTreeMap::new();
    match object.get("countries") {
        None => {}
        Some(Value::Object(map)) => {
            for (country, rates) in map {
                let field = format!("countries.{country}");
                if !is_region(country) {
                    err(
                        &field,
                        "must be an ISO 3166-1 alpha-2 country code such as \"BR\"",
                    );
                    continue;
                }
                countries.insert(country.clone(), rates_of(rates, &field, &mut err));
            }
        }
        Some(_) => err("countries", "must be an object of country codes"),
    }
    match (errors.is_empty(), currency) {
        (true, Some(currency)) => Ok(PriceTable {
            currency,
            as_of: as_of.to_string(),
            source,
            default,
            countries,
        }),
        _ => Err(errors),
    }
}

fn rates_of(value: &Value, field: &str, err: &mut impl FnMut(&str, &str)) -> Rates {
    let mut rates = Rates::new();
    let Some(map) = value.as_object() else {
        err(field, "must be an object of rates by category");
        return rates;
    };
    for (name, rate) in map {
        let path = format!("{field}.{name}");
        let Some(category) = Category::ALL.into_iter().find(|c| c.as_str() == name) else {
            err(
                &path,
                "is not a category: marketing, utility, authentication, authentication_international or service",
            );
            continue;
        };
        match rate.as_str().map(Rate::parse) {
            Some(Ok(rate)) => {
                rates.insert(category, rate);
            }
            Some(Err(message)) => err(&path, message),
            None => err(&path, "must be a decimal string such as \"0.0625\""),
        }
    }
    rates
}

fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&text[5..7].parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&text[8..10].parse::<u8>().unwrap_or(0))
}

/// A status's `pricing` object, as Meta sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    pub billable: bool,
    /// `marketing`, `utility`, `service`, `marketing_lite`, ...
    pub category: String,
    /// `PMP` (per-message pricing) or the legacy `CBP`.
    pub pricing_model: Option<String>,
    /// `regular`, `free_customer_service`, `free_entry_point`.
    pub kind: Option<String>,
}

const MAX_PRICING_CHARS: usize = 40;

/// Reads `pricing` from a status; without a usable `billable` and `category` it says nothing.
pub fn parse_pricing(value: Option<&Value>) -> Option<Pricing> {
    let value = value?;
    let word = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| {
                !s.is_empty()
                    && s.len() <= MAX_PRICING_CHARS
                    && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            })
            .map(str::to_owned)
    };
    Some(Pricing {
        billable: value.get("billable")?.as_bool()?,
        category: word("category")?,
        pricing_model: word("pricing_model"),
        kind: word("type"),
    })
}

/// One message's charge as the ledger records it: by recipient country, never by phone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    pub country: Option<String>,
    pub pricing: Pricing,
    /// Meta bills on delivery: a `sent` status announces the charge, `delivered` or `read`
    /// (which implies delivered) makes it.
    pub delivered: bool,
}

/// What a status tells about the message's cost. A failed message is never billed.
pub fn charge_of(
    status: DeliveryStatus,
    recipient: Option<&Phone>,
    pricing: Option<&Pricing>,
) -> Option<Charge> {
    let delivered = match status {
        DeliveryStatus::Failed => return None,
        DeliveryStatus::Sent => false,
        DeliveryStatus::Delivered | DeliveryStatus::Read => true,
    };
    Some(Charge {
        country: recipient.and_then(Phone::region).map(str::to_owned),
        pricing: pricing?.clone(),
        delivered,
    })
}

/// Delivered billable messages of one country and pricing category, as the ledger counts them.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Billed {
    pub country: Option<String>,
    pub category: String,
    pub n: i64,
}

/// The cost of a period's messages under a price table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cost {
    pub total_micros: i64,
    pub billable: i64,
    /// Billable messages the table has no rate for (their category is not priced).
    pub unpriced: i64,
    /// Messages and cost per pricing category, as Meta names it.
    pub by_category: BTreeMap<String, (i64, i64)>,
}

pub fn cost(table: &PriceTable, billed: &[Billed]) -> Cost {
    let mut cost = Cost {
        total_micros: 0,
        billable: 0,
        unpriced: 0,
        by_category: BTreeMap::new(),
    };
    for b in billed.iter().filter(|b| b.n > 0) {
        cost.billable += b.n;
        let rate =
            Category::of_status(&b.category).and_then(|c| table.rate(b.country.as_deref(), c));
        let line = cost.by_category.entry(b.category.clone()).or_insert((0, 0));
        line.0 += b.n;
        match rate {
            Some(rate) => {
                let amount = rate.micros().saturating_mul(b.n);
                line.1 = line.1.saturating_add(amount);
                cost.total_micros = cost.total_micros.saturating_add(amount);
            }
            None => cost.unpriced += b.n,
        }
    }
    cost
}

/// The cost per recovered order, as an exact decimal rounded down to the rate precision.
pub fn per_order(total_micros: i64, orders: i64) -> Option<String> {
    (orders > 0).then(|| micros_to_decimal(total_micros / orders))
}

#[cfg(test)]
mod tests;
