//! A delivery of Meta's webhook, taken whole in one call: every event is written down here, and
//! what must reach carts or shoppers goes to the outbox, which the alarm drains in batches. So a
//! delivery of hundreds of events costs the Worker one call, each alarm run stays well within a
//! run's subrequests, and nothing is left half done when Meta stops waiting.

use worker::{Env, Result};

use super::db::{i, s, Db, Int};
use crate::core::conversation::plan::Reply;
use crate::core::costs::charge_of;
use crate::core::journey::{checkout_of_callback, Delivery};
use crate::core::shopify::shop::WhatsAppConnection;
use crate::core::values::ids::ShopDomain;
use crate::core::values::time::Millis;
use crate::core::whatsapp::inbound::InboundEvent;
use crate::objects::protocol::{CartCommand, Deliveries, InboundCall, StatusCall};
use crate::platform::whatsapp;

/// Replies sent per alarm run (see the outbox's batch).
const REPLY_BATCH: i64 = 15;

impl Db {
    pub fn deliveries(&self, d: Deliveries, now: Millis) -> Result<()> {
        let (statuses, inbound): (Vec<_>, Vec<_>) = d
            .events
            .into_iter()
            .partition(|e| matches!(e, InboundEvent::Status { .. }));
        for event in inbound {
            let call = InboundCall {
                event,
                app_url: d.app_url.clone(),
                unconnected: d.shop.is_none(),
            };
            let plan = self.inbound(call, now)?;
            let Some(shop) = &d.shop else { continue };
            if let Some(signal) = plan.signal {
                self.enqueue(shop, &plan.journeys, &CartCommand::Shopper { signal })?;
            }
            if let Some(reply) = plan.reply {
                self.enqueue_reply(shop, &reply)?;
            }
        }
        let Some(shop) = &d.shop else {
            return Ok(());
        };
        for event in statuses {
            let InboundEvent::Status {
                wamid,
                status,
                at,
                recipient,
                callback,
                error_codes,
                pricing,
                ..
            } = event
            else {
                continue;
            };
            // Every message of the shop costs, replies included, whoever it belongs to.
            if let Some(charge) = charge_of(status, recipient.as_ref(), pricing.as_ref()) {
                self.record_charge(&wamid, charge, at)?;
            }
            let Some(delivery) = Delivery::of_status(status, &error_codes) else {
                continue;
            };
            let call = StatusCall {
                wamid: wamid.clone(),
                delivery: delivery.clone(),
                at,
            };
            // The ledger learns of a message when its send is reported; the callback data
            // sent with it names the cart even if the status overtakes that report.
            let owner = self
                .status(call)?
                .checkout_token
                .or_else(|| checkout_of_callback(callback.as_deref()));
            if let Some(token) = owner {
                self.enqueue(shop, &[token], &CartCommand::Status { wamid, delivery })?;
            }
        }
        Ok(())
    }

    /// Sealed at rest: a reply names the shopper and says what they asked about.
    fn enqueue_reply(&self, shop: &ShopDomain, reply: &Reply) -> Result<()> {
        self.put_setting(super::outbox::SHOP_KEY, shop.as_str())?;
        let sealed = self.seal(&serde_json::to_string(reply)?)?;
        self.exec("INSERT INTO replies (sealed) VALUES (?)", vec![s(sealed)])?;
        self.wake();
        Ok(())
    }

    pub fn replies_waiting(&self) -> Result<bool> {
        Ok(self
            .first::<Int>("SELECT count(*) AS v FROM replies", vec![])?
            .is_some_and(|r| r.v > 0))
    }

    /// Sends one batch of replies with the shop's connection. Each leaves the table before it
    /// is sent: a reply lost to a crash is better than one sent twice. Without a connection
    /// (disconnected since) they are dropped.
    pub async fn send_replies(
        &self,
        env: &Env,
        connection: Option<&WhatsAppConnection>,
    ) -> Result<()> {
        #[derive(serde::Deserialize)]
        struct Row {
            id: i64,
            sealed: String,
        }
        let rows: Vec<Row> = self.rows(
            "SELECT id, sealed FROM replies ORDER BY id LIMIT ?",
            vec![i(REPLY_BATCH)],
        )?;
        for row in rows {
            self.exec("DELETE FROM replies WHERE id = ?", vec![i(row.id)])?;
            let Some(connection) = connection else {
                continue;
            };
            match serde_json::from_str::<Reply>(&self.open(&row.sealed)) {
                Ok(reply) => {
                    whatsapp::send(env, connection, &reply.message()).await;
                }
                Err(e) => worker::console_error!("replies: unreadable reply dropped: {e}"),
            }
        }
        Ok(())
    }
}
