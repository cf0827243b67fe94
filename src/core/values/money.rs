//! Exact money: a whole number of minor units (cents, yen, fils) tagged with its ISO 4217
//! currency.
//!
//! Shopify sends prices as decimal strings and WhatsApp wants integers, so amounts never pass
//! through a float: a float would turn "215.95" into 215.94999… and cents would go missing in
//! totals, thresholds and templates.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// No-break space: keeps a symbol and its number on one line.
const NBSP: &str = "\u{a0}";

/// An ISO 4217 currency code: three ASCII letters, stored uppercase.
///
/// Codes are not checked against the ISO list, so a currency newer than this table still
/// parses; it just gets the common exponent of 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Reads a code such as `"USD"`; lowercase is accepted and uppercased.
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        match *code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(u8::is_ascii_alphabetic) => Ok(Currency([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => Err(MoneyError::InvalidCurrency),
        }
    }

    /// The code, e.g. `"USD"`.
    pub fn as_str(&self) -> &str {
        // Always ASCII by construction; "XXX" is ISO 4217's own "no currency".
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Decimal places of the minor unit, per ISO 4217.
    pub fn exponent(&self) -> u32 {
        match &self.0 {
            b"BIF" | b"CLP" | b"DJF" | b"GNF" | b"ISK" | b"JPY" | b"KMF" | b"KRW" | b"PYG"
            | b"RWF" | b"UGX" | b"UYI" | b"VND" | b"VUV" | b"XAF" | b"XOF" | b"XPF" => 0,
            b"BHD" | b"IQD" | b"JOD" | b"KWD" | b"LYD" | b"OMR" | b"TND" => 3,
            b"CLF" | b"UYW" => 4,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;

    fn try_from(code: String) -> Result<Self, Self::Error> {
        Currency::parse(&code)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> String {
        currency.as_str().to_owned()
    }
}

/// An exact amount of one currency, in minor units.
///
/// Amounts of different currencies are never equal and never ordered: `partial_cmp` gives
/// `None` across currencies, so a step condition cannot silently compare USD with EUR.
/// Serialized as `{"amount": "215.95", "currency": "USD"}`; deserializing validates both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "MoneyRepr", into = "MoneyRepr")]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// An amount already counted in minor units (`21595` USD is $215.95).
    pub const fn from_minor(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Reads a Shopify decimal string such as `"215.95"` in `currency`.
    ///
    /// Accepts an optional leading `-`, digits, and an optional `.` followed by digits. Digits
    /// past the currency's exponent must be zeros (`"1500.00"` JPY is fine, `"1.005"` USD is
    /// not): rounding would invent or lose money. Signs other than `-`, exponents, grouping,
    /// spaces and non-ASCII digits are refused, as is anything beyond `i64` minor units.
    pub fn parse(decimal: &str, currency: &str) -> Result<Money, MoneyError> {
        let currency = Currency::parse(currency)?;
        if decimal.is_empty() {
            return Err(MoneyError::Empty);
        }
        let (negative, unsigned) = match decimal.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, decimal),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
        let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !is_digits(whole) || !is_digits(fraction) {
            return Err(MoneyError::InvalidFormat);
        }
        let exponent = currency.exponent() as usize;
        let (kept, extra) = fraction.as_bytes().split_at(exponent.min(fraction.len()));
        if extra.iter().any(|&b| b != b'0') {
            return Err(MoneyError::TooPrecise(currency));
        }
        let padding = std::iter::repeat_n(b'0', exponent - kept.len());
        let minor = whole
            .bytes()
            .chain(kept.iter().copied())
            .chain(padding)
            // Counted towards the sign, so the whole i64 range reads, i64::MIN included.
            .try_fold(0i64, |acc, digit| {
                let digit = i64::from(digit - b'0');
                let acc = acc.checked_mul(10)?;
                if negative {
                    acc.checked_sub(digit)
                } else {
                    acc.checked_add(digit)
                }
            })
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, currency })
    }

    /// The amount in minor units (cents for USD, yen for JPY, fils for KWD).
    pub fn minor(&self) -> i64 {
        self.minor
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount as Shopify writes it: `"215.95"`, `"1500"` (JPY), `"12.345"` (KWD), `"-3.50"`.
    pub fn to_decimal_string(&self) -> String {
        let (negative, whole, fraction) = self.parts();
        let sign = if negative { "-" } else { "" };
        if fraction.is_empty() {
            format!("{sign}{whole}")
        } else {
            format!("{sign}{whole}.{fraction}")
        }
    }

    /// The amount times 1000, as WhatsApp's `currency` template parameter wants it
    /// (`amount_1000`). `None` if that overflows `i64`, or for four-decimal currencies (CLF,
    /// UYW) when the result would not be exact.
    pub fn amount_1000(&self) -> Option<i64> {
        match self.currency.exponent() {
            exponent @ 0..=3 => self.minor.checked_mul(10i64.pow(3 - exponent)),
            exponent => {
                let divisor = 10i64.pow(exponent - 3);
                (self.minor % divisor == 0).then_some(self.minor / divisor)
            }
        }
    }

    /// Orders two amounts of the same currency; `None` when the currencies differ.
    pub fn cmp_same_currency(&self, other: &Money) -> Option<Ordering> {
        (self.currency == other.currency).then(|| self.minor.cmp(&other.minor))
    }

    /// The amount as a shopper reading `locale` (Shopify's `customer_locale`) expects it.
    ///
    /// | locale | example |
    /// |---|---|
    /// | `en`, `ja`, `es-MX`, `es-US` and any language not below | `$1,234.56`, `¥1,500` |
    /// | `pt-BR` | `R$ 1.234,56` |
    /// | `de`, `es`, `it`, `pt` (other than BR) | `1.234,56 €` |
    /// | `fr` | `1 234,56 €` (U+202F between groups) |
    /// | `nl` | `€ 1.234,56`, `€ -1.234,56` (CLDR; Dutch puts the symbol first) |
    ///
    /// Spaces next to the symbol are no-break spaces (U+00A0). The symbol is `€`, `£`, `R$`,
    /// `¥` (JPY, also in `ja`, as Shopify's default JPY format writes it) or `₹`; a dollar or
    /// peso is a bare `$` only in its home region (USD also when the locale names none) and
    /// otherwise `US$`, `CA$`, `A$`, `MX$`. Other currencies, CHF included, show their ISO
    /// code. Digits follow the currency's exponent, so JPY has no decimals. Regional grouping
    /// such as India's lakh or Switzerland's apostrophe is not applied.
    pub fn format(&self, locale: &str) -> String {
        let (language, region) = split_locale(locale);
        let style = Style::of(language, region);
        let symbol = symbol(self.currency, region).unwrap_or_else(|| self.currency.as_str());

        let (negative, whole, fraction) = self.parts();
        let mut number = String::new();
        if negative {
            number.push('-');
        }
        let whole = whole.to_string();
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                number.push_str(style.group);
            }
            number.push(digit);
        }
        if !fraction.is_empty() {
            number.push(style.decimal);
            number.push_str(&fraction);
        }

        if !style.symbol_first {
            return format!("{number}{NBSP}{symbol}");
        }
        let spaced = style.spaced || symbol.ends_with(|c: char| c.is_ascii_alphabetic());
        let gap = if spaced { NBSP } else { "" };
        match number.strip_prefix('-') {
            Some(unsigned) if !style.sign_after_symbol => format!("-{symbol}{gap}{unsigned}"),
            _ => format!("{symbol}{gap}{number}"),
        }
    }

    /// Sign, whole units, and the fraction digits zero-padded to the exponent.
    fn parts(&self) -> (bool, u64, String) {
        let exponent = self.currency.exponent();
        let scale = 10u64.pow(exponent);
        let magnitude = self.minor.unsigned_abs();
        let fraction = if exponent == 0 {
            String::new()
        } else {
            format!("{:0width$}", magnitude % scale, width = exponent as usize)
        };
        (self.minor < 0, magnitude / scale, fraction)
    }
}

impl PartialOrd for Money {
    fn partial_cmp(&self, other: &Money) -> Option<Ordering> {
        self.cmp_same_currency(other)
    }
}

/// The wire form of [`Money`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoneyRepr {
    amount: String,
    currency: String,
}

impl TryFrom<MoneyRepr> for Money {
    type Error = MoneyError;

    fn try_from(repr: MoneyRepr) -> Result<Self, Self::Error> {
        Money::parse(&repr.amount, &repr.currency)
    }
}

impl From<Money> for MoneyRepr {
    fn from(money: Money) -> MoneyRepr {
        MoneyRepr {
            amount: money.to_decimal_string(),
            currency: money.currency.into(),
        }
    }
}

/// Why an amount or currency was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyError {
    /// The amount string is empty.
    Empty,
    /// Not a plain decimal such as `215.95`.
    InvalidFormat,
    /// Not three ASCII letters.
    InvalidCurrency,
    /// Non-zero digits beyond what the currency's minor unit can hold.
    TooPrecise(Currency),
    /// Does not fit in `i64` minor units.
    Overflow,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::Empty => f.write_str("amount is empty"),
            MoneyError::InvalidFormat => {
                f.write_str("amount is not a plain decimal number such as 215.95")
            }
            MoneyError::InvalidCurrency => {
                f.write_str("currency is not a three-letter ISO 4217 code")
            }
            MoneyError::TooPrecise(currency) => write!(
                f,
                "amount has more decimals than {currency} allows ({})",
                currency.exponent()
            ),
            MoneyError::Overflow => f.write_str("amount is too large"),
        }
    }
}

impl std::error::Error for MoneyError {}

/// How a locale family writes an amount.
struct Style {
    group: &'static str,
    decimal: char,
    symbol_first: bool,
    /// A no-break space between a leading symbol and the number even when the symbol is `$`.
    spaced: bool,
    /// The minus goes between symbol and number (`€ -5,00`) instead of before the symbol.
    sign_after_symbol: bool,
}

impl Style {
    const ENGLISH: Style = Style {
        group: ",",
        decimal: '.',
        symbol_first: true,
        spaced: false,
        sign_after_symbol: false,
    };
    const BRAZILIAN: Style = Style {
        group: ".",
        decimal: ',',
        symbol_first: true,
        spaced: true,
        sign_after_symbol: false,
    };
    const CONTINENTAL: Style = Style {
        group: ".",
        decimal: ',',
        symbol_first: false,
        spaced: true,
        sign_after_symbol: false,
    };
    const FRENCH: Style = Style {
        group: "\u{202f}",
        decimal: ',',
        symbol_first: false,
        spaced: true,
        sign_after_symbol: false,
    };
    const DUTCH: Style = Style {
        group: ".",
        decimal: ',',
        symbol_first: true,
        spaced: true,
        sign_after_symbol: true,
    };

    fn of(language: &str, region: Option<&str>) -> &'static Style {
        let in_region = |code: &str| region.is_some_and(|r| r.eq_ignore_ascii_case(code));
        match language.to_ascii_lowercase().as_str() {
            "pt" if in_region("BR") => &Style::BRAZILIAN,
            "es" if in_region("MX") || in_region("US") => &Style::ENGLISH,
            "de" | "es" | "it" | "pt" => &Style::CONTINENTAL,
            "fr" => &Style::FRENCH,
            "nl" => &Style::DUTCH,
            _ => &Style::ENGLISH,
        }
    }
}

/// Language and region (the first two-letter subtag after it) of a tag like `pt-BR` or `en_CA`.
fn split_locale(locale: &str) -> (&str, Option<&str>) {
    let mut subtags = locale.trim().split(['-', '_']);
    let language = subtags.next().unwrap_or_default();
    let region = subtags.find(|s| s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()));
    (language, region)
}

/// The symbol for `currency` as seen from `region`, or `None` to show the ISO code.
fn symbol(currency: Currency, region: Option<&str>) -> Option<&'static str> {
    let home = |code: &str| region.is_some_and(|r| r.eq_ignore_ascii_case(code));
    Some(match currency.as_str() {
        "USD" if region.is_none() || home("US") => "$",
        "USD" => "US$",
        "CAD" if home("CA") => "$",
        "CAD" => "CA$",
        "AUD" if home("AU") => "$",
        "AUD" => "A$",
        "MXN" if home("MX") => "$",
        "MXN" => "MX$",
        "EUR" => "€",
        "GBP" => "£",
        "BRL" => "R$",
        "JPY" => "¥",
        "INR" => "₹",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(decimal: &str, currency: &str) -> Money {
        Money::parse(decimal, currency).unwrap()
    }

    fn currency(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn currencies() {
        assert_eq!(currency("USD").as_str(), "USD");
        assert_eq!(currency("eur").as_str(), "EUR");
        assert_eq!(currency("Jpy").to_string(), "JPY");
        for bad in ["", "US", "USDX", "U$D", "123", "ÜSD", "US ", "€", "💶💶💶"] {
            assert_eq!(
                Currency::parse(bad),
                Err(MoneyError::InvalidCurrency),
                "{bad}"
            );
        }
        for (code, exponent) in [
            ("USD", 2),
            ("EUR", 2),
            ("BRL", 2),
            ("HUF", 2),
            ("QQQ", 2),
            ("JPY", 0),
            ("KRW", 0),
            ("CLP", 0),
            ("VND", 0),
            ("ISK", 0),
            ("UGX", 0),
            ("XAF", 0),
            ("XOF", 0),
            ("BHD", 3),
            ("IQD", 3),
            ("JOD", 3),
            ("KWD", 3),
            ("LYD", 3),
            ("OMR", 3),
            ("TND", 3),
            ("CLF", 4),
        ] {
            assert_eq!(currency(code).exponent(), exponent, "{code}");
        }
    }

    #[test]
    fn parses_shopify_decimals() {
        assert_eq!(money("215.95", "USD").minor(), 21595);
        assert_eq!(money("0.00", "USD").minor(), 0);
        assert_eq!(money("1500", "USD").minor(), 150000);
        assert_eq!(money("0.5", "USD").minor(), 50);
        assert_eq!(money("1.950", "USD").minor(), 195);
        assert_eq!(money("007.10", "USD").minor(), 710);
        assert_eq!(money("1500", "JPY").minor(), 1500);
        assert_eq!(money("1500.00", "JPY").minor(), 1500);
        assert_eq!(money("12.345", "KWD").minor(), 12345);
        assert_eq!(money("12.3", "KWD").minor(), 12300);
        assert_eq!(money("-3.50", "USD").minor(), -350);
        assert_eq!(money("-0.00", "USD").minor(), 0);
        assert_eq!(money("215.95", "usd").currency(), currency("USD"));
        assert_eq!(money("1.2345", "CLF").minor(), 12345);
        assert_eq!(
            money("92233720368547758.07", "USD").minor(),
            i64::MAX,
            "the largest amount that fits"
        );
    }

    #[test]
    fn refuses_what_it_would_have_to_guess() {
        assert_eq!(
            Money::parse("1500.5", "JPY"),
            Err(MoneyError::TooPrecise(currency("JPY")))
        );
        assert_eq!(
            Money::parse("1.005", "USD"),
            Err(MoneyError::TooPrecise(currency("USD")))
        );
        assert_eq!(
            Money::parse("1.0001", "KWD"),
            Err(MoneyError::TooPrecise(currency("KWD")))
        );
        assert_eq!(Money::parse("", "USD"), Err(MoneyError::Empty));
        assert_eq!(Money::parse("1.00", "US"), Err(MoneyError::InvalidCurrency));
        assert_eq!(Money::parse("", ""), Err(MoneyError::InvalidCurrency));
        for bad in [
            "-",
            ".",
            ".5",
            "5.",
            "-.5",
            "1e5",
            "1E5",
            "1,000.00",
            "1 000",
            " 1.00",
            "1.00 ",
            "+1.00",
            "--1",
            "1.2.3",
            "1-",
            "NaN",
            "nan",
            "inf",
            "-Infinity",
            "0x10",
            "١٢٣",
            "１２３",
            "½",
            "1.٥",
            "💵",
            "1\u{0}",
            "\u{200b}1",
        ] {
            assert_eq!(
                Money::parse(bad, "USD"),
                Err(MoneyError::InvalidFormat),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn overflow_is_an_error() {
        for big in [
            "92233720368547758.08",
            "-92233720368547758.09",
            "9223372036854775807",
            "99999999999999999999999999999999999999",
        ] {
            assert_eq!(Money::parse(big, "USD"), Err(MoneyError::Overflow), "{big}");
        }
        assert_eq!(money("9223372036854775807", "JPY").minor(), i64::MAX);
        assert_eq!(
            Money::parse("9223372036854775808", "JPY"),
            Err(MoneyError::Overflow)
        );
        let huge = format!("1{}", "0".repeat(10_000));
        assert_eq!(Money::parse(&huge, "USD"), Err(MoneyError::Overflow));
        let zeros = format!("1.{}", "0".repeat(10_000));
        assert_eq!(money(&zeros, "USD").minor(), 100);
    }

    /// Found by fuzzing (`fuzz/regressions/money`): the smallest amount wrote out as
    /// `-92233720368547758.08` and read back as an overflow, so it did not survive serde.
    #[test]
    fn the_smallest_amount_reads_back() {
        let usd = Currency::parse("USD").unwrap();
        for minor in [i64::MIN, i64::MIN + 1, i64::MAX, -1, 0] {
            let m = Money::from_minor(minor, usd);
            assert_eq!(
                Money::parse(&m.to_decimal_string(), "USD"),
                Ok(m),
                "{minor}"
            );
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        }
        assert_eq!(money("-92233720368547758.08", "USD").minor(), i64::MIN);
        assert_eq!(money("-9223372036854775808", "JPY").minor(), i64::MIN);
        assert_eq!(
            Money::parse("-9223372036854775809", "JPY"),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn decimal_strings() {
        for (decimal, code) in [
            ("215.95", "USD"),
            ("0.00", "USD"),
            ("0.05", "USD"),
            ("-0.05", "USD"),
            ("-3.50", "USD"),
            ("1500", "JPY"),
            ("12.345", "KWD"),
            ("0.001", "KWD"),
            ("1.2345", "CLF"),
        ] {
            assert_eq!(money(decimal, code).to_decimal_string(), decimal);
        }
        assert_eq!(money("1500.00", "JPY").to_decimal_string(), "1500");
        assert_eq!(money("12.3", "KWD").to_decimal_string(), "12.300");
        assert_eq!(
            Money::from_minor(i64::MIN, currency("USD")).to_decimal_string(),
            "-92233720368547758.08"
        );
    }

    #[test]
    fn amount_1000_is_exact() {
        assert_eq!(money("215.95", "USD").amount_1000(), Some(215_950));
        assert_eq!(money("-3.50", "USD").amount_1000(), Some(-3_500));
        assert_eq!(money("1500", "JPY").amount_1000(), Some(1_500_000));
        assert_eq!(money("12.345", "KWD").amount_1000(), Some(12_345));
        assert_eq!(money("1.2340", "CLF").amount_1000(), Some(1_234));
        assert_eq!(money("1.2345", "CLF").amount_1000(), None);
        assert_eq!(
            Money::from_minor(i64::MAX, currency("USD")).amount_1000(),
            None
        );
        assert_eq!(
            Money::from_minor(i64::MIN, currency("JPY")).amount_1000(),
            None
        );
    }

    #[test]
    fn compares_only_within_a_currency() {
        let (cheap, dear) = (money("9.99", "USD"), money("215.95", "USD"));
        assert_eq!(cheap.cmp_same_currency(&dear), Some(Ordering::Less));
        assert_eq!(dear.cmp_same_currency(&cheap), Some(Ordering::Greater));
        assert_eq!(
            cheap.cmp_same_currency(&money("9.990", "USD")),
            Some(Ordering::Equal)
        );
        assert!(cheap < dear && dear >= cheap);

        let euros = money("215.95", "EUR");
        assert_eq!(dear.cmp_same_currency(&euros), None);
        assert_ne!(dear, euros);
        assert_eq!(dear.partial_cmp(&euros), None);
        let comparisons = [dear < euros, dear > euros, dear <= euros, dear >= euros];
        assert_eq!(
            comparisons, [false; 4],
            "every operator is false across currencies"
        );
    }

    #[test]
    fn serde_round_trip_validates() {
        let total = money("215.95", "USD");
        let json = serde_json::to_value(total).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"amount": "215.95", "currency": "USD"})
        );
        assert_eq!(serde_json::from_value::<Money>(json).unwrap(), total);
        let yen: Money = serde_json::from_str(r#"{"amount":"1500","currency":"JPY"}"#).unwrap();
        assert_eq!(yen.minor(), 1500);

        for bad in [
            r#"{"amount":215.95,"currency":"USD"}"#,
            r#"{"amount":"1.005","currency":"USD"}"#,
            r#"{"amount":"NaN","currency":"USD"}"#,
            r#"{"amount":"1.00","currency":"US"}"#,
            r#"{"amount":"1.00"}"#,
            r#"{"amount":"1.00","currency":"USD","extra":1}"#,
            r#""215.95 USD""#,
        ] {
            assert!(serde_json::from_str::<Money>(bad).is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&currency("EUR")).unwrap(), r#""EUR""#);
        assert!(serde_json::from_str::<Currency>(r#""EURO""#).is_err());
    }

    #[test]
    fn formats_for_the_shoppers_locale() {
        let nbsp = '\u{a0}';
        let usd = money("1234.56", "USD");
        assert_eq!(usd.format("en"), "$1,234.56");
        assert_eq!(usd.format("en-US"), "$1,234.56");
        assert_eq!(usd.format("en-CA"), "US$1,234.56");
        assert_eq!(money("215.95", "USD").format("en"), "$215.95");

        let cad = money("1234.56", "CAD");
        assert_eq!(cad.format("en-CA"), "$1,234.56");
        assert_eq!(cad.format("en_ca"), "$1,234.56");
        assert_eq!(cad.format("en"), "CA$1,234.56");
        assert_eq!(cad.format("fr-CA"), "1\u{202f}234,56\u{a0}$");

        let brl = money("1234.56", "BRL");
        assert_eq!(brl.format("pt-BR"), format!("R${nbsp}1.234,56"));
        assert_eq!(
            money("-1234.56", "BRL").format("pt-BR"),
            format!("-R${nbsp}1.234,56")
        );

        let eur = money("1234.56", "EUR");
        for locale in ["de", "de-DE", "es", "es-ES", "it", "pt", "pt-PT"] {
            assert_eq!(eur.format(locale), format!("1.234,56{nbsp}€"), "{locale}");
        }
        assert_eq!(eur.format("fr"), "1\u{202f}234,56\u{a0}€");
        assert_eq!(eur.format("nl"), format!("€{nbsp}1.234,56"));
        assert_eq!(
            money("-1234.56", "EUR").format("nl"),
            format!("€{nbsp}-1.234,56")
        );
        assert_eq!(
            money("-1234.56", "EUR").format("de"),
            format!("-1.234,56{nbsp}€")
        );
        assert_eq!(eur.format("en"), "€1,234.56");

        let yen = money("1500", "JPY");
        assert_eq!(yen.format("ja"), "¥1,500");
        assert_eq!(yen.format("en"), "¥1,500");
        assert_eq!(yen.format("de"), format!("1.500{nbsp}¥"));
        assert_eq!(money("1234567", "JPY").format("ja-JP"), "¥1,234,567");

        assert_eq!(money("-1234.56", "USD").format("en"), "-$1,234.56");
        assert_eq!(money("0.05", "GBP").format("en-GB"), "£0.05");
        assert_eq!(money("999", "GBP").format("en"), "£999.00");
        assert_eq!(money("1000", "INR").format("en-IN"), "₹1,000.00");
        assert_eq!(money("5", "AUD").format("en-AU"), "$5.00");
        assert_eq!(money("5", "AUD").format("en"), "A$5.00");
        assert_eq!(money("1234.56", "MXN").format("es-MX"), "$1,234.56");
        assert_eq!(
            money("1234.56", "MXN").format("es"),
            format!("1.234,56{nbsp}MX$")
        );
        assert_eq!(money("1234.56", "MXN").format("en"), "MX$1,234.56");
    }

    #[test]
    fn other_currencies_show_their_code() {
        let nbsp = '\u{a0}';
        assert_eq!(
            money("1234.5", "CHF").format("en"),
            format!("CHF{nbsp}1,234.50")
        );
        assert_eq!(
            money("1234.5", "CHF").format("de-CH"),
            format!("1.234,50{nbsp}CHF")
        );
        assert_eq!(
            money("12.345", "KWD").format("en"),
            format!("KWD{nbsp}12.345")
        );
        assert_eq!(money("-12", "SEK").format("en"), format!("-SEK{nbsp}12.00"));
        assert_eq!(money("12", "SEK").format("fr"), format!("12,00{nbsp}SEK"));
        assert_eq!(
            money("1000000", "KRW").format("en"),
            format!("KRW{nbsp}1,000,000")
        );
    }

    #[test]
    fn odd_locales_fall_back_to_english() {
        let usd = money("1234.56", "USD");
        for locale in ["", "zz", "zh-Hant-TW", "-", "__", "😀", "EN", "x-klingon-"] {
            let formatted = usd.format(locale);
            assert!(formatted.ends_with("1,234.56"), "{locale:?}: {formatted}");
        }
        assert_eq!(usd.format("zh-Hant-TW"), "US$1,234.56");
        assert_eq!(
            usd.format("DE-de"),
            "1.234,56\u{a0}US$",
            "case does not matter"
        );
        let extreme = Money::from_minor(i64::MIN, currency("USD"));
        assert_eq!(extreme.format("en"), "-$92,233,720,368,547,758.08");
        assert_eq!(
            Money::from_minor(i64::MAX, currency("EUR")).format("fr"),
            "92\u{202f}233\u{202f}720\u{202f}368\u{202f}547\u{202f}758,07\u{a0}€"
        );
    }

    #[test]
    fn errors_read_well() {
        assert_eq!(
            MoneyError::TooPrecise(currency("JPY")).to_string(),
            "amount has more decimals than JPY allows (0)"
        );
        let error: Box<dyn std::error::Error> = Box::new(MoneyError::InvalidFormat);
        assert_eq!(
            error.to_string(),
            "amount is not a plain decimal number such as 215.95"
        );
    }
}
