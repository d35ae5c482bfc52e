//! The roster of a class: adding and removing learners, attendance, importing a pasted
//! or uploaded roster, and its CSV export.
use std::collections::HashSet;

use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::Form;
use serde::Deserialize;

use super::ReasonForm;
use super::show::{Feedback, class_page_outcome, show_page};
use crate::domain::delivery::amendment_reason;
use crate::ledger::Actor;
use crate::services::classes as svc;
use crate::services::exports;
use crate::services::imports::{self, ClassRoster, ImportFailure, Kind};
use crate::services::rosters::{self, EnrollmentFields};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::{CurrentUser, EditorUser};
use crate::web::page::{
    FieldErrors, FlashKind, PageContext, csv_download, field_errors, redirect_with_flash,
};
use crate::web::upload;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AddLearnerForm {
    #[serde(flatten)]
    fields: EnrollmentFields,
    reason: String,
}

pub async fn add_learner(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Path(id): Path<i64>,
    Form(mut form): Form<AddLearnerForm>,
) -> Result<Response, AppError> {
    if form.fields.attended.is_empty() {
        form.fields.attended = "false".into();
    }
    let errors = match form.fields.parse() {
        Ok(input) => {
            match rosters::add(&state.db, &Actor::User(user.id), id, &input, &form.reason).await {
                Ok(_) => {
                    return Ok(redirect_with_flash(
                        &format!("/classes/{id}#roster"),
                        FlashKind::Success,
                        format!("{} added to the roster.", input.learner_name),
                        state.config.server.secure_cookies,
                    ));
                }
                Err(e) => field_errors(e)?,
            }
        }
        Err(errors) => errors,
    };
    let feedback = Feedback {
        errors,
        add: form.fields,
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

pub async fn remove_learner(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Path((id, enrollment)): Path<(i64, i64)>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, AppError> {
    let result = rosters::remove(
        &state.db,
        &Actor::User(user.id),
        id,
        enrollment,
        &form.reason,
    )
    .await
    .map(|()| "Learner removed from the roster.".to_string());
    class_page_outcome(&state, &ctx, &user, id, "#roster", result).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AttendanceForm {
    /// Enrollment ids ticked as present (repeated key).
    attended: Vec<i64>,
    /// The lines the form showed (one roster page); none: the ticks are for the whole
    /// roster.
    shown: Vec<i64>,
    reason: String,
}

pub async fn attendance(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Path(id): Path<i64>,
    Form(form): Form<AttendanceForm>,
) -> Result<Response, AppError> {
    let present: HashSet<i64> = form.attended.into_iter().collect();
    let shown: HashSet<i64> = form.shown.into_iter().collect();
    let lines = if shown.is_empty() {
        rosters::Lines::All
    } else {
        rosters::Lines::Only(&shown)
    };
    let actor = Actor::User(user.id);
    let result = rosters::set_attendance(&state.db, &actor, id, lines, &present, &form.reason)
        .await
        .map(|changed| format!("Attendance saved ({changed} changed)."));
    class_page_outcome(&state, &ctx, &user, id, "#roster", result).await
}

/// A roster pasted into the class page or uploaded there: the `roster` import for this
/// class (`class_ref` may be left out).
pub async fn import_roster(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Path(id): Path<i64>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let class = svc::get(&state.db, id).await?;
    let upload = upload::read_spooled(&state, multipart).await?;
    let actor = Actor::User(user.id);
    let by = imports::ImportBy::user(user.role, "");
    // On a confirmed class the import is an amendment: the reason is required.
    let reason = match amendment_reason(class.status, upload.text("reason")) {
        Ok(reason) => reason,
        Err(message) => {
            let feedback = Feedback {
                errors: FieldErrors(vec![("reason", message)]),
                import_csv: upload.text("csv").to_string(),
                ..Default::default()
            };
            return show_page(
                &state,
                &ctx,
                &user,
                id,
                feedback,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let target = || {
        Some(ClassRoster {
            class: class.clone(),
            reason: reason.clone(),
        })
    };
    let source = match (&upload.file, upload.text("csv").trim()) {
        (Some(file), _) => imports::Source::file(file.path()),
        (None, "") => {
            let feedback = Feedback {
                errors: FieldErrors(vec![("csv", "paste the roster or choose a file".into())]),
                ..Default::default()
            };
            return show_page(
                &state,
                &ctx,
                &user,
                id,
                feedback,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        (None, text) => imports::Source::bytes(text.as_bytes()),
    };
    let result = imports::run(
        &state.db,
        &actor,
        &by,
        Kind::Roster,
        source,
        target(),
        |_, _| {},
    )
    .await;
    if result.is_ok() {
        crate::ledger::checkpoint::write_after_import(&state.db, &state.config).await;
    }
    match result {
        Ok(summary) => Ok(redirect_with_flash(
            &format!("/classes/{id}#roster"),
            FlashKind::Success,
            format!("Roster imported: {summary}."),
            state.config.server.secure_cookies,
        )),
        Err(ImportFailure::Invalid {
            errors,
            total,
            bad_lines,
            checked,
        }) => {
            let feedback = Feedback {
                import_errors: errors.iter().map(ToString::to_string).collect(),
                import_total: total,
                import_lines: bad_lines,
                import_note: checked.note(),
                import_csv: upload.text("csv").to_string(),
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
        Err(ImportFailure::Failed(e)) => Err(e.into()),
    }
}

pub async fn roster_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let class = svc::visible_class(&state.db, &user.caller(), id).await?;
    let bytes = exports::roster(&state.db, id).await?;
    Ok(csv_download(
        &format!("roster-{}.csv", class.class_ref),
        Body::from(bytes),
    ))
}
