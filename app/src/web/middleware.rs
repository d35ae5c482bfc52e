//! Request plumbing shared by every route: security headers, the session, flash messages,
//! the CSRF guard, and rendering errors as pages (or JSON under /api).
use std::net::SocketAddr;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::page::{BrowserNonce, FLASH_COOKIE, Flash, PageContext, cookie, read_cookie};
use crate::auth::{csrf, random_token, session};
use crate::state::AppState;
use crate::web::error::{AppError, ErrorMarker};
use crate::web::extract::CurrentUser;

/// The client's address as far as we can trust it.
#[derive(Clone)]
pub struct ClientAddr(pub String);

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub async fn security_headers(req: Request, next: Next) -> Response {
    let is_static = req.uri().path().starts_with("/static/");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    // A response may set a stricter policy of its own (the logo: `default-src 'none'`).
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
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
    // Assets, the logo, health checks and the public schedule need no session: spare
    // them the database read (and a cacheable public feed any Set-Cookie).
    let path = req.uri().path();
    if path.starts_with("/static/")
        || path.starts_with("/brand/")
        || path == "/healthz"
        || path.starts_with("/schedule.")
    {
        let method = req.method().clone();
        let response = next.run(req).await;
        return styled_error(response, &method, false, || super::page::Page::bare("")).await;
    }
    let secure = state.config.server.secure_cookies;
    let addr = client_addr(&req, state.config.server.trust_forwarded_for);
    req.extensions_mut().insert(ClientAddr(addr));

    let session_cookie = read_cookie(req.headers(), session::COOKIE).map(str::to_string);
    let mut clear_session_cookie = false;
    if let Some(value) = session_cookie {
        match session::load(&state.db, &state.sessions, &value).await {
            Ok(Some((s, user))) => {
                req.extensions_mut().insert(CurrentUser {
                    id: user.id,
                    email: user.email,
                    name: user.name,
                    role: user.role,
                    csrf: s.csrf_token,
                    session_hash: s.id_hash,
                });
            }
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
    let method = req.method().clone();
    let error_context = PageContext::new(req.extensions(), req.uri().path(), &state);
    let response = next.run(req).await;
    let mut response = styled_error(response, &method, is_api, || error_context.page("")).await;

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

/// Renders an error answer as the site's page (JSON under `/api/`): our own errors
/// (an [`ErrorMarker`]) and any other error answer without a page of its own — a
/// framework rejection (malformed query or form), `405`, a timeout — so a person never
/// meets a bare status line. Headers that matter to the client are kept.
async fn styled_error(
    mut response: Response,
    method: &Method,
    is_api: bool,
    page: impl FnOnce() -> super::page::Page,
) -> Response {
    let status = response.status();
    let error = match response.extensions_mut().remove::<ErrorMarker>() {
        Some(ErrorMarker(error)) => error,
        None if status.is_client_error() || status.is_server_error() => {
            let has_page = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/html") || v.starts_with("application/json"));
            if has_page {
                return response;
            }
            let (parts, body) = response.into_parts();
            let text = to_bytes(body, 16 * 1024)
                .await
                .map(|b| String::from_utf8_lossy(&b).trim().to_string())
                .unwrap_or_default();
            let message = match status {
                StatusCode::METHOD_NOT_ALLOWED => format!(
                    "This address does not take a {method} request. Go back, reload the page and use its links and buttons."
                ),
                StatusCode::REQUEST_TIMEOUT => "The answer took too long and was given up; nothing of the request was saved. Try again in a moment.".into(),
                _ if !text.is_empty() => text,
                _ => status.canonical_reason().unwrap_or("Error").to_string(),
            };
            response = Response::from_parts(parts, Body::empty());
            std::sync::Arc::new(AppError::Plain(status, message))
        }
        None => return response,
    };
    let mut styled = if is_api {
        error.json()
    } else {
        error.render_page(page())
    };
    for name in [header::SET_COOKIE, header::WWW_AUTHENTICATE, header::ALLOW] {
        for value in response.headers().get_all(&name) {
            if name != header::SET_COOKIE && styled.headers().contains_key(&name) {
                continue;
            }
            styled.headers_mut().append(name.clone(), value.clone());
        }
    }
    styled
}

/// Refuses any state-changing request that is cross-site or lacks the right `_csrf`
/// (in the urlencoded body, or the query string for multipart uploads).
pub async fn csrf_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(refusal) = req.uri().query().and_then(|q| nul_refusal(q.as_bytes())) {
        return refusal;
    }
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
    let is_form = content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));

    let (parts, body) = req.into_parts();
    // A form is read here whole (it is bounded by `server.max_body_bytes`), for its token
    // and so that every field is checked once, before any handler sees it.
    let (body, from_body, nul) = if is_form {
        match to_bytes(body, state.config.server.max_body_bytes).await {
            Ok(bytes) => {
                let nul = nul_refusal(&bytes);
                let token = field_value(&bytes, csrf::FIELD);
                (Body::from(bytes), token, nul)
            }
            Err(e) if is_body_idle_timeout(&e) => {
                return AppError::BadRequest(format!(
                    "{e}: the form was not received. Nothing was saved."
                ))
                .into_response();
            }
            Err(_) => return too_large(state.config.server.max_body_bytes),
        }
    } else if let Some(boundary) = content_type.as_deref().and_then(multipart_boundary)
        && from_query.is_none()
    {
        // An upload's token is its first part (the form's first input), so it never
        // has to be in the URL; only that part is read here, the rest streams on.
        match first_part_token(body, &boundary).await {
            Ok((body, token)) => (body, token, None),
            Err(e) if is_body_idle_timeout(&*e) => {
                return AppError::BadRequest(format!(
                    "{e}: the upload could not be read. Nothing was imported."
                ))
                .into_response();
            }
            Err(_) => return AppError::Csrf.into_response(),
        }
    } else {
        (body, None, None)
    };
    let submitted = from_query.or(from_body);
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
    if let Some(refusal) = nul {
        return refusal;
    }
    next.run(Request::from_parts(parts, body)).await
}

fn multipart_boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The first part of a multipart body is read this far at most, looking for `_csrf`.
const CSRF_PART_MAX: usize = 4096;

/// Reads a multipart body up to the end of its first part and returns the body whole
/// again (what was read, then the rest as it arrives) and that part's value when the
/// part is `_csrf`.
async fn first_part_token(
    body: Body,
    boundary: &str,
) -> Result<(Body, Option<String>), axum::BoxError> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut head = Vec::new();
    let delimiter = format!("\r\n--{boundary}");
    while head.len() < CSRF_PART_MAX && find(&head, delimiter.as_bytes()).is_none() {
        match stream.next().await {
            Some(chunk) => head.extend_from_slice(&chunk?),
            None => break,
        }
    }
    let token = parse_first_part(&head, boundary);
    let rest =
        futures_util::stream::once(async move { Ok(axum::body::Bytes::from(head)) }).chain(stream);
    Ok((Body::from_stream(rest), token))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `--boundary\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\nTOKEN\r\n--boundary`.
fn parse_first_part(head: &[u8], boundary: &str) -> Option<String> {
    let start = format!("--{boundary}\r\n");
    let rest = head.strip_prefix(start.as_bytes())?;
    let headers_end = find(rest, b"\r\n\r\n")?;
    let headers = std::str::from_utf8(&rest[..headers_end]).ok()?;
    let named = headers.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("content-disposition:")
            && l.contains(&format!("name=\"{}\"", csrf::FIELD))
    });
    let value = &rest[headers_end + 4..];
    let end = find(value, format!("\r\n--{boundary}").as_bytes())?;
    named.then(|| String::from_utf8_lossy(&value[..end]).into_owned())
}

/// A `400` naming the first field of a urlencoded form or query that holds a NUL
/// character (no text may: PostgreSQL cannot store one); `None` when none does.
fn nul_refusal(urlencoded: &[u8]) -> Option<Response> {
    let (name, value) =
        form_urlencoded::parse(urlencoded).find(|(k, v)| k.contains('\0') || v.contains('\0'))?;
    let message = crate::domain::fields::refuse_nul(&name)
        .and(crate::domain::fields::refuse_nul(&value))
        .err()?;
    let name = crate::domain::fields::shown(&name.replace('\0', "\\0"));
    Some(
        AppError::BadRequest(format!("The field {name} {message}. Nothing was saved."))
            .into_response(),
    )
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

/// The error of a request body that sent nothing for `server.body_idle_timeout_seconds`.
#[derive(Debug)]
pub struct BodyIdleTimeout(pub std::time::Duration);

impl std::fmt::Display for BodyIdleTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body sent nothing for {} s",
            self.0.as_secs()
        )
    }
}

impl std::error::Error for BodyIdleTimeout {}

/// Whether `error` (or what caused it) is a [`BodyIdleTimeout`].
pub fn is_body_idle_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<BodyIdleTimeout>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// The outermost layer: times every request and counts it under its route template.
pub async fn track(
    State(state): State<crate::state::AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let slot = crate::metrics::RouteSlot::default();
    req.extensions_mut().insert(slot.clone());
    let response = next.run(req).await;
    let route = slot.take();
    state.metrics.observe(
        route.as_deref().unwrap_or(crate::metrics::UNMATCHED),
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
