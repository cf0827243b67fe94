//! The cart's Admin API calls: the token comes from the shop ledger (the grant's one holder),
//! and a token Shopify refuses is renewed there once.

use std::future::Future;

use worker::Env;

use super::protocol::{self, AdminToken, RememberImage, VariantImage};
use crate::core::shopify::discount::{DiscountOutcome, DiscountRequest};
use crate::core::shopify::oauth::AdminError;
use crate::core::shopify::product_image::Lookup;
use crate::core::values::ids::ShopDomain;
use crate::platform::shopify::{self, Answer};

/// Runs `call` with the ledger's sealed token; when Shopify refuses it, once more with the one
/// the ledger renews. `Err`: why no answer could be had.
async fn with_token<T, F, Fut>(env: &Env, shop: &ShopDomain, call: F) -> Result<T, String>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Answer<T>>,
{
    let mut rejected = None;
    loop {
        let ask = AdminToken {
            shop: shop.clone(),
            rejected: rejected.take(),
        };
        let retried = ask.rejected.is_some();
        let token = match protocol::ask(env, shop, ask).await {
            Ok(Ok(token)) => token,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(e) => return Err(format!("the ledger: {e}")),
        };
        match call(token.clone()).await {
            Answer::Done(answer) => return Ok(answer),
            Answer::Unauthorized if !retried => rejected = Some(token),
            Answer::Unauthorized => return Err(AdminError::NeedsReauth.to_string()),
        }
    }
}

/// Creates a discount code at Shopify.
pub async fn create_discount(
    env: &Env,
    shop: &ShopDomain,
    request: &DiscountRequest,
) -> DiscountOutcome {
    let created = with_token(env, shop, |token| async move {
        shopify::create_discount(env, shop.as_str(), &token, request).await
    })
    .await;
    created.unwrap_or_else(|reason| DiscountOutcome::Failed { reason })
}

/// The variant's image: the ledger's copy while fresh, else Shopify's answer (then kept).
/// `None` when it has none or nobody could say; the core then takes the fallback.
pub async fn variant_image(env: &Env, shop: &ShopDomain, variant_id: &str) -> Option<String> {
    let kept = VariantImage {
        variant_id: variant_id.into(),
    };
    match protocol::ask(env, shop, kept).await {
        Ok(Some(kept)) => return kept.url,
        Ok(None) => {}
        Err(e) => worker::console_warn!("kept image of {variant_id}: {e}"),
    }
    let looked_up = with_token(env, shop, |token| async move {
        shopify::variant_image(env, shop.as_str(), &token, variant_id).await
    })
    .await;
    match looked_up {
        Ok(Lookup::Answered(url)) => {
            let remember = RememberImage {
                variant_id: variant_id.into(),
                url: url.clone(),
            };
            if let Err(e) = protocol::ask(env, shop, remember).await {
                worker::console_warn!("image of {variant_id} not kept: {e}");
            }
            url
        }
        Ok(Lookup::Failed(reason)) | Err(reason) => {
            worker::console_warn!("image of {variant_id}: {reason}");
            None
        }
    }
}
