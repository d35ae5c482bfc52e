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
