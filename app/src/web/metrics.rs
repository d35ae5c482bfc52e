//! `GET /metrics`: Prometheus text format, for signed-in admins or the configured token.
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::{constant_time_eq, token_hash};
use crate::state::AppState;
use crate::web::extract::CurrentUser;

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Who may scrape. An `Authorization` header alone decides when sent (as on `/api/`):
/// it must be `Bearer <metrics.token>`. Without one, the session decides: admins only.
enum Access {
    Granted,
    /// No credentials, or a wrong token: 401 with a `WWW-Authenticate` challenge.
    Unauthenticated,
    /// Signed in without the admin role.
    Forbidden,
}

fn access(state: &AppState, headers: &HeaderMap, user: Option<&CurrentUser>) -> Access {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let configured = &state.config.metrics.token;
        let presented = value.to_str().ok().and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
        // Compared as SHA-256 digests: the time taken says nothing about the token,
        // not even its length.
        let matches = presented.is_some_and(|p| {
            !configured.is_empty()
                && constant_time_eq(
                    token_hash(p).as_bytes(),
                    token_hash(configured.trim()).as_bytes(),
                )
        });
        return if matches {
            Access::Granted
        } else {
            Access::Unauthenticated
        };
    }
    match user {
        Some(u) if u.role.may_administer() => Access::Granted,
        Some(_) => Access::Forbidden,
        None => Access::Unauthenticated,
    }
}

pub async fn scrape(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: Option<CurrentUser>,
) -> Response {
    match access(&state, &headers, user.as_ref()) {
        Access::Granted => {}
        Access::Unauthenticated => {
            return (
                StatusCode::UNAUTHORIZED,
                [
                    (
                        header::WWW_AUTHENTICATE,
                        r#"Bearer realm="tsp-ledger metrics""#,
                    ),
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                ],
                // Shown to a browser in the site's page (middleware::styled_error).
                "The metrics are for administrators: sign in as one, or send the metrics \
                 token as Authorization: Bearer <token>.",
            )
                .into_response();
        }
        Access::Forbidden => return crate::web::error::AppError::Forbidden.into_response(),
    }
    let depth = match crate::mail::depth(&state.db).await {
        Ok(depth) => Some(depth),
        Err(e) => {
            tracing::error!(error = %e, "metrics: the outbox could not be counted");
            None
        }
    };
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.render(depth.as_ref()),
    )
        .into_response()
}
