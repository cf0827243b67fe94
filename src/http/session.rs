//! Who is calling `/api/*`: the App Bridge session token in `Authorization: Bearer`, verified
//! on every request. The shop a request acts for comes from the token, never from a parameter.

use worker::{Env, Request};

use super::error::{ApiError, ApiResult};
use crate::core::crypto::session_token;
use crate::core::values::ids::ShopDomain;
use crate::objects::protocol::{ask, Install, InstallGrant};
use crate::platform::{clock, config};

/// An authenticated admin-page request.
#[derive(Clone, Debug)]
pub struct Session {
    /// `{name}.myshopify.com`, from the token's `dest`.
    pub shop: ShopDomain,
}

/// Verifies the session token, and on a shop's first call (or when our Admin API token is no
/// longer usable) swaps it for an offline token (managed installation). A failed swap does not
/// fail the request: the caller is authentic, and `GET /api/shop` shows what we hold.
pub async fn authenticate(req: &Request, env: &Env) -> ApiResult<Session> {
    let header = req.headers().get("Authorization")?.unwrap_or_default();
    let token = match header.trim().split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("Bearer") && !token.trim().is_empty() =>
        {
            token.trim()
        }
        _ => {
            return Err(invalid_session(
                "Authorization: Bearer <session token> is required",
            ))
        }
    };
    let api_key = config::secret(env, "SHOPIFY_API_KEY")?;
    let secret = config::secret(env, "SHOPIFY_API_SECRET")?;
    let verified = session_token::verify(token, &api_key, &secret, clock::now())
        .map_err(|e| invalid_session(e.to_string()))?;
    let install = Install {
        shop: verified.shop.clone(),
        grant: InstallGrant::SessionToken(token.to_string()),
    };
    if let Err(e) = ask(env, &verified.shop, install).await? {
        worker::console_warn!("token exchange for {}: {e}", verified.shop);
    }
    Ok(Session {
        shop: verified.shop,
    })
}

/// 401 with the header that makes App Bridge retry with a fresh token.
fn invalid_session(message: impl Into<String>) -> ApiError {
    ApiError::new(401, "invalid_session", message)
        .with_header("X-Shopify-Retry-Invalid-Session-Request", "1")
}
