//! `GET /r/{token}`: the button in the shopper's message. The token names its cart and holds a
//! secret only that cart knows (`core::values::recovery_link`); the journey's own checkout URL
//! is the only place we redirect to.

use worker::{Env, Response};

use super::error::{ApiError, ApiResult};
use crate::core::values::recovery_link::{self, LinkToken};
use crate::objects::protocol::{tell_cart, tell_cart_by_id, CartCommand};
use crate::platform::store;

pub async fn redirect(env: &Env, token: &str) -> ApiResult<Response> {
    let unknown = || ApiError::new(404, "not_found", "this link is no longer valid");
    let command = CartCommand::Recover {
        token: token.to_string(),
    };
    let answer = match recovery_link::parse(token).ok_or_else(unknown)? {
        LinkToken::Cart { object_id } => tell_cart_by_id(env, object_id, &command)
            .await?
            .ok_or_else(unknown)?,
        LinkToken::Kept => {
            let (shop, checkout_token) = store::recovery_link(env, token)
                .await?
                .ok_or_else(unknown)?;
            tell_cart(env, &shop, &checkout_token, &command).await?
        }
    };
    let target = answer.redirect.ok_or_else(unknown)?;
    let url = worker::Url::parse(&target).map_err(|_| unknown())?;
    Ok(Response::redirect_with_status(url, 302)?)
}
