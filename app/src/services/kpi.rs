//! The KPI inputs of SPEC §4: four GROUP BY queries over the window (codes by redemption
//! date, vouchers by purchase date, survey responses by submission date, classes by end
//! date), never loading the rows themselves.
use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use sea_orm::{ConnectionTrait, QueryResult, Value};

use super::ServiceError;
use crate::domain::catalog::{DurationCategory, SolutionArea};
use crate::domain::delivery::ClassStatus;
use crate::domain::kpi::{
    self, CategoryValues, ExcludedClasses, Exclusion, Inputs, MonthFigures, Report, RulesProfile,
    ScoreTally,
};

pub use crate::domain::kpi::sql::{
    ELIGIBLE, answer_sum_sql, answers_sql, category_sql, exclusion_sql, kind, literal, month_of,
};

/// The reason column of a row: `None` for a class that counts.
pub(super) fn reason(row: &QueryResult) -> Result<Option<Exclusion>, ServiceError> {
    let id: String = row.try_get("", "reason")?;
    if id == ELIGIBLE {
        return Ok(None);
    }
    id.parse()
        .map(Some)
        .map_err(|e| ServiceError::Other(anyhow::anyhow!("KPI reason {e}")))
}

/// Runs `sql` (written with `?` placeholders) with `values` on either backend.
pub(super) async fn rows(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<QueryResult>, ServiceError> {
    let stmt = crate::db::statement(db.get_database_backend(), sql, values);
    Ok(db.query_all_raw(stmt).await?)
}

pub(super) fn category(id: &str) -> DurationCategory {
    match id {
        "fundamentals" => DurationCategory::Fundamentals,
        "two_days_or_less" => DurationCategory::TwoDaysOrLess,
        _ => DurationCategory::ThreeDaysOrMore,
    }
}

/// The window's events, month by month, plus the credit waiting on a confirmation.
#[derive(Debug, Default)]
struct Scan {
    /// Keyed by `YYYY-MM`; only months with events.
    months: BTreeMap<String, Inputs>,
    /// Window totals not tied to a month (classes by the reason they are left out).
    excluded_classes: ExcludedClasses,
    /// Redeemed codes and responses of official live classes not yet confirmed.
    awaiting_codes: CategoryValues,
    awaiting_surveys: i64,
}

/// The scan's four statements (codes, vouchers, responses, classes), each with two `?`
/// placeholders for the window's first and last day. Public so that a benchmark can run
/// exactly these in the database's own CLI.
pub fn scan_statements() -> [String; 4] {
    let (category, exclusion) = (category_sql(), exclusion_sql());
    let (answers, answer_sum) = (answers_sql("r"), answer_sum_sql("r"));
    let codes = format!(
        "SELECT x.month AS month, {category} AS category, {exclusion} AS reason, CAST(SUM(x.n) AS BIGINT) AS n \
         FROM (SELECT e.class_id AS class_id, {month} AS month, COUNT(*) AS n \
               FROM achievement_codes ac JOIN enrollments e ON e.id = ac.enrollment_id \
               WHERE ac.redeemed_on >= ? AND ac.redeemed_on <= ? GROUP BY 1, 2) x \
         JOIN classes cl ON cl.id = x.class_id JOIN courses co ON co.id = cl.course_id \
         GROUP BY 1, 2, 3",
        month = month_of("ac.redeemed_on")
    );
    let vouchers = format!(
        "SELECT {month} AS month, level, SUM(quantity) AS units FROM exam_vouchers \
         WHERE purchased_on >= ? AND purchased_on <= ? GROUP BY 1, 2",
        month = month_of("purchased_on")
    );
    let responses = format!(
        "SELECT x.month AS month, {category} AS category, co.solution_area AS area, \
         {exclusion} AS reason, CAST(SUM(x.surveys) AS BIGINT) AS surveys, \
         CAST(SUM(x.answers) AS BIGINT) AS answers, CAST(SUM(x.total) AS BIGINT) AS total \
         FROM (SELECT e.class_id AS class_id, {month} AS month, COUNT(*) AS surveys, \
               SUM({answers}) AS answers, SUM({answer_sum}) AS total \
               FROM survey_responses r JOIN enrollments e ON e.id = r.enrollment_id \
               WHERE r.submitted_on >= ? AND r.submitted_on <= ? GROUP BY 1, 2) x \
         JOIN classes cl ON cl.id = x.class_id JOIN courses co ON co.id = cl.course_id \
         GROUP BY 1, 2, 3, 4",
        month = month_of("r.submitted_on")
    );
    let classes = format!(
        "SELECT {exclusion} AS reason, COUNT(*) AS n FROM classes cl \
         JOIN courses co ON co.id = cl.course_id \
         WHERE cl.end_date >= ? AND cl.end_date <= ? GROUP BY 1"
    );
    [codes, vouchers, responses, classes]
}

/// Where the KPI inputs are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `kpi_buckets`, kept by triggers in every write's transaction: a few thousand rows
    /// at any scale. What the dashboard, the API and the CLI read.
    Aggregates,
    /// The codes, responses and classes themselves ([`scan_statements`]); `kpi verify`
    /// and the tests hold the aggregates to it.
    RawRows,
}

/// A sum over `kpi_buckets` of one kind in the window (`?` placeholders for the first and
/// last month, `YYYY-MM`), with the scan's column names; rows that cancelled out to zero
/// are left out, as the scan never sees them.
fn bucket_sum(kind: &str, columns: &str, sums: &str, groups: usize) -> String {
    let group: Vec<String> = (1..=groups).map(|i| i.to_string()).collect();
    format!(
        "SELECT {columns}, {sums} FROM kpi_buckets WHERE kind = {} \
         AND period >= ? AND period <= ? GROUP BY {} HAVING SUM(n) <> 0",
        literal(kind),
        group.join(", ")
    )
}

/// [`scan_statements`]'s codes, responses and classes read from the aggregates.
pub fn aggregate_statements() -> [String; 3] {
    let n = "CAST(SUM(n) AS BIGINT) AS n";
    [
        bucket_sum(kind::CODE, "period AS month, category, reason", n, 3),
        bucket_sum(
            kind::SURVEY,
            "period AS month, category, NULLIF(area, '') AS area, reason",
            "CAST(SUM(n) AS BIGINT) AS surveys, CAST(SUM(answers) AS BIGINT) AS answers, \
             CAST(SUM(answer_sum) AS BIGINT) AS total",
            4,
        ),
        bucket_sum(kind::CLASS, "reason", n, 1),
    ]
}

async fn scan(
    db: &impl ConnectionTrait,
    start: NaiveDate,
    end: NaiveDate,
    source: Source,
) -> Result<Scan, ServiceError> {
    let mut scan = Scan::default();
    let [codes, vouchers, responses, classes] = scan_statements();
    let [codes, responses, classes] = match source {
        Source::RawRows => [codes, responses, classes],
        Source::Aggregates => aggregate_statements(),
    };
    let days = || vec![Value::from(start), Value::from(end)];
    // The aggregates are keyed by month (`YYYY-MM`), the raw rows by day.
    let window = || match source {
        Source::Aggregates => vec![
            Value::from(start.format("%Y-%m").to_string()),
            Value::from(end.format("%Y-%m").to_string()),
        ],
        Source::RawRows => days(),
    };

    // Counted per class and month first (an index-only scan joined to enrollments), then
    // per category and reason over the few thousand (class, month) pairs: the class and
    // course are looked up once per pair instead of once per code.
    for row in rows(db, &codes, window()).await? {
        let n: i64 = row.try_get("", "n")?;
        let category = category(&row.try_get::<String>("", "category")?);
        let month = scan.months.entry(row.try_get("", "month")?).or_default();
        match reason(&row)? {
            None => month.codes.add(category, n),
            Some(why) => {
                month.excluded.redeemed_codes += n;
                if why == Exclusion::Unconfirmed {
                    scan.awaiting_codes.add(category, n);
                }
            }
        }
    }

    for row in rows(db, &vouchers, days()).await? {
        let units: i64 = row.try_get::<Option<i64>>("", "units")?.unwrap_or(0);
        let month = scan.months.entry(row.try_get("", "month")?).or_default();
        match row.try_get::<String>("", "level")?.as_str() {
            "fundamentals" => month.exam_fundamentals_units += units,
            _ => month.exam_advanced_units += units,
        }
    }

    for row in rows(db, &responses, window()).await? {
        let surveys: i64 = row.try_get("", "surveys")?;
        let month = scan.months.entry(row.try_get("", "month")?).or_default();
        if let Some(why) = reason(&row)? {
            month.excluded.surveys += surveys;
            if why == Exclusion::Unconfirmed {
                scan.awaiting_surveys += surveys;
            }
            continue;
        }
        let category = category(&row.try_get::<String>("", "category")?);
        let area: Option<String> = row.try_get("", "area")?;
        let target = match area.as_deref().and_then(|a| a.parse::<SolutionArea>().ok()) {
            Some(area) => {
                &mut month.areas[SolutionArea::ALL
                    .iter()
                    .position(|a| *a == area)
                    .expect("one of ALL")]
            }
            None => &mut month.unassigned,
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

    for row in rows(db, &classes, window()).await? {
        let n: i64 = row.try_get("", "n")?;
        let excluded = &mut scan.excluded_classes;
        match reason(&row)? {
            Some(Exclusion::Cancelled) => excluded.cancelled += n,
            Some(Exclusion::Unofficial) => excluded.unofficial += n,
            Some(Exclusion::Recorded) => excluded.recorded += n,
            Some(Exclusion::Unconfirmed) => excluded.unconfirmed += n,
            None => {}
        }
    }
    Ok(scan)
}

impl Scan {
    fn total(&self) -> Inputs {
        let mut inputs = Inputs::default();
        for month in self.months.values() {
            inputs.merge(month);
        }
        inputs.excluded.classes = self.excluded_classes;
        inputs
    }
}

/// Counts and sums for the window `[start, end]`.
pub async fn inputs(
    db: &impl ConnectionTrait,
    start: NaiveDate,
    end: NaiveDate,
    source: Source,
) -> Result<Inputs, ServiceError> {
    Ok(scan(db, start, end, source).await?.total())
}

/// The counted inputs of `[start, end]` month by month, keyed by each month's first day
/// (the forecast's "what stays" and "what leaves").
pub async fn monthly_inputs(
    db: &impl ConnectionTrait,
    start: NaiveDate,
    end: NaiveDate,
    source: Source,
) -> Result<BTreeMap<NaiveDate, Inputs>, ServiceError> {
    let scan = scan(db, start, end, source).await?;
    scan.months
        .into_iter()
        .map(|(month, inputs)| {
            NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
                .map(|first| (first, inputs))
                .map_err(|e| ServiceError::Other(anyhow::anyhow!("KPI month {month}: {e}")))
        })
        .collect()
}

/// The designation report as of `as_of`, from the aggregates.
pub async fn report(
    db: &impl ConnectionTrait,
    as_of: NaiveDate,
    rules: &RulesProfile,
) -> Result<Report, ServiceError> {
    report_from(db, as_of, rules, Source::Aggregates).await
}

pub async fn report_from(
    db: &impl ConnectionTrait,
    as_of: NaiveDate,
    rules: &RulesProfile,
    source: Source,
) -> Result<Report, ServiceError> {
    let (start, end) = kpi::window(as_of, rules.window_months);
    let inputs = inputs(db, start, end, source).await?;
    Ok(kpi::evaluate(as_of, &inputs, rules))
}

/// Credit that is not counted yet but could be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Potential {
    /// Codes issued (and not expired) but not redeemed, of official live classes that are
    /// not cancelled, by category.
    pub unredeemed_codes: CategoryValues,
    /// Official live classes delivered but not confirmed, ending in the window or since.
    pub unconfirmed_classes: i64,
    /// Redeemed codes and survey responses in the window that wait on those confirmations.
    pub awaiting_codes: CategoryValues,
    pub awaiting_surveys: i64,
}

/// MCTs by standing on the as-of date (SPEC §3 rule 1 needs good standing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrainerStanding {
    pub good: i64,
    /// In good standing, but it ends within the trainers page's warning period.
    pub ending_soon: i64,
    pub lapsed: i64,
}

/// Everything the dashboard shows for one as-of date.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub report: Report,
    /// The window's months, oldest first, each with what it earned before caps.
    pub months: Vec<(NaiveDate, MonthFigures)>,
    pub potential: Potential,
    pub trainers: TrainerStanding,
}

/// The report plus the dashboard's context, from one read of the window.
pub async fn standing(
    db: &impl ConnectionTrait,
    as_of: NaiveDate,
    rules: &RulesProfile,
    source: Source,
) -> Result<Standing, ServiceError> {
    let (start, end) = kpi::window(as_of, rules.window_months);
    let scan = scan(db, start, end, source).await?;
    let report = kpi::evaluate(as_of, &scan.total(), rules);
    let months = (0..rules.window_months)
        .map(|i| {
            let first = start + Months::new(i);
            let key = first.format("%Y-%m").to_string();
            let figures = scan
                .months
                .get(&key)
                .map(|m| kpi::month_figures(m, rules))
                .unwrap_or_default();
            (first, figures)
        })
        .collect();

    let mut potential = Potential {
        awaiting_codes: scan.awaiting_codes,
        awaiting_surveys: scan.awaiting_surveys,
        ..Potential::default()
    };
    // Credit that could still come: classes that count or only wait on a confirmation.
    let (category_case, exclusion) = (category_sql(), exclusion_sql());
    let unconfirmed_reason = literal(Exclusion::Unconfirmed.id());
    let (unredeemed, on) = match source {
        Source::RawRows => (
            format!(
                "SELECT {category_case} AS category, COUNT(*) AS n \
                 FROM achievement_codes ac JOIN enrollments e ON e.id = ac.enrollment_id \
                 JOIN classes cl ON cl.id = e.class_id JOIN courses co ON co.id = cl.course_id \
                 WHERE ac.redeemed_on IS NULL AND ac.issued_on IS NOT NULL \
                 AND (ac.expires_on IS NULL OR ac.expires_on >= ?) \
                 AND {exclusion} IN ('{ELIGIBLE}', {unconfirmed_reason}) GROUP BY 1"
            ),
            Value::from(as_of),
        ),
        // Periods of unredeemed codes are expiry dates (`9999-12-31` for none).
        Source::Aggregates => (
            format!(
                "SELECT category, CAST(SUM(n) AS BIGINT) AS n FROM kpi_buckets \
                 WHERE kind = {unredeemed} AND period >= ? \
                 AND reason IN ('{ELIGIBLE}', {unconfirmed_reason}) GROUP BY 1 HAVING SUM(n) <> 0",
                unredeemed = literal(kind::UNREDEEMED)
            ),
            Value::from(as_of.to_string()),
        ),
    };
    for row in rows(db, &unredeemed, vec![on]).await? {
        potential.unredeemed_codes.add(
            category(&row.try_get::<String>("", "category")?),
            row.try_get("", "n")?,
        );
    }
    let unconfirmed = format!(
        "SELECT COUNT(*) AS n FROM classes cl JOIN courses co ON co.id = cl.course_id \
         WHERE cl.status = {delivered} AND {exclusion} = {unconfirmed_reason} \
         AND cl.end_date >= ? AND cl.end_date <= ?",
        delivered = literal(ClassStatus::Delivered.id())
    );
    if let Some(row) = rows(
        db,
        &unconfirmed,
        vec![Value::from(start), Value::from(as_of)],
    )
    .await?
    .first()
    {
        potential.unconfirmed_classes = row.try_get("", "n")?;
    }

    let soon = as_of + chrono::Days::new(crate::domain::policy::STANDING_WARNING_DAYS as u64);
    let trainers = "SELECT SUM(CASE WHEN mct_valid_until >= ? THEN 1 ELSE 0 END) AS good, \
         SUM(CASE WHEN mct_valid_until >= ? AND mct_valid_until <= ? THEN 1 ELSE 0 END) AS soon, \
         SUM(CASE WHEN mct_valid_until < ? THEN 1 ELSE 0 END) AS lapsed FROM trainers";
    let values = vec![
        Value::from(as_of),
        Value::from(as_of),
        Value::from(soon),
        Value::from(as_of),
    ];
    let row = rows(db, trainers, values).await?;
    let count = |name: &str| -> Result<i64, ServiceError> {
        Ok(row
            .first()
            .map(|r| r.try_get::<Option<i64>>("", name))
            .transpose()?
            .flatten()
            .unwrap_or(0))
    };
    let trainers = TrainerStanding {
        good: count("good")?,
        ending_soon: count("soon")?,
        lapsed: count("lapsed")?,
    };
    Ok(Standing {
        report,
        months,
        potential,
        trainers,
    })
}

/// Values computed from what the ledger records (the KPI standings, forecasts, the
/// reconciliation overview), kept per day and ledger head: every change that moves them
/// appends a ledger entry, so a dashboard view costs one query while nothing changes.
/// At most `N` are kept, and only those of the newest head.
pub struct HeadCache<V, const N: usize> {
    /// Held while computing, so concurrent requests wait for one computation instead of
    /// racing.
    entries: tokio::sync::Mutex<Vec<(CacheKey, std::sync::Arc<V>)>>,
}

impl<V, const N: usize> Default for HeadCache<V, N> {
    fn default() -> Self {
        HeadCache {
            entries: Default::default(),
        }
    }
}

/// The day and the ledger head.
type CacheKey = (NaiveDate, i64);

pub(super) async fn ledger_head(db: &impl ConnectionTrait) -> Result<i64, ServiceError> {
    use sea_orm::EntityTrait;
    Ok(entity::ledger_head::Entity::find()
        .one(db)
        .await?
        .map_or(0, |h| h.last_id))
}

impl<V, const N: usize> HeadCache<V, N> {
    /// The value for `day` at the current ledger head, computed by `compute` when absent.
    pub async fn get<Fut>(
        &self,
        db: &impl ConnectionTrait,
        day: NaiveDate,
        compute: impl FnOnce() -> Fut,
    ) -> Result<std::sync::Arc<V>, ServiceError>
    where
        Fut: std::future::Future<Output = Result<V, ServiceError>>,
    {
        let mut entries = self.entries.lock().await;
        // Read the head before computing: a write landing in between only makes the entry
        // newer than its key, and the next request recomputes.
        let key = (day, ledger_head(db).await?);
        if let Some(pos) = entries.iter().position(|(k, _)| *k == key) {
            let hit = entries.remove(pos);
            entries.push(hit.clone());
            return Ok(hit.1);
        }
        let fresh = std::sync::Arc::new(compute().await?);
        entries.retain(|((_, head), _)| *head == key.1);
        if entries.len() >= N {
            entries.remove(0);
        }
        entries.push((key, fresh.clone()));
        Ok(fresh)
    }
}

/// The dashboard's standings; a dashboard mostly asks for today.
pub type StandingCache = HeadCache<Standing, 8>;

impl StandingCache {
    pub async fn standing(
        &self,
        db: &impl ConnectionTrait,
        as_of: NaiveDate,
        rules: &RulesProfile,
    ) -> Result<std::sync::Arc<Standing>, ServiceError> {
        self.get(db, as_of, || standing(db, as_of, rules, Source::Aggregates))
            .await
    }
}
