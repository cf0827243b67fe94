//! What must reach many carts (uninstall, redaction): written down as serialized
//! [`CartCommand`]s and delivered by the ledger's alarm in batches, so a large shop is never
//! cut short and a failed delivery is tried again.

use serde::Deserialize;
use worker::{Env, Result};

use super::db::{s, Db};
use crate::core::values::ids::{CheckoutToken, ShopDomain};
use crate::objects::protocol::{self, CartCommand};

/// The shop the outbox delivers for (the object's own name is not readable everywhere).
pub const SHOP_KEY: &str = "shop";
/// Set by `shop/redact`: once the outbox is empty the ledger wipes its storage whole.
pub const ERASE_KEY: &str = "erase_when_drained";
/// Carts told per alarm run: with the replies' batch, within the 50 subrequests an invocation
/// may make on Cloudflare's free plan, and each run is short.
const BATCH: usize = 30;

#[derive(Deserialize)]
struct Row {
    checkout_token: String,
    command: String,
}

/// What one alarm run did.
pub struct Delivered {
    /// Rows remain (a full batch, or failures to try again).
    pub more: bool,
    pub failed: bool,
}

impl Db {
    pub fn enqueue(
        &self,
        shop: &ShopDomain,
        carts: &[CheckoutToken],
        command: &CartCommand,
    ) -> Result<()> {
        self.put_setting(SHOP_KEY, shop.as_str())?;
        let priority = if command.stops_sending() { 0 } else { 1 };
        let command = serde_json::to_string(command)?;
        for checkout in carts {
            self.exec(
                "INSERT OR IGNORE INTO outbox (checkout_token, command, priority) VALUES (?, ?, ?)",
                vec![
                    s(checkout.as_str()),
                    s(command.clone()),
                    super::db::i(priority),
                ],
            )?;
        }
        self.wake();
        Ok(())
    }

    fn batch(&self, limit: usize) -> Result<Vec<Row>> {
        self.rows(
            "SELECT checkout_token, command FROM outbox ORDER BY priority, rowid LIMIT ?",
            vec![super::db::i(limit as i64)],
        )
    }

    fn done(&self, row: &Row) -> Result<()> {
        self.exec(
            "DELETE FROM outbox WHERE checkout_token = ? AND command = ?",
            vec![s(row.checkout_token.clone()), s(row.command.clone())],
        )
    }

    /// A row no command can be read from is an error: logged, and kept aside (never guessed
    /// at, never turned into an erase), so the rest of the outbox still drains.
    fn set_aside(&self, row: &Row, error: &str) -> Result<()> {
        worker::console_error!("outbox: unreadable command for a cart: {error}");
        self.exec(
            "INSERT INTO outbox_unreadable (checkout_token, command, error) VALUES (?, ?, ?)",
            vec![
                s(row.checkout_token.clone()),
                s(row.command.clone()),
                s(error),
            ],
        )?;
        self.done(row)
    }

    pub fn outbox_empty(&self) -> Result<bool> {
        Ok(self.batch(1)?.is_empty())
    }

    /// Delivers one batch.
    pub async fn deliver(&self, env: &Env) -> Result<Delivered> {
        let shop = self.setting(SHOP_KEY)?.and_then(|s| ShopDomain::parse(&s));
        let mut failed = false;
        for row in self.batch(BATCH)? {
            let (Some(shop), Ok(command)) =
                (&shop, serde_json::from_str::<CartCommand>(&row.command))
            else {
                let error = serde_json::from_str::<CartCommand>(&row.command)
                    .err()
                    .map_or("the outbox has no shop".into(), |e| e.to_string());
                self.set_aside(&row, &error)?;
                continue;
            };
            let checkout = CheckoutToken::new(row.checkout_token.clone());
            match protocol::tell_cart(env, shop, &checkout, &command).await {
                Ok(_) => self.done(&row)?,
                Err(e) => {
                    worker::console_error!("outbox: a cart did not take its command: {e}");
                    failed = true;
                }
            }
        }
        Ok(Delivered {
            more: !self.outbox_empty()?,
            failed,
        })
    }
}
