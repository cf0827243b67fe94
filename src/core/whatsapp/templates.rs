//! The WhatsApp Business Account's message templates as cartback sees them: read from Graph's
//! `GET /{waba_id}/message_templates`, kept current by Meta's template webhooks, checked against
//! the steps that use them, and the recommended ones cartback installs (docs/rules.md §5).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::core::playbook::{Header, Playbook, Step};
use crate::core::values::time::Millis;

/// The only category cartback's steps are sent in: cart reminders are marketing.
pub const MARKETING: &str = "MARKETING";
pub const APPROVED: &str = "APPROVED";
/// The shortest time-to-live Meta allows a marketing template (12 h): a reminder that cannot be
/// delivered by then is dropped rather than arriving after the purchase (docs/rules.md §1, rule 11).
pub const REMINDER_TTL_SECONDS: u32 = 43_200;
/// Graph's limit on a page of templates.
pub const PAGE_LIMIT: u32 = 100;
/// How long a listing is answered from the ledger before Graph is asked again: Meta's webhooks
/// keep it current meanwhile, and the admin page asks on every load.
pub const LISTING_FRESH_MS: i64 = 15 * 60 * 1000;

/// Whether the kept listing (taken at `listed_at`) must be taken again from Graph.
pub fn needs_listing(listed_at: Option<Millis>, now: Millis) -> bool {
    listed_at.is_none_or(|at| now.0 >= at.0.saturating_add(LISTING_FRESH_MS) || now < at)
}

/// One template in one language, with the layout the fit check needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateInfo {
    pub id: String,
    pub name: String,
    pub language: String,
    pub status: String,
    pub category: String,
    pub body: Option<String>,
    pub body_params: usize,
    /// `TEXT`, `IMAGE`, `VIDEO`, `DOCUMENT` or `LOCATION`; `TEXT!` for a text header with a
    /// variable.
    pub header: Option<String>,
    /// Button types in order (`COPY_CODE`, `URL`, `QUICK_REPLY`, ...); `URL` without a variable
    /// is `URL!`.
    pub buttons: Vec<String>,
}

impl TemplateInfo {
    /// The header's format without the variable's mark: `TEXT`, `IMAGE`, ...
    pub fn header_format(&self) -> Option<&str> {
        self.header.as_deref().map(|h| h.trim_end_matches('!'))
    }
}

/// How many distinct `{{n}}` variables a text has.
fn params(text: &str) -> usize {
    let mut seen: Vec<&str> = vec![];
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if !name.is_empty() && !seen.contains(&name) {
            seen.push(name);
        }
        rest = &after[end + 2..];
    }
    seen.len()
}

fn text_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// One entry of Graph's `data` array; `None` when it lacks what every template has.
pub fn from_graph(v: &Value) -> Option<TemplateInfo> {
    let upper = |key: &str| text_of(v, key).map(str::to_ascii_uppercase);
    let components = v.get("components").and_then(Value::as_array);
    let component = |kind: &str| {
        components?
            .iter()
            .find(|c| text_of(c, "type").is_some_and(|t| t.eq_ignore_ascii_case(kind)))
    };
    let body = component("BODY")
        .and_then(|c| text_of(c, "text"))
        .map(str::to_string);
    let header = component("HEADER").map(|h| {
        let format = text_of(h, "format").unwrap_or("TEXT").to_ascii_uppercase();
        let variable = text_of(h, "text").is_some_and(|t| params(t) > 0);
        if variable {
            format!("{format}!")
        } else {
            format
        }
    });
    let buttons = component("BUTTONS")
        .and_then(|c| c.get("buttons"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|b| {
                    let kind = text_of(b, "type").unwrap_or("").to_ascii_uppercase();
                    let fixed_url =
                        kind == "URL" && text_of(b, "url").is_none_or(|u| params(u) == 0);
                    if fixed_url {
                        "URL!".to_string()
                    } else {
                        kind
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Some(TemplateInfo {
        id: v.get("id").map(|id| match id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })?,
        name: text_of(v, "name")?.to_string(),
        language: text_of(v, "language")?.to_string(),
        status: upper("status")?,
        category: upper("category").unwrap_or_default(),
        body_params: body.as_deref().map_or(0, params),
        body,
        header,
        buttons,
    })
}

/// A page of `GET /{waba_id}/message_templates`: its templates, and the cursor of the next page
/// when Graph says there is one.
pub fn parse_page(body: &str) -> Option<(Vec<TemplateInfo>, Option<String>)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let templates = v
        .get("data")?
        .as_array()?
        .iter()
        .filter_map(from_graph)
        .collect();
    let paging = v.get("paging");
    let next = paging
        .filter(|p| p.get("next").is_some())
        .and_then(|p| p.pointer("/cursors/after"))
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    Some((templates, next))
}

/// The button types a step's message fills, in order (docs/rules.md §5).
fn expected_buttons(step: &Step) -> Vec<&'static str> {
    let mut buttons = vec![];
    if step.discount.is_some() {
        buttons.push("COPY_CODE");
    }
    if step.button_url_param.is_some() {
        buttons.push("URL");
    }
    buttons.push("QUICK_REPLY");
    buttons
}

/// Why `template` does not fit `step`'s message; empty when it does.
pub fn problems(step: &Step, template: &TemplateInfo) -> Vec<String> {
    let mut problems = vec![];
    if !step.template.languages.contains(&template.language) {
        problems.push(format!("the step does not send {}", template.language));
    }
    if template.body_params != step.body_params.len() {
        problems.push(format!(
            "the body has {} variables, the step fills {}",
            template.body_params,
            step.body_params.len()
        ));
    }
    match (template.header.as_deref(), step.header) {
        (None | Some("TEXT"), None) | (Some("IMAGE"), Some(Header::TopItemImage)) => {}
        (_, Some(Header::TopItemImage)) => {
            problems.push("the step sends an image header the template does not have".into())
        }
        (Some(_), None) => problems.push(format!(
            "its {} header needs a value the step does not send",
            template
                .header_format()
                .unwrap_or_default()
                .to_ascii_lowercase()
        )),
    }
    let expected = expected_buttons(step);
    if template.buttons != expected {
        problems.push(format!(
            "its buttons are [{}], the step sends [{}]",
            template.buttons.join(", "),
            expected.join(", ")
        ));
    }
    problems
}

/// `GET /api/templates`: each template with whether it fits every step that uses it.
pub fn listing(templates: &[TemplateInfo], playbook: &Playbook) -> Value {
    let entries: Vec<Value> = templates
        .iter()
        .map(|t| {
            let steps: Vec<&Step> = playbook
                .steps
                .iter()
                .filter(|s| s.template.name == t.name && s.template.languages.contains(&t.language))
                .collect();
            let problems: Vec<String> = steps
                .iter()
                .flat_map(|s| problems(s, t).into_iter().map(|p| format!("{}: {p}", s.id)))
                .collect();
            json!({
                "id": t.id,
                "name": t.name,
                "language": t.language,
                "status": t.status,
                "category": t.category,
                "body": t.body,
                // The header's format, for the admin page to say which steps need an image.
                "header": t.header_format(),
                "used_by": steps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
                "fits": !steps.is_empty() && problems.is_empty(),
                "problems": problems,
                "sendable": sendable(Some(t)),
            })
        })
        .collect();
    json!({ "templates": entries })
}

/// Whether a step may be sent with this template now: approved and still a marketing template.
/// A template the list does not hold (never listed yet) is left to Meta to judge.
pub fn sendable(template: Option<&TemplateInfo>) -> bool {
    template.is_none_or(|t| t.status == APPROVED && t.category == MARKETING)
}

/// A change Meta's template webhooks report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateUpdate {
    pub waba_id: String,
    pub name: String,
    pub language: String,
    pub change: TemplateChange,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TemplateChange {
    /// `message_template_status_update`: `APPROVED`, `PAUSED`, `REJECTED`, `DISABLED`, ...
    Status { status: String },
    /// A completed `template_category_update` (Meta: never act on `correct_category`, which
    /// announces a change that has not happened yet).
    Category { category: String },
}

/// The template changes in a WhatsApp Business Account webhook; other fields yield none.
pub fn parse_updates(body: &[u8]) -> Vec<TemplateUpdate> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return vec![];
    };
    let entries = v
        .get("entry")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut updates = vec![];
    for entry in &entries {
        let Some(waba_id) = entry
            .get("id")
            .and_then(|id| match id {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|id| !id.is_empty())
        else {
            continue;
        };
        let changes = entry.get("changes").and_then(Value::as_array);
        for change in changes.into_iter().flatten() {
            let value = change.get("value").unwrap_or(&Value::Null);
            let (Some(name), Some(language)) = (
                text_of(value, "message_template_name"),
                text_of(value, "message_template_language"),
            ) else {
                continue;
            };
            let upper = |key: &str| text_of(value, key).map(str::to_ascii_uppercase);
            let kind = match text_of(change, "field") {
                Some("message_template_status_update") => {
                    upper("event").map(|status| TemplateChange::Status { status })
                }
                Some("template_category_update") if value.get("correct_category").is_none() => {
                    upper("new_category").map(|category| TemplateChange::Category { category })
                }
                _ => None,
            };
            if let Some(change) = kind {
                updates.push(TemplateUpdate {
                    waba_id: waba_id.clone(),
                    name: name.to_string(),
                    language: language.to_string(),
                    change,
                });
            }
        }
    }
    updates
}

/// Applies a webhook's change to the kept list; a template the list lacks is left for the next
/// listing to bring in whole.
pub fn apply(templates: &mut [TemplateInfo], update: &TemplateUpdate) {
    for t in templates
        .iter_mut()
        .filter(|t| t.name == update.name && t.language == update.language)
    {
        match &update.change {
            TemplateChange::Status { status } => t.status.clone_from(status),
            TemplateChange::Category { category } => t.category.clone_from(category),
        }
    }
}

/// The languages cartback's recommended templates come in.
pub const LANGUAGES: [&str; 3] = ["en_US", "pt_BR", "es"];

struct Wording {
    reminder: &'static str,
    offer: &'static str,
    button: &'static str,
    not_interested: &'static str,
    footer: &'static str,
}

fn wording(language: &str) -> Wording {
    match language {
        "pt_BR" => Wording {
            reminder: "Oi {{1}}, você deixou {{2}} no carrinho. O total é {{3}} — toque abaixo para concluir o pedido.",
            offer: "{{1}}, seu carrinho ainda está esperando. Aqui vai {{2}}% de desconto com o código {{3}}, nas próximas 48 horas.",
            button: "Concluir meu pedido",
            not_interested: "Não tenho interesse",
            footer: "Responda PARAR para sair",
        },
        "es" => Wording {
            reminder: "Hola {{1}}, dejaste {{2}} en tu carrito. El total es {{3}}: toca abajo para terminar tu pedido.",
            offer: "{{1}}, tu carrito sigue esperando. Tienes un {{2}} % de descuento con el código {{3}} durante las próximas 48 horas.",
            button: "Completar mi pedido",
            not_interested: "No me interesa",
            footer: "Responde BAJA para darte de baja",
        },
        _ => Wording {
            reminder: "Hi {{1}}, you left {{2}} in your cart. Your total is {{3}} — tap below to finish your order.",
            offer: "{{1}}, your cart is still waiting. Here is {{2}}% off with code {{3}}, for the next 48 hours.",
            button: "Complete my order",
            not_interested: "Not interested",
            footer: "Reply STOP to opt out",
        },
    }
}

/// The bodies of `POST /{waba_id}/message_templates` for cartback's recommended templates: a
/// reminder (`cart_reminder`) and an offer with a copy-code button (`cart_offer`), in each of
/// [`LANGUAGES`], with the button layout the steps send, a 12 h time-to-live, and an image
/// header when `image_header_handle` (a sample uploaded to Meta) is given.
pub fn recommended(app_url: &str, image_header_handle: Option<&str>) -> Vec<Value> {
    let base = app_url.trim_end_matches('/');
    let mut bodies = vec![];
    for language in LANGUAGES {
        let w = wording(language);
        for (name, text, example, coupon) in [
            (
                "cart_reminder",
                w.reminder,
                json!([["Ana", "Merino wool sweater", "$215.95"]]),
                false,
            ),
            (
                "cart_offer",
                w.offer,
                json!([["Ana", "10", "CB10-K7Q2XMA"]]),
                true,
            ),
        ] {
            let mut components = vec![];
            if let Some(handle) = image_header_handle {
                components.push(json!({
                    "type": "HEADER", "format": "IMAGE", "example": { "header_handle": [handle] },
                }));
            }
            components
                .push(json!({ "type": "BODY", "text": text, "example": { "body_text": example } }));
            components.push(json!({ "type": "FOOTER", "text": w.footer }));
            let mut buttons = vec![];
            if coupon {
                buttons.push(json!({ "type": "COPY_CODE", "example": "CB10-K7Q2XMA" }));
            }
            buttons.push(json!({
                "type": "URL", "text": w.button, "url": format!("{base}/r/{{{{1}}}}"),
                "example": [format!("{base}/r/sample")],
            }));
            buttons.push(json!({ "type": "QUICK_REPLY", "text": w.not_interested }));
            components.push(json!({ "type": "BUTTONS", "buttons": buttons }));
            bodies.push(json!({
                "name": name,
                "language": language,
                "category": MARKETING,
                "message_send_ttl_seconds": REMINDER_TTL_SECONDS,
                "components": components,
            }));
        }
    }
    bodies
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(body: Value) -> TemplateInfo {
        from_graph(&body).unwrap()
    }

    /// A recommended template as Graph lists it once created.
    fn as_listed(created: &Value, status: &str) -> TemplateInfo {
        let mut v = created.clone();
        v["id"] = json!("1234");
        v["status"] = json!(status);
        listed(v)
    }

    #[test]
    fn a_listing_is_kept_for_fifteen_minutes() {
        let at = Millis(1_000_000);
        assert!(needs_listing(None, at));
        assert!(!needs_listing(
            Some(at),
            at.plus_millis(LISTING_FRESH_MS - 1)
        ));
        assert!(needs_listing(Some(at), at.plus_millis(LISTING_FRESH_MS)));
        // A clock that went back does not keep a listing forever.
        assert!(needs_listing(Some(at), Millis(10)));
    }

    #[test]
    fn counts_distinct_variables() {
        assert_eq!(params("Hi {{1}}, {{2}} and {{ 1 }}"), 2);
        assert_eq!(params("no variables {{"), 0);
        assert_eq!(params("{{customer_name}} {{order}}"), 2);
    }

    #[test]
    fn the_recommended_templates_fit_the_default_playbook() {
        let playbook = Playbook::default();
        let created = recommended("https://cartback.test/", None);
        assert_eq!(created.len(), 6);
        for body in &created {
            assert_eq!(body["message_send_ttl_seconds"], 43_200);
            assert_eq!(body["category"], "MARKETING");
            let t = as_listed(body, "APPROVED");
            for step in playbook.steps.iter().filter(|s| s.template.name == t.name) {
                let mut step = step.clone();
                step.template.languages = vec![t.language.clone()];
                assert_eq!(
                    problems(&step, &t),
                    Vec::<String>::new(),
                    "{} {}",
                    t.name,
                    t.language
                );
            }
        }
        let offer = &created[1]["components"][2]["buttons"];
        assert_eq!(offer[0]["type"], "COPY_CODE");
        assert_eq!(offer[1]["url"], "https://cartback.test/r/{{1}}");
        assert_eq!(offer[2]["type"], "QUICK_REPLY");
    }

    #[test]
    fn an_image_header_is_added_when_asked_and_is_reported_as_unfilled() {
        let created = recommended("https://cartback.test", Some("4::aW1h"));
        assert_eq!(created[0]["components"][0]["format"], "IMAGE");
        let t = as_listed(&created[0], "APPROVED");
        assert_eq!(t.header.as_deref(), Some("IMAGE"));
        let step = &Playbook::default().steps[0];
        assert!(problems(step, &t)
            .iter()
            .any(|p| p.contains("image header")));
        // A step with `"header": "top_item_image"` fills it, and needs it.
        let mut imaged = step.clone();
        imaged.header = Some(Header::TopItemImage);
        assert_eq!(problems(&imaged, &t), Vec::<String>::new());
        let plain = as_listed(&recommended("https://cartback.test", None)[0], "APPROVED");
        assert_eq!(
            problems(&imaged, &plain),
            vec!["the step sends an image header the template does not have".to_string()]
        );
        // The listing names each template's header format, for the admin page.
        let shown = listing(&[t, plain], &Playbook::default());
        assert_eq!(shown["templates"][0]["header"], "IMAGE");
        assert_eq!(shown["templates"][1]["header"], Value::Null);
    }

    #[test]
    fn the_fit_check_names_each_mismatch() {
        let step = &Playbook::default().steps[1]; // offer: 3 params, discount, URL
        let t = listed(json!({
            "id": "9", "name": "cart_offer", "language": "pt_BR", "status": "APPROVED", "category": "MARKETING",
            "components": [
                { "type": "BODY", "text": "{{1}} {{2}}" },
                { "type": "BUTTONS", "buttons": [
                    { "type": "URL", "text": "Go", "url": "https://shop.example/cart" },
                    { "type": "QUICK_REPLY", "text": "No" } ] } ] }));
        let found = problems(step, &t);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("does not send pt_BR"));
        assert!(found[1].contains("2 variables, the step fills 3"));
        assert!(
            found[2].contains("[URL!, QUICK_REPLY]")
                && found[2].contains("[COPY_CODE, URL, QUICK_REPLY]")
        );
    }

    #[test]
    fn only_approved_marketing_templates_are_sent() {
        let t = |status: &str, category: &str| TemplateInfo {
            status: status.into(),
            category: category.into(),
            ..as_listed(&recommended("https://x", None)[0], "APPROVED")
        };
        assert!(sendable(None));
        assert!(sendable(Some(&t("APPROVED", "MARKETING"))));
        for (status, category) in [
            ("PAUSED", "MARKETING"),
            ("REJECTED", "MARKETING"),
            ("DISABLED", "MARKETING"),
            ("APPROVED", "UTILITY"),
        ] {
            assert!(!sendable(Some(&t(status, category))), "{status} {category}");
        }
    }

    #[test]
    fn pages_follow_the_after_cursor_only_while_there_is_a_next() {
        let page = r#"{"data":[{"id":"1","name":"a","language":"en_US","status":"APPROVED","category":"MARKETING","components":[]}],
            "paging":{"cursors":{"before":"MA","after":"MjQZD"},"next":"https://graph.facebook.com/v23.0/1/message_templates?after=MjQZD"}}"#;
        let (list, next) = parse_page(page).unwrap();
        assert_eq!((list.len(), next.as_deref()), (1, Some("MjQZD")));
        let last = r#"{"data":[],"paging":{"cursors":{"before":"MA","after":"MjQZD"}}}"#;
        assert_eq!(parse_page(last).unwrap().1, None);
        assert!(parse_page("not json").is_none());
    }

    #[test]
    fn webhooks_change_status_and_completed_categories_only() {
        let body = |field: &str, value: &str| {
            format!(
                r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","time":1,"changes":[{{"field":"{field}","value":{value}}}]}}]}}"#
            )
        };
        let paused = parse_updates(body("message_template_status_update", r#"{"event":"PAUSED","message_template_id":5,"message_template_name":"cart_reminder","message_template_language":"en_US","reason":"LOW_QUALITY"}"#).as_bytes());
        assert_eq!(
            paused[0].change,
            TemplateChange::Status {
                status: "PAUSED".into()
            }
        );
        assert_eq!(paused[0].waba_id, "102290129340398");
        let moved = parse_updates(body("template_category_update", r#"{"message_template_id":5,"message_template_name":"cart_reminder","message_template_language":"en_US","previous_category":"MARKETING","new_category":"UTILITY"}"#).as_bytes());
        assert_eq!(
            moved[0].change,
            TemplateChange::Category {
                category: "UTILITY".into()
            }
        );
        let impending = parse_updates(body("template_category_update", r#"{"message_template_id":5,"message_template_name":"cart_reminder","message_template_language":"en_US","correct_category":"UTILITY","new_category":"MARKETING","category_update_timestamp":1}"#).as_bytes());
        assert!(impending.is_empty());
        assert!(parse_updates(b"[1,2]").is_empty());
        assert!(parse_updates(body("messages", "{}").as_bytes()).is_empty());

        let mut list = vec![as_listed(&recommended("https://x", None)[0], "APPROVED")];
        apply(&mut list, &paused[0]);
        assert_eq!(list[0].status, "PAUSED");
        apply(&mut list, &moved[0]);
        assert_eq!(list[0].category, "UTILITY");
    }
}
