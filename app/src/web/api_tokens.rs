//! Administrator page for API tokens: list, create (the secret is shown once, in the
//! response to the form), revoke.
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use entity::{api_tokens, users};
use serde::Deserialize;

use super::page::{FieldErrors, FlashKind, Page, PageContext, field_errors, redirect_with_flash};
use crate::ledger::Actor;
use crate::services::{ServiceError, api_tokens as svc};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::AdminUser;

pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_by: String,
    pub created: String,
    pub last_used: String,
    /// When it was revoked; `None` while it works.
    pub revoked: Option<String>,
}

const MINUTE: &str = "%Y-%m-%d %H:%M UTC";

impl TokenRow {
    fn of((t, user): (api_tokens::Model, Option<users::Model>)) -> TokenRow {
        TokenRow {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created_by: user.map_or_else(|| format!("user {}", t.created_by), |u| u.name),
            created: t.created_at.format(MINUTE).to_string(),
            last_used: t
                .last_used_at
                .map_or_else(|| "never".into(), |at| at.format(MINUTE).to_string()),
            revoked: t.revoked_at.map(|at| at.format(MINUTE).to_string()),
        }
    }
}

/// The token just created: shown once, on the page answering the form.
pub struct NewSecret {
    pub name: String,
    pub secret: String,
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    page: Page,
    tokens: Vec<TokenRow>,
    form: TokenForm,
    errors: FieldErrors,
    created: Option<NewSecret>,
    max_name: usize,
}

#[derive(Deserialize, Default)]
pub struct TokenForm {
    #[serde(default)]
    pub name: String,
}

async fn render(
    state: &AppState,
    ctx: &PageContext,
    status: StatusCode,
    form: TokenForm,
    errors: FieldErrors,
    created: Option<NewSecret>,
) -> Result<Response, AppError> {
    let tokens = svc::list(&state.db)
        .await?
        .into_iter()
        .map(TokenRow::of)
        .collect();
    let page = TokensPage {
        page: ctx.page("API tokens"),
        tokens,
        form,
        errors,
        created,
        max_name: svc::MAX_NAME,
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    _admin: AdminUser,
) -> Result<Response, AppError> {
    render(
        &state,
        &ctx,
        StatusCode::OK,
        TokenForm::default(),
        FieldErrors::default(),
        None,
    )
    .await
}

/// Creates a token and answers with the page itself (not a redirect), so the secret
/// travels only in this one response body: never in a flash cookie or a URL.
pub async fn create(
    State(state): State<AppState>,
    ctx: PageContext,
    admin: AdminUser,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    match svc::create(&state.db, admin.id, &form.name).await {
        Ok(created) => {
            let secret = NewSecret {
                name: created.token.name,
                secret: created.secret,
            };
            render(
                &state,
                &ctx,
                StatusCode::OK,
                TokenForm::default(),
                FieldErrors::default(),
                Some(secret),
            )
            .await
        }
        Err(e) => {
            let errors = field_errors(e)?;
            render(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
                None,
            )
            .await
        }
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let secure = state.config.server.secure_cookies;
    match svc::revoke(&state.db, &Actor::User(admin.id), id).await {
        Ok(token) => Ok(redirect_with_flash(
            "/admin/tokens",
            FlashKind::Success,
            format!(
                "The token “{}” ({}…) is revoked: it no longer opens the API.",
                token.name, token.prefix
            ),
            secure,
        )),
        Err(ServiceError::Refused(message)) => Ok(redirect_with_flash(
            "/admin/tokens",
            FlashKind::Error,
            message,
            secure,
        )),
        Err(e) => Err(e.into()),
    }
}
