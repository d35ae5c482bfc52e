//! `serve`: bind, run until SIGTERM / Ctrl-C, finish in-flight requests.
use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::services::accounts;
use crate::state::AppState;

/// Logs the one-time setup link when no account exists yet.
pub async fn announce_setup_if_needed(state: &AppState) -> anyhow::Result<Option<String>> {
    if accounts::count(&state.db).await? > 0 {
        return Ok(None);
    }
    let url = state.setup_url(&state.issue_setup_token());
    tracing::warn!(
        "no users yet: open {url} to create the first administrator (the link works once)"
    );
    Ok(Some(url))
}

/// Serves until SIGTERM or Ctrl-C.
pub async fn serve(state: AppState, listener: TcpListener) -> anyhow::Result<()> {
    serve_until(state, listener, shutdown_signal()).await
}

/// Serves until `shutdown` completes, then stops accepting and lets in-flight requests finish.
pub async fn serve_until(
    state: AppState,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = crate::web::router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("server failed")
}

pub async fn bind(addr: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (is another server running there? set server.bind)")
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
