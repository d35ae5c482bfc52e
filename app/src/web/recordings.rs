//! Recordings: the list with what needs action, the form, the page with consent and
//! takedowns, and the learner's public consent page reached by the e-mailed token.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::Form;
use chrono::NaiveDate;
use sea_orm::EntityTrait;
use serde::Deserialize;

use super::classes::{HistoryLine, describe_changes};
use super::page::{FieldErrors, Page, PageContext, field_errors, redirect_with_flash};
use crate::clock;
use crate::domain::recording::{
    ConsentChange, ConsentStatus, NO_KPI_CREDIT, RecordingStatus, TakedownReason, TakedownStatus,
};
use crate::domain::role::Role;
use crate::ledger::{self, Actor};
use crate::services::recordings::{self as svc, RecordingDetail, RecordingFields};
use crate::services::takedowns::{self as takedown_svc, TakedownFields};
use crate::services::{Outcome, ServiceError, courses as course_svc, trainers as trainer_svc};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::{CurrentUser, EditorUser};

type Options = Vec<(String, String)>;

fn today() -> NaiveDate {
    clock::now().date_naive()
}

/// A flag on a recording, as a small status pill.
pub struct Flag {
    pub class: &'static str,
    pub text: &'static str,
}

fn flags(r: &RecordingDetail, today: NaiveDate) -> Vec<Flag> {
    let mut out = vec![];
    if r.needs_action() {
        out.push(Flag {
            class: "status-bad",
            text: "Needs action",
        });
    }
    if r.revoked() {
        out.push(Flag {
            class: "status-bad",
            text: "Consent revoked",
        });
    } else if r.missing_consent() {
        out.push(Flag {
            class: "status-warn",
            text: "Consent missing",
        });
    }
    if r.outdated() {
        out.push(Flag {
            class: "status-warn",
            text: "Outdated",
        });
    }
    if r.takedown_overdue(today) {
        out.push(Flag {
            class: "status-bad",
            text: "Takedown overdue",
        });
    } else if r.takedown_due(today) {
        out.push(Flag {
            class: "status-warn",
            text: "Takedown due soon",
        });
    } else if r.open_takedown() {
        out.push(Flag {
            class: "status-warn",
            text: "Takedown open",
        });
    }
    out
}

fn recording_status_class(s: RecordingStatus) -> &'static str {
    match s {
        RecordingStatus::Draft => "status-off",
        RecordingStatus::Published => "status-ok",
        RecordingStatus::Withdrawn => "status-bad",
    }
}

pub struct ListRow {
    pub id: i64,
    pub title: String,
    pub course_code: String,
    pub trainer: String,
    pub version: String,
    pub course_version: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub granted: usize,
    pub subjects: usize,
    pub flags: Vec<Flag>,
}

#[derive(Template)]
#[template(path = "recordings/list.html")]
struct ListPage {
    page: Page,
    rows: Vec<ListRow>,
    tabs: Vec<(&'static str, &'static str, usize, bool)>,
    may_edit: bool,
    unlinked: bool,
    no_kpi_credit: &'static str,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    show: String,
}

/// `GET /recordings`: readers see every recording, a trainer those they present.
pub async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let is_trainer = user.role == Role::Trainer;
    let (all, unlinked) = if is_trainer {
        match trainer_svc::of_user(&state.db, user.id).await? {
            Some(t) => (svc::list(&state.db, Some(t.id)).await?, false),
            None => (vec![], true),
        }
    } else {
        (svc::list(&state.db, None).await?, false)
    };
    let today = today();
    let show = match query.show.as_str() {
        "attention" | "draft" | "published" | "withdrawn" => query.show.as_str(),
        _ => "all",
    };
    let keep = |r: &RecordingDetail, tab: &str| match tab {
        "attention" => r.attention(),
        "draft" | "published" | "withdrawn" => r.status().id() == tab,
        _ => true,
    };
    let tabs = [
        ("all", "All"),
        ("attention", "Needs action"),
        ("draft", "Drafts"),
        ("published", "Published"),
        ("withdrawn", "Withdrawn"),
    ]
    .into_iter()
    .map(|(id, label)| {
        (
            id,
            label,
            all.iter().filter(|r| keep(r, id)).count(),
            id == show,
        )
    })
    .collect();
    let rows = all
        .iter()
        .filter(|r| keep(r, show))
        .map(|r| ListRow {
            id: r.recording.id,
            title: r.recording.title.clone(),
            course_code: r.course.course_code.clone(),
            trainer: r.trainer.name.clone(),
            version: r.recording.courseware_version.clone(),
            course_version: r.course.courseware_version.clone(),
            status: r.status().label(),
            status_class: recording_status_class(r.status()),
            granted: r.granted(),
            subjects: r.subjects.len(),
            flags: flags(r, today),
        })
        .collect();
    let page = ListPage {
        page: ctx.page(if is_trainer {
            "My recordings"
        } else {
            "Recordings"
        }),
        rows,
        tabs,
        may_edit: user.role.may_edit_records(),
        unlinked,
        no_kpi_credit: NO_KPI_CREDIT,
    };
    Ok(Html(page.render()?).into_response())
}

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
                        "success",
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
                        "success",
                        format!("Nothing to save: {} is unchanged.", r.title),
                        secure,
                    ));
                }
                Ok(outcome) => {
                    return Ok(redirect_with_flash(
                        &to,
                        "success",
                        format!("{} saved.", outcome.model().title),
                        secure,
                    ));
                }
                Err(ServiceError::Refused(m)) => {
                    return Ok(redirect_with_flash(&to, "error", m, secure));
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

pub struct SubjectRow {
    pub consent_id: Option<i64>,
    pub who: String,
    pub is_mct: bool,
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
    subjects: Vec<SubjectRow>,
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
struct Feedback {
    errors: FieldErrors,
    consent: i64,
}

async fn show_page(
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
    let subjects = r
        .subjects
        .iter()
        .map(|s| {
            let how = match &s.consent {
                None => "Added to the roster since: not asked yet".to_string(),
                Some(c) => match (c.method.as_deref(), &c.note) {
                    (None, _) => "Asked; no answer yet".to_string(),
                    (Some(m), note) => {
                        let label = m
                            .parse::<crate::domain::recording::ConsentMethod>()
                            .map(|m| m.label())
                            .unwrap_or("");
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
                is_mct: s.is_mct,
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
    let takedowns = r
        .takedowns
        .iter()
        .map(|t| {
            let s = takedown_svc::status(t);
            let overdue = crate::domain::recording::is_overdue(s, t.due_on, today);
            TakedownRow {
                id: t.id,
                reference: t.reference.clone(),
                reason: t
                    .reason
                    .parse::<TakedownReason>()
                    .map(|r| r.label())
                    .unwrap_or("Other"),
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
    let entries = ledger::history(&state.db, "recording", id, 100).await?;
    let texts = ledger::texts_of(&state.db, &entries).await?;
    let history = entries
        .into_iter()
        .map(|e| HistoryLine {
            at: e.at.format("%Y-%m-%d %H:%M UTC").to_string(),
            actor: e.actor,
            what: if e.entity_type == "recording" {
                e.action
            } else {
                format!("{} {} {}", e.entity_type, e.entity_id, e.action)
            },
            changes: describe_changes(&e.changes),
            reason: ledger::all_texts_of(&texts, e.id),
        })
        .collect();
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
        official: r.course.content == "official",
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
) -> Result<Response, AppError> {
    show_page(&state, &ctx, &user, id, Feedback::default(), StatusCode::OK).await
}

fn done(
    state: &AppState,
    id: i64,
    result: Result<String, ServiceError>,
) -> Result<Response, AppError> {
    let secure = state.config.server.secure_cookies;
    let to = format!("/recordings/{id}");
    match result {
        Ok(message) => Ok(redirect_with_flash(&to, "success", message, secure)),
        Err(ServiceError::Refused(message)) => {
            Ok(redirect_with_flash(&to, "error", message, secure))
        }
        Err(e) => Err(e.into()),
    }
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
                consent: 0,
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

/// `POST /recordings/{id}/takedowns`: records Microsoft's content-review outcome.
pub async fn add_takedown(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Path(id): Path<i64>,
    Form(form): Form<TakedownFields>,
) -> Result<Response, AppError> {
    svc::get(&state.db, id).await?;
    let errors = match form.parse() {
        Ok(input) => {
            match takedown_svc::record(&state.db, &Actor::User(user.id), id, &input).await {
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
            }
        }
        Err(errors) => errors,
    };
    let feedback = Feedback { errors, consent: 0 };
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
pub struct TakedownStatusForm {
    status: String,
    notes: String,
}

/// `POST /takedowns/{id}/status`: complete (withdraws the recording), dispute, reopen.
pub async fn takedown_status(
    State(state): State<AppState>,
    user: EditorUser,
    Path(id): Path<i64>,
    Form(form): Form<TakedownStatusForm>,
) -> Result<Response, AppError> {
    let to = form
        .status
        .parse::<TakedownStatus>()
        .map_err(|m| AppError::BadRequest(format!("status: {m}")))?;
    let result = takedown_svc::change_status(
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
            Ok(redirect_with_flash(&to_page, "success", text, secure))
        }
        Err(ServiceError::Refused(m)) | Err(ServiceError::Field { message: m, .. }) => {
            let takedown = entity::takedowns::Entity::find_by_id(id)
                .one(&state.db)
                .await
                .map_err(ServiceError::from)?
                .ok_or(AppError::NotFound)?;
            Ok(redirect_with_flash(
                &format!("/recordings/{}", takedown.recording_id),
                "error",
                m,
                secure,
            ))
        }
        Err(e) => Err(e.into()),
    }
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
