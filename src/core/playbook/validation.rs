//! Checks a merchant's playbook (docs/playbook.md) before it is stored, so `PUT /api/playbook`
//! can answer 400 with one message per offending field instead of storing a playbook the
//! journey would trip over at 3 a.m.
//!
//! Fields are named by JSON path (`steps[1].delay_seconds`), the way the admin page finds the
//! input to highlight.

use serde::Serialize;

use crate::core::gate::caps::MAX_WINDOW_DAYS;
use crate::core::gate::quiet_hours::parse_hhmm;
use crate::core::optimizer;
use crate::core::playbook::{Discount, Playbook, Step, Template, Variable};
use crate::core::shopify::payloads::MAX_URL_CHARS;
use crate::core::shopify::product_image::usable;
use crate::core::values::money::Money;

/// What is wrong with one field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON path of the field, e.g. `steps[1].delay_seconds`; empty for the body as a whole.
    pub field: String,
    pub message: String,
}

impl FieldError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

pub const MAX_STEPS: usize = 10;
pub const MAX_DELAY_SECONDS: i64 = 30 * 86_400;
pub const MAX_BODY_PARAMS: usize = 10;
/// More than WhatsApp has template languages (about 70).
pub const MAX_LANGUAGES: usize = 100;
pub const MAX_DISCOUNT_HOURS: u32 = 720;
pub const MAX_HOLDOUT_PERCENT: u8 = 50;
pub const MAX_JOURNEY_TTL_DAYS: u32 = 90;
/// Options per kind and step: a shop has too few journeys to tell more apart.
pub const MAX_OPTIONS: usize = 5;
pub const MAX_ATTRIBUTION_HOURS: f64 = 720.0;

const LANGUAGE_HINT: &str = "must be a WhatsApp language code such as en, en_US or pt_BR";

/// Reads the body of `PUT /api/playbook` and checks it: the playbook, or every problem found.
/// A body that does not even deserialize (a wrong type, an unknown field) gives one error,
/// named after the field where reading stopped. `known_templates`: as in [`validate_with`].
pub fn parse(body: &[u8], known_templates: Option<&[String]>) -> Result<Playbook, Vec<FieldError>> {
    let playbook: Playbook =
        serde_json::from_slice(body).map_err(|e| vec![json_error(body, &e)])?;
    let errors = validate_with(&playbook, known_templates);
    if errors.is_empty() {
        Ok(playbook)
    } else {
        Err(errors)
    }
}

/// Every rule the playbook breaks, one error per offending field, in document order.
pub fn validate(p: &Playbook) -> Vec<FieldError> {
    validate_with(p, None)
}

/// [`validate`], and, given the names of the templates the shop's WhatsApp account has, every
/// template a step may use must be one of them.
pub fn validate_with(p: &Playbook, known_templates: Option<&[String]>) -> Vec<FieldError> {
    let mut errors = vec![];
    if p.version != 1 {
        errors.push(FieldError::new("version", "must be 1"));
    }
    let default_ok = is_language(&p.default_language);
    if !default_ok {
        errors.push(FieldError::new("default_language", LANGUAGE_HINT));
    }
    if p.steps.is_empty() || p.steps.len() > MAX_STEPS {
        errors.push(FieldError::new(
            "steps",
            format!("must have between 1 and {MAX_STEPS} steps"),
        ));
    }
    // Past the limits only the count is reported: a 1 MiB body must not cost quadratic time
    // nor produce a megabyte of errors.
    let rules = StepRules {
        default_language: default_ok.then_some(p.default_language.as_str()),
        known_templates,
        window_ms: p
            .optimize
            .enabled
            .then(|| p.attribution_ms())
            .filter(|_| window_ok(p.attribution_window_hours)),
    };
    // The latest delay of the steps before, options included, once any step has options.
    let mut earlier_delays: Option<i64> = None;
    let mut any_options = false;
    for (i, step) in p.steps.iter().enumerate().take(MAX_STEPS) {
        let earlier = p.steps[..i].iter().position(|s| s.id == step.id);
        let path = format!("steps[{i}]");
        validate_step(step, &path, earlier, &rules, &mut errors);
        let delays =
            || std::iter::once(step.delay_seconds).chain(step.delay_options.iter().copied());
        any_options |= !step.delay_options.is_empty();
        // A list already refused for its length gets no second message on the same field.
        let counted = step.delay_options.len() <= MAX_OPTIONS;
        if let Some(latest) = earlier_delays.filter(|_| any_options && counted) {
            if delays().min().is_some_and(|first| first <= latest) {
                let field = if step.delay_options.is_empty() {
                    "delay_seconds"
                } else {
                    "delay_options"
                };
                errors.push(FieldError::new(
                    format!("{path}.{field}"),
                    "must all come after every delay of the steps before, options included",
                ));
            }
        }
        earlier_delays = earlier_delays.max(delays().max());
    }
    let combinations = optimizer::combinations(p);
    if combinations > optimizer::MAX_COMBINATIONS {
        errors.push(FieldError::new(
            "steps",
            format!(
                "the options of all steps together must make at most {} combinations, not {combinations}",
                optimizer::MAX_COMBINATIONS
            ),
        ));
    }
    if let Some(quiet) = &p.quiet_hours {
        for (field, value) in [("start", &quiet.start), ("end", &quiet.end)] {
            if parse_hhmm(value).is_none() {
                errors.push(FieldError::new(
                    format!("quiet_hours.{field}"),
                    "must be a time of day as HH:MM, from 00:00 to 23:59",
                ));
            }
        }
    }
    if let Some(caps) = &p.caps {
        if caps.max_messages_per_customer < 1 {
            errors.push(FieldError::new(
                "caps.max_messages_per_customer",
                "must be at least 1",
            ));
        }
        if !(1..=MAX_WINDOW_DAYS).contains(&caps.window_days) {
            errors.push(FieldError::new(
                "caps.window_days",
                format!("must be between 1 and {MAX_WINDOW_DAYS} days"),
            ));
        }
    }
    if p.holdout_percent > MAX_HOLDOUT_PERCENT {
        errors.push(FieldError::new(
            "holdout_percent",
            format!("must be between 0 and {MAX_HOLDOUT_PERCENT}"),
        ));
    }
    if !(1..=MAX_JOURNEY_TTL_DAYS).contains(&p.journey_ttl_days) {
        errors.push(FieldError::new(
            "journey_ttl_days",
            format!("must be between 1 and {MAX_JOURNEY_TTL_DAYS} days"),
        ));
    }
    if !window_ok(p.attribution_window_hours) {
        errors.push(FieldError::new(
            "attribution_window_hours",
            format!("must be more than one second and at most {MAX_ATTRIBUTION_HOURS} hours"),
        ));
    }
    if let Some(url) = &p.fallback_image_url {
        let clean = !url.chars().any(|c| c.is_whitespace() || c.is_control());
        if !clean || usable(url).is_none() {
            errors.push(FieldError::new(
                "fallback_image_url",
                format!("must be an https:// URL of an image, at most {MAX_URL_CHARS} characters"),
            ));
        }
    }
    if p.optimize.explore_percent > 100 {
        errors.push(FieldError::new(
            "optimize.explore_percent",
            "must be between 0 and 100",
        ));
    }
    errors
}

fn window_ok(hours: f64) -> bool {
    hours.is_finite() && hours * 3600.0 >= 1.0 && hours <= MAX_ATTRIBUTION_HOURS
}

/// What a step is checked against besides itself.
struct StepRules<'a> {
    /// The playbook's, when it is well-formed.
    default_language: Option<&'a str>,
    known_templates: Option<&'a [String]>,
    /// The attribution window when the optimizer is on: a delay option must fall within it.
    window_ms: Option<i64>,
}

/// `duplicate_of`: the index of an earlier step with the same id.
fn validate_step(
    step: &Step,
    path: &str,
    duplicate_of: Option<usize>,
    rules: &StepRules,
    errors: &mut Vec<FieldError>,
) {
    let mut error = |field: &str, message: String| {
        errors.push(FieldError::new(format!("{path}.{field}"), message));
    };
    let id_chars = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-';
    if !(1..=32).contains(&step.id.as_str().len()) || !step.id.as_str().bytes().all(id_chars) {
        error(
            "id",
            "must be 1 to 32 characters of a-z, 0-9, _ and -".into(),
        );
    } else if let Some(earlier) = duplicate_of {
        error("id", format!("repeats the id of steps[{earlier}]"));
    }
    if !(1..=MAX_DELAY_SECONDS).contains(&step.delay_seconds) {
        error(
            "delay_seconds",
            format!("must be between 1 and {MAX_DELAY_SECONDS} seconds (30 days)"),
        );
    }

    validate_template(&step.template, &format!("{path}.template"), rules, errors);
    validate_options(step, path, rules, errors);
    let mut error = |field: &str, message: String| {
        errors.push(FieldError::new(format!("{path}.{field}"), message));
    };

    if step.body_params.len() > MAX_BODY_PARAMS {
        error(
            "body_params",
            format!("must have at most {MAX_BODY_PARAMS} parameters"),
        );
    }
    if step.discount.is_none() {
        for (k, variable) in step.body_params.iter().enumerate().take(MAX_BODY_PARAMS) {
            if let Some(name) = discount_variable(*variable) {
                error(
                    &format!("body_params[{k}]"),
                    format!("{name} needs a discount on this step"),
                );
            }
        }
    }
    if step
        .button_url_param
        .is_some_and(|v| v != Variable::RecoveryToken)
    {
        error(
            "button_url_param",
            "must be recovery_token: the template's button URL is {APP_URL}/r/{{1}}".into(),
        );
    }

    if let Some(when) = &step.when {
        let mut bound = |field: &str, value: &Option<String>| {
            let amount = value.as_deref().map(|v| Money::parse(v, "USD"));
            match amount {
                Some(Err(_)) => error(
                    &format!("when.{field}"),
                    "must be an amount written like 150.00 (a decimal point, at most 2 decimals)"
                        .into(),
                ),
                Some(Ok(money)) if money.minor() < 0 => {
                    error(&format!("when.{field}"), "must not be negative".into())
                }
                _ => {}
            }
            amount.and_then(Result::ok).filter(|m| m.minor() >= 0)
        };
        let min = bound("min_cart_value", &when.min_cart_value);
        let max = bound("max_cart_value", &when.max_cart_value);
        if let (Some(min), Some(max)) = (min, max) {
            if max.minor() < min.minor() {
                error(
                    "when.max_cart_value",
                    "must not be less than min_cart_value".into(),
                );
            }
        }
    }

    if let Some(discount) = &step.discount {
        validate_discount(discount, &format!("{path}.discount"), errors);
    }
}

fn validate_discount(discount: &Discount, path: &str, errors: &mut Vec<FieldError>) {
    if !(1..=100).contains(&discount.percent) {
        errors.push(FieldError::new(
            format!("{path}.percent"),
            "must be between 1 and 100",
        ));
    }
    if !(1..=MAX_DISCOUNT_HOURS).contains(&discount.expires_after_hours) {
        errors.push(FieldError::new(
            format!("{path}.expires_after_hours"),
            format!("must be between 1 and {MAX_DISCOUNT_HOURS} hours (30 days)"),
        ));
    }
}

fn validate_template(
    template: &Template,
    path: &str,
    rules: &StepRules,
    errors: &mut Vec<FieldError>,
) {
    let mut error = |field: &str, message: String| {
        errors.push(FieldError::new(format!("{path}.{field}"), message));
    };
    let name = &template.name;
    let name_chars = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
    if !(1..=512).contains(&name.len()) || !name.bytes().all(name_chars) {
        error(
            "name",
            "must be the template's name in WhatsApp: 1 to 512 characters of a-z, 0-9 and _".into(),
        );
    } else if rules
        .known_templates
        .is_some_and(|known| !known.contains(name))
    {
        error(
            "name",
            "is not a template of the shop's WhatsApp account".into(),
        );
    }
    let languages = &template.languages;
    if languages.is_empty() || languages.len() > MAX_LANGUAGES {
        error(
            "languages",
            format!("must list between 1 and {MAX_LANGUAGES} languages"),
        );
    }
    for (k, language) in languages.iter().enumerate().take(MAX_LANGUAGES) {
        if !is_language(language) {
            error(&format!("languages[{k}]"), LANGUAGE_HINT.into());
        } else if languages[..k].contains(language) {
            error(&format!("languages[{k}]"), "is listed twice".into());
        }
    }
    if let Some(default) = rules.default_language {
        let listable = (1..=MAX_LANGUAGES).contains(&languages.len());
        if listable && !languages.iter().any(|l| l == default) {
            error(
                "languages",
                format!(
                    "must include the default language {default}, used for shoppers whose \
                     language is not listed"
                ),
            );
        }
    }
}

/// The optimizer's options of a step: a handful of each kind, none twice, each valid as the
/// step's own value would be.
fn validate_options(step: &Step, path: &str, rules: &StepRules, errors: &mut Vec<FieldError>) {
    let lists = [
        ("delay_options", step.delay_options.len()),
        ("discount_options", step.discount_options.len()),
        ("template_options", step.template_options.len()),
    ];
    for (field, len) in lists {
        if len > MAX_OPTIONS {
            errors.push(FieldError::new(
                format!("{path}.{field}"),
                format!("must have at most {MAX_OPTIONS} options"),
            ));
        }
    }
    let twice =
        |field: &str, k: usize| FieldError::new(format!("{path}.{field}[{k}]"), "is listed twice");
    for (k, &delay) in step.delay_options.iter().enumerate().take(MAX_OPTIONS) {
        let field = format!("{path}.delay_options[{k}]");
        if !(1..=MAX_DELAY_SECONDS).contains(&delay) {
            errors.push(FieldError::new(
                field,
                format!("must be between 1 and {MAX_DELAY_SECONDS} seconds (30 days)"),
            ));
        } else if step.delay_options[..k].contains(&delay) {
            errors.push(twice("delay_options", k));
        } else if rules
            .window_ms
            .is_some_and(|w| delay.saturating_mul(1000) >= w)
        {
            errors.push(FieldError::new(
                field,
                "must be shorter than attribution_window_hours: a message after the window \
                 closes cannot change the outcome it is credited with",
            ));
        }
    }
    let uses_discount = step
        .body_params
        .iter()
        .any(|v| discount_variable(*v).is_some());
    for (k, option) in step.discount_options.iter().enumerate().take(MAX_OPTIONS) {
        let field = format!("{path}.discount_options[{k}]");
        match option {
            None if uses_discount => errors.push(FieldError::new(
                field,
                "must be a discount: the step's parameters use discount_code or discount_percent",
            )),
            _ if step.discount_options[..k].contains(option) => {
                errors.push(twice("discount_options", k))
            }
            Some(d) => validate_discount(d, &field, errors),
            None => {}
        }
    }
    for (k, template) in step.template_options.iter().enumerate().take(MAX_OPTIONS) {
        validate_template(
            template,
            &format!("{path}.template_options[{k}]"),
            rules,
            errors,
        );
        if step.template_options[..k]
            .iter()
            .any(|t| t.name == template.name)
        {
            errors.push(twice("template_options", k));
        }
    }
}

/// The variable's name if it only has a value on a step with a discount.
fn discount_variable(variable: Variable) -> Option<&'static str> {
    match variable {
        Variable::DiscountCode => Some("discount_code"),
        Variable::DiscountPercent => Some("discount_percent"),
        _ => None,
    }
}

/// WhatsApp's template language codes: a 2- or 3-letter language, optionally `_` and a
/// 2-letter region (`en`, `fil`, `en_US`, `pt_BR`).
fn is_language(code: &str) -> bool {
    let (language, region) = match code.split_once('_') {
        Some((language, region)) => (language, Some(region)),
        None => (code, None),
    };
    (2..=3).contains(&language.len())
        && language.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()))
}

/// Turns a failure to deserialize `body` into an error on the field where reading stopped,
/// so that a wrong type gets the same field-named 400 as a broken rule. `serde_json` reports
/// only a line and column; the path is recovered by scanning the body up to that point.
pub fn json_error(body: &[u8], err: &serde_json::Error) -> FieldError {
    let text = err.to_string();
    let message = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(message, _)| message);
    if !err.is_data() {
        return FieldError::new("", format!("is not valid JSON: {message}"));
    }
    let mut field = path_at(body, offset(body, err.line(), err.column()));
    // Reading stops at the end of an object that lacks a field: name the missing field.
    if let Some(missing) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(missing);
    }
    FieldError::new(field, message)
}

/// The byte offset of a 1-based line and a column counted in bytes, as `serde_json` reports.
fn offset(body: &[u8], line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        body.iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(line - 2)
            .map_or(body.len(), |(i, _)| i + 1)
    };
    line_start.saturating_add(column).min(body.len())
}

/// Where the JSON document `body` is at byte `end`: the member key or element index of every
/// open object and array, as a path like `steps[1].template`.
fn path_at(body: &[u8], end: usize) -> String {
    enum Frame {
        Object {
            key: Option<String>,
            expect_key: bool,
        },
        Array {
            index: usize,
        },
    }
    let mut stack: Vec<Frame> = vec![];
    let mut i = 0;
    while i < end {
        match body[i] {
            b'{' => stack.push(Frame::Object {
                key: None,
                expect_key: true,
            }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { key, expect_key }) => {
                    *key = None;
                    *expect_key = true;
                }
                Some(Frame::Array { index }) => *index += 1,
                None => {}
            },
            b'"' => {
                let start = i + 1;
                i = start;
                while i < end && body[i] != b'"' {
                    i += if body[i] == b'\\' { 2 } else { 1 };
                }
                if let Some(Frame::Object { key, expect_key }) = stack.last_mut() {
                    if *expect_key {
                        // Decoded like serde_json decodes it, so the path matches the message.
                        let quoted = body.get(start - 1..=i).unwrap_or_default();
                        let raw = body.get(start..i.min(end)).unwrap_or_default();
                        *key = Some(
                            serde_json::from_slice(quoted)
                                .unwrap_or_else(|_| String::from_utf8_lossy(raw).into_owned()),
                        );
                        *expect_key = false;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Object { key: Some(key), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array { index } => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::playbook::{Caps, Condition, Discount, QuietHours, SAMPLE_PLAYBOOK};

    /// The fields named by the errors of `p` after `change`.
    #[test]
    fn the_options_of_all_steps_make_a_bounded_number_of_combinations() {
        let offers = |n: u8| -> Vec<Option<Discount>> {
            (0..n)
                .map(|k| {
                    (k > 0).then(|| Discount {
                        percent: 5 * k,
                        expires_after_hours: 48,
                    })
                })
                .collect()
        };
        // 4 delays × 4 offers × 4 delays = 64: the most.
        let at_most = errors_after(|p| {
            p.steps[0].delay_options = vec![1800, 3600, 7200, 10_800];
            p.steps[1].delay_options = vec![86_400, 172_800, 259_200, 345_600];
            p.steps[1].discount_options = offers(4);
        });
        assert!(at_most.iter().all(|e| e.field != "steps"), "{at_most:?}");
        let over = errors_after(|p| {
            p.steps[0].delay_options = vec![1800, 3600, 7200, 10_800, 14_400];
            p.steps[1].delay_options = vec![86_400, 172_800, 259_200, 345_600];
            p.steps[1].discount_options = offers(4);
        });
        let message = over
            .iter()
            .find(|e| e.field == "steps")
            .map(|e| e.message.as_str());
        assert_eq!(
            message,
            Some("the options of all steps together must make at most 64 combinations, not 80")
        );
    }

    fn errors_after(change: impl FnOnce(&mut Playbook)) -> Vec<FieldError> {
        let mut p = Playbook::default();
        change(&mut p);
        validate(&p)
    }

    /// Asserts that `change` breaks exactly one rule, reported on `field`.
    fn breaks(field: &str, change: impl FnOnce(&mut Playbook)) {
        let errors = errors_after(change);
        assert_eq!(errors.len(), 1, "{field}: {errors:?}");
        assert_eq!(errors[0].field, field, "{errors:?}");
        assert!(!errors[0].message.is_empty());
    }

    fn passes(change: impl FnOnce(&mut Playbook)) {
        let errors = errors_after(change);
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn the_design_example_and_the_default_are_valid() {
        assert_eq!(validate(&Playbook::default()), vec![]);
        let p = parse(SAMPLE_PLAYBOOK.as_bytes(), None).unwrap();
        assert_eq!(p.steps.len(), 2);
        let minimal = r#"{"version":1,"steps":[{"id":"a","delay_seconds":1,
            "template":{"name":"t","languages":["en_US"]}}]}"#;
        assert!(parse(minimal.as_bytes(), None).is_ok());
    }

    #[test]
    fn top_level_rules() {
        breaks("version", |p| p.version = 2);
        breaks("version", |p| p.version = 0);
        for bad in [
            "", "EN", "en-US", "en_us", "english", "e", "en_USA", "pt_BR ", "en_",
        ] {
            // The languages rule then has no default to compare with: one error only.
            breaks("default_language", |p| p.default_language = bad.into());
        }
        breaks("steps", |p| p.steps.clear());
        breaks("steps", |p| {
            let step = p.steps[0].clone();
            p.steps = (0..11)
                .map(|i| Step {
                    id: format!("s{i}").into(),
                    ..step.clone()
                })
                .collect();
        });
        // Past ten steps only the count is reported, however long the list.
        let errors = errors_after(|p| {
            let step = Step {
                delay_seconds: 0,
                ..p.steps[0].clone()
            };
            p.steps = (0..5000)
                .map(|i| Step {
                    id: format!("s{i}").into(),
                    ..step.clone()
                })
                .collect();
        });
        assert_eq!(errors.len(), 1 + MAX_STEPS, "{errors:?}");
        passes(|p| {
            let step = p.steps[0].clone();
            p.steps = (0..10)
                .map(|i| Step {
                    id: format!("s{i}").into(),
                    ..step.clone()
                })
                .collect();
        });
        breaks("holdout_percent", |p| p.holdout_percent = 51);
        passes(|p| p.holdout_percent = 50);
        for bad in [
            "",
            "http://shop.example/logo.png",
            "https://",
            "https://shop.example/my logo.png",
            "ftp://shop.example/logo.png",
        ] {
            breaks("fallback_image_url", |p| {
                p.fallback_image_url = Some(bad.into())
            });
        }
        breaks("fallback_image_url", |p| {
            p.fallback_image_url = Some(format!("https://a.example/{}", "x".repeat(2000)))
        });
        passes(|p| {
            p.fallback_image_url = Some("https://cdn.shopify.com/s/files/logo.png".into());
            p.steps[0].header = Some(crate::core::playbook::Header::TopItemImage);
        });
        let with_header = r#"{"version":1,"fallback_image_url":"https://shop.example/l.png",
            "steps":[{"id":"a","delay_seconds":1,"header":"top_item_image",
            "template":{"name":"t","languages":["en_US"]}}]}"#;
        let p = parse(with_header.as_bytes(), None).unwrap();
        assert_eq!(
            p.steps[0].header,
            Some(crate::core::playbook::Header::TopItemImage)
        );
        breaks("journey_ttl_days", |p| p.journey_ttl_days = 0);
        breaks("journey_ttl_days", |p| p.journey_ttl_days = 91);
        passes(|p| p.journey_ttl_days = 90);
    }

    #[test]
    fn quiet_hours_and_caps() {
        let quiet = |start: &str, end: &str| {
            Some(QuietHours {
                start: start.into(),
                end: end.into(),
            })
        };
        breaks("quiet_hours.start", |p| {
            p.quiet_hours = quiet("9pm", "09:00")
        });
        breaks("quiet_hours.end", |p| {
            p.quiet_hours = quiet("21:00", "24:00")
        });
        passes(|p| p.quiet_hours = quiet("13:00", "14:00"));
        passes(|p| p.quiet_hours = quiet("10:00", "10:00"));
        passes(|p| p.quiet_hours = None);
        let caps = |max, days| {
            Some(Caps {
                max_messages_per_customer: max,
                window_days: days,
            })
        };
        breaks("caps.max_messages_per_customer", |p| p.caps = caps(0, 7));
        breaks("caps.window_days", |p| p.caps = caps(3, 0));
        breaks("caps.window_days", |p| p.caps = caps(3, 91));
        passes(|p| p.caps = caps(1, 90));
        passes(|p| p.caps = None);
    }

    #[test]
    fn step_ids_and_delays() {
        for bad in ["", "Reminder", "re minder", "é", &"a".repeat(33)] {
            breaks("steps[1].id", |p| p.steps[1].id = bad.into());
        }
        passes(|p| p.steps[1].id = format!("a-b_9{}", "x".repeat(27)).into());
        breaks("steps[1].id", |p| p.steps[1].id = "reminder".into());
        let errors = errors_after(|p| p.steps[1].id = "reminder".into());
        assert_eq!(errors[0].message, "repeats the id of steps[0]");
        breaks("steps[0].delay_seconds", |p| p.steps[0].delay_seconds = 0);
        breaks("steps[0].delay_seconds", |p| p.steps[0].delay_seconds = -5);
        breaks("steps[0].delay_seconds", |p| {
            p.steps[0].delay_seconds = 30 * 86_400 + 1
        });
        passes(|p| p.steps[0].delay_seconds = 1);
        passes(|p| p.steps[0].delay_seconds = 30 * 86_400);
    }

    #[test]
    fn templates_and_languages() {
        for bad in [
            "",
            "Cart",
            "cart-reminder",
            "cart reminder",
            &"a".repeat(513),
        ] {
            breaks("steps[0].template.name", |p| {
                p.steps[0].template.name = bad.to_string()
            });
        }
        passes(|p| p.steps[0].template.name = "a".repeat(512));
        breaks("steps[0].template.languages", |p| {
            p.steps[0].template.languages.clear()
        });
        breaks("steps[0].template.languages", |p| {
            p.steps[0].template.languages = (0..=MAX_LANGUAGES)
                .map(|i| {
                    format!(
                        "{}{}_US",
                        char::from(b'a' + (i / 26) as u8),
                        char::from(b'a' + (i % 26) as u8)
                    )
                })
                .chain(["en_US".to_string()])
                .collect()
        });
        breaks("steps[0].template.languages[1]", |p| {
            p.steps[0].template.languages.push("pt-BR".into())
        });
        breaks("steps[0].template.languages[2]", |p| {
            p.steps[0].template.languages = vec!["en_US".into(), "fil".into(), "en_US".into()]
        });
        breaks("steps[0].template.languages", |p| {
            p.steps[0].template.languages = vec!["pt_BR".into()]
        });
        passes(|p| {
            p.default_language = "pt_BR".into();
            for step in &mut p.steps {
                step.template.languages = vec!["en".into(), "pt_BR".into()];
            }
        });
    }

    #[test]
    fn parameters() {
        breaks("steps[0].body_params", |p| {
            p.steps[0].body_params = vec![Variable::FirstName; 11]
        });
        passes(|p| p.steps[0].body_params = vec![Variable::FirstName; 10]);
        breaks("steps[0].body_params[1]", |p| {
            p.steps[0].body_params = vec![Variable::FirstName, Variable::DiscountCode]
        });
        let errors = errors_after(|p| p.steps[1].discount = None);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["steps[1].body_params[1]", "steps[1].body_params[2]"]
        );
        assert_eq!(
            errors[0].message,
            "discount_percent needs a discount on this step"
        );
        breaks("steps[0].button_url_param", |p| {
            p.steps[0].button_url_param = Some(Variable::ShopName)
        });
        passes(|p| p.steps[0].button_url_param = None);
    }

    #[test]
    fn cart_value_conditions() {
        let when = |min: Option<&str>, max: Option<&str>| {
            Some(Condition {
                min_cart_value: min.map(str::to_owned),
                max_cart_value: max.map(str::to_owned),
            })
        };
        for bad in [
            "",
            "150,00",
            "1.005",
            "1e3",
            " 150",
            "$150",
            "abc",
            "99999999999999999999",
        ] {
            breaks("steps[1].when.min_cart_value", |p| {
                p.steps[1].when = when(Some(bad), None)
            });
        }
        breaks("steps[1].when.max_cart_value", |p| {
            p.steps[1].when = when(None, Some("-1"))
        });
        breaks("steps[1].when.max_cart_value", |p| {
            p.steps[1].when = when(Some("150.00"), Some("149.99"))
        });
        passes(|p| p.steps[1].when = when(Some("150"), Some("150.00")));
        passes(|p| p.steps[1].when = when(Some("0"), Some("1500.5")));
        passes(|p| p.steps[1].when = when(None, None));
        passes(|p| p.steps[1].when = None);
    }

    #[test]
    fn discounts() {
        let discount = |percent, hours| {
            Some(Discount {
                percent,
                expires_after_hours: hours,
            })
        };
        breaks("steps[1].discount.percent", |p| {
            p.steps[1].discount = discount(0, 48)
        });
        breaks("steps[1].discount.percent", |p| {
            p.steps[1].discount = discount(101, 48)
        });
        breaks("steps[1].discount.expires_after_hours", |p| {
            p.steps[1].discount = discount(10, 0)
        });
        breaks("steps[1].discount.expires_after_hours", |p| {
            p.steps[1].discount = discount(10, 721)
        });
        passes(|p| p.steps[1].discount = discount(100, 720));
        passes(|p| p.steps[1].discount = discount(1, 1));
    }

    #[test]
    fn several_problems_are_all_reported() {
        let errors = errors_after(|p| {
            p.version = 3;
            p.steps[0].delay_seconds = 0;
            p.steps[1].discount = None;
            p.holdout_percent = 90;
        });
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "version",
                "steps[0].delay_seconds",
                "steps[1].body_params[1]",
                "steps[1].body_params[2]",
                "holdout_percent"
            ]
        );
        let json = serde_json::to_value(&errors[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"field": "version", "message": "must be 1"})
        );
    }

    fn body_error(body: &str) -> FieldError {
        parse(body.as_bytes(), None).unwrap_err().remove(0)
    }

    #[test]
    fn wrong_types_name_their_field() {
        let step = r#"{"id":"a","delay_seconds":60,"template":{"name":"t","languages":["en_US"]}"#;
        let cases = [
            (r#"{"version":"1","steps":[]}"#.to_string(), "version"),
            (
                format!(r#"{{"version":1,"steps":[{step}}},{{"id":"b","delay_seconds":"60"}}]}}"#),
                "steps[1].delay_seconds",
            ),
            (
                r#"{"version":1,"steps":[{"id":"a","delay_seconds":60,"template":{"name":"t","languages":["en", 5]}}]}"#.into(),
                "steps[0].template.languages[1]",
            ),
            (
                r#"{"version":1,"steps":[{"id":"a","delay_seconds":60}]}"#.into(),
                "steps[0].template",
            ),
            (format!(r#"{{"version":1,"steps":[{step},"bogus":1}}]}}"#), "steps[0].bogus"),
            (r#"{"version":1,"consent_mode":"maybe","steps":[]}"#.into(), "consent_mode"),
            (r#"{"version":1,"holdout_percent":300,"steps":[]}"#.into(), "holdout_percent"),
            (r#"{"version":1}"#.into(), "steps"),
            (r#"{"steps":[]}"#.into(), "version"),
            (
                r#"{"version":1,"steps":[],"quiet_hours":{"start":"21:00"}}"#.into(),
                "quiet_hours.end",
            ),
            (
                format!(r#"{{"version":1,"steps":[{step},"when":{{"min_cart_value":150}}}}]}}"#),
                "steps[0].when.min_cart_value",
            ),
            (
                format!(r#"{{"version":1,"steps":[{step},"body_params":["first_name","nope"]}}]}}"#),
                "steps[0].body_params[1]",
            ),
            (
                format!(r#"{{"version":1,"steps":[{step},"header":"product_video"}}]}}"#),
                "steps[0].header",
            ),
            (
                r#"{"version":1,"steps":[],"fallback_image_url":7}"#.into(),
                "fallback_image_url",
            ),
            (
                "{\"version\":1,\n  \"st\\\"eps\": [],\n \"caps\":{\"window_days\": \"é\"}}".into(),
                "st\"eps",
            ),
            (
                "{\"version\":1,\n\"steps\":[],\n\"caps\": {\"max_messages_per_customer\": -1}}".into(),
                "caps.max_messages_per_customer",
            ),
        ];
        for (body, field) in cases {
            let error = body_error(&body);
            assert_eq!(error.field, field, "{body}: {error:?}");
            assert!(!error.message.contains(" at line "), "{error:?}");
        }
        let error = body_error(r#"{"version":true,"steps":[]}"#);
        assert_eq!(error.message, "invalid type: boolean `true`, expected u32");
    }

    #[test]
    fn broken_json_is_an_error_on_the_body() {
        for body in [
            "",
            "{",
            r#"{"version":1,"steps":[] "#,
            r#"{"version":1,"steps":[]} x"#,
            "\u{feff}{}",
            "nul",
        ] {
            let error = body_error(body);
            assert_eq!(error.field, "", "{body:?}");
            assert!(
                error.message.starts_with("is not valid JSON: "),
                "{error:?}"
            );
        }
        // An array where an object belongs is read as one, positionally; still named.
        assert_eq!(body_error("[1, 2]").field, "[1]");
        assert_eq!(body_error("5").field, "");
    }

    #[test]
    fn the_path_scanner_survives_any_bytes() {
        let samples: [&[u8]; 6] = [
            b"",
            b"\"",
            b"\"\\",
            b"{\"a\":[[[",
            b"}}]]]",
            &[0xff, b'{', b'"', 0xfe, b'"'],
        ];
        for body in samples {
            for end in 0..=body.len() + 2 {
                let _ = path_at(body, end.min(body.len()));
            }
        }
        assert_eq!(path_at(b"{\"a\":[1,{\"b\":", 13), "a[1].b");
        assert_eq!(offset(b"ab\ncd", 2, 1), 4);
        assert_eq!(offset(b"ab", 9, 9), 2);
    }

    proptest::proptest! {
        #[test]
        fn any_body_gets_an_answer(body in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            if let Err(errors) = parse(&body, None) {
                proptest::prop_assert!(!errors.is_empty());
            }
        }

        #[test]
        fn a_damaged_playbook_gets_an_answer(at in 0usize..2000, byte: u8, keep in 0usize..2000) {
            let mut body = SAMPLE_PLAYBOOK.as_bytes().to_vec();
            let at = at % body.len();
            body[at] = byte;
            body.truncate(keep);
            if let Err(errors) = parse(&body, None) {
                proptest::prop_assert!(!errors.is_empty());
            }
        }
    }
}

#[cfg(test)]
mod option_tests {
    use super::*;
    use crate::core::playbook::{Discount, Template, SAMPLE_PLAYBOOK};

    fn optimized() -> Playbook {
        let mut p = Playbook::default();
        p.optimize.enabled = true;
        p.steps[0].delay_options = vec![3600, 10_800, 43_200];
        p.steps[1].delay_options = vec![86_400, 172_800];
        p.steps[1].discount_options = vec![
            Some(Discount {
                percent: 10,
                expires_after_hours: 48,
            }),
            Some(Discount {
                percent: 20,
                expires_after_hours: 24,
            }),
        ];
        p.steps[0].template_options = vec![
            p.steps[0].template.clone(),
            Template {
                name: "cart_reminder_social_proof".into(),
                languages: vec!["en_US".into()],
            },
        ];
        p
    }

    fn fields(change: impl FnOnce(&mut Playbook)) -> Vec<String> {
        let mut p = optimized();
        change(&mut p);
        validate(&p).into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn options_and_settings_are_accepted() {
        assert_eq!(validate(&optimized()), vec![]);
        let body = SAMPLE_PLAYBOOK.replace(
            r#""delay_seconds": 10800,"#,
            r#""delay_seconds": 10800, "delay_options": [3600, 10800],"#,
        );
        let p = parse(body.as_bytes(), None).unwrap();
        assert_eq!(p.attribution_window_hours, 168.0);
        assert_eq!(p.steps[0].delay_options, [3600, 10_800]);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["attribution_window_hours"], 168);
        assert!(json["steps"][1].get("delay_options").is_none());
    }

    #[test]
    fn delays_stay_in_order_across_steps() {
        assert_eq!(
            fields(|p| p.steps[1].delay_options = vec![40_000, 172_800]),
            ["steps[1].delay_options"]
        );
        assert_eq!(
            fields(|p| {
                p.steps[1].delay_options.clear();
                p.steps[1].delay_seconds = 43_200;
            }),
            ["steps[1].delay_seconds"]
        );
        assert_eq!(
            fields(|p| p.steps[0].delay_seconds = 90_000),
            ["steps[1].delay_options"]
        );
        // Without options anywhere, steps keep today's freedom.
        assert!(errors_of(|p| p.steps[1].delay_seconds = 60).is_empty());
    }

    fn errors_of(change: impl FnOnce(&mut Playbook)) -> Vec<FieldError> {
        let mut p = Playbook::default();
        change(&mut p);
        validate(&p)
    }

    #[test]
    fn each_option_is_checked_like_the_steps_own_value() {
        assert_eq!(
            fields(|p| p.steps[0].delay_options = vec![1, 2, 3, 4, 5, 6]),
            ["steps[0].delay_options"]
        );
        assert_eq!(
            fields(|p| p.steps[0].delay_options = vec![0, 3600, 3600]),
            ["steps[0].delay_options[0]", "steps[0].delay_options[2]"]
        );
        assert_eq!(
            fields(|p| p.steps[1].discount_options[1] = Some(Discount {
                percent: 0,
                expires_after_hours: 721,
            })),
            [
                "steps[1].discount_options[1].percent",
                "steps[1].discount_options[1].expires_after_hours"
            ]
        );
        // The offer's message names its code: every option must have one.
        assert_eq!(
            fields(|p| p.steps[1].discount_options.push(None)),
            ["steps[1].discount_options[2]"]
        );
        // One message per field: an option refused for itself is not also "listed twice".
        assert_eq!(
            fields(|p| p.steps[1].discount_options = vec![None, None]),
            [
                "steps[1].discount_options[0]",
                "steps[1].discount_options[1]"
            ]
        );
        assert_eq!(
            fields(|p| p.steps[1].delay_options = vec![1, 2, 3, 4, 5, 6]),
            ["steps[1].delay_options", "steps"]
        );
        assert_eq!(
            fields(|p| p.steps[0].template_options[1].languages = vec!["pt_BR".into()]),
            ["steps[0].template_options[1].languages"]
        );
        assert_eq!(
            fields(|p| p.steps[0].template_options[1].name = "Bad".into()),
            ["steps[0].template_options[1].name"]
        );
    }

    #[test]
    fn delays_fall_within_the_window_and_the_settings_have_bounds() {
        assert_eq!(
            fields(|p| p.attribution_window_hours = 24.0),
            ["steps[1].delay_options[0]", "steps[1].delay_options[1]"]
        );
        assert_eq!(
            fields(|p| {
                p.optimize.enabled = false;
                p.attribution_window_hours = 24.0;
            }),
            Vec::<String>::new()
        );
        for bad in [0.0, -1.0, 721.0, f64::NAN, 0.0001] {
            assert_eq!(
                fields(|p| p.attribution_window_hours = bad),
                ["attribution_window_hours"],
                "{bad}"
            );
        }
        assert_eq!(
            fields(|p| p.optimize.explore_percent = 101),
            ["optimize.explore_percent"]
        );
    }

    #[test]
    fn templates_must_exist_when_the_account_is_known() {
        let p = optimized();
        let known = ["cart_reminder".to_string(), "cart_offer".to_string()];
        let errors = validate_with(&p, Some(&known));
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["steps[0].template_options[1].name"]);
        assert!(validate_with(&p, None).is_empty());
    }
}
