//! What would close a gap left on the anniversary: how many more codes, vouchers or
//! surveys, and at what average, in exact integer arithmetic (the caps minded).
use crate::catalog::SolutionArea;
use crate::kpi::{Inputs, RulesProfile, ScoreTally};

use super::{BOTTOM_ANSWER, SCORED_QUESTIONS, TOP_ANSWER};

/// `a / b` rounded up, for `a >= 0`, `b > 0`.
fn ceil(a: i64, b: i64) -> i64 {
    (a + b - 1) / b
}

/// Half-points as points: `212.5`, `300`.
pub fn points(half: i64) -> String {
    if half % 2 == 0 {
        (half / 2).to_string()
    } else {
        format!("{}.5", half / 2)
    }
}

/// An average in hundredths as text: `4.31`.
pub fn hundredths(h: i64) -> String {
    format!("{}.{:02}", h / 100, h % 100)
}

/// The average `surveys` more surveys must reach for `tally` to meet the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needed {
    /// Any answers will do (even all at the bottom answer).
    Any,
    /// At least this many hundredths on average (rounded up: reaching it is enough).
    AtLeast(i64),
    /// More than the top answer: no answers can do it.
    Impossible,
}

/// *Rule — comparisons are exact*: with `a` more answers of sum `s`, the average is met
/// when `den × (sum + s) ≥ num × (answers + a)`. Each new survey answers every scored
/// question.
pub fn needed_average(tally: ScoreTally, surveys: i64, rules: &RulesProfile) -> Needed {
    let (num, den) = (
        rules.score_threshold_numerator,
        rules.score_threshold_denominator,
    );
    let answers = surveys * SCORED_QUESTIONS;
    let deficit = num * (tally.answers + answers) - den * tally.sum;
    let sum = if deficit <= 0 { 0 } else { ceil(deficit, den) };
    if sum <= answers * BOTTOM_ANSWER {
        Needed::Any
    } else if sum > answers * TOP_ANSWER {
        Needed::Impossible
    } else {
        Needed::AtLeast(ceil(100 * sum, answers))
    }
}

/// The fewest surveys, every scored question answered at the top, that bring `tally` to
/// the threshold (0 if it already meets it); `None` if the threshold is above the top.
pub fn surveys_at_top(tally: ScoreTally, rules: &RulesProfile) -> Option<i64> {
    let (num, den) = (
        rules.score_threshold_numerator,
        rules.score_threshold_denominator,
    );
    let deficit = num * tally.answers - den * tally.sum;
    if deficit <= 0 {
        return Some(0);
    }
    let per_answer = den * TOP_ANSWER - num;
    (per_answer > 0).then(|| ceil(ceil(deficit, per_answer), SCORED_QUESTIONS))
}

fn count(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `, or 2k at ≥ x on average` after the fewest surveys at the top.
fn score_options(tally: ScoreTally, what: &str, rules: &RulesProfile) -> String {
    match surveys_at_top(tally, rules) {
        None => format!(
            "no number of surveys can reach {}: it is above the top answer",
            hundredths(100 * rules.score_threshold_numerator / rules.score_threshold_denominator)
        ),
        Some(k) => {
            let more = match needed_average(tally, 2 * k, rules) {
                Needed::AtLeast(h) => format!(", or {} at ≥ {} on average", 2 * k, hundredths(h)),
                Needed::Any => format!(", or {} with any answers", 2 * k),
                Needed::Impossible => String::new(),
            };
            format!(
                "{} {what} answering all {SCORED_QUESTIONS} scored questions at {TOP_ANSWER}{more}",
                count(k, "more survey", "more surveys")
            )
        }
    }
}

/// The average clause for `n` more surveys of an area: `` (any), ` at ≥ 4.31 on average`,
/// or why it cannot be.
fn average_clause(tally: ScoreTally, n: i64, rules: &RulesProfile) -> String {
    match needed_average(tally, n, rules) {
        Needed::Any => String::new(),
        Needed::AtLeast(h) => format!(" at ≥ {} on average", hundredths(h)),
        Needed::Impossible => {
            let k = surveys_at_top(tally, rules).unwrap_or(0).max(n);
            format!(
                " — but those would need an average above {TOP_ANSWER}, which is impossible; \
                 {k} surveys of 3 days or more all at {TOP_ANSWER} close both gaps"
            )
        }
    }
}

/// Courseware: `have` capped half-points of the projection whose codes are `inputs`.
pub fn courseware(inputs: &Inputs, have: i64, rules: &RulesProfile) -> Option<String> {
    let need = rules.courseware_threshold * 2 - have;
    if need <= 0 {
        return None;
    }
    let w = &rules.courseware_half_points;
    let mut options = vec![
        format!(
            "{} of 3 days or more",
            count(
                ceil(need, w.three_days_or_more),
                "more redeemed code",
                "more redeemed codes"
            )
        ),
        format!("{} of 2 days or less", ceil(need, w.two_days_or_less)),
    ];
    if w.fundamentals > 0 {
        let cap = rules.courseware_fundamentals_cap_half;
        let room = (cap - inputs.codes.fundamentals * w.fundamentals).max(0);
        options.push(if room >= need {
            format!("{} fundamentals codes", ceil(need, w.fundamentals))
        } else if room > 0 {
            format!(
                "fundamentals codes can add only {} points more (their {}-point cap)",
                points(room),
                points(cap)
            )
        } else {
            format!(
                "no more from fundamentals codes (their {}-point cap is reached)",
                points(cap)
            )
        });
    }
    Some(format!(
        "{} points short: {}.",
        points(need),
        options.join(", or ")
    ))
}

/// Exams: `have` half-points projected.
pub fn exams(have: i64, rules: &RulesProfile) -> Option<String> {
    let need = rules.exam_threshold * 2 - have;
    (need > 0).then(|| {
        format!(
            "{} points short: {} more advanced exam vouchers, or {} fundamentals vouchers.",
            points(need),
            ceil(need, rules.exam_advanced_half_points),
            ceil(need, rules.exam_fundamentals_half_points)
        )
    })
}

fn score_met(tally: ScoreTally, rules: &RulesProfile) -> bool {
    tally.answers > 0
        && rules.score_threshold_denominator * tally.sum
            >= rules.score_threshold_numerator * tally.answers
}

/// The base average, projected as `tally`.
pub fn base_score(tally: ScoreTally, rules: &RulesProfile) -> Option<String> {
    (!score_met(tally, rules)).then(|| {
        format!(
            "{}.",
            capitalize(&score_options(
                tally,
                "of 2 days or more in any area",
                rules
            ))
        )
    })
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// An area's survey points (`have` capped half-points, `two_days` surveys of 2 days or
/// less counted) and score (`tally`), projected: one sentence for both gaps.
pub fn area(
    area: SolutionArea,
    have: i64,
    two_days: i64,
    tally: ScoreTally,
    rules: &RulesProfile,
) -> Option<String> {
    let need = rules.area_survey_threshold * 2 - have;
    let name = area.label();
    if need <= 0 {
        return (!score_met(tally, rules)).then(|| {
            format!(
                "Score: {} in {name}.",
                score_options(tally, "of 2 days or more", rules)
            )
        });
    }
    let w = &rules.area_survey_half_points;
    let three = ceil(need, w.three_days_or_more);
    let three_impossible = needed_average(tally, three, rules) == Needed::Impossible;
    let mut sentence = format!(
        "{} points short: {} of 3 days or more in {name}{}",
        points(need),
        count(three, "more survey", "more surveys"),
        average_clause(tally, three, rules)
    );
    if w.two_days_or_less > 0 {
        let cap = rules.area_two_days_cap_half;
        let room = (cap - two_days * w.two_days_or_less).max(0);
        let two = ceil(need, w.two_days_or_less);
        if room >= need
            && three_impossible
            && needed_average(tally, two, rules) == Needed::Impossible
        {
            // The sentence already says how many surveys at the top it takes.
        } else if room >= need {
            sentence.push_str(&format!(
                ", or {two} of 2 days or less{}",
                average_clause(tally, two, rules)
            ));
        } else if room > 0 {
            sentence.push_str(&format!(
                " (surveys of 2 days or less can add only {} points more: their {}-point cap)",
                points(room),
                points(cap)
            ));
        } else {
            sentence.push_str(&format!(
                " (surveys of 2 days or less add nothing more: their {}-point cap is reached)",
                points(cap)
            ));
        }
    }
    sentence.push('.');
    Some(sentence)
}
