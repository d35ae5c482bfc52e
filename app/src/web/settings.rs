//! The administrator's organisation settings page, the logo's upload and removal, and the
//! logo itself (`/brand/logo`, public: learner pages and the sign-in page show it).
use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::Form;

use super::page::{FieldErrors, FlashKind, Page, PageContext, field_errors, redirect_with_flash};
use crate::domain::brand::{LogoFormat, MAX_LOGO_BYTES, check_logo_size};
use crate::ledger::Actor;
use crate::services::Outcome;
use crate::services::settings::{self as svc, SettingsFields};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::AdminUser;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    page: Page,
    form: SettingsFields,
    errors: FieldErrors,
    months: Vec<(String, String)>,
    /// The rules profiles the dashboard may show.
    profiles: Vec<(String, String)>,
    /// The logo's address when one is set (its preview), and a refused upload's message.
    logo: Option<String>,
    logo_errors: FieldErrors,
}

fn render(
    ctx: &PageContext,
    form: SettingsFields,
    errors: FieldErrors,
    logo_errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = SettingsPage {
        page: ctx.page("Settings"),
        logo: ctx.brand.logo_url(),
        logo_errors,
        form,
        errors,
        months: (1..=12)
            .map(|m| (m.to_string(), MONTHS[m - 1].to_string()))
            .collect(),
        profiles: crate::domain::learning_partner::DashboardProfiles::ALL
            .iter()
            .map(|p| (p.id().to_string(), p.label().to_string()))
            .collect(),
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    _admin: AdminUser,
) -> Result<Response, AppError> {
    let current = svc::get(&state.db).await?;
    render(
        &ctx,
        SettingsFields::of(&current),
        FieldErrors::default(),
        FieldErrors::default(),
        StatusCode::OK,
    )
}

pub async fn update(
    State(state): State<AppState>,
    ctx: PageContext,
    admin: AdminUser,
    Form(form): Form<SettingsFields>,
) -> Result<Response, AppError> {
    match form.parse() {
        Ok(new) => {
            let text = match svc::update(&state.db, &Actor::User(admin.id), &new).await? {
                Outcome::Unchanged(_) => "Nothing changed.",
                _ => "Settings saved.",
            };
            state.brand.forget();
            Ok(redirect_with_flash(
                "/admin/settings",
                FlashKind::Success,
                text,
                state.config.server.secure_cookies,
            ))
        }
        Err(errors) => render(
            &ctx,
            form,
            errors,
            FieldErrors::default(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    }
}

/// The `logo` part of an upload, measured as it arrives: a file over the limit is
/// refused by its size without being held whole. Other parts (the token) are skipped.
async fn logo_part(mut multipart: Multipart) -> Result<Result<Vec<u8>, String>, AppError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        AppError::BadRequest(format!(
            "the upload could not be read: {}. Nothing was saved.",
            e.body_text()
        ))
    };
    let mut bytes = Vec::new();
    let mut size = 0usize;
    while let Some(mut part) = multipart.next_field().await.map_err(bad)? {
        if part.name() != Some("logo") {
            continue;
        }
        while let Some(chunk) = part.chunk().await.map_err(bad)? {
            size += chunk.len();
            if size <= MAX_LOGO_BYTES {
                bytes.extend_from_slice(&chunk);
            }
        }
    }
    Ok(check_logo_size(size).map(|()| bytes))
}

/// `POST /admin/settings/logo`: a PNG or JPEG of at most 256 KB; a refused file is shown
/// under the logo field (422) and changes nothing.
pub async fn upload_logo(
    State(state): State<AppState>,
    ctx: PageContext,
    admin: AdminUser,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let refused = match logo_part(multipart).await? {
        Ok(bytes) => match svc::set_logo(&state.db, &Actor::User(admin.id), bytes).await {
            Ok(outcome) => {
                state.brand.forget();
                let text = match outcome {
                    Outcome::Unchanged(_) => "That logo is already the one shown.",
                    _ => "Logo saved: pages and new e-mails show it.",
                };
                return Ok(redirect_with_flash(
                    "/admin/settings",
                    FlashKind::Success,
                    text,
                    state.config.server.secure_cookies,
                ));
            }
            Err(e) => field_errors(e)?,
        },
        Err(message) => FieldErrors(vec![("logo", message)]),
    };
    let current = svc::get(&state.db).await?;
    render(
        &ctx,
        SettingsFields::of(&current),
        FieldErrors::default(),
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

/// `POST /admin/settings/logo/remove`: pages and new e-mails show the name alone again.
pub async fn remove_logo(
    State(state): State<AppState>,
    admin: AdminUser,
) -> Result<Response, AppError> {
    let text = match svc::remove_logo(&state.db, &Actor::User(admin.id)).await? {
        Outcome::Unchanged(_) => "There is no logo to remove.",
        _ => "Logo removed.",
    };
    state.brand.forget();
    Ok(redirect_with_flash(
        "/admin/settings",
        FlashKind::Success,
        text,
        state.config.server.secure_cookies,
    ))
}

/// The logo's own policy: nothing in it may load or run (an image never does; this holds
/// should a browser be led to open it as a document).
const LOGO_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'";

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct LogoQuery {
    /// The version a page linked (the start of the logo's SHA-256).
    v: String,
}

/// `GET /brand/logo`: the organisation's logo, to anybody (learner pages show it), with
/// its SHA-256 as ETag. A versioned link (`?v=`, as the pages write it) is cached for a
/// year, since a new logo gets a new link; the bare address is revalidated each time.
pub async fn logo(
    State(state): State<AppState>,
    Query(q): Query<LogoQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let logo = crate::mail::brand::logo(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let etag = format!("\"{}\"", logo.sha256);
    let cache = if !q.v.is_empty() && logo.sha256.starts_with(&q.v) {
        "public, max-age=31536000, immutable"
    } else {
        "public, no-cache"
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let common = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, cache.to_string()),
        (header::CONTENT_SECURITY_POLICY, LOGO_CSP.to_string()),
    ];
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let extension = match logo.content_type {
        LogoFormat::Png => "png",
        LogoFormat::Jpeg => "jpg",
    };
    Ok((
        common,
        [
            (header::CONTENT_TYPE, logo.content_type.id().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"logo.{extension}\""),
            ),
        ],
        logo.bytes,
    )
        .into_response())
}
