//! What every page's layout needs: title, user, navigation by role, CSRF token, flash.
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::csrf;
use crate::domain::role::Role;
use crate::mail::Brand;
use crate::state::AppState;
use crate::web::extract::CurrentUser;

pub const FLASH_COOKIE: &str = "tsp_flash";

tsp_domain::id_enum!(
    /// What a flash message reports; its id is also the CSS modifier.
    FlashKind {
        Success = "success" / "Done",
        /// Done, with something to check (an MCT booked twice).
        Warning = "warning" / "Done, check",
        Error = "error" / "Not done",
    }
);

impl FlashKind {
    /// An error interrupts (`alert`); a success is announced politely (`status`).
    pub fn aria_role(self) -> &'static str {
        match self {
            FlashKind::Success | FlashKind::Warning => "status",
            FlashKind::Error => "alert",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Flash {
    pub kind: FlashKind,
    pub text: String,
}

impl Flash {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.kind, hex::encode(self.text.as_bytes()))
    }

    pub fn decode(raw: &str) -> Option<Flash> {
        let (kind, text) = raw.split_once('.')?;
        let kind = kind.parse().ok()?;
        let text = String::from_utf8(hex::decode(text).ok()?).ok()?;
        Some(Flash { kind, text })
    }
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

pub struct UserBadge {
    pub name: String,
    pub email: String,
    pub role_label: &'static str,
}

pub struct Page {
    pub title: String,
    /// The organisation's name and logo, in the header (the app's name when none is set).
    pub brand: Brand,
    pub user: Option<UserBadge>,
    pub csrf: String,
    pub flash: Option<Flash>,
    pub nav: Vec<NavItem>,
}

impl Page {
    /// A page with no user context (error pages rendered outside a request's extractors).
    pub fn bare(title: &str) -> Page {
        Page {
            title: title.to_string(),
            brand: Brand::default(),
            user: None,
            csrf: String::new(),
            flash: None,
            nav: vec![],
        }
    }
}

/// The navigation each role sees, in one place.
fn nav_for(role: Role, path: &str) -> Vec<NavItem> {
    let mut items: Vec<(&'static str, &'static str)> = vec![("/", "Dashboard")];
    if role.may_read_records() {
        items.push(("/todo", "To do"));
        items.push(("/classes", "Classes"));
        items.push(("/learners", "Learners"));
        items.push(("/courses", "Courses"));
        items.push(("/trainers", "Trainers"));
        items.push(("/codes", "Codes"));
        items.push(("/vouchers", "Vouchers"));
        items.push(("/recordings", "Recordings"));
        items.push(("/quality", "Quality"));
    } else {
        items.push(("/classes", "My classes"));
        items.push(("/recordings", "My recordings"));
        items.push(("/quality", "My survey results"));
    }
    if role.may_edit_records() {
        items.push(("/imports", "Imports"));
    }
    if role.may_read_records() {
        items.push(("/outbox", "Outbox"));
    }
    if role.may_administer() {
        // One entry for users, the ledger, API tokens, settings and erasure: the `/admin`
        // page lists them (`admin::ADMIN_PAGES`), so the bar stays one line.
        items.push(("/admin", "Admin"));
    }
    items.push(("/account", "Account"));
    items
        .into_iter()
        .map(|(href, label)| NavItem {
            href,
            label,
            active: if href == "/" {
                path == "/"
            } else {
                path.starts_with(href)
            },
        })
        .collect()
}

/// A CSV file download of `body`.
pub fn csv_download(filename: &str, body: axum::body::Body) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A response body fed by `receiver`'s chunks as a service produces them.
pub fn streamed(mut receiver: tokio::sync::mpsc::Receiver<Vec<u8>>) -> axum::body::Body {
    axum::body::Body::from_stream(futures_util::stream::poll_fn(move |cx| {
        receiver
            .poll_recv(cx)
            .map(|chunk| chunk.map(Ok::<_, std::convert::Infallible>))
    }))
}

/// The browser's anonymous CSRF nonce (set by the middleware).
#[derive(Clone)]
pub struct BrowserNonce(pub String);

/// Extracts what a page needs; `page(title)` builds the layout's context.
pub struct PageContext {
    pub user: Option<CurrentUser>,
    /// Read when the page is extracted (one query); the default on pages drawn without
    /// it (errors rendered by the middleware).
    pub brand: Brand,
    flash: Option<Flash>,
    csrf: String,
    path: String,
}

impl PageContext {
    pub fn page(&self, title: &str) -> Page {
        Page {
            title: title.to_string(),
            brand: self.brand.clone(),
            user: self.user.as_ref().map(|u| UserBadge {
                name: u.name.clone(),
                email: u.email.clone(),
                role_label: u.role.label(),
            }),
            csrf: self.csrf.clone(),
            flash: self.flash.clone(),
            nav: self
                .user
                .as_ref()
                .map(|u| nav_for(u.role, &self.path))
                .unwrap_or_default(),
        }
    }

    pub fn from_parts(parts: &Parts, state: &AppState) -> PageContext {
        PageContext::new(&parts.extensions, parts.uri.path(), state)
    }

    pub fn new(extensions: &axum::http::Extensions, path: &str, state: &AppState) -> PageContext {
        let user = extensions.get::<CurrentUser>().cloned();
        let csrf = match (&user, extensions.get::<BrowserNonce>()) {
            (Some(u), _) => u.csrf.clone(),
            (None, Some(nonce)) => csrf::anonymous_token(&state.secret, &nonce.0),
            (None, None) => String::new(),
        };
        PageContext {
            user,
            brand: Brand::default(),
            flash: extensions.get::<Flash>().cloned(),
            csrf,
            path: path.to_string(),
        }
    }
}

impl FromRequestParts<AppState> for PageContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let mut ctx = PageContext::from_parts(parts, state);
        match state.brand.get(&state.db).await {
            Ok(brand) => ctx.brand = brand,
            // The page is still drawn, under the app's own name.
            Err(e) => tracing::warn!(error = %e, "reading the organisation's name and logo"),
        }
        Ok(ctx)
    }
}

/// A `Set-Cookie` value with our fixed attributes: HttpOnly, SameSite=Lax, Path=/.
pub fn cookie(name: &str, value: &str, max_age_seconds: Option<i64>, secure: bool) -> HeaderValue {
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age_seconds {
        text.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).expect("cookie values are ASCII")
}

/// The value of one cookie from the request's `Cookie` headers.
pub fn read_cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// 303 to `to` with a message shown on the next page.
pub fn redirect_with_flash(
    to: &str,
    kind: FlashKind,
    text: impl Into<String>,
    secure: bool,
) -> Response {
    let flash = Flash {
        kind,
        text: text.into(),
    };
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie(FLASH_COOKIE, &flash.encode(), Some(60), secure),
    );
    response
}

/// The 1-based `?page=` of a list of `page_size` rows a page: blank is the first page;
/// anything but a whole number whose offset the database can hold is a `400`.
pub fn page_number(raw: &str, page_size: u64) -> Result<u64, crate::web::error::AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(1);
    }
    let last = i64::MAX as u64 / page_size.max(1);
    match raw.parse::<u64>() {
        Ok(n) if (1..=last).contains(&n) => Ok(n),
        _ => Err(crate::web::error::AppError::BadRequest(format!(
            "The page number must be a whole number from 1 to {last}, not {}.",
            crate::domain::fields::shown(raw)
        ))),
    }
}

/// The `GET` of an address that only takes a form's `POST`: a refused form is shown at
/// the address it was posted to, and reloading it later (or opening it from history)
/// goes back to the page the form is on, `levels` path segments up, instead of a `405`.
pub fn reload_goes_up(levels: usize) -> axum::routing::MethodRouter<AppState> {
    axum::routing::get(move |uri: axum::http::Uri| async move {
        let mut path = uri.path().trim_end_matches('/').to_string();
        for _ in 0..levels {
            path.truncate(path.rfind('/').unwrap_or(0));
        }
        Redirect::to(if path.is_empty() { "/" } else { &path })
    })
}

/// Percent-encodes a query-string value.
pub fn url_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

pub use crate::domain::fields::FieldErrors;

/// A refused form: a service's field error goes next to its input; anything else is an
/// error page.
pub fn field_errors(
    e: crate::services::ServiceError,
) -> Result<FieldErrors, crate::web::error::AppError> {
    match e {
        crate::services::ServiceError::Field { field, message } => {
            Ok(FieldErrors(vec![(field, message)]))
        }
        other => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_messages_survive_the_cookie_round_trip() {
        let f = Flash {
            kind: FlashKind::Success,
            text: "Zoë, O'Brien; added".into(),
        };
        let back = Flash::decode(&f.encode()).unwrap();
        assert_eq!(
            (back.kind, back.text.as_str()),
            (FlashKind::Success, "Zoë, O'Brien; added")
        );
        assert!(Flash::decode("evil.zz").is_none());
        assert!(Flash::decode("script.41").is_none());
    }

    #[test]
    fn page_numbers_are_bounded() {
        assert_eq!(page_number("", 100).unwrap(), 1);
        assert_eq!(page_number(" 3 ", 100).unwrap(), 3);
        for bad in [
            "0",
            "-1",
            "x",
            "184467440737095517",
            "99999999999999999999999",
        ] {
            assert!(page_number(bad, 100).is_err(), "{bad}");
        }
    }

    #[test]
    fn navigation_shows_admin_pages_to_admins_only() {
        let admin: Vec<_> = nav_for(Role::Admin, "/admin/users")
            .into_iter()
            .map(|n| (n.href, n.active))
            .collect();
        assert!(admin.contains(&("/admin", true)), "{admin:?}");
        assert!(admin.contains(&("/", false)));
        for role in [Role::Coordinator, Role::Viewer, Role::Trainer] {
            assert!(
                nav_for(role, "/")
                    .iter()
                    .all(|n| !n.href.starts_with("/admin")),
                "{role}"
            );
        }
    }
}
