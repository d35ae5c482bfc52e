//! The import page: upload or paste a CSV of any kind.
use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::page::{Page, PageContext, redirect_with_flash};
use super::upload;
use crate::auth::extract::EditorUser;
use crate::error::AppError;
use crate::ledger::Actor;
use crate::services::imports::{self, ImportFailure, Kind};
use crate::state::AppState;

pub struct KindHelp {
    pub id: &'static str,
    pub label: &'static str,
    pub header: String,
}

#[derive(Template)]
#[template(path = "imports/page.html")]
struct ImportPage {
    page: Page,
    kinds: Vec<KindHelp>,
    kind: String,
    problem: Option<String>,
    errors: Vec<String>,
    total: u64,
    bad_lines: u64,
}

fn kinds() -> Vec<KindHelp> {
    Kind::ALL
        .iter()
        .map(|k| KindHelp {
            id: k.id(),
            label: k.label(),
            header: k.columns().join(","),
        })
        .collect()
}

fn render(
    ctx: &PageContext,
    kind: String,
    problem: Option<String>,
    errors: Vec<String>,
    total: u64,
    bad_lines: u64,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = ImportPage {
        page: ctx.page("Import"),
        kinds: kinds(),
        kind,
        problem,
        errors,
        total,
        bad_lines,
    };
    Ok((status, Html(page.render()?)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct KindQuery {
    kind: String,
}

pub async fn page(
    ctx: PageContext,
    _user: EditorUser,
    Query(q): Query<KindQuery>,
) -> Result<Response, AppError> {
    render(&ctx, q.kind, None, vec![], 0, 0, StatusCode::OK)
}

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
    let kind_id = upload.text("kind").to_string();
    let fail = |problem: String| {
        render(
            &ctx,
            kind_id.clone(),
            Some(problem),
            vec![],
            0,
            0,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let kind = match kind_id.parse::<Kind>() {
        Ok(kind) => kind,
        Err(_) => return fail("Choose what the file holds.".into()),
    };
    let actor = Actor::User(user.id);
    let result = match (&upload.file, upload.text("csv").trim()) {
        (Some(file), _) => {
            let source =
                std::fs::File::open(file.path()).map_err(|e| AppError::Internal(e.into()))?;
            imports::run(&state.db, &actor, kind, source, None, |_| {}).await
        }
        (None, "") => return fail("Choose a CSV file or paste its text.".into()),
        (None, text) => {
            imports::run(
                &state.db,
                &actor,
                kind,
                std::io::Cursor::new(text.to_string().into_bytes()),
                None,
                |_| {},
            )
            .await
        }
    };
    if result.is_ok() {
        crate::server::checkpoint_after_import(&state.db, &state.config).await;
    }
    match result {
        Ok(summary) => Ok(redirect_with_flash(
            &format!("/imports?kind={}", kind.id()),
            "success",
            format!("{} imported: {summary}.", kind.label()),
            state.config.server.secure_cookies,
        )),
        Err(ImportFailure::Invalid {
            errors,
            total,
            bad_lines,
        }) => {
            let lines = errors.iter().map(ToString::to_string).collect();
            render(
                &ctx,
                kind_id,
                None,
                lines,
                total,
                bad_lines,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(ImportFailure::Failed(e)) => Err(e.into()),
    }
}
