//! The forecast to the anniversary (issue 17 item 2): gathers [`domain::forecast`]'s
//! inputs — the KPI's counted months, the partner's rates of the last 12 months, the
//! pipeline and the credit waiting on confirmations — in a few grouped queries (none per
//! class) and lets the pure function project them.
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, QueryResult, Value};

use super::ServiceError;
use super::kpi::{
    self as kpi_svc, ELIGIBLE, Source, category, category_sql, exclusion_sql, kind, literal, rows,
};
use crate::domain::catalog::SolutionArea;
use crate::domain::delivery::ClassStatus;
use crate::domain::forecast::{
    self, Awaiting, Forecast, ForecastInputs, HistoryCell, PipelineCell, anniversary_window,
};
use crate::domain::kpi::sql::AREA_SQL;
use crate::domain::kpi::{self, Exclusion, RulesProfile, ScoreTally};

fn area(row: &QueryResult) -> Result<Option<SolutionArea>, ServiceError> {
    let id: String = row.try_get("", "area")?;
    if id.is_empty() {
        return Ok(None);
    }
    id.parse()
        .map(Some)
        .map_err(|e| ServiceError::Other(anyhow::anyhow!("solution area {e}")))
}

/// The statuses of a class not confirmed and not cancelled (the rule's "unconfirmed"), as
/// an SQL list, so the classes are read off their (status, end_date) index.
fn open_statuses() -> String {
    [ClassStatus::Scheduled, ClassStatus::Delivered]
        .map(|s| literal(s.id()))
        .join(", ")
}

fn int(row: &QueryResult, column: &str) -> Result<i64, ServiceError> {
    Ok(row.try_get::<Option<i64>>("", column)?.unwrap_or(0))
}

/// KPI-eligible classes that ended in `[start, end]`, per category and area: attendees,
/// and their codes redeemed and responses given on any date.
async fn history(
    db: &impl ConnectionTrait,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<HistoryCell>, ServiceError> {
    let (category_case, exclusion) = (category_sql(), exclusion_sql());
    let eligible = literal(ELIGIBLE);
    // The status test is the exclusion rule's too; written out, it reads the classes off
    // their (status, end_date) index.
    let confirmed = literal(ClassStatus::Confirmed.id());
    let classes = format!(
        "SELECT {category_case} AS category, {AREA_SQL} AS area, COUNT(*) AS classes, \
         CAST(SUM(COALESCE(rc.attended, 0)) AS BIGINT) AS attendees \
         FROM classes cl JOIN courses co ON co.id = cl.course_id \
         LEFT JOIN roster_counts rc ON rc.class_id = cl.id \
         WHERE cl.status = {confirmed} AND cl.end_date >= ? AND cl.end_date <= ? \
         AND {exclusion} = {eligible} GROUP BY 1, 2"
    );
    let events = format!(
        "SELECT {category_case} AS category, {AREA_SQL} AS area, f.kind AS kind, \
         CAST(SUM(f.n) AS BIGINT) AS n \
         FROM classes cl JOIN kpi_class_figures f ON f.class_id = cl.id \
         JOIN courses co ON co.id = cl.course_id \
         WHERE cl.status = {confirmed} AND cl.end_date >= ? AND cl.end_date <= ? \
         AND f.kind IN ({code}, {survey}) \
         AND {exclusion} = {eligible} GROUP BY 1, 2, 3",
        code = literal(kind::CODE),
        survey = literal(kind::SURVEY)
    );
    let window = || vec![Value::from(start), Value::from(end)];
    let mut cells: BTreeMap<_, HistoryCell> = BTreeMap::new();
    for row in rows(db, &classes, window()).await? {
        let (c, a) = (
            category(&row.try_get::<String>("", "category")?),
            area(&row)?,
        );
        cells.insert(
            (c, a),
            HistoryCell {
                category: c,
                area: a,
                classes: int(&row, "classes")?,
                attendees: int(&row, "attendees")?,
                redeemed: 0,
                responses: 0,
            },
        );
    }
    for row in rows(db, &events, window()).await? {
        let key = (
            category(&row.try_get::<String>("", "category")?),
            area(&row)?,
        );
        if let Some(cell) = cells.get_mut(&key) {
            let n = int(&row, "n")?;
            match row.try_get::<String>("", "kind")?.as_str() {
                kind::CODE => cell.redeemed += n,
                _ => cell.responses += n,
            }
        }
    }
    Ok(cells.into_values().collect())
}

/// Official live classes not confirmed yet (the KPI's "unconfirmed" reason: scheduled or
/// delivered) ending in `[start, end]`, per category and area, and how many end later.
async fn pipeline(
    db: &impl ConnectionTrait,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<(Vec<PipelineCell>, i64), ServiceError> {
    let (category_case, exclusion) = (category_sql(), exclusion_sql());
    let sql = format!(
        "SELECT {category_case} AS category, {AREA_SQL} AS area, \
         CAST(SUM(CASE WHEN cl.end_date <= ? THEN 1 ELSE 0 END) AS BIGINT) AS classes, \
         CAST(SUM(CASE WHEN cl.end_date <= ? THEN \
             CASE WHEN cl.status = {delivered} AND COALESCE(rc.attended, 0) > 0 \
             THEN rc.attended ELSE COALESCE(rc.learners, 0) END ELSE 0 END) AS BIGINT) AS attendees, \
         CAST(SUM(CASE WHEN cl.end_date > ? THEN 1 ELSE 0 END) AS BIGINT) AS later \
         FROM classes cl JOIN courses co ON co.id = cl.course_id \
         LEFT JOIN roster_counts rc ON rc.class_id = cl.id \
         WHERE cl.status IN ({open}) AND cl.end_date >= ? AND {exclusion} = {unconfirmed} \
         GROUP BY 1, 2",
        open = open_statuses(),
        delivered = literal(ClassStatus::Delivered.id()),
        unconfirmed = literal(Exclusion::Unconfirmed.id()),
    );
    let values = vec![
        Value::from(end),
        Value::from(end),
        Value::from(end),
        Value::from(start),
    ];
    let (mut cells, mut later) = (Vec::new(), 0);
    for row in rows(db, &sql, values).await? {
        later += int(&row, "later")?;
        let classes = int(&row, "classes")?;
        if classes > 0 {
            cells.push(PipelineCell {
                category: category(&row.try_get::<String>("", "category")?),
                area: area(&row)?,
                classes,
                attendees: int(&row, "attendees")?,
            });
        }
    }
    Ok((cells, later))
}

/// Codes redeemed and responses given for official live classes not confirmed yet, by
/// month, category and area, marked when their classes end in `[start, end]`.
async fn awaiting(
    db: &impl ConnectionTrait,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<Awaiting>, ServiceError> {
    let (category_case, exclusion) = (category_sql(), exclusion_sql());
    let sql = format!(
        "SELECT f.period AS month, {category_case} AS category, {AREA_SQL} AS area, \
         f.kind AS kind, \
         CAST(CASE WHEN cl.end_date >= ? AND cl.end_date <= ? THEN 1 ELSE 0 END AS BIGINT) AS in_pipeline, \
         CAST(SUM(f.n) AS BIGINT) AS n, CAST(SUM(f.answers) AS BIGINT) AS answers, \
         CAST(SUM(f.answer_sum) AS BIGINT) AS total \
         FROM classes cl JOIN kpi_class_figures f ON f.class_id = cl.id \
         JOIN courses co ON co.id = cl.course_id \
         WHERE cl.status IN ({open}) AND f.kind IN ({code}, {survey}) \
         AND {exclusion} = {unconfirmed} \
         GROUP BY 1, 2, 3, 4, 5 HAVING SUM(f.n) <> 0",
        code = literal(kind::CODE),
        survey = literal(kind::SURVEY),
        unconfirmed = literal(Exclusion::Unconfirmed.id()),
        open = open_statuses(),
    );
    let mut all = Vec::new();
    for row in rows(db, &sql, vec![Value::from(start), Value::from(end)]).await? {
        let month: String = row.try_get("", "month")?;
        let month = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
            .map_err(|e| ServiceError::Other(anyhow::anyhow!("KPI month {month}: {e}")))?;
        let n = int(&row, "n")?;
        let is_code = row.try_get::<String>("", "kind")?.as_str() == kind::CODE;
        all.push(Awaiting {
            month,
            in_pipeline: int(&row, "in_pipeline")? == 1,
            category: category(&row.try_get::<String>("", "category")?),
            area: area(&row)?,
            codes: if is_code { n } else { 0 },
            responses: if is_code {
                ScoreTally::default()
            } else {
                ScoreTally {
                    sum: int(&row, "total")?,
                    answers: int(&row, "answers")?,
                    surveys: n,
                }
            },
        });
    }
    Ok(all)
}

/// The forecast to the next anniversary on or after `today`; `None` when no anniversary
/// is set.
pub async fn forecast(
    db: &impl ConnectionTrait,
    today: NaiveDate,
    rules: &RulesProfile,
) -> Result<Option<Forecast>, ServiceError> {
    let Some(anniversary) = super::settings::get(db).await?.anniversary else {
        return Ok(None);
    };
    let (_, start_a, end_a) = anniversary_window(today, anniversary, rules);
    let (start_t, end_t) = kpi::window(today, rules.window_months);
    let months = kpi_svc::monthly_inputs(db, start_t, today, Source::Aggregates).await?;
    let history = history(db, start_t, end_t).await?;
    let (pipeline, later_classes) = pipeline(db, start_a, end_a).await?;
    let awaiting = awaiting(db, start_a, end_a).await?;
    Ok(forecast::forecast(&ForecastInputs {
        rules,
        today,
        anniversary: Some(anniversary),
        months: &months,
        history: &history,
        pipeline: &pipeline,
        awaiting: &awaiting,
        later_classes,
    }))
}

/// Recent forecasts, kept per as-of date and ledger head like the KPI standings: every
/// change that moves a forecast input (a class, a roster, a code, a response, a voucher,
/// the anniversary) appends a ledger entry.
pub type ForecastCache = kpi_svc::HeadCache<Option<Forecast>, 4>;

impl ForecastCache {
    pub async fn forecast(
        &self,
        db: &impl ConnectionTrait,
        today: NaiveDate,
        rules: &RulesProfile,
    ) -> Result<Arc<Option<Forecast>>, ServiceError> {
        self.get(db, today, || forecast(db, today, rules)).await
    }
}
