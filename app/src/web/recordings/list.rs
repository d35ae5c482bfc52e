//! The list of recordings, with tabs for what needs action and each status.
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::{Flag, flags, recording_status_class, today};
use crate::domain::recording::NO_KPI_CREDIT;
use crate::domain::role::Role;
use crate::services::recordings::{self as svc, RecordingDetail};
use crate::services::trainers as trainer_svc;
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::CurrentUser;
use crate::web::page::{Page, PageContext};

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
