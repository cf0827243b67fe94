//! `/api/*`: the embedded admin page's JSON API. Every route acts for the shop named by the
//! verified session token, and only for it.

use futures_util::future::join;
use worker::{Env, Method, Request, Response};

use super::error::{ApiError, ApiResult};
use super::session::{authenticate, Session};
use super::{admin, optimization, prices, templates};
use crate::objects::protocol::{ask, ShopState};
use crate::platform::store;

#[derive(Clone, Copy)]
enum Endpoint {
    Shop,
    GetPlaybook,
    PutPlaybook,
    GetWhatsapp,
    PutWhatsapp,
    Metrics,
    Journeys,
    Consents,
    GetFaq,
    PutFaq,
    Inbox,
    ResolveInbox,
    ReplyInbox,
    TryFaq,
    WebVitals,
    DataRequests,
    TestMessage,
    Templates,
    InstallTemplates,
    Optimization,
    ResetOptimization,
    GetPrices,
    PutPrices,
}

pub async fn route(mut req: Request, env: &Env, path: &str) -> ApiResult<Response> {
    // Routes are public knowledge (the app is open source): an unknown one is a plain 404.
    let endpoint = match (req.method(), path) {
        (Method::Get, "/api/shop") => Endpoint::Shop,
        (Method::Get, "/api/playbook") => Endpoint::GetPlaybook,
        (Method::Put, "/api/playbook") => Endpoint::PutPlaybook,
        (Method::Get, "/api/whatsapp") => Endpoint::GetWhatsapp,
        (Method::Put, "/api/whatsapp") => Endpoint::PutWhatsapp,
        (Method::Get, "/api/metrics") => Endpoint::Metrics,
        (Method::Get, "/api/journeys") => Endpoint::Journeys,
        (Method::Get, "/api/consents") => Endpoint::Consents,
        (Method::Get, "/api/faq") => Endpoint::GetFaq,
        (Method::Put, "/api/faq") => Endpoint::PutFaq,
        (Method::Get, "/api/inbox") => Endpoint::Inbox,
        (Method::Post, "/api/inbox/resolve") => Endpoint::ResolveInbox,
        (Method::Post, "/api/inbox/reply") => Endpoint::ReplyInbox,
        (Method::Get, "/api/faq/try") => Endpoint::TryFaq,
        (Method::Post, "/api/web-vitals") => Endpoint::WebVitals,
        (Method::Get, "/api/data-requests") => Endpoint::DataRequests,
        (Method::Post, "/api/test-message") => Endpoint::TestMessage,
        (Method::Get, "/api/templates") => Endpoint::Templates,
        (Method::Post, "/api/templates/install") => Endpoint::InstallTemplates,
        (Method::Get, "/api/optimization") => Endpoint::Optimization,
        (Method::Post, "/api/optimization/reset") => Endpoint::ResetOptimization,
        (Method::Get, "/api/prices") => Endpoint::GetPrices,
        (Method::Put, "/api/prices") => Endpoint::PutPrices,
        _ => return Err(ApiError::not_found()),
    };
    let session = authenticate(&req, env).await?;
    let shop = &session.shop;
    match endpoint {
        Endpoint::Shop => self::shop(env, &session).await,
        Endpoint::GetPlaybook => admin::get_playbook(env, shop).await,
        Endpoint::PutPlaybook => admin::put_playbook(&mut req, env, shop).await,
        Endpoint::GetWhatsapp => admin::get_whatsapp(env, shop).await,
        Endpoint::PutWhatsapp => admin::put_whatsapp(&mut req, env, shop).await,
        Endpoint::Metrics => admin::metrics(&req, env, shop).await,
        Endpoint::Journeys => admin::journeys(&req, env, shop).await,
        Endpoint::Consents => admin::consents(&req, env, shop).await,
        Endpoint::GetFaq => admin::get_faq(env, shop).await,
        Endpoint::PutFaq => admin::put_faq(&mut req, env, shop).await,
        Endpoint::Inbox => admin::inbox(env, shop).await,
        Endpoint::ResolveInbox => admin::resolve_inbox(&mut req, env, shop).await,
        Endpoint::ReplyInbox => admin::reply_inbox(&mut req, env, shop).await,
        Endpoint::TryFaq => admin::try_faq(&req, env, shop).await,
        Endpoint::WebVitals => admin::web_vitals(&mut req, env, shop).await,
        Endpoint::DataRequests => admin::data_requests(env, shop).await,
        Endpoint::TestMessage => admin::test_message(&mut req, env, shop).await,
        Endpoint::Templates => templates::list(&req, env, shop).await,
        Endpoint::InstallTemplates => templates::install(&mut req, env, shop).await,
        Endpoint::Optimization => optimization::get(env, shop).await,
        Endpoint::ResetOptimization => optimization::reset(env, shop).await,
        Endpoint::GetPrices => prices::get(env, shop).await,
        Endpoint::PutPrices => prices::put(&mut req, env, shop).await,
    }
}

/// `GET /api/shop`: what cartback holds for this shop. Never a token.
async fn shop(env: &Env, session: &Session) -> ApiResult<Response> {
    let shop = &session.shop;
    let state = ShopState { shop: shop.clone() };
    let (record, saved) = join(
        ask(env, shop, state),
        store::playbook_saved(env, shop.as_str()),
    )
    .await;
    let record = record?;
    Ok(Response::from_json(&serde_json::json!({
        "shop": session.shop,
        "name": record.name,
        "installed": record.shopify.is_some(),
        "needs_reauth": record.needs_reauth,
        "whatsapp_connected": record.whatsapp.is_some(),
        "currency": record.currency,
        "timezone": record.timezone,
        // Whether the theme's app embed is on needs the theme API: not known yet.
        "optin_embed_enabled": null,
        "consent_mode_chosen": saved?,
    }))?)
}
