//! The forecast to the anniversary (issue 17 item 2): every criterion of SPEC §4 projected
//! onto the window of the next anniversary date, from what is already counted and stays,
//! what leaves month by month, the credit waiting on confirmations, the classes in the
//! pipeline at this partner's own rates of the last 12 months, and exam vouchers at their
//! pace. Deterministic and exact: counts are integers (floors), points half-points, and a
//! projected average is compared as the KPI compares it ([`kpi::evaluate`] decides every
//! status). Each figure carries its explanation.
use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::catalog::{DurationCategory, SolutionArea};
use crate::kpi::{self, Inputs, RulesProfile, ScoreTally, Status};

mod gaps;
mod text;

pub use gaps::{Needed, needed_average, surveys_at_top};

/// The highest answer to a scored question (answers are 1..5).
pub const TOP_ANSWER: i64 = 5;
/// The lowest answer to a scored question.
pub const BOTTOM_ANSWER: i64 = 1;
/// A new survey is assumed to answer every scored question (q1..q5).
pub const SCORED_QUESTIONS: i64 = 5;

/// KPI-eligible classes of one duration category and solution area that ended in the
/// last 12 months (today's window), with what their learners did: the partner's rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HistoryCell {
    pub category: DurationCategory,
    pub area: Option<SolutionArea>,
    pub classes: i64,
    /// Learners ticked as attending.
    pub attendees: i64,
    /// Codes of those learners redeemed (on any date).
    pub redeemed: i64,
    /// Survey responses of those learners (on any date).
    pub responses: i64,
}

/// Official live classes, scheduled or delivered (not confirmed yet), ending within the
/// anniversary's window, of one duration category and solution area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineCell {
    pub category: DurationCategory,
    pub area: Option<SolutionArea>,
    pub classes: i64,
    /// Expected attendees: learners ticked as attending for a delivered class with
    /// attendance taken, else the roster's size.
    pub attendees: i64,
}

/// Codes redeemed and responses given in one month for classes of one cell delivered but
/// not confirmed: they count once those classes are confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Awaiting {
    /// The first day of the month of the events.
    pub month: NaiveDate,
    /// Whether the classes are in the pipeline (their expected events are net of these).
    pub in_pipeline: bool,
    pub category: DurationCategory,
    pub area: Option<SolutionArea>,
    pub codes: i64,
    /// Responses (`surveys`), their answers and the answers' sum.
    pub responses: ScoreTally,
}

/// What the forecast is made from.
#[derive(Debug, Clone)]
pub struct ForecastInputs<'a> {
    pub rules: &'a RulesProfile,
    pub today: NaiveDate,
    /// The anniversary setting (month, day); none set, no forecast.
    pub anniversary: Option<(u32, u32)>,
    /// Counted KPI inputs by month (keyed by the month's first day), from the first month
    /// of today's window through today.
    pub months: &'a BTreeMap<NaiveDate, Inputs>,
    pub history: &'a [HistoryCell],
    pub pipeline: &'a [PipelineCell],
    pub awaiting: &'a [Awaiting],
    /// Pipeline classes ending after the anniversary window's last day (left out).
    pub later_classes: i64,
}

/// The next anniversary date on or after `today`, and its window.
pub fn anniversary_window(
    today: NaiveDate,
    anniversary: (u32, u32),
    rules: &RulesProfile,
) -> (NaiveDate, NaiveDate, NaiveDate) {
    let date = kpi::next_anniversary(today, anniversary);
    let (start, end) = kpi::window(date, rules.window_months);
    (date, start, end)
}

/// How a rate was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// From classes of the same category and area.
    Cell,
    /// No such class in the last 12 months: from every area's classes of the category.
    Category,
    /// No class of the category either: the rate is zero.
    NoHistory,
}

/// `numerator` events per `denominator` attendees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rate {
    pub numerator: i64,
    pub denominator: i64,
    pub basis: Basis,
}

impl Rate {
    /// `n` attendees at this rate, rounded down, never more than `n`.
    pub fn apply(&self, n: i64) -> i64 {
        if self.denominator == 0 {
            0
        } else {
            (n * self.numerator / self.denominator).min(n)
        }
    }
}

/// One cell of the pipeline with the rates applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PipelineRow {
    pub category: DurationCategory,
    pub area: Option<SolutionArea>,
    pub classes: i64,
    pub attendees: i64,
    pub redemption: Rate,
    pub response: Rate,
    /// Already redeemed / responded for these classes, waiting on their confirmation.
    pub awaiting_codes: i64,
    pub awaiting_surveys: i64,
    /// More expected at the rates (what is already in deducted), and if every attendee
    /// redeems and responds.
    pub expected_codes: i64,
    pub expected_surveys: i64,
    pub high_codes: i64,
    pub high_surveys: i64,
}

/// Exam vouchers at the last 12 months' pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VoucherPace {
    pub fundamentals_units: i64,
    pub advanced_units: i64,
    /// The most units of each level bought in one month of the last 12.
    pub busiest_fundamentals: i64,
    pub busiest_advanced: i64,
    /// Days of today's window (the pace's denominator), and days after today up to the
    /// last day of the anniversary's window.
    pub window_days: i64,
    pub remaining_days: i64,
    pub expected_fundamentals: i64,
    pub expected_advanced: i64,
    pub high_fundamentals: i64,
    pub high_advanced: i64,
}

/// A month of today's window that is gone from the anniversary's window, with what it
/// earned before caps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeavingMonth {
    /// `YYYY-MM`.
    pub month: String,
    pub courseware_points: f64,
    pub exam_points: f64,
    pub surveys: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Scenarios<T> {
    pub low: T,
    pub expected: T,
    pub high: T,
}

/// One criterion on the anniversary date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriterionForecast {
    /// `courseware`, `exams`, `survey_score`, `survey_points` or `area_score`.
    pub criterion: &'static str,
    pub area: Option<SolutionArea>,
    pub label: String,
    pub threshold: f64,
    /// Points, or an average (2 decimals; `null` without answers): today, what stays of
    /// today's counted events on the anniversary, and the projection's range.
    pub today: Option<f64>,
    pub stays: Option<f64>,
    pub low: Option<f64>,
    pub expected: Option<f64>,
    pub high: Option<f64>,
    /// The status of the expected value, and of the low and high ends.
    pub status: Status,
    pub low_status: Status,
    pub high_status: Status,
    /// How each number was reached.
    pub explanation: String,
    /// What would close the gap left by the expected value (`null`: none left).
    pub gap: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    pub as_of: String,
    pub anniversary: String,
    /// Days from today to the anniversary (0: today is the anniversary).
    pub days_left: i64,
    /// The anniversary's window, and today's (where the rates come from).
    pub window: kpi::Window,
    pub history_window: kpi::Window,
    pub leaving: Vec<LeavingMonth>,
    pub history: Vec<HistoryCell>,
    pub pipeline: Vec<PipelineRow>,
    pub later_classes: i64,
    pub vouchers: VoucherPace,
    pub criteria: Vec<CriterionForecast>,
    pub qualified: Scenarios<bool>,
}

fn area_index(area: SolutionArea) -> usize {
    SolutionArea::ALL
        .iter()
        .position(|a| *a == area)
        .expect("one of ALL")
}

/// Adds `tally.surveys` responses of `category` in `area` (none: the base average only);
/// fundamentals responses feed no average.
pub fn add_responses(
    inputs: &mut Inputs,
    category: DurationCategory,
    area: Option<SolutionArea>,
    tally: ScoreTally,
) {
    let target = match area {
        Some(a) => &mut inputs.areas[area_index(a)],
        None => &mut inputs.unassigned,
    };
    target.surveys.add(category, tally.surveys);
    if category != DurationCategory::Fundamentals {
        target.score.add(tally);
    }
}

fn months_between(months: &BTreeMap<NaiveDate, Inputs>, from: NaiveDate, to: NaiveDate) -> Inputs {
    let mut inputs = Inputs::default();
    for (_, month) in months.range(from..=to) {
        inputs.merge(month);
    }
    inputs
}

/// The score of `area`'s counted responses (none: every response's, the base average).
fn score_of(inputs: &Inputs, area: Option<SolutionArea>) -> ScoreTally {
    match area {
        Some(a) => inputs.areas[area_index(a)].score,
        None => {
            let mut all = inputs.unassigned.score;
            for a in &inputs.areas {
                all.add(a.score);
            }
            all
        }
    }
}

/// The score history new responses of `area` are assumed to follow: the area's own
/// answered responses of the last 12 months, else every area's, else none.
pub fn score_basis(history: &Inputs, area: Option<SolutionArea>) -> ScoreTally {
    let own = score_of(history, area);
    if own.surveys > 0 && own.answers > 0 {
        own
    } else {
        score_of(history, None)
    }
}

/// `n` new responses following `basis`: their answers and sum (rounded down).
pub fn responses_like(n: i64, basis: ScoreTally) -> ScoreTally {
    if basis.surveys == 0 {
        return ScoreTally {
            sum: 0,
            answers: 0,
            surveys: n,
        };
    }
    ScoreTally {
        sum: n * basis.sum / basis.surveys,
        answers: n * basis.answers / basis.surveys,
        surveys: n,
    }
}

fn rate(
    history: &[HistoryCell],
    category: DurationCategory,
    area: Option<SolutionArea>,
    events: fn(&HistoryCell) -> i64,
) -> Rate {
    let sum = |cells: &mut dyn Iterator<Item = &HistoryCell>| {
        cells.fold((0, 0), |(n, d), c| (n + events(c), d + c.attendees))
    };
    let (n, d) = sum(&mut history
        .iter()
        .filter(|c| c.category == category && c.area == area));
    if d > 0 {
        return Rate {
            numerator: n,
            denominator: d,
            basis: Basis::Cell,
        };
    }
    let (n, d) = sum(&mut history.iter().filter(|c| c.category == category));
    Rate {
        numerator: if d > 0 { n } else { 0 },
        denominator: d,
        basis: if d > 0 {
            Basis::Category
        } else {
            Basis::NoHistory
        },
    }
}

/// The pipeline's cells with their rates and expected events.
fn pipeline_rows(input: &ForecastInputs) -> Vec<PipelineRow> {
    input
        .pipeline
        .iter()
        .map(|p| {
            let mine = input
                .awaiting
                .iter()
                .filter(|a| a.in_pipeline && a.category == p.category && a.area == p.area);
            let (awaiting_codes, awaiting_surveys) =
                mine.fold((0, 0), |(c, s), a| (c + a.codes, s + a.responses.surveys));
            let redemption = rate(input.history, p.category, p.area, |c| c.redeemed);
            let response = rate(input.history, p.category, p.area, |c| c.responses);
            PipelineRow {
                category: p.category,
                area: p.area,
                classes: p.classes,
                attendees: p.attendees,
                redemption,
                response,
                awaiting_codes,
                awaiting_surveys,
                expected_codes: (redemption.apply(p.attendees) - awaiting_codes).max(0),
                expected_surveys: (response.apply(p.attendees) - awaiting_surveys).max(0),
                high_codes: (p.attendees - awaiting_codes).max(0),
                high_surveys: (p.attendees - awaiting_surveys).max(0),
            }
        })
        .collect()
}

fn voucher_pace(
    input: &ForecastInputs,
    (start_t, end_t): (NaiveDate, NaiveDate),
    end_a: NaiveDate,
) -> VoucherPace {
    let mut pace = VoucherPace {
        fundamentals_units: 0,
        advanced_units: 0,
        busiest_fundamentals: 0,
        busiest_advanced: 0,
        window_days: (end_t - start_t).num_days() + 1,
        remaining_days: (end_a - input.today).num_days().max(0),
        expected_fundamentals: 0,
        expected_advanced: 0,
        high_fundamentals: 0,
        high_advanced: 0,
    };
    for (_, m) in input.months.range(start_t..=end_t) {
        pace.fundamentals_units += m.exam_fundamentals_units;
        pace.advanced_units += m.exam_advanced_units;
        pace.busiest_fundamentals = pace.busiest_fundamentals.max(m.exam_fundamentals_units);
        pace.busiest_advanced = pace.busiest_advanced.max(m.exam_advanced_units);
    }
    let at = |units: i64| units * pace.remaining_days / pace.window_days;
    let months = i64::from(input.rules.window_months);
    pace.expected_fundamentals = at(pace.fundamentals_units);
    pace.expected_advanced = at(pace.advanced_units);
    pace.high_fundamentals = at(pace.busiest_fundamentals * months);
    pace.high_advanced = at(pace.busiest_advanced * months);
    pace
}

/// The forecast for the next anniversary on or after `input.today`; `None` without an
/// anniversary setting.
pub fn forecast(input: &ForecastInputs) -> Option<Forecast> {
    let rules = input.rules;
    let (anniversary, start_a, end_a) = anniversary_window(input.today, input.anniversary?, rules);
    let (start_t, end_t) = kpi::window(input.today, rules.window_months);

    let counted_today = months_between(input.months, start_t, end_t);
    let stays = months_between(input.months, start_a, end_a);
    let mut low = stays.clone();
    for a in input.awaiting {
        if a.month >= start_a && a.month <= end_a {
            low.codes.add(a.category, a.codes);
            add_responses(&mut low, a.category, a.area, a.responses);
        }
    }

    let pipeline = pipeline_rows(input);
    let vouchers = voucher_pace(input, (start_t, end_t), end_a);
    let mut expected = low.clone();
    let mut high = low.clone();
    for row in &pipeline {
        let basis = score_basis(&counted_today, row.area);
        for (scenario, codes, surveys) in [
            (&mut expected, row.expected_codes, row.expected_surveys),
            (&mut high, row.high_codes, row.high_surveys),
        ] {
            scenario.codes.add(row.category, codes);
            add_responses(
                scenario,
                row.category,
                row.area,
                responses_like(surveys, basis),
            );
        }
    }
    expected.exam_fundamentals_units += vouchers.expected_fundamentals;
    expected.exam_advanced_units += vouchers.expected_advanced;
    high.exam_fundamentals_units += vouchers.high_fundamentals;
    high.exam_advanced_units += vouchers.high_advanced;

    let leaving: Vec<(NaiveDate, &Inputs)> = input
        .months
        .range(start_t..start_a.max(start_t))
        .map(|(m, i)| (*m, i))
        .collect();
    let reports = text::Reports {
        today: kpi::evaluate(input.today, &counted_today, rules),
        stays: kpi::evaluate(anniversary, &stays, rules),
        low: kpi::evaluate(anniversary, &low, rules),
        expected: kpi::evaluate(anniversary, &expected, rules),
        high: kpi::evaluate(anniversary, &high, rules),
    };
    let context = text::Context {
        rules,
        today: input.today,
        anniversary,
        leaving: &leaving,
        pipeline: &pipeline,
        vouchers: &vouchers,
        history_scores: &counted_today,
        expected: &expected,
        reports: &reports,
    };
    let criteria = text::criteria(&context);
    let qualified = Scenarios {
        low: reports.low.qualified,
        expected: reports.expected.qualified,
        high: reports.high.qualified,
    };
    let window = reports.expected.window.clone();
    Some(Forecast {
        as_of: input.today.to_string(),
        anniversary: anniversary.to_string(),
        days_left: (anniversary - input.today).num_days(),
        window,
        history_window: kpi::Window {
            start: start_t.to_string(),
            end: end_t.to_string(),
        },
        leaving: leaving
            .iter()
            .map(|(m, i)| {
                let f = kpi::month_figures(i, rules);
                LeavingMonth {
                    month: m.format("%Y-%m").to_string(),
                    courseware_points: f.courseware_half as f64 / 2.0,
                    exam_points: f.exam_half as f64 / 2.0,
                    surveys: f.surveys,
                }
            })
            .collect(),
        history: input.history.to_vec(),
        pipeline,
        later_classes: input.later_classes,
        vouchers,
        criteria,
        qualified,
    })
}

#[cfg(test)]
mod tests;
