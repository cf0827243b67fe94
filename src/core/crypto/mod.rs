//! Verifiers of what Shopify and Meta sign, and sealing of what we keep at rest.

pub mod proxy_signature;
pub mod seal;
pub mod session_token;
pub mod signature;
