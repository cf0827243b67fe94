//! The shop's variant images for image headers, kept a day (`core::shopify::product_image`) so
//! carts of the same product ask Shopify once.

use serde::Deserialize;
use worker::Result;

use super::db::{i, s, Db};
use crate::core::shopify::product_image::fresh;
use crate::core::values::time::Millis;
use crate::objects::protocol::{KeptImage, RememberImage, VariantImage};

#[derive(Deserialize)]
struct Kept {
    url: Option<String>,
    at: i64,
}

impl Db {
    pub fn variant_image(&self, c: &VariantImage, now: Millis) -> Result<Option<KeptImage>> {
        let kept: Option<Kept> = self.first(
            "SELECT url, at FROM variant_images WHERE variant_id = ?",
            vec![s(c.variant_id.as_str())],
        )?;
        Ok(kept
            .filter(|k| fresh(Millis(k.at), now))
            .map(|k| KeptImage { url: k.url }))
    }

    pub fn remember_image(&self, c: RememberImage, now: Millis) -> Result<()> {
        let url = c.url.map_or(worker::SqlStorageValue::Null, s);
        self.exec(
            "INSERT INTO variant_images (variant_id, url, at) VALUES (?, ?, ?)
             ON CONFLICT(variant_id) DO UPDATE SET url = excluded.url, at = excluded.at",
            vec![s(c.variant_id), url, i(now.0)],
        )
    }
}
