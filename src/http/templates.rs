//! `GET /api/templates` and `POST /api/templates/install`: the merchant's WhatsApp Business
//! Account templates, with whether each fits the steps that use it, and cartback's recommended
//! ones created in it. What a template is and whether it fits is the core's
//! (`core::whatsapp::templates`); the ledger keeps the list for the gate and the route.

use serde::Deserialize;
use worker::{Env, Method, Request, Response};

use super::admin::connection;
use super::error::{ApiError, ApiResult};
use crate::core::shopify::shop::WhatsAppConnection;
use crate::core::values::ids::ShopDomain;
use crate::core::whatsapp::templates::{self, TemplateInfo, PAGE_LIMIT};
use crate::objects::protocol::{ask, GetTemplates, PutTemplates};
use crate::platform::{clock, config, store, whatsapp};

/// Enough pages for any account (Meta allows 250 templates per WABA, 6,000 for verified ones).
const MAX_PAGES: usize = 100;

const FIELDS: &str = "id,name,language,status,category,components";

fn unreachable(what: &str) -> ApiError {
    ApiError::new(
        502,
        "whatsapp_unreachable",
        format!("Meta did not answer the {what}"),
    )
}

/// Every template of the account, page by page (Graph's `after` cursor).
async fn list_all(env: &Env, conn: &WhatsAppConnection) -> ApiResult<Vec<TemplateInfo>> {
    let mut all = vec![];
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut path = format!(
            "{}/message_templates?fields={FIELDS}&limit={PAGE_LIMIT}",
            conn.waba_id
        );
        if let Some(cursor) = &after {
            path.push_str("&after=");
            path.push_str(&urlencoding(cursor));
        }
        let (status, body) =
            whatsapp::graph_call(env, Method::Get, &path, &conn.access_token, None)
                .await
                .map_err(|_| unreachable("template list"))?;
        if status != 200 {
            return Err(ApiError::new(
                502,
                "whatsapp_refused",
                format!("Meta answered HTTP {status} to the template list"),
            ));
        }
        let (page, next) =
            templates::parse_page(&body).ok_or_else(|| unreachable("template list"))?;
        all.extend(page);
        match next {
            Some(cursor) => after = Some(cursor),
            None => return Ok(all),
        }
    }
    Ok(all)
}

/// Cursors are base64: `+`, `/` and `=` must not be read as query syntax.
fn urlencoding(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Lists the account's templates, keeps them in the ledger and answers with the fit check.
async fn refresh(
    env: &Env,
    shop: &ShopDomain,
    conn: &WhatsAppConnection,
) -> ApiResult<serde_json::Value> {
    let list = list_all(env, conn).await?;
    ask(
        env,
        shop,
        PutTemplates {
            templates: list.clone(),
        },
    )
    .await?;
    let playbook = store::playbook(env, shop.as_str()).await?;
    Ok(templates::listing(&list, &playbook))
}

/// The kept listing while it is fresh (webhooks keep it current), else Graph's; `?refresh=1`
/// asks Graph in any case.
pub async fn list(req: &Request, env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    let conn = connection(env, shop).await?;
    let forced = req
        .url()?
        .query_pairs()
        .any(|(k, v)| k == "refresh" && v == "1");
    let kept = ask(env, shop, GetTemplates).await?;
    if forced || templates::needs_listing(kept.listed_at, clock::now()) {
        return Ok(Response::from_json(&refresh(env, shop, &conn).await?)?);
    }
    let playbook = store::playbook(env, shop.as_str()).await?;
    Ok(Response::from_json(&templates::listing(
        &kept.templates,
        &playbook,
    ))?)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct InstallBody {
    /// A sample image uploaded to Meta (Resumable Upload API): the templates get an image header.
    #[serde(default)]
    image_header_handle: Option<String>,
}

pub async fn install(req: &mut Request, env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    let bytes = super::read_body(req).await?;
    let options: InstallBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        InstallBody::default()
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    let handle = options.image_header_handle.filter(|h| !h.trim().is_empty());
    if handle.as_ref().is_some_and(|h| h.len() > 2048) {
        return Err(ApiError::bad_request("image_header_handle is too long"));
    }
    let conn = connection(env, shop).await?;
    let app_url = config::var_or(env, "APP_URL", "");
    let mut installed = vec![];
    for definition in templates::recommended(&app_url, handle.as_deref()) {
        let path = format!("{}/message_templates", conn.waba_id);
        let answer = whatsapp::graph_call(
            env,
            Method::Post,
            &path,
            &conn.access_token,
            Some(&definition),
        )
        .await;
        let parsed = answer
            .as_ref()
            .ok()
            .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(body).ok());
        let result = match (&answer, &parsed) {
            (Ok((200, _)), Some(v)) => serde_json::json!({
                "result": "created",
                "status": v.get("status"),
                "category": v.get("category"),
            }),
            (Ok((status, _)), v) => serde_json::json!({
                "result": "refused",
                "http_status": status,
                "error": v.as_ref().and_then(|v| v.pointer("/error/error_user_msg").or_else(|| v.pointer("/error/message"))),
                "code": v.as_ref().and_then(|v| v.pointer("/error/code")),
            }),
            (Err(_), _) => serde_json::json!({ "result": "unanswered" }),
        };
        let mut entry = serde_json::json!({
            "name": definition["name"],
            "language": definition["language"],
        });
        if let (Some(entry), Some(result)) = (entry.as_object_mut(), result.as_object()) {
            entry.extend(result.clone());
        }
        installed.push(entry);
    }
    let mut answer = refresh(env, shop, &conn).await?;
    answer["installed"] = serde_json::Value::Array(installed);
    Ok(Response::from_json(&answer)?)
}
