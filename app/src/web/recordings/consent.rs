//! Consent to a recording: asking new learners, paper answers, the presenting MCT's own,
//! and the learner's public page reached by the e-mailed token.
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::Form;
use serde::Deserialize;

use super::done;
use super::show::{Feedback, show_page};
use crate::domain::recording::{ConsentChange, RecordingStatus};
use crate::domain::role::Role;
use crate::ledger::Actor;
use crate::services::ServiceError;
use crate::services::recordings as svc;
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::{CurrentUser, EditorUser};
use crate::web::page::{FieldErrors, Page, PageContext};

/// `POST /recordings/{id}/consents/request`: asks learners added to the roster since.
pub async fn request_new(
    State(state): State<AppState>,
    user: EditorUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let result = svc::request_new_learners(
        &state.db,
        &Actor::User(user.id),
        id,
        &state.link("/consent"),
    )
    .await
    .map(|n| match n {
        0 => "Every learner of the source class has been asked already.".to_string(),
        n => format!(
            "Consent requested from {n} new learner{}.",
            if n == 1 { "" } else { "s" }
        ),
    });
    done(&state, id, result)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PaperForm {
    change: String,
    note: String,
}

/// `POST /recordings/{id}/consents/{consent}/paper`: consent given (or declined, or
/// revoked) on paper, with where the paper is kept.
pub async fn paper(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Path((id, consent)): Path<(i64, i64)>,
    Form(form): Form<PaperForm>,
) -> Result<Response, AppError> {
    let change = match form.change.parse::<ConsentChange>() {
        Ok(c) => c,
        Err(m) => return Err(AppError::BadRequest(format!("change: {m}"))),
    };
    match svc::record_paper(
        &state.db,
        &Actor::User(user.id),
        id,
        consent,
        change,
        &form.note,
    )
    .await
    {
        Err(ServiceError::Field { field, message }) => {
            svc::get(&state.db, id).await?;
            let feedback = Feedback {
                errors: FieldErrors(vec![(field, message)]),
                consent,
                ..Default::default()
            };
            show_page(
                &state,
                &ctx,
                &user,
                id,
                feedback,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        other => done(
            &state,
            id,
            other.map(|c| format!("Paper consent recorded: {}.", c.status)),
        ),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ChangeForm {
    change: String,
}

/// `POST /recordings/{id}/consent`: the presenting MCT grants or revokes their own.
pub async fn own_consent(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<ChangeForm>,
) -> Result<Response, AppError> {
    if user.role != Role::Trainer {
        return Err(AppError::Forbidden);
    }
    let change = form
        .change
        .parse::<ConsentChange>()
        .map_err(|m| AppError::BadRequest(format!("change: {m}")))?;
    let result = svc::answer_as_presenter(&state.db, &user.caller(), id, change)
        .await
        .map(|c| format!("Your consent is recorded: {}.", c.status));
    done(&state, id, result)
}

#[derive(Template)]
#[template(path = "recordings/consent.html")]
struct ConsentPage {
    page: Page,
    token: String,
    link: svc::ConsentLink,
    status: &'static str,
    withdrawn: bool,
    message: String,
}

fn consent_page(
    ctx: &PageContext,
    token: &str,
    link: svc::ConsentLink,
    message: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = ConsentPage {
        page: ctx.page("Your consent to a recording"),
        token: token.to_string(),
        status: link.status.id(),
        withdrawn: link.recording_status == RecordingStatus::Withdrawn,
        link,
        message,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /consent/{token}`: what is recorded and how it is used; grant, decline, revoke.
pub async fn consent_show(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let link = svc::open_link(&state.db, &token).await?;
    consent_page(&ctx, &token, link, String::new(), StatusCode::OK)
}

/// `POST /consent/{token}`: the learner's answer (actor `learner:<enrollment id>`).
pub async fn consent_answer(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(token): Path<String>,
    Form(form): Form<ChangeForm>,
) -> Result<Response, AppError> {
    let link = svc::open_link(&state.db, &token).await?;
    let change = match form.change.parse::<ConsentChange>() {
        Ok(c) => c,
        Err(_) => {
            return consent_page(
                &ctx,
                &token,
                link,
                "Choose one of the buttons below.".into(),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    match svc::answer_by_link(&state.db, &token, change).await {
        Ok(link) => {
            let message = match change {
                ConsentChange::Grant => "Thank you: your consent is recorded.",
                ConsentChange::Decline => {
                    "Your answer is recorded: the recording will not be published with you in it."
                }
                ConsentChange::Revoke => {
                    "Your consent is revoked: we stop using the recording until you are no longer in it."
                }
            };
            consent_page(&ctx, &token, link, message.into(), StatusCode::OK)
        }
        Err(ServiceError::Refused(m)) => consent_page(&ctx, &token, link, m, StatusCode::CONFLICT),
        Err(e) => Err(e.into()),
    }
}
