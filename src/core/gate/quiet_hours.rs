//! The shopper's local clock: which time zone a shopper is in, and when a message that falls due
//! during their quiet hours may go out instead (docs/playbook.md §6: deferred to their end, never
//! dropped).
//!
//! Zones come from a hand-written country table rather than a geolocation database, to keep the
//! bundle small: a shopper is placed by the phone's country, refined by the shipping province
//! where a country spans several clocks. Where the province is unknown, the shop's own zone is
//! used if it lies in that country, else the zone where most of the country's people live.

use chrono::{DateTime, FixedOffset, NaiveDateTime, NaiveTime};

use crate::core::gate::zone_rules::ZoneRules;
use crate::core::playbook::QuietHours;
use crate::core::values::time::{Millis, DAY_MS};

/// The shopper's time zone (an IANA name), from the phone's country (`Phone::region`), the
/// shipping address (ISO country and Shopify province code, e.g. `CA` + `BC`) and the shop's
/// IANA zone.
///
/// The phone's country wins when it disagrees with the shipping country: a WhatsApp message
/// reaches the phone, which is where its owner lives, while a parcel may go to a gift recipient,
/// an office abroad or a forwarding service. For the same reason the province only counts when
/// the shipping country is the phone's. When neither country is known (or in the table), the
/// shop's zone stands in, and UTC if that is missing or unknown to `rules`.
pub fn shopper_zone<'a>(
    phone_region: Option<&str>,
    shipping_country: Option<&str>,
    shipping_province: Option<&str>,
    shop_zone: Option<&'a str>,
    rules: &dyn ZoneRules,
) -> &'a str {
    let code = |s: Option<&str>| {
        s.map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty())
    };
    let known = |c: &String| {
        SINGLE_ZONE.iter().any(|(k, _)| k == c) || MULTI_ZONE.iter().any(|m| m.country == c)
    };
    let phone = code(phone_region).filter(known);
    let shipping = code(shipping_country);
    let shop = shop_zone.map(str::trim).filter(|z| rules.knows(z));
    let Some(country) = phone.or_else(|| shipping.clone().filter(known)) else {
        return shop.unwrap_or(UTC);
    };
    if let Some((_, zone)) = SINGLE_ZONE.iter().find(|(k, _)| *k == country) {
        return zone;
    }
    let Some(multi) = MULTI_ZONE.iter().find(|m| m.country == country) else {
        return shop.unwrap_or(UTC);
    };
    let province = code(shipping_province).filter(|_| shipping.as_deref() == Some(&*country));
    if let Some(province) = province {
        return multi
            .exceptions
            .iter()
            .find(|(p, _)| *p == province)
            .map_or(multi.main, |(_, zone)| *zone);
    }
    shop.filter(|z| multi.zones.contains(z))
        .unwrap_or(multi.main)
}

const UTC: &str = "UTC";

/// Reads a time of day written exactly as `HH:MM`, 24-hour, `00:00` to `23:59`.
pub fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    let &[h1, h2, b':', m1, m2] = s.as_bytes() else {
        return None;
    };
    let digit = |b: u8| b.is_ascii_digit().then(|| u32::from(b - b'0'));
    let hours = digit(h1)? * 10 + digit(h2)?;
    let minutes = digit(m1)? * 10 + digit(m2)?;
    NaiveTime::from_hms_opt(hours, minutes, 0)
}

/// When a message due at `due` may go out: `due` itself when that is outside the quiet hours in
/// `zone`, else the instant they end.
///
/// The window is `[start, end)` in local wall-clock time and wraps midnight when `start > end`
/// (`21:00`–`09:00`). `start == end`, or a time that does not parse, means no quiet hours (the
/// playbook validator refuses the latter); so does a zone `rules` cannot read. Clock changes are
/// honoured: an end time skipped by a spring-forward resolves to the first instant after the
/// gap (`02:30` → `03:00`), a repeated one to its earliest occurrence after `due`.
pub fn defer(due: Millis, quiet: &QuietHours, zone: &str, rules: &dyn ZoneRules) -> Millis {
    let Some(window) = Window::parse(quiet) else {
        return due;
    };
    let clock = Clock { zone, rules };
    let mut at = due;
    // An end time skipped by a clock change can land inside the next window (a start inside
    // the same gap, or Samoa's skipped day in 2011): another round moves on to its end.
    for _ in 0..MAX_ROUNDS {
        match window.end_of_quiet(at, clock) {
            Some(end) => at = end,
            None => break,
        }
    }
    at
}

/// More rounds than any real sequence of clock changes needs (two at most in practice).
const MAX_ROUNDS: usize = 4;

/// Days tried for the end time; a later day only matters at the edge of the time-zone data.
const MAX_END_DAYS: usize = 3;

/// Quiet hours as local wall-clock times, never empty.
struct Window {
    start: NaiveTime,
    end: NaiveTime,
}

impl Window {
    fn parse(quiet: &QuietHours) -> Option<Window> {
        let start = parse_hhmm(&quiet.start)?;
        let end = parse_hhmm(&quiet.end)?;
        (start != end).then_some(Window { start, end })
    }

    /// When the quiet hours containing `at` end; `None` if `at` is outside them (or too far
    /// from today for chrono's calendar, hundreds of millennia away).
    fn end_of_quiet(&self, at: Millis, clock: Clock) -> Option<Millis> {
        let local = clock.wall_clock(at)?;
        let (date, time) = (local.date(), local.time());
        let end_date = if self.start < self.end {
            (self.start <= time && time < self.end).then_some(date)?
        } else if time >= self.start {
            date.succ_opt()?
        } else if time < self.end {
            date
        } else {
            return None;
        };
        end_date
            .iter_days()
            .take(MAX_END_DAYS)
            .find_map(|day| clock.first_instant_after(day.and_time(self.end), at))
    }
}

/// The wall clock of one zone.
#[derive(Clone, Copy)]
struct Clock<'a> {
    zone: &'a str,
    rules: &'a dyn ZoneRules,
}

impl Clock<'_> {
    fn offset_ms(&self, at: i64) -> Option<i64> {
        Some(i64::from(self.rules.utc_offset(self.zone, Millis(at))?) * 1000)
    }

    /// What the wall clock reads at `at`.
    fn wall_clock(&self, at: Millis) -> Option<NaiveDateTime> {
        let offset = FixedOffset::east_opt(self.rules.utc_offset(self.zone, at)?)?;
        DateTime::from_timestamp_millis(at.0)?
            .naive_utc()
            .checked_add_offset(offset)
    }

    /// The earliest instant after `after` that reads `local` on the wall clock, or, when a
    /// clock change skips `local`, the first instant after the gap.
    ///
    /// No clock ever changed by more than a day at once (Samoa, 2011), so the offsets a day
    /// either side of `local` are the only ones it can be read at: each gives one candidate,
    /// a repeated hour two valid ones, a skipped hour none, and then the clock changed between
    /// the two candidates, at the instant found by bisection.
    fn first_instant_after(&self, local: NaiveDateTime, after: Millis) -> Option<Millis> {
        let local = local.and_utc().timestamp_millis();
        let earlier = self.offset_ms(local.checked_sub(DAY_MS)?)?;
        let later = self.offset_ms(local.checked_add(DAY_MS)?)?;
        let reads = |offset: i64| {
            let t = local - offset;
            (self.offset_ms(t) == Some(offset)).then_some(t)
        };
        let mut instants = [reads(earlier), reads(later)];
        if instants == [None, None] {
            instants[0] = self.change_between(local - later, local - earlier, earlier);
        }
        instants
            .into_iter()
            .flatten()
            .map(Millis)
            .filter(|&t| t > after)
            .min()
    }

    /// The first instant in `(from, to]` whose offset is no longer `before`, to the millisecond.
    fn change_between(&self, mut from: i64, mut to: i64, before: i64) -> Option<i64> {
        if from >= to {
            return None;
        }
        while to - from > 1 {
            let mid = from + (to - from) / 2;
            if self.offset_ms(mid)? == before {
                from = mid;
            } else {
                to = mid;
            }
        }
        Some(to)
    }
}

/// A country spanning several clocks.
struct MultiZone {
    country: &'static str,
    /// Where most of its people live: any province not listed below, and the country as a
    /// whole when the province is unknown and the shop is elsewhere.
    main: &'static str,
    /// Shopify province codes on another clock than `main`; a province split between clocks
    /// goes with the majority of its people.
    exceptions: &'static [(&'static str, &'static str)],
    /// Every zone of the country (IANA `zone.tab`), to recognize a shop inside it.
    zones: &'static [&'static str],
}

#[rustfmt::skip]
const MULTI_ZONE: &[MultiZone] = &[
    MultiZone {
        country: "AU", main: "Australia/Sydney",
        exceptions: &[("NT", "Australia/Darwin"), ("QLD", "Australia/Brisbane"),
            ("SA", "Australia/Adelaide"), ("WA", "Australia/Perth")],
        zones: &["Australia/Lord_Howe", "Antarctica/Macquarie", "Australia/Hobart",
            "Australia/Melbourne", "Australia/Sydney", "Australia/Broken_Hill",
            "Australia/Brisbane",
            "Australia/Lindeman", "Australia/Adelaide", "Australia/Darwin", "Australia/Perth",
            "Australia/Eucla"],
    },
    MultiZone {
        country: "BR", main: "America/Sao_Paulo",
        exceptions: &[("AC", "America/Rio_Branco"), ("AM", "America/Manaus"),
            ("MS", "America/Campo_Grande"), ("MT", "America/Cuiaba"), ("RO", "America/Porto_Velho"),
            ("RR", "America/Boa_Vista")],
        zones: &["America/Noronha", "America/Belem", "America/Fortaleza", "America/Recife",
            "America/Araguaina", "America/Maceio", "America/Bahia", "America/Sao_Paulo",
            "America/Campo_Grande", "America/Cuiaba", "America/Santarem", "America/Porto_Velho",
            "America/Boa_Vista", "America/Manaus", "America/Eirunepe", "America/Rio_Branco"],
    },
    MultiZone {
        country: "CA", main: "America/Toronto",
        exceptions: &[("AB", "America/Edmonton"), ("BC", "America/Vancouver"),
            ("MB", "America/Winnipeg"), ("NB", "America/Moncton"), ("NL", "America/St_Johns"),
            ("NS", "America/Halifax"), ("NT", "America/Edmonton"), ("PE", "America/Halifax"),
            ("SK", "America/Regina"), ("YT", "America/Whitehorse")],
        zones: &["America/St_Johns", "America/Halifax", "America/Glace_Bay", "America/Moncton",
            "America/Goose_Bay", "America/Blanc-Sablon", "America/Toronto", "America/Iqaluit",
            "America/Atikokan", "America/Winnipeg", "America/Resolute", "America/Rankin_Inlet",
            "America/Regina", "America/Swift_Current", "America/Edmonton", "America/Cambridge_Bay",
            "America/Inuvik", "America/Creston", "America/Dawson_Creek", "America/Fort_Nelson",
            "America/Whitehorse", "America/Dawson", "America/Vancouver"],
    },
    MultiZone {
        country: "CD", main: "Africa/Kinshasa", exceptions: &[],
        zones: &["Africa/Kinshasa", "Africa/Lubumbashi"],
    },
    MultiZone {
        country: "CL", main: "America/Santiago",
        exceptions: &[("AI", "America/Coyhaique"), ("MA", "America/Punta_Arenas")],
        zones: &["America/Santiago", "America/Coyhaique", "America/Punta_Arenas", "Pacific/Easter"],
    },
    MultiZone {
        country: "EC", main: "America/Guayaquil", exceptions: &[],
        zones: &["America/Guayaquil", "Pacific/Galapagos"],
    },
    MultiZone {
        country: "ES", main: "Europe/Madrid",
        exceptions: &[("GC", "Atlantic/Canary"), ("TF", "Atlantic/Canary")],
        zones: &["Europe/Madrid", "Africa/Ceuta", "Atlantic/Canary"],
    },
    MultiZone {
        country: "FM", main: "Pacific/Chuuk", exceptions: &[],
        zones: &["Pacific/Chuuk", "Pacific/Pohnpei", "Pacific/Kosrae"],
    },
    MultiZone {
        country: "GL", main: "America/Nuuk", exceptions: &[],
        zones: &["America/Nuuk", "America/Danmarkshavn", "America/Scoresbysund", "America/Thule"],
    },
    MultiZone {
        country: "ID", main: "Asia/Jakarta",
        exceptions: &[("BA", "Asia/Makassar"), ("GO", "Asia/Makassar"), ("KI", "Asia/Makassar"),
            ("KS", "Asia/Makassar"), ("KU", "Asia/Makassar"), ("NB", "Asia/Makassar"),
            ("NT", "Asia/Makassar"), ("SA", "Asia/Makassar"), ("SG", "Asia/Makassar"),
            ("SN", "Asia/Makassar"), ("SR", "Asia/Makassar"), ("ST", "Asia/Makassar"),
            ("MA", "Asia/Jayapura"), ("MU", "Asia/Jayapura"), ("PA", "Asia/Jayapura"),
            ("PB", "Asia/Jayapura")],
        zones: &["Asia/Jakarta", "Asia/Pontianak", "Asia/Makassar", "Asia/Jayapura"],
    },
    MultiZone {
        country: "KI", main: "Pacific/Tarawa", exceptions: &[],
        zones: &["Pacific/Tarawa", "Pacific/Kanton", "Pacific/Kiritimati"],
    },
    MultiZone {
        country: "MN", main: "Asia/Ulaanbaatar", exceptions: &[],
        zones: &["Asia/Ulaanbaatar", "Asia/Hovd"],
    },
    MultiZone {
        country: "MX", main: "America/Mexico_City",
        exceptions: &[("BC", "America/Tijuana"), ("BCS", "America/Mazatlan"),
            ("NAY", "America/Mazatlan"), ("Q ROO", "America/Cancun"), ("SIN", "America/Mazatlan"),
            ("SON", "America/Hermosillo")],
        zones: &["America/Mexico_City", "America/Cancun", "America/Merida", "America/Monterrey",
            "America/Matamoros", "America/Chihuahua", "America/Ciudad_Juarez", "America/Ojinaga",
            "America/Mazatlan", "America/Bahia_Banderas", "America/Hermosillo", "America/Tijuana"],
    },
    MultiZone {
        country: "NZ", main: "Pacific/Auckland", exceptions: &[],
        zones: &["Pacific/Auckland", "Pacific/Chatham"],
    },
    MultiZone {
        country: "PF", main: "Pacific/Tahiti", exceptions: &[],
        zones: &["Pacific/Tahiti", "Pacific/Marquesas", "Pacific/Gambier"],
    },
    MultiZone {
        country: "PG", main: "Pacific/Port_Moresby", exceptions: &[],
        zones: &["Pacific/Port_Moresby", "Pacific/Bougainville"],
    },
    MultiZone {
        country: "PT", main: "Europe/Lisbon", exceptions: &[("PT-20", "Atlantic/Azores")],
        zones: &["Europe/Lisbon", "Atlantic/Madeira", "Atlantic/Azores"],
    },
    // Shopify's 83 Russian regions are not mapped: Moscow time covers most Russians.
    MultiZone {
        country: "RU", main: "Europe/Moscow", exceptions: &[],
        zones: &["Europe/Kaliningrad", "Europe/Moscow", "Europe/Kirov", "Europe/Volgograd",
            "Europe/Astrakhan", "Europe/Saratov", "Europe/Ulyanovsk", "Europe/Samara",
            "Asia/Yekaterinburg", "Asia/Omsk", "Asia/Novosibirsk", "Asia/Barnaul", "Asia/Tomsk",
            "Asia/Novokuznetsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Chita", "Asia/Yakutsk",
            "Asia/Khandyga", "Asia/Vladivostok", "Asia/Ust-Nera", "Asia/Magadan", "Asia/Sakhalin",
            "Asia/Srednekolymsk", "Asia/Kamchatka", "Asia/Anadyr"],
    },
    MultiZone {
        country: "UM", main: "Pacific/Wake", exceptions: &[],
        zones: &["Pacific/Midway", "Pacific/Wake"],
    },
    // Shopify lists the territories in free association among US "provinces" too.
    MultiZone {
        country: "US", main: "America/New_York",
        exceptions: &[("AK", "America/Anchorage"), ("AL", "America/Chicago"),
            ("AR", "America/Chicago"), ("AS", "Pacific/Pago_Pago"), ("AZ", "America/Phoenix"),
            ("CA", "America/Los_Angeles"), ("CO", "America/Denver"), ("FM", "Pacific/Chuuk"),
            ("GU", "Pacific/Guam"), ("HI", "Pacific/Honolulu"), ("IA", "America/Chicago"),
            ("ID", "America/Boise"), ("IL", "America/Chicago"), ("KS", "America/Chicago"),
            ("LA", "America/Chicago"), ("MH", "Pacific/Majuro"), ("MN", "America/Chicago"),
            ("MO", "America/Chicago"), ("MP", "Pacific/Saipan"), ("MS", "America/Chicago"),
            ("MT", "America/Denver"), ("ND", "America/Chicago"), ("NE", "America/Chicago"),
            ("NM", "America/Denver"), ("NV", "America/Los_Angeles"), ("OK", "America/Chicago"),
            ("OR", "America/Los_Angeles"), ("PR", "America/Puerto_Rico"), ("PW", "Pacific/Palau"),
            ("SD", "America/Chicago"), ("TN", "America/Chicago"), ("TX", "America/Chicago"),
            ("UT", "America/Denver"), ("VI", "America/St_Thomas"), ("WA", "America/Los_Angeles"),
            ("WI", "America/Chicago"), ("WY", "America/Denver")],
        zones: &["America/New_York", "America/Detroit", "America/Kentucky/Louisville",
            "America/Kentucky/Monticello", "America/Indiana/Indianapolis",
            "America/Indiana/Vincennes", "America/Indiana/Winamac", "America/Indiana/Marengo",
            "America/Indiana/Petersburg", "America/Indiana/Vevay", "America/Chicago",
            "America/Indiana/Tell_City", "America/Indiana/Knox", "America/Menominee",
            "America/North_Dakota/Center", "America/North_Dakota/New_Salem",
            "America/North_Dakota/Beulah", "America/Denver", "America/Boise", "America/Phoenix",
            "America/Los_Angeles", "America/Anchorage", "America/Juneau", "America/Sitka",
            "America/Metlakatla", "America/Yakutat", "America/Nome", "America/Adak",
            "Pacific/Honolulu"],
    },
];

/// Every other country with people in it (ISO 3166-1, plus AC, TA and XK, which phones and
/// Shopify use), on one clock. Where tzdata splits a country into zones that keep the same time
/// today (AR, DE, KZ, ...) the capital's stands for all; China keeps Beijing time officially.
#[rustfmt::skip]
const SINGLE_ZONE: &[(&str, &str)] = &[
    ("AC", "Atlantic/St_Helena"), ("AD", "Europe/Andorra"), ("AE", "Asia/Dubai"),
    ("AF", "Asia/Kabul"), ("AG", "America/Antigua"), ("AI", "America/Anguilla"),
    ("AL", "Europe/Tirane"), ("AM", "Asia/Yerevan"), ("AO", "Africa/Luanda"),
    ("AR", "America/Argentina/Buenos_Aires"), ("AS", "Pacific/Pago_Pago"), ("AT", "Europe/Vienna"),
    ("AW", "America/Aruba"), ("AX", "Europe/Mariehamn"), ("AZ", "Asia/Baku"),
    ("BA", "Europe/Sarajevo"), ("BB", "America/Barbados"), ("BD", "Asia/Dhaka"),
    ("BE", "Europe/Brussels"), ("BF", "Africa/Ouagadougou"), ("BG", "Europe/Sofia"),
    ("BH", "Asia/Bahrain"), ("BI", "Africa/Bujumbura"), ("BJ", "Africa/Porto-Novo"),
    ("BL", "America/St_Barthelemy"), ("BM", "Atlantic/Bermuda"), ("BN", "Asia/Brunei"),
    ("BO", "America/La_Paz"), ("BQ", "America/Kralendijk"), ("BS", "America/Nassau"),
    ("BT", "Asia/Thimphu"), ("BW", "Africa/Gaborone"), ("BY", "Europe/Minsk"),
    ("BZ", "America/Belize"), ("CC", "Indian/Cocos"), ("CF", "Africa/Bangui"),
    ("CG", "Africa/Brazzaville"), ("CH", "Europe/Zurich"), ("CI", "Africa/Abidjan"),
    ("CK", "Pacific/Rarotonga"), ("CM", "Africa/Douala"), ("CN", "Asia/Shanghai"),
    ("CO", "America/Bogota"), ("CR", "America/Costa_Rica"), ("CU", "America/Havana"),
    ("CV", "Atlantic/Cape_Verde"), ("CW", "America/Curacao"), ("CX", "Indian/Christmas"),
    ("CY", "Asia/Nicosia"), ("CZ", "Europe/Prague"), ("DE", "Europe/Berlin"),
    ("DJ", "Africa/Djibouti"), ("DK", "Europe/Copenhagen"), ("DM", "America/Dominica"),
    ("DO", "America/Santo_Domingo"), ("DZ", "Africa/Algiers"), ("EE", "Europe/Tallinn"),
    ("EG", "Africa/Cairo"), ("EH", "Africa/El_Aaiun"), ("ER", "Africa/Asmara"),
    ("ET", "Africa/Addis_Ababa"), ("FI", "Europe/Helsinki"), ("FJ", "Pacific/Fiji"),
    ("FK", "Atlantic/Stanley"), ("FO", "Atlantic/Faroe"), ("FR", "Europe/Paris"),
    ("GA", "Africa/Libreville"), ("GB", "Europe/London"), ("GD", "America/Grenada"),
    ("GE", "Asia/Tbilisi"), ("GF", "America/Cayenne"), ("GG", "Europe/Guernsey"),
    ("GH", "Africa/Accra"), ("GI", "Europe/Gibraltar"), ("GM", "Africa/Banjul"),
    ("GN", "Africa/Conakry"), ("GP", "America/Guadeloupe"), ("GQ", "Africa/Malabo"),
    ("GR", "Europe/Athens"), ("GS", "Atlantic/South_Georgia"), ("GT", "America/Guatemala"),
    ("GU", "Pacific/Guam"), ("GW", "Africa/Bissau"), ("GY", "America/Guyana"),
    ("HK", "Asia/Hong_Kong"), ("HN", "America/Tegucigalpa"), ("HR", "Europe/Zagreb"),
    ("HT", "America/Port-au-Prince"), ("HU", "Europe/Budapest"), ("IE", "Europe/Dublin"),
    ("IL", "Asia/Jerusalem"), ("IM", "Europe/Isle_of_Man"), ("IN", "Asia/Kolkata"),
    ("IO", "Indian/Chagos"), ("IQ", "Asia/Baghdad"), ("IR", "Asia/Tehran"),
    ("IS", "Atlantic/Reykjavik"), ("IT", "Europe/Rome"), ("JE", "Europe/Jersey"),
    ("JM", "America/Jamaica"), ("JO", "Asia/Amman"), ("JP", "Asia/Tokyo"), ("KE", "Africa/Nairobi"),
    ("KG", "Asia/Bishkek"), ("KH", "Asia/Phnom_Penh"), ("KM", "Indian/Comoro"),
    ("KN", "America/St_Kitts"), ("KP", "Asia/Pyongyang"), ("KR", "Asia/Seoul"),
    ("KW", "Asia/Kuwait"), ("KY", "America/Cayman"), ("KZ", "Asia/Almaty"),
    ("LA", "Asia/Vientiane"), ("LB", "Asia/Beirut"), ("LC", "America/St_Lucia"),
    ("LI", "Europe/Vaduz"), ("LK", "Asia/Colombo"), ("LR", "Africa/Monrovia"),
    ("LS", "Africa/Maseru"), ("LT", "Europe/Vilnius"), ("LU", "Europe/Luxembourg"),
    ("LV", "Europe/Riga"), ("LY", "Africa/Tripoli"), ("MA", "Africa/Casablanca"),
    ("MC", "Europe/Monaco"), ("MD", "Europe/Chisinau"), ("ME", "Europe/Podgorica"),
    ("MF", "America/Marigot"), ("MG", "Indian/Antananarivo"), ("MH", "Pacific/Majuro"),
    ("MK", "Europe/Skopje"), ("ML", "Africa/Bamako"), ("MM", "Asia/Yangon"), ("MO", "Asia/Macau"),
    ("MP", "Pacific/Saipan"), ("MQ", "America/Martinique"), ("MR", "Africa/Nouakchott"),
    ("MS", "America/Montserrat"), ("MT", "Europe/Malta"), ("MU", "Indian/Mauritius"),
    ("MV", "Indian/Maldives"), ("MW", "Africa/Blantyre"), ("MY", "Asia/Kuala_Lumpur"),
    ("MZ", "Africa/Maputo"), ("NA", "Africa/Windhoek"), ("NC", "Pacific/Noumea"),
    ("NE", "Africa/Niamey"), ("NF", "Pacific/Norfolk"), ("NG", "Africa/Lagos"),
    ("NI", "America/Managua"), ("NL", "Europe/Amsterdam"), ("NO", "Europe/Oslo"),
    ("NP", "Asia/Kathmandu"), ("NR", "Pacific/Nauru"), ("NU", "Pacific/Niue"),
    ("OM", "Asia/Muscat"), ("PA", "America/Panama"), ("PE", "America/Lima"), ("PH", "Asia/Manila"),
    ("PK", "Asia/Karachi"), ("PL", "Europe/Warsaw"), ("PM", "America/Miquelon"),
    ("PN", "Pacific/Pitcairn"), ("PR", "America/Puerto_Rico"), ("PS", "Asia/Hebron"),
    ("PW", "Pacific/Palau"), ("PY", "America/Asuncion"), ("QA", "Asia/Qatar"),
    ("RE", "Indian/Reunion"), ("RO", "Europe/Bucharest"), ("RS", "Europe/Belgrade"),
    ("RW", "Africa/Kigali"), ("SA", "Asia/Riyadh"), ("SB", "Pacific/Guadalcanal"),
    ("SC", "Indian/Mahe"), ("SD", "Africa/Khartoum"), ("SE", "Europe/Stockholm"),
    ("SG", "Asia/Singapore"), ("SH", "Atlantic/St_Helena"), ("SI", "Europe/Ljubljana"),
    ("SJ", "Europe/Oslo"), ("SK", "Europe/Bratislava"), ("SL", "Africa/Freetown"),
    ("SM", "Europe/San_Marino"), ("SN", "Africa/Dakar"), ("SO", "Africa/Mogadishu"),
    ("SR", "America/Paramaribo"), ("SS", "Africa/Juba"), ("ST", "Africa/Sao_Tome"),
    ("SV", "America/El_Salvador"), ("SX", "America/Lower_Princes"), ("SY", "Asia/Damascus"),
    ("SZ", "Africa/Mbabane"), ("TA", "Atlantic/St_Helena"), ("TC", "America/Grand_Turk"),
    ("TD", "Africa/Ndjamena"), ("TF", "Indian/Kerguelen"), ("TG", "Africa/Lome"),
    ("TH", "Asia/Bangkok"), ("TJ", "Asia/Dushanbe"), ("TK", "Pacific/Fakaofo"), ("TL", "Asia/Dili"),
    ("TM", "Asia/Ashgabat"), ("TN", "Africa/Tunis"), ("TO", "Pacific/Tongatapu"),
    ("TR", "Europe/Istanbul"), ("TT", "America/Port_of_Spain"), ("TV", "Pacific/Funafuti"),
    ("TW", "Asia/Taipei"), ("TZ", "Africa/Dar_es_Salaam"), ("UA", "Europe/Kyiv"),
    ("UG", "Africa/Kampala"), ("UY", "America/Montevideo"), ("UZ", "Asia/Tashkent"),
    ("VA", "Europe/Vatican"), ("VC", "America/St_Vincent"), ("VE", "America/Caracas"),
    ("VG", "America/Tortola"), ("VI", "America/St_Thomas"), ("VN", "Asia/Ho_Chi_Minh"),
    ("VU", "Pacific/Efate"), ("WF", "Pacific/Wallis"), ("WS", "Pacific/Apia"),
    ("XK", "Europe/Belgrade"), ("YE", "Asia/Aden"), ("YT", "Indian/Mayotte"),
    ("ZA", "Africa/Johannesburg"), ("ZM", "Africa/Lusaka"), ("ZW", "Africa/Harare"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::gate::zone_rules::TzDatabase;
    use chrono::TimeZone;
    use chrono_tz::Tz;
    use proptest::prelude::*;

    fn shopper_zone<'a>(
        phone: Option<&str>,
        country: Option<&str>,
        province: Option<&str>,
        shop: Option<&'a str>,
    ) -> &'a str {
        super::shopper_zone(phone, country, province, shop, &TzDatabase)
    }

    fn defer(due: Millis, quiet: &QuietHours, zone: &str) -> Millis {
        super::defer(due, quiet, zone, &TzDatabase)
    }

    fn at(rfc3339: &str) -> Millis {
        Millis::parse_rfc3339(rfc3339).unwrap()
    }

    fn quiet(start: &str, end: &str) -> QuietHours {
        QuietHours {
            start: start.into(),
            end: end.into(),
        }
    }

    /// `defer` of a UTC instant, answered as a UTC instant, for readable expectations.
    fn deferred(due: &str, window: (&str, &str), zone: &str) -> String {
        defer(at(due), &quiet(window.0, window.1), zone).to_rfc3339()
    }

    #[test]
    fn hhmm() {
        assert_eq!(parse_hhmm("00:00"), NaiveTime::from_hms_opt(0, 0, 0));
        assert_eq!(parse_hhmm("09:05"), NaiveTime::from_hms_opt(9, 5, 0));
        assert_eq!(parse_hhmm("23:59"), NaiveTime::from_hms_opt(23, 59, 0));
        for bad in [
            "",
            "24:00",
            "23:60",
            "9:00",
            "09:0",
            "0900",
            "09.00",
            " 09:00",
            "09:00 ",
            "+9:00",
            "-1:00",
            "09:00:00",
            "٠٩:٠٠",
            "ab:cd",
            "99:99",
        ] {
            assert_eq!(parse_hhmm(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn wrapping_window() {
        let lisbon = "Europe/Lisbon"; // UTC+0 in January
        let night = ("21:00", "09:00");
        assert_eq!(
            deferred("2026-01-10T22:00:00Z", night, lisbon),
            "2026-01-11T09:00:00.000Z"
        );
        assert_eq!(
            deferred("2026-01-10T21:00:00Z", night, lisbon),
            "2026-01-11T09:00:00.000Z"
        );
        assert_eq!(
            deferred("2026-01-11T00:00:00Z", night, lisbon),
            "2026-01-11T09:00:00.000Z"
        );
        assert_eq!(
            deferred("2026-01-11T08:59:59.999Z", night, lisbon),
            "2026-01-11T09:00:00.000Z"
        );
        assert_eq!(
            deferred("2026-01-11T09:00:00Z", night, lisbon),
            "2026-01-11T09:00:00.000Z"
        );
        assert_eq!(
            deferred("2026-01-11T20:59:59.999Z", night, lisbon),
            "2026-01-11T20:59:59.999Z"
        );
        // Ending at midnight: the end is the next day's 00:00.
        let evening = ("22:00", "00:00");
        assert_eq!(
            deferred("2026-01-10T23:30:00Z", evening, lisbon),
            "2026-01-11T00:00:00.000Z"
        );
        assert_eq!(
            deferred("2026-01-11T00:00:00Z", evening, lisbon),
            "2026-01-11T00:00:00.000Z"
        );
    }

    #[test]
    fn non_wrapping_window() {
        let tokyo = "Asia/Tokyo"; // UTC+9, no DST
        let lunch = ("13:00", "14:00");
        assert_eq!(
            deferred("2026-05-01T04:30:00Z", lunch, tokyo),
            "2026-05-01T05:00:00.000Z"
        );
        assert_eq!(
            deferred("2026-05-01T04:00:00Z", lunch, tokyo),
            "2026-05-01T05:00:00.000Z"
        );
        assert_eq!(
            deferred("2026-05-01T03:59:00Z", lunch, tokyo),
            "2026-05-01T03:59:00.000Z"
        );
        assert_eq!(
            deferred("2026-05-01T05:00:00Z", lunch, tokyo),
            "2026-05-01T05:00:00.000Z"
        );
        let small_hours = ("00:00", "06:00");
        assert_eq!(
            deferred("2026-04-30T15:00:00Z", small_hours, tokyo),
            "2026-04-30T21:00:00.000Z"
        );
        assert_eq!(
            deferred("2026-04-30T14:59:00Z", small_hours, tokyo),
            "2026-04-30T14:59:00.000Z"
        );
    }

    #[test]
    fn empty_or_unreadable_windows_defer_nothing() {
        for (start, end) in [
            ("10:00", "10:00"),
            ("25:00", "09:00"),
            ("21:00", ""),
            ("9pm", "9am"),
        ] {
            assert_eq!(
                deferred("2026-01-10T10:00:00Z", (start, end), "UTC"),
                "2026-01-10T10:00:00.000Z"
            );
        }
    }

    #[test]
    fn toronto_spring_forward_and_fall_back() {
        let toronto = "America/Toronto";
        // 2026-03-08 02:00 EST jumps to 03:00 EDT: 02:30 does not exist, so quiet hours end at
        // 03:00 EDT (07:00Z).
        assert_eq!(
            deferred("2026-03-08T06:00:00Z", ("21:00", "02:30"), toronto),
            "2026-03-08T07:00:00.000Z"
        );
        // Across the short night, 09:00 is already daylight time (UTC-4).
        assert_eq!(
            deferred("2026-03-08T03:00:00Z", ("21:00", "09:00"), toronto),
            "2026-03-08T13:00:00.000Z"
        );
        // 2026-11-01 01:00–02:00 happens twice: the earliest 01:30 is the EDT one (05:30Z)...
        let late = ("21:00", "01:30");
        assert_eq!(
            deferred("2026-11-01T04:30:00Z", late, toronto),
            "2026-11-01T05:30:00.000Z"
        );
        // ...at 01:45 EDT quiet hours are over, but the clock falls back into them at 02:00:
        assert_eq!(
            deferred("2026-11-01T05:45:00Z", late, toronto),
            "2026-11-01T05:45:00.000Z"
        );
        // during the second 01:10 the end is the second 01:30 (EST), never one already past.
        assert_eq!(
            deferred("2026-11-01T06:10:00Z", late, toronto),
            "2026-11-01T06:30:00.000Z"
        );
        assert_eq!(
            deferred("2026-10-31T02:00:00Z", ("21:00", "09:00"), toronto),
            "2026-10-31T13:00:00.000Z"
        );
        assert_eq!(
            deferred("2026-11-01T02:00:00Z", ("21:00", "09:00"), toronto),
            "2026-11-01T14:00:00.000Z"
        );
    }

    #[test]
    fn lisbon_summer_time() {
        let lisbon = "Europe/Lisbon";
        // 2026-03-29 01:00 WET jumps to 02:00 WEST.
        assert_eq!(
            deferred("2026-03-28T23:30:00Z", ("23:00", "01:30"), lisbon),
            "2026-03-29T01:00:00.000Z"
        );
        // 2026-10-25 02:00 WEST falls back to 01:00 WET: 01:30 first happens at 00:30Z.
        assert_eq!(
            deferred("2026-10-24T21:00:00Z", ("21:00", "01:30"), lisbon),
            "2026-10-25T00:30:00.000Z"
        );
        assert_eq!(
            deferred("2026-10-24T22:00:00Z", ("22:00", "09:00"), lisbon),
            "2026-10-25T09:00:00.000Z"
        );
    }

    #[test]
    fn sao_paulo_has_no_daylight_saving_any_more() {
        let sao_paulo = "America/Sao_Paulo";
        // Early November used to start summer time; since 2019 Brazil stays at UTC-3.
        assert_eq!(
            deferred("2026-11-01T01:00:00Z", ("21:00", "09:00"), sao_paulo),
            "2026-11-01T12:00:00.000Z"
        );
        // 2018-11-04 was the last spring-forward (00:00 → 01:00): the history is still right.
        assert_eq!(
            deferred("2018-11-04T02:00:00Z", ("22:00", "00:30"), sao_paulo),
            "2018-11-04T03:00:00.000Z"
        );
    }

    #[test]
    fn sydney_daylight_saving() {
        let sydney = "Australia/Sydney";
        // 2026-10-04 02:00 AEST jumps to 03:00 AEDT.
        assert_eq!(
            deferred("2026-10-03T12:00:00Z", ("21:00", "02:30"), sydney),
            "2026-10-03T16:00:00.000Z"
        );
        // 2026-04-05 03:00 AEDT falls back to 02:00 AEST: the earliest 02:30 is AEDT.
        assert_eq!(
            deferred("2026-04-04T11:00:00Z", ("21:00", "02:30"), sydney),
            "2026-04-04T15:30:00.000Z"
        );
        assert_eq!(
            deferred("2026-04-04T11:00:00Z", ("21:00", "09:00"), sydney),
            "2026-04-04T23:00:00.000Z"
        );
    }

    #[test]
    fn a_skipped_day_moves_to_the_next_real_morning() {
        // Samoa skipped 2011-12-30 entirely: from 23:59:59 on the 29th (UTC-10) to 00:00 on the
        // 31st (UTC+14). 00:00 on the 31st is still night, so the answer is 09:00 that day.
        assert_eq!(
            deferred("2011-12-30T08:00:00Z", ("21:00", "09:00"), "Pacific/Apia"),
            "2011-12-30T19:00:00.000Z"
        );
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let min = NaiveDateTime::MIN.and_utc().timestamp_millis();
        let max = NaiveDateTime::MAX.and_utc().timestamp_millis();
        let edges = [i64::MIN, min - 1, min, i64::MAX, max + 1, max, -1, 0];
        let near = (0..48).flat_map(|h| [min + h * 3_600_000, max - h * 3_600_000]);
        for due in edges.into_iter().chain(near) {
            for zone in [
                "UTC",
                "Pacific/Apia",
                "Pacific/Kiritimati",
                "America/Toronto",
            ] {
                for (start, end) in [("21:00", "09:00"), ("00:00", "23:59"), ("23:59", "00:00")] {
                    assert!(defer(Millis(due), &quiet(start, end), zone).0 >= due);
                }
            }
        }
    }

    #[test]
    fn single_zone_countries() {
        let zone = |phone: Option<&str>, country: Option<&str>| {
            shopper_zone(phone, country, None, Some("America/Chicago"))
        };
        assert_eq!(zone(Some("PT"), None), "Europe/Lisbon");
        assert_eq!(zone(Some("FR"), Some("FR")), "Europe/Paris");
        assert_eq!(zone(None, Some(" jp ")), "Asia/Tokyo");
        assert_eq!(zone(Some("XK"), None), "Europe/Belgrade");
        assert_eq!(zone(Some("AR"), None), "America/Argentina/Buenos_Aires");
        assert_eq!(zone(Some("KZ"), None), "Asia/Almaty");
        assert_eq!(zone(Some("GP"), Some("FR")), "America/Guadeloupe");
        // The phone's country wins over a parcel sent abroad.
        assert_eq!(zone(Some("FR"), Some("PT")), "Europe/Paris");
    }

    #[test]
    fn provinces_place_shoppers_in_large_countries() {
        let zone = |country: &str, province: &str| {
            shopper_zone(Some(country), Some(country), Some(province), None)
        };
        assert_eq!(zone("US", "CA"), "America/Los_Angeles");
        assert_eq!(zone("US", "NY"), "America/New_York");
        assert_eq!(zone("US", "AZ"), "America/Phoenix");
        assert_eq!(zone("CA", "BC"), "America/Vancouver");
        assert_eq!(zone("CA", "NL"), "America/St_Johns");
        assert_eq!(zone("CA", "QC"), "America/Toronto");
        assert_eq!(zone("BR", "AM"), "America/Manaus");
        assert_eq!(zone("BR", "SP"), "America/Sao_Paulo");
        assert_eq!(zone("AU", "WA"), "Australia/Perth");
        assert_eq!(zone("AU", "QLD"), "Australia/Brisbane");
        assert_eq!(zone("AU", "VIC"), "Australia/Sydney");
        assert_eq!(zone("MX", "Q ROO"), "America/Cancun");
        assert_eq!(zone("MX", "bc"), "America/Tijuana");
        assert_eq!(zone("MX", "JAL"), "America/Mexico_City");
        assert_eq!(zone("ES", "TF"), "Atlantic/Canary");
        assert_eq!(zone("PT", "PT-20"), "Atlantic/Azores");
        assert_eq!(zone("ID", "BA"), "Asia/Makassar");
        assert_eq!(zone("CL", "MA"), "America/Punta_Arenas");
        // A known province beats the shop's zone, even in the same country.
        assert_eq!(
            shopper_zone(Some("BR"), Some("BR"), Some("SP"), Some("America/Manaus")),
            "America/Sao_Paulo"
        );
        // Without a phone country, the shipping address alone places the shopper.
        assert_eq!(
            shopper_zone(None, Some("US"), Some("TX"), None),
            "America/Chicago"
        );
    }

    #[test]
    fn without_a_usable_province_the_shop_or_the_main_zone() {
        // A Canadian phone shipping to California: the province belongs to another country.
        assert_eq!(
            shopper_zone(Some("CA"), Some("US"), Some("CA"), None),
            "America/Toronto"
        );
        assert_eq!(
            shopper_zone(
                Some("CA"),
                Some("US"),
                Some("CA"),
                Some("America/Vancouver")
            ),
            "America/Vancouver"
        );
        assert_eq!(
            shopper_zone(Some("AU"), None, None, Some("Australia/Perth")),
            "Australia/Perth"
        );
        assert_eq!(
            shopper_zone(Some("AU"), Some("AU"), Some(""), Some("Europe/London")),
            "Australia/Sydney"
        );
        assert_eq!(
            shopper_zone(Some("US"), None, None, Some("Mars/Olympus_Mons")),
            "America/New_York"
        );
        assert_eq!(
            shopper_zone(Some("RU"), Some("RU"), Some("NVS"), None),
            "Europe/Moscow"
        );
    }

    #[test]
    fn unknown_countries_fall_back_to_the_shop_then_utc() {
        let lisbon = Some("Europe/Lisbon");
        assert_eq!(shopper_zone(None, None, None, lisbon), "Europe/Lisbon");
        assert_eq!(
            shopper_zone(Some("ZZ"), None, None, lisbon),
            "Europe/Lisbon"
        );
        assert_eq!(
            shopper_zone(Some("AQ"), Some("PT"), None, None),
            "Europe/Lisbon"
        );
        assert_eq!(shopper_zone(Some(""), Some("🇵🇹"), None, None), "UTC");
        assert_eq!(shopper_zone(None, None, None, Some("nowhere")), "UTC");
        assert_eq!(shopper_zone(None, None, None, None), "UTC");
    }

    #[test]
    fn tables_are_consistent() {
        let mut codes: Vec<&str> = SINGLE_ZONE.iter().map(|(c, _)| *c).collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
        codes.extend(MULTI_ZONE.iter().map(|m| m.country));
        let count = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), count, "a country is in both tables");
        assert_eq!(
            count, 249,
            "the 250 regions phone.rs knows, less Antarctica"
        );
        assert!(codes
            .iter()
            .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())));
        for multi in MULTI_ZONE {
            assert!(multi.zones.contains(&multi.main), "{}", multi.country);
            for (province, zone) in multi.exceptions {
                assert_ne!(*zone, multi.main, "{} {province}", multi.country);
                // US territories shipping as US "provinces" keep their own country's zone.
                let own = shopper_zone(Some(province), None, None, None);
                assert!(
                    multi.zones.contains(zone) || own == *zone,
                    "{} {province}",
                    multi.country
                );
            }
        }
    }

    /// The oracle: is `at` inside `[start, end)` on the wall clock of `zone`?
    fn is_quiet(at: Millis, start: NaiveTime, end: NaiveTime, zone: &str) -> bool {
        let zone: Tz = zone.parse().unwrap();
        let time = zone.timestamp_millis_opt(at.0).unwrap().time();
        if start <= end {
            start <= time && time < end
        } else {
            time >= start || time < end
        }
    }

    const ZONES: [&str; 13] = [
        "America/Toronto",
        "Europe/Lisbon",
        "America/Sao_Paulo",
        "Australia/Sydney",
        "Australia/Lord_Howe", // half-hour daylight saving
        "Pacific/Apia",        // a skipped day
        "America/Havana",      // clocks change at midnight
        "America/Santiago",    // clocks change at 24:00
        "Europe/Dublin",       // negative daylight saving in tzdata
        "Africa/Casablanca",   // clocks change around Ramadan
        "Pacific/Chatham",     // UTC+12:45
        "Asia/Kathmandu",      // UTC+5:45
        "UTC",
    ];

    /// Clock changes: the zone and a UTC instant at which its clock jumps.
    const TRANSITIONS: [(&str, &str); 12] = [
        ("America/Toronto", "2026-03-08T07:00:00Z"),
        ("America/Toronto", "2026-11-01T06:00:00Z"),
        ("Europe/Lisbon", "2026-03-29T01:00:00Z"),
        ("Europe/Lisbon", "2026-10-25T01:00:00Z"),
        ("America/Sao_Paulo", "2018-11-04T03:00:00Z"),
        ("Australia/Sydney", "2026-04-04T16:00:00Z"),
        ("Australia/Sydney", "2026-10-03T16:00:00Z"),
        ("Australia/Lord_Howe", "2026-04-04T15:00:00Z"),
        ("Australia/Lord_Howe", "2026-10-03T15:30:00Z"),
        ("Pacific/Apia", "2011-12-30T10:00:00Z"),
        ("America/Havana", "2026-03-08T05:00:00Z"),
        ("America/Havana", "2026-11-01T05:00:00Z"),
    ];

    /// `defer` never answers earlier than `due` nor inside quiet hours, leaves a `due` outside
    /// them alone, and waits at most a few days.
    fn check_defer(due: i64, start: u32, end: u32, zone: &str) -> Result<(), TestCaseError> {
        let (start_time, end_time) = (
            NaiveTime::from_hms_opt(start / 60, start % 60, 0).unwrap(),
            NaiveTime::from_hms_opt(end / 60, end % 60, 0).unwrap(),
        );
        let window = quiet(
            &start_time.format("%H:%M").to_string(),
            &end_time.format("%H:%M").to_string(),
        );
        let result = defer(Millis(due), &window, zone);
        prop_assert!(result.0 >= due);
        prop_assert!(!is_quiet(result, start_time, end_time, zone));
        if !is_quiet(Millis(due), start_time, end_time, zone) {
            prop_assert_eq!(result.0, due);
        }
        prop_assert!(result.0 - due <= 3 * 86_400_000);
        Ok(())
    }

    proptest! {
        #[test]
        fn defer_never_lands_in_quiet_hours_nor_goes_back(
            due in 946_684_800_000i64..4_102_444_800_000,
            start in 0u32..1440,
            end in 0u32..1440,
            zone in proptest::sample::select(&ZONES[..]),
        ) {
            check_defer(due, start, end, zone)?;
        }

        #[test]
        fn defer_around_clock_changes(
            transition in proptest::sample::select(&TRANSITIONS[..]),
            offset_minutes in -1800i64..1800,
            start in 0u32..1440,
            end in 0u32..1440,
        ) {
            let (zone, instant) = transition;
            check_defer(at(instant).0 + offset_minutes * 60_000, start, end, zone)?;
        }

        #[test]
        fn any_input_is_safe(due: i64, start in ".{0,6}", end in ".{0,6}", province in ".{0,6}") {
            let _ = defer(Millis(due), &quiet(&start, &end), "Pacific/Apia");
            prop_assert!(defer(Millis(due), &quiet("21:00", "09:00"), "Pacific/Apia").0 >= due);
            let _ = shopper_zone(Some(&start), Some(&end), Some(&province), Some(&province));
        }
    }
}
