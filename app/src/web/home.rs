//! An MCT's home page and their calendar feed (issue 16 item 6).
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use super::page::{FlashKind, Page, PageContext, redirect_with_flash};
use crate::clock;
use crate::domain::role::Role;
use crate::services::home::{self, TrainerHome};
use crate::services::{ServiceError, calendar};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::CurrentUser;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: Page,
    today: chrono::NaiveDate,
    home: Option<TrainerHome>,
    /// Their own survey results over the last 12 months (quality reports).
    mine: Option<crate::services::quality::MyQuality>,
    /// The feed URL just made: shown once, in the answer to the button.
    new_feed_url: Option<String>,
}

/// The home of a signed-in MCT (`/` for the trainer role).
pub async fn trainer_page(
    state: &AppState,
    ctx: &PageContext,
    user: &CurrentUser,
    new_feed_url: Option<String>,
) -> Result<Response, AppError> {
    let today = clock::now().date_naive();
    let home = home::trainer_home(&state.db, user.id, today).await?;
    let mine = match &home {
        Some(h) => Some(
            crate::services::quality::summary(
                &state.db,
                &state.config.surveys.questions,
                h.trainer.id,
                today,
            )
            .await?,
        ),
        None => None,
    };
    let page = HomePage {
        page: ctx.page("Home"),
        today,
        home,
        mine,
        new_feed_url,
    };
    Ok(Html(page.render()?).into_response())
}

fn trainers_only(user: &CurrentUser) -> Result<(), AppError> {
    if user.role == Role::Trainer {
        Ok(())
    } else {
        Err(ServiceError::Forbidden.into())
    }
}

/// A new secret feed URL (the old one stops working), shown once on the home page.
pub async fn new_feed(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
) -> Result<Response, AppError> {
    trainers_only(&user)?;
    let token = calendar::new_feed(&state.db, user.id).await?;
    let url = state.link(&format!("/calendar/{token}.ics"));
    trainer_page(&state, &ctx, &user, Some(url)).await
}

pub async fn revoke_feed(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    trainers_only(&user)?;
    calendar::revoke_feed(&state.db, user.id).await?;
    Ok(redirect_with_flash(
        "/",
        FlashKind::Success,
        "Your calendar feed is turned off: its address no longer works.",
        state.config.server.secure_cookies,
    ))
}

/// `GET /calendar/<token>.ics`: no session, the secret in the URL is the key (calendar
/// apps cannot sign in). Anything else is a 404 that says nothing about why.
pub async fn feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let token = file.strip_suffix(".ics").ok_or(ServiceError::NotFound)?;
    let trainer = calendar::trainer_of_feed(&state.db, token).await?;
    let body = calendar::calendar_of(
        &state.db,
        &trainer,
        clock::now().date_naive(),
        &state.config.server,
    )
    .await?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline; filename=\"classes.ics\""),
    );
    Ok(response)
}
