//! A user's own account: see it, change the password.
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::middleware::ClientAddr;
use super::page::{FieldErrors, FlashKind, Page, PageContext, redirect_with_flash};
use crate::services::{ServiceError, accounts};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::CurrentUser;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    page: Page,
    email: String,
    role: &'static str,
    errors: FieldErrors,
}

fn render(ctx: &PageContext, user: &CurrentUser, errors: FieldErrors) -> Result<String, AppError> {
    Ok(AccountPage {
        page: ctx.page("Your account"),
        email: user.email.clone(),
        role: user.role.label(),
        errors,
    }
    .render()?)
}

pub async fn show(ctx: PageContext, user: CurrentUser) -> Result<Response, AppError> {
    Ok(Html(render(&ctx, &user, FieldErrors::default())?).into_response())
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirmation: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    Extension(ClientAddr(addr)): Extension<ClientAddr>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let change = accounts::PasswordChange {
        user_id: user.id,
        keep_session: &user.session_hash,
        client_addr: &addr,
        current: &form.current_password,
        new: &form.new_password,
        confirmation: &form.new_password_confirmation,
    };
    let result = accounts::change_password(&state.services(), change).await;
    match result {
        Ok(()) => Ok(redirect_with_flash(
            "/account",
            FlashKind::Success,
            "Password changed. Your other sessions were signed out.",
            state.config.server.secure_cookies,
        )),
        Err(ServiceError::Field { field, message }) => {
            let mut errors = FieldErrors::default();
            errors.add(field, message);
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(render(&ctx, &user, errors)?),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}
