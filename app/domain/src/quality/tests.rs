use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn m(s: &str) -> Month {
    Month::parse(s).unwrap()
}

/// A tally of `classes`, `learners`, and `responses` whose answers are `answers`
/// (per response, q1..q5, `None` unanswered).
fn tally(classes: i64, learners: i64, answers: &[[Option<i64>; 5]]) -> Tally {
    let mut t = Tally {
        classes,
        learners,
        responses: answers.len() as i64,
        ..Tally::default()
    };
    for response in answers {
        for (q, a) in response.iter().enumerate() {
            if let Some(a) = a {
                t.answers[q].count += 1;
                t.answers[q].sum += a;
            }
        }
    }
    t
}

#[test]
fn rule_period_to_is_not_before_from() {
    assert_eq!(
        Period::new(d("2026-03-01"), d("2026-02-28")).unwrap_err().0,
        "to"
    );
    let one_day = Period::new(d("2026-03-01"), d("2026-03-01")).unwrap();
    assert_eq!(one_day.months(), vec![m("2026-03")]);
}

#[test]
fn rule_period_spans_at_most_60_months() {
    let five_years = Period::new(d("2022-01-15"), d("2026-12-31")).unwrap();
    assert_eq!(five_years.months().len(), 60);
    let (field, message) = Period::new(d("2021-12-31"), d("2026-12-01")).unwrap_err();
    assert_eq!(field, "from");
    assert!(message.contains("at most 60 months"), "{message}");
    assert!(message.contains("2022-01-01"), "{message}");
}

#[test]
fn rule_default_period_is_the_last_12_months_this_one_included() {
    let p = Period::last_12_months(d("2026-03-17"));
    assert_eq!((p.from(), p.to()), (d("2025-04-01"), d("2026-03-17")));
    assert_eq!(p.months().len(), 12);
    assert_eq!(p.months()[0], m("2025-04"));
    assert_eq!(*p.months().last().unwrap(), m("2026-03"));
    let january = Period::last_12_months(d("2026-01-31"));
    assert_eq!(january.from(), d("2025-02-01"));
}

#[test]
fn rule_response_rate_is_responses_over_learners_rounded_half_up() {
    let f = Figures::of(&tally(1, 8, &[[Some(5), None, None, None, None]]));
    // 1 ÷ 8 = 12.5 % → 13 %.
    assert_eq!((f.rate, f.rate_text()), (Some(13), "13%".to_string()));
    let f = Figures::of(&tally(1, 3, &[[None; 5], [None; 5]]));
    assert_eq!(f.rate, Some(67));
    // No learner could answer: no rate, not 0 % and not a division by zero.
    let f = Figures::of(&tally(2, 0, &[]));
    assert_eq!((f.rate, f.rate_text()), (None, "—".to_string()));
    assert_eq!(rate_percent(3, 4), "75%");
    assert_eq!(rate_percent(0, 0), "—");
}

#[test]
fn rule_unanswered_questions_are_skipped_not_counted_as_zero() {
    let f = Figures::of(&tally(
        1,
        3,
        &[
            [Some(5), Some(4), None, Some(3), Some(5)],
            [Some(4), None, None, Some(3), Some(4)],
            // Every question blank: a response (it counts for the rate), no answers.
            [None; 5],
        ],
    ));
    assert_eq!(f.responses, 3);
    assert_eq!(f.rate, Some(100));
    assert_eq!(f.questions[0], Answered { count: 2, sum: 9 });
    assert_eq!(f.questions[0].average(), "4.50");
    assert_eq!(f.questions[1].average(), "4.00");
    assert_eq!(f.questions[2].average(), "—");
    assert_eq!(f.questions[2].average_or_blank(), "");
    assert_eq!(f.questions[2].hundredths(), None);
}

#[test]
fn rule_overall_average_weighs_every_answer_not_each_question() {
    // q1 answered 3 times (all 5), q2 once (2): the mean of the two averages would be
    // 3.5; over every answer it is 17 ÷ 4 = 4.25.
    let f = Figures::of(&tally(
        1,
        3,
        &[
            [Some(5), Some(2), None, None, None],
            [Some(5), None, None, None, None],
            [Some(5), None, None, None, None],
        ],
    ));
    assert_eq!(f.overall, Answered { count: 4, sum: 17 });
    assert_eq!(f.overall.average(), "4.25");
}

#[test]
fn rule_averages_are_rounded_half_up_to_two_decimals_only_when_shown() {
    // 13 ÷ 3 = 4.333… → 4.33; 29 ÷ 8 = 3.625 → 3.63; 2 ÷ 3 = 0.666… → 0.67.
    assert_eq!(average_2dp(13, 3), "4.33");
    assert_eq!(average_2dp(29, 8), "3.63");
    assert_eq!(average_2dp(2, 3), "0.67");
    assert_eq!(average_2dp(5, 1), "5.00");
    assert_eq!(average_2dp(0, 0), "—");
    // The sums stay exact: adding tallies adds sums and counts, never rounded averages.
    let mut a = tally(1, 1, &[[Some(4), None, None, None, None]]);
    a.add(&tally(1, 2, &[[Some(5), None, None, None, None]; 2]));
    assert_eq!(a.answers[0], Answered { count: 3, sum: 14 });
    assert_eq!((a.classes, a.learners, a.responses), (2, 3, 3));
}

#[test]
fn rule_report_adds_each_groups_rows_and_keeps_to_the_period() {
    let period = Period::new(d("2026-01-01"), d("2026-03-31")).unwrap();
    let rows = vec![
        Row {
            group: "B",
            month: m("2026-01"),
            tally: tally(1, 4, &[[Some(4); 5], [Some(2); 5]]),
        },
        Row {
            group: "A",
            month: m("2026-03"),
            tally: tally(1, 2, &[[Some(5); 5]]),
        },
        // The same group and month twice (e.g. two partial sums): added together.
        Row {
            group: "B",
            month: m("2026-01"),
            tally: tally(1, 2, &[[Some(3); 5]]),
        },
        // Outside the period: left out.
        Row {
            group: "A",
            month: m("2025-12"),
            tally: tally(9, 9, &[[Some(1); 5]]),
        },
    ];
    let r = report(&period, rows);
    let names: Vec<&str> = r.groups.iter().map(|g| g.group).collect();
    assert_eq!(names, ["A", "B"]);
    let b = &r.groups[1].figures;
    assert_eq!(
        (b.classes, b.learners, b.responses, b.rate),
        (2, 6, 3, Some(50))
    );
    assert_eq!(b.questions[0], Answered { count: 3, sum: 9 });
    assert_eq!(b.overall, Answered { count: 15, sum: 45 });
    assert_eq!(b.overall.average(), "3.00");
    let a = &r.groups[0].figures;
    assert_eq!((a.classes, a.responses, a.rate), (1, 1, Some(50)));
    // All groups together.
    let t = &r.total.figures;
    assert_eq!(
        (t.classes, t.learners, t.responses, t.rate),
        (3, 8, 4, Some(50))
    );
    assert_eq!(t.overall, Answered { count: 20, sum: 70 });
    assert_eq!(t.overall.average(), "3.50");
}

#[test]
fn rule_trend_lists_every_month_of_the_period_in_order() {
    let period = Period::new(d("2025-11-15"), d("2026-02-10")).unwrap();
    let rows = vec![
        Row {
            group: 1,
            month: m("2026-02"),
            tally: tally(1, 1, &[[Some(4); 5]]),
        },
        Row {
            group: 1,
            month: m("2025-11"),
            tally: tally(1, 2, &[]),
        },
    ];
    let r = report(&period, rows);
    let months: Vec<String> = r.total.trend.iter().map(|t| t.month.to_string()).collect();
    assert_eq!(months, ["2025-11", "2025-12", "2026-01", "2026-02"]);
    let rates: Vec<Option<u64>> = r.total.trend.iter().map(|t| t.figures.rate).collect();
    // November: 2 learners, no response (0 %); December and January: no class (no rate).
    assert_eq!(rates, [Some(0), None, None, Some(100)]);
    assert_eq!(r.groups[0].trend, r.total.trend);
    assert_eq!(r.total.trend[3].figures.overall.average(), "4.00");
}

#[test]
fn months_read_and_write_as_yyyy_mm() {
    assert_eq!(m("2026-03").to_string(), "2026-03");
    assert_eq!(m("2025-12").next(), m("2026-01"));
    assert_eq!(Month::parse("2026-13"), None);
    assert_eq!(Month::parse("March"), None);
    assert!(
        Period::new(d("2026-01-01"), d("2026-03-31"))
            .unwrap()
            .contains(m("2026-03"))
    );
}
