//! Password recovery pages (issue 13 item 1): "Forgot password?" from the sign-in page,
//! and the reset form the e-mailed link opens. Public, CSRF-protected like the survey
//! form (an HMAC of the browser's nonce).
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::middleware::ClientAddr;
use super::page::{FieldErrors, FlashKind, Page, PageContext, redirect_with_flash};
use crate::domain::account::Email;
use crate::services::{ServiceError, password_resets as svc};
use crate::state::AppState;
use crate::web::error::AppError;

#[derive(Template)]
#[template(path = "auth/forgot.html")]
struct ForgotPage {
    page: Page,
    email: String,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "auth/forgot_sent.html")]
struct SentPage {
    page: Page,
    email: String,
    minutes: i64,
}

/// `GET /password/forgot`.
pub async fn forgot_form(ctx: PageContext) -> Result<Response, AppError> {
    let page = ForgotPage {
        page: ctx.page("Forgot your password?"),
        email: String::new(),
        errors: FieldErrors::default(),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// `POST /password/forgot`: the same page whether or not an account uses the address
/// (and whether or not the request was over the hourly allowance). Only the e-mail's
/// shape is checked in the open.
pub async fn request(
    State(state): State<AppState>,
    ctx: PageContext,
    Extension(ClientAddr(addr)): Extension<ClientAddr>,
    Form(form): Form<ForgotForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    let Some(email) = errors.check("email", Email::parse(&form.email)) else {
        let page = ForgotPage {
            page: ctx.page("Forgot your password?"),
            email: crate::domain::account::echo_email(&form.email),
            errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
    };
    svc::request(&state.services(), email.as_str(), &addr).await?;
    let page = SentPage {
        page: ctx.page("Check your e-mail"),
        email: email.as_str().to_string(),
        minutes: state.config.security.reset_link_minutes.max(1),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "auth/reset.html")]
struct ResetPage {
    page: Page,
    token: String,
    email: String,
    errors: FieldErrors,
}

/// `GET /password/reset/{token}`: the form, or 404 for an unknown, spent or expired link.
pub async fn reset_form(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let email = svc::email_for(&state.db, &token)
        .await?
        .ok_or(AppError::NotFound)?;
    let page = ResetPage {
        page: ctx.page("Choose a new password"),
        token,
        email,
        errors: FieldErrors::default(),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirmation: String,
}

/// `POST /password/reset/{token}`: sets the password, ends every session of the user and
/// sends them to sign in with it.
pub async fn reset(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(token): Path<String>,
    Form(form): Form<ResetForm>,
) -> Result<Response, AppError> {
    let result = svc::reset(
        &state.db,
        &state.hasher,
        &token,
        &form.new_password,
        &form.new_password_confirmation,
    )
    .await;
    match result {
        Ok(user) => {
            tracing::info!(user_id = user.id, "password reset with an e-mailed link");
            Ok(redirect_with_flash(
                "/login",
                FlashKind::Success,
                "Your password was changed and every session signed out. Sign in with the new password.",
                state.config.server.secure_cookies,
            ))
        }
        Err(ServiceError::NotFound) => Err(AppError::NotFound),
        Err(ServiceError::Field { field, message }) => {
            let mut errors = FieldErrors::default();
            errors.add(field, message);
            let email = svc::email_for(&state.db, &token)
                .await?
                .ok_or(AppError::NotFound)?;
            let page = ResetPage {
                page: ctx.page("Choose a new password"),
                token,
                email,
                errors,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
