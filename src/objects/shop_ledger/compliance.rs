//! Shopify's compliance topics: a customer's erasure and data report, the shop's erasure, and
//! the uninstall that ends every journey. Rows go at once; carts are told through the outbox.

use worker::Result;

use super::db::{s, token, Db, Text, DATA_TABLES};
use crate::core::gate::consent::ConsentRecord;
use crate::core::values::ids::{CheckoutToken, ShopDomain};
use crate::core::values::time::Millis;
use crate::objects::protocol::{CartCommand, Customer, DataReport, EraseShop, Redact};

impl Db {
    /// `app/uninstalled`: every running journey ends (`ShopLedger::uninstall` forgets the
    /// tokens first).
    pub fn end_all(&self, shop: &ShopDomain) -> Result<Vec<CheckoutToken>> {
        let carts = self.active()?;
        self.enqueue(shop, &carts, &CartCommand::ShopGone)?;
        Ok(carts)
    }

    /// The customer's journeys, by customer id or by phone.
    fn customer_journeys(&self, c: &Customer) -> Result<(Vec<CheckoutToken>, Option<String>)> {
        let phone_hash = c.phone.as_ref().map(|p| self.hash(p));
        let customer_hash = c.customer_id.as_deref().map(|id| self.customer_hash(id));
        let found = self.tokens(
            "SELECT checkout_token AS v FROM journeys WHERE phone_hash = ? OR customer_hash = ?",
            vec![phone_hash.clone().into(), customer_hash.into()],
        )?;
        Ok((found, phone_hash))
    }

    /// `customers/redact`: every row about the customer goes; only the keyed hash of a phone
    /// stays, on the suppression list, so the number is never messaged again.
    pub fn redact(&self, r: Redact, now: Millis) -> Result<Vec<CheckoutToken>> {
        let (found, phone_hash) = self.customer_journeys(&r.customer)?;
        let mut phone_hashes: Vec<String> = phone_hash.into_iter().collect();
        for checkout in &found {
            let rows: Vec<Text> = self.rows(
                "SELECT phone_hash AS v FROM journeys WHERE checkout_token = ?",
                vec![token(checkout)],
            )?;
            phone_hashes.extend(rows.into_iter().map(|r| r.v));
            for table in ["journeys", "messages", "skips", "sends", "step_outcomes"] {
                self.exec(
                    &format!("DELETE FROM {table} WHERE checkout_token = ?"),
                    vec![token(checkout)],
                )?;
            }
        }
        phone_hashes.sort();
        phone_hashes.dedup();
        for hash in phone_hashes {
            for table in ["consents", "consent_sync", "inbox", "limited", "suppressed"] {
                self.exec(
                    &format!("DELETE FROM {table} WHERE phone_hash = ?"),
                    vec![s(hash.clone())],
                )?;
            }
            // Lifted only from the phone itself, like any opt-out the phone made.
            self.append_consent(&hash, &ConsentRecord::after_redaction(now))?;
        }
        self.enqueue(&r.shop, &found, &CartCommand::Erase)?;
        Ok(found)
    }

    /// `customers/data_request`: what the ledger holds about the customer.
    pub fn data_request(&self, c: Customer) -> Result<DataReport> {
        let (found, phone_hash) = self.customer_journeys(&c)?;
        let consents = match &phone_hash {
            Some(h) => self.consent_records(h)?,
            None => vec![],
        };
        let mut rows = vec![];
        for checkout in &found {
            rows.extend(self.rows::<Text>(
                "SELECT summary AS v FROM journeys WHERE checkout_token = ? AND summary IS NOT NULL",
                vec![token(checkout)],
            )?);
        }
        Ok(DataReport {
            phone: c.phone.as_ref().map(|p| p.as_str().to_string()),
            consents,
            journeys: self.summaries(&rows),
        })
    }

    /// `shop/redact`: every row goes now; the carts are told by the outbox, and once it is
    /// empty the object's storage is wiped whole (bytes included, not just rows).
    pub fn erase(&self, e: EraseShop) -> Result<Vec<CheckoutToken>> {
        let carts = self.all_journeys()?;
        for table in DATA_TABLES {
            self.exec(&format!("DELETE FROM {table}"), vec![])?;
        }
        self.exec(
            "DELETE FROM settings WHERE key NOT IN (?, ?)",
            vec![s(super::outbox::SHOP_KEY), s(super::outbox::ERASE_KEY)],
        )?;
        self.enqueue(&e.shop, &carts, &CartCommand::Erase)?;
        self.put_setting(super::outbox::ERASE_KEY, "1")?;
        Ok(carts)
    }
}
