//! The class page (delivery, confirmation, roster, codes, surveys, history) and its
//! lifecycle actions; the roster forms come back here when they are refused.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::Form;
use serde::Deserialize;

use super::{ListRow, ReasonForm};
use crate::clock;
use crate::domain::catalog::Content;
use crate::domain::delivery::{ClassStatus, StatusChange, check_status_dates};
use crate::domain::role::Role;
use crate::ledger::Actor;
use crate::services::Search;
use crate::services::classes::{self as svc, ClassRow};
use crate::services::rosters::{self, EnrollmentFields, ROSTER_PAGE};
use crate::services::{ServiceError, courses as course_svc};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::{CurrentUser, EditorUser};
use crate::web::history::{self, HistoryLine};
use crate::web::page::{
    FieldErrors, FlashKind, Page, PageContext, page_number, redirect_with_flash, url_encode,
};

pub struct RosterLine {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub attended: bool,
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
    /// The class's language tag (blank: none) and whether it is on the public schedule.
    language: String,
    listed: bool,
    /// The recording a recorded class delivers: (id, title, status).
    recording: Option<(i64, String, &'static str)>,
    confirmed: bool,
    may_edit: bool,
    may_deliver: bool,
    may_cancel: bool,
    may_confirm: bool,
    admin_confirms: bool,
    roster: Vec<RosterLine>,
    /// The whole roster's counts, and how many lines match the search.
    learners: u64,
    attended: u64,
    matching: u64,
    /// The roster's search as typed, its page, and the lines this page shows (1-based).
    roster_search: String,
    roster_page: u64,
    roster_page_size: u64,
    first_shown: u64,
    last_shown: u64,
    /// Query strings of the previous and next roster pages, when there are such.
    roster_prev: Option<String>,
    roster_next: Option<String>,
    history: Vec<HistoryLine>,
    errors: FieldErrors,
    import_errors: Vec<String>,
    import_summary: String,
    import_note: Option<&'static str>,
    /// The pasted roster of a refused import, back in its box.
    import_csv: String,
    add: EnrollmentFields,
    codes: crate::web::codes::ClassCodes,
    surveys: crate::web::surveys::ClassSurveys,
}

/// The roster page the class page shows: `?q=` searches names and e-mails, `?page=`.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct RosterQuery {
    q: String,
    page: String,
}

/// What a failed roster form sends back to the class page (and which roster page).
#[derive(Default)]
pub(super) struct Feedback {
    pub roster: RosterQuery,
    pub errors: FieldErrors,
    pub import_errors: Vec<String>,
    pub import_total: u64,
    pub import_lines: u64,
    pub import_note: Option<&'static str>,
    pub import_csv: String,
    pub add: EnrollmentFields,
}

pub(super) async fn show_page(
    state: &AppState,
    ctx: &PageContext,
    user: &CurrentUser,
    id: i64,
    feedback: Feedback,
    status: StatusCode,
) -> Result<Response, AppError> {
    let class = svc::visible_class(&state.db, &user.caller(), id).await?;
    let (course, trainer) = svc::parts(&state.db, &class).await?;
    let class_status = class.status;
    let search = Search::parse(&feedback.roster.q);
    let roster_page = page_number(&feedback.roster.page, ROSTER_PAGE)?;
    let shown = rosters::page(&state.db, id, search.as_ref(), roster_page).await?;
    let codes = crate::web::codes::for_class(state, user, &class, &shown.lines).await?;
    let first_shown = (roster_page - 1) * ROSTER_PAGE + 1;
    let last_shown = first_shown - 1 + shown.lines.len() as u64;
    let q = feedback.roster.q.trim();
    let query_of = |page: u64| match q {
        "" => format!("page={page}"),
        q => format!("q={}&page={page}", url_encode(q)),
    };
    let roster_prev = (roster_page > 1).then(|| query_of(roster_page - 1));
    let roster_next = (last_shown < shown.matching).then(|| query_of(roster_page + 1));
    let (learners, attended, matching) = (shown.learners, shown.attended, shown.matching);
    let roster: Vec<RosterLine> = shown
        .lines
        .into_iter()
        .map(|e| RosterLine {
            id: e.id,
            name: e.learner_name,
            email: e.learner_email,
            attended: e.attended,
        })
        .collect();
    let history = history::of(&state.db, "class", id).await?;
    let may_edit = user.role.may_edit_records();
    let own = trainer.user_id == Some(user.id);
    let row = ListRow::of(&ClassRow {
        class: class.clone(),
        course: course.clone(),
        trainer: trainer.clone(),
        learners,
        attended,
    });
    let page = ShowPage {
        page: ctx.page(&format!("Class {}", class.class_ref)),
        course_category: course_svc::category(&course).label(),
        course_area: course
            .solution_area
            .map_or("No solution area", |a| a.label()),
        official: course.content == Content::Official,
        mct_id: trainer.mct_id.clone(),
        valid_until: trainer.mct_valid_until.to_string(),
        location: class.location.clone().unwrap_or_default(),
        survey_url: class.external_survey_url.clone().unwrap_or_default(),
        language: class.language.clone().unwrap_or_default(),
        listed: class.published_schedule,
        recording: match class.recording_id {
            Some(id) => {
                let r = crate::services::recordings::get(&state.db, id).await?;
                Some((r.id, r.title, r.status.label()))
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
        learners,
        attended,
        matching,
        roster_search: feedback.roster.q.clone(),
        roster_page,
        roster_page_size: ROSTER_PAGE,
        first_shown,
        last_shown,
        roster_prev,
        roster_next,
        roster,
        history,
        class: row,
        errors: feedback.errors,
        import_summary: crate::web::imports::refusal_summary(
            feedback.import_total,
            feedback.import_lines,
            feedback.import_errors.len(),
        ),
        import_errors: feedback.import_errors,
        import_note: feedback.import_note,
        import_csv: feedback.import_csv,
        add: feedback.add,
        codes,
        surveys: crate::web::surveys::for_class(state, user, &class).await?,
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(roster): Query<RosterQuery>,
) -> Result<Response, AppError> {
    let feedback = Feedback {
        roster,
        ..Default::default()
    };
    show_page(&state, &ctx, &user, id, feedback, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatusForm {
    change: String,
}

/// The answer to an action on the class page: back to the page (at `anchor`) with a
/// message, or the page again with the refused field's message next to it.
pub(super) async fn class_page_outcome(
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
        Ok(text) => Ok(redirect_with_flash(&to, FlashKind::Success, text, secure)),
        Err(ServiceError::Refused(message)) => {
            Ok(redirect_with_flash(&to, FlashKind::Error, message, secure))
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
