//! The line items behind each KPI figure (issue 5): which code, voucher or survey
//! response, of which class and course, in which category and area, on which date, for how
//! many points. The rows of a figure add up to it before caps.
use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, QueryResult, Value};
use tokio::sync::mpsc;

use super::ServiceError;
use super::kpi::{
    ELIGIBLE, answer_sum_sql, answers_sql, category, category_sql, exclusion_sql, rows,
};
use super::vouchers::points_text;
use crate::domain::catalog::Level;
use crate::domain::catalog::SolutionArea;
use crate::domain::kpi::{self, RulesProfile};

tsp_domain::id_enum!(
    /// Which figure's rows.
    Figure {
        /// Redeemed codes of KPI-eligible classes (courseware points).
        Courseware = "courseware" / "Courseware points: redeemed codes",
        /// Voucher purchases (exam points).
        Exams = "exams" / "Exam points: voucher purchases",
        /// Responses of KPI-eligible classes (averages and survey completion points).
        Surveys = "surveys" / "Survey responses",
        /// Redeemed codes left out because their class earns no credit.
        ExcludedCodes = "excluded-codes" / "Redeemed codes left out",
        /// Responses left out because their class earns no credit.
        ExcludedSurveys = "excluded-surveys" / "Survey responses left out",
    }
);

/// Which rows: a figure in the window of `as_of`, optionally one solution area's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineFilter {
    pub as_of: NaiveDate,
    pub figure: Figure,
    pub area: Option<SolutionArea>,
}

/// One line item, as the CSV gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub id: i64,
    /// `code`, `voucher` or `survey`.
    pub kind: &'static str,
    /// The achievement code, the voucher order, or the response's number.
    pub item: String,
    pub date: NaiveDate,
    pub class_ref: String,
    /// The course, or the exam for a voucher.
    pub course_code: String,
    /// Duration category, or exam level for a voucher.
    pub category: String,
    pub area: String,
    pub units: i64,
    /// Points this line earns (before caps), in half-points: courseware for a code, exam
    /// for a voucher, survey completion in its area for a response.
    pub half_points: i64,
    pub answers: Option<i64>,
    pub answer_sum: Option<i64>,
    /// Why the class earns no credit (excluded figures only).
    pub excluded_because: String,
    /// The learner's, for a code or a response (reconciliation matches surveys by it;
    /// never in the CSV).
    pub learner_email: Option<String>,
}

pub const COLUMNS: [&str; 12] = [
    "line",
    "item",
    "date",
    "class_ref",
    "course_code",
    "category",
    "solution_area",
    "units",
    "points",
    "answers",
    "answer_sum",
    "excluded_because",
];

impl Line {
    pub fn record(&self) -> [String; 12] {
        let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        [
            self.kind.to_string(),
            self.item.clone(),
            self.date.to_string(),
            self.class_ref.clone(),
            self.course_code.clone(),
            self.category.clone(),
            self.area.clone(),
            self.units.to_string(),
            points_text(self.half_points),
            opt(self.answers),
            opt(self.answer_sum),
            self.excluded_because.clone(),
        ]
    }
}

/// The `SELECT` of `filter`'s lines (every column of [`Line`]), unordered.
fn selection(filter: &LineFilter, rules: &RulesProfile) -> (String, Vec<Value>) {
    let (start, end) = kpi::window(filter.as_of, rules.window_months);
    selection_between(filter.figure, filter.area, start, end)
}

/// The `SELECT` of a figure's lines dated from `start` to `end` (inclusive).
fn selection_between(
    figure: Figure,
    only_area: Option<SolutionArea>,
    start: NaiveDate,
    end: NaiveDate,
) -> (String, Vec<Value>) {
    let mut values = vec![Value::from(start), Value::from(end)];
    let area = match only_area {
        // Vouchers belong to no class or area: an area filter leaves none.
        Some(_) if figure == Figure::Exams => " AND 1 = 0",
        Some(area) => {
            values.push(Value::from(area.id()));
            " AND co.solution_area = ?"
        }
        None => "",
    };
    let joins = "JOIN enrollments e ON e.id = t.enrollment_id JOIN classes cl ON cl.id = e.class_id \
                 JOIN courses co ON co.id = cl.course_id";
    let (category, exclusion) = (category_sql(), exclusion_sql());
    let class_columns = format!(
        "cl.class_ref AS class_ref, co.course_code AS course_code, {category} AS category, \
         co.solution_area AS area, {exclusion} AS reason"
    );
    let eligible = match figure {
        Figure::ExcludedCodes | Figure::ExcludedSurveys => "<>",
        _ => "=",
    };
    let sql = match figure {
        Figure::Courseware | Figure::ExcludedCodes => format!(
            "SELECT t.id AS id, t.code AS item, t.redeemed_on AS day, {class_columns}, e.learner_email AS email, \
             CAST(NULL AS BIGINT) AS answers, CAST(NULL AS BIGINT) AS total, CAST(1 AS BIGINT) AS units \
             FROM achievement_codes t {joins} \
             WHERE t.redeemed_on >= ? AND t.redeemed_on <= ?{area} AND {exclusion} {eligible} '{ELIGIBLE}'"
        ),
        Figure::Surveys | Figure::ExcludedSurveys => {
            let (answers, total) = (answers_sql("t"), answer_sum_sql("t"));
            format!(
                "SELECT t.id AS id, CAST(t.id AS TEXT) AS item, t.submitted_on AS day, {class_columns}, e.learner_email AS email, \
                 CAST({answers} AS BIGINT) AS answers, CAST({total} AS BIGINT) AS total, CAST(1 AS BIGINT) AS units \
                 FROM survey_responses t {joins} \
                 WHERE t.submitted_on >= ? AND t.submitted_on <= ?{area} AND {exclusion} {eligible} '{ELIGIBLE}'"
            )
        }
        Figure::Exams => format!(
            "SELECT t.id AS id, t.order_ref AS item, t.purchased_on AS day, '' AS class_ref, \
             t.exam_code AS course_code, t.level AS category, NULL AS area, '{ELIGIBLE}' AS reason, CAST(NULL AS TEXT) AS email, \
             CAST(NULL AS BIGINT) AS answers, CAST(NULL AS BIGINT) AS total, CAST(t.quantity AS BIGINT) AS units \
             FROM exam_vouchers t WHERE t.purchased_on >= ? AND t.purchased_on <= ?{area}"
        ),
    };
    (sql, values)
}

/// Points a line of `figure` earns (before caps), in half-points. Excluded lines earn none;
/// a response of a course with no area earns no survey completion points.
fn half_points(
    figure: Figure,
    category_id: &str,
    has_area: bool,
    units: i64,
    rules: &RulesProfile,
) -> i64 {
    match figure {
        Figure::Courseware => rules.courseware_half_points.get(category(category_id)),
        Figure::Surveys if has_area => rules.area_survey_half_points.get(category(category_id)),
        Figure::Exams => {
            units
                * category_id
                    .parse::<Level>()
                    .unwrap_or(Level::Advanced)
                    .half_points_under(rules)
        }
        Figure::Surveys | Figure::ExcludedCodes | Figure::ExcludedSurveys => 0,
    }
}

fn line(row: &QueryResult, figure: Figure, rules: &RulesProfile) -> Result<Line, ServiceError> {
    let category_id: String = row.try_get("", "category")?;
    let units: i64 = row.try_get("", "units")?;
    let area: Option<String> = row.try_get("", "area")?;
    let kind = match figure {
        Figure::Courseware | Figure::ExcludedCodes => "code",
        Figure::Surveys | Figure::ExcludedSurveys => "survey",
        Figure::Exams => "voucher",
    };
    let excluded = matches!(figure, Figure::ExcludedCodes | Figure::ExcludedSurveys);
    Ok(Line {
        id: row.try_get("", "id")?,
        kind,
        item: row.try_get("", "item")?,
        date: row.try_get("", "day")?,
        class_ref: row.try_get("", "class_ref")?,
        course_code: row.try_get("", "course_code")?,
        half_points: half_points(figure, &category_id, area.is_some(), units, rules),
        category: category_id,
        area: area.unwrap_or_default(),
        units,
        answers: row.try_get("", "answers")?,
        answer_sum: row.try_get("", "total")?,
        excluded_because: if excluded {
            row.try_get("", "reason")?
        } else {
            String::new()
        },
        learner_email: row.try_get("", "email")?,
    })
}

/// Up to `limit` lines of `filter` after id `after` (keyset pagination by id).
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &LineFilter,
    rules: &RulesProfile,
    after: i64,
    limit: u64,
) -> Result<Vec<Line>, ServiceError> {
    let (sql, mut values) = selection(filter, rules);
    let sql = format!("{sql} AND t.id > ? ORDER BY t.id LIMIT ?");
    values.push(Value::from(after));
    values.push(Value::from(limit as i64));
    rows(db, &sql, values)
        .await?
        .iter()
        .map(|r| line(r, filter.figure, rules))
        .collect()
}

/// Every line of `figure` dated from `start` to `end`, in id order (reconciliation reads
/// a month or so at a time).
pub async fn between(
    db: &impl ConnectionTrait,
    figure: Figure,
    start: NaiveDate,
    end: NaiveDate,
    rules: &RulesProfile,
) -> Result<Vec<Line>, ServiceError> {
    let (sql, values) = selection_between(figure, None, start, end);
    rows(db, &format!("{sql} ORDER BY t.id"), values)
        .await?
        .iter()
        .map(|r| line(r, figure, rules))
        .collect()
}

/// Sends every line of `filter` as CSV chunks (header first). Stops quietly when the
/// receiver is gone.
pub async fn csv(
    db: &impl ConnectionTrait,
    filter: &LineFilter,
    rules: &RulesProfile,
    out: mpsc::Sender<Vec<u8>>,
) -> Result<(), ServiceError> {
    use super::exports::{PAGE_ROWS, stream_pages};
    let page = |after| page(db, filter, rules, after, PAGE_ROWS);
    stream_pages(&COLUMNS, page, Line::record, |l| l.id, out).await
}

/// How many lines `filter` has, their units and their points before caps: one
/// aggregate over the same selection (the points depend only on category and area).
pub async fn totals(
    db: &impl ConnectionTrait,
    filter: &LineFilter,
    rules: &RulesProfile,
) -> Result<(i64, i64, i64), ServiceError> {
    let (sql, values) = selection(filter, rules);
    let sql = format!(
        "SELECT x.category AS category, CASE WHEN x.area IS NULL THEN 0 ELSE 1 END AS has_area, \
         COUNT(*) AS n, CAST(SUM(x.units) AS BIGINT) AS units FROM ({sql}) x GROUP BY 1, 2"
    );
    let (mut lines, mut units, mut half) = (0, 0, 0);
    for row in rows(db, &sql, values).await? {
        let category_id: String = row.try_get("", "category")?;
        let has_area = row.try_get::<i32>("", "has_area")? == 1;
        let group_units: i64 = row.try_get::<Option<i64>>("", "units")?.unwrap_or(0);
        let n: i64 = row.try_get("", "n")?;
        lines += n;
        units += group_units;
        // Per-line weights, except vouchers, whose points scale with their units.
        half += match filter.figure {
            Figure::Exams => half_points(filter.figure, &category_id, has_area, group_units, rules),
            _ => n * half_points(filter.figure, &category_id, has_area, 1, rules),
        };
    }
    Ok((lines, units, half))
}
