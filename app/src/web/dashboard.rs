//! The dashboard: where the partner stands against the designation (SPEC §4), as of a
//! chosen date, with what was left out and why.
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::page::{Page, PageContext};
use crate::clock;
use crate::domain::catalog::SolutionArea;
use crate::domain::fields::parse_date;
use crate::domain::kpi::{self as rules, DESIGNATION_2025, MonthFigures, Renewal, Report, Status};
use crate::services::kpi::{Potential, TrainerStanding};
use crate::services::settings;
use crate::services::vouchers::points_text;
use crate::state::AppState;
use crate::web::error::AppError;
use crate::web::extract::CurrentUser;

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
    /// The line items behind the figure.
    pub lines: String,
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
    lines: String,
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
        lines,
    }
}

fn score_criterion(
    label: &'static str,
    average: Option<f64>,
    threshold: f64,
    s: Status,
    detail: String,
    lines: String,
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
        lines,
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
    organization: String,
    renewal: Option<String>,
    may_administer: bool,
    chart: Chart,
    leaving: Leaving,
    potential: PotentialView,
    trainers: TrainerStanding,
    /// Recordings needing action and overdue takedowns (rules 3, 4, 6), today.
    recordings: crate::services::recordings::Attention,
    /// The To do page's lists, counted.
    todo: crate::services::todo::Counts,
    /// Microsoft's figures beside the app's, per figure imported (reconciliation).
    reconciliation: Vec<crate::services::reconciliation::FigureRows>,
    /// The forecast to the anniversary (`templates/kpi/_forecast_card.html`).
    forecast: super::forecast::ForecastCard,
    /// The rules profiles the administrator chose to show (issue 17 item 3).
    show_designation: bool,
    lp: Option<super::learning_partner::LearningPartnerView>,
}

/// What the first month of the window takes with it when the month turns.
pub struct Leaving {
    pub month: String,
    pub on: String,
    pub courseware: String,
    pub exams: String,
    pub surveys: i64,
}

pub struct PotentialView {
    pub unredeemed: i64,
    pub unredeemed_points: String,
    pub unconfirmed_classes: i64,
    pub awaiting_codes: i64,
    pub awaiting_points: String,
    pub awaiting_surveys: i64,
}

impl PotentialView {
    fn of(p: &Potential) -> PotentialView {
        let weights = &DESIGNATION_2025.courseware_half_points;
        PotentialView {
            unredeemed: p.unredeemed_codes.total(),
            unredeemed_points: points_text(rules::weighted(&p.unredeemed_codes, weights)),
            unconfirmed_classes: p.unconfirmed_classes,
            awaiting_codes: p.awaiting_codes.total(),
            awaiting_points: points_text(rules::weighted(&p.awaiting_codes, weights)),
            awaiting_surveys: p.awaiting_surveys,
        }
    }
}

/// The 12-month chart, laid out here and drawn by the template as inline SVG.
pub struct Chart {
    pub width: i64,
    pub height: i64,
    pub bars: Vec<Bar>,
    /// The survey line's `points` attribute.
    pub line: String,
    pub dots: Vec<(i64, i64)>,
    /// Gridlines: y, left label (points), right label (surveys).
    pub ticks: Vec<(i64, String, String)>,
    pub plot_left: i64,
    pub plot_right: i64,
    pub baseline: i64,
}

pub struct Bar {
    pub x: i64,
    pub width: i64,
    pub y: i64,
    pub height: i64,
    pub label: String,
    pub month: String,
    pub points: String,
    pub surveys: i64,
    pub label_x: i64,
}

/// The smallest of 4, 8, 20, 40, 80, 200, … at least `max`: an axis top whose quarters
/// are whole numbers.
fn round_up(max: i64) -> i64 {
    let mut scale = 1;
    loop {
        for m in [4, 8, 20] {
            if m * scale >= max {
                return m * scale;
            }
        }
        scale *= 10;
    }
}

fn chart(months: &[(chrono::NaiveDate, MonthFigures)]) -> Chart {
    let (width, height) = (720, 240);
    let (left, right, top, bottom) = (48, 48, 12, 36);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let baseline = top + plot_h;
    let half_points = |f: &MonthFigures| f.courseware_half + f.exam_half;
    // The axis is labelled in points: round the top in points, then back to half-points.
    let max_half = 2 * round_up(
        (months
            .iter()
            .map(|(_, f)| half_points(f))
            .max()
            .unwrap_or(0)
            + 1)
            / 2,
    );
    let max_surveys = round_up(months.iter().map(|(_, f)| f.surveys).max().unwrap_or(0));
    let slot = plot_w / months.len().max(1) as i64;
    let mut bars = Vec::new();
    let mut line = Vec::new();
    let mut dots = Vec::new();
    for (i, (month, f)) in months.iter().enumerate() {
        let x = left + i as i64 * slot;
        let h = half_points(f) * plot_h / max_half;
        let cx = x + slot / 2;
        let cy = baseline - f.surveys * plot_h / max_surveys;
        line.push(format!("{cx},{cy}"));
        dots.push((cx, cy));
        bars.push(Bar {
            x: x + slot / 5,
            width: slot * 3 / 5,
            y: baseline - h,
            height: h,
            label: month.format("%b").to_string(),
            month: month.format("%B %Y").to_string(),
            points: points_text(half_points(f)),
            surveys: f.surveys,
            label_x: cx,
        });
    }
    let ticks = (0..=4)
        .map(|k| {
            (
                baseline - k * plot_h / 4,
                points_text(max_half * k / 4),
                (max_surveys * k / 4).to_string(),
            )
        })
        .collect();
    Chart {
        width,
        height,
        bars,
        line: line.join(" "),
        dots,
        ticks,
        plot_left: left,
        plot_right: width - right,
        baseline,
    }
}

fn renewal_text(today: chrono::NaiveDate, anniversary: (u32, u32)) -> String {
    let window_days = DESIGNATION_2025.renewal_window_days;
    let date = rules::next_anniversary(today, anniversary);
    let day_word = |n: i64| if n == 1 { "day" } else { "days" };
    match rules::renewal(today, anniversary, window_days) {
        Renewal::ClosesIn(0) => format!("The renewal window closes today ({date})."),
        Renewal::ClosesIn(n) => format!(
            "The renewal window is open: {n} {} left, until the anniversary on {date}.",
            day_word(n)
        ),
        Renewal::OpensIn(n) => format!(
            "The renewal window opens in {n} {} ({window_days} days before the anniversary on {date}).",
            day_word(n)
        ),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DashboardQuery {
    as_of: String,
}

fn view(report: &Report) -> (Vec<Criterion>, Vec<AreaCard>) {
    let b = &report.base;
    let lines = |figure: &str| format!("/kpi/lines?as_of={}&figure={figure}", report.as_of);
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
            lines("courseware"),
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
            lines("exams"),
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
            lines("surveys"),
        ),
    ];
    let areas = report
        .solution_areas
        .iter()
        .zip(SolutionArea::ALL)
        .map(|(a, area)| {
            let (s, l) = status(a.status);
            let area_lines = format!("{}&area={}", lines("surveys"), area.id());
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
                        area_lines.clone(),
                    ),
                    score_criterion(
                        "Average response score",
                        a.average,
                        b.survey_score.threshold,
                        a.score_status,
                        format!("{} answers", a.answers),
                        area_lines,
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
        return super::home::trainer_page(&state, &ctx, &user, None).await;
    }
    let today = clock::now().date_naive();
    let (as_of, error) = match q.as_of.trim() {
        "" => (today, None),
        raw => match parse_date(raw) {
            Ok(d) => (d, None),
            Err(m) => (today, Some(format!("As of {m}; showing today instead."))),
        },
    };
    let standing = state
        .kpi_cache
        .standing(&state.db, as_of, &DESIGNATION_2025)
        .await?;
    let org = settings::get(&state.db).await?;
    let report = &standing.report;
    let (base, areas) = view(report);
    let (base_status, base_status_label) = status(report.base.status);
    let badges = report
        .badges
        .iter()
        .filter_map(|id| id.parse::<SolutionArea>().ok())
        .map(|a| a.label())
        .collect();
    let (first_month, first) = standing.months.first().copied().unwrap_or_default();
    let leaving = Leaving {
        month: first_month.format("%B %Y").to_string(),
        on: (first_month + chrono::Months::new(DESIGNATION_2025.window_months + 1)).to_string(),
        courseware: points_text(first.courseware_half),
        exams: points_text(first.exam_half),
        surveys: first.surveys,
    };
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
        organization: org.organization_name.clone(),
        renewal: org.anniversary.map(|a| renewal_text(as_of, a)),
        may_administer: user.role.may_administer(),
        chart: chart(&standing.months),
        leaving,
        potential: PotentialView::of(&standing.potential),
        trainers: standing.trainers.clone(),
        recordings: crate::services::recordings::attention(&state.db, today).await?,
        todo: crate::services::todo::counts(&state.db, today, &state.config.todo.nudges()).await?,
        reconciliation: state
            .reconciliation_cache
            .get(&state.db, today, || {
                crate::services::reconciliation::overview(&state.db)
            })
            .await?
            .iter()
            .filter(|f| !f.months.is_empty())
            .cloned()
            .collect(),
        forecast: super::forecast::card(&state, as_of, user.role.may_administer()).await?,
        show_designation: org.dashboard_profiles.shows_designation(),
        lp: super::learning_partner::section(&state, as_of, &org).await?,
    };
    Ok(Html(page.render()?).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_axes_end_on_numbers_whose_quarters_are_whole() {
        assert_eq!(round_up(0), 4);
        assert_eq!(round_up(5), 8);
        assert_eq!(round_up(145), 200);
        assert_eq!(round_up(200), 200);
        assert_eq!(round_up(201), 400);
        let month = |half: i64, surveys: i64| MonthFigures {
            courseware_half: half,
            exam_half: 0,
            surveys,
        };
        let d = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let c = chart(&[(d, month(291, 130)), (d, month(0, 0))]);
        // 145.5 points → an axis to 200 points (400 half-points); 130 surveys → 200.
        let labels: Vec<_> = c
            .ticks
            .iter()
            .map(|(_, l, r)| (l.as_str(), r.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                ("0", "0"),
                ("50", "50"),
                ("100", "100"),
                ("150", "150"),
                ("200", "200")
            ]
        );
        // The tallest bar is 145.5 / 200 of the plot; an empty month has no height.
        assert_eq!(c.bars[0].height, 291 * (c.baseline - 12) / 400);
        assert_eq!(c.bars[1].height, 0);
    }
}
