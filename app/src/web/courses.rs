//! The Title Plan pages.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::Form;
use entity::courses;
use serde::Deserialize;

use super::page::{FieldErrors, FlashKind, Page, PageContext, field_errors, redirect_with_flash};
use crate::domain::catalog::{Content, SolutionArea};
use crate::ledger::Actor;
use crate::services::Outcome;
use crate::services::courses::{self as svc, CourseFields};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::{EditorUser, ReaderUser};

pub struct CourseRow {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub days: i32,
    pub category: &'static str,
    pub area: &'static str,
    pub official: bool,
    pub version: String,
    pub retired: bool,
}

impl CourseRow {
    fn of(c: &courses::Model) -> CourseRow {
        CourseRow {
            id: c.id,
            code: c.course_code.clone(),
            title: c.title.clone(),
            days: c.duration_days,
            category: svc::category(c).label(),
            area: c.solution_area.map_or("—", |a| a.label()),
            official: c.content == Content::Official,
            version: c.courseware_version.clone(),
            retired: c.retired,
        }
    }
}

#[derive(Template)]
#[template(path = "courses/list.html")]
struct ListPage {
    page: Page,
    rows: Vec<CourseRow>,
    q: String,
    retired: bool,
    may_edit: bool,
    limited: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    retired: String,
}

pub async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    user: ReaderUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let include_retired = query.retired == "true";
    let found = svc::list(&state.db, &query.q, include_retired).await?;
    let page = ListPage {
        page: ctx.page("Courses"),
        limited: found.len() as u64 == svc::LIST_LIMIT,
        rows: found.iter().map(CourseRow::of).collect(),
        q: query.q,
        retired: include_retired,
        may_edit: user.role.may_edit_records(),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "courses/form.html")]
struct FormPage {
    page: Page,
    /// `None` while creating.
    course: Option<CourseRow>,
    form: CourseFields,
    errors: FieldErrors,
    areas: Vec<(String, String)>,
    contents: Vec<(String, String)>,
}

fn form_page(
    ctx: &PageContext,
    course: Option<CourseRow>,
    form: CourseFields,
    errors: FieldErrors,
) -> FormPage {
    let title = match &course {
        Some(c) => format!("Course {}", c.code),
        None => "Add a course".to_string(),
    };
    FormPage {
        page: ctx.page(&title),
        course,
        form,
        errors,
        areas: SolutionArea::ALL
            .iter()
            .map(|a| (a.id().to_string(), a.label().to_string()))
            .collect(),
        contents: vec![
            ("official".into(), "Official Microsoft courseware".into()),
            ("unofficial".into(), "Unofficial (partner's own)".into()),
        ],
    }
}

fn render(page: FormPage, status: StatusCode) -> Result<Response, AppError> {
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn new(ctx: PageContext, _user: EditorUser) -> Result<Response, AppError> {
    let form = CourseFields {
        content: "official".into(),
        fundamentals: "false".into(),
        ..Default::default()
    };
    render(
        form_page(&ctx, None, form, FieldErrors::default()),
        StatusCode::OK,
    )
}

/// An unticked checkbox sends nothing: that means `false`.
fn with_checkbox(mut form: CourseFields) -> CourseFields {
    if form.fundamentals.is_empty() {
        form.fundamentals = "false".into();
    }
    form
}

pub async fn create(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Form(form): Form<CourseFields>,
) -> Result<Response, AppError> {
    let form = with_checkbox(form);
    let errors = match form.parse() {
        Ok(input) => match svc::create(&state.db, &Actor::User(user.id), &input).await {
            Ok(course) => {
                let to = format!("/courses/{}", course.id);
                return Ok(redirect_with_flash(
                    &to,
                    FlashKind::Success,
                    format!("{} added to the Title Plan.", course.course_code),
                    state.config.server.secure_cookies,
                ));
            }
            Err(e) => field_errors(e)?,
        },
        Err(errors) => errors,
    };
    render(
        form_page(&ctx, None, form, errors),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

pub async fn edit(
    State(state): State<AppState>,
    ctx: PageContext,
    _user: EditorUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let course = svc::get(&state.db, id).await?;
    render(
        form_page(
            &ctx,
            Some(CourseRow::of(&course)),
            CourseFields::of(&course),
            FieldErrors::default(),
        ),
        StatusCode::OK,
    )
}

pub async fn update(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Path(id): Path<i64>,
    Form(form): Form<CourseFields>,
) -> Result<Response, AppError> {
    let course = svc::get(&state.db, id).await?;
    let form = with_checkbox(form);
    let errors = match form.parse() {
        Ok(input) => match svc::update(&state.db, &Actor::User(user.id), id, &input).await {
            Ok(outcome) => {
                let text = match &outcome {
                    Outcome::Unchanged(c) => {
                        format!("Nothing to save: {} is unchanged.", c.course_code)
                    }
                    _ => format!("{} saved.", outcome.model().course_code),
                };
                return Ok(redirect_with_flash(
                    &format!("/courses/{id}"),
                    FlashKind::Success,
                    text,
                    state.config.server.secure_cookies,
                ));
            }
            Err(e) => field_errors(e)?,
        },
        Err(errors) => errors,
    };
    render(
        form_page(&ctx, Some(CourseRow::of(&course)), form, errors),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

#[derive(Deserialize)]
pub struct RetireForm {
    #[serde(default)]
    retired: String,
}

pub async fn retire(
    State(state): State<AppState>,
    user: EditorUser,
    Path(id): Path<i64>,
    Form(form): Form<RetireForm>,
) -> Result<Response, AppError> {
    let retired = crate::domain::fields::parse_bool(&form.retired)
        .map_err(|m| AppError::BadRequest(format!("retired {m}")))?;
    let course = svc::set_retired(&state.db, &Actor::User(user.id), id, retired).await?;
    let text = if course.retired {
        format!(
            "{} is retired: it can no longer be scheduled.",
            course.course_code
        )
    } else {
        format!("{} can be scheduled again.", course.course_code)
    };
    Ok(redirect_with_flash(
        &format!("/courses/{id}"),
        FlashKind::Success,
        text,
        state.config.server.secure_cookies,
    ))
}
