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

/// How often the server looks for survey reminders and overdue takedowns.
const REMINDER_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

/// The work `serve` does besides answering requests: the outbox worker, and queuing the
/// survey reminders that fall due and the daily overdue-takedown notices. Abort the returned tasks to stop them.
pub fn spawn_background(state: &AppState) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let worker = tokio::spawn(state.mail_worker()?.run_forever());
    let key = checkpoint_key(&state.config)?;
    let for_checkpoints = state.clone();
    let state = state.clone();
    let reminders = tokio::spawn(async move {
        loop {
            match queue_due_reminders(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(reminders = n, "survey reminders queued"),
                Err(e) => tracing::error!(error = %e, "queuing survey reminders failed"),
            }
            match queue_takedown_notices(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(notices = n, "overdue takedown notices queued"),
                Err(e) => tracing::error!(error = %e, "queuing overdue takedown notices failed"),
            }
            tokio::time::sleep(REMINDER_INTERVAL).await;
        }
    });
    // A signed checkpoint of the ledger head every `ledger.checkpoint_hours` (looked at
    // hourly, so a restart neither skips one nor writes two).
    let state = for_checkpoints;
    let checkpoints = tokio::spawn(async move {
        let every = chrono::Duration::hours(state.config.ledger.checkpoint_hours.max(1) as i64);
        loop {
            match checkpoint_if_due(&state.db, &key, every).await {
                Ok(Some(c)) => tracing::info!(entry = c.entry_id, "ledger checkpoint written"),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "writing the ledger checkpoint failed"),
            }
            tokio::time::sleep(CHECKPOINT_LOOK_INTERVAL).await;
        }
    });
    Ok(vec![worker, reminders, checkpoints])
}

const CHECKPOINT_LOOK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// The checkpoint signing key (from its file, generated on first use).
pub fn checkpoint_key(config: &crate::config::Config) -> anyhow::Result<ed25519_dalek::SigningKey> {
    let seed = config.load_or_create_checkpoint_seed()?;
    Ok(crate::ledger::checkpoint::signing_key(&seed))
}

/// Writes a checkpoint when the newest stored one is older than `every` (or none is).
pub async fn checkpoint_if_due(
    db: &sea_orm::DatabaseConnection,
    key: &ed25519_dalek::SigningKey,
    every: chrono::Duration,
) -> Result<Option<entity::ledger_checkpoints::Model>, sea_orm::DbErr> {
    let newest = crate::ledger::checkpoint::stored(db)
        .await?
        .into_iter()
        .next();
    if newest.is_some_and(|c| crate::clock::now() - c.at < every) {
        return Ok(None);
    }
    crate::ledger::checkpoint::write(db, key).await.map(Some)
}

/// After a successful import (web or CLI): a checkpoint of the new head. The import has
/// committed already, so a failure here is logged, not reported as the import's.
pub async fn checkpoint_after_import(
    db: &sea_orm::DatabaseConnection,
    config: &crate::config::Config,
) -> Option<entity::ledger_checkpoints::Model> {
    let written = match checkpoint_key(config) {
        Ok(key) => crate::ledger::checkpoint::write(db, &key)
            .await
            .map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    match written {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::error!(error = %e, "writing the ledger checkpoint after an import failed");
            None
        }
    }
}

/// Queues every survey reminder that is due now.
pub async fn queue_due_reminders(state: &AppState) -> Result<u64, crate::services::ServiceError> {
    crate::services::surveys::send_due_reminders(
        &state.db,
        &state.config.surveys,
        &state.link(""),
        &state.secret,
        crate::clock::now(),
    )
    .await
}

/// Rule 6: today's overdue-takedown notice to each coordinator (at most one a day).
pub async fn queue_takedown_notices(
    state: &AppState,
) -> Result<u64, crate::services::ServiceError> {
    crate::services::takedowns::queue_overdue_notices(
        &state.db,
        crate::clock::now().date_naive(),
        &state.link("/recordings?show=attention"),
    )
    .await
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
