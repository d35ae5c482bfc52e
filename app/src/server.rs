//! `serve`: bind, run until SIGTERM / Ctrl-C, finish in-flight requests.
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

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
///
/// Our own accept loop rather than `axum::serve`, for three limits (`[server]` settings):
/// - `header_read_timeout_seconds`: a connection that does not send a whole request head in
///   time (a half-sent request, or idling between requests) is closed by hyper;
/// - `max_connections`: at most this many connections are served at once (lowered to the
///   open-files limit less [`FD_RESERVE`]); when all are taken the loop stops accepting and
///   new connections wait in the kernel's listen backlog until one closes, so the process
///   never runs out of file descriptors and every connection is eventually served;
/// - `body_idle_timeout_seconds`: a request body that sends nothing for that long fails
///   (the request timeout itself is a layer of the router, `web::router`).
pub async fn serve_until(
    state: AppState,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use axum::extract::ConnectInfo;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt as _;

    let spool = state.config.data.spool_dir();
    match crate::web::upload::remove_stale_spool(&spool) {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(files = n, dir = %spool.display(), "deleted uploads a crash left spooled")
        }
        Err(e) => {
            tracing::warn!(error = %e, dir = %spool.display(), "could not clear the upload spool")
        }
    }
    let settings = state.config.server.clone();
    let header_timeout = Duration::from_secs(settings.header_read_timeout_seconds);
    let body_idle = Duration::from_secs(settings.body_idle_timeout_seconds);
    let slots = Arc::new(Semaphore::new(connection_cap(settings.max_connections)));
    let router = crate::web::router(state);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = router.clone().map_request(
            move |request: axum::http::Request<hyper::body::Incoming>| {
                let (mut parts, body) = request.into_parts();
                parts.extensions.insert(ConnectInfo(peer));
                axum::http::Request::from_parts(
                    parts,
                    axum::body::Body::new(IdleTimeoutBody::new(body, body_idle)),
                )
            },
        );
        let connection = graceful.watch(http.serve_connection(
            TokioIo::new(stream),
            hyper_util::service::TowerToHyperService::new(service),
        ));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    // Open connections finish their request (idle ones close at once; a half-sent head
    // within the header timeout).
    graceful.shutdown().await;
    Ok(())
}

/// File descriptors kept free beside the connections: the database pool, spooled uploads,
/// the mail folder, logs.
pub const FD_RESERVE: usize = 64;

/// `configured`, lowered to what the open-files limit allows (Linux: `/proc/self/limits`).
fn connection_cap(configured: usize) -> usize {
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|soft| soft.parse::<usize>().ok())
        });
    match limit {
        Some(limit) if limit.saturating_sub(FD_RESERVE) < configured => {
            let cap = limit.saturating_sub(FD_RESERVE).max(1);
            tracing::warn!(
                configured,
                open_files_limit = limit,
                cap,
                "server.max_connections lowered to fit the open-files limit (ulimit -n)"
            );
            cap
        }
        _ => configured,
    }
}

/// A failed `accept`: a connection reset before it was accepted is skipped; anything else
/// (out of file descriptors) is logged and retried after a pause, never a busy loop.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// A request body that fails once it has sent nothing for `idle` (reset at every frame).
/// Its size hint is the inner body's, so a declared `Content-Length` is still checked
/// against the limits before anything is read.
struct IdleTimeoutBody<B> {
    inner: B,
    idle: Duration,
    timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl<B> IdleTimeoutBody<B> {
    fn new(inner: B, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            timer: None,
        }
    }
}

impl<B> http_body::Body for IdleTimeoutBody<B>
where
    B: http_body::Body + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = B::Data;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::future::Future as _;
        use std::task::Poll;
        let this = &mut *self;
        if let Poll::Ready(frame) = std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            this.timer = None;
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let idle = this.idle;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(
                crate::web::middleware::BodyIdleTimeout(idle),
            )))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// How often the server looks for survey reminders, to-do nudges and overdue takedowns.
const REMINDER_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

/// The work `serve` does besides answering requests: the outbox worker, and queuing the
/// survey reminders that fall due and the daily overdue-takedown notices. Abort the returned tasks to stop them.
pub fn spawn_background(state: &AppState) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let worker = tokio::spawn(state.mail_worker()?.run_forever());
    let key = crate::ledger::checkpoint::key(&state.config)?;
    let for_checkpoints = state.clone();
    let state = state.clone();
    let reminders = tokio::spawn(async move {
        loop {
            match queue_due_reminders(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(reminders = n, "survey reminders queued"),
                Err(e) => tracing::error!(error = %e, "queuing survey reminders failed"),
            }
            match queue_nudges(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(emails = n, "to-do nudges queued"),
                Err(e) => tracing::error!(error = %e, "queuing the to-do nudges failed"),
            }
            match queue_takedown_notices(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(notices = n, "overdue takedown notices queued"),
                Err(e) => tracing::error!(error = %e, "queuing overdue takedown notices failed"),
            }
            tokio::time::sleep(REMINDER_INTERVAL).await;
        }
    });
    // Retention: looked at hourly, runs once a UTC day (whichever instance comes first).
    let for_retention = for_checkpoints.clone();
    let retention = tokio::spawn(async move {
        loop {
            match run_daily_retention(&for_retention).await {
                Ok(Some(report)) => tracing::info!(run = report.run_id, "{}", report.summary()),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "the retention run failed"),
            }
            tokio::time::sleep(RETENTION_LOOK_INTERVAL).await;
        }
    });
    // A signed checkpoint of the ledger head every `ledger.checkpoint_hours` (looked at
    // hourly, so a restart neither skips one nor writes two).
    let state = for_checkpoints;
    let checkpoints = tokio::spawn(async move {
        let every = chrono::Duration::hours(state.config.ledger.checkpoint_hours.max(1) as i64);
        loop {
            match crate::ledger::checkpoint::write_if_due(&state.db, &key, every).await {
                Ok(Some(c)) => tracing::info!(entry = c.entry_id, "ledger checkpoint written"),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "writing the ledger checkpoint failed"),
            }
            tokio::time::sleep(CHECKPOINT_LOOK_INTERVAL).await;
        }
    });
    Ok(vec![worker, reminders, checkpoints, retention])
}

const CHECKPOINT_LOOK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// How often the server looks whether today's retention run is due.
const RETENTION_LOOK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// The daily retention run, when it is due (`None`: nothing to do, or already run today).
pub async fn run_daily_retention(
    state: &AppState,
) -> Result<Option<crate::services::retention::Report>, crate::services::ServiceError> {
    crate::services::retention::run(
        &state.db,
        &state.config,
        &crate::ledger::Actor::System,
        crate::clock::now(),
        crate::services::retention::Trigger::Daily,
    )
    .await
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

/// The To do page's nudges that have fallen due (each goes out once); returns the
/// e-mails queued.
pub async fn queue_nudges(state: &AppState) -> Result<u64, crate::services::ServiceError> {
    let now = crate::clock::now();
    let sent =
        crate::services::todo::nudges::send_due(&state.db, &state.config, now.date_naive(), now)
            .await?;
    Ok(sent.emails)
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
