//! The import page: upload or paste a CSV of any kind.
use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::page::{FlashKind, Page, PageContext, redirect_with_flash};
use super::upload;
use crate::domain::role::Role;
use crate::ledger::Actor;
use crate::services::imports::{self, ImportFailure, Kind};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::EditorUser;

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
    summary: String,
    note: Option<&'static str>,
    /// Pasted text of a refused import, back in its box.
    csv: String,
    /// Admins may import confirmed classes, with a reason for the file (rule 7).
    admin: bool,
    reason: String,
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

/// "Nothing was imported: 1 problem on 1 line." (and how many are listed when cut).
pub fn refusal_summary(total: u64, bad_lines: u64, listed: usize) -> String {
    use crate::domain::plural::count;
    let cut = if total > listed as u64 {
        format!(" (the first {listed} are listed)")
    } else {
        String::new()
    };
    format!(
        "Nothing was imported: {} on {}{cut}.",
        count(total, "problem", "problems"),
        count(bad_lines, "line", "lines")
    )
}

/// What the form held, sent back with a refusal.
#[derive(Default)]
struct Typed {
    kind: String,
    reason: String,
    csv: String,
}

#[allow(clippy::too_many_arguments)]
fn render(
    ctx: &PageContext,
    typed: Typed,
    problem: Option<String>,
    errors: Vec<String>,
    total: u64,
    bad_lines: u64,
    note: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = ImportPage {
        page: ctx.page("Import"),
        kinds: kinds(),
        kind: typed.kind,
        problem,
        summary: refusal_summary(total, bad_lines, errors.len()),
        errors,
        note,
        csv: typed.csv,
        admin: ctx.user.as_ref().is_some_and(|u| u.role == Role::Admin),
        reason: typed.reason,
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
    let typed = Typed {
        kind: q.kind,
        ..Typed::default()
    };
    render(&ctx, typed, None, vec![], 0, 0, None, StatusCode::OK)
}

pub async fn upload(
    State(state): State<AppState>,
    ctx: PageContext,
    user: EditorUser,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let upload = upload::read_spooled(&state, multipart).await?;
    let kind_id = upload.text("kind").to_string();
    let reason = upload.text("reason").to_string();
    let typed = || Typed {
        kind: kind_id.clone(),
        reason: reason.clone(),
        csv: upload.text("csv").to_string(),
    };
    let fail = |problem: String| {
        render(
            &ctx,
            typed(),
            Some(problem),
            vec![],
            0,
            0,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let kind = match kind_id.parse::<Kind>() {
        Ok(kind) => kind,
        Err(_) => return fail("Choose what the file holds.".into()),
    };
    let actor = Actor::User(user.id);
    // Rule 7: what a classes file may record depends on who imports it (plain value).
    let by = imports::ImportBy::user(user.role, &reason);
    let source = match (&upload.file, upload.text("csv").trim()) {
        (Some(file), _) => imports::Source::file(file.path()),
        (None, "") => return fail("Choose a CSV file or paste its text.".into()),
        (None, text) => imports::Source::bytes(text.as_bytes()),
    };
    let result = imports::run(&state.db, &actor, &by, kind, source, None, |_, _| {}).await;
    if result.is_ok() {
        crate::ledger::checkpoint::write_after_import(&state.db, &state.config).await;
    }
    match result {
        Ok(summary) => Ok(redirect_with_flash(
            &format!("/imports?kind={}", kind.id()),
            FlashKind::Success,
            format!("{} imported: {summary}.", kind.label()),
            state.config.server.secure_cookies,
        )),
        Err(ImportFailure::Invalid {
            errors,
            total,
            bad_lines,
            checked,
        }) => {
            let lines = errors.iter().map(ToString::to_string).collect();
            render(
                &ctx,
                typed(),
                None,
                lines,
                total,
                bad_lines,
                checked.note(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(ImportFailure::Failed(e)) => Err(e.into()),
    }
}
