//! Quality reports (what MTM is for): survey results per MCT, course or solution area over
//! a period — response rate, average per question, overall average — and their trend by
//! month.
//!
//! *Rule — which classes*: a class belongs to a period, and to a month of its trend, by
//! its `end_date` (the day the learners were asked), and only once it took place
//! (`delivered` or `confirmed`). Recorded deliveries count here: they earn no KPI credit,
//! but what their learners say about them still matters.
//!
//! *Rule — response rate*: responses ÷ the class's learners who could answer, i.e. those
//! marked as attending plus any learner who answered without being marked (an answer shows
//! they took part), so the rate never passes 100 %. Shown as a whole percentage, rounded
//! half up; `—` for a group without such learners.
//!
//! *Rule — averages*: per question, the sum of its answers ÷ the number of answers (an
//! unanswered question is skipped, never a zero); the overall average is over every
//! answered question of every response, as the KPI's average is (not the mean of the five
//! averages). Kept as integer sums; rounded to 2 decimals (half up) only to be shown.
//!
//! The database sums the rows (GROUP BY group and month); [`report`] turns those sums into
//! the figures, so the arithmetic lives, and is tested, here.
use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, Months, NaiveDate};

/// The scored questions q1..q5.
pub const QUESTIONS: usize = 5;

/// The longest period a report covers: five years of months.
pub const MAX_MONTHS: u32 = 60;

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1..=12.
    pub month: u32,
}

impl Month {
    pub fn of(date: NaiveDate) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    /// `YYYY-MM` as the database's month expression writes it.
    pub fn parse(raw: &str) -> Option<Month> {
        let (year, month) = raw.trim().split_once('-')?;
        let (year, month) = (year.parse().ok()?, month.parse().ok()?);
        NaiveDate::from_ymd_opt(year, month, 1).map(Month::of)
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                month: self.month + 1,
                ..self
            }
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The days a report covers, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

impl Period {
    /// *Rule — period*: `to` is not before `from`, and the period spans at most
    /// [`MAX_MONTHS`] calendar months. A refusal names the field to correct.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Period, (&'static str, String)> {
        if to < from {
            return Err(("to", format!("must not be before the start, {from}")));
        }
        let period = Period { from, to };
        if period.months().len() > MAX_MONTHS as usize {
            return Err((
                "from",
                format!(
                    "a report covers at most {MAX_MONTHS} months ({} years); start on {} or later",
                    MAX_MONTHS / 12,
                    Period::back_from(to, MAX_MONTHS).from
                ),
            ));
        }
        Ok(period)
    }

    /// The default period: the last 12 months, this one included (from the first day of
    /// the month eleven months before `today`'s, to `today`).
    pub fn last_12_months(today: NaiveDate) -> Period {
        Period::back_from(today, 12)
    }

    /// `months` calendar months ending with `to`'s month, to `to`.
    fn back_from(to: NaiveDate, months: u32) -> Period {
        let first = to.with_day(1).expect("the first of a month exists");
        let from = first
            .checked_sub_months(Months::new(months.saturating_sub(1)))
            .unwrap_or(NaiveDate::MIN);
        Period { from, to }
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// Every month the period touches, in order.
    pub fn months(&self) -> Vec<Month> {
        let (first, last) = (Month::of(self.from), Month::of(self.to));
        let mut months = vec![first];
        let mut m = first;
        while m < last && months.len() <= MAX_MONTHS as usize {
            m = m.next();
            months.push(m);
        }
        months
    }

    pub fn contains(&self, month: Month) -> bool {
        Month::of(self.from) <= month && month <= Month::of(self.to)
    }
}

/// One question's answers: how many, and their sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Answered {
    pub count: i64,
    pub sum: i64,
}

impl Answered {
    /// The average in hundredths, rounded half up; `None` without answers.
    pub fn hundredths(&self) -> Option<i64> {
        (self.count > 0).then(|| (200 * self.sum + self.count) / (2 * self.count))
    }

    /// The average to 2 decimals (`4.33`), or `—` without answers.
    pub fn average(&self) -> String {
        average_2dp(self.sum, self.count)
    }

    /// The average to 2 decimals, or empty without answers (for CSV).
    pub fn average_or_blank(&self) -> String {
        self.hundredths().map(hundredths_text).unwrap_or_default()
    }
}

fn hundredths_text(h: i64) -> String {
    format!("{}.{:02}", h / 100, h % 100)
}

/// `sum ÷ count` to 2 decimals, rounded half up, from integers; `—` without answers.
pub fn average_2dp(sum: i64, count: i64) -> String {
    Answered { count, sum }
        .hundredths()
        .map_or_else(|| "—".into(), hundredths_text)
}

/// `part ÷ whole` as a whole percentage, rounded half up; `None` when `whole` is 0.
pub fn percent(part: u64, whole: u64) -> Option<u64> {
    (whole > 0).then(|| (200 * part + whole) / (2 * whole))
}

/// `part ÷ whole` as `75%`; `—` when `whole` is 0.
pub fn rate_percent(part: u64, whole: u64) -> String {
    percent(part, whole).map_or_else(|| "—".into(), |p| format!("{p}%"))
}

/// What the database adds up for one group in one month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Classes that took place.
    pub classes: i64,
    /// Their learners who could answer (attending, or who answered).
    pub learners: i64,
    pub responses: i64,
    /// q1..q5.
    pub answers: [Answered; QUESTIONS],
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.classes += other.classes;
        self.learners += other.learners;
        self.responses += other.responses;
        for (mine, theirs) in self.answers.iter_mut().zip(&other.answers) {
            mine.count += theirs.count;
            mine.sum += theirs.sum;
        }
    }
}

/// A group's (or a month's) figures, from its [`Tally`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub classes: i64,
    pub learners: i64,
    pub responses: i64,
    /// Responses ÷ learners, whole percent; `None` without learners.
    pub rate: Option<u64>,
    pub questions: [Answered; QUESTIONS],
    /// Every answered question of every response.
    pub overall: Answered,
}

impl Figures {
    pub fn of(t: &Tally) -> Figures {
        let overall = t.answers.iter().fold(Answered::default(), |a, q| Answered {
            count: a.count + q.count,
            sum: a.sum + q.sum,
        });
        Figures {
            classes: t.classes,
            learners: t.learners,
            responses: t.responses,
            rate: percent(t.responses.max(0) as u64, t.learners.max(0) as u64),
            questions: t.answers,
            overall,
        }
    }

    /// The rate as `75%`, or `—`.
    pub fn rate_text(&self) -> String {
        self.rate.map_or_else(|| "—".into(), |p| format!("{p}%"))
    }
}

/// One month of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthFigures {
    pub month: Month,
    pub figures: Figures,
}

/// One group's figures over the period and its trend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupFigures<G> {
    pub group: G,
    pub figures: Figures,
    /// Every month of the period, in order (a month without classes has zero counts).
    pub trend: Vec<MonthFigures>,
}

/// The sums of one group in one month, as the database groups them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row<G> {
    pub group: G,
    pub month: Month,
    pub tally: Tally,
}

/// A report: each group's figures and trend, and the same for all of them together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report<G> {
    /// In the groups' order; only groups with a row in the period.
    pub groups: Vec<GroupFigures<G>>,
    pub total: GroupFigures<()>,
}

/// Turns the database's sums into the report of `period`: rows of months outside it are
/// left out, rows of one group and month are added together, and every trend lists every
/// month of the period.
pub fn report<G: Ord + Clone>(
    period: &Period,
    rows: impl IntoIterator<Item = Row<G>>,
) -> Report<G> {
    let months = period.months();
    let mut by_group: BTreeMap<G, BTreeMap<Month, Tally>> = BTreeMap::new();
    let mut all: BTreeMap<Month, Tally> = BTreeMap::new();
    for row in rows.into_iter().filter(|r| period.contains(r.month)) {
        by_group
            .entry(row.group)
            .or_default()
            .entry(row.month)
            .or_default()
            .add(&row.tally);
        all.entry(row.month).or_default().add(&row.tally);
    }
    let figures_of = |tallies: &BTreeMap<Month, Tally>| {
        let mut total = Tally::default();
        let trend = months
            .iter()
            .map(|m| {
                let tally = tallies.get(m).copied().unwrap_or_default();
                total.add(&tally);
                MonthFigures {
                    month: *m,
                    figures: Figures::of(&tally),
                }
            })
            .collect();
        (Figures::of(&total), trend)
    };
    let groups = by_group
        .iter()
        .map(|(group, tallies)| {
            let (figures, trend) = figures_of(tallies);
            GroupFigures {
                group: group.clone(),
                figures,
                trend,
            }
        })
        .collect();
    let (figures, trend) = figures_of(&all);
    Report {
        groups,
        total: GroupFigures {
            group: (),
            figures,
            trend,
        },
    }
}

#[cfg(test)]
mod tests;
