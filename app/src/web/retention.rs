//! The administrator's retention page: the settings in force, what each category will
//! erase next and when (counts and dates, no names), and a button to run it now.
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};

use super::page::{FlashKind, Page, PageContext, redirect_with_flash};
use crate::ledger::Actor;
use crate::services::retention::{self as svc, Category, Trigger};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::AdminUser;

#[derive(Template)]
#[template(path = "admin/retention.html")]
struct RetentionPage {
    page: Page,
    today: String,
    batch_size: i64,
    categories: Vec<Category>,
    /// The last run: when, by whom, what it erased.
    last_run: Option<(String, String, String)>,
}

/// `GET /admin/retention`.
pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    _admin: AdminUser,
) -> Result<Response, AppError> {
    let plan = svc::plan(&state.db, &state.config, crate::clock::now()).await?;
    let last_run = plan.last_run.map(|run| {
        let counts: serde_json::Value = serde_json::from_str(&run.summary).unwrap_or_default();
        let counts = counts
            .as_object()
            .map(|c| {
                c.iter()
                    .map(|(k, v)| format!("{}: {v}", k.replace('_', " ")))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        (
            run.ran_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            run.actor,
            counts,
        )
    });
    let page = RetentionPage {
        page: ctx.page("Retention"),
        today: plan.today.to_string(),
        batch_size: plan.batch_size,
        categories: plan.categories,
        last_run,
    };
    Ok(Html(page.render()?).into_response())
}

/// `POST /admin/retention/run`: runs retention now, then back to the page with what it did.
pub async fn run(State(state): State<AppState>, admin: AdminUser) -> Result<Response, AppError> {
    let report = svc::run(
        &state.db,
        &state.config,
        &Actor::User(admin.id),
        crate::clock::now(),
        Trigger::Now,
    )
    .await?;
    let message = report.map_or_else(|| "Nothing to run.".to_string(), |r| r.summary());
    Ok(redirect_with_flash(
        "/admin/retention",
        FlashKind::Success,
        message,
        state.config.server.secure_cookies,
    ))
}
