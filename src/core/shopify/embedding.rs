//! How the admin page may be embedded (docs/contract.md §5): only Shopify admin, and the shop's
//! own admin domain when the request names a valid one, may frame it.

use crate::core::values::ids::ShopDomain;

/// The placeholder the built page carries where the app's client id goes.
pub const API_KEY_PLACEHOLDER: &str = "%SHOPIFY_API_KEY%";

/// The `Content-Security-Policy` of the admin page's HTML, for the `shop` query parameter.
pub fn content_security_policy(shop: Option<&str>) -> String {
    match shop.and_then(ShopDomain::parse) {
        Some(shop) => format!("frame-ancestors https://{shop} https://admin.shopify.com;"),
        None => "frame-ancestors https://admin.shopify.com;".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_shopify_admin_and_the_named_shop_may_frame_the_page() {
        assert_eq!(
            content_security_policy(Some("maple.myshopify.com")),
            "frame-ancestors https://maple.myshopify.com https://admin.shopify.com;"
        );
        for shop in [
            None,
            Some("evil.com"),
            Some("a b.myshopify.com"),
            Some("x.myshopify.com; script-src *"),
        ] {
            assert_eq!(
                content_security_policy(shop),
                "frame-ancestors https://admin.shopify.com;"
            );
        }
    }
}
