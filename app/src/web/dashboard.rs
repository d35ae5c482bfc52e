//! The dashboard: where the partner stands against the designation (SPEC §4), as of a
//! chosen date, with what was left out and why.
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::page::{Page, PageContext};
use crate::auth::extract::CurrentUser;
use crate::clock;
use crate::domain::catalog::SolutionArea;
use crate::domain::fields::parse_date;
use crate::domain::kpi::{DESIGNATION_2025, Report, Status};
use crate::error::AppError;
use crate::services::kpi;
use crate::state::AppState;

/// One criterion as a card: value against threshold, with a progress bar.
pub struct Criterion {
    pub label: &'static str,
    pub value: String,
    pub threshold: String,
    /// Progress toward the threshold, 0..=100 (the bar).
    pub percent: u32,
    pub status: &'static str,
    pub status_label: &'static str,
    pub detail: String,
}

pub struct AreaCard {
    pub label: &'static str,
    pub status: &'static str,
    pub status_label: &'static str,
    pub criteria: Vec<Criterion>,
}

fn status(s: Status) -> (&'static str, &'static str) {
    match s {
        Status::NotStarted => ("not_started", "Not started"),
        Status::InProgress => ("in_progress", "In progress"),
        Status::Completed => ("completed", "Completed"),
    }
}

fn percent(value: f64, threshold: f64) -> u32 {
    if threshold <= 0.0 {
        100
    } else {
        ((value / threshold) * 100.0).clamp(0.0, 100.0) as u32
    }
}

fn points_criterion(
    label: &'static str,
    points: f64,
    threshold: i64,
    s: Status,
    detail: String,
) -> Criterion {
    let (status, status_label) = status(s);
    Criterion {
        label,
        value: format!("{points}"),
        threshold: threshold.to_string(),
        percent: percent(points, threshold as f64),
        status,
        status_label,
        detail,
    }
}

fn score_criterion(
    label: &'static str,
    average: Option<f64>,
    threshold: f64,
    s: Status,
    detail: String,
) -> Criterion {
    let (status, status_label) = status(s);
    Criterion {
        label,
        value: average.map_or("—".into(), |a| format!("{a:.2}")),
        threshold: format!("{threshold:.2}"),
        percent: percent(average.unwrap_or(0.0), threshold),
        status,
        status_label,
        detail,
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    page: Page,
    as_of: String,
    window: String,
    qualified: bool,
    badges: Vec<&'static str>,
    cloud_partner: bool,
    base_status: &'static str,
    base_status_label: &'static str,
    base: Vec<Criterion>,
    areas: Vec<AreaCard>,
    excluded: crate::domain::kpi::Excluded,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct TrainerHome {
    page: Page,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DashboardQuery {
    as_of: String,
}

fn view(report: &Report) -> (Vec<Criterion>, Vec<AreaCard>) {
    let b = &report.base;
    let c = &b.courseware.by_category;
    let base = vec![
        points_criterion(
            "Courseware points",
            b.courseware.points,
            b.courseware.threshold,
            b.courseware.status,
            format!(
                "Fundamentals {} ({} codes{}), 2 days or less {} ({}), 3 days or more {} ({})",
                c.fundamentals.points,
                c.fundamentals.units,
                if c.fundamentals.capped {
                    ", capped"
                } else {
                    ""
                },
                c.two_days_or_less.points,
                c.two_days_or_less.units,
                c.three_days_or_more.points,
                c.three_days_or_more.units
            ),
        ),
        points_criterion(
            "Exam points",
            b.exams.points,
            b.exams.threshold,
            b.exams.status,
            format!(
                "{} fundamentals and {} advanced vouchers",
                b.exams.by_level.fundamentals.units, b.exams.by_level.advanced.units
            ),
        ),
        score_criterion(
            "Average response score",
            b.survey_score.average,
            b.survey_score.threshold,
            b.survey_score.status,
            format!(
                "{} answers in {} surveys",
                b.survey_score.answers, b.survey_score.surveys
            ),
        ),
    ];
    let areas = report
        .solution_areas
        .iter()
        .zip(SolutionArea::ALL)
        .map(|(a, area)| {
            let (s, l) = status(a.status);
            AreaCard {
                label: area.label(),
                status: s,
                status_label: l,
                criteria: vec![
                    points_criterion(
                        "Survey completion points",
                        a.survey_points,
                        a.threshold,
                        a.points_status,
                        format!(
                            "{} surveys of 2 days or less, {} of 3 days or more",
                            a.surveys.two_days_or_less, a.surveys.three_days_or_more
                        ),
                    ),
                    score_criterion(
                        "Average response score",
                        a.average,
                        b.survey_score.threshold,
                        a.score_status,
                        format!("{} answers", a.answers),
                    ),
                ],
            }
        })
        .collect();
    (base, areas)
}

pub async fn home(
    State(state): State<AppState>,
    ctx: PageContext,
    user: Option<CurrentUser>,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, AppError> {
    let Some(user) = user else {
        return Ok(Redirect::to("/login").into_response());
    };
    if !user.role.may_read_records() {
        let page = TrainerHome {
            page: ctx.page("Dashboard"),
        };
        return Ok(Html(page.render()?).into_response());
    }
    let today = clock::now().date_naive();
    let (as_of, error) = match q.as_of.trim() {
        "" => (today, None),
        raw => match parse_date(raw) {
            Ok(d) => (d, None),
            Err(m) => (today, Some(format!("As of {m}; showing today instead."))),
        },
    };
    let report = kpi::report(&state.db, as_of, &DESIGNATION_2025).await?;
    let (base, areas) = view(&report);
    let (base_status, base_status_label) = status(report.base.status);
    let badges = report
        .badges
        .iter()
        .filter_map(|id| id.parse::<SolutionArea>().ok())
        .map(|a| a.label())
        .collect();
    let page = DashboardPage {
        page: ctx.page("Dashboard"),
        as_of: as_of.to_string(),
        window: format!("{} – {}", report.window.start, report.window.end),
        qualified: report.qualified,
        badges,
        cloud_partner: report.cloud_partner_badge,
        base_status,
        base_status_label,
        base,
        areas,
        excluded: report.excluded,
        error,
    };
    Ok(Html(page.render()?).into_response())
}
