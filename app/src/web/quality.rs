//! Quality reports (issue 16 item 5): `/quality` (survey results by MCT, course or
//! solution area over a period, the trend by month, the comments), its two CSV exports,
//! and a class's comments as CSV. Readers see every group; a trainer sees only their own
//! results, through the `quality/_mine.html` summary their home page can show too.
use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::page::{
    FieldErrors, Page, PageContext, csv_download, page_number, streamed, url_encode,
};
use crate::clock;
use crate::domain::fields::parse_optional_date;
use crate::domain::quality::{Figures, MonthFigures, Period};
use crate::domain::role::Role;
use crate::services::classes as class_svc;
use crate::services::quality::{
    self as svc, Comment, CommentCursor, CommentsOf, Group, GroupBy, GroupKey, MyQuality, Selection,
};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::CurrentUser;

/// Groups a page of the report lists.
const GROUPS_PAGE: u64 = 50;
/// Comments a page lists.
const COMMENTS_PAGE: u64 = 25;

/// The report's query string, as typed (bad values are reported next to their field).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct QualityQuery {
    pub by: String,
    pub group: String,
    pub from: String,
    pub to: String,
    /// The comments' page: after this comment (`YYYY-MM-DD_id`).
    pub after: String,
    /// The groups table's page (1-based).
    pub page: String,
}

impl QualityQuery {
    /// The selection `user` asked for, or a message per field that could not be used.
    /// Blank dates are the last 12 months, this one included. A trainer's grouping is
    /// their own whatever they ask (see [`svc::scoped`]), so theirs is not read.
    fn selection(&self, user: &CurrentUser, today: NaiveDate) -> Result<Selection, FieldErrors> {
        if user.role == Role::Trainer && !(self.by.is_empty() && self.group.is_empty()) {
            let own = QualityQuery {
                by: String::new(),
                group: String::new(),
                ..self.clone()
            };
            return own.selection(user, today);
        }
        let mut e = FieldErrors::default();
        let by = match self.by.trim() {
            "" => Some(GroupBy::Trainer),
            raw => e.check("by", raw.parse::<GroupBy>()),
        };
        let group = match (by, self.group.trim()) {
            (_, "") => None,
            (Some(by), raw) => e.check("group", GroupKey::parse(by, raw)),
            (None, _) => None,
        };
        let from = e.check("from", parse_optional_date(&self.from));
        let to = e.check("to", parse_optional_date(&self.to));
        let mut period = None;
        if let (Some(from), Some(to)) = (from, to) {
            let to = to.unwrap_or(today);
            let from = from.unwrap_or_else(|| Period::last_12_months(to).from());
            match Period::new(from, to) {
                Ok(p) => period = Some(p),
                Err((field, message)) => e.add(field, message),
            }
        }
        match (by, period) {
            (Some(by), Some(period)) if e.is_empty() => Ok(Selection { by, period, group }),
            _ => Err(e),
        }
    }
}

/// The query string of `s` (for links and exports); `group` as given.
fn query_of(s: &Selection, group: Option<GroupKey>) -> String {
    let mut q = format!(
        "by={}&from={}&to={}",
        s.by.id(),
        s.period.from(),
        s.period.to()
    );
    if let Some(g) = group {
        q.push_str(&format!("&group={}", url_encode(&g.param())));
    }
    q
}

/// A row of the groups table.
pub struct GroupRow {
    pub group: Group,
    pub figures: Figures,
    /// The query string showing only this group.
    pub focus: String,
    /// The MCT ID or course code beside the name (an area's name says it all).
    pub code: Option<String>,
}

#[derive(Template)]
#[template(path = "quality/page.html")]
struct QualityPage {
    page: Page,
    form: QualityQuery,
    errors: FieldErrors,
    bys: Vec<(String, String)>,
    is_trainer: bool,
    /// A trainer whose sign-in has no MCT record.
    unlinked: bool,
    /// The report's query string (exports, pages); empty when the form was refused.
    query: String,
    /// What a group is, in a sentence ("by course").
    by_label: &'static str,
    /// The one group shown, by name, with the link back to all groups.
    focus: Option<(String, String)>,
    period: String,
    wording: Vec<String>,
    groups: Vec<GroupRow>,
    groups_page: u64,
    groups_prev: Option<String>,
    groups_next: Option<String>,
    total: Figures,
    trend: Vec<MonthFigures>,
    /// The trainer's own summary (their view of the report).
    mine: Option<MyQuality>,
    comments: Vec<Comment>,
    comment_count: u64,
    comments_next: Option<String>,
    comments_first: Option<String>,
}

impl QualityPage {
    fn empty(page: Page, form: QualityQuery, is_trainer: bool, wording: Vec<String>) -> Self {
        QualityPage {
            page,
            form,
            errors: FieldErrors::default(),
            bys: GroupBy::ALL
                .iter()
                .map(|b| (b.id().to_string(), b.label().to_string()))
                .collect(),
            is_trainer,
            unlinked: false,
            query: String::new(),
            by_label: "MCT",
            focus: None,
            period: String::new(),
            wording,
            groups: vec![],
            groups_page: 1,
            groups_prev: None,
            groups_next: None,
            total: Figures::default(),
            trend: vec![],
            mine: None,
            comments: vec![],
            comment_count: 0,
            comments_next: None,
            comments_first: None,
        }
    }
}

fn wording(state: &AppState) -> Vec<String> {
    (0..crate::domain::quality::QUESTIONS)
        .map(|i| {
            state
                .config
                .surveys
                .questions
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("Question {}", i + 1))
        })
        .collect()
}

/// `GET /quality`: the report for readers, the signed-in MCT's own results for a trainer.
pub async fn page(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    Query(form): Query<QualityQuery>,
) -> Result<Response, AppError> {
    let is_trainer = user.role == Role::Trainer;
    let title = if is_trainer {
        "My survey results"
    } else {
        "Quality"
    };
    let mut view = QualityPage::empty(ctx.page(title), form.clone(), is_trainer, wording(&state));
    let asked = match form.selection(&user, clock::now().date_naive()) {
        Ok(s) => s,
        Err(errors) => {
            view.errors = errors;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(view.render()?)).into_response());
        }
    };
    let Some(s) = svc::scoped(&state.db, &user.caller(), asked).await? else {
        view.unlinked = true;
        return Ok(Html(view.render()?).into_response());
    };
    // The form shows what is shown: the dates used, and (for a trainer) their own group.
    view.form.from = s.period.from().to_string();
    view.form.to = s.period.to().to_string();
    view.form.by = s.by.id().to_string();
    view.by_label = match s.by {
        GroupBy::Trainer => "MCT",
        GroupBy::Course => "course",
        GroupBy::Area => "solution area",
    };
    view.period = format!("{} – {}", s.period.from(), s.period.to());
    view.query = query_of(&s, if is_trainer { None } else { s.group });
    let base = query_of(&s, None);
    if is_trainer {
        let Some(GroupKey::Trainer(own)) = s.group else {
            return Err(AppError::Forbidden);
        };
        let mine = svc::of_trainer(&state.db, &view.wording, own, s.period, 0).await?;
        view.comment_count = mine.comments;
        view.mine = Some(mine);
    } else {
        let report = svc::report(&state.db, &s).await?;
        let groups_page = page_number(&form.page, GROUPS_PAGE)?;
        let skip = ((groups_page - 1) * GROUPS_PAGE) as usize;
        let shown = report
            .groups
            .len()
            .saturating_sub(skip)
            .min(GROUPS_PAGE as usize);
        let page_link = |n: u64| {
            let mut q = view.query.clone();
            q.push_str(&format!("&page={n}"));
            format!("/quality?{q}")
        };
        view.groups_prev = (groups_page > 1).then(|| page_link(groups_page - 1));
        view.groups_next = (skip + shown < report.groups.len()).then(|| page_link(groups_page + 1));
        view.groups_page = groups_page;
        view.groups = report
            .groups
            .into_iter()
            .skip(skip)
            .take(GROUPS_PAGE as usize)
            .map(|g| GroupRow {
                focus: query_of(&s, Some(g.group.key)),
                code: match g.group.key {
                    GroupKey::Area(_) => None,
                    _ => Some(g.group.code.clone()),
                },
                group: g.group,
                figures: g.figures,
            })
            .collect();
        if let Some(key) = s.group {
            let name = view.groups.first().map_or_else(
                || format!("{} {}", s.by.label(), key.param()),
                |g| g.group.name.clone(),
            );
            view.focus = Some((name, format!("/quality?{base}")));
        }
        view.total = report.total.figures;
        view.trend = report.total.trend;
        view.comment_count = svc::comment_count(&state.db, &CommentsOf::Selection(s)).await?;
    }
    let after = CommentCursor::decode(&form.after);
    if !form.after.trim().is_empty() && after.is_none() {
        return Err(AppError::BadRequest(format!(
            "after must be a comment's place (YYYY-MM-DD_id), not {}",
            crate::domain::fields::shown(&form.after)
        )));
    }
    let mut comments = svc::comments(
        &state.db,
        &CommentsOf::Selection(s),
        after,
        COMMENTS_PAGE + 1,
    )
    .await?;
    if comments.len() as u64 > COMMENTS_PAGE {
        comments.truncate(COMMENTS_PAGE as usize);
        let last = CommentCursor::of(comments.last().expect("a full page"));
        view.comments_next = Some(format!(
            "/quality?{}&after={}#comments",
            view.query,
            last.encode()
        ));
    }
    view.comments_first = after.map(|_| format!("/quality?{}#comments", view.query));
    view.comments = comments;
    Ok(Html(view.render()?).into_response())
}

/// The selection of an export, scoped to the caller, or a `400` naming the bad parameter.
/// `None`: a trainer without an MCT record (the export is its header alone).
async fn export_selection(
    state: &AppState,
    user: &CurrentUser,
    form: &QualityQuery,
) -> Result<Option<Selection>, AppError> {
    let asked = form
        .selection(user, clock::now().date_naive())
        .map_err(|e| {
            let (field, message) = e.0.first().cloned().unwrap_or(("query", String::new()));
            AppError::BadRequest(format!("{field} {message}"))
        })?;
    Ok(svc::scoped(&state.db, &user.caller(), asked).await?)
}

fn file_name(kind: &str, s: Option<&Selection>) -> String {
    match s {
        Some(s) => format!(
            "quality-{kind}-{}-{}-{}.csv",
            s.by.id(),
            s.period.from(),
            s.period.to()
        ),
        None => format!("quality-{kind}.csv"),
    }
}

/// `GET /quality.csv`: the figures of the report (same filters as the page).
pub async fn figures_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(form): Query<QualityQuery>,
) -> Result<Response, AppError> {
    let s = export_selection(&state, &user, &form).await?;
    let body = match &s {
        Some(s) => svc::figures_csv(&state.db, s).await?,
        None => format!("{}\n", svc::FIGURE_COLUMNS.join(",")).into_bytes(),
    };
    Ok(csv_download(
        &file_name("figures", s.as_ref()),
        Body::from(body),
    ))
}

/// `GET /quality/comments.csv`: the report's comments, newest first.
pub async fn comments_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(form): Query<QualityQuery>,
) -> Result<Response, AppError> {
    let s = export_selection(&state, &user, &form).await?;
    let name = file_name("comments", s.as_ref());
    match s {
        Some(s) => Ok(stream_comments(&state, &name, CommentsOf::Selection(s))),
        None => {
            let header = format!("{}\n", svc::COMMENT_COLUMNS.join(","));
            Ok(csv_download(&name, Body::from(header)))
        }
    }
}

/// `GET /classes/{id}/comments.csv`: every comment of one class (its readers and its MCT).
pub async fn class_comments_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let class = class_svc::visible_class(&state.db, &user.caller(), id).await?;
    let name = format!("comments-{}.csv", class.class_ref);
    Ok(stream_comments(&state, &name, CommentsOf::Class(class.id)))
}

fn stream_comments(state: &AppState, name: &str, of: CommentsOf) -> Response {
    let (sender, receiver) = mpsc::channel::<Vec<u8>>(2);
    let db = state.db.clone();
    tokio::spawn(async move {
        if let Err(e) = svc::comments_csv(&db, &of, sender).await {
            tracing::error!(error = %e, "comment export failed part way");
        }
    });
    csv_download(name, streamed(receiver))
}

/// Comments the class page shows (the newest; the rest are in its CSV).
pub const CLASS_COMMENTS: u64 = 20;

/// A class's comments for its page: the newest [`CLASS_COMMENTS`], and how many it has.
pub async fn for_class(state: &AppState, class_id: i64) -> Result<(Vec<Comment>, u64), AppError> {
    let of = CommentsOf::Class(class_id);
    let shown = svc::comments(&state.db, &of, None, CLASS_COMMENTS).await?;
    let total = if (shown.len() as u64) < CLASS_COMMENTS {
        shown.len() as u64
    } else {
        svc::comment_count(&state.db, &of).await?
    };
    Ok((shown, total))
}
