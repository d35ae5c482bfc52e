//! The filtered list of classes and its CSV export.
use askama::Template;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::{ListRow, Options, enum_options, scoped};
use crate::clock;
use crate::domain::catalog::SolutionArea;
use crate::domain::delivery::{ClassStatus, Modality};
use crate::domain::fields::parse_optional_date;
use crate::domain::role::Role;
use crate::services::classes::{self as svc, ClassFilter, Cursor, Direction, Sort, SortKey};
use crate::services::{exports, versions};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::CurrentUser;
use crate::web::page::{FieldErrors, Page, PageContext, csv_download, streamed, url_encode};

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
    pub learner: String,
    pub location: String,
    pub sort: String,
    pub dir: String,
    pub after: String,
}

impl ListQuery {
    /// The filter, and a message per parameter that could not be used.
    pub(crate) fn filter(&self) -> (ClassFilter, FieldErrors) {
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
            learner: self.learner.trim().to_string(),
            location: self.location.trim().to_string(),
        };
        (filter, e)
    }

    /// The order asked for (the default, newest start first, when none is), and a
    /// message per parameter that could not be used into `e`.
    pub(crate) fn sort(&self, e: &mut FieldErrors) -> Sort {
        let key = match self.sort.trim() {
            "" => None,
            raw => e.check("sort", raw.parse::<SortKey>()),
        };
        let dir = match self.dir.trim() {
            "" => None,
            raw => e.check("dir", raw.parse::<Direction>()),
        };
        match key {
            Some(key) => Sort {
                key,
                dir: dir.unwrap_or(key.first_direction()),
            },
            None => Sort {
                dir: dir.unwrap_or(Sort::default().dir),
                ..Sort::default()
            },
        }
    }

    /// This query string's filters (no order, no page cursor).
    fn filters(&self) -> Vec<(&'static str, &String)> {
        vec![
            ("status", &self.status),
            ("modality", &self.modality),
            ("course", &self.course),
            ("mct", &self.mct),
            ("area", &self.area),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.q),
            ("learner", &self.learner),
            ("location", &self.location),
        ]
    }

    fn encode(pairs: &[(&'static str, &String)]) -> String {
        pairs
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", url_encode(v.trim())))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// This query string without the page cursor, for export and next-page links.
    pub(crate) fn without_cursor(&self) -> String {
        let mut pairs = self.filters();
        pairs.push(("sort", &self.sort));
        pairs.push(("dir", &self.dir));
        Self::encode(&pairs)
    }

    /// The list with these filters sorted by `key`: the other way round when it is
    /// sorted by `key` already, else in `key`'s first direction.
    fn sorted_by(&self, current: Sort, key: SortKey) -> String {
        let dir = if current.key == key {
            current.dir.reversed()
        } else {
            key.first_direction()
        };
        let (sort, dir) = (key.id().to_string(), dir.id().to_string());
        let mut pairs = self.filters();
        pairs.push(("sort", &sort));
        pairs.push(("dir", &dir));
        format!("/classes?{}", Self::encode(&pairs))
    }
}

/// A column head of the list: a link that sorts by it, and whether it does now.
pub struct SortHead {
    pub label: &'static str,
    pub href: String,
    /// `aria-sort`: `ascending` / `descending` on the column the list is sorted by.
    pub aria_sort: Option<&'static str>,
    /// ` ▲` / ` ▼` on that column (hidden from screen readers, which read `aria-sort`).
    pub arrow: &'static str,
    pub numeric: bool,
}

fn sort_heads(query: &ListQuery, current: Sort) -> Vec<SortHead> {
    let head = |key: SortKey| SortHead {
        label: key.label(),
        href: query.sorted_by(current, key),
        aria_sort: (current.key == key).then(|| current.dir.label()),
        arrow: match (current.key == key, current.dir) {
            (false, _) => "",
            (true, Direction::Asc) => " ▲",
            (true, Direction::Desc) => " ▼",
        },
        numeric: key == SortKey::Learners,
    };
    [
        SortKey::Ref,
        SortKey::Course,
        SortKey::Mct,
        SortKey::Date,
        SortKey::Status,
        SortKey::Learners,
    ]
    .into_iter()
    .map(head)
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
    /// The column heads, in table order: class, course, MCT, dates, status, learners.
    heads: Vec<SortHead>,
    /// The order in words, for the table's caption.
    order: String,
    next: Option<String>,
    first_page: Option<String>,
    export: String,
    statuses: Options,
    modalities: Options,
    areas: Options,
    /// Course and MCT filter options (none for a trainer, who sees their own classes).
    courses: std::sync::Arc<Options>,
    mcts: std::sync::Arc<Options>,
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
    let (filter, mut errors) = query.filter();
    let sort = query.sort(&mut errors);
    let after = Cursor::decode(sort.key, &query.after);
    let scoped_filter = scoped(&state, &user, filter).await?;
    // Read first, so whatever is cached under them was read no earlier than this request.
    let versions = versions::read(&state.db).await?;
    let (rows, total, next) = match &scoped_filter {
        Some(filter) => {
            let page = state
                .class_pages
                .list(&state.db, versions, filter, sort, after.as_ref(), PAGE_SIZE)
                .await?;
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
                page.next.clone(),
            )
        }
        None => (vec![], "0 classes match.".into(), None),
    };
    let base = query.without_cursor();
    let is_trainer = user.role == Role::Trainer;
    let (courses, mcts) = if is_trainer {
        Default::default()
    } else {
        let pickers = state.pickers.pickers(&state.db, versions).await?;
        (pickers.courses, pickers.mcts)
    };
    let title = if is_trainer { "My classes" } else { "Classes" };
    let page = ListPage {
        page: ctx.page(title),
        errors,
        rows,
        total,
        heads: sort_heads(&query, sort),
        order: format!("{} {}", sort.key.label(), sort.dir.label()),
        next: next.map(|c| {
            format!(
                "/classes?{}{}after={}",
                base,
                if base.is_empty() { "" } else { "&" },
                url_encode(&c.encode())
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
    let (filter, mut errors) = query.filter();
    let sort = query.sort(&mut errors);
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
        if let Err(e) = exports::classes(&db, &filter, sort, sender).await {
            tracing::error!(error = %e, "class export failed part way");
        }
    });
    Ok(csv_download(&name, streamed(receiver)))
}
