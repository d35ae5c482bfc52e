//! HTTP: one module per feature; handlers stay thin and call `services`.
pub mod account;
pub mod admin;
pub mod api;
pub mod api_tokens;
pub mod auth;
pub mod classes;
pub mod codes;
pub mod courses;
pub mod dashboard;
pub mod erasure;
pub mod imports;
pub mod line_items;
pub mod metrics;
pub mod middleware;
pub mod outbox;
pub mod page;
pub mod password;
pub mod recordings;
pub mod settings;
pub mod surveys;
pub mod trainers;
pub mod upload;
pub mod vouchers;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::AppError;
use crate::state::AppState;

/// A POST-only address whose refusal re-renders a page has a GET too
/// (`page::reload_goes_up`), so reloading that page is no `405`.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .route("/", get(dashboard::home))
        .route("/healthz", get(healthz))
        // issue 7: Prometheus metrics (admins or the configured bearer token)
        .route("/metrics", get(metrics::scrape))
        .route("/static/app.css", get(stylesheet))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/setup/{token}", get(auth::setup_form).post(auth::setup))
        .route("/account", get(account::show))
        .route("/account/password", page::reload_goes_up(1).post(account::change_password))
        // issue 13: password recovery
        .route("/password/forgot", get(password::forgot_form).post(password::request))
        .route("/password/reset/{token}", get(password::reset_form).post(password::reset))
        .route("/admin/users/{id}/reset-link", post(admin::send_reset_link))
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route("/admin/users/new", get(admin::new_user))
        .route("/admin/users/{id}/role", post(admin::change_role))
        .route("/admin/users/{id}/active", post(admin::set_active))
        .route("/admin/ledger", get(admin::ledger_page))
        .route("/admin/ledger/checkpoints", post(admin::write_checkpoint))
        .route(
            "/admin/ledger/checkpoints/{id}",
            get(admin::download_checkpoint),
        )
        .route("/admin/settings", get(settings::show).post(settings::update))
        .route("/courses", get(courses::list).post(courses::create))
        .route("/courses/new", get(courses::new))
        .route("/courses/{id}", get(courses::edit).post(courses::update))
        .route("/courses/{id}/retire", post(courses::retire))
        .route("/vouchers", get(vouchers::list).post(vouchers::create))
        .route("/vouchers/new", get(vouchers::new))
        .route("/vouchers/{id}", get(vouchers::edit).post(vouchers::update))
        .route("/trainers", get(trainers::list).post(trainers::create))
        .route("/trainers/new", get(trainers::new))
        .route("/trainers/{id}", get(trainers::edit).post(trainers::update))
        .route("/classes", get(classes::list).post(classes::create))
        .route("/classes/new", get(classes::new))
        .route("/classes/export.csv", get(classes::export))
        .route("/classes/{id}", get(classes::show).post(classes::update))
        .route("/classes/{id}/edit", get(classes::edit))
        .route("/classes/{id}/status", post(classes::change_status))
        .route("/classes/{id}/confirm", post(classes::confirm))
        .route("/classes/{id}/roster", page::reload_goes_up(1).post(classes::add_learner))
        .route("/classes/{id}/roster.csv", get(classes::roster_csv))
        .route("/classes/{id}/attendance", post(classes::attendance))
        .route("/classes/{id}/roster/{enrollment}/remove", post(classes::remove_learner))
        .route("/api/v1/kpi", get(api::kpi))
        .route("/kpi/lines", get(line_items::page))
        .route("/kpi/lines.csv", get(line_items::csv))
        // issue 5: API tokens
        .route("/admin/tokens", get(api_tokens::list).post(api_tokens::create))
        .route("/admin/tokens/{id}/revoke", post(api_tokens::revoke))
        // issue 6: learner erasure
        .route("/admin/erasure", get(erasure::show).post(erasure::erase))
        // issue 4: outbox
        .route("/outbox", get(outbox::list))
        .route("/outbox/{id}/retry", post(outbox::retry))
        // issue 4: achievement codes
        .route("/classes/{id}/codes/issue", post(codes::issue))
        .route("/codes", get(codes::list))
        .route("/codes/{token}", get(codes::learner_page))
        .route("/codes/{id}/redeem", page::reload_goes_up(2).post(codes::redeem))
        // issue 4: surveys
        .route("/classes/{id}/surveys/send", post(surveys::send))
        .route("/survey/{token}", get(surveys::show).post(surveys::submit))
        // issue 6: recordings, consent, takedowns
        .route("/recordings", get(recordings::list).post(recordings::create))
        .route("/recordings/new", get(recordings::new))
        .route("/recordings/{id}", get(recordings::show).post(recordings::update))
        .route("/recordings/{id}/edit", get(recordings::edit))
        .route("/recordings/{id}/publish", post(recordings::publish))
        .route("/recordings/{id}/withdraw", page::reload_goes_up(1).post(recordings::withdraw))
        .route("/recordings/{id}/consent", post(recordings::own_consent))
        .route("/recordings/{id}/consents/request", post(recordings::request_new))
        .route("/recordings/{id}/consents/{consent}/paper", page::reload_goes_up(3).post(recordings::paper))
        .route("/recordings/{id}/takedowns", page::reload_goes_up(1).post(recordings::add_takedown))
        .route("/takedowns/{id}/status", post(recordings::takedown_status))
        .route("/consent/{token}", get(recordings::consent_show).post(recordings::consent_answer))
        .route("/imports", get(imports::page))
        .layer(RequestBodyLimitLayer::new(state.config.server.max_body_bytes))
        // Every route above must have its answer under way within the request timeout
        // (streamed CSV downloads only their first chunk). The uploads below are exempt:
        // a large file over a slow line and its import may rightly take longer; their
        // bodies are bounded by the idle timeout (server.rs) and `max_upload_bytes`.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(state.config.server.request_timeout_seconds),
        ))
        // CSV uploads get their own, larger limit; they are spooled to disk.
        .merge(
            Router::new()
                .route("/imports", post(imports::upload))
                .route(
                    "/classes/{id}/roster/import",
                    page::reload_goes_up(2).post(classes::import_roster),
                )
                .layer(DefaultBodyLimit::max(state.config.server.max_upload_bytes))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    upload::declared_size_limit,
                )),
        )
        // The CSRF guard runs once a route has matched (a request to no route is a 404
        // whatever it carries), inside `record_route`, so refusals keep their route label.
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), middleware::csrf_guard))
        .route_layer(axum::middleware::from_fn(record_route))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::browser_state))
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), route = tracing::field::Empty, request_id = %id)
            })
            .on_response(|res: &Response, latency: Duration, _span: &tracing::Span| {
                tracing::info!(status = res.status().as_u16(), latency_us = latency.as_micros() as u64, "response");
            }),
        )
        .layer(SetRequestIdLayer::new(request_id, RandomRequestId))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::metrics::track))
        .with_state(state)
}

/// Names the route template (`/setup/{token}`) on the request's span, and for the
/// metrics, once routing has matched: raw paths, which can carry tokens, never reach the
/// logs or the metrics.
async fn record_route(req: Request, next: axum::middleware::Next) -> Response {
    crate::metrics::note_route(&req);
    if let Some(route) = req.extensions().get::<MatchedPath>() {
        tracing::Span::current().record("route", route.as_str());
    }
    next.run(req).await
}

#[derive(Clone)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id = &crate::auth::random_token()[..16];
        HeaderValue::from_str(id).ok().map(RequestId::new)
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    let json = [(header::CONTENT_TYPE, "application/json")];
    match crate::db::ping(&state.db).await {
        Ok(()) => (StatusCode::OK, json, r#"{"status":"ok","database":"ok"}"#).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json,
                r#"{"status":"error","database":"unreachable"}"#,
            )
                .into_response()
        }
    }
}

const STYLESHEET: &str = include_str!("../../../static/app.css");

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

async fn not_found() -> AppError {
    AppError::NotFound
}
