//! The public schedule feed (issue 17 item 6): `GET /schedule.json` and
//! `GET /schedule.ics`, open to anyone (no sign-in), cacheable for five minutes, with a
//! weak ETag; the JSON may be read by any website (CORS `*`).
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::clock;
use crate::services::schedule::{self, Schedule};
use crate::state::AppState;
use crate::web::error::AppError;

const CACHE: &str = "public, max-age=300";

/// `GET /schedule.json`: `{"generated_at": …, "classes": [ … ]}` (see the README).
pub async fn json(State(state): State<AppState>, request: HeaderMap) -> Result<Response, AppError> {
    let now = clock::now();
    let listed = schedule::listed(&state.db, now.date_naive()).await?;
    Ok(answer(
        &request,
        &listed,
        "json",
        "application/json",
        true,
        || listed.json(now),
    ))
}

/// `GET /schedule.ics`: the same classes as an iCalendar feed, one all-day event each.
pub async fn ics(State(state): State<AppState>, request: HeaderMap) -> Result<Response, AppError> {
    let now = clock::now();
    let listed = schedule::listed(&state.db, now.date_naive()).await?;
    Ok(answer(
        &request,
        &listed,
        "ics",
        "text/calendar; charset=utf-8",
        false,
        || listed.ics(&state.config.server, now),
    ))
}

/// The body (or `304 Not Modified` when the client's `If-None-Match` holds the ETag),
/// with the caching headers and, for the JSON, CORS.
fn answer(
    request: &HeaderMap,
    listed: &Schedule,
    format: &str,
    content_type: &'static str,
    cors: bool,
    body: impl FnOnce() -> String,
) -> Response {
    let etag = listed.etag(format);
    let fresh = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag.trim_start_matches("W/")
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        body().into_response()
    };
    let headers = response.headers_mut();
    if !fresh {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    if cors {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    response
}
