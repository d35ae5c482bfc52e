//! The administrator's organisation settings page.
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::Form;

use super::page::{FieldErrors, FlashKind, Page, PageContext, redirect_with_flash};
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
}

fn render(
    ctx: &PageContext,
    form: SettingsFields,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = SettingsPage {
        page: ctx.page("Settings"),
        form,
        errors,
        months: (1..=12)
            .map(|m| (m.to_string(), MONTHS[m - 1].to_string()))
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
            Ok(redirect_with_flash(
                "/admin/settings",
                FlashKind::Success,
                text,
                state.config.server.secure_cookies,
            ))
        }
        Err(errors) => render(&ctx, form, errors, StatusCode::UNPROCESSABLE_ENTITY),
    }
}
