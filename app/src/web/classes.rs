//! Classes: the filtered list and its export, the form, the detail page with roster,
//! lifecycle actions and history.
use std::collections::HashSet;

use askama::Template;
use axum::body::Body;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::Form;
use entity::{courses, trainers};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::page::{
    FieldErrors, Page, PageContext, csv_download, field_errors, redirect_with_flash, streamed,
    url_encode,
};
use super::upload;
use crate::clock;
use crate::domain::catalog::SolutionArea;
use crate::domain::delivery::{
    ClassStatus, Modality, StatusChange, amendment_reason, check_status_dates,
};
use crate::domain::fields::parse_optional_date;
use crate::domain::role::Role;
use crate::ledger::{self, Actor};
use crate::services::classes::{self as svc, ClassFields, ClassFilter, ClassRow, Cursor};
use crate::services::imports::{self, ClassRoster, ImportFailure, Kind};
use crate::services::rosters::{self, EnrollmentFields};
use crate::services::{
    Outcome, ServiceError, courses as course_svc, exports, trainers as trainer_svc,
};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::{CurrentUser, EditorUser};

pub const PAGE_SIZE: u64 = 50;

/// The list's query string, as typed (bad values are reported, not rejected).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ListQuery {
    pub status: String,
    pub modality: String,
    pub course: String,
    pub mct: String,
    pub area: String,
    pub from: String,
    pub to: String,
    pub q: String,
    pub after: String,
}

impl ListQuery {
    /// The filter, and a message per parameter that could not be used.
    fn filter(&self) -> (ClassFilter, FieldErrors) {
        let mut e = FieldErrors::default();
        let opt = |raw: &str| {
            if raw.trim().is_empty() {
                None
            } else {
                Some(raw.trim().to_string())
            }
        };
        let id = |raw: &str| {
            raw.trim()
                .parse::<i64>()
                .map_err(|_| format!("{raw:?} is not an id"))
        };
        let filter = ClassFilter {
            status: opt(&self.status).and_then(|s| e.check("status", s.parse::<ClassStatus>())),
            modality: opt(&self.modality).and_then(|s| e.check("modality", s.parse::<Modality>())),
            course_id: opt(&self.course).and_then(|s| e.check("course", id(&s))),
            trainer_id: opt(&self.mct).and_then(|s| e.check("mct", id(&s))),
            area: opt(&self.area).and_then(|s| e.check("area", s.parse::<SolutionArea>())),
            from: e.check("from", parse_optional_date(&self.from)).flatten(),
            to: e.check("to", parse_optional_date(&self.to)).flatten(),
            search: self.q.trim().to_string(),
        };
        (filter, e)
    }

    /// This query string without the page cursor, for export and next-page links.
    fn without_cursor(&self) -> String {
        let pairs = [
            ("status", &self.status),
            ("modality", &self.modality),
            ("course", &self.course),
            ("mct", &self.mct),
            ("area", &self.area),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.q),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", url_encode(v.trim())))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Applies who is asking: a trainer's list holds only their own classes. `None` means
/// the trainer has no MCT record yet, so they have no classes.
async fn scoped(
    state: &AppState,
    user: &CurrentUser,
    mut filter: ClassFilter,
) -> Result<Option<ClassFilter>, AppError> {
    if user.role == Role::Trainer {
        match trainer_svc::of_user(&state.db, user.id).await? {
            Some(t) => filter.trainer_id = Some(t.id),
            None => return Ok(None),
        }
    }
    Ok(Some(filter))
}

pub struct ListRow {
    pub id: i64,
    pub class_ref: String,
    pub course_code: String,
    pub course_title: String,
    pub trainer: String,
    pub dates: String,
    pub modality: &'static str,
    pub status: String,
    pub status_label: &'static str,
}

impl ListRow {
    fn of(row: &ClassRow) -> ListRow {
        let c = &row.class;
        let dates = svc::date_range(c.start_date, c.end_date);
        ListRow {
            id: c.id,
            class_ref: c.class_ref.clone(),
            course_code: row.course.course_code.clone(),
            course_title: row.course.title.clone(),
            trainer: row.trainer.name.clone(),
            dates,
            modality: svc::modality(c).label(),
            status: c.status.clone(),
            status_label: svc::status(c).label(),
        }
    }
}

type Options = Vec<(String, String)>;

fn enum_options<T: Copy>(
    all: &[T],
    id: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Options {
    all.iter()
        .map(|v| (id(*v).to_string(), label(*v).to_string()))
        .collect()
}

fn course_options(list: &[courses::Model], value: fn(&courses::Model) -> String) -> Options {
    list.iter()
        .map(|c| (value(c), format!("{} — {}", c.course_code, c.title)))
        .collect()
}

fn trainer_options(list: &[trainers::Model], value: fn(&trainers::Model) -> String) -> Options {
    list.iter()
        .map(|t| (value(t), format!("{} ({})", t.name, t.mct_id)))
        .collect()
}

#[derive(Template)]
#[template(path = "classes/list.html")]
struct ListPage {
    page: Page,
    query: ListQuery,
    errors: FieldErrors,
    rows: Vec<ListRow>,
    total: String,
    next: Option<String>,
    first_page: Option<String>,
    export: String,
    statuses: Options,
    modalities: Options,
    areas: Options,
    courses: Options,
    mcts: Options,
    is_trainer: bool,
    unlinked: bool,
    may_edit: bool,
}

pub async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let (filter, errors) = query.filter();
    let after = Cursor::decode(&query.after);
    let scoped_filter = scoped(&state, &user, filter).await?;
    let (rows, total, next) = match &scoped_filter {
        Some(filter) => {
            let page = svc::list(&state.db, filter, after, PAGE_SIZE).await?;
            let total = if page.total > svc::COUNT_CAP {
                format!("More than {} classes match.", svc::COUNT_CAP)
            } else {
                let verb = crate::domain::plural::form(page.total, "matches", "match");
                format!(
                    "{} {verb}.",
                    crate::domain::plural::count(page.total, "class", "classes")
                )
            };
            (
                page.rows.iter().map(ListRow::of).collect(),
                total,
                page.next,
            )
        }
        None => (vec![], "0 classes match.".into(), None),
    };
    let base = query.without_cursor();
    let is_trainer = user.role == Role::Trainer;
    let (courses, mcts) = if is_trainer {
        (vec![], vec![])
    } else {
        (
            course_options(&course_svc::list(&state.db, "", true).await?, |c| {
                c.id.to_string()
            }),
            trainer_options(&trainer_svc::all(&state.db).await?, |t| t.id.to_string()),
        )
    };
    let title = if is_trainer { "My classes" } else { "Classes" };
    let page = ListPage {
        page: ctx.page(title),
        errors,
        rows,
        total,
        next: next.map(|c| {
            format!(
                "/classes?{}{}after={}",
                base,
                if base.is_empty() { "" } else { "&" },
                c.encode()
            )
        }),
        first_page: after.map(|_| format!("/classes?{base}")),
        export: format!("/classes/export.csv?{base}"),
        statuses: enum_options(ClassStatus::ALL, ClassStatus::id, ClassStatus::label),
        modalities: enum_options(Modality::ALL, Modality::id, Modality::label),
        areas: SolutionArea::ALL
            .iter()
            .map(|a| (a.id().to_string(), a.label().to_string()))
            .collect(),
        courses,
        mcts,
        unlinked: scoped_filter.is_none(),
        may_edit: user.role.may_edit_records(),
        is_trainer,
        query,
    };
    Ok(Html(page.render()?).into_response())
}

/// The filtered list as CSV, streamed page by page.
pub async fn export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let (filter, errors) = query.filter();
    if let Some((field, message)) = errors.0.first() {
        return Err(AppError::BadRequest(format!("{field} {message}")));
    }
    let name = format!("classes-{}.csv", clock::now().format("%Y%m%d"));
    let Some(filter) = scoped(&state, &user, filter).await? else {
        // A trainer with no MCT record has no classes: the header alone.
        let header = format!("{}\n", exports::CLASS_COLUMNS.join(","));
        return Ok(csv_download(&name, Body::from(header)));
    };
    let (sender, receiver) = mpsc::channel::<Vec<u8>>(2);
    let db = state.db.clone();
    tokio::spawn(async move {
        if let Err(e) = exports::classes(&db, &filter, sender).await {
            tracing::error!(error = %e, "class export failed part way");
        }
    });
    Ok(csv_download(&name, streamed(receiver)))
}

#[derive(Template)]
#[template(path = "classes/form.html")]
struct FormPage {
    page: Page,
    class_id: Option<i64>,
    confirmed: bool,
    form: ClassFields,
    errors: FieldErrors,
    courses: Options,
    mcts: Options,
    modalities: Options,
    /// Published recordings (plus the one the class already names), for recorded classes.
    recordings: Options,
}

/// Rule 3: a recorded class picks a published recording; the one it already names stays
/// selectable (even if withdrawn since).
async fn recording_options(state: &AppState, current: &str) -> Result<Options, AppError> {
    use crate::services::recordings as rec_svc;
    let codes: std::collections::HashMap<i64, String> = course_svc::list(&state.db, "", true)
        .await?
        .into_iter()
        .map(|c| (c.id, c.course_code))
        .collect();
    let mut list = rec_svc::published_of_course(&state.db, None).await?;
    if let Ok(id) = current.trim().parse::<i64>()
        && !list.iter().any(|r| r.id == id)
        && let Ok(r) = rec_svc::get(&state.db, id).await
    {
        list.push(r);
    }
    Ok(list
        .into_iter()
        .map(|r| {
            let code = codes.get(&r.course_id).cloned().unwrap_or_default();
            let note = if r.status == "published" {
                String::new()
            } else {
                format!(" [{}]", r.status)
            };
            (r.id.to_string(), format!("{code} — {}{note}", r.title))
        })
        .collect())
}

async fn form_page(
    state: &AppState,
    ctx: &PageContext,
    class_id: Option<i64>,
    confirmed: bool,
    form: ClassFields,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let title = match class_id {
        Some(_) => format!("Edit {}", form.class_ref),
        None => "Schedule a class".to_string(),
    };
    let page = FormPage {
        page: ctx.page(&title),
        class_id,
        confirmed,
        // Editing keeps a retired course selectable: the class may already use it.
        courses: course_options(
            &match class_id {
                Some(_) => course_svc::list(&state.db, "", true).await?,
                None => course_svc::schedulable(&state.db).await?,
            },
            |c| c.course_code.clone(),
        ),
        mcts: trainer_options(&trainer_svc::all(&state.db).await?, |t| t.mct_id.clone()),
        modalities: enum_options(Modality::ALL, Modality::id, Modality::label),
        recordings: recording_options(state, &form.recording_id).await?,
        form,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn new(
    State(state): State<AppState>,
    ctx: PageContext,
    _user: EditorUser,
) -> Result<Response, AppError> {
    let form = ClassFields {
        modality: Modality::InPerson.id().into(),
        ..Default::default()
    };
    form_page(
        &state,
        &ctx,
        None,
        false,
        form,
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn create(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Form(form): Form<ClassFields>,
) -> Result<Response, AppError> {
    let errors = match form.parse(false) {
        Ok(input) => match svc::create(&state.db, &Actor::User(user.id), &input).await {
            Ok(class) => {
                return Ok(redirect_with_flash(
                    &format!("/classes/{}", class.id),
                    "success",
                    format!("{} scheduled.", class.class_ref),
                    state.config.server.secure_cookies,
                ));
            }
            Err(e) => field_errors(e)?,
        },
        Err(errors) => errors,
    };
    form_page(
        &state,
        &ctx,
        None,
        false,
        form,
        errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

pub async fn edit(
    State(state): State<AppState>,
    ctx: PageContext,
    _user: EditorUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let class = svc::get(&state.db, id).await?;
    let (course, trainer) = svc::parts(&state.db, &class).await?;
    let confirmed = svc::status(&class).is_closed();
    form_page(
        &state,
        &ctx,
        Some(id),
        confirmed,
        ClassFields::of(&class, &course, &trainer),
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn update(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Path(id): Path<i64>,
    Form(form): Form<ClassFields>,
) -> Result<Response, AppError> {
    let class = svc::get(&state.db, id).await?;
    let confirmed = svc::status(&class).is_closed();
    let errors = match form.parse(false) {
        Ok(input) => {
            match svc::update(&state.db, &Actor::User(user.id), id, &input, &form.reason).await {
                Ok(outcome) => {
                    let text = match &outcome {
                        Outcome::Unchanged(c) => {
                            format!("Nothing to save: {} is unchanged.", c.class_ref)
                        }
                        _ if confirmed => format!(
                            "{} amended; the reason is in its history.",
                            outcome.model().class_ref
                        ),
                        _ => format!("{} saved.", outcome.model().class_ref),
                    };
                    return Ok(redirect_with_flash(
                        &format!("/classes/{id}"),
                        "success",
                        text,
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
        Some(id),
        confirmed,
        form,
        errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

pub struct RosterLine {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub attended: bool,
}

pub struct HistoryLine {
    pub at: String,
    pub actor: String,
    pub what: String,
    pub changes: Vec<String>,
    pub reason: String,
}

/// A ledger entry's `{"field": {"before": …, "after": …}}` as lines a person reads:
/// `status: delivered → confirmed`, `learner_name changed`, `class_ref: C-1` (new).
pub fn describe_changes(changes: &str) -> Vec<String> {
    use serde_json::Value;
    let shown = |v: &Value| match v {
        Value::Null => "—".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(changes) else {
        return vec![changes.to_string()];
    };
    fields
        .iter()
        .map(
            |(field, change)| match (change.get("before"), change.get("after")) {
                (Some(Value::Null), Some(after)) => format!("{field}: {}", shown(after)),
                (Some(before), Some(after)) => {
                    format!("{field}: {} → {}", shown(before), shown(after))
                }
                _ if change.get("changed").is_some() => format!("{field} changed"),
                _ => format!("{field}: {}", shown(change)),
            },
        )
        .collect()
}

#[derive(Template)]
#[template(path = "classes/show.html")]
struct ShowPage {
    page: Page,
    class: ListRow,
    course_category: &'static str,
    course_area: &'static str,
    official: bool,
    mct_id: String,
    valid_until: String,
    location: String,
    survey_url: String,
    /// The recording a recorded class delivers: (id, title, status).
    recording: Option<(i64, String, String)>,
    confirmed: bool,
    may_edit: bool,
    may_deliver: bool,
    may_cancel: bool,
    may_confirm: bool,
    admin_confirms: bool,
    roster: Vec<RosterLine>,
    attended: usize,
    history: Vec<HistoryLine>,
    errors: FieldErrors,
    import_errors: Vec<String>,
    import_summary: String,
    import_note: Option<&'static str>,
    /// The pasted roster of a refused import, back in its box.
    import_csv: String,
    add: EnrollmentFields,
    codes: super::codes::ClassCodes,
    surveys: super::surveys::ClassSurveys,
}

/// What a failed roster form sends back to the class page.
#[derive(Default)]
struct Feedback {
    errors: FieldErrors,
    import_errors: Vec<String>,
    import_total: u64,
    import_lines: u64,
    import_note: Option<&'static str>,
    import_csv: String,
    add: EnrollmentFields,
}

const HISTORY_LIMIT: u64 = 100;

async fn show_page(
    state: &AppState,
    ctx: &PageContext,
    user: &CurrentUser,
    id: i64,
    feedback: Feedback,
    status: StatusCode,
) -> Result<Response, AppError> {
    let class = svc::visible_class(&state.db, &user.caller(), id).await?;
    let (course, trainer) = svc::parts(&state.db, &class).await?;
    let class_status = svc::status(&class);
    let roster: Vec<RosterLine> = svc::roster(&state.db, id)
        .await?
        .into_iter()
        .map(|e| RosterLine {
            id: e.id,
            name: e.learner_name,
            email: e.learner_email,
            attended: e.attended,
        })
        .collect();
    let entries = ledger::history(&state.db, "class", id, HISTORY_LIMIT).await?;
    let texts = ledger::texts_of(&state.db, &entries).await?;
    let history = entries
        .into_iter()
        .map(|e| HistoryLine {
            at: e.at.format("%Y-%m-%d %H:%M UTC").to_string(),
            actor: e.actor,
            what: if e.entity_type == "class" {
                e.action
            } else {
                format!("{} {} {}", e.entity_type, e.entity_id, e.action)
            },
            changes: describe_changes(&e.changes),
            reason: ledger::all_texts_of(&texts, e.id),
        })
        .collect();
    let may_edit = user.role.may_edit_records();
    let own = trainer.user_id == Some(user.id);
    let row = ListRow::of(&ClassRow {
        class: class.clone(),
        course: course.clone(),
        trainer: trainer.clone(),
    });
    let page = ShowPage {
        page: ctx.page(&format!("Class {}", class.class_ref)),
        course_category: course_svc::category(&course).label(),
        course_area: course_svc::area(&course).map_or("No solution area", |a| a.label()),
        official: course.content == "official",
        mct_id: trainer.mct_id.clone(),
        valid_until: trainer.mct_valid_until.to_string(),
        location: class.location.clone().unwrap_or_default(),
        survey_url: class.external_survey_url.clone().unwrap_or_default(),
        recording: match class.recording_id {
            Some(id) => {
                let r = crate::services::recordings::get(&state.db, id).await?;
                Some((r.id, r.title, r.status))
            }
            None => None,
        },
        confirmed: class_status.is_closed(),
        may_edit,
        may_deliver: may_edit && class_status.apply(StatusChange::MarkDelivered).is_ok(),
        may_cancel: may_edit && class_status.apply(StatusChange::Cancel).is_ok(),
        may_confirm: class_status.apply(StatusChange::Confirm).is_ok()
            && check_status_dates(
                ClassStatus::Confirmed,
                class.start_date,
                class.end_date,
                clock::now().date_naive(),
            )
            .is_ok()
            && ((user.role == Role::Trainer && own) || user.role == Role::Admin),
        admin_confirms: user.role == Role::Admin,
        attended: roster.iter().filter(|l| l.attended).count(),
        roster,
        history,
        class: row,
        errors: feedback.errors,
        import_summary: super::imports::refusal_summary(
            feedback.import_total,
            feedback.import_lines,
            feedback.import_errors.len(),
        ),
        import_errors: feedback.import_errors,
        import_note: feedback.import_note,
        import_csv: feedback.import_csv,
        add: feedback.add,
        codes: super::codes::for_class(state, user, &class).await?,
        surveys: super::surveys::for_class(state, user, &class).await?,
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    show_page(&state, &ctx, &user, id, Feedback::default(), StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatusForm {
    change: String,
}

/// The answer to an action on the class page: back to the page (at `anchor`) with a
/// message, or the page again with the refused field's message next to it.
async fn class_page_outcome(
    state: &AppState,
    ctx: &PageContext,
    user: &CurrentUser,
    id: i64,
    anchor: &str,
    result: Result<String, ServiceError>,
) -> Result<Response, AppError> {
    let secure = state.config.server.secure_cookies;
    let to = format!("/classes/{id}{anchor}");
    match result {
        Ok(text) => Ok(redirect_with_flash(&to, "success", text, secure)),
        Err(ServiceError::Refused(message)) => {
            Ok(redirect_with_flash(&to, "error", message, secure))
        }
        Err(ServiceError::Field { field, message }) => {
            let feedback = Feedback {
                errors: FieldErrors(vec![(field, message)]),
                ..Default::default()
            };
            show_page(
                state,
                ctx,
                user,
                id,
                feedback,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn change_status(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Path(id): Path<i64>,
    Form(form): Form<StatusForm>,
) -> Result<Response, AppError> {
    let change = match form.change.as_str() {
        "delivered" => StatusChange::MarkDelivered,
        "cancelled" => StatusChange::Cancel,
        other => {
            return Err(AppError::BadRequest(format!(
                "change must be delivered or cancelled, not {other:?}"
            )));
        }
    };
    let today = clock::now().date_naive();
    let link = state.link(&format!("/classes/{id}"));
    let result = svc::change_status(&state.db, &Actor::User(user.id), id, change, today, &link)
        .await
        .map(|class| format!("{} is now {}.", class.class_ref, class.status));
    class_page_outcome(&state, &ctx, &user, id, "", result).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReasonForm {
    reason: String,
}

pub async fn confirm(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, AppError> {
    let result = svc::confirm(&state.db, &user.caller(), id, &form.reason)
        .await
        .map(|class| format!("{} is confirmed.", class.class_ref));
    class_page_outcome(&state, &ctx, &user, id, "", result).await
}

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
                        "success",
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
    let result =
        rosters::set_attendance(&state.db, &Actor::User(user.id), id, &present, &form.reason)
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
    let upload = upload::read(
        multipart,
        &state.config.data.dir.join("uploads"),
        state.config.server.max_upload_bytes,
    )
    .await?;
    let actor = Actor::User(user.id);
    let by = imports::ImportBy::user(user.role, "");
    // On a confirmed class the import is an amendment: the reason is required.
    let reason = match amendment_reason(svc::status(&class), upload.text("reason")) {
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
            "success",
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

#[cfg(test)]
mod tests {
    use super::describe_changes;

    #[test]
    fn ledger_changes_read_as_before_and_after() {
        let lines = describe_changes(
            r#"{"status":{"before":"delivered","after":"confirmed"},"location":{"before":null,"after":"Room 4"},"learner_name":{"changed":true},"end_date":{"before":"2026-01-02","after":null}}"#,
        );
        assert_eq!(
            lines,
            // serde_json keeps object keys sorted.
            [
                "end_date: 2026-01-02 → —",
                "learner_name changed",
                "location: Room 4",
                "status: delivered → confirmed",
            ]
        );
        assert_eq!(describe_changes("not json"), ["not json"]);
    }
}
