//! HTTP: one module per feature; handlers stay thin and call `services`.
pub mod account;
pub mod admin;
pub mod api;
pub mod api_tokens;
pub mod auth;
pub mod classes;
pub mod codes;
pub mod courses;
pub mod courseware;
pub mod dashboard;
pub mod erasure;
pub mod error;
pub mod evidence;
pub mod extract;
pub mod forecast;
pub mod history;
pub mod home;
pub mod imports;
pub mod learners;
pub mod learning_partner;
pub mod line_items;
pub mod metrics;
pub mod middleware;
pub mod outbox;
pub mod page;
pub mod password;
pub mod quality;
pub mod reconciliation;
pub mod recordings;
pub mod retention;
pub mod schedule;
pub mod settings;
pub mod surveys;
pub mod takedowns;
pub mod todo;
pub mod trainers;
pub mod upload;
pub mod vouchers;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use crate::web::error::AppError;

/// One route: its method and path template, whether it takes a CSV upload (larger body
/// limit, no request timeout), and its handler. [`routes`] is the one list the router is
/// built from and the authorization matrix is checked against.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub upload: bool,
    handler: MethodRouter<AppState>,
}

impl Route {
    fn get<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> Route {
        Route {
            method: Method::GET,
            path,
            upload: false,
            handler: get(handler),
        }
    }

    fn post<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> Route {
        Route {
            method: Method::POST,
            path,
            upload: false,
            handler: post(handler),
        }
    }

    /// The `GET` of a POST-only address whose refusal re-renders a page: reloading goes
    /// back to that page (see [`page::reload_goes_up`]), never a `405`.
    fn reload(path: &'static str, levels: usize) -> Route {
        Route {
            method: Method::GET,
            path,
            upload: false,
            handler: page::reload_goes_up(levels),
        }
    }

    fn upload<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> Route {
        Route {
            method: Method::POST,
            path,
            upload: true,
            handler: post(handler),
        }
    }
}

/// Every route of the app.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/", dashboard::home),
        Route::get("/healthz", healthz),
        // issue 7: Prometheus metrics (admins or the configured bearer token)
        Route::get("/metrics", metrics::scrape),
        Route::get("/static/app.css", stylesheet),
        Route::get("/login", auth::login_form),
        Route::post("/login", auth::login),
        Route::post("/logout", auth::logout),
        // issue 13: single sign-on (Microsoft Entra ID / OpenID Connect)
        Route::get("/auth/oidc/start", auth::oidc_start),
        Route::get(crate::auth::oidc::CALLBACK_PATH, auth::oidc_callback),
        Route::get("/setup/{token}", auth::setup_form),
        Route::post("/setup/{token}", auth::setup),
        Route::get("/account", account::show),
        Route::reload("/account/password", 1),
        Route::post("/account/password", account::change_password),
        // issue 13: password recovery
        Route::get("/password/forgot", password::forgot_form),
        Route::post("/password/forgot", password::request),
        Route::get("/password/reset/{token}", password::reset_form),
        Route::post("/password/reset/{token}", password::reset),
        Route::post("/admin/users/{id}/reset-link", admin::send_reset_link),
        // issue 16 item 9: one "Admin" entry in the navigation, this page behind it
        Route::get("/admin", admin::index),
        Route::get("/admin/users", admin::users),
        Route::post("/admin/users", admin::create_user),
        Route::get("/admin/users/new", admin::new_user),
        Route::post("/admin/users/{id}/role", admin::change_role),
        Route::post("/admin/users/{id}/active", admin::set_active),
        Route::get("/admin/ledger", admin::ledger_page),
        // issue 16 item 7: the ledger's filters as CSV
        Route::get("/admin/ledger.csv", admin::ledger_csv),
        Route::post("/admin/ledger/checkpoints", admin::write_checkpoint),
        Route::get("/admin/ledger/checkpoints/{id}", admin::download_checkpoint),
        Route::get("/admin/settings", settings::show),
        Route::post("/admin/settings", settings::update),
        // issue 16 item 9: the organisation's logo
        Route::reload("/admin/settings/logo", 1),
        Route::post("/admin/settings/logo", settings::upload_logo),
        Route::post("/admin/settings/logo/remove", settings::remove_logo),
        Route::get("/brand/logo", settings::logo),
        Route::get("/courses", courses::list),
        Route::post("/courses", courses::create),
        Route::get("/courses/new", courses::new),
        Route::get("/courses/{id}", courses::edit),
        Route::post("/courses/{id}", courses::update),
        Route::post("/courses/{id}/retire", courses::retire),
        Route::get("/vouchers", vouchers::list),
        Route::post("/vouchers", vouchers::create),
        Route::get("/vouchers/new", vouchers::new),
        Route::get("/vouchers/{id}", vouchers::edit),
        Route::post("/vouchers/{id}", vouchers::update),
        // issue 17 item 3: the Learning Partner program's purchases, line items and API
        Route::get("/courseware", courseware::list),
        Route::post("/courseware", courseware::create),
        Route::get("/courseware/new", courseware::new),
        Route::get("/courseware/{id}", courseware::edit),
        Route::post("/courseware/{id}", courseware::update),
        Route::get("/learning-partner/lines", learning_partner::lines),
        Route::get("/learning-partner/lines.csv", learning_partner::csv),
        Route::get("/api/v1/learning-partner", learning_partner::api),
        Route::get("/trainers", trainers::list),
        Route::post("/trainers", trainers::create),
        Route::get("/trainers/new", trainers::new),
        Route::get("/trainers/{id}", trainers::edit),
        Route::post("/trainers/{id}", trainers::update),
        Route::get("/classes", classes::list),
        Route::post("/classes", classes::create),
        Route::get("/classes/new", classes::new),
        Route::get("/classes/export.csv", classes::export),
        Route::get("/classes/{id}", classes::show),
        Route::post("/classes/{id}", classes::update),
        Route::get("/classes/{id}/edit", classes::edit),
        Route::post("/classes/{id}/status", classes::change_status),
        Route::post("/classes/{id}/confirm", classes::confirm),
        Route::reload("/classes/{id}/roster", 1),
        Route::post("/classes/{id}/roster", classes::add_learner),
        Route::get("/classes/{id}/roster.csv", classes::roster_csv),
        Route::post("/classes/{id}/attendance", classes::attendance),
        Route::post(
            "/classes/{id}/roster/{enrollment}/remove",
            classes::remove_learner,
        ),
        // issue 16 item 4: learners across classes
        Route::get("/learners", learners::list),
        Route::get("/learners/{id}", learners::show),
        Route::get("/api/v1/kpi", api::kpi),
        // issue 16 item 8: classes over the API, and its description
        Route::get("/api/v1/classes", api::classes),
        Route::get("/api/v1/classes/{class_ref}", api::class),
        Route::get("/api/v1/openapi.json", api::openapi),
        Route::get("/kpi/lines", line_items::page),
        Route::get("/kpi/lines.csv", line_items::csv),
        // issue 17 item 2: the forecast to the anniversary
        Route::get("/kpi/forecast", forecast::page),
        Route::get("/api/v1/forecast", forecast::api),
        // issue 17 item 5: evidence packs
        Route::get("/kpi/evidence.zip", evidence::figure),
        Route::get("/classes/{id}/evidence.zip", evidence::class),
        Route::get("/recordings/{id}/evidence.zip", evidence::recording),
        // issue 5: API tokens
        Route::get("/admin/tokens", api_tokens::list),
        Route::post("/admin/tokens", api_tokens::create),
        Route::post("/admin/tokens/{id}/revoke", api_tokens::revoke),
        // issue 6: learner erasure
        Route::get("/admin/erasure", erasure::show),
        Route::post("/admin/erasure", erasure::erase),
        // issue 17 item 4: retention
        Route::get("/admin/retention", retention::show),
        Route::post("/admin/retention/run", retention::run),
        // issue 4: outbox
        Route::get("/outbox", outbox::list),
        Route::get("/todo", todo::page),
        Route::reload("/calendar/feed", 2),
        Route::post("/calendar/feed", home::new_feed),
        Route::reload("/calendar/feed/revoke", 3),
        Route::post("/calendar/feed/revoke", home::revoke_feed),
        Route::get("/calendar/{file}", home::feed),
        // issue 17 item 6: the public schedule feed (no sign-in)
        Route::get("/schedule.json", schedule::json),
        Route::get("/schedule.ics", schedule::ics),
        Route::post("/outbox/{id}/retry", outbox::retry),
        // issue 4: achievement codes
        Route::post("/classes/{id}/codes/issue", codes::issue),
        Route::get("/codes", codes::list),
        Route::get("/codes/{token}", codes::learner_page),
        Route::reload("/codes/{id}/redeem", 2),
        Route::post("/codes/{id}/redeem", codes::redeem),
        Route::reload("/codes/{id}/resend", 2),
        Route::post("/codes/{id}/resend", codes::resend),
        // issue 4: surveys
        Route::post("/classes/{id}/surveys/send", surveys::send),
        Route::get("/survey/{token}", surveys::show),
        Route::post("/survey/{token}", surveys::submit),
        // issue 16 item 5: quality reports
        Route::get("/quality", quality::page),
        Route::get("/quality.csv", quality::figures_csv),
        Route::get("/quality/comments.csv", quality::comments_csv),
        Route::get("/classes/{id}/comments.csv", quality::class_comments_csv),
        // issue 6: recordings, consent, takedowns
        Route::get("/recordings", recordings::list),
        Route::post("/recordings", recordings::create),
        Route::get("/recordings/new", recordings::new),
        Route::get("/recordings/{id}", recordings::show),
        Route::post("/recordings/{id}", recordings::update),
        Route::get("/recordings/{id}/edit", recordings::edit),
        Route::post("/recordings/{id}/publish", recordings::publish),
        Route::reload("/recordings/{id}/withdraw", 1),
        Route::post("/recordings/{id}/withdraw", recordings::withdraw),
        Route::post("/recordings/{id}/consent", recordings::own_consent),
        Route::post("/recordings/{id}/consents/request", recordings::request_new),
        Route::reload("/recordings/{id}/consents/{consent}/paper", 3),
        Route::post(
            "/recordings/{id}/consents/{consent}/paper",
            recordings::paper,
        ),
        Route::reload("/recordings/{id}/takedowns", 1),
        Route::post("/recordings/{id}/takedowns", takedowns::record),
        Route::post("/takedowns/{id}/status", takedowns::change_status),
        Route::get("/consent/{token}", recordings::consent_show),
        Route::post("/consent/{token}", recordings::consent_answer),
        // issue 17 item 1: reconciliation with Partner Center
        Route::get("/reconciliation", reconciliation::page),
        Route::reload("/reconciliation/upload", 1),
        Route::upload("/reconciliation/upload", reconciliation::upload),
        Route::reload("/reconciliation/import", 1),
        Route::post("/reconciliation/import", reconciliation::import),
        Route::get("/reconciliation/{figure}/{month}", reconciliation::month),
        Route::get(
            "/reconciliation/{figure}/{month}/packet.txt",
            reconciliation::packet_text,
        ),
        Route::get(
            "/reconciliation/{figure}/{month}/packet.csv",
            reconciliation::packet_csv,
        ),
        Route::get("/imports", imports::page),
        // CSV uploads get their own, larger limit; they are spooled to disk.
        Route::upload("/imports", imports::upload),
        Route::reload("/classes/{id}/roster/import", 2),
        Route::upload("/classes/{id}/roster/import", classes::import_roster),
    ]
}

pub fn router(state: AppState) -> Router {
    // Two methods on one path merge into one method router.
    let (uploads, forms): (Vec<Route>, Vec<Route>) = routes().into_iter().partition(|r| r.upload);
    let with = |router: Router<AppState>, routes: Vec<Route>| {
        routes
            .into_iter()
            .fold(router, |router, r| router.route(r.path, r.handler))
    };
    let app = with(Router::new(), forms)
        .layer(RequestBodyLimitLayer::new(
            state.config.server.max_body_bytes,
        ))
        // Every route above must have its answer under way within the request timeout
        // (streamed CSV downloads only their first chunk). The uploads below are exempt:
        // a large file over a slow line and its import may rightly take longer; their
        // bodies are bounded by the idle timeout (server.rs) and `max_upload_bytes`.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(state.config.server.request_timeout_seconds),
        ))
        .merge(
            with(Router::new(), uploads)
                .layer(DefaultBodyLimit::max(state.config.server.max_upload_bytes))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    upload::declared_size_limit,
                )),
        )
        // The CSRF guard runs once a route has matched (a request to no route is a 404
        // whatever it carries), inside `record_route`, so refusals keep their route label.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::csrf_guard,
        ))
        .route_layer(axum::middleware::from_fn(record_route))
        .fallback(not_found);
    with_outer_layers(app, state)
}

/// What wraps every answer, routed or not: a handler that panics answers the styled 500
/// (the panic goes to the log, not to the page), the session and flash, the security
/// headers, request ids, tracing and metrics.
pub fn with_outer_layers(app: Router<AppState>, state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    app.layer(CatchPanicLayer::custom(panicked))
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
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::track))
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

fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    AppError::Internal(anyhow::anyhow!("the handler panicked: {message}")).into_response()
}

async fn not_found() -> AppError {
    AppError::NotFound
}
