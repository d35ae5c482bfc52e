//! tsp-ledger: the system of record of a Microsoft Training Services Partner.
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub use tsp_domain as domain;
pub mod ledger;
pub mod mail;
pub mod metrics;
pub mod scrub;
pub mod server;
pub mod services;
pub mod state;
pub mod web;

pub use state::AppState;
pub use web::router;

/// Makes rustls on ring (the TLS stack lettre already uses) the process's default, so an
/// HTTP client built anywhere in the process finds one. Idempotent.
pub fn install_tls_provider() {
    // An error only says a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
