//! cartback: recovers abandoned Shopify checkouts through WhatsApp.
//!
//! `core` holds every decision as plain Rust (no `worker`, no clock); it builds and tests natively.
//! The Worker shell (`http`, `objects`, `platform`) exists only in the wasm build and does nothing
//! but verify, persist and execute what the core decides.

pub mod core;

#[cfg(target_arch = "wasm32")]
mod http;
#[cfg(target_arch = "wasm32")]
mod objects;
#[cfg(target_arch = "wasm32")]
mod platform;
