//! Request plumbing shared by every route: security headers, the session, flash messages,
//! the CSRF guard, and rendering errors as pages (or JSON under /api).
use std::net::SocketAddr;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::page::{BrowserNonce, FLASH_COOKIE, Flash, PageContext, cookie, read_cookie};
use crate::auth::extract::CurrentUser;
use crate::auth::{csrf, random_token, session};
use crate::domain::role::Role;
use crate::error::{AppError, ErrorMarker};
use crate::state::AppState;

/// The client's address as far as we can trust it.
#[derive(Clone)]
pub struct ClientAddr(pub String);

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub async fn security_headers(req: Request, next: Next) -> Response {
    let is_static = req.uri().path().starts_with("/static/");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Learner links carry tokens in their path: never send them on as a Referer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    if !is_static && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn client_addr(req: &Request, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_string());
        if let Some(addr) = forwarded.filter(|a| !a.is_empty()) {
            return addr;
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Loads the session and flash into the request; afterwards sets or clears cookies and
/// renders any error as a page in the site's layout.
pub async fn browser_state(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    // Assets and health checks need no session: spare them the database read.
    let path = req.uri().path();
    if path.starts_with("/static/") || path == "/healthz" {
        return next.run(req).await;
    }
    let secure = state.config.server.secure_cookies;
    let addr = client_addr(&req, state.config.server.trust_forwarded_for);
    req.extensions_mut().insert(ClientAddr(addr));

    let session_cookie = read_cookie(req.headers(), session::COOKIE).map(str::to_string);
    let mut clear_session_cookie = false;
    if let Some(value) = session_cookie {
        match session::load(&state.db, &state.sessions, &value).await {
            Ok(Some((s, user))) => match user.role.parse::<Role>() {
                Ok(role) => {
                    req.extensions_mut().insert(CurrentUser {
                        id: user.id,
                        email: user.email,
                        name: user.name,
                        role,
                        csrf: s.csrf_token,
                        session_hash: s.id_hash,
                    });
                }
                Err(_) => clear_session_cookie = true,
            },
            Ok(None) => clear_session_cookie = true,
            Err(e) => {
                let error = AppError::from(e);
                error.log();
                return error.render_page(super::page::Page::bare("Error"));
            }
        }
    }

    // A flash is shown once: any flash cookie (even an unreadable one) is cleared below.
    let flash_cookie = read_cookie(req.headers(), FLASH_COOKIE).map(str::to_string);
    let had_flash = flash_cookie.is_some();
    if let Some(flash) = flash_cookie.as_deref().and_then(Flash::decode) {
        req.extensions_mut().insert(flash);
    }

    let nonce = read_cookie(req.headers(), csrf::NONCE_COOKIE)
        .filter(|n| n.len() == 64)
        .map(str::to_string);
    let new_nonce = match nonce {
        Some(nonce) => {
            req.extensions_mut().insert(BrowserNonce(nonce));
            None
        }
        None => {
            let nonce = random_token();
            req.extensions_mut().insert(BrowserNonce(nonce.clone()));
            Some(nonce)
        }
    };

    let is_api = req.uri().path().starts_with("/api/");
    let error_context = PageContext::new(req.extensions(), req.uri().path(), &state);
    let mut response = next.run(req).await;

    if let Some(ErrorMarker(error)) = response.extensions_mut().remove::<ErrorMarker>() {
        let headers = response.headers().clone();
        response = if is_api {
            error.json()
        } else {
            error.render_page(error_context.page(""))
        };
        for cookie in headers.get_all(header::SET_COOKIE) {
            response
                .headers_mut()
                .append(header::SET_COOKIE, cookie.clone());
        }
    }

    let sets = |name: &str| {
        response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.starts_with(&format!("{name}="))))
    };
    let (sets_flash, sets_session) = (sets(FLASH_COOKIE), sets(session::COOKIE));
    let headers = response.headers_mut();
    if had_flash && !sets_flash {
        headers.append(
            header::SET_COOKIE,
            cookie(FLASH_COOKIE, "", Some(0), secure),
        );
    }
    if clear_session_cookie && !sets_session {
        headers.append(
            header::SET_COOKIE,
            cookie(session::COOKIE, "", Some(0), secure),
        );
    }
    if let Some(nonce) = new_nonce {
        headers.append(
            header::SET_COOKIE,
            cookie(csrf::NONCE_COOKIE, &nonce, None, secure),
        );
    }
    response
}

/// Refuses any state-changing request that is cross-site or lacks the right `_csrf`
/// (in the urlencoded body, or the query string for multipart uploads).
pub async fn csrf_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let (sec_fetch_site, origin, content_type) = {
        let header_str = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        (
            header_str("sec-fetch-site"),
            header_str("origin"),
            header_str("content-type"),
        )
    };
    if !csrf::origin_is_allowed(
        sec_fetch_site.as_deref(),
        origin.as_deref(),
        &state.own_origins,
    ) {
        return AppError::Csrf.into_response();
    }

    let session_token = req
        .extensions()
        .get::<CurrentUser>()
        .map(|u| u.csrf.clone());
    let nonce = req.extensions().get::<BrowserNonce>().map(|n| n.0.clone());
    let from_query = req
        .uri()
        .query()
        .and_then(|q| field_value(q.as_bytes(), csrf::FIELD));
    let is_form = content_type.is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));

    let (parts, body) = req.into_parts();
    let (submitted, body) = match (from_query, is_form) {
        (Some(token), _) => (Some(token), body),
        (None, true) => match to_bytes(body, state.config.server.max_body_bytes).await {
            Ok(bytes) => (field_value(&bytes, csrf::FIELD), Body::from(bytes)),
            Err(e) if crate::server::is_body_idle_timeout(&e) => {
                return AppError::BadRequest(format!(
                    "{e}: the form was not received. Nothing was saved."
                ))
                .into_response();
            }
            Err(_) => return too_large(state.config.server.max_body_bytes),
        },
        (None, false) => (None, body),
    };
    let ok = submitted.is_some_and(|s| {
        csrf::token_is_valid(
            &state.secret,
            session_token.as_deref(),
            nonce.as_deref(),
            &s,
        )
    });
    if !ok {
        return AppError::Csrf.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

/// 413 for a form body over `server.max_body_bytes`: refused before anything runs.
pub fn too_large(limit: usize) -> Response {
    AppError::PayloadTooLarge(format!(
        "The form is larger than this server accepts ({}). Nothing was saved.",
        human_bytes(limit)
    ))
    .into_response()
}

/// `2 MiB`, `512 KiB`, `300 bytes`.
pub fn human_bytes(n: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}

fn field_value(urlencoded: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(urlencoded)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
