//! Takedowns of a recording: recording Microsoft's content-review outcome and handling it
//! (complete, which withdraws the recording; dispute; reopen). Beside the takedown
//! service; both answer on the recording page.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::Form;
use sea_orm::EntityTrait;
use serde::Deserialize;

use super::recordings::{Feedback, done, show_page, today};
use crate::domain::recording::TakedownStatus;
use crate::ledger::Actor;
use crate::services::ServiceError;
use crate::services::recordings as recording_svc;
use crate::services::takedowns::{self as svc, TakedownFields};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::EditorUser;
use crate::web::page::{FlashKind, PageContext, field_errors, redirect_with_flash};

/// `POST /recordings/{id}/takedowns`: records Microsoft's content-review outcome.
pub async fn record(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Path(id): Path<i64>,
    Form(form): Form<TakedownFields>,
) -> Result<Response, AppError> {
    recording_svc::get(&state.db, id).await?;
    let errors = match form.parse() {
        Ok(input) => match svc::record(&state.db, &Actor::User(user.id), id, &input).await {
            Ok(t) => {
                return done(
                    &state,
                    id,
                    Ok(format!(
                        "Takedown {} recorded; it is due on {}.",
                        t.reference, t.due_on
                    )),
                );
            }
            Err(e) => field_errors(e)?,
        },
        Err(errors) => errors,
    };
    let feedback = Feedback {
        errors,
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

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatusForm {
    status: String,
    notes: String,
}

/// `POST /takedowns/{id}/status`: complete (withdraws the recording), dispute, reopen.
pub async fn change_status(
    State(state): State<AppState>,
    user: EditorUser,
    Path(id): Path<i64>,
    Form(form): Form<StatusForm>,
) -> Result<Response, AppError> {
    let to = form
        .status
        .parse::<TakedownStatus>()
        .map_err(|m| AppError::BadRequest(format!("status: {m}")))?;
    let result = svc::change_status(
        &state.db,
        &Actor::User(user.id),
        id,
        to,
        today(),
        &form.notes,
    )
    .await;
    let secure = state.config.server.secure_cookies;
    match result {
        Ok(changed) => {
            let to_page = format!("/recordings/{}", changed.recording.id);
            let text = match to {
                TakedownStatus::Completed if changed.classes.is_empty() => format!(
                    "Takedown {} completed: {} is withdrawn. No recorded class used it.",
                    changed.takedown.reference, changed.recording.title
                ),
                TakedownStatus::Completed => format!(
                    "Takedown {} completed: {} is withdrawn. Recorded classes that used it: {}.",
                    changed.takedown.reference,
                    changed.recording.title,
                    changed
                        .classes
                        .iter()
                        .map(|c| c.class_ref.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                TakedownStatus::Disputed => {
                    format!("Takedown {} is disputed.", changed.takedown.reference)
                }
                TakedownStatus::Open => {
                    format!("Takedown {} is open again.", changed.takedown.reference)
                }
            };
            Ok(redirect_with_flash(
                &to_page,
                FlashKind::Success,
                text,
                secure,
            ))
        }
        Err(ServiceError::Refused(m)) | Err(ServiceError::Field { message: m, .. }) => {
            let takedown = entity::takedowns::Entity::find_by_id(id)
                .one(&state.db)
                .await
                .map_err(ServiceError::from)?
                .ok_or(AppError::NotFound)?;
            Ok(redirect_with_flash(
                &format!("/recordings/{}", takedown.recording_id),
                FlashKind::Error,
                m,
                secure,
            ))
        }
        Err(e) => Err(e.into()),
    }
}
