//! The Cron Trigger (`[triggers] crons` in wrangler.toml): the reconciliation sweep of every
//! installed shop. The shops are the `shop:` records in KV, listed a thousand a call; each
//! shop's ledger runs its own sweep (`shop_ledger::sweep`), so the Admin API token never
//! leaves it. Ledgers are asked a few at a time: each call is mostly waiting on Shopify.

use futures_util::StreamExt;
use worker::{event, Env, ScheduleContext, ScheduledEvent};

use crate::objects::protocol::{ask, SweepCall};
use crate::platform::store;

/// Ledgers sweeping at once: bounded, since each holds a connection of this invocation open.
const AT_ONCE: usize = 6;

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    if let Err(e) = sweep_all(&env).await {
        worker::console_error!("sweep: {e}");
    }
}

async fn sweep_all(env: &Env) -> worker::Result<()> {
    let mut cursor = None;
    loop {
        let (shops, next) = store::shops(env, cursor).await?;
        futures_util::stream::iter(shops)
            .for_each_concurrent(AT_ONCE, |shop| async move {
                let call = SweepCall { shop: shop.clone() };
                match ask(env, &shop, call).await {
                    Ok(report) if report.stopped.is_some() => {
                        worker::console_warn!("sweep of {shop}: {report:?}")
                    }
                    Ok(_) => {}
                    Err(e) => worker::console_error!("sweep of {shop} failed: {e}"),
                }
            })
            .await;
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(()),
        }
    }
}
