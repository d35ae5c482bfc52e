//! JSON API under `/api/v1` (signed-in session or API token; errors are JSON too).
use axum::Json;
use axum::extract::{Path, Query, State};
use entity::{classes, courses, trainers};
use serde::{Deserialize, Serialize};

use crate::clock;
use crate::domain::fields::{parse_code, parse_date};
use crate::domain::kpi::{DESIGNATION_2025, Report};
use crate::services::classes::{self as svc, Cursor};
use crate::services::{
    codes, courses as course_svc, rosters, surveys, trainers as trainer_svc, versions,
};
use crate::state::AppState;
use crate::web::classes::{ListQuery, PAGE_SIZE, scoped};
use crate::web::error::AppError;
use crate::web::extract::{ApiCaller, ApiReader, ApiUser};
use crate::web::page::url_encode;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct KpiQuery {
    as_of: String,
}

/// `GET /api/v1/kpi?as_of=YYYY-MM-DD`: SPEC §4's report (default: today, UTC).
pub async fn kpi(
    State(state): State<AppState>,
    _caller: ApiReader,
    Query(q): Query<KpiQuery>,
) -> Result<Json<Report>, AppError> {
    let as_of = match q.as_of.trim() {
        "" => clock::now().date_naive(),
        raw => parse_date(raw).map_err(|m| AppError::BadRequest(format!("as_of {m}")))?,
    };
    let standing = state
        .kpi_cache
        .standing(&state.db, as_of, &DESIGNATION_2025)
        .await?;
    Ok(Json(standing.report.clone()))
}

/// A class as the API shows it.
#[derive(Serialize)]
pub struct ClassJson {
    class_ref: String,
    course_code: String,
    course_title: String,
    solution_area: Option<&'static str>,
    duration_category: &'static str,
    mct_id: String,
    mct_name: String,
    start_date: String,
    end_date: String,
    modality: &'static str,
    status: &'static str,
    /// Roster lines, and learners ticked as attending.
    learners: u64,
    attended: u64,
    /// This class's own API address.
    url: String,
}

impl ClassJson {
    fn of(
        class: &classes::Model,
        course: &courses::Model,
        trainer: &trainers::Model,
        (learners, attended): (u64, u64),
    ) -> Self {
        ClassJson {
            class_ref: class.class_ref.clone(),
            course_code: course.course_code.clone(),
            course_title: course.title.clone(),
            solution_area: course.solution_area.map(|a| a.id()),
            duration_category: course_svc::category(course).id(),
            mct_id: trainer.mct_id.clone(),
            mct_name: trainer.name.clone(),
            start_date: class.start_date.to_string(),
            end_date: class.end_date.to_string(),
            modality: class.modality.id(),
            status: class.status.id(),
            learners,
            attended,
            url: format!("/api/v1/classes/{}", url_encode(&class.class_ref)),
        }
    }
}

/// One page of `GET /api/v1/classes`.
#[derive(Serialize)]
pub struct ClassPageJson {
    classes: Vec<ClassJson>,
    /// Classes matching the filters, counted up to [`svc::COUNT_CAP`] + 1.
    total: u64,
    /// Whether more than [`svc::COUNT_CAP`] match (then `total` is not the whole count).
    total_capped: bool,
    /// The next page's address (same filters), or null on the last page.
    next: Option<String>,
}

/// `GET /api/v1/classes`: the class list's filters (`status`, `modality`, `course`, `mct`,
/// `area`, `from`, `to`, `q`, `learner`, `location`), its order (`sort`, `dir`) and keyset
/// pages (`after`, from `next`), 50 per page. A trainer's session sees their own classes
/// only.
pub async fn classes(
    State(state): State<AppState>,
    ApiUser(caller): ApiUser,
    Query(query): Query<ListQuery>,
) -> Result<Json<ClassPageJson>, AppError> {
    let (filter, mut errors) = query.filter();
    let sort = query.sort(&mut errors);
    if let Some((field, message)) = errors.0.first() {
        return Err(AppError::BadRequest(format!("{field}: {message}")));
    }
    let after = match query.after.trim() {
        "" => None,
        raw => Some(Cursor::decode(sort.key, raw).ok_or_else(|| {
            AppError::BadRequest(format!(
                "after: {raw:?} is not a page cursor (take it from `next`)"
            ))
        })?),
    };
    let filter = match &caller {
        ApiCaller::Session(user) => scoped(&state, user, filter).await?,
        ApiCaller::Token(_) => Some(filter),
    };
    let Some(filter) = filter else {
        // A trainer with no MCT record has no classes.
        return Ok(Json(ClassPageJson {
            classes: vec![],
            total: 0,
            total_capped: false,
            next: None,
        }));
    };
    let versions = versions::read(&state.db).await?;
    let page = state
        .class_pages
        .list(
            &state.db,
            versions,
            &filter,
            sort,
            after.as_ref(),
            PAGE_SIZE,
        )
        .await?;
    let base = query.without_cursor();
    Ok(Json(ClassPageJson {
        classes: page
            .rows
            .iter()
            .map(|r| ClassJson::of(&r.class, &r.course, &r.trainer, (r.learners, r.attended)))
            .collect(),
        total: page.total.min(svc::COUNT_CAP + 1),
        total_capped: page.total > svc::COUNT_CAP,
        next: page.next.as_ref().map(|c| {
            let and = if base.is_empty() { "" } else { "&" };
            format!(
                "/api/v1/classes?{base}{and}after={}",
                url_encode(&c.encode())
            )
        }),
    }))
}

/// A class with its roster's counts (learners and attended are the class's own fields).
#[derive(Serialize)]
pub struct ClassDetailJson {
    #[serde(flatten)]
    class: ClassJson,
    codes_issued: u64,
    survey_invitations: u64,
    survey_responses: u64,
}

/// `GET /api/v1/classes/{ref}`: one class and its roster's counts (404 for a class a
/// trainer does not teach, as for one that does not exist).
pub async fn class(
    State(state): State<AppState>,
    ApiUser(caller): ApiUser,
    Path(class_ref): Path<String>,
) -> Result<Json<ClassDetailJson>, AppError> {
    let class_ref = parse_code(&class_ref, 64).map_err(|_| AppError::NotFound)?;
    let class = svc::by_ref(&state.db, &class_ref)
        .await?
        .ok_or(AppError::NotFound)?;
    if let ApiCaller::Session(user) = &caller {
        trainer_svc::ensure_visible(&state.db, &user.caller(), class.trainer_id).await?;
    }
    let (course, trainer) = svc::parts(&state.db, &class).await?;
    let (learners, attended) = rosters::counts(&state.db, class.id).await?;
    let codes = codes::class_figures(&state.db, class.id).await?;
    let surveys = surveys::class_figures(&state.db, class.id).await?;
    Ok(Json(ClassDetailJson {
        class: ClassJson::of(&class, &course, &trainer, (learners, attended)),
        codes_issued: codes.issued,
        survey_invitations: surveys.invitations,
        survey_responses: surveys.responses,
    }))
}

/// The OpenAPI description of this API (`app/src/web/openapi.json`, checked against the
/// routes and their answers by `tests/api.rs`).
pub const OPENAPI: &str = include_str!("openapi.json");

/// `GET /api/v1/openapi.json`: public, as API descriptions are.
pub async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}
