//! `GET /api/prices` and `PUT /api/prices`: the per-country rates that price the messages in
//! `GET /api/metrics` (docs/rules.md §4, "Cost").

use worker::{Env, Request, Response};

use super::admin::{body, invalid};
use super::error::ApiResult;
use crate::core::costs::validate_prices;
use crate::core::values::ids::ShopDomain;
use crate::objects::protocol::{ask, GetPrices, PutPrices};

pub async fn get(env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    Ok(Response::from_json(&ask(env, shop, GetPrices).await?)?)
}

pub async fn put(req: &mut Request, env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    let body: serde_json::Value = body(req).await?;
    let prices = validate_prices(&body).map_err(|e| invalid("invalid_prices", e))?;
    Ok(Response::from_json(
        &ask(env, shop, PutPrices { prices }).await?,
    )?)
}
