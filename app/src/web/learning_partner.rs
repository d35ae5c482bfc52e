//! The Learning Partner program on the web (issue 17 item 3): the dashboard's section
//! (`templates/learning_partner/_section.html`), the purchases behind it as line items
//! and CSV, and the evaluation as JSON under `/api/v1`.
use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::page::{Page, PageContext, csv_download, streamed};
use crate::clock;
use crate::domain::fields::parse_date;
use crate::domain::learning_partner::{
    LEARNING_PARTNER, LevelNeeds, Measured, PartnerLevel, Period, units_text, usd_text,
};
use crate::services::learning_partner::{self as svc, Evaluation, Line, ReportJson};
use crate::services::settings;
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::{ApiReader, ReaderUser};

/// One requirement's row: the value, each level's threshold, what the next level lacks.
pub struct RequirementRow {
    pub label: &'static str,
    pub value: String,
    pub action_pack: String,
    pub silver: String,
    pub gold: String,
    /// What is missing for the next level ("nothing" when met; "—" above Gold).
    pub missing: String,
    pub met: bool,
    /// Where the figure's records are.
    pub href: String,
    pub link: &'static str,
}

pub struct ProductRow {
    pub label: &'static str,
    pub kits: i64,
    pub units: String,
    pub revenue: String,
}

/// The dashboard's Learning Partner section.
pub struct LearningPartnerView {
    pub level: &'static str,
    pub level_id: &'static str,
    pub next_level: Option<&'static str>,
    pub period: String,
    pub period_note: String,
    pub anniversary_set: bool,
    pub requirements: Vec<RequirementRow>,
    pub products: Vec<ProductRow>,
    pub lines: i64,
    pub lines_href: String,
}

fn period_note(p: &Period, as_of: NaiveDate) -> String {
    match p.anniversary {
        None => format!(
            "No anniversary is set: measured over the 12 complete months before the month of {as_of}, MCTs in good standing on {as_of}."
        ),
        Some(anniversary) if p.closed => format!(
            "Complete: KPIs were due by {}, the end of the month before the anniversary on {anniversary}; MCTs counted on {}.",
            p.end, p.mcts_on
        ),
        Some(anniversary) => format!(
            "Progress so far, to {}: KPIs are due by {}, the end of the month before the anniversary on {anniversary}.",
            p.counted_to, p.end
        ),
    }
}

fn requirement(
    label: &'static str,
    value: i64,
    text: fn(i64) -> String,
    of: fn(&LevelNeeds) -> i64,
    missing: Option<(PartnerLevel, i64)>,
    (href, link): (String, &'static str),
) -> RequirementRow {
    let p = &LEARNING_PARTNER;
    let threshold = |needs: &LevelNeeds| match of(needs) {
        0 => "—".to_string(),
        n => text(n),
    };
    RequirementRow {
        label,
        value: text(value),
        action_pack: threshold(&p.action_pack),
        silver: threshold(&p.silver),
        gold: threshold(&p.gold),
        missing: match missing {
            None => "—".into(),
            Some((_, 0)) => "nothing".into(),
            Some((level, n)) => format!("{} for {}", text(n), level.label()),
        },
        met: missing.is_none_or(|(_, n)| n == 0),
        href,
        link,
    }
}

pub fn view(e: &Evaluation) -> LearningPartnerView {
    let p = &LEARNING_PARTNER;
    let gap = e.missing(p);
    let pick = |f: fn(&Measured) -> i64| gap.map(|(level, m)| (level, f(&m)));
    let lines_href = format!("/learning-partner/lines?as_of={}", e.as_of);
    let mct_text = |n: i64| format!("{n} MCT{}", if n == 1 { "" } else { "s" });
    LearningPartnerView {
        level: e.level.label(),
        level_id: e.level.id(),
        next_level: e.level.next().map(PartnerLevel::label),
        period: format!("{} – {}", e.period.start, e.period.end),
        period_note: period_note(&e.period, e.as_of),
        anniversary_set: e.period.anniversary.is_some(),
        requirements: vec![
            requirement(
                "MCTs in good standing",
                e.measured.mcts,
                mct_text,
                |n| n.mcts,
                pick(|m| m.mcts),
                ("/trainers".into(), "Trainers"),
            ),
            requirement(
                "KPI units",
                e.measured.half_units,
                units_text,
                |n| n.half_units,
                pick(|m| m.half_units),
                (lines_href.clone(), "Line items"),
            ),
            requirement(
                "Revenue (USD)",
                e.measured.revenue_cents,
                usd_text,
                |n| n.revenue_cents,
                pick(|m| m.revenue_cents),
                (lines_href.clone(), "Line items"),
            ),
        ],
        products: e
            .by_kind
            .iter()
            .filter(|t| t.kits > 0 || t.revenue_cents > 0)
            .map(|t| ProductRow {
                label: t.kind.label(),
                kits: t.kits,
                units: units_text(p.half_units(t.kind, t.kits)),
                revenue: usd_text(t.revenue_cents),
            })
            .collect(),
        lines: e.lines,
        lines_href,
    }
}

/// The evaluation for the dashboard, when the administrator chose to show it.
pub async fn section(
    state: &AppState,
    as_of: NaiveDate,
    org: &settings::OrgSettings,
) -> Result<Option<LearningPartnerView>, AppError> {
    if !org.dashboard_profiles.shows_learning_partner() {
        return Ok(None);
    }
    let e = svc::evaluate(&state.db, as_of, org.anniversary, &LEARNING_PARTNER).await?;
    Ok(Some(view(&e)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AsOfQuery {
    as_of: String,
    after: Option<i64>,
}

impl AsOfQuery {
    fn as_of(&self) -> Result<NaiveDate, AppError> {
        match self.as_of.trim() {
            "" => Ok(clock::now().date_naive()),
            raw => parse_date(raw).map_err(|m| AppError::BadRequest(format!("as_of {m}"))),
        }
    }
}

async fn evaluation(state: &AppState, as_of: NaiveDate) -> Result<Evaluation, AppError> {
    let org = settings::get(&state.db).await?;
    Ok(svc::evaluate(&state.db, as_of, org.anniversary, &LEARNING_PARTNER).await?)
}

/// `GET /api/v1/learning-partner?as_of=YYYY-MM-DD`: the evaluation (default: today, UTC).
pub async fn api(
    State(state): State<AppState>,
    _caller: ApiReader,
    Query(q): Query<AsOfQuery>,
) -> Result<Json<ReportJson>, AppError> {
    let e = evaluation(&state, q.as_of()?).await?;
    Ok(Json(svc::report_json(&e, &LEARNING_PARTNER)))
}

const PAGE: u64 = 100;

pub struct LineRow {
    pub line: Line,
    pub kind: &'static str,
    pub units: String,
    pub revenue: String,
}

#[derive(Template)]
#[template(path = "learning_partner/lines.html")]
struct LinesPage {
    page: Page,
    as_of: String,
    period: String,
    period_note: String,
    rows: Vec<LineRow>,
    total_lines: i64,
    total_kits: i64,
    total_units: String,
    total_revenue: String,
    next: Option<i64>,
}

/// `GET /learning-partner/lines`: the purchases the evaluation counts, a page at a time.
pub async fn lines(
    State(state): State<AppState>,
    ctx: PageContext,
    _user: ReaderUser,
    Query(q): Query<AsOfQuery>,
) -> Result<Response, AppError> {
    let e = evaluation(&state, q.as_of()?).await?;
    let p = &LEARNING_PARTNER;
    let mut lines = svc::lines(&state.db, &e.period, p, q.after.unwrap_or(0), PAGE + 1).await?;
    let next = if lines.len() as u64 > PAGE {
        lines.truncate(PAGE as usize);
        lines.last().map(|l| l.id)
    } else {
        None
    };
    let page = LinesPage {
        page: ctx.page("Learning Partner: purchases counted"),
        as_of: e.as_of.to_string(),
        period: format!("{} – {}", e.period.start, e.period.counted_to),
        period_note: period_note(&e.period, e.as_of),
        rows: lines
            .into_iter()
            .map(|line| LineRow {
                kind: line.product_kind.label(),
                units: units_text(line.half_units),
                revenue: usd_text(line.revenue_cents),
                line,
            })
            .collect(),
        total_lines: e.lines,
        total_kits: e.by_kind.iter().map(|t| t.kits).sum(),
        total_units: units_text(e.measured.half_units),
        total_revenue: usd_text(e.measured.revenue_cents),
        next,
    };
    Ok(Html(page.render()?).into_response())
}

/// `GET /learning-partner/lines.csv`: every purchase counted, as CSV.
pub async fn csv(
    State(state): State<AppState>,
    _user: ReaderUser,
    Query(q): Query<AsOfQuery>,
) -> Result<Response, AppError> {
    let as_of = q.as_of()?;
    let e = evaluation(&state, as_of).await?;
    // Once the download has started its status cannot change: fail early instead.
    svc::lines(&state.db, &e.period, &LEARNING_PARTNER, 0, 1).await?;
    let (sender, receiver) = mpsc::channel::<Vec<u8>>(2);
    let db = state.db.clone();
    let period = e.period;
    tokio::spawn(async move {
        if let Err(e) = svc::csv(&db, &period, &LEARNING_PARTNER, sender).await {
            tracing::error!(error = %e, "Learning Partner line export failed part way");
        }
    });
    Ok(csv_download(
        &format!("learning-partner-{as_of}.csv"),
        streamed(receiver),
    ))
}
