//! `GET /r/{token}`: the button in the shopper's message. The token is opaque and unguessable;
//! it names one journey, whose own checkout URL is the only place we redirect to.

use worker::{Env, Response};

use super::error::{ApiError, ApiResult};
use crate::objects::protocol::{tell_cart, CartCommand};
use crate::platform::store;

pub async fn redirect(env: &Env, token: &str) -> ApiResult<Response> {
    let unknown = || ApiError::new(404, "not_found", "this link is no longer valid");
    if token.is_empty()
        || token.len() > 64
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(unknown());
    }
    let (shop, checkout_token) = store::recovery_link(env, token)
        .await?
        .ok_or_else(unknown)?;
    let answer = tell_cart(env, &shop, &checkout_token, &CartCommand::Recover).await?;
    let target = answer.redirect.ok_or_else(unknown)?;
    let url = worker::Url::parse(&target).map_err(|_| unknown())?;
    Ok(Response::redirect_with_status(url, 302)?)
}
