//! The To do page: what needs doing, before anyone asks (issue 16 item 2).
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};

use super::page::{Page, PageContext};
use crate::clock;
use crate::domain::todo::ConfirmationChase;
use crate::services::todo::{self, Todo};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::ReaderUser;

#[derive(Template)]
#[template(path = "todo.html")]
struct TodoPage {
    page: Page,
    today: chrono::NaiveDate,
    todo: Todo,
    reminder_days: i64,
    escalation_days: i64,
    code_days: i64,
}

impl TodoPage {
    fn chase_label(&self, chase: &ConfirmationChase, reminded: &bool) -> &'static str {
        match (chase, reminded) {
            (ConfirmationChase::TellCoordinators, true) => "MCT reminded; coordinators told",
            (_, true) => "MCT reminded",
            (_, false) => "reminder due",
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    ctx: PageContext,
    _user: ReaderUser,
) -> Result<Response, AppError> {
    let today = clock::now().date_naive();
    let cfg = &state.config.todo;
    let todo = todo::overview(&state.db, today, &cfg.nudges()).await?;
    let page = TodoPage {
        page: ctx.page("To do"),
        today,
        todo,
        reminder_days: cfg.confirm_reminder_days,
        escalation_days: cfg.confirm_escalation_days,
        code_days: cfg.code_reminder_days,
    };
    Ok(Html(page.render()?).into_response())
}
