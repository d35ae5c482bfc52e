use super::*;
use crate::kpi::{CategoryValues, DESIGNATION_2025};

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

/// A month with `three` redeemed 3-day codes, `advanced` exam units and `surveys`
/// 3-day Security responses scoring `sum` over `answers`.
fn month(three: i64, advanced: i64, security: ScoreTally) -> Inputs {
    let mut m = Inputs {
        codes: CategoryValues {
            three_days_or_more: three,
            ..Default::default()
        },
        exam_advanced_units: advanced,
        ..Default::default()
    };
    add_responses(
        &mut m,
        DurationCategory::ThreeDaysOrMore,
        Some(SolutionArea::Security),
        security,
    );
    m
}

struct Case<'a> {
    today: &'a str,
    anniversary: Option<(u32, u32)>,
    months: Vec<(&'a str, Inputs)>,
    history: Vec<HistoryCell>,
    pipeline: Vec<PipelineCell>,
    awaiting: Vec<Awaiting>,
}

impl Case<'_> {
    fn run(&self) -> Option<Forecast> {
        let months: BTreeMap<NaiveDate, Inputs> = self
            .months
            .iter()
            .map(|(m, i)| (d(&format!("{m}-01")), i.clone()))
            .collect();
        forecast(&ForecastInputs {
            rules: R,
            today: d(self.today),
            anniversary: self.anniversary,
            months: &months,
            history: &self.history,
            pipeline: &self.pipeline,
            awaiting: &self.awaiting,
            later_classes: 0,
        })
    }
}

fn find<'a>(f: &'a Forecast, criterion: &str, area: Option<SolutionArea>) -> &'a CriterionForecast {
    f.criteria
        .iter()
        .find(|c| c.criterion == criterion && c.area == area)
        .unwrap()
}

/// 12 months of 75 three-day codes, 15 advanced units and 10 Security surveys at 4.4.
fn steady(from_year: i32, from_month: u32) -> Vec<(&'static str, Inputs)> {
    let mut out = vec![];
    for i in 0..12 {
        let (y, m) = (
            from_year + (from_month as i32 - 1 + i) / 12,
            (from_month as i32 - 1 + i) % 12 + 1,
        );
        let key: &'static str = Box::leak(format!("{y}-{m:02}").into_boxed_str());
        out.push((key, month(75, 15, tally(220, 50, 10))));
    }
    out
}

fn three_day_security(classes: i64, attendees: i64) -> PipelineCell {
    PipelineCell {
        category: DurationCategory::ThreeDaysOrMore,
        area: Some(SolutionArea::Security),
        classes,
        attendees,
    }
}

fn history(attendees: i64, redeemed: i64, responses: i64) -> HistoryCell {
    HistoryCell {
        category: DurationCategory::ThreeDaysOrMore,
        area: Some(SolutionArea::Security),
        classes: 10,
        attendees,
        redeemed,
        responses,
    }
}

#[test]
fn rule_forecast_needs_an_anniversary() {
    let case = Case {
        today: "2026-06-15",
        anniversary: None,
        months: steady(2025, 6),
        history: vec![],
        pipeline: vec![],
        awaiting: vec![],
    };
    assert_eq!(case.run(), None);
}

#[test]
fn rule_forecast_with_nothing_in_the_pipeline_is_what_stays() {
    // Today 2026-06-15: window 2025-06 … 2026-05. Anniversary 1 August: window
    // 2025-08 … 2026-07, so June and July 2025 leave.
    let f = Case {
        today: "2026-06-15",
        anniversary: Some((8, 1)),
        months: steady(2025, 6),
        history: vec![history(100, 60, 40)],
        pipeline: vec![],
        awaiting: vec![],
    }
    .run()
    .unwrap();
    assert_eq!(f.anniversary, "2026-08-01");
    assert_eq!(f.days_left, 47);
    assert_eq!(f.window.start, "2025-08-01");
    assert_eq!(
        f.leaving
            .iter()
            .map(|m| m.month.as_str())
            .collect::<Vec<_>>(),
        ["2025-06", "2025-07"]
    );
    let c = find(&f, "courseware", None);
    // 12 × 75 = 900 today; 10 months stay: 750, and nothing comes.
    assert_eq!(
        (c.today, c.stays, c.low, c.expected, c.high),
        (
            Some(900.0),
            Some(750.0),
            Some(750.0),
            Some(750.0),
            Some(750.0)
        )
    );
    assert_eq!(c.status, Status::InProgress);
    assert_eq!(
        c.gap.as_deref(),
        Some(
            "250 points short: 250 more redeemed codes of 3 days or more, or 500 of 2 days or \
             less, or 500 fundamentals codes."
        )
    );
    assert!(
        c.explanation
            .contains("The months 2025-06 to 2025-07 leave the window")
    );
    assert!(c.explanation.contains("150 points (before caps)"));
    // Exams: 180 units in 365 days; 46 days after today up to 2026-07-31 → 22 units.
    let e = find(&f, "exams", None);
    assert_eq!(f.vouchers.remaining_days, 46);
    assert_eq!(f.vouchers.expected_advanced, 180 * 46 / 365);
    assert_eq!(e.stays, Some(150.0));
    assert_eq!(e.expected, Some(150.0 + (180 * 46 / 365) as f64));
    assert_eq!(e.high, e.expected, "every month was as busy as the busiest");
    assert_eq!(
        e.gap.as_deref(),
        Some("28 points short: 28 more advanced exam vouchers, or 56 fundamentals vouchers.")
    );
}

#[test]
fn rule_forecast_pipeline_closes_a_gap_at_the_partners_own_rates() {
    let f = Case {
        today: "2026-06-15",
        anniversary: Some((8, 1)),
        months: steady(2025, 6),
        history: vec![history(400, 300, 100)],
        pipeline: vec![three_day_security(20, 340)],
        awaiting: vec![],
    }
    .run()
    .unwrap();
    let row = &f.pipeline[0];
    assert_eq!(
        row.redemption,
        Rate {
            numerator: 300,
            denominator: 400,
            basis: Basis::Cell
        }
    );
    // 340 × 300 / 400 = 255 codes; 340 × 100 / 400 = 85 surveys.
    assert_eq!((row.expected_codes, row.expected_surveys), (255, 85));
    assert_eq!((row.high_codes, row.high_surveys), (340, 340));
    let c = find(&f, "courseware", None);
    assert_eq!(
        (c.low, c.expected, c.high),
        (Some(750.0), Some(1005.0), Some(1090.0))
    );
    assert_eq!(
        (c.low_status, c.status, c.high_status),
        (Status::InProgress, Status::Completed, Status::Completed)
    );
    assert_eq!(c.gap, None);
    // Security: 100 surveys stay; 85 more → 185 points, 15 short.
    let s = find(&f, "survey_points", Some(SolutionArea::Security));
    assert_eq!(s.expected, Some(185.0));
    assert_eq!(
        s.gap.as_deref(),
        Some(
            "15 points short: 15 more surveys of 3 days or more in Security at ≥ 2.40 on \
             average, or 30 of 2 days or less at ≥ 3.33 on average."
        )
    );
}

#[test]
fn rule_forecast_confirmations_count_in_the_low_end_and_are_not_expected_twice() {
    let f = Case {
        today: "2026-06-15",
        anniversary: Some((8, 1)),
        months: steady(2025, 6),
        history: vec![history(400, 300, 100)],
        pipeline: vec![three_day_security(2, 40)],
        awaiting: vec![
            Awaiting {
                month: d("2026-06-01"),
                in_pipeline: true,
                category: DurationCategory::ThreeDaysOrMore,
                area: Some(SolutionArea::Security),
                codes: 20,
                responses: tally(100, 20, 4),
            },
            // A class delivered before the pipeline's classes: counts on its
            // confirmation, takes nothing from the pipeline.
            Awaiting {
                month: d("2026-05-01"),
                in_pipeline: false,
                category: DurationCategory::ThreeDaysOrMore,
                area: Some(SolutionArea::Security),
                codes: 10,
                responses: tally(0, 0, 0),
            },
            // Before the anniversary's window: gone by then, but already in.
            Awaiting {
                month: d("2025-07-01"),
                in_pipeline: true,
                category: DurationCategory::ThreeDaysOrMore,
                area: Some(SolutionArea::Security),
                codes: 5,
                responses: tally(0, 0, 0),
            },
        ],
    }
    .run()
    .unwrap();
    let row = &f.pipeline[0];
    // 40 × 0.75 = 30 expected, 25 already redeemed; 40 × 0.25 = 10, 4 in.
    assert_eq!((row.expected_codes, row.expected_surveys), (5, 6));
    assert_eq!((row.high_codes, row.high_surveys), (15, 36));
    let c = find(&f, "courseware", None);
    assert_eq!(
        (c.stays, c.low, c.expected),
        (Some(750.0), Some(780.0), Some(785.0))
    );
}

#[test]
fn rule_forecast_minds_the_caps() {
    // 295 fundamentals points (of 300 at most) and 95 two-day Security points stay.
    let mut m = Inputs {
        codes: CategoryValues {
            fundamentals: 590,
            ..Default::default()
        },
        ..Default::default()
    };
    add_responses(
        &mut m,
        DurationCategory::TwoDaysOrLess,
        Some(SolutionArea::Security),
        tally(950, 190, 190),
    );
    let f = Case {
        today: "2026-06-15",
        anniversary: Some((8, 1)),
        months: vec![("2026-01", m)],
        history: vec![],
        pipeline: vec![PipelineCell {
            category: DurationCategory::Fundamentals,
            area: None,
            classes: 5,
            attendees: 100,
        }],
        awaiting: vec![],
    }
    .run()
    .unwrap();
    let c = find(&f, "courseware", None);
    // High: every learner redeems, but the fundamentals total stops at 300.
    assert_eq!((c.expected, c.high), (Some(295.0), Some(300.0)));
    assert_eq!(
        c.gap.as_deref(),
        Some(
            "705 points short: 705 more redeemed codes of 3 days or more, or 1410 of 2 days or \
             less, or fundamentals codes can add only 5 points more (their 300-point cap)."
        )
    );
    let s = find(&f, "survey_points", Some(SolutionArea::Security));
    assert_eq!(s.expected, Some(95.0));
    assert!(
        s.gap.as_deref().unwrap().contains(
            "(surveys of 2 days or less can add only 5 points more: their 100-point cap)"
        ),
        "{:?}",
        s.gap
    );
}

#[test]
fn rule_forecast_says_when_a_score_needs_an_average_above_the_top() {
    // Security: 150 points, average 3.00 over 1000 answers.
    let f = Case {
        today: "2026-06-15",
        anniversary: Some((8, 1)),
        months: vec![("2026-01", month(0, 0, tally(3000, 1000, 150)))],
        history: vec![],
        pipeline: vec![],
        awaiting: vec![],
    }
    .run()
    .unwrap();
    let s = find(&f, "survey_points", Some(SolutionArea::Security));
    // 50 more surveys (250 answers at 5: 4250 / 1250 = 3.40) cannot lift 3.00 to 4.25;
    // 1250 answers short of 425 per 100: (4250 − 3000) / 0.75 = 1667 answers, 334 surveys.
    assert_eq!(
        s.gap.as_deref(),
        Some(
            "50 points short: 50 more surveys of 3 days or more in Security — but those would \
             need an average above 5, which is impossible; 334 surveys of 3 days or more all \
             at 5 close both gaps."
        )
    );
    let b = find(&f, "survey_score", None);
    assert_eq!(b.expected, Some(3.0));
    assert_eq!(
        b.gap.as_deref(),
        Some(
            "334 more surveys of 2 days or more in any area answering all 5 scored questions \
             at 5, or 668 at ≥ 4.63 on average."
        )
    );
}

#[test]
fn rule_forecast_needed_averages_are_exact() {
    // 4.25 exactly over 100 answers is met: nothing needed.
    assert_eq!(surveys_at_top(tally(425, 100, 20), R), Some(0));
    // 424 / 100: one answer at 5 gives 429 / 101 ≥ 4.25; one survey (5 answers).
    assert_eq!(surveys_at_top(tally(424, 100, 20), R), Some(1));
    // Two more surveys (10 answers) on 424/100 need (425·110 − 42400) / 100 = 43.5 → 44.
    assert_eq!(
        needed_average(tally(424, 100, 20), 2, R),
        Needed::AtLeast(440)
    );
    assert_eq!(needed_average(tally(500, 100, 20), 2, R), Needed::Any);
    assert_eq!(
        needed_average(tally(100, 100, 20), 2, R),
        Needed::Impossible
    );
    // With no answers yet, new ones must reach the threshold themselves, in whole
    // answers: 21.25 over 5 answers is a sum of 22, 4.40.
    assert_eq!(needed_average(tally(0, 0, 0), 1, R), Needed::AtLeast(440));
    assert_eq!(needed_average(tally(0, 0, 0), 4, R), Needed::AtLeast(425));
}

#[test]
fn rule_forecast_on_and_the_day_before_the_anniversary() {
    let months = || {
        let mut m = steady(2025, 5);
        m.push(("2026-05", month(40, 0, tally(0, 0, 0))));
        m
    };
    // Anniversary today (31 May): its window is today's, and nothing more can come.
    let on = Case {
        today: "2026-05-31",
        anniversary: Some((5, 31)),
        months: months(),
        history: vec![history(10, 10, 10)],
        pipeline: vec![],
        awaiting: vec![],
    }
    .run()
    .unwrap();
    assert_eq!(on.days_left, 0);
    assert!(on.leaving.is_empty());
    assert_eq!(on.vouchers.remaining_days, 0);
    let c = find(&on, "courseware", None);
    assert_eq!(
        (c.today, c.expected, c.high),
        (Some(900.0), Some(900.0), Some(900.0))
    );
    // Anniversary tomorrow (1 June): May 2025 leaves, May 2026 (today's month) comes in.
    let tomorrow = Case {
        anniversary: Some((6, 1)),
        ..on_case(months())
    }
    .run()
    .unwrap();
    assert_eq!(tomorrow.days_left, 1);
    assert_eq!(tomorrow.leaving.len(), 1);
    assert_eq!(tomorrow.leaving[0].month, "2025-05");
    assert_eq!(tomorrow.leaving[0].courseware_points, 75.0);
    let c = find(&tomorrow, "courseware", None);
    assert_eq!((c.today, c.stays), (Some(900.0), Some(865.0)));
}

fn on_case(months: Vec<(&'static str, Inputs)>) -> Case<'static> {
    Case {
        today: "2026-05-31",
        anniversary: None,
        months,
        history: vec![],
        pipeline: vec![],
        awaiting: vec![],
    }
}

#[test]
fn rule_forecast_with_zero_history_expects_nothing_but_ranges_to_every_learner() {
    let f = Case {
        today: "2026-06-15",
        anniversary: Some((8, 1)),
        months: vec![],
        history: vec![],
        pipeline: vec![three_day_security(3, 45)],
        awaiting: vec![],
    }
    .run()
    .unwrap();
    let row = &f.pipeline[0];
    assert_eq!(row.redemption.basis, Basis::NoHistory);
    assert_eq!((row.expected_codes, row.expected_surveys), (0, 0));
    assert_eq!((row.high_codes, row.high_surveys), (45, 45));
    let c = find(&f, "courseware", None);
    assert_eq!(
        (c.low, c.expected, c.high),
        (Some(0.0), Some(0.0), Some(45.0))
    );
    assert_eq!(
        (c.status, c.high_status),
        (Status::NotStarted, Status::InProgress)
    );
    // No score history anywhere: new surveys add no answers.
    let s = find(&f, "area_score", Some(SolutionArea::Security));
    assert_eq!(s.high, None);
    assert_eq!(f.vouchers.expected_advanced, 0);
}

#[test]
fn rule_forecast_falls_back_to_the_categorys_rate_across_areas() {
    let f = Case {
        today: "2026-06-15",
        anniversary: Some((8, 1)),
        months: vec![],
        history: vec![HistoryCell {
            area: Some(SolutionArea::DataAi),
            ..history(50, 25, 10)
        }],
        pipeline: vec![three_day_security(1, 20)],
        awaiting: vec![],
    }
    .run()
    .unwrap();
    assert_eq!(
        f.pipeline[0].redemption,
        Rate {
            numerator: 25,
            denominator: 50,
            basis: Basis::Category
        }
    );
    assert_eq!(f.pipeline[0].expected_codes, 10);
    assert_eq!(f.criteria.len(), 3 + 2 * SolutionArea::ALL.len());
}
