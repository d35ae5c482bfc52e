//! Sign in, sign out, first-run setup.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::middleware::ClientAddr;
use super::page::{FieldErrors, Page, PageContext, cookie, redirect_with_flash};
use crate::auth::extract::CurrentUser;
use crate::auth::session;
use crate::domain::account::{Email, check_new_password, parse_name};
use crate::domain::redirect::safe_next;
use crate::domain::role::Role;
use crate::error::AppError;
use crate::services::ServiceError;
use crate::services::accounts::{self, NewAccount};
use crate::services::sign_in::{SignInOutcome, sign_in};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    page: Page,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_form(
    ctx: PageContext,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    let next = safe_next(q.next.as_deref()).unwrap_or_else(|| "/".into());
    if ctx.user.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let page = LoginPage {
        page: ctx.page("Sign in"),
        email: String::new(),
        next,
        error: None,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

fn session_cookie(state: &AppState, value: &str) -> header::HeaderValue {
    cookie(
        session::COOKIE,
        value,
        None,
        state.config.server.secure_cookies,
    )
}

pub async fn login(
    State(state): State<AppState>,
    ctx: PageContext,
    Extension(ClientAddr(addr)): Extension<ClientAddr>,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let next = safe_next(Some(&form.next)).unwrap_or_else(|| "/".into());
    let error = match sign_in(&state, &form.email, &form.password, &addr).await? {
        SignInOutcome::SignedIn { session, user } => {
            // Replace any earlier session of this browser (no fixation).
            if let Some(old) = &ctx.user {
                session::destroy(&state.db, &old.session_hash).await?;
            }
            tracing::info!(user_id = user.id, "signed in");
            let mut response = Redirect::to(&next).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                session_cookie(&state, &session.cookie_value),
            );
            return Ok(response);
        }
        SignInOutcome::Invalid => {
            "The e-mail or password is wrong, or the account is inactive.".to_string()
        }
        SignInOutcome::MalformedEmail(message) => format!("The e-mail {message}."),
        SignInOutcome::Locked { until } => {
            let minutes = ((until - crate::clock::now()).num_seconds() + 59) / 60;
            format!(
                "Too many failed attempts. Sign-in is paused for this account or address; try again in {} minute{}.",
                minutes.max(1),
                if minutes > 1 { "s" } else { "" }
            )
        }
    };
    let page = LoginPage {
        page: ctx.page("Sign in"),
        email: form.email,
        next,
        error: Some(error),
    };
    Ok((
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        Html(page.render()?),
    )
        .into_response())
}

pub async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    session::destroy(&state.db, &user.session_hash).await?;
    let secure = state.config.server.secure_cookies;
    let mut response = redirect_with_flash("/login", "success", "You are signed out.", secure);
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie(session::COOKIE, "", Some(0), secure),
    );
    Ok(response)
}

#[derive(Template)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    page: Page,
    token: String,
    email: String,
    name: String,
    errors: FieldErrors,
}

/// The setup link works while no account exists and the token matches; otherwise 404,
/// so the page cannot be probed.
async fn setup_allowed(state: &AppState, token: &str) -> Result<(), AppError> {
    if state.setup_token_matches(token) && accounts::count(&state.db).await? == 0 {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

pub async fn setup_form(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    setup_allowed(&state, &token).await?;
    let page = SetupPage {
        page: ctx.page("Create the administrator"),
        token,
        email: String::new(),
        name: String::new(),
        errors: FieldErrors::default(),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

pub async fn setup(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(token): Path<String>,
    Form(form): Form<SetupForm>,
) -> Result<Response, AppError> {
    setup_allowed(&state, &token).await?;
    let mut errors = FieldErrors::default();
    let email = errors.check("email", Email::parse(&form.email));
    let name = errors.check("name", parse_name(&form.name));
    errors.check(
        "password",
        check_new_password(&form.password, &form.password_confirmation),
    );
    if let (Some(email), Some(name), true) = (email, name, errors.is_empty()) {
        let account = NewAccount {
            email,
            name,
            role: Role::Admin,
            password: form.password,
        };
        match accounts::create_first_admin(&state.db, &state.hasher, &state.sessions, account).await
        {
            Ok((user, session)) => {
                state.clear_setup_token();
                tracing::info!(
                    user_id = user.id,
                    "first administrator created; the setup link no longer works"
                );
                let secure = state.config.server.secure_cookies;
                let mut response = redirect_with_flash(
                    "/admin/users",
                    "success",
                    "Welcome! Your administrator account is ready. Add your colleagues here.",
                    secure,
                );
                response.headers_mut().append(
                    header::SET_COOKIE,
                    session_cookie(&state, &session.cookie_value),
                );
                return Ok(response);
            }
            Err(ServiceError::Field { field, message }) => errors.add(field, message),
            Err(e) => return Err(e.into()),
        }
    }
    let page = SetupPage {
        page: ctx.page("Create the administrator"),
        token,
        email: form.email,
        name: form.name,
        errors,
    };
    Ok((
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        Html(page.render()?),
    )
        .into_response())
}
