//! The recording form: a new draft (consent is requested from every subject) and edits.
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::Form;

use super::Options;
use crate::ledger::Actor;
use crate::services::recordings::{self as svc, RecordingFields};
use crate::services::{Outcome, ServiceError, courses as course_svc, trainers as trainer_svc};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::EditorUser;
use crate::web::page::{
    FieldErrors, FlashKind, Page, PageContext, field_errors, redirect_with_flash,
};

#[derive(Template)]
#[template(path = "recordings/form.html")]
struct FormPage {
    page: Page,
    recording_id: Option<i64>,
    form: RecordingFields,
    errors: FieldErrors,
    courses: Options,
    mcts: Options,
}

async fn form_page(
    state: &AppState,
    ctx: &PageContext,
    recording_id: Option<i64>,
    form: RecordingFields,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let title = match recording_id {
        Some(_) => format!("Edit {}", form.title),
        None => "New recording".to_string(),
    };
    let page = FormPage {
        page: ctx.page(&title),
        recording_id,
        courses: course_svc::list(&state.db, "", recording_id.is_some())
            .await?
            .iter()
            .map(|c| {
                (
                    c.course_code.clone(),
                    format!(
                        "{} — {} (courseware {})",
                        c.course_code, c.title, c.courseware_version
                    ),
                )
            })
            .collect(),
        mcts: trainer_svc::all(&state.db)
            .await?
            .iter()
            .map(|t| (t.mct_id.clone(), format!("{} ({})", t.name, t.mct_id)))
            .collect(),
        form,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /recordings/new`.
pub async fn new(
    State(state): State<AppState>,
    ctx: PageContext,
    _user: EditorUser,
) -> Result<Response, AppError> {
    form_page(
        &state,
        &ctx,
        None,
        RecordingFields::default(),
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /recordings`: a new draft; consent is requested from every subject.
pub async fn create(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Form(form): Form<RecordingFields>,
) -> Result<Response, AppError> {
    let errors = match form.parse() {
        Ok(input) => {
            match svc::create(
                &state.db,
                &Actor::User(user.id),
                &input,
                &state.link("/consent"),
            )
            .await
            {
                Ok(r) => {
                    return Ok(redirect_with_flash(
                        &format!("/recordings/{}", r.id),
                        FlashKind::Success,
                        format!(
                            "{} recorded as a draft; consent was requested from every subject.",
                            r.title
                        ),
                        state.config.server.secure_cookies,
                    ));
                }
                Err(e) => field_errors(e)?,
            }
        }
        Err(errors) => errors,
    };
    form_page(
        &state,
        &ctx,
        None,
        form,
        errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// `GET /recordings/{id}/edit`.
pub async fn edit(
    State(state): State<AppState>,
    ctx: PageContext,
    _user: EditorUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let detail = svc::detail(&state.db, svc::get(&state.db, id).await?).await?;
    form_page(
        &state,
        &ctx,
        Some(id),
        RecordingFields::of(&detail),
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /recordings/{id}`.
pub async fn update(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Path(id): Path<i64>,
    Form(form): Form<RecordingFields>,
) -> Result<Response, AppError> {
    svc::get(&state.db, id).await?;
    let secure = state.config.server.secure_cookies;
    let to = format!("/recordings/{id}");
    let errors = match form.parse() {
        Ok(input) => {
            match svc::update(
                &state.db,
                &Actor::User(user.id),
                id,
                &input,
                &state.link("/consent"),
            )
            .await
            {
                Ok(Outcome::Unchanged(r)) => {
                    return Ok(redirect_with_flash(
                        &to,
                        FlashKind::Success,
                        format!("Nothing to save: {} is unchanged.", r.title),
                        secure,
                    ));
                }
                Ok(outcome) => {
                    return Ok(redirect_with_flash(
                        &to,
                        FlashKind::Success,
                        format!("{} saved.", outcome.model().title),
                        secure,
                    ));
                }
                Err(ServiceError::Refused(m)) => {
                    return Ok(redirect_with_flash(&to, FlashKind::Error, m, secure));
                }
                Err(e) => field_errors(e)?,
            }
        }
        Err(errors) => errors,
    };
    form_page(
        &state,
        &ctx,
        Some(id),
        form,
        errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}
