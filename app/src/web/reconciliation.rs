//! Reconciliation with Partner Center: the months side by side, Microsoft's file through
//! the mapping editor, a month item by item, and its support-case packet.
use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::NaiveDate;

use super::page::{FlashKind, Page, PageContext, csv_download, redirect_with_flash};
use super::upload;
use crate::domain::fields::FieldErrors;
use crate::domain::plural::count;
use crate::domain::reconciliation::{DateFormat, Field, Figure, Mapping, PACKET_COLUMNS};
use crate::domain::role::Role;
use crate::ledger::Actor;
use crate::services::reconciliation::import::{self, Preview};
use crate::services::reconciliation::{self as svc, FigureRows, MonthDetail};
use crate::services::vouchers::points_text;
use crate::services::{ServiceError, settings};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::{EditorUser, ReaderUser};

#[derive(Template)]
#[template(path = "reconciliation/page.html")]
struct OverviewPage {
    page: Page,
    figures: Vec<FigureRows>,
    choices: Vec<(String, String)>,
    can_import: bool,
    errors: FieldErrors,
    figure: String,
}

fn figure_options() -> Vec<(String, String)> {
    Figure::ALL
        .iter()
        .map(|f| (f.id().to_string(), f.label().to_string()))
        .collect()
}

async fn overview(
    state: &AppState,
    ctx: &PageContext,
    errors: FieldErrors,
    figure: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let figures = svc::overview(&state.db).await?;
    let can_import = ctx
        .user
        .as_ref()
        .is_some_and(|u| matches!(u.role, Role::Admin | Role::Coordinator));
    let page = OverviewPage {
        page: ctx.page("Reconciliation with Partner Center"),
        figures,
        choices: figure_options(),
        can_import,
        errors,
        figure,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /reconciliation`.
pub async fn page(
    State(state): State<AppState>,
    ctx: PageContext,
    _user: ReaderUser,
) -> Result<Response, AppError> {
    overview(
        &state,
        &ctx,
        FieldErrors::default(),
        String::new(),
        StatusCode::OK,
    )
    .await
}

/// One field of the editor: its select's name, label, options and the chosen column.
pub struct FieldRow {
    pub name: String,
    pub label: &'static str,
    pub required: bool,
    pub chosen: String,
}

#[derive(Template)]
#[template(path = "reconciliation/editor.html")]
struct EditorPage {
    page: Page,
    preview: Preview,
    fields: Vec<FieldRow>,
    date_formats: Vec<(String, String)>,
    date_format: String,
    save_as: String,
    problem: Option<String>,
    errors: FieldErrors,
}

fn editor(
    ctx: &PageContext,
    preview: Preview,
    mapping: &Mapping,
    save_as: String,
    problem: Option<String>,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let (required, optional) = preview.figure.fields();
    let fields = required
        .iter()
        .map(|f| (f, true))
        .chain(optional.iter().map(|f| (f, false)))
        .map(|(f, required)| FieldRow {
            name: format!("col_{}", f.id()),
            label: f.label(),
            required,
            chosen: mapping.columns.get(f).cloned().unwrap_or_default(),
        })
        .collect();
    let page = EditorPage {
        page: ctx.page("Map Microsoft's columns"),
        fields,
        date_formats: DateFormat::ALL
            .iter()
            .map(|d| (d.id().to_string(), d.label().to_string()))
            .collect(),
        date_format: mapping.date_format.id().to_string(),
        save_as,
        problem,
        errors,
        preview,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `POST /reconciliation/upload`: keeps the file and shows the mapping editor.
pub async fn upload(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let upload = upload::read(
        multipart,
        &state.config.data.dir.join("uploads"),
        state.config.server.max_upload_bytes,
    )
    .await?;
    let figure_id = upload.text("figure").to_string();
    let refusal = |field: &'static str, message: String| {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        errors
    };
    let figure = match figure_id.parse::<Figure>() {
        Ok(f) => f,
        Err(_) => {
            let errors = refusal(
                "figure",
                "Choose which of Microsoft's downloads this is.".into(),
            );
            return overview(
                &state,
                &ctx,
                errors,
                figure_id,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let Some(file) = upload.file.as_ref() else {
        let errors = refusal(
            "file",
            "Choose the CSV file downloaded from Partner Center.".into(),
        );
        return overview(
            &state,
            &ctx,
            errors,
            figure_id,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    // Told before the file is read into memory.
    let len = file.as_file().metadata().map(|m| m.len()).unwrap_or(0);
    if len > import::MAX_FILE_BYTES as u64 {
        let errors = refusal("file", import::TOO_LARGE.into());
        return overview(
            &state,
            &ctx,
            errors,
            figure_id,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let bytes = std::fs::read(file.path()).map_err(|e| AppError::Internal(e.into()))?;
    let name = upload.file_name.clone();
    match import::upload(&state.db, &Actor::User(user.id), figure, &name, bytes).await {
        Ok(preview) => {
            let mapping = preview.suggested.clone();
            let save_as = preview.suggested_name.clone().unwrap_or_default();
            editor(
                &ctx,
                preview,
                &mapping,
                save_as,
                None,
                FieldErrors::default(),
                StatusCode::OK,
            )
        }
        Err(ServiceError::Field { field, message }) => {
            let errors = refusal(field, message);
            overview(
                &state,
                &ctx,
                errors,
                figure_id,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /reconciliation/import`: the editor's form.
pub async fn import(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    axum::Form(form): axum::Form<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    let text = |name: &str| form.get(name).map(String::as_str).unwrap_or("").to_string();
    let token = text("token");
    let preview = import::preview(&state.db, &token).await?;
    let mut errors = FieldErrors::default();
    let date_format = match text("date_format").parse::<DateFormat>() {
        Ok(d) => d,
        Err(m) => {
            errors.add("date_format", m);
            DateFormat::Iso
        }
    };
    let columns: BTreeMap<Field, String> = Field::ALL
        .iter()
        .filter_map(|f| {
            let chosen = text(&format!("col_{}", f.id()));
            (!chosen.trim().is_empty()).then(|| (*f, chosen))
        })
        .collect();
    let mapping = Mapping {
        figure: preview.figure,
        columns,
        date_format,
    };
    let save_as = text("save_as");
    if !errors.is_empty() {
        return editor(
            &ctx,
            preview,
            &mapping,
            save_as,
            None,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    match import::import(&state.db, &Actor::User(user.id), &token, &mapping, &save_as).await {
        Ok(done) => {
            let replaced = if done.replaced > 0 {
                format!(
                    ", replacing {} earlier lines of those months",
                    done.replaced
                )
            } else {
                String::new()
            };
            Ok(redirect_with_flash(
                "/reconciliation",
                FlashKind::Success,
                format!(
                    "{}: {} from {} to {} imported{replaced}.",
                    done.import.figure.label(),
                    count(done.import.lines as u64, "line", "lines"),
                    done.import.first_date,
                    done.import.last_date
                ),
                state.config.server.secure_cookies,
            ))
        }
        Err(ServiceError::Field { field, message }) => {
            errors.add(field, message);
            editor(
                &ctx,
                preview,
                &mapping,
                save_as,
                None,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(ServiceError::Refused(problem)) => editor(
            &ctx,
            preview,
            &mapping,
            save_as,
            Some(problem),
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(e.into()),
    }
}

fn parse_target(figure: &str, month: &str) -> Result<(Figure, NaiveDate), AppError> {
    let figure = figure
        .parse::<Figure>()
        .map_err(|m| AppError::BadRequest(format!("figure {m}")))?;
    let month = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").map_err(|_| {
        AppError::BadRequest(format!("month must be written YYYY-MM, not {month:?}"))
    })?;
    Ok((figure, month))
}

#[derive(Template)]
#[template(path = "reconciliation/month.html")]
struct MonthPage {
    page: Page,
    detail: MonthDetail,
    month: String,
    points_app: String,
    points_microsoft: String,
}

/// `GET /reconciliation/{figure}/{month}`.
pub async fn month(
    State(state): State<AppState>,
    ctx: PageContext,
    _user: ReaderUser,
    Path((figure, month)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (figure, first) = parse_target(&figure, &month)?;
    let detail = svc::month(&state.db, figure, first).await?;
    let page = MonthPage {
        page: ctx.page(&format!("{} — {}", figure.label(), first.format("%B %Y"))),
        month: first.format("%Y-%m").to_string(),
        points_app: points_text(detail.app.half_points),
        points_microsoft: points_text(detail.microsoft.half_points),
        detail,
    };
    Ok(Html(page.render()?).into_response())
}

async fn packet_of(
    state: &AppState,
    figure: &str,
    month: &str,
) -> Result<(crate::domain::reconciliation::SupportPacket, String, String), AppError> {
    let (figure, first) = parse_target(figure, month)?;
    let detail = svc::month(&state.db, figure, first).await?;
    let org = settings::get(&state.db).await?;
    let name = format!("support-case-{}-{}", figure.id(), first.format("%Y-%m"));
    Ok((
        svc::packet(&detail, &org.partner_location_id),
        org.organization_name,
        name,
    ))
}

/// `GET /reconciliation/{figure}/{month}/packet.txt`: the case's text.
pub async fn packet_text(
    State(state): State<AppState>,
    _user: ReaderUser,
    Path((figure, month)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (packet, organisation, name) = packet_of(&state, &figure, &month).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.txt\""),
            ),
        ],
        packet.text(&organisation),
    )
        .into_response())
}

/// `GET /reconciliation/{figure}/{month}/packet.csv`: one row per transaction date.
pub async fn packet_csv(
    State(state): State<AppState>,
    _user: ReaderUser,
    Path((figure, month)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (packet, _, name) = packet_of(&state, &figure, &month).await?;
    let mut writer = csv::Writer::from_writer(vec![]);
    let fail = |e: csv::Error| AppError::Internal(e.into());
    crate::services::exports::write_row(&mut writer, PACKET_COLUMNS).map_err(fail)?;
    for record in packet.records() {
        crate::services::exports::write_row(&mut writer, record).map_err(fail)?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("csv: {e}")))?;
    Ok(csv_download(&format!("{name}.csv"), body.into()))
}
