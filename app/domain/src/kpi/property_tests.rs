//! The engine against a naive oracle: row-level records, counted one by one with
//! floating-point points (exact here: halves and a threshold representable in binary).
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

fn aggregate(codes: &[usize], fundamentals: i64, advanced: i64, responses: &[Response]) -> Inputs {
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
