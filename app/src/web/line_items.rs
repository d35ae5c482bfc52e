//! The rows behind each KPI figure: a page of line items and the whole set as CSV.
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::page::{Page, PageContext, csv_download, streamed};
use crate::clock;
use crate::domain::catalog::SolutionArea;
use crate::domain::fields::parse_date;
use crate::domain::kpi::{DESIGNATION_2025, window};
use crate::services::kpi_lines::{self as svc, Figure, Line, LineFilter};
use crate::services::vouchers::points_text;
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::ReaderUser;

const PAGE: u64 = 100;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LinesQuery {
    as_of: String,
    figure: String,
    area: String,
    after: Option<i64>,
}

impl LinesQuery {
    /// The filter, or a 400 naming the bad parameter.
    pub(crate) fn filter(&self) -> Result<LineFilter, AppError> {
        let as_of = match self.as_of.trim() {
            "" => clock::now().date_naive(),
            raw => parse_date(raw).map_err(|m| AppError::BadRequest(format!("as_of {m}")))?,
        };
        let figure = self
            .figure
            .parse::<Figure>()
            .map_err(|m| AppError::BadRequest(format!("figure {m}")))?;
        let area = match self.area.trim() {
            "" => None,
            raw => Some(
                raw.parse::<SolutionArea>()
                    .map_err(|m| AppError::BadRequest(format!("area {m}")))?,
            ),
        };
        Ok(LineFilter {
            as_of,
            figure,
            area,
        })
    }
}

/// The query string of `filter` (for the CSV link and the next page).
pub fn query_string(filter: &LineFilter) -> String {
    let mut q = format!("as_of={}&figure={}", filter.as_of, filter.figure.id());
    if let Some(area) = filter.area {
        q.push_str(&format!("&area={}", area.id()));
    }
    q
}

pub struct LineRow {
    pub line: Line,
    pub points: String,
}

#[derive(Template)]
#[template(path = "kpi/lines.html")]
struct LinesPage {
    page: Page,
    heading: String,
    window: String,
    as_of: String,
    query: String,
    rows: Vec<LineRow>,
    total_lines: i64,
    total_units: i64,
    total_points: String,
    excluded: bool,
    surveys: bool,
    next: Option<i64>,
}

pub async fn page(
    State(state): State<AppState>,
    ctx: PageContext,
    _user: ReaderUser,
    Query(q): Query<LinesQuery>,
) -> Result<Response, AppError> {
    let filter = q.filter()?;
    let rules = &DESIGNATION_2025;
    let mut lines = svc::page(&state.db, &filter, rules, q.after.unwrap_or(0), PAGE + 1).await?;
    let next = if lines.len() as u64 > PAGE {
        lines.truncate(PAGE as usize);
        lines.last().map(|l| l.id)
    } else {
        None
    };
    let (total_lines, total_units, total_half) = svc::totals(&state.db, &filter, rules).await?;
    let (start, end) = window(filter.as_of, rules.window_months);
    let heading = match filter.area {
        Some(area) => format!("{} · {}", filter.figure.label(), area.label()),
        None => filter.figure.label().to_string(),
    };
    let page = LinesPage {
        page: ctx.page(&heading),
        heading,
        window: format!("{start} – {end}"),
        as_of: filter.as_of.to_string(),
        query: query_string(&filter),
        rows: lines
            .into_iter()
            .map(|line| LineRow {
                points: points_text(line.half_points),
                line,
            })
            .collect(),
        total_lines,
        total_units,
        total_points: points_text(total_half),
        excluded: matches!(
            filter.figure,
            Figure::ExcludedCodes | Figure::ExcludedSurveys
        ),
        surveys: matches!(filter.figure, Figure::Surveys | Figure::ExcludedSurveys),
        next,
    };
    Ok(Html(page.render()?).into_response())
}

pub async fn csv(
    State(state): State<AppState>,
    _user: ReaderUser,
    Query(q): Query<LinesQuery>,
) -> Result<Response, AppError> {
    let filter = q.filter()?;
    let name = format!(
        "kpi-{}-{}{}.csv",
        filter.figure.id(),
        filter.as_of,
        filter
            .area
            .map(|a| format!("-{}", a.id()))
            .unwrap_or_default()
    );
    // Once the download has started its status cannot change: fail early instead.
    svc::page(&state.db, &filter, &DESIGNATION_2025, 0, 1).await?;
    let (sender, receiver) = mpsc::channel::<Vec<u8>>(2);
    let db = state.db.clone();
    tokio::spawn(async move {
        if let Err(e) = svc::csv(&db, &filter, &DESIGNATION_2025, sender).await {
            tracing::error!(error = %e, "KPI line export failed part way");
        }
    });
    Ok(csv_download(&name, streamed(receiver)))
}
