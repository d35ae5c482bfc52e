//! The forecast to the anniversary (issue 17 item 2): its page (`/kpi/forecast`), the
//! dashboard's card, and `GET /api/v1/forecast`.
use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::page::{Page, PageContext};
use crate::clock;
use crate::domain::catalog::SolutionArea;
use crate::domain::fields::parse_date;
use crate::domain::forecast::{Basis, CriterionForecast, Forecast, PipelineRow, Rate};
use crate::domain::kpi::{DESIGNATION_2025, Status};
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::{ApiReader, ReaderUser};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ForecastQuery {
    as_of: String,
}

impl ForecastQuery {
    fn as_of(&self) -> Result<chrono::NaiveDate, AppError> {
        match self.as_of.trim() {
            "" => Ok(clock::now().date_naive()),
            raw => parse_date(raw).map_err(|m| AppError::BadRequest(format!("as_of {m}"))),
        }
    }
}

fn status_label(s: Status) -> (&'static str, &'static str) {
    match s {
        Status::NotStarted => ("not_started", "Not started"),
        Status::InProgress => ("in_progress", "In progress"),
        Status::Completed => ("completed", "Completed"),
    }
}

/// A value as shown: points as they are (`1012.5`), an average to 2 decimals.
fn shown(c: &CriterionForecast, v: Option<f64>) -> String {
    match (c.criterion, v) {
        (_, None) => "—".into(),
        ("survey_score" | "area_score", Some(a)) => format!("{a:.2}"),
        (_, Some(p)) => format!("{p}"),
    }
}

/// One criterion as the page and the card show it.
pub struct Row {
    pub label: String,
    pub today: String,
    pub stays: String,
    pub low: String,
    pub expected: String,
    pub high: String,
    pub threshold: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub low_label: &'static str,
    pub high_label: &'static str,
    pub explanation: String,
    pub gap: Option<String>,
}

impl Row {
    fn of(c: &CriterionForecast) -> Row {
        let (status, label) = status_label(c.status);
        Row {
            label: c.label.clone(),
            today: shown(c, c.today),
            stays: shown(c, c.stays),
            low: shown(c, c.low),
            expected: shown(c, c.expected),
            high: shown(c, c.high),
            threshold: shown(c, Some(c.threshold)),
            status,
            status_label: label,
            low_label: status_label(c.low_status).1,
            high_label: status_label(c.high_status).1,
            explanation: c.explanation.clone(),
            gap: c.gap.clone(),
        }
    }
}

fn rate_text(r: &Rate) -> String {
    let basis = match r.basis {
        Basis::Cell => "",
        Basis::Category => " (every area's)",
        Basis::NoHistory => " (no history)",
    };
    if r.denominator == 0 {
        return format!("0{basis}");
    }
    let tenths = (r.numerator * 1000 + r.denominator / 2) / r.denominator;
    format!(
        "{} / {} ({}.{}%){basis}",
        r.numerator,
        r.denominator,
        tenths / 10,
        tenths % 10
    )
}

fn area_text(area: Option<SolutionArea>) -> &'static str {
    area.map_or("No area", |a| a.label())
}

pub struct PipelineView {
    pub category: &'static str,
    pub area: &'static str,
    pub row: PipelineRow,
    pub redemption: String,
    pub response: String,
}

pub struct HistoryView {
    pub category: &'static str,
    pub area: &'static str,
    pub classes: i64,
    pub attendees: i64,
    pub redeemed: i64,
    pub responses: i64,
}

/// The forecast laid out for the page and the card.
pub struct ForecastView {
    pub forecast: Forecast,
    pub rows: Vec<Row>,
    pub pipeline: Vec<PipelineView>,
    pub history: Vec<HistoryView>,
    pub qualified: String,
}

impl ForecastView {
    pub fn of(forecast: Forecast) -> ForecastView {
        let yes = |q: bool| if q { "qualified" } else { "not qualified" };
        let q = forecast.qualified;
        ForecastView {
            rows: forecast.criteria.iter().map(Row::of).collect(),
            pipeline: forecast
                .pipeline
                .iter()
                .map(|p| PipelineView {
                    category: p.category.label(),
                    area: area_text(p.area),
                    row: *p,
                    redemption: rate_text(&p.redemption),
                    response: rate_text(&p.response),
                })
                .collect(),
            history: forecast
                .history
                .iter()
                .map(|h| HistoryView {
                    category: h.category.label(),
                    area: area_text(h.area),
                    classes: h.classes,
                    attendees: h.attendees,
                    redeemed: h.redeemed,
                    responses: h.responses,
                })
                .collect(),
            qualified: format!(
                "{} on the expected figures (low: {}, high: {})",
                capitalized(yes(q.expected)),
                yes(q.low),
                yes(q.high)
            ),
            forecast,
        }
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// The forecast for `as_of`, from the cache while the ledger has not moved.
async fn cached(state: &AppState, as_of: chrono::NaiveDate) -> Result<Option<Forecast>, AppError> {
    let forecast = state
        .forecast_cache
        .forecast(&state.db, as_of, &DESIGNATION_2025)
        .await?;
    Ok(Option::clone(&forecast))
}

/// The dashboard's card: the headline of each criterion, or why there is none.
pub struct ForecastCard {
    pub view: Option<ForecastView>,
    pub as_of: String,
    pub may_administer: bool,
}

pub async fn card(
    state: &AppState,
    as_of: chrono::NaiveDate,
    may_administer: bool,
) -> Result<ForecastCard, AppError> {
    let forecast = cached(state, as_of).await?;
    Ok(ForecastCard {
        view: forecast.map(ForecastView::of),
        as_of: as_of.to_string(),
        may_administer,
    })
}

#[derive(Template)]
#[template(path = "kpi/forecast.html")]
struct ForecastPage {
    page: Page,
    as_of: String,
    view: Option<ForecastView>,
    may_administer: bool,
}

/// `GET /kpi/forecast?as_of=`: every criterion on the anniversary, each number explained.
pub async fn page(
    State(state): State<AppState>,
    ctx: PageContext,
    user: ReaderUser,
    Query(q): Query<ForecastQuery>,
) -> Result<Response, AppError> {
    let as_of = q.as_of()?;
    let forecast = cached(&state, as_of).await?;
    let page = ForecastPage {
        page: ctx.page("Forecast to the anniversary"),
        as_of: as_of.to_string(),
        view: forecast.map(ForecastView::of),
        may_administer: user.role.may_administer(),
    };
    Ok(Html(page.render()?).into_response())
}

/// The API's answer when no anniversary is set.
#[derive(Serialize)]
pub struct NoAnniversary {
    as_of: String,
    anniversary: Option<String>,
    message: &'static str,
}

/// `GET /api/v1/forecast?as_of=YYYY-MM-DD` (default: today, UTC).
pub async fn api(
    State(state): State<AppState>,
    _caller: ApiReader,
    Query(q): Query<ForecastQuery>,
) -> Result<Response, AppError> {
    let as_of = q.as_of()?;
    Ok(match cached(&state, as_of).await? {
        Some(forecast) => Json(forecast).into_response(),
        None => Json(NoAnniversary {
            as_of: as_of.to_string(),
            anniversary: None,
            message: "No anniversary date is set: an administrator sets it in Settings.",
        })
        .into_response(),
    })
}
