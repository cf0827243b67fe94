//! Phone numbers normalized to E.164 (`+` and at most 15 digits), the form WhatsApp addresses
//! people by.
//!
//! Shopify phones are typed by shoppers, so [`Phone::parse`] accepts the usual ways of writing a
//! number and refuses anything it would have to guess: a number we cannot place exactly could
//! send a cart reminder to a stranger. Country data is a hand-written table (calling codes,
//! trunk prefixes, national lengths for the main markets) instead of a full numbering-plan crate,
//! to keep the wasm bundle small.

use std::fmt;

use serde::{Deserialize, Serialize};

/// E.164 caps a number, country calling code included, at 15 digits.
const MAX_DIGITS: usize = 15;

/// Longest digit run worth reading: `00` + 15 digits, or a two-digit trunk prefix + 14.
const MAX_SCANNED: usize = MAX_DIGITS + 2;

/// Lengths of the national (significant) number where these markets fix them; international
/// codes not listed get [`FALLBACK_LENGTHS`].
const NATIONAL_LENGTHS: &[(&str, usize, usize)] = &[
    ("1", 10, 10),
    ("7", 10, 10),
    ("27", 9, 9),
    ("31", 9, 9),
    ("33", 9, 9),
    ("34", 9, 9),
    ("39", 6, 11),
    ("44", 7, 10),
    ("49", 5, 13),
    ("52", 10, 10),
    ("54", 10, 11),
    ("55", 10, 11),
    ("61", 9, 9),
    ("81", 9, 10),
    ("91", 10, 10),
    ("351", 9, 9),
];

/// Permissive bounds for countries without an entry above (still capped by [`MAX_DIGITS`]).
const FALLBACK_LENGTHS: (usize, usize) = (4, 14);

/// A calling code, the trunk prefix dialled before national numbers there (`""` when the
/// country has none), and the ISO 3166-1 regions using it, main region first. The codes are
/// prefix-free (an E.164 guarantee), so a number's leading digits match at most one row.
/// Every ISO region with telephone service is here (BV and HM have none), plus AC, TA and XK,
/// which Shopify also uses as country codes; global services (+800, +870, ...) have no region.
type CallingCode = (&'static str, &'static str, &'static [&'static str]);

#[rustfmt::skip]
const CALLING_CODES: &[CallingCode] = &[
    ("1", "1", &["US", "AG", "AI", "AS", "BB", "BM", "BS", "CA", "DM", "DO", "GD", "GU", "JM", "KN", "KY", "LC", "MP", "MS", "PR", "SX", "TC", "TT", "VC", "VG", "VI", "UM"]),
    ("7", "8", &["RU", "KZ"]),
    ("20", "0", &["EG"]),
    ("27", "0", &["ZA"]),
    ("30", "", &["GR"]),
    ("31", "0", &["NL"]),
    ("32", "0", &["BE"]),
    ("33", "0", &["FR"]),
    ("34", "", &["ES"]),
    ("36", "06", &["HU"]),
    ("39", "", &["IT", "VA"]),
    ("40", "0", &["RO"]),
    ("41", "0", &["CH"]),
    ("43", "0", &["AT"]),
    ("44", "0", &["GB", "GG", "IM", "JE"]),
    ("45", "", &["DK"]),
    ("46", "0", &["SE"]),
    ("47", "", &["NO", "SJ"]),
    ("48", "", &["PL"]),
    ("49", "0", &["DE"]),
    ("51", "0", &["PE"]),
    ("52", "", &["MX"]),
    ("53", "0", &["CU"]),
    ("54", "0", &["AR"]),
    ("55", "0", &["BR"]),
    ("56", "", &["CL"]),
    ("57", "0", &["CO"]),
    ("58", "0", &["VE"]),
    ("60", "0", &["MY"]),
    ("61", "0", &["AU", "CC", "CX"]),
    ("62", "0", &["ID"]),
    ("63", "0", &["PH"]),
    ("64", "0", &["NZ", "PN"]),
    ("65", "", &["SG"]),
    ("66", "0", &["TH"]),
    ("81", "0", &["JP"]),
    ("82", "0", &["KR"]),
    ("84", "0", &["VN"]),
    ("86", "0", &["CN"]),
    ("90", "0", &["TR"]),
    ("91", "0", &["IN"]),
    ("92", "0", &["PK"]),
    ("93", "0", &["AF"]),
    ("94", "0", &["LK"]),
    ("95", "0", &["MM"]),
    ("98", "0", &["IR"]),
    ("211", "0", &["SS"]),
    ("212", "0", &["MA", "EH"]),
    ("213", "0", &["DZ"]),
    ("216", "", &["TN"]),
    ("218", "0", &["LY"]),
    ("220", "", &["GM"]),
    ("221", "", &["SN"]),
    ("222", "", &["MR"]),
    ("223", "", &["ML"]),
    ("224", "", &["GN"]),
    ("225", "", &["CI"]),
    ("226", "", &["BF"]),
    ("227", "", &["NE"]),
    ("228", "", &["TG"]),
    ("229", "", &["BJ"]),
    ("230", "", &["MU"]),
    ("231", "0", &["LR"]),
    ("232", "0", &["SL"]),
    ("233", "0", &["GH"]),
    ("234", "0", &["NG"]),
    ("235", "", &["TD"]),
    ("236", "", &["CF"]),
    ("237", "", &["CM"]),
    ("238", "", &["CV"]),
    ("239", "", &["ST"]),
    ("240", "", &["GQ"]),
    ("241", "", &["GA"]),
    ("242", "", &["CG"]),
    ("243", "0", &["CD"]),
    ("244", "", &["AO"]),
    ("245", "", &["GW"]),
    ("246", "", &["IO"]),
    ("247", "", &["AC"]),
    ("248", "", &["SC"]),
    ("249", "0", &["SD"]),
    ("250", "0", &["RW"]),
    ("251", "0", &["ET"]),
    ("252", "0", &["SO"]),
    ("253", "", &["DJ"]),
    ("254", "0", &["KE"]),
    ("255", "0", &["TZ"]),
    ("256", "0", &["UG"]),
    ("257", "", &["BI"]),
    ("258", "", &["MZ"]),
    ("260", "0", &["ZM"]),
    ("261", "0", &["MG"]),
    ("262", "0", &["RE", "YT", "TF"]),
    ("263", "0", &["ZW"]),
    ("264", "0", &["NA"]),
    ("265", "0", &["MW"]),
    ("266", "", &["LS"]),
    ("267", "", &["BW"]),
    ("268", "", &["SZ"]),
    ("269", "", &["KM"]),
    ("290", "", &["SH", "TA"]),
    ("291", "0", &["ER"]),
    ("297", "", &["AW"]),
    ("298", "", &["FO"]),
    ("299", "", &["GL"]),
    ("350", "", &["GI"]),
    ("351", "", &["PT"]),
    ("352", "", &["LU"]),
    ("353", "0", &["IE"]),
    ("354", "", &["IS"]),
    ("355", "0", &["AL"]),
    ("356", "", &["MT"]),
    ("357", "", &["CY"]),
    ("358", "0", &["FI", "AX"]),
    ("359", "0", &["BG"]),
    ("370", "0", &["LT"]),
    ("371", "", &["LV"]),
    ("372", "", &["EE"]),
    ("373", "0", &["MD"]),
    ("374", "0", &["AM"]),
    ("375", "80", &["BY"]),
    ("376", "", &["AD"]),
    ("377", "0", &["MC"]),
    ("378", "", &["SM"]),
    ("380", "0", &["UA"]),
    ("381", "0", &["RS"]),
    ("382", "0", &["ME"]),
    ("383", "0", &["XK"]),
    ("385", "0", &["HR"]),
    ("386", "0", &["SI"]),
    ("387", "0", &["BA"]),
    ("389", "0", &["MK"]),
    ("420", "", &["CZ"]),
    ("421", "0", &["SK"]),
    ("423", "0", &["LI"]),
    ("500", "", &["FK", "GS"]),
    ("501", "", &["BZ"]),
    ("502", "", &["GT"]),
    ("503", "", &["SV"]),
    ("504", "", &["HN"]),
    ("505", "", &["NI"]),
    ("506", "", &["CR"]),
    ("507", "", &["PA"]),
    ("508", "0", &["PM"]),
    ("509", "", &["HT"]),
    ("590", "0", &["GP", "BL", "MF"]),
    ("591", "0", &["BO"]),
    ("592", "", &["GY"]),
    ("593", "0", &["EC"]),
    ("594", "0", &["GF"]),
    ("595", "0", &["PY"]),
    ("596", "0", &["MQ"]),
    ("597", "", &["SR"]),
    ("598", "0", &["UY"]),
    ("599", "", &["CW", "BQ"]),
    ("670", "", &["TL"]),
    ("672", "", &["NF", "AQ"]),
    ("673", "", &["BN"]),
    ("674", "", &["NR"]),
    ("675", "", &["PG"]),
    ("676", "", &["TO"]),
    ("677", "", &["SB"]),
    ("678", "", &["VU"]),
    ("679", "", &["FJ"]),
    ("680", "", &["PW"]),
    ("681", "", &["WF"]),
    ("682", "", &["CK"]),
    ("683", "", &["NU"]),
    ("685", "", &["WS"]),
    ("686", "0", &["KI"]),
    ("687", "", &["NC"]),
    ("688", "", &["TV"]),
    ("689", "", &["PF"]),
    ("690", "", &["TK"]),
    ("691", "", &["FM"]),
    ("692", "1", &["MH"]),
    ("800", "", &[]),
    ("808", "", &[]),
    ("850", "0", &["KP"]),
    ("852", "", &["HK"]),
    ("853", "", &["MO"]),
    ("855", "0", &["KH"]),
    ("856", "0", &["LA"]),
    ("870", "", &[]),
    ("878", "", &[]),
    ("880", "0", &["BD"]),
    ("881", "", &[]),
    ("882", "", &[]),
    ("883", "", &[]),
    ("886", "0", &["TW"]),
    ("888", "", &[]),
    ("960", "", &["MV"]),
    ("961", "0", &["LB"]),
    ("962", "0", &["JO"]),
    ("963", "0", &["SY"]),
    ("964", "0", &["IQ"]),
    ("965", "", &["KW"]),
    ("966", "0", &["SA"]),
    ("967", "0", &["YE"]),
    ("968", "", &["OM"]),
    ("970", "0", &["PS"]),
    ("971", "0", &["AE"]),
    ("972", "0", &["IL"]),
    ("973", "", &["BH"]),
    ("974", "", &["QA"]),
    ("975", "", &["BT"]),
    ("976", "0", &["MN"]),
    ("977", "0", &["NP"]),
    ("979", "", &[]),
    ("992", "", &["TJ"]),
    ("993", "8", &["TM"]),
    ("994", "0", &["AZ"]),
    ("995", "0", &["GE"]),
    ("996", "0", &["KG"]),
    ("998", "", &["UZ"]),
];

/// +1 area codes outside the United States; any other +1 number is read as US.
#[rustfmt::skip]
const NANP_NON_US: &[(&str, &[&str])] = &[
    ("CA", &[
        "204", "226", "236", "249", "250", "257", "263", "273", "289", "306", "343", "354",
        "365", "367", "368", "382", "403", "416", "418", "428", "431", "437", "438", "450",
        "468", "474", "506", "514", "519", "548", "579", "581", "584", "587", "600", "604",
        "613", "622", "639", "647", "672", "683", "705", "709", "742", "753", "778", "780",
        "782", "807", "819", "825", "867", "873", "879", "902", "905", "942",
    ]),
    ("AG", &["268"]), ("AI", &["264"]), ("AS", &["684"]), ("BB", &["246"]), ("BM", &["441"]),
    ("BS", &["242"]), ("DM", &["767"]), ("DO", &["809", "829", "849"]), ("GD", &["473"]),
    ("GU", &["671"]), ("JM", &["658", "876"]), ("KN", &["869"]), ("KY", &["345"]),
    ("LC", &["758"]), ("MP", &["670"]), ("MS", &["664"]), ("PR", &["787", "939"]),
    ("SX", &["721"]), ("TC", &["649"]), ("TT", &["868"]), ("VC", &["784"]), ("VG", &["284"]),
    ("VI", &["340"]),
];

/// A phone number in E.164 form: `+`, the country calling code, the national number.
///
/// Serialized as that string; deserializing validates it, so a stored `Phone` is always one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Reads a number as a shopper or Shopify wrote it.
    ///
    /// Whitespace, `-`, `.`, `/` and parentheses are ignored. A number starting with `+` or `00`
    /// is international. Anything else is national and is read in `region` (an ISO 3166-1
    /// alpha-2 code such as Shopify's `shipping_address.country_code`), dropping the trunk
    /// prefix (`0612345678` in FR is `+33612345678`). Bare digits are never guessed into a
    /// country: without `region` they are rejected, even when they happen to start with a
    /// valid calling code, because a national number such as `6465550100` (New York) also
    /// reads as a plausible +64 (New Zealand) number. With `region`, bare digits that start
    /// with its calling code (`351912345678` in PT) are taken as international when they do
    /// not fit as a national number, or when the country writes national numbers with a trunk
    /// prefix, which these digits then lack.
    pub fn parse(raw: &str, region: Option<&str>) -> Result<Phone, PhoneError> {
        let (plus, digits) = scan(raw)?;
        if plus {
            return from_international(&digits);
        }
        if let Some(rest) = digits.strip_prefix("00") {
            return from_international(rest);
        }
        let region = region
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .ok_or(PhoneError::MissingRegion)?;
        let code = CALLING_CODES
            .iter()
            .find(|(_, _, regions)| regions.iter().any(|r| r.eq_ignore_ascii_case(region)))
            .ok_or(PhoneError::UnknownRegion)?;
        from_national(code, &digits)
    }

    /// Reads a WhatsApp `wa_id`: the international number as bare digits, without `+`.
    pub fn from_wa_id(wa_id: &str) -> Result<Phone, PhoneError> {
        if let Some(c) = wa_id.chars().find(|c| !c.is_ascii_digit()) {
            return Err(PhoneError::InvalidCharacter(c));
        }
        from_international(wa_id)
    }

    /// The E.164 string, with `+`: the form for WhatsApp's `to` and for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without `+`: the form WhatsApp uses for `wa_id`.
    pub fn digits(&self) -> &str {
        self.0.strip_prefix('+').unwrap_or(&self.0)
    }

    /// The ISO 3166-1 country the number belongs to, or `None` for global services (+800, ...).
    ///
    /// +1 is split by area code (`+14165550142` is CA, `+12125550100` US, `+18095550100` DO)
    /// and +7 by its first national digit (6 and 7 are KZ). Other shared codes give their main
    /// region: +44 is GB even for Jersey, +590 GP, +599 CW, +61 AU.
    pub fn region(&self) -> Option<&'static str> {
        let digits = self.digits();
        let (code, _, regions) = lookup_code(digits)?;
        let national = digits.get(code.len()..).unwrap_or_default();
        match *code {
            "1" => Some(nanp_region(national)),
            "7" if national.starts_with(['6', '7']) => Some("KZ"),
            _ => regions.first().copied(),
        }
    }
}

/// Whether `code` is an ISO 3166-1 alpha-2 region with telephone service (uppercase, as
/// [`Phone::region`] gives them).
pub fn is_region(code: &str) -> bool {
    CALLING_CODES
        .iter()
        .any(|(_, _, regions)| regions.contains(&code))
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Phone {
    type Error = PhoneError;

    /// Accepts only `+` and digits: stored numbers were written by [`Phone::as_str`].
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let digits = value.strip_prefix('+').ok_or(PhoneError::MissingRegion)?;
        Phone::from_wa_id(digits)
    }
}

impl From<Phone> for String {
    fn from(phone: Phone) -> String {
        phone.0
    }
}

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneError {
    /// No digits at all.
    Empty,
    /// A letter, symbol or non-ASCII digit; extensions (`x123`) land here too.
    InvalidCharacter(char),
    /// A `+` anywhere but at the start.
    MisplacedPlus,
    /// A national number (or bare digits) with no country to read it in.
    MissingRegion,
    /// The region hint is not a known ISO 3166-1 alpha-2 code.
    UnknownRegion,
    /// The leading digits are no country calling code.
    UnknownCallingCode,
    /// Fewer digits than numbers in that country have.
    TooShort,
    /// More digits than numbers in that country have, or than E.164 allows.
    TooLong,
    /// No such number can exist: a national number starting with 0 where 0 is the trunk
    /// prefix, or a +1 area code or exchange starting with 0 or 1.
    Invalid,
}

impl fmt::Display for PhoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhoneError::Empty => f.write_str("phone number has no digits"),
            PhoneError::InvalidCharacter(c) => {
                write!(
                    f,
                    "phone number contains {c:?}, which is not a digit or separator"
                )
            }
            PhoneError::MisplacedPlus => f.write_str("'+' may only start a phone number"),
            PhoneError::MissingRegion => {
                f.write_str("phone number has no '+' country code and no country to read it in")
            }
            PhoneError::UnknownRegion => f.write_str("phone number's country hint is unknown"),
            PhoneError::UnknownCallingCode => {
                f.write_str("phone number starts with an unknown country calling code")
            }
            PhoneError::TooShort => f.write_str("phone number is too short for its country"),
            PhoneError::TooLong => f.write_str("phone number is too long for its country"),
            PhoneError::Invalid => f.write_str("phone number cannot exist in its country"),
        }
    }
}

impl std::error::Error for PhoneError {}

/// Splits `raw` into "starts with +" and its digits, refusing anything that is not a digit or
/// a separator people write.
fn scan(raw: &str) -> Result<(bool, String), PhoneError> {
    let raw = raw.trim();
    let (plus, body) = match raw.strip_prefix('+') {
        Some(body) => (true, body),
        None => (false, raw),
    };
    let mut digits = String::new();
    for c in body.chars() {
        match c {
            '0'..='9' if digits.len() == MAX_SCANNED => return Err(PhoneError::TooLong),
            '0'..='9' => digits.push(c),
            '-' | '.' | '/' | '(' | ')' => {}
            c if c.is_whitespace() => {}
            '+' => return Err(PhoneError::MisplacedPlus),
            _ => return Err(PhoneError::InvalidCharacter(c)),
        }
    }
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }
    Ok((plus, digits))
}

/// Reads calling code + national number, as after `+`.
fn from_international(digits: &str) -> Result<Phone, PhoneError> {
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }
    if digits.len() > MAX_DIGITS {
        return Err(PhoneError::TooLong);
    }
    let code = lookup_code(digits).ok_or(PhoneError::UnknownCallingCode)?;
    complete(code, digits.get(code.0.len()..).unwrap_or_default())
}

/// Reads digits written without `+` or `00` in the country of `code`.
fn from_national(code: &CallingCode, digits: &str) -> Result<Phone, PhoneError> {
    let (calling, trunk, _) = *code;
    // First the usual way of writing it: trunk prefix, then the national number. (Trunk
    // prefixes such as Russia's 8 can also begin a national number, hence the fallbacks.)
    if !trunk.is_empty() {
        if let Some(phone) = digits
            .strip_prefix(trunk)
            .and_then(|n| complete(code, n).ok())
        {
            return Ok(phone);
        }
    }
    let as_is = complete(code, digits);
    let with_code = digits
        .strip_prefix(calling)
        .and_then(|n| complete(code, n).ok());
    match (as_is, with_code) {
        // The country dials national numbers with a trunk prefix, which these digits lack:
        // they are more likely the international form missing its `+`.
        (Ok(_), Some(phone)) if !trunk.is_empty() => Ok(phone),
        (Ok(phone), _) | (Err(_), Some(phone)) => Ok(phone),
        (Err(error), None) => Err(error),
    }
}

/// Checks the national number against its country and builds the E.164 string.
fn complete(code: &CallingCode, national: &str) -> Result<Phone, PhoneError> {
    let (calling, trunk, _) = *code;
    // Where the trunk prefix starts with 0, no national number does: leading digits equal to
    // it are that prefix, kept by habit ("+44 (0)20 ...") or by a bare national number.
    let national = if trunk.starts_with('0') {
        let national = national.strip_prefix(trunk).unwrap_or(national);
        if national.starts_with('0') {
            return Err(PhoneError::Invalid);
        }
        national
    } else {
        national
    };
    // WhatsApp reports Mexican mobiles as +52 1 + ten digits (the pre-2019 mobile prefix);
    // dropping the 1 makes a `wa_id` equal the number the shopper gave Shopify.
    let national = match national.strip_prefix('1') {
        Some(rest) if calling == "52" && rest.len() == 10 => rest,
        _ => national,
    };
    // Brazilian mobiles gained a ninth digit (a leading 9) in 2012–2016, and WhatsApp still
    // reports many older accounts without it: an area code and eight digits starting with 6–9
    // (landlines start with 2–5) are that mobile, written the way Shopify has it now.
    let ninth;
    let national = match national.as_bytes() {
        [_, _, first, ..]
            if calling == "55" && national.len() == 10 && matches!(first, b'6'..=b'9') =>
        {
            ninth = format!("{}9{}", &national[..2], &national[2..]);
            ninth.as_str()
        }
        _ => national,
    };
    let (min, max) = NATIONAL_LENGTHS
        .iter()
        .find(|(c, _, _)| *c == calling)
        .map_or(FALLBACK_LENGTHS, |&(_, min, max)| (min, max));
    let max = max.min(MAX_DIGITS - calling.len());
    if national.len() < min {
        return Err(PhoneError::TooShort);
    }
    if national.len() > max {
        return Err(PhoneError::TooLong);
    }
    // North American area codes and exchanges never start with 0 or 1.
    let bytes = national.as_bytes();
    if calling == "1"
        && !(matches!(bytes.first(), Some(b'2'..=b'9'))
            && matches!(bytes.get(3), Some(b'2'..=b'9')))
    {
        return Err(PhoneError::Invalid);
    }
    Ok(Phone(format!("+{calling}{national}")))
}

/// The row whose calling code starts `digits` (codes are one to three digits).
fn lookup_code(digits: &str) -> Option<&'static CallingCode> {
    (1..=3).find_map(|len| {
        let prefix = digits.get(..len)?;
        CALLING_CODES.iter().find(|(code, _, _)| *code == prefix)
    })
}

/// The country of a +1 number, from its area code.
fn nanp_region(national: &str) -> &'static str {
    let area = national.get(..3).unwrap_or_default();
    NANP_NON_US
        .iter()
        .find(|(_, areas)| areas.contains(&area))
        .map_or("US", |(region, _)| region)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str, region: Option<&str>) -> Result<String, PhoneError> {
        Phone::parse(raw, region).map(String::from)
    }

    /// The country calling code, without `+` (`"1"` for `+14165550142`).
    fn calling_code(phone: &Phone) -> &'static str {
        lookup_code(phone.digits()).map_or("", |(code, _, _)| code)
    }

    #[test]
    fn shopify_fixture_values() {
        for raw in ["+14165550142", "+1 416-555-0142", " +1 (416) 555.0142 "] {
            let phone = Phone::parse(raw, None).unwrap();
            assert_eq!(phone.as_str(), "+14165550142");
            assert_eq!(phone.digits(), "14165550142");
            assert_eq!(calling_code(&phone), "1");
            assert_eq!(phone.region(), Some("CA"));
        }
        let kentucky = Phone::parse("+1(502)-459-2181", None).unwrap();
        assert_eq!(kentucky.as_str(), "+15024592181");
        assert_eq!(kentucky.region(), Some("US"));
    }

    #[test]
    fn national_numbers_need_a_region() {
        assert_eq!(parse("(416) 555-0142", Some("CA")).unwrap(), "+14165550142");
        assert_eq!(parse("416-555-0142", Some("US")).unwrap(), "+14165550142");
        assert_eq!(parse("1 416 555 0142", Some("CA")).unwrap(), "+14165550142");
        assert_eq!(parse("0612345678", Some("FR")).unwrap(), "+33612345678");
        assert_eq!(parse("06 12 34 56 78", Some("fr")).unwrap(), "+33612345678");
        assert_eq!(
            parse("06\u{a0}12\t34 56 78", Some("FR")).unwrap(),
            "+33612345678"
        );
        assert_eq!(parse("07700 900123", Some("GB")).unwrap(), "+447700900123");
        assert_eq!(
            parse("0151 12345678", Some("DE")).unwrap(),
            "+4915112345678"
        );
        assert_eq!(parse("912 345 678", Some("PT")).unwrap(), "+351912345678");
        assert_eq!(parse("612 34 56 78", Some("ES")).unwrap(), "+34612345678");
        assert_eq!(parse("06 1234 5678", Some("NL")).unwrap(), "+31612345678");
        assert_eq!(
            parse("(11) 91234-5678", Some("BR")).unwrap(),
            "+5511912345678"
        );
        assert_eq!(parse("090-1234-5678", Some("JP")).unwrap(), "+819012345678");
        assert_eq!(parse("0412 345 678", Some("AU")).unwrap(), "+61412345678");
        assert_eq!(parse("98765 43210", Some("IN")).unwrap(), "+919876543210");
        assert_eq!(parse("082 123 4567", Some("ZA")).unwrap(), "+27821234567");
        assert_eq!(
            parse("8 912 345-67-89", Some("RU")).unwrap(),
            "+79123456789"
        );
        assert_eq!(parse("06 30 123 4567", Some("HU")).unwrap(), "+36301234567");
        // Italian numbers keep their leading 0 and have no trunk prefix.
        assert_eq!(parse("06 1234 5678", Some("IT")).unwrap(), "+390612345678");

        for raw in [
            "(416) 555-0142",
            "0612345678",
            "14165550142",
            "351912345678",
        ] {
            assert_eq!(parse(raw, None), Err(PhoneError::MissingRegion), "{raw}");
            assert_eq!(
                parse(raw, Some(" ")),
                Err(PhoneError::MissingRegion),
                "{raw}"
            );
        }
        assert_eq!(
            parse("0612345678", Some("ZZ")),
            Err(PhoneError::UnknownRegion)
        );
        assert_eq!(
            parse("0612345678", Some("FRA")),
            Err(PhoneError::UnknownRegion)
        );
        // The hint only matters for national numbers.
        assert_eq!(
            parse("+33 6 12 34 56 78", Some("ZZ")).unwrap(),
            "+33612345678"
        );
        assert_eq!(
            parse("+33 6 12 34 56 78", Some("US")).unwrap(),
            "+33612345678"
        );
    }

    #[test]
    fn international_forms() {
        assert_eq!(parse("00351 912 345 678", None).unwrap(), "+351912345678");
        assert_eq!(
            parse("0033 6 12 34 56 78", Some("US")).unwrap(),
            "+33612345678"
        );
        assert_eq!(parse("+44 (0)20 7946 0018", None).unwrap(), "+442079460018");
        assert_eq!(parse("+49 (0)30 1234567", None).unwrap(), "+49301234567");
        assert_eq!(parse("+39 06 1234 5678", None).unwrap(), "+390612345678");
        assert_eq!(
            parse("+225 07 12 34 56 78", None).unwrap(),
            "+2250712345678"
        );
        assert_eq!(parse("+54 9 11 1234-5678", None).unwrap(), "+5491112345678");
        assert_eq!(parse("+800 1234 5678", None).unwrap(), "+80012345678");
    }

    #[test]
    fn bare_digits_with_a_region_may_carry_the_calling_code() {
        assert_eq!(parse("351912345678", Some("PT")).unwrap(), "+351912345678");
        assert_eq!(parse("33612345678", Some("FR")).unwrap(), "+33612345678");
        assert_eq!(
            parse("4915112345678", Some("DE")).unwrap(),
            "+4915112345678"
        );
        assert_eq!(parse("79123456789", Some("RU")).unwrap(), "+79123456789");
        // An Italian mobile may itself start with 39: no trunk prefix, so national wins.
        assert_eq!(parse("3921234567", Some("IT")).unwrap(), "+393921234567");
        assert_eq!(parse("393921234567", Some("IT")).unwrap(), "+393921234567");
    }

    #[test]
    fn mexican_mobile_prefix_is_dropped() {
        let shopify = Phone::parse("+52 55 1234 5678", None).unwrap();
        assert_eq!(Phone::from_wa_id("5215512345678").unwrap(), shopify);
        assert_eq!(Phone::parse("+52 1 55 1234 5678", None).unwrap(), shopify);
        assert_eq!(Phone::parse("55 1234 5678", Some("MX")).unwrap(), shopify);
        assert_eq!(shopify.as_str(), "+525512345678");
        assert_eq!(shopify.region(), Some("MX"));
    }

    #[test]
    fn brazilian_mobiles_without_the_ninth_digit_are_the_same_number() {
        let shopify = Phone::parse("+55 11 98765-4321", None).unwrap();
        assert_eq!(shopify.as_str(), "+5511987654321");
        assert_eq!(Phone::from_wa_id("551187654321").unwrap(), shopify);
        assert_eq!(Phone::from_wa_id("5511987654321").unwrap(), shopify);
        assert_eq!(Phone::parse("(11) 8765-4321", Some("BR")).unwrap(), shopify);
        // A landline keeps its eight digits.
        assert_eq!(
            Phone::from_wa_id("551132654321").unwrap().as_str(),
            "+551132654321"
        );
    }

    #[test]
    fn wa_id() {
        let phone = Phone::from_wa_id("14165550142").unwrap();
        assert_eq!(phone.as_str(), "+14165550142");
        assert_eq!(phone.digits(), "14165550142");
        assert_eq!(phone, Phone::parse("+1 416-555-0142", None).unwrap());
        assert_eq!(Phone::from_wa_id(""), Err(PhoneError::Empty));
        assert_eq!(
            Phone::from_wa_id("+14165550142"),
            Err(PhoneError::InvalidCharacter('+'))
        );
        assert_eq!(
            Phone::from_wa_id("1 416 555 0142"),
            Err(PhoneError::InvalidCharacter(' '))
        );
        assert_eq!(
            Phone::from_wa_id("9991234567"),
            Err(PhoneError::UnknownCallingCode)
        );
    }

    #[test]
    fn regions() {
        let region = |raw: &str| Phone::parse(raw, None).unwrap().region();
        assert_eq!(region("+12125550100"), Some("US"));
        assert_eq!(region("+18005550100"), Some("US"));
        assert_eq!(region("+16045550100"), Some("CA"));
        assert_eq!(region("+18675550100"), Some("CA"));
        assert_eq!(region("+18095550100"), Some("DO"));
        assert_eq!(region("+18765550100"), Some("JM"));
        assert_eq!(region("+17875550100"), Some("PR"));
        assert_eq!(region("+16715550100"), Some("GU"));
        assert_eq!(region("+79123456789"), Some("RU"));
        assert_eq!(region("+77011234567"), Some("KZ"));
        assert_eq!(region("+447911123456"), Some("GB"));
        assert_eq!(region("+590690123456"), Some("GP"));
        assert_eq!(region("+351912345678"), Some("PT"));
        assert_eq!(region("+819012345678"), Some("JP"));
        assert_eq!(region("+80012345678"), None);
    }

    #[test]
    fn calling_codes() {
        let code = |raw: &str| calling_code(&Phone::parse(raw, None).unwrap());
        assert_eq!(code("+14165550142"), "1");
        assert_eq!(code("+79123456789"), "7");
        assert_eq!(code("+447911123456"), "44");
        assert_eq!(code("+351912345678"), "351");
        assert_eq!(code("+80012345678"), "800");
    }

    #[test]
    fn rejects_bad_lengths_and_codes() {
        let err = |raw: &str| Phone::parse(raw, None).unwrap_err();
        assert_eq!(err("+1 416 555 014"), PhoneError::TooShort);
        assert_eq!(err("+1 416 555 01422"), PhoneError::TooLong);
        assert_eq!(err("+33 6 12 34 56 7"), PhoneError::TooShort);
        assert_eq!(err("+351 91234567"), PhoneError::TooShort);
        assert_eq!(err("+1 116 555 0142"), PhoneError::Invalid);
        assert_eq!(err("+1 416 055 0142"), PhoneError::Invalid);
        assert_eq!(err("+44 (0)0 7946 0018"), PhoneError::Invalid);
        assert_eq!(parse("0123 4567 89", Some("HU")), Err(PhoneError::Invalid));
        assert_eq!(err("+999 123456"), PhoneError::UnknownCallingCode);
        assert_eq!(err("+0 123456"), PhoneError::UnknownCallingCode);
        // Fallback lengths: 4 to 14 national digits, at most 15 digits in all.
        assert_eq!(err("+46 123"), PhoneError::TooShort);
        assert_eq!(parse("+46 1234", None).unwrap(), "+461234");
        assert_eq!(
            parse("+46 1234567890123", None).unwrap(),
            "+461234567890123"
        );
        assert_eq!(err("+46 12345678901234"), PhoneError::TooLong);
        assert_eq!(err("+880 1234567890123"), PhoneError::TooLong);
        assert_eq!(err("+1234567890123456"), PhoneError::TooLong);
        assert_eq!(
            parse("061234567", Some("FR")),
            Err(PhoneError::TooShort),
            "length errors come from the national reading"
        );
    }

    #[test]
    fn hostile_inputs_are_errors() {
        let err = |raw: &str| Phone::parse(raw, Some("US")).unwrap_err();
        assert_eq!(err(""), PhoneError::Empty);
        assert_eq!(err("   "), PhoneError::Empty);
        assert_eq!(err("+"), PhoneError::Empty);
        assert_eq!(err("()-"), PhoneError::Empty);
        assert_eq!(err("00"), PhoneError::Empty);
        assert_eq!(err(&"9".repeat(200)), PhoneError::TooLong);
        assert_eq!(err(&format!("+{}", "1".repeat(200))), PhoneError::TooLong);
        assert_eq!(err("+1 416 CALL NOW"), PhoneError::InvalidCharacter('C'));
        assert_eq!(
            err("+1 416 555 0142 x12"),
            PhoneError::InvalidCharacter('x')
        );
        assert_eq!(err("+1+4165550142"), PhoneError::MisplacedPlus);
        assert_eq!(err("416+5550142"), PhoneError::MisplacedPlus);
        // Arabic-Indic and fullwidth digits are digits to Unicode, but not to WhatsApp.
        assert_eq!(err("+١٤١٦٥٥٥٠١٤٢"), PhoneError::InvalidCharacter('١'));
        assert_eq!(
            err("＋１４１６５５５０１４２"),
            PhoneError::InvalidCharacter('＋')
        );
        assert_eq!(err("📞 +14165550142"), PhoneError::InvalidCharacter('📞'));
        assert_eq!(err("+1416555014\u{0}2"), PhoneError::InvalidCharacter('\0'));
        assert_eq!(err("+1 416 555 0142 🇨🇦"), PhoneError::InvalidCharacter('🇨'));
        assert!(Phone::parse("+14165550142", Some("🇨🇦")).is_ok());
        assert_eq!(
            parse("4165550142", Some("🇨🇦")),
            Err(PhoneError::UnknownRegion)
        );
    }

    /// Every short string over a hostile alphabet, with and without hints: no panic, and
    /// whatever is accepted is canonical E.164.
    #[test]
    fn exhaustive_small_inputs_never_panic() {
        const ALPHABET: [&str; 9] = ["+", "0", "1", "4", "44", "(", " ", "a", "٣"];
        let mut inputs = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = inputs
                .iter()
                .flat_map(|s| ALPHABET.iter().map(move |c| format!("{s}{c}")))
                .collect();
            inputs.extend(longer);
        }
        for stem in ["", "+1416555", "0612", "+44 7911 12"] {
            for tail in &inputs {
                let raw = format!("{stem}{tail}");
                for region in [
                    None,
                    Some("US"),
                    Some("FR"),
                    Some("IT"),
                    Some("x"),
                    Some(""),
                ] {
                    if let Ok(phone) = Phone::parse(&raw, region) {
                        assert!(phone.as_str().len() <= MAX_DIGITS + 1, "{raw}");
                        assert_eq!(Phone::from_wa_id(phone.digits()).as_ref(), Ok(&phone));
                    }
                }
                let _ = Phone::from_wa_id(&raw);
            }
        }
    }

    #[test]
    fn display_and_serde() {
        let phone = Phone::parse("+1 416-555-0142", None).unwrap();
        assert_eq!(phone.to_string(), "+14165550142");
        assert_eq!(serde_json::to_string(&phone).unwrap(), r#""+14165550142""#);
        let back: Phone = serde_json::from_str(r#""+14165550142""#).unwrap();
        assert_eq!(back, phone);
        let mexico: Phone = serde_json::from_str(r#""+5215512345678""#).unwrap();
        assert_eq!(mexico.as_str(), "+525512345678");
        for bad in [
            r#""14165550142""#,
            r#""+1 416-555-0142""#,
            r#""+1416555014""#,
            r#""""#,
            "14165550142",
            "null",
        ] {
            assert!(serde_json::from_str::<Phone>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_read_well() {
        assert_eq!(
            PhoneError::MissingRegion.to_string(),
            "phone number has no '+' country code and no country to read it in"
        );
        assert_eq!(
            PhoneError::InvalidCharacter('\u{1f4de}').to_string(),
            "phone number contains '📞', which is not a digit or separator"
        );
        let error: Box<dyn std::error::Error> = Box::new(PhoneError::TooLong);
        assert_eq!(
            error.to_string(),
            "phone number is too long for its country"
        );
    }

    #[test]
    fn tables_are_consistent() {
        let mut regions = Vec::new();
        for (i, (code, trunk, members)) in CALLING_CODES.iter().enumerate() {
            assert!((1..=3).contains(&code.len()), "{code}");
            assert!(code.bytes().all(|b| b.is_ascii_digit()) && !code.starts_with('0'));
            assert!(trunk.bytes().all(|b| b.is_ascii_digit()), "{code}");
            for (other, _, _) in &CALLING_CODES[i + 1..] {
                assert!(
                    !other.starts_with(code) && !code.starts_with(other),
                    "{code} and {other} are not prefix-free"
                );
            }
            for region in *members {
                assert!(region.len() == 2 && region.bytes().all(|b| b.is_ascii_uppercase()));
                regions.push(*region);
            }
        }
        let count = regions.len();
        regions.sort_unstable();
        regions.dedup();
        assert_eq!(regions.len(), count, "a region appears twice");
        assert_eq!(count, 250, "249 ISO regions - BV - HM + AC, TA, XK");

        for (code, min, max) in NATIONAL_LENGTHS {
            assert!(
                lookup_code(code).is_some_and(|row| row.0 == *code),
                "{code}"
            );
            assert!(min <= max && *max <= MAX_DIGITS - code.len(), "{code}");
        }
        let nanp = CALLING_CODES[0];
        assert_eq!(nanp.0, "1");
        let mut areas = Vec::new();
        for (region, codes) in NANP_NON_US {
            assert!(nanp.2.contains(region), "{region}");
            for area in *codes {
                assert!(area.len() == 3 && area.bytes().all(|b| b.is_ascii_digit()));
                areas.push(*area);
            }
        }
        let count = areas.len();
        areas.sort_unstable();
        areas.dedup();
        assert_eq!(areas.len(), count, "an area code appears twice");
    }
}
