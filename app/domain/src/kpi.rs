//! SPEC §4: the Solutions Partner for Training Services designation, evaluated from
//! aggregated inputs. Points are integer half-points; every threshold comparison is
//! exact (4.25 is met when `100 × sum ≥ 425 × answers`).
use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

use super::catalog::{Content, DurationCategory, SolutionArea};
use super::delivery::{ClassStatus, Modality};

pub mod sql;

/// Every number of the program's rules, in one place: a change of rules is one edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesProfile {
    /// The window: this many complete calendar months before the month of the as-of date.
    pub window_months: u32,
    /// Half-points per redeemed code, by duration category.
    pub courseware_half_points: CategoryValues,
    /// The fundamentals courseware total is capped at this many half-points.
    pub courseware_fundamentals_cap_half: i64,
    pub courseware_threshold: i64,
    /// Half-points per exam voucher unit.
    pub exam_fundamentals_half_points: i64,
    pub exam_advanced_half_points: i64,
    pub exam_threshold: i64,
    /// The average response score needed, as a fraction `numerator / denominator`.
    pub score_threshold_numerator: i64,
    pub score_threshold_denominator: i64,
    /// Half-points per survey completion in a solution area, by duration category.
    pub area_survey_half_points: CategoryValues,
    /// The two-days-or-less survey total per area is capped at this many half-points.
    pub area_two_days_cap_half: i64,
    pub area_survey_threshold: i64,
    /// The renewal window opens this many days before the anniversary.
    pub renewal_window_days: i64,
}

/// One value per duration category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CategoryValues {
    pub fundamentals: i64,
    pub two_days_or_less: i64,
    pub three_days_or_more: i64,
}

impl CategoryValues {
    pub fn get(&self, category: DurationCategory) -> i64 {
        match category {
            DurationCategory::Fundamentals => self.fundamentals,
            DurationCategory::TwoDaysOrLess => self.two_days_or_less,
            DurationCategory::ThreeDaysOrMore => self.three_days_or_more,
        }
    }

    /// The three values added up.
    pub fn total(&self) -> i64 {
        self.fundamentals + self.two_days_or_less + self.three_days_or_more
    }

    pub fn add(&mut self, category: DurationCategory, n: i64) {
        match category {
            DurationCategory::Fundamentals => self.fundamentals += n,
            DurationCategory::TwoDaysOrLess => self.two_days_or_less += n,
            DurationCategory::ThreeDaysOrMore => self.three_days_or_more += n,
        }
    }
}

/// The rules in force from 1 August 2025.
pub const DESIGNATION_2025: RulesProfile = RulesProfile {
    window_months: 12,
    courseware_half_points: CategoryValues {
        fundamentals: 1,
        two_days_or_less: 1,
        three_days_or_more: 2,
    },
    courseware_fundamentals_cap_half: 600,
    courseware_threshold: 1000,
    exam_fundamentals_half_points: 1,
    exam_advanced_half_points: 2,
    exam_threshold: 200,
    score_threshold_numerator: 425,
    score_threshold_denominator: 100,
    area_survey_half_points: CategoryValues {
        fundamentals: 0,
        two_days_or_less: 1,
        three_days_or_more: 2,
    },
    area_two_days_cap_half: 200,
    area_survey_threshold: 200,
    renewal_window_days: 30,
};

/// *Rule — window*: the complete calendar months before the month of `as_of`.
pub fn window(as_of: NaiveDate, months: u32) -> (NaiveDate, NaiveDate) {
    let this_month = as_of.with_day(1).expect("day 1 exists");
    let start = this_month - Months::new(months);
    let end = this_month.pred_opt().expect("a day before the 1st exists");
    (start, end)
}

/// Answers to scored questions: their sum and count, and how many responses gave them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScoreTally {
    pub sum: i64,
    pub answers: i64,
    pub surveys: i64,
}

impl ScoreTally {
    pub fn add(&mut self, other: ScoreTally) {
        self.sum += other.sum;
        self.answers += other.answers;
        self.surveys += other.surveys;
    }
}

/// What the queries count within the window, for KPI-eligible classes only.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inputs {
    /// Redeemed codes by category.
    pub codes: CategoryValues,
    pub exam_fundamentals_units: i64,
    pub exam_advanced_units: i64,
    /// Per solution area (SPEC §2 order): responses by category, and the score tally of
    /// responses in the two non-fundamentals categories.
    pub areas: [AreaInputs; 6],
    /// Responses of classes with no solution area (they count for the base average only).
    pub unassigned: AreaInputs,
    pub excluded: Excluded,
}

impl Inputs {
    /// Adds `other`'s counts (the window's inputs are the sum of its months').
    pub fn merge(&mut self, other: &Inputs) {
        for category in DurationCategory::ALL {
            self.codes.add(category, other.codes.get(category));
        }
        self.exam_fundamentals_units += other.exam_fundamentals_units;
        self.exam_advanced_units += other.exam_advanced_units;
        for (mine, theirs) in self
            .areas
            .iter_mut()
            .chain([&mut self.unassigned])
            .zip(other.areas.iter().chain([&other.unassigned]))
        {
            for category in DurationCategory::ALL {
                mine.surveys.add(category, theirs.surveys.get(category));
            }
            mine.score.add(theirs.score);
        }
        let (mine, theirs) = (&mut self.excluded, &other.excluded);
        mine.redeemed_codes += theirs.redeemed_codes;
        mine.surveys += theirs.surveys;
        mine.classes.recorded += theirs.classes.recorded;
        mine.classes.unconfirmed += theirs.classes.unconfirmed;
        mine.classes.cancelled += theirs.classes.cancelled;
        mine.classes.unofficial += theirs.classes.unofficial;
    }
}

/// What one month's KPI-eligible events earn before any cap: the dashboard's chart, and
/// what leaves the window when the month turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MonthFigures {
    pub courseware_half: i64,
    pub exam_half: i64,
    /// Survey responses of KPI-eligible classes, every category.
    pub surveys: i64,
}

pub fn month_figures(inputs: &Inputs, rules: &RulesProfile) -> MonthFigures {
    MonthFigures {
        courseware_half: weighted(&inputs.codes, &rules.courseware_half_points),
        exam_half: inputs.exam_fundamentals_units * rules.exam_fundamentals_half_points
            + inputs.exam_advanced_units * rules.exam_advanced_half_points,
        surveys: inputs
            .areas
            .iter()
            .chain([&inputs.unassigned])
            .map(|a| a.surveys.total())
            .sum(),
    }
}

/// `counts` × `weights`, summed over the categories (no caps).
pub fn weighted(counts: &CategoryValues, weights: &CategoryValues) -> i64 {
    DurationCategory::ALL
        .iter()
        .map(|c| counts.get(*c) * weights.get(*c))
        .sum()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AreaInputs {
    pub surveys: CategoryValues,
    /// Over responses in two_days_or_less and three_days_or_more only.
    pub score: ScoreTally,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ExcludedClasses {
    pub recorded: i64,
    pub unconfirmed: i64,
    pub cancelled: i64,
    pub unofficial: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Excluded {
    pub classes: ExcludedClasses,
    pub redeemed_codes: i64,
    pub surveys: i64,
}

id_enum!(Exclusion {
    Cancelled = "cancelled" / "Cancelled",
    Unofficial = "unofficial" / "Unofficial content",
    Recorded = "recorded" / "Recorded delivery",
    Unconfirmed = "unconfirmed" / "Not confirmed",
});

/// One test of the exclusion rule on a class (its status, its course's content, its
/// modality), as data, so the database query is built from the same table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassTest {
    StatusIs(ClassStatus),
    StatusIsNot(ClassStatus),
    ContentIsNot(Content),
    ModalityIs(Modality),
}

impl ClassTest {
    pub fn holds(self, status: ClassStatus, content: Content, modality: Modality) -> bool {
        match self {
            ClassTest::StatusIs(s) => status == s,
            ClassTest::StatusIsNot(s) => status != s,
            ClassTest::ContentIsNot(c) => content != c,
            ClassTest::ModalityIs(m) => modality == m,
        }
    }
}

/// Why a class's codes and surveys do not count: the first reason whose test holds, in
/// this order. A change of the program's rules is an edit here; the KPI queries are
/// rendered from it (`services::kpi`).
pub const EXCLUSION_RULE: [(Exclusion, ClassTest); 4] = [
    (
        Exclusion::Cancelled,
        ClassTest::StatusIs(ClassStatus::Cancelled),
    ),
    (
        Exclusion::Unofficial,
        ClassTest::ContentIsNot(Content::Official),
    ),
    (
        Exclusion::Recorded,
        ClassTest::ModalityIs(Modality::Recorded),
    ),
    (
        Exclusion::Unconfirmed,
        ClassTest::StatusIsNot(ClassStatus::Confirmed),
    ),
];

/// Why a class does not count, if it does not: see [`EXCLUSION_RULE`].
pub fn exclusion(status: ClassStatus, content: Content, modality: Modality) -> Option<Exclusion> {
    EXCLUSION_RULE
        .iter()
        .find(|(_, test)| test.holds(status, content, modality))
        .map(|(reason, _)| *reason)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    NotStarted,
    InProgress,
    Completed,
}

/// A group is completed when all its criteria are, not started when none has started.
pub fn group_status(criteria: &[Status]) -> Status {
    if criteria.iter().all(|s| *s == Status::Completed) {
        Status::Completed
    } else if criteria.iter().all(|s| *s == Status::NotStarted) {
        Status::NotStarted
    } else {
        Status::InProgress
    }
}

fn points_status(half: i64, threshold: i64) -> Status {
    if half == 0 {
        Status::NotStarted
    } else if half >= threshold * 2 {
        Status::Completed
    } else {
        Status::InProgress
    }
}

/// *Rule — comparisons are exact*: the average meets the threshold when
/// `denominator × sum ≥ numerator × answers`.
fn score_status(tally: ScoreTally, rules: &RulesProfile) -> Status {
    if tally.answers == 0 {
        Status::NotStarted
    } else if rules.score_threshold_denominator * tally.sum
        >= rules.score_threshold_numerator * tally.answers
    {
        Status::Completed
    } else {
        Status::InProgress
    }
}

/// The average to 2 decimals (half up), for display only; `None` without answers.
fn average(tally: ScoreTally) -> Option<f64> {
    (tally.answers > 0)
        .then(|| ((tally.sum * 200 + tally.answers) / (2 * tally.answers)) as f64 / 100.0)
}

fn points(half: i64) -> f64 {
    half as f64 / 2.0
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub as_of: String,
    pub window: Window,
    pub base: Base,
    pub solution_areas: Vec<AreaReport>,
    pub qualified: bool,
    pub badges: Vec<&'static str>,
    pub cloud_partner_badge: bool,
    pub excluded: Excluded,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Base {
    pub courseware: Courseware,
    pub exams: Exams,
    pub survey_score: SurveyScore,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Courseware {
    pub points: f64,
    pub threshold: i64,
    pub status: Status,
    pub by_category: CoursewareCategories,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoursewareCategories {
    pub fundamentals: CategoryPoints,
    pub two_days_or_less: CategoryPoints,
    pub three_days_or_more: CategoryPoints,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryPoints {
    pub units: i64,
    pub points: f64,
    pub capped: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exams {
    pub points: f64,
    pub threshold: i64,
    pub status: Status,
    pub by_level: ExamLevels,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExamLevels {
    pub fundamentals: LevelPoints,
    pub advanced: LevelPoints,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelPoints {
    pub units: i64,
    pub points: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyScore {
    pub average: Option<f64>,
    pub sum: i64,
    pub answers: i64,
    pub surveys: i64,
    pub threshold: f64,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaReport {
    pub area: &'static str,
    pub survey_points: f64,
    pub threshold: i64,
    pub surveys: AreaSurveys,
    pub points_status: Status,
    pub average: Option<f64>,
    pub sum: i64,
    pub answers: i64,
    pub score_status: Status,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaSurveys {
    pub two_days_or_less: i64,
    pub three_days_or_more: i64,
}

/// The designation report for `as_of` from the window's aggregated `inputs`.
pub fn evaluate(as_of: NaiveDate, inputs: &Inputs, rules: &RulesProfile) -> Report {
    let (start, end) = window(as_of, rules.window_months);

    let category = |c: DurationCategory, cap: Option<i64>| {
        let units = inputs.codes.get(c);
        let raw = units * rules.courseware_half_points.get(c);
        let half = cap.map_or(raw, |cap| raw.min(cap));
        (units, half, cap.is_some_and(|cap| raw > cap))
    };
    let (f_units, f_half, f_capped) = category(
        DurationCategory::Fundamentals,
        Some(rules.courseware_fundamentals_cap_half),
    );
    let (t_units, t_half, _) = category(DurationCategory::TwoDaysOrLess, None);
    let (h_units, h_half, _) = category(DurationCategory::ThreeDaysOrMore, None);
    let courseware_half = f_half + t_half + h_half;
    let courseware = Courseware {
        points: points(courseware_half),
        threshold: rules.courseware_threshold,
        status: points_status(courseware_half, rules.courseware_threshold),
        by_category: CoursewareCategories {
            fundamentals: CategoryPoints {
                units: f_units,
                points: points(f_half),
                capped: f_capped,
            },
            two_days_or_less: CategoryPoints {
                units: t_units,
                points: points(t_half),
                capped: false,
            },
            three_days_or_more: CategoryPoints {
                units: h_units,
                points: points(h_half),
                capped: false,
            },
        },
    };

    let exam_f_half = inputs.exam_fundamentals_units * rules.exam_fundamentals_half_points;
    let exam_a_half = inputs.exam_advanced_units * rules.exam_advanced_half_points;
    let exams = Exams {
        points: points(exam_f_half + exam_a_half),
        threshold: rules.exam_threshold,
        status: points_status(exam_f_half + exam_a_half, rules.exam_threshold),
        by_level: ExamLevels {
            fundamentals: LevelPoints {
                units: inputs.exam_fundamentals_units,
                points: points(exam_f_half),
            },
            advanced: LevelPoints {
                units: inputs.exam_advanced_units,
                points: points(exam_a_half),
            },
        },
    };

    let mut base_tally = inputs.unassigned.score;
    for area in &inputs.areas {
        base_tally.add(area.score);
    }
    let survey_score = SurveyScore {
        average: average(base_tally),
        sum: base_tally.sum,
        answers: base_tally.answers,
        surveys: base_tally.surveys,
        threshold: rules.score_threshold_numerator as f64
            / rules.score_threshold_denominator as f64,
        status: score_status(base_tally, rules),
    };
    let base_status = group_status(&[courseware.status, exams.status, survey_score.status]);

    let solution_areas: Vec<AreaReport> = SolutionArea::ALL
        .iter()
        .zip(&inputs.areas)
        .map(|(area, input)| {
            let two = (input.surveys.two_days_or_less
                * rules.area_survey_half_points.two_days_or_less)
                .min(rules.area_two_days_cap_half);
            let three =
                input.surveys.three_days_or_more * rules.area_survey_half_points.three_days_or_more;
            let fundamentals =
                input.surveys.fundamentals * rules.area_survey_half_points.fundamentals;
            let half = two + three + fundamentals;
            let points_status = points_status(half, rules.area_survey_threshold);
            let score_status = score_status(input.score, rules);
            AreaReport {
                area: area.id(),
                survey_points: points(half),
                threshold: rules.area_survey_threshold,
                surveys: AreaSurveys {
                    two_days_or_less: input.surveys.two_days_or_less,
                    three_days_or_more: input.surveys.three_days_or_more,
                },
                points_status,
                average: average(input.score),
                sum: input.score.sum,
                answers: input.score.answers,
                score_status,
                status: group_status(&[points_status, score_status]),
            }
        })
        .collect();

    let qualified = base_status == Status::Completed
        && solution_areas.iter().any(|a| a.status == Status::Completed);
    let badges: Vec<&'static str> = if qualified {
        solution_areas
            .iter()
            .filter(|a| a.status == Status::Completed)
            .map(|a| a.area)
            .collect()
    } else {
        vec![]
    };
    Report {
        as_of: as_of.to_string(),
        window: Window {
            start: start.to_string(),
            end: end.to_string(),
        },
        base: Base {
            courseware,
            exams,
            survey_score,
            status: base_status,
        },
        cloud_partner_badge: qualified && badges.len() == SolutionArea::ALL.len(),
        solution_areas,
        qualified,
        badges,
        excluded: inputs.excluded,
    }
}

/// The anniversary (month, day) on or after `today`; 29 February falls on the 28th in
/// other years.
pub fn next_anniversary(today: NaiveDate, anniversary: (u32, u32)) -> NaiveDate {
    let on = |year: i32| {
        NaiveDate::from_ymd_opt(year, anniversary.0, anniversary.1)
            .or_else(|| NaiveDate::from_ymd_opt(year, anniversary.0, anniversary.1 - 1))
            .expect("a valid month and day")
    };
    let this_year = on(today.year());
    if this_year < today {
        on(today.year() + 1)
    } else {
        this_year
    }
}

/// The anniversary setting: a month (1–12) and a day that exists in it in some year.
pub fn parse_anniversary(month: &str, day: &str) -> Result<(u32, u32), (&'static str, String)> {
    let month: u32 = match month.trim().parse() {
        Ok(m) if (1..=12).contains(&m) => m,
        _ => return Err(("anniversary_month", "choose a month".into())),
    };
    match day.trim().parse::<u32>() {
        // 2024 is a leap year: every day that exists in the month exists in it.
        Ok(d) if NaiveDate::from_ymd_opt(2024, month, d).is_some() => Ok((month, d)),
        _ => Err((
            "anniversary_day",
            format!("must be a day of that month, not {:?}", day.trim()),
        )),
    }
}

/// Where `today` stands against the renewal window that opens `window_days` before the
/// anniversary (month, day) and closes on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// The window opens in this many days.
    OpensIn(i64),
    /// The window is open; it closes in this many days (0: today is the anniversary).
    ClosesIn(i64),
}

pub fn renewal(today: NaiveDate, anniversary: (u32, u32), window_days: i64) -> Renewal {
    let days_left = (next_anniversary(today, anniversary) - today).num_days();
    if days_left <= window_days {
        Renewal::ClosesIn(days_left)
    } else {
        Renewal::OpensIn(days_left - window_days)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod property_tests;
