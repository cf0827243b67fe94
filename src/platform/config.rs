//! Secrets and vars from the Worker environment (docs/contract.md §1–§3).

use worker::{Env, Result};

pub fn secret(env: &Env, name: &str) -> Result<String> {
    Ok(env.secret(name)?.to_string())
}

/// A var, or `default` when it is not set.
pub fn var_or(env: &Env, name: &str, default: &str) -> String {
    env.var(name)
        .map(|v| v.to_string())
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// Where Graph API calls go: `{GRAPH_API_ORIGIN}/{GRAPH_API_VERSION}`.
pub fn graph_base(env: &Env) -> String {
    format!(
        "{}/{}",
        var_or(env, "GRAPH_API_ORIGIN", "https://graph.facebook.com").trim_end_matches('/'),
        var_or(env, "GRAPH_API_VERSION", "v23.0")
    )
}
