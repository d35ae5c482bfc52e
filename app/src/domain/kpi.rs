//! SPEC §4: the Solutions Partner for Training Services designation, evaluated from
//! aggregated inputs. Points are integer half-points; every threshold comparison is
//! exact (4.25 is met when `100 × sum ≥ 425 × answers`).
use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

use super::catalog::{Content, DurationCategory, SolutionArea};
use super::delivery::{ClassStatus, Modality};

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
mod tests {
    use super::*;
    use serde_json::json;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    const R: &RulesProfile = &DESIGNATION_2025;

    fn tally(sum: i64, answers: i64, surveys: i64) -> ScoreTally {
        ScoreTally {
            sum,
            answers,
            surveys,
        }
    }

    /// A partner meeting the base criteria with the spec's example figures.
    fn spec_example() -> Inputs {
        let mut inputs = Inputs {
            codes: CategoryValues {
                fundamentals: 700,
                two_days_or_less: 425,
                three_days_or_more: 500,
            },
            exam_fundamentals_units: 100,
            exam_advanced_units: 160,
            ..Default::default()
        };
        inputs.unassigned.score = tally(8620 - 4646, 2000 - 1055, 400 - 211);
        inputs.areas[5] = AreaInputs {
            surveys: CategoryValues {
                fundamentals: 9,
                two_days_or_less: 61,
                three_days_or_more: 150,
            },
            score: tally(4646, 1055, 211),
        };
        inputs
    }

    #[test]
    fn rule_window_is_the_twelve_complete_months_before_the_month_of_the_date() {
        assert_eq!(
            window(d("2026-11-22"), 12),
            (d("2025-11-01"), d("2026-10-31"))
        );
        assert_eq!(
            window(d("2026-11-01"), 12),
            (d("2025-11-01"), d("2026-10-31"))
        );
        assert_eq!(
            window(d("2026-03-31"), 12),
            (d("2025-03-01"), d("2026-02-28"))
        );
        assert_eq!(
            window(d("2024-03-15"), 12),
            (d("2023-03-01"), d("2024-02-29"))
        );
        assert_eq!(
            window(d("2026-01-05"), 12),
            (d("2025-01-01"), d("2025-12-31"))
        );
    }

    #[test]
    fn rule_courseware_points_weigh_categories_and_cap_fundamentals_at_300() {
        let report = evaluate(d("2026-11-22"), &spec_example(), R);
        let c = &report.base.courseware;
        assert_eq!(
            c.by_category.fundamentals,
            CategoryPoints {
                units: 700,
                points: 300.0,
                capped: true
            }
        );
        assert_eq!(
            c.by_category.two_days_or_less,
            CategoryPoints {
                units: 425,
                points: 212.5,
                capped: false
            }
        );
        assert_eq!(
            c.by_category.three_days_or_more,
            CategoryPoints {
                units: 500,
                points: 500.0,
                capped: false
            }
        );
        assert_eq!((c.points, c.status), (1012.5, Status::Completed));
        let exactly_cap = Inputs {
            codes: CategoryValues {
                fundamentals: 600,
                ..Default::default()
            },
            ..Default::default()
        };
        let f = evaluate(d("2026-11-22"), &exactly_cap, R)
            .base
            .courseware
            .by_category
            .fundamentals;
        assert_eq!((f.points, f.capped), (300.0, false));
        let short = Inputs {
            codes: CategoryValues {
                three_days_or_more: 999,
                two_days_or_less: 1,
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            evaluate(d("2026-11-22"), &short, R).base.courseware.status,
            Status::InProgress,
            "999.5 < 1000"
        );
    }

    #[test]
    fn rule_exam_points_are_half_for_fundamentals_and_one_for_advanced_without_caps() {
        let e = evaluate(d("2026-11-22"), &spec_example(), R).base.exams;
        assert_eq!(
            e.by_level.fundamentals,
            LevelPoints {
                units: 100,
                points: 50.0
            }
        );
        assert_eq!(
            e.by_level.advanced,
            LevelPoints {
                units: 160,
                points: 160.0
            }
        );
        assert_eq!(
            (e.points, e.threshold, e.status),
            (210.0, 200, Status::Completed)
        );
    }

    #[test]
    fn rule_comparisons_are_exact_and_averages_are_only_displayed_rounded() {
        let at = |sum, answers| {
            let mut i = Inputs::default();
            i.unassigned.score = tally(sum, answers, 1);
            evaluate(d("2026-11-22"), &i, R).base.survey_score
        };
        assert_eq!(at(8500, 2000).status, Status::Completed, "exactly 4.25");
        let below = at(8499, 2000);
        assert_eq!(
            (below.status, below.average),
            (Status::InProgress, Some(4.25)),
            "4.2495 shows as 4.25 but fails"
        );
        assert_eq!(at(8620, 2000).average, Some(4.31));
        assert_eq!(at(17, 4).average, Some(4.25));
        assert_eq!(at(0, 0).status, Status::NotStarted);
        assert_eq!(at(0, 0).average, None);
    }

    #[test]
    fn rule_base_average_excludes_fundamentals_and_counts_blank_surveys() {
        // Fundamentals responses never reach the tallies (the queries leave them out);
        // a response with every question blank counts as a survey with no answers.
        let mut i = Inputs::default();
        i.areas[0].score = tally(10, 2, 3);
        let s = evaluate(d("2026-11-22"), &i, R).base.survey_score;
        assert_eq!(
            (s.sum, s.answers, s.surveys, s.average),
            (10, 2, 3, Some(5.0))
        );
    }

    #[test]
    fn rule_area_survey_points_cap_short_classes_at_100_and_ignore_fundamentals() {
        let mut i = Inputs::default();
        i.areas[5].surveys = CategoryValues {
            fundamentals: 500,
            two_days_or_less: 250,
            three_days_or_more: 80,
        };
        let a = &evaluate(d("2026-11-22"), &i, R).solution_areas[5];
        assert_eq!(
            (a.area, a.survey_points, a.points_status),
            ("security", 180.0, Status::InProgress)
        );
        i.areas[5].surveys.three_days_or_more = 100;
        assert_eq!(
            evaluate(d("2026-11-22"), &i, R).solution_areas[5].points_status,
            Status::Completed
        );
        let spec = &evaluate(d("2026-11-22"), &spec_example(), R).solution_areas[5];
        assert_eq!(spec.survey_points, 180.5);
        assert_eq!(
            (spec.average, spec.score_status, spec.status),
            (Some(4.4), Status::Completed, Status::InProgress)
        );
    }

    #[test]
    fn rule_status_of_a_group_follows_its_criteria() {
        use Status::*;
        assert_eq!(group_status(&[Completed, Completed, Completed]), Completed);
        assert_eq!(group_status(&[NotStarted, NotStarted]), NotStarted);
        assert_eq!(group_status(&[Completed, NotStarted]), InProgress);
        assert_eq!(
            group_status(&[InProgress, NotStarted, NotStarted]),
            InProgress
        );
        let empty = evaluate(d("2026-11-22"), &Inputs::default(), R);
        assert_eq!(empty.base.status, NotStarted);
        assert!(empty.solution_areas.iter().all(|a| a.status == NotStarted));
    }

    #[test]
    fn rule_qualified_needs_the_base_and_one_area_and_badges_follow() {
        let mut i = spec_example();
        let report = evaluate(d("2026-11-22"), &i, R);
        assert!(!report.qualified && report.badges.is_empty() && !report.cloud_partner_badge);
        for area in i.areas.iter_mut() {
            area.surveys.three_days_or_more = 200;
            area.score = tally(900, 200, 200);
        }
        let all = evaluate(d("2026-11-22"), &i, R);
        assert!(all.qualified && all.cloud_partner_badge);
        assert_eq!(
            all.badges,
            [
                "data_ai",
                "infrastructure",
                "digital_app_innovation",
                "business_applications",
                "modern_work",
                "security"
            ]
        );
        i.areas[1].score = tally(800, 200, 200);
        let five = evaluate(d("2026-11-22"), &i, R);
        assert!(five.qualified && !five.cloud_partner_badge);
        assert!(!five.badges.contains(&"infrastructure"));
        i.exam_advanced_units = 0;
        i.exam_fundamentals_units = 0;
        let no_base = evaluate(d("2026-11-22"), &i, R);
        assert!(
            !no_base.qualified && no_base.badges.is_empty(),
            "areas alone do not qualify"
        );
    }

    #[test]
    fn rule_kpi_eligible_excludes_by_the_first_reason_in_spec_order() {
        use ClassStatus::*;
        use Content::*;
        use Modality::*;
        assert_eq!(
            exclusion(Cancelled, Unofficial, Recorded),
            Some(Exclusion::Cancelled)
        );
        assert_eq!(
            exclusion(Delivered, Unofficial, Recorded),
            Some(Exclusion::Unofficial)
        );
        assert_eq!(
            exclusion(Confirmed, Official, Recorded),
            Some(Exclusion::Recorded)
        );
        assert_eq!(
            exclusion(Delivered, Official, Virtual),
            Some(Exclusion::Unconfirmed)
        );
        assert_eq!(
            exclusion(Scheduled, Official, InPerson),
            Some(Exclusion::Unconfirmed)
        );
        assert_eq!(exclusion(Confirmed, Official, InPerson), None);
        assert_eq!(exclusion(Confirmed, Official, Virtual), None);
    }

    #[test]
    fn anniversary_setting_must_be_a_real_day_of_its_month() {
        assert_eq!(parse_anniversary("8", "1"), Ok((8, 1)));
        assert_eq!(parse_anniversary(" 2 ", "29"), Ok((2, 29)));
        assert_eq!(
            parse_anniversary("2", "30").unwrap_err().0,
            "anniversary_day"
        );
        assert_eq!(
            parse_anniversary("4", "31").unwrap_err().0,
            "anniversary_day"
        );
        assert_eq!(
            parse_anniversary("13", "1").unwrap_err().0,
            "anniversary_month"
        );
        assert_eq!(
            parse_anniversary("", "1").unwrap_err().0,
            "anniversary_month"
        );
        assert_eq!(next_anniversary(d("2026-11-22"), (8, 1)), d("2027-08-01"));
        assert_eq!(next_anniversary(d("2026-11-22"), (11, 22)), d("2026-11-22"));
        assert_eq!(next_anniversary(d("2026-03-01"), (2, 29)), d("2027-02-28"));
    }

    #[test]
    fn rule_renewal_window_opens_30_days_before_the_anniversary() {
        assert_eq!(renewal(d("2026-11-22"), (12, 31), 30), Renewal::OpensIn(9));
        assert_eq!(
            renewal(d("2026-12-01"), (12, 31), 30),
            Renewal::ClosesIn(30)
        );
        assert_eq!(renewal(d("2026-12-31"), (12, 31), 30), Renewal::ClosesIn(0));
        assert_eq!(
            renewal(d("2027-01-01"), (12, 31), 30),
            Renewal::OpensIn(334)
        );
        assert_eq!(
            renewal(d("2027-02-01"), (2, 29), 30),
            Renewal::ClosesIn(27),
            "Feb 29 falls back to Feb 28"
        );
    }

    #[test]
    fn the_report_serializes_to_the_spec_json_shape() {
        let value = serde_json::to_value(evaluate(d("2026-11-22"), &spec_example(), R)).unwrap();
        assert_eq!(value["as_of"], json!("2026-11-22"));
        assert_eq!(
            value["window"],
            json!({"start": "2025-11-01", "end": "2026-10-31"})
        );
        assert_eq!(
            value["base"]["courseware"],
            json!({"points": 1012.5, "threshold": 1000, "status": "completed",
                "by_category": {
                    "fundamentals": {"units": 700, "points": 300.0, "capped": true},
                    "two_days_or_less": {"units": 425, "points": 212.5, "capped": false},
                    "three_days_or_more": {"units": 500, "points": 500.0, "capped": false}}})
        );
        assert_eq!(
            value["base"]["exams"],
            json!({"points": 210.0, "threshold": 200, "status": "completed",
                "by_level": {"fundamentals": {"units": 100, "points": 50.0}, "advanced": {"units": 160, "points": 160.0}}})
        );
        assert_eq!(
            value["base"]["survey_score"],
            json!({"average": 4.31, "sum": 8620, "answers": 2000, "surveys": 400, "threshold": 4.25, "status": "completed"})
        );
        assert_eq!(value["base"]["status"], json!("completed"));
        assert_eq!(value["solution_areas"].as_array().unwrap().len(), 6);
        assert_eq!(
            value["solution_areas"][5],
            json!({"area": "security", "survey_points": 180.5, "threshold": 200,
                "surveys": {"two_days_or_less": 61, "three_days_or_more": 150},
                "points_status": "in_progress", "average": 4.4, "sum": 4646, "answers": 1055,
                "score_status": "completed", "status": "in_progress"})
        );
        assert_eq!(value["solution_areas"][0]["average"], json!(null));
        assert_eq!(
            (
                value["qualified"].clone(),
                value["badges"].clone(),
                value["cloud_partner_badge"].clone()
            ),
            (json!(false), json!([]), json!(false))
        );
        assert_eq!(
            value["excluded"],
            json!({"classes": {"recorded": 0, "unconfirmed": 0, "cancelled": 0, "unofficial": 0}, "redeemed_codes": 0, "surveys": 0})
        );
    }
}

/// The engine against a naive oracle: row-level records, counted one by one with
/// floating-point points (exact here: halves and a threshold representable in binary).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    struct Response {
        category: usize,
        area: Option<usize>,
        answers: [Option<i64>; 5],
    }

    fn response() -> impl Strategy<Value = Response> {
        (
            0..3usize,
            proptest::option::of(0..6usize),
            proptest::array::uniform5(proptest::option::of(1..=5i64)),
        )
            .prop_map(|(category, area, answers)| Response {
                category,
                area,
                answers,
            })
    }

    const CATEGORIES: [DurationCategory; 3] = [
        DurationCategory::Fundamentals,
        DurationCategory::TwoDaysOrLess,
        DurationCategory::ThreeDaysOrMore,
    ];

    fn aggregate(
        codes: &[usize],
        fundamentals: i64,
        advanced: i64,
        responses: &[Response],
    ) -> Inputs {
        let mut inputs = Inputs {
            exam_fundamentals_units: fundamentals,
            exam_advanced_units: advanced,
            ..Default::default()
        };
        for c in codes {
            inputs.codes.add(CATEGORIES[*c], 1);
        }
        for r in responses {
            let target = match r.area {
                Some(a) => &mut inputs.areas[a],
                None => &mut inputs.unassigned,
            };
            target.surveys.add(CATEGORIES[r.category], 1);
            if r.category != 0 {
                let given: Vec<i64> = r.answers.iter().flatten().copied().collect();
                target.score.add(ScoreTally {
                    sum: given.iter().sum(),
                    answers: given.len() as i64,
                    surveys: 1,
                });
            }
        }
        inputs
    }

    fn naive_status(value: f64, threshold: f64, started: bool) -> Status {
        if !started {
            Status::NotStarted
        } else if value >= threshold {
            Status::Completed
        } else {
            Status::InProgress
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn the_engine_agrees_with_a_row_by_row_count(
            codes in proptest::collection::vec(0..3usize, 0..1500),
            fundamentals in 0..250i64,
            advanced in 0..250i64,
            responses in proptest::collection::vec(response(), 0..400),
        ) {
            let report = evaluate("2026-11-22".parse().unwrap(), &aggregate(&codes, fundamentals, advanced, &responses), &DESIGNATION_2025);

            let mut by_category = [0.0f64; 3];
            for c in &codes {
                by_category[*c] += [0.5, 0.5, 1.0][*c];
            }
            let courseware = by_category[0].min(300.0) + by_category[1] + by_category[2];
            prop_assert_eq!(report.base.courseware.points, courseware);
            prop_assert_eq!(report.base.courseware.status, naive_status(courseware, 1000.0, courseware > 0.0));
            prop_assert_eq!(report.base.courseware.by_category.fundamentals.capped, by_category[0] > 300.0);

            let exams = fundamentals as f64 * 0.5 + advanced as f64;
            prop_assert_eq!(report.base.exams.points, exams);

            let scored: Vec<&Response> = responses.iter().filter(|r| r.category != 0).collect();
            let answers: Vec<i64> = scored.iter().flat_map(|r| r.answers.iter().flatten().copied()).collect();
            let average = answers.iter().sum::<i64>() as f64 / answers.len().max(1) as f64;
            prop_assert_eq!(report.base.survey_score.surveys, scored.len() as i64);
            prop_assert_eq!(report.base.survey_score.status, naive_status(average, 4.25, !answers.is_empty()));

            for (a, area) in report.solution_areas.iter().enumerate() {
                let here: Vec<&Response> = responses.iter().filter(|r| r.area == Some(a)).collect();
                let two = here.iter().filter(|r| r.category == 1).count() as f64 * 0.5;
                let three = here.iter().filter(|r| r.category == 2).count() as f64;
                let points = two.min(100.0) + three;
                prop_assert_eq!(area.survey_points, points);
                let area_answers: Vec<i64> = here.iter().filter(|r| r.category != 0).flat_map(|r| r.answers.iter().flatten().copied()).collect();
                let area_average = area_answers.iter().sum::<i64>() as f64 / area_answers.len().max(1) as f64;
                prop_assert_eq!(area.points_status, naive_status(points, 200.0, points > 0.0));
                prop_assert_eq!(area.score_status, naive_status(area_average, 4.25, !area_answers.is_empty()));
            }
            let base_done = report.base.status == Status::Completed;
            let any_area = report.solution_areas.iter().any(|a| a.status == Status::Completed);
            prop_assert_eq!(report.qualified, base_done && any_area);
            prop_assert_eq!(report.cloud_partner_badge, report.qualified && report.badges.len() == 6);
        }
    }
}
