//! The recording page (facts, use, consent, takedowns, history), publishing and
//! withdrawing; refused forms of its consent and takedown sections come back here.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::Form;
use serde::Deserialize;

use super::{Flag, Options, done, flags, recording_status_class, today};
use crate::domain::catalog::Content;
use crate::domain::recording::{
    ConsentStatus, NO_KPI_CREDIT, RecordingStatus, TakedownReason, TakedownStatus,
};
use crate::domain::role::Role;
use crate::ledger::Actor;
use crate::services::ServiceError;
use crate::services::recordings as svc;
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::{CurrentUser, EditorUser};
use crate::web::history::{self, HistoryLine};
use crate::web::page::{FieldErrors, Page, PageContext, page_number};

pub struct SubjectRow {
    pub consent_id: Option<i64>,
    pub who: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub how: String,
    pub changed_at: String,
}

pub struct TakedownRow {
    pub id: i64,
    pub reference: String,
    pub reason: &'static str,
    pub received_on: String,
    pub due_on: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub completed_on: String,
    pub notes: String,
    pub open: bool,
    pub disputed: bool,
}

pub struct UsedBy {
    pub id: i64,
    pub class_ref: String,
    pub dates: String,
}

fn consent_class(s: ConsentStatus) -> &'static str {
    match s {
        ConsentStatus::Granted => "status-ok",
        ConsentStatus::Requested => "status-warn",
        ConsentStatus::Declined | ConsentStatus::Revoked => "status-bad",
    }
}

#[derive(Template)]
#[template(path = "recordings/show.html")]
struct ShowPage {
    page: Page,
    id: i64,
    title: String,
    course_code: String,
    course_title: String,
    official: bool,
    trainer: String,
    mct_id: String,
    affiliated: bool,
    valid_until: String,
    source_class: Option<(i64, String, String)>,
    version: String,
    course_version: String,
    location: String,
    status: &'static str,
    status_class: &'static str,
    flags: Vec<Flag>,
    refusals: Vec<String>,
    not_asked: usize,
    /// This page of the consent subjects (a recording of a large class has thousands).
    subjects: Vec<SubjectRow>,
    subject_count: usize,
    first_shown: u64,
    last_shown: u64,
    subjects_prev: Option<u64>,
    subjects_next: Option<u64>,
    takedowns: Vec<TakedownRow>,
    used_by: Vec<UsedBy>,
    history: Vec<HistoryLine>,
    may_edit: bool,
    may_publish: bool,
    /// Only a published recording is withdrawn by hand (a draft is not in use yet).
    may_withdraw: bool,
    withdrawn: bool,
    /// The signed-in presenter: their own consent buttons.
    presenter_status: String,
    errors: FieldErrors,
    /// The consent row whose paper form was refused (its field errors are in `errors`).
    error_consent: i64,
    reasons: Options,
    /// The takedown form's reason (none chosen yet).
    no_reason: String,
    today: String,
    no_kpi_credit: &'static str,
}

/// What a refused form on the page sends back to it.
#[derive(Default)]
pub(in crate::web) struct Feedback {
    pub errors: FieldErrors,
    pub consent: i64,
    /// The page of consent subjects shown (`?page=`).
    pub page: String,
}

/// Consent subjects per page of the recording page.
const SUBJECT_PAGE: u64 = 100;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SubjectsQuery {
    page: String,
}

pub(in crate::web) async fn show_page(
    state: &AppState,
    ctx: &PageContext,
    user: &CurrentUser,
    id: i64,
    feedback: Feedback,
    status: StatusCode,
) -> Result<Response, AppError> {
    let recording = svc::visible(&state.db, &user.caller(), id).await?;
    let r = svc::detail(&state.db, recording).await?;
    let today = today();
    let may_edit = user.role.may_edit_records();
    let subject_page = page_number(&feedback.page, SUBJECT_PAGE)?;
    let first_shown = (subject_page - 1) * SUBJECT_PAGE + 1;
    let subjects: Vec<SubjectRow> = r
        .subjects
        .iter()
        .skip((first_shown - 1) as usize)
        .take(SUBJECT_PAGE as usize)
        .map(|s| {
            let how = match &s.consent {
                None => "Added to the roster since: not asked yet".to_string(),
                Some(c) => match (c.method, &c.note) {
                    (None, _) => "Asked; no answer yet".to_string(),
                    (Some(m), note) => {
                        let label = m.label();
                        match note {
                            Some(n) => format!("Given {label}: {n}"),
                            None => format!("Given {label}"),
                        }
                    }
                },
            };
            SubjectRow {
                consent_id: s.consent.as_ref().map(|c| c.id),
                who: if s.is_mct || may_edit || user.role == Role::Viewer {
                    format!("{} ({})", s.name, s.label)
                } else {
                    s.label.clone()
                },
                status: s.status.label(),
                status_class: consent_class(s.status),
                how,
                changed_at: s
                    .consent
                    .as_ref()
                    .and_then(|c| c.changed_at)
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let last_shown = first_shown - 1 + subjects.len() as u64;
    let subject_count = r.subjects.len();
    let takedowns = r
        .takedowns
        .iter()
        .map(|t| {
            let s = t.status;
            let overdue = crate::domain::recording::is_overdue(s, t.due_on, today);
            TakedownRow {
                id: t.id,
                reference: t.reference.clone(),
                reason: t.reason.label(),
                received_on: t.received_on.to_string(),
                due_on: t.due_on.to_string(),
                status: if overdue { "Overdue" } else { s.label() },
                status_class: match s {
                    _ if overdue => "status-bad",
                    TakedownStatus::Open | TakedownStatus::Disputed => "status-warn",
                    TakedownStatus::Completed => "status-off",
                },
                completed_on: t.completed_on.map(|d| d.to_string()).unwrap_or_default(),
                notes: t.notes.clone().unwrap_or_default(),
                open: s == TakedownStatus::Open,
                disputed: s == TakedownStatus::Disputed,
            }
        })
        .collect();
    let used_by = svc::classes_using(&state.db, id)
        .await?
        .into_iter()
        .map(|c| UsedBy {
            id: c.id,
            dates: crate::services::classes::date_range(c.start_date, c.end_date),
            class_ref: c.class_ref,
        })
        .collect();
    let history = history::of(&state.db, "recording", id).await?;
    let own = r.trainer.user_id == Some(user.id) && user.role == Role::Trainer;
    let presenter_status = if own {
        r.subjects
            .iter()
            .find(|s| s.is_mct)
            .map(|s| s.status.id().to_string())
            .unwrap_or_default()
    } else {
        String::new()
    };
    let rstatus = r.status();
    let page = ShowPage {
        page: ctx.page(&format!("Recording {}", r.recording.title)),
        id,
        title: r.recording.title.clone(),
        course_code: r.course.course_code.clone(),
        course_title: r.course.title.clone(),
        official: r.course.content == Content::Official,
        trainer: r.trainer.name.clone(),
        mct_id: r.trainer.mct_id.clone(),
        affiliated: r.trainer.affiliated,
        valid_until: r.trainer.mct_valid_until.to_string(),
        source_class: r.source_class.as_ref().map(|c| {
            (
                c.id,
                c.class_ref.clone(),
                crate::services::classes::date_range(c.start_date, c.end_date),
            )
        }),
        version: r.recording.courseware_version.clone(),
        course_version: r.course.courseware_version.clone(),
        location: r.recording.location.clone(),
        status: rstatus.label(),
        status_class: recording_status_class(rstatus),
        flags: flags(&r, today),
        refusals: if rstatus == RecordingStatus::Draft {
            r.publication_refusals(today)
        } else {
            vec![]
        },
        not_asked: r.subjects.iter().filter(|s| s.consent.is_none()).count(),
        subjects,
        subject_count,
        first_shown,
        last_shown,
        subjects_prev: (subject_page > 1).then(|| subject_page - 1),
        subjects_next: ((last_shown as usize) < subject_count).then(|| subject_page + 1),
        takedowns,
        used_by,
        history,
        may_edit,
        may_publish: may_edit && rstatus == RecordingStatus::Draft,
        may_withdraw: may_edit && rstatus == RecordingStatus::Published,
        withdrawn: rstatus == RecordingStatus::Withdrawn,
        presenter_status,
        errors: feedback.errors,
        error_consent: feedback.consent,
        reasons: TakedownReason::ALL
            .iter()
            .map(|r| (r.id().to_string(), r.label().to_string()))
            .collect(),
        no_reason: String::new(),
        today: today.to_string(),
        no_kpi_credit: NO_KPI_CREDIT,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /recordings/{id}`: staff see every recording, a trainer only those they present.
pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(query): Query<SubjectsQuery>,
) -> Result<Response, AppError> {
    let feedback = Feedback {
        page: query.page,
        ..Default::default()
    };
    show_page(&state, &ctx, &user, id, feedback, StatusCode::OK).await
}

/// `POST /recordings/{id}/publish`: refused, with every reason, until rules 2 and 3 hold.
pub async fn publish(
    State(state): State<AppState>,
    user: EditorUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let result = svc::publish(&state.db, &Actor::User(user.id), id, today())
        .await
        .map(|r| format!("{} is published.", r.title));
    done(&state, id, result)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReasonForm {
    reason: String,
}

/// `POST /recordings/{id}/withdraw`, with a reason.
pub async fn withdraw(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Path(id): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, AppError> {
    match svc::withdraw(&state.db, &Actor::User(user.id), id, &form.reason).await {
        Err(ServiceError::Field { field, message }) => {
            let feedback = Feedback {
                errors: FieldErrors(vec![(field, message)]),
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
            other.map(|r| format!("{} is withdrawn.", r.title)),
        ),
    }
}
