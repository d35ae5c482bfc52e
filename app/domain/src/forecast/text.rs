//! Each criterion of the forecast: its values from the five evaluations (today, what stays,
//! low, expected, high) and the sentences that explain them.
use chrono::NaiveDate;

use super::gaps::{self, points};
use super::{CriterionForecast, PipelineRow, VoucherPace, score_basis};
use crate::catalog::{DurationCategory, SolutionArea};
use crate::kpi::{Inputs, Report, RulesProfile, ScoreTally, Status, month_figures};

pub(super) struct Reports {
    pub today: Report,
    pub stays: Report,
    pub low: Report,
    pub expected: Report,
    pub high: Report,
}

pub(super) struct Context<'a> {
    pub rules: &'a RulesProfile,
    pub today: NaiveDate,
    pub anniversary: NaiveDate,
    /// Months of today's window gone by the anniversary, with their counted inputs.
    pub leaving: &'a [(NaiveDate, &'a Inputs)],
    pub pipeline: &'a [PipelineRow],
    pub vouchers: &'a VoucherPace,
    /// Today's window's counted inputs (the score history).
    pub history_scores: &'a Inputs,
    /// The expected projection's inputs (for the gap closers).
    pub expected: &'a Inputs,
    pub reports: &'a Reports,
}

#[derive(Clone, Copy)]
enum Which {
    Courseware,
    Exams,
    BaseScore,
    AreaPoints(usize),
    AreaScore(usize),
}

/// A criterion's value in one evaluation: half-points, or an average's sum and answers.
#[derive(Clone, Copy)]
enum Fig {
    Points(i64),
    Score(i64, i64, Option<f64>),
}

impl Fig {
    fn value(self) -> Option<f64> {
        match self {
            Fig::Points(h) => Some(h as f64 / 2.0),
            Fig::Score(_, _, average) => average,
        }
    }

    fn text(self) -> String {
        match self {
            Fig::Points(h) => points(h),
            Fig::Score(_, 0, _) => "no answers".into(),
            Fig::Score(sum, answers, average) => {
                format!("{:.2} ({sum} / {answers})", average.unwrap_or_default())
            }
        }
    }

    /// Orders averages exactly (no answers lowest).
    fn below(self, other: Fig) -> bool {
        match (self, other) {
            (Fig::Points(a), Fig::Points(b)) => a < b,
            (Fig::Score(_, 0, _), Fig::Score(_, b, _)) => b > 0,
            (Fig::Score(_, _, _), Fig::Score(_, 0, _)) => false,
            (Fig::Score(s1, a1, _), Fig::Score(s2, a2, _)) => s1 * a2 < s2 * a1,
            _ => false,
        }
    }
}

fn half(points: f64) -> i64 {
    (points * 2.0).round() as i64
}

fn figure(r: &Report, which: Which) -> (Fig, Status) {
    let b = &r.base;
    match which {
        Which::Courseware => (Fig::Points(half(b.courseware.points)), b.courseware.status),
        Which::Exams => (Fig::Points(half(b.exams.points)), b.exams.status),
        Which::BaseScore => (
            Fig::Score(
                b.survey_score.sum,
                b.survey_score.answers,
                b.survey_score.average,
            ),
            b.survey_score.status,
        ),
        Which::AreaPoints(i) => {
            let a = &r.solution_areas[i];
            (Fig::Points(half(a.survey_points)), a.points_status)
        }
        Which::AreaScore(i) => {
            let a = &r.solution_areas[i];
            (Fig::Score(a.sum, a.answers, a.average), a.score_status)
        }
    }
}

fn months_text(leaving: &[(NaiveDate, &Inputs)]) -> String {
    let f = |d: &NaiveDate| d.format("%Y-%m").to_string();
    match leaving {
        [] => String::new(),
        [one] => f(&one.0),
        [first, .., last] => format!("{} to {}", f(&first.0), f(&last.0)),
    }
}

impl Context<'_> {
    /// "…leave the window, taking X with them" or "No month leaves…".
    fn leaving_text(&self, what: impl Fn(&Inputs) -> String) -> String {
        if self.leaving.is_empty() {
            return "No month leaves the window before the anniversary.".into();
        }
        let mut sum = Inputs::default();
        for (_, m) in self.leaving {
            sum.merge(m);
        }
        format!(
            "The months {} leave the window before the anniversary, taking {} with them.",
            months_text(self.leaving),
            what(&sum)
        )
    }

    fn pipeline_of(&self, area: Option<Option<SolutionArea>>) -> (i64, i64, i64, i64, i64, i64) {
        self.pipeline
            .iter()
            .filter(|p| area.is_none_or(|a| p.area == a))
            .fold((0, 0, 0, 0, 0, 0), |t, p| {
                (
                    t.0 + p.classes,
                    t.1 + p.attendees,
                    t.2 + p.expected_codes,
                    t.3 + p.high_codes,
                    t.4 + p.expected_surveys,
                    t.5 + p.high_surveys,
                )
            })
    }

    fn explain(&self, which: Which, f: &dyn Fn(&Report) -> String) -> String {
        let r = self.reports;
        let head = format!("Today {} (the window before {}). ", f(&r.today), self.today);
        let leaving = match which {
            Which::Courseware => self.leaving_text(|i| {
                format!(
                    "{} points (before caps)",
                    points(month_figures(i, self.rules).courseware_half)
                )
            }),
            Which::Exams => self.leaving_text(|i| {
                format!("{} points", points(month_figures(i, self.rules).exam_half))
            }),
            Which::BaseScore => self.leaving_text(|i| {
                let t = score_total(i, None);
                format!("{} answers summing to {}", t.answers, t.sum)
            }),
            Which::AreaPoints(n) => self.leaving_text(|i| {
                let s = i.areas[n].surveys;
                format!(
                    "{} surveys of 2 days or less and {} of 3 days or more",
                    s.two_days_or_less, s.three_days_or_more
                )
            }),
            Which::AreaScore(n) => self.leaving_text(|i| {
                let t = i.areas[n].score;
                format!("{} answers summing to {}", t.answers, t.sum)
            }),
        };
        let stays = format!(
            " On {} (window {} – {}) what is counted and stays gives {}; credit waiting on the \
             confirmation of delivered classes brings it to {}. ",
            self.anniversary,
            r.stays.window.start,
            r.stays.window.end,
            f(&r.stays),
            f(&r.low)
        );
        let (exp, high) = (f(&r.expected), f(&r.high));
        let tail = match which {
            Which::Courseware => {
                let (classes, learners, codes, high_codes, _, _) = self.pipeline_of(None);
                format!(
                    "The pipeline's {classes} classes ({learners} expected learners) add {codes} \
                     redeemed codes at the redemption rates shown: {exp} expected; {high_codes} \
                     if every learner redeems: {high}."
                )
            }
            Which::Exams => {
                let v = self.vouchers;
                format!(
                    "At the last 12 months' pace ({} fundamentals and {} advanced units in {} \
                     days) the {} days after today up to the window's end add {} fundamentals \
                     and {} advanced units: {exp} expected; at the busiest month's pace ({} and \
                     {} a month), {} and {}: {high}.",
                    v.fundamentals_units,
                    v.advanced_units,
                    v.window_days,
                    v.remaining_days,
                    v.expected_fundamentals,
                    v.expected_advanced,
                    v.busiest_fundamentals,
                    v.busiest_advanced,
                    v.high_fundamentals,
                    v.high_advanced
                )
            }
            Which::BaseScore => {
                let (_, _, _, _, surveys, high_surveys) = self.pipeline_of(None);
                format!(
                    "The pipeline's {surveys} expected surveys ({high_surveys} if every learner \
                     responds), each scoring as its area's responses of the last 12 months did \
                     (without any, as every area's): {exp} expected; {high} with every learner."
                )
            }
            Which::AreaPoints(n) => {
                let area = Some(SolutionArea::ALL[n]);
                let (classes, learners, _, _, surveys, high_surveys) = self.pipeline_of(Some(area));
                format!(
                    "The pipeline's {classes} classes here ({learners} expected learners) add \
                     {surveys} surveys at the response rates shown: {exp} expected; \
                     {high_surveys} if every learner responds: {high}."
                )
            }
            Which::AreaScore(n) => {
                let area = Some(SolutionArea::ALL[n]);
                let basis = score_basis(self.history_scores, area);
                let own = self.history_scores.areas[n].score;
                let (_, _, _, _, surveys, high_surveys) = self.pipeline_of(Some(area));
                let source = if own.answers > 0 {
                    "this area's"
                } else {
                    "every area's (none here)"
                };
                format!(
                    "New surveys ({surveys} expected, {high_surveys} if every learner responds) \
                     are taken to score as {source} responses of the last 12 months did ({} \
                     answers summing to {} in {} surveys): {exp} expected; {high} with every \
                     learner.",
                    basis.answers, basis.sum, basis.surveys
                )
            }
        };
        head + &leaving + &stays + &tail
    }
}

/// The base score of `inputs` (every area's, or one area's).
fn score_total(inputs: &Inputs, area: Option<usize>) -> ScoreTally {
    match area {
        Some(n) => inputs.areas[n].score,
        None => {
            let mut t = inputs.unassigned.score;
            for a in &inputs.areas {
                t.add(a.score);
            }
            t
        }
    }
}

fn criterion(ctx: &Context, which: Which) -> CriterionForecast {
    let r = ctx.reports;
    let rules = ctx.rules;
    let (criterion, area, label, threshold) = match which {
        Which::Courseware => (
            "courseware",
            None,
            "Courseware points".to_string(),
            rules.courseware_threshold as f64,
        ),
        Which::Exams => (
            "exams",
            None,
            "Exam points".to_string(),
            rules.exam_threshold as f64,
        ),
        Which::BaseScore => (
            "survey_score",
            None,
            "Average response score".to_string(),
            r.expected.base.survey_score.threshold,
        ),
        Which::AreaPoints(n) => (
            "survey_points",
            Some(SolutionArea::ALL[n]),
            format!("{}: survey completion points", SolutionArea::ALL[n].label()),
            rules.area_survey_threshold as f64,
        ),
        Which::AreaScore(n) => (
            "area_score",
            Some(SolutionArea::ALL[n]),
            format!("{}: average response score", SolutionArea::ALL[n].label()),
            r.expected.base.survey_score.threshold,
        ),
    };
    let at = |rep: &Report| figure(rep, which);
    let (today, stays, expected) = (at(&r.today), at(&r.stays), at(&r.expected));
    // Points grow from low to high; an average may fall as responses come in, so its
    // range is the lowest and highest of the three.
    let mut ends = [at(&r.low), expected, at(&r.high)];
    ends.sort_by(|a, b| {
        if a.0.below(b.0) {
            std::cmp::Ordering::Less
        } else if b.0.below(a.0) {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    });
    let [low, _, high] = ends;
    let text = |rep: &Report| at(rep).0.text();
    let e = ctx.expected;
    let gap = match which {
        Which::Courseware => gaps::courseware(e, half(r.expected.base.courseware.points), rules),
        Which::Exams => gaps::exams(half(r.expected.base.exams.points), rules),
        Which::BaseScore => gaps::base_score(score_total(e, None), rules),
        Which::AreaPoints(n) => gaps::area(
            SolutionArea::ALL[n],
            half(r.expected.solution_areas[n].survey_points),
            e.areas[n].surveys.get(DurationCategory::TwoDaysOrLess),
            e.areas[n].score,
            rules,
        ),
        // The area's sentence covers both of its criteria.
        Which::AreaScore(_) => None,
    };
    CriterionForecast {
        criterion,
        area,
        label,
        threshold,
        today: today.0.value(),
        stays: stays.0.value(),
        low: low.0.value(),
        expected: expected.0.value(),
        high: high.0.value(),
        status: expected.1,
        low_status: low.1,
        high_status: high.1,
        explanation: ctx.explain(which, &text),
        gap,
    }
}

/// Every criterion: the base three, then each area's two (SPEC §2's order).
pub(super) fn criteria(ctx: &Context) -> Vec<CriterionForecast> {
    let mut list = vec![Which::Courseware, Which::Exams, Which::BaseScore];
    for n in 0..SolutionArea::ALL.len() {
        list.push(Which::AreaPoints(n));
        list.push(Which::AreaScore(n));
    }
    let mut out: Vec<CriterionForecast> = list.into_iter().map(|w| criterion(ctx, w)).collect();
    // An area's score gap alone is told on its score criterion.
    for n in 0..SolutionArea::ALL.len() {
        let points_at = 3 + 2 * n;
        if out[points_at].gap.is_none() {
            out[points_at + 1].gap = gaps::area(
                SolutionArea::ALL[n],
                half(ctx.reports.expected.solution_areas[n].survey_points),
                ctx.expected.areas[n].surveys.two_days_or_less,
                ctx.expected.areas[n].score,
                ctx.rules,
            );
        }
    }
    out
}
