//! `GET /api/optimization` and `POST /api/optimization/reset`: what the optimizer has learned
//! (docs/optimizer.md), and starting it over.

use worker::{Env, Response};

use super::error::ApiResult;
use crate::core::optimizer::report::report;
use crate::core::optimizer::Rng;
use crate::core::values::ids::ShopDomain;
use crate::objects::protocol::{ask, GetLearning, ResetLearning};
use crate::platform::{crypto, store};

/// The report of the shop's settled and pending trials under its current playbook. Its
/// intervals and probabilities are Monte Carlo: the draws come from the runtime's random
/// source, never from the core.
pub async fn get(env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    let playbook = store::playbook(env, shop.as_str()).await?;
    let learning = ask(env, shop, GetLearning).await?;
    let mut rng = Rng::new(u64::from_le_bytes(crypto::random::<8>()?));
    let mut answer = serde_json::to_value(report(&playbook, &learning, &mut rng))
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    answer["attribution_window_hours"] = playbook.attribution_window_hours.into();
    answer["holdout_percent"] = playbook.holdout_percent.into();
    Ok(Response::from_json(&answer)?)
}

pub async fn reset(env: &Env, shop: &ShopDomain) -> ApiResult<Response> {
    ask(env, shop, ResetLearning).await?;
    get(env, shop).await
}
