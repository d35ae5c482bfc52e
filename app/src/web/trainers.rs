//! MCT pages: the list with standing warnings, and the create/edit form.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::Form;
use entity::trainers;
use serde::Deserialize;

use super::page::{FieldErrors, FlashKind, Page, PageContext, field_errors, redirect_with_flash};
use crate::clock;
use crate::domain::policy::{STANDING_WARNING_DAYS, Standing, standing};
use crate::ledger::Actor;
use crate::services::Outcome;
use crate::services::trainers::{self as svc, TrainerFields};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::{EditorUser, ReaderUser};

pub struct TrainerRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub mct_id: String,
    pub valid_until: String,
    /// `ok`, `warn` or `bad`: the status pill's modifier.
    pub standing_class: &'static str,
    pub standing_text: String,
    pub affiliated: bool,
    pub linked: bool,
}

impl TrainerRow {
    fn of(t: &trainers::Model, today: chrono::NaiveDate) -> TrainerRow {
        let (standing_class, standing_text) = match standing(t.mct_valid_until, today) {
            Standing::Good => ("ok", "In good standing".to_string()),
            Standing::EndingSoon { days_left: 0 } => ("warn", "Ends today".to_string()),
            Standing::EndingSoon { days_left } => ("warn", format!("Ends in {days_left} days")),
            Standing::Lapsed => ("bad", "Lapsed".to_string()),
        };
        TrainerRow {
            id: t.id,
            name: t.name.clone(),
            email: t.email.clone(),
            mct_id: t.mct_id.clone(),
            valid_until: t.mct_valid_until.to_string(),
            standing_class,
            standing_text,
            affiliated: t.affiliated,
            linked: t.user_id.is_some(),
        }
    }
}

#[derive(Template)]
#[template(path = "trainers/list.html")]
struct ListPage {
    page: Page,
    ending: Vec<TrainerRow>,
    lapsed: Vec<TrainerRow>,
    rows: Vec<TrainerRow>,
    q: String,
    may_edit: bool,
    warning_days: i64,
    limited: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    q: String,
}

pub async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    user: ReaderUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let today = clock::now().date_naive();
    let rows = |list: Vec<trainers::Model>| {
        list.iter()
            .map(|t| TrainerRow::of(t, today))
            .collect::<Vec<_>>()
    };
    let found = svc::list(&state.db, &query.q).await?;
    let page = ListPage {
        page: ctx.page("Trainers"),
        ending: rows(svc::ending_soon(&state.db, today).await?),
        lapsed: rows(svc::lapsed(&state.db, today).await?),
        limited: found.len() as u64 == svc::LIST_LIMIT,
        rows: rows(found),
        q: query.q,
        may_edit: user.role.may_edit_records(),
        warning_days: STANDING_WARNING_DAYS,
    };
    Ok(Html(page.render()?).into_response())
}

/// The form's fields: the CSV's plus the linked account.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TrainerForm {
    #[serde(flatten)]
    fields: TrainerFields,
    user_id: String,
}

#[derive(Template)]
#[template(path = "trainers/form.html")]
struct FormPage {
    page: Page,
    trainer: Option<TrainerRow>,
    form: TrainerFields,
    user_id: String,
    users: Vec<(String, String)>,
    errors: FieldErrors,
}

async fn form_page(
    state: &AppState,
    ctx: &PageContext,
    trainer: Option<TrainerRow>,
    form: TrainerFields,
    user_id: String,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let users = svc::linkable_users(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id.to_string(), format!("{} ({})", u.name, u.email)))
        .collect();
    let title = match &trainer {
        Some(t) => t.name.clone(),
        None => "Add an MCT".into(),
    };
    let page = FormPage {
        page: ctx.page(&title),
        trainer,
        form,
        user_id,
        users,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn new(
    State(state): State<AppState>,
    ctx: PageContext,
    _user: EditorUser,
) -> Result<Response, AppError> {
    let form = TrainerFields {
        affiliated: "true".into(),
        ..Default::default()
    };
    form_page(
        &state,
        &ctx,
        None,
        form,
        String::new(),
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// Parses the form; an unticked checkbox sends nothing, which means `false`.
fn parse(form: &mut TrainerForm) -> Result<(svc::TrainerInput, Option<i64>), FieldErrors> {
    if form.fields.affiliated.is_empty() {
        form.fields.affiliated = "false".into();
    }
    let link = match form.user_id.trim() {
        "" => Ok(None),
        id => id
            .parse::<i64>()
            .map(Some)
            .map_err(|_| "is not an account".to_string()),
    };
    match (form.fields.parse(), link) {
        (Ok(input), Ok(link)) => Ok((input, link)),
        (result, link) => {
            let mut errors = result.err().unwrap_or_default();
            errors.check("user_id", link);
            Err(errors)
        }
    }
}

pub async fn create(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    Form(mut form): Form<TrainerForm>,
) -> Result<Response, AppError> {
    let errors = match parse(&mut form) {
        Ok((input, link)) => {
            match svc::create(&state.db, &Actor::User(user.id), &input, link).await {
                Ok(t) => {
                    return Ok(redirect_with_flash(
                        &format!("/trainers/{}", t.id),
                        FlashKind::Success,
                        format!("{} (MCT {}) added.", t.name, t.mct_id),
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
        form.fields,
        form.user_id,
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
    let t = svc::get(&state.db, id).await?;
    let user_id = t.user_id.map(|u| u.to_string()).unwrap_or_default();
    let row = TrainerRow::of(&t, clock::now().date_naive());
    form_page(
        &state,
        &ctx,
        Some(row),
        TrainerFields::of(&t),
        user_id,
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
    Form(mut form): Form<TrainerForm>,
) -> Result<Response, AppError> {
    let t = svc::get(&state.db, id).await?;
    let errors = match parse(&mut form) {
        Ok((input, link)) => match svc::update(&state.db, &Actor::User(user.id), id, &input, link)
            .await
        {
            Ok(outcome) => {
                let text = match &outcome {
                    Outcome::Unchanged(t) => format!("Nothing to save: {} is unchanged.", t.name),
                    _ => format!("{} saved.", outcome.model().name),
                };
                let (kind, text) = standing_breaks(&state, outcome.model(), text).await?;
                return Ok(redirect_with_flash(
                    &format!("/trainers/{id}"),
                    kind,
                    text,
                    state.config.server.secure_cookies,
                ));
            }
            Err(e) => field_errors(e)?,
        },
        Err(errors) => errors,
    };
    let row = TrainerRow::of(&t, clock::now().date_naive());
    form_page(
        &state,
        &ctx,
        Some(row),
        form.fields,
        form.user_id,
        errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// Rule 1 after the fact: the classes of official content (not cancelled) this MCT's
/// saved valid-until no longer covers, named after `done` as a warning.
async fn standing_breaks(
    state: &AppState,
    trainer: &entity::trainers::Model,
    done: String,
) -> Result<(FlashKind, String), AppError> {
    const NAMED: u64 = 10;
    let breaks = crate::services::todo::class_section(
        &state.db,
        crate::services::todo::standing_breaks(Some(trainer.id)),
        NAMED,
    )
    .await?;
    if breaks.is_empty() {
        return Ok((FlashKind::Success, done));
    }
    let mut listed: Vec<String> = breaks
        .rows
        .iter()
        .map(|r| format!("{} (ends {})", r.class.class_ref, r.class.end_date))
        .collect();
    if breaks.total > NAMED {
        listed.push(format!("and {} more", breaks.total - NAMED));
    }
    Ok((
        FlashKind::Warning,
        format!(
            "{done} {}'s good standing ends on {}, before these classes of official content end: {}. \
             Record the renewed date or give them another MCT (they are on the To do page).",
            trainer.name,
            trainer.mct_valid_until,
            listed.join(", ")
        ),
    ))
}
