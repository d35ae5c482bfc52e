//! Sign in, sign out, first-run setup.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::middleware::ClientAddr;
use super::page::{
    FieldErrors, FlashKind, Page, PageContext, cookie, read_cookie, redirect_with_flash,
};
use crate::auth::{oidc, session};
use crate::domain::account::{Email, check_new_password, echo_email, parse_name};
use crate::domain::redirect::safe_next;
use crate::domain::role::Role;
use crate::services::ServiceError;
use crate::services::accounts::{self, NewAccount};
use crate::services::sign_in::{SignInOutcome, VerifiedSignInOutcome, sign_in, sign_in_verified};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::CurrentUser;

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    page: Page,
    email: String,
    next: String,
    error: Option<String>,
    /// The single sign-on button's text, when a provider is configured.
    sso_label: Option<String>,
    /// false: the password form is only for break-glass admins, folded away.
    password_sign_in: bool,
}

impl LoginPage {
    fn new(state: &AppState, ctx: &PageContext, email: String, next: String) -> LoginPage {
        LoginPage {
            page: ctx.page("Sign in"),
            email,
            next,
            error: None,
            sso_label: state.oidc.as_ref().map(|p| p.button_label().to_string()),
            password_sign_in: state.config.oidc.password_sign_in,
        }
    }

    /// The page again with `error`, answered with `status`.
    fn refused(mut self, status: StatusCode, error: String) -> Result<Response, AppError> {
        self.error = Some(error);
        Ok((status, Html(self.render()?)).into_response())
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_form(
    State(state): State<AppState>,
    ctx: PageContext,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    let next = safe_next(q.next.as_deref()).unwrap_or_else(|| "/".into());
    if ctx.user.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let page = LoginPage::new(&state, &ctx, String::new(), next);
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
    let error = match sign_in(&state.services(), &form.email, &form.password, &addr).await? {
        SignInOutcome::SignedIn { session, user } => {
            tracing::info!(user_id = user.id, method = "password", "signed in");
            return signed_in(&state, &ctx, &session, &next).await;
        }
        SignInOutcome::PasswordOff => format!(
            "Password sign-in is turned off for this account; use \"{}\".",
            state.config.oidc.button_label
        ),
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
    LoginPage::new(&state, &ctx, echo_email(&form.email), next)
        .refused(StatusCode::UNPROCESSABLE_ENTITY, error)
}

/// The answer to a successful sign-in of any kind: a fresh session replacing any earlier
/// one of this browser (no fixation), then on to `next`.
async fn signed_in(
    state: &AppState,
    ctx: &PageContext,
    session: &session::NewSession,
    next: &str,
) -> Result<Response, AppError> {
    if let Some(old) = &ctx.user {
        session::destroy(&state.db, &old.session_hash).await?;
    }
    let mut response = Redirect::to(next).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session_cookie(state, &session.cookie_value),
    );
    Ok(response)
}

/// `GET /auth/oidc/start`: off to the provider, the unfinished sign-in sealed in a cookie.
pub async fn oidc_start(
    State(state): State<AppState>,
    ctx: PageContext,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    let provider = state.oidc.as_ref().ok_or(AppError::NotFound)?;
    let next = safe_next(q.next.as_deref()).unwrap_or_else(|| "/".into());
    match provider.start(next.clone(), crate::clock::now()).await {
        Ok((url, flow)) => {
            let mut response = Redirect::to(&url).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                cookie(
                    oidc::COOKIE,
                    &flow.seal(&state.secret),
                    Some(oidc::FLOW_MINUTES * 60),
                    state.config.server.secure_cookies,
                ),
            );
            Ok(response)
        }
        Err(error) => oidc_refused(&state, &ctx, next, error),
    }
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/oidc/callback`: where the provider sends the browser back.
pub async fn oidc_callback(
    State(state): State<AppState>,
    ctx: PageContext,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, AppError> {
    let provider = state.oidc.as_ref().ok_or(AppError::NotFound)?;
    let now = crate::clock::now();
    let flow = read_cookie(&headers, oidc::COOKIE)
        .and_then(|sealed| oidc::Flow::open(&state.secret, sealed, now));
    let next = flow
        .as_ref()
        .map_or_else(|| "/".to_string(), |f| f.next.clone());
    let outcome = match (q.error, flow) {
        (Some(code), _) => Err(oidc::OidcError::refused(
            q.error_description.as_deref().unwrap_or(&code),
        )),
        (None, None) => Err(oidc::OidcError::FlowInvalid),
        (None, Some(flow)) => provider.finish(flow, &q.state, &q.code, now).await,
    };
    let mut response = match outcome {
        Err(error) => oidc_refused(&state, &ctx, next, error)?,
        Ok(identity) => match sign_in_verified(&state.services(), &identity.email).await? {
            VerifiedSignInOutcome::SignedIn { user, session } => {
                tracing::info!(user_id = user.id, method = "oidc", "signed in");
                signed_in(&state, &ctx, &session, &identity.next).await?
            }
            VerifiedSignInOutcome::NoAccount => {
                tracing::info!(subject = %identity.subject, "single sign-on for an e-mail with no active account");
                LoginPage::new(&state, &ctx, String::new(), next).refused(
                    StatusCode::FORBIDDEN,
                    format!(
                        "No active tsp-ledger account uses {}. Ask an administrator to invite you with that address.",
                        identity.email
                    ),
                )?
            }
        },
    };
    // The flow is spent either way.
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie(
            oidc::COOKIE,
            "",
            Some(0),
            state.config.server.secure_cookies,
        ),
    );
    Ok(response)
}

fn oidc_refused(
    state: &AppState,
    ctx: &PageContext,
    next: String,
    error: oidc::OidcError,
) -> Result<Response, AppError> {
    use oidc::OidcError as E;
    let status = match &error {
        E::Unreachable(detail) => {
            tracing::warn!(%detail, "single sign-on provider unreachable");
            StatusCode::BAD_GATEWAY
        }
        E::TokenInvalid(detail) => {
            tracing::warn!(%detail, "single sign-on ID token refused");
            StatusCode::BAD_REQUEST
        }
        E::FlowInvalid | E::TokenExpired => StatusCode::BAD_REQUEST,
        E::Refused(_) | E::EmailNotVerified => StatusCode::FORBIDDEN,
    };
    LoginPage::new(state, ctx, String::new(), next).refused(status, error.to_string())
}

pub async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    session::destroy(&state.db, &user.session_hash).await?;
    let secure = state.config.server.secure_cookies;
    let mut response =
        redirect_with_flash("/login", FlashKind::Success, "You are signed out.", secure);
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
                    FlashKind::Success,
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
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
}
