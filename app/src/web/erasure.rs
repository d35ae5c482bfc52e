//! The administrator's learner-erasure page (SPEC §6): find a learner's enrollments by
//! e-mail, see what erasure will do, erase with a reason and an explicit confirmation.
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::page::{FieldErrors, FlashKind, Page, PageContext, field_errors, redirect_with_flash};
use crate::ledger::Actor;
use crate::services::erasure::{self as svc, Found};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::AdminUser;

/// One enrollment of the learner, as the page lists it.
pub struct Line {
    pub class_id: i64,
    pub class_ref: String,
    pub course: String,
    pub dates: String,
    pub attended: bool,
    pub code: String,
    pub survey: String,
    pub emails: String,
}

impl Line {
    fn of(f: &Found) -> Line {
        let code = match &f.code {
            None => "—".to_string(),
            Some(c) if f.code_link_open() => format!("{} (page link cancelled)", c.code),
            Some(c) => format!("{} (no open link)", c.code),
        };
        let survey = match (&f.invitation, &f.response) {
            (Some(_), _) if f.survey_link_open() => "link cancelled; answers kept".to_string(),
            (_, Some(_)) => "answers kept".to_string(),
            (Some(_), None) => "link already cancelled".to_string(),
            (None, None) => "—".to_string(),
        };
        let emails = match (f.unsent.len(), f.sent.len()) {
            (0, 0) => "—".to_string(),
            (u, s) => format!("{u} unsent dropped, {s} sent re-addressed"),
        };
        Line {
            class_id: f.class.id,
            class_ref: f.class.class_ref.clone(),
            course: format!("{} {}", f.course.course_code, f.course.title),
            dates: f.dates(),
            attended: f.enrollment.attended,
            code,
            survey,
            emails,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/erasure.html")]
struct ErasurePage {
    page: Page,
    form: ErasureForm,
    errors: FieldErrors,
    /// The learner's enrollments, once an e-mail was found.
    lines: Vec<Line>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ErasureForm {
    pub email: String,
    pub reason: String,
    /// The confirmation box (`true` when ticked).
    pub confirm: String,
}

async fn render(
    state: &AppState,
    ctx: &PageContext,
    status: StatusCode,
    form: ErasureForm,
    mut errors: FieldErrors,
) -> Result<Response, AppError> {
    let mut lines = vec![];
    if !form.email.trim().is_empty() {
        match svc::find(&state.db, &form.email).await {
            Ok(found) => lines = found.iter().map(Line::of).collect(),
            Err(e) => {
                let found = field_errors(e)?;
                if errors.get("email").is_none() {
                    errors.0.extend(found.0);
                }
            }
        }
    }
    let page = ErasurePage {
        page: ctx.page("Learner erasure"),
        form,
        errors,
        lines,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /admin/erasure[?email=…]`: the search, and the learner's enrollments when found.
pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    _admin: AdminUser,
    Query(q): Query<ErasureForm>,
) -> Result<Response, AppError> {
    let form = ErasureForm {
        email: q.email,
        ..Default::default()
    };
    render(&state, &ctx, StatusCode::OK, form, FieldErrors::default()).await
}

/// `POST /admin/erasure`: erases, or re-renders the page with the refusal (nothing changed).
pub async fn erase(
    State(state): State<AppState>,
    ctx: PageContext,
    admin: AdminUser,
    Form(form): Form<ErasureForm>,
) -> Result<Response, AppError> {
    match svc::erase(
        &state.db,
        &Actor::User(admin.id),
        &form.email,
        &form.reason,
        &form.confirm,
    )
    .await
    {
        // The flash names no e-mail: it travels in a cookie.
        Ok(done) => Ok(redirect_with_flash(
            "/admin/erasure",
            FlashKind::Success,
            done.summary(),
            state.config.server.secure_cookies,
        )),
        Err(e) => {
            let errors = field_errors(e)?;
            render(&state, &ctx, StatusCode::UNPROCESSABLE_ENTITY, form, errors).await
        }
    }
}
