//! The class form: scheduling a class, editing it, and amending a confirmed one.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::Form;

use super::{Options, course_options, enum_options, trainer_options};
use crate::domain::delivery::Modality;
use crate::domain::recording::RecordingStatus;
use crate::ledger::Actor;
use crate::services::classes::{self as svc, ClassFields};
use crate::services::{Outcome, courses as course_svc, trainers as trainer_svc};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::EditorUser;
use crate::web::page::{
    FieldErrors, FlashKind, Page, PageContext, field_errors, redirect_with_flash,
};

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
            let note = if r.status == RecordingStatus::Published {
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

/// The flash after saving `class`: `done`, or a warning naming the MCT's other live
/// classes on overlapping dates (saved all the same: the coordinator decides).
async fn with_double_bookings(
    state: &AppState,
    class: &entity::classes::Model,
    done: String,
) -> Result<(FlashKind, String), AppError> {
    let others = svc::double_bookings(&state.db, class).await?;
    if others.is_empty() {
        return Ok((FlashKind::Success, done));
    }
    let trainer = trainer_svc::get(&state.db, class.trainer_id).await?;
    let listed: Vec<String> = others
        .iter()
        .map(|c| {
            format!(
                "{} ({})",
                c.class_ref,
                svc::date_range(c.start_date, c.end_date)
            )
        })
        .collect();
    Ok((
        FlashKind::Warning,
        format!(
            "{done} Check the MCT: {} is also booked on {} on overlapping dates.",
            trainer.name,
            listed.join(", ")
        ),
    ))
}

/// `?copy={id}` on the new-class form: start from that class.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct NewQuery {
    copy: String,
}

/// The ref proposed for a class scheduled now (`classes.ref_pattern`).
async fn proposed_ref(state: &AppState) -> Result<String, AppError> {
    let today = crate::clock::now().date_naive();
    Ok(svc::next_ref(&state.db, &state.config.classes.ref_pattern, today).await?)
}

/// `GET /classes/new`: the form with the next class ref proposed; `?copy={id}` fills it
/// from that class (course, MCT, dates, modality, location, survey link, recording), to
/// be scheduled as a new class.
pub async fn new(
    State(state): State<AppState>,
    ctx: PageContext,
    _user: EditorUser,
    Query(query): Query<NewQuery>,
) -> Result<Response, AppError> {
    let copied = match query.copy.trim() {
        "" => None,
        raw => {
            let id: i64 = raw.parse().map_err(|_| AppError::NotFound)?;
            let class = svc::get(&state.db, id).await?;
            let (course, trainer) = svc::parts(&state.db, &class).await?;
            Some(ClassFields::of(&class, &course, &trainer))
        }
    };
    let form = ClassFields {
        class_ref: proposed_ref(&state).await?,
        status: String::new(),
        reason: String::new(),
        ..copied.unwrap_or_else(|| ClassFields {
            modality: Modality::InPerson.id().into(),
            ..Default::default()
        })
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
    Form(mut form): Form<ClassFields>,
) -> Result<Response, AppError> {
    // A ref left blank is numbered from the pattern.
    if form.class_ref.trim().is_empty() {
        form.class_ref = proposed_ref(&state).await?;
    }
    let errors = match form.parse(false) {
        Ok(input) => match svc::create(
            &state.db,
            &Actor::User(user.id),
            &input,
            &state.config.server,
        )
        .await
        {
            Ok(class) => {
                let (kind, text) =
                    with_double_bookings(&state, &class, format!("{} scheduled.", class.class_ref))
                        .await?;
                return Ok(redirect_with_flash(
                    &format!("/classes/{}", class.id),
                    kind,
                    text,
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
    let confirmed = class.status.is_closed();
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
    let confirmed = class.status.is_closed();
    let errors = match form.parse(false) {
        Ok(input) => {
            match svc::update(
                &state.db,
                &Actor::User(user.id),
                id,
                &input,
                &form.reason,
                &state.config.server,
            )
            .await
            {
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
                    let (kind, text) = match &outcome {
                        Outcome::Unchanged(_) => (FlashKind::Success, text),
                        _ => with_double_bookings(&state, outcome.model(), text).await?,
                    };
                    return Ok(redirect_with_flash(
                        &format!("/classes/{id}"),
                        kind,
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
