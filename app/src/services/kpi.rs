//! The KPI inputs of SPEC §4: four GROUP BY queries over the window (codes by redemption
//! date, vouchers by purchase date, survey responses by submission date, classes by end
//! date), never loading the rows themselves.
use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, QueryResult, Value};

use super::ServiceError;
use crate::domain::catalog::{DurationCategory, SolutionArea};
use crate::domain::kpi::{self, Inputs, Report, RulesProfile, ScoreTally};

/// The duration category of the joined course `co`, as SPEC §2 derives it.
const CATEGORY: &str = "CASE WHEN co.fundamentals THEN 'fundamentals' \
    WHEN co.duration_days <= 2 THEN 'two_days_or_less' ELSE 'three_days_or_more' END";

/// *Rule — KPI-eligible class*: official ∧ live ∧ confirmed.
const ELIGIBLE: &str = "CASE WHEN co.content = 'official' AND cl.modality IN ('in_person', 'virtual') \
    AND cl.status = 'confirmed' THEN 'yes' ELSE 'no' END";

/// Why a class does not count: the first reason, in the order SPEC §4 gives.
const EXCLUSION: &str = "CASE WHEN cl.status = 'cancelled' THEN 'cancelled' \
    WHEN co.content <> 'official' THEN 'unofficial' WHEN cl.modality = 'recorded' THEN 'recorded' \
    WHEN cl.status <> 'confirmed' THEN 'unconfirmed' ELSE 'eligible' END";

const ANSWERS: &str = "(CASE WHEN r.q1 IS NULL THEN 0 ELSE 1 END + CASE WHEN r.q2 IS NULL THEN 0 ELSE 1 END \
    + CASE WHEN r.q3 IS NULL THEN 0 ELSE 1 END + CASE WHEN r.q4 IS NULL THEN 0 ELSE 1 END \
    + CASE WHEN r.q5 IS NULL THEN 0 ELSE 1 END)";

const ANSWER_SUM: &str = "(COALESCE(r.q1, 0) + COALESCE(r.q2, 0) + COALESCE(r.q3, 0) + COALESCE(r.q4, 0) + COALESCE(r.q5, 0))";

/// Runs `sql` (written with `?` placeholders) with `values` on either backend.
async fn rows(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<QueryResult>, ServiceError> {
    let stmt = crate::db::statement(db.get_database_backend(), sql, values);
    Ok(db.query_all_raw(stmt).await?)
}

fn category(id: &str) -> DurationCategory {
    match id {
        "fundamentals" => DurationCategory::Fundamentals,
        "two_days_or_less" => DurationCategory::TwoDaysOrLess,
        _ => DurationCategory::ThreeDaysOrMore,
    }
}

/// Counts and sums for the window `[start, end]`.
pub async fn inputs(
    db: &impl ConnectionTrait,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Inputs, ServiceError> {
    let window = || vec![Value::from(start), Value::from(end)];
    let mut inputs = Inputs::default();

    let codes = format!(
        "SELECT {CATEGORY} AS category, {ELIGIBLE} AS eligible, COUNT(*) AS n \
         FROM achievement_codes ac JOIN enrollments e ON e.id = ac.enrollment_id \
         JOIN classes cl ON cl.id = e.class_id JOIN courses co ON co.id = cl.course_id \
         WHERE ac.redeemed_on >= ? AND ac.redeemed_on <= ? GROUP BY 1, 2"
    );
    for row in rows(db, &codes, window()).await? {
        let n: i64 = row.try_get("", "n")?;
        if row.try_get::<String>("", "eligible")? == "yes" {
            inputs
                .codes
                .add(category(&row.try_get::<String>("", "category")?), n);
        } else {
            inputs.excluded.redeemed_codes += n;
        }
    }

    let vouchers = "SELECT level, SUM(quantity) AS units FROM exam_vouchers \
         WHERE purchased_on >= ? AND purchased_on <= ? GROUP BY level";
    for row in rows(db, vouchers, window()).await? {
        let units: i64 = row.try_get::<Option<i64>>("", "units")?.unwrap_or(0);
        match row.try_get::<String>("", "level")?.as_str() {
            "fundamentals" => inputs.exam_fundamentals_units += units,
            _ => inputs.exam_advanced_units += units,
        }
    }

    let responses = format!(
        "SELECT {CATEGORY} AS category, co.solution_area AS area, {ELIGIBLE} AS eligible, \
         COUNT(*) AS surveys, SUM({ANSWERS}) AS answers, SUM({ANSWER_SUM}) AS total \
         FROM survey_responses r JOIN enrollments e ON e.id = r.enrollment_id \
         JOIN classes cl ON cl.id = e.class_id JOIN courses co ON co.id = cl.course_id \
         WHERE r.submitted_on >= ? AND r.submitted_on <= ? GROUP BY 1, 2, 3"
    );
    for row in rows(db, &responses, window()).await? {
        let surveys: i64 = row.try_get("", "surveys")?;
        if row.try_get::<String>("", "eligible")? != "yes" {
            inputs.excluded.surveys += surveys;
            continue;
        }
        let category = category(&row.try_get::<String>("", "category")?);
        let area: Option<String> = row.try_get("", "area")?;
        let target = match area.as_deref().and_then(|a| a.parse::<SolutionArea>().ok()) {
            Some(area) => {
                &mut inputs.areas[SolutionArea::ALL
                    .iter()
                    .position(|a| *a == area)
                    .expect("one of ALL")]
            }
            None => &mut inputs.unassigned,
        };
        target.surveys.add(category, surveys);
        // Fundamentals responses feed no average.
        if category != DurationCategory::Fundamentals {
            target.score.add(ScoreTally {
                sum: row.try_get::<Option<i64>>("", "total")?.unwrap_or(0),
                answers: row.try_get::<Option<i64>>("", "answers")?.unwrap_or(0),
                surveys,
            });
        }
    }

    let classes = format!(
        "SELECT {EXCLUSION} AS reason, COUNT(*) AS n FROM classes cl \
         JOIN courses co ON co.id = cl.course_id \
         WHERE cl.end_date >= ? AND cl.end_date <= ? GROUP BY 1"
    );
    for row in rows(db, &classes, window()).await? {
        let n: i64 = row.try_get("", "n")?;
        let excluded = &mut inputs.excluded.classes;
        match row.try_get::<String>("", "reason")?.as_str() {
            "cancelled" => excluded.cancelled += n,
            "unofficial" => excluded.unofficial += n,
            "recorded" => excluded.recorded += n,
            "unconfirmed" => excluded.unconfirmed += n,
            _ => {}
        }
    }
    Ok(inputs)
}

/// The designation report as of `as_of`.
pub async fn report(
    db: &impl ConnectionTrait,
    as_of: NaiveDate,
    rules: &RulesProfile,
) -> Result<Report, ServiceError> {
    let (start, end) = kpi::window(as_of, rules.window_months);
    let inputs = inputs(db, start, end).await?;
    Ok(kpi::evaluate(as_of, &inputs, rules))
}
