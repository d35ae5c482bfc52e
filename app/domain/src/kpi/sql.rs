//! The KPI rules rendered as SQL expressions, so the scan, the line items and the
//! aggregates' triggers (migration crate) all classify a class from the one rule table.
//! Pure text: no connection, no backend; every expression reads the same on SQLite and
//! PostgreSQL. The aliases are fixed: `cl` a class (status, modality, end date, course),
//! `co` its course.
use std::sync::LazyLock;

use super::{ClassTest, EXCLUSION_RULE};
use crate::catalog::{DurationCategory, SHORT_COURSE_MAX_DAYS};

/// The value of [`exclusion_sql`] for a class that counts.
pub const ELIGIBLE: &str = "eligible";

/// A vocabulary id as an SQL literal (ids are fixed words; quotes doubled regardless).
pub fn literal(id: &str) -> String {
    format!("'{}'", id.replace('\'', "''"))
}

/// The duration category of the course `co`, rendered from [`DurationCategory::of`]'s rule.
pub fn category_sql() -> &'static str {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "CASE WHEN co.fundamentals THEN {} WHEN co.duration_days <= {SHORT_COURSE_MAX_DAYS} THEN {} ELSE {} END",
            literal(DurationCategory::Fundamentals.id()),
            literal(DurationCategory::TwoDaysOrLess.id()),
            literal(DurationCategory::ThreeDaysOrMore.id()),
        )
    });
    &SQL
}

/// Why the class `cl` of course `co` does not count, or [`ELIGIBLE`]: rendered from
/// [`EXCLUSION_RULE`], test by test in its order.
pub fn exclusion_sql() -> &'static str {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let mut sql = String::from("CASE");
        for (reason, test) in EXCLUSION_RULE {
            let condition = match test {
                ClassTest::StatusIs(s) => format!("cl.status = {}", literal(s.id())),
                ClassTest::StatusIsNot(s) => format!("cl.status <> {}", literal(s.id())),
                ClassTest::ContentIsNot(c) => format!("co.content <> {}", literal(c.id())),
                ClassTest::ModalityIs(m) => format!("cl.modality = {}", literal(m.id())),
            };
            sql.push_str(&format!(" WHEN {condition} THEN {}", literal(reason.id())));
        }
        sql.push_str(&format!(" ELSE {} END", literal(ELIGIBLE)));
        sql
    });
    &SQL
}

/// The solution area of the course `co`, `''` for none (a key column cannot be NULL).
pub const AREA_SQL: &str = "COALESCE(co.solution_area, '')";

/// How many of a response's five scored questions (`q1`..`q5` of `alias`) were answered.
pub fn answers_sql(alias: &str) -> String {
    let terms: Vec<String> = (1..=5)
        .map(|q| format!("CASE WHEN {alias}.q{q} IS NULL THEN 0 ELSE 1 END"))
        .collect();
    format!("({})", terms.join(" + "))
}

/// The sum of a response's answered scores (`alias`).
pub fn answer_sum_sql(alias: &str) -> String {
    let terms: Vec<String> = (1..=5)
        .map(|q| format!("COALESCE({alias}.q{q}, 0)"))
        .collect();
    format!("({})", terms.join(" + "))
}

/// `YYYY-MM` of a date expression, the same on SQLite (dates are text) and PostgreSQL.
pub fn month_of(column: &str) -> String {
    format!("SUBSTR(CAST({column} AS TEXT), 1, 7)")
}

/// The period an unredeemed code stays creditable to: its expiry date, or [`NEVER`].
pub fn expiry_of(column: &str) -> String {
    format!("COALESCE(CAST({column} AS TEXT), '{NEVER}')")
}

/// The expiry period of a code that does not expire (sorts after every date).
pub const NEVER: &str = "9999-12-31";

/// The kinds of aggregate rows (`kpi_class_figures.kind`, `kpi_buckets.kind`): written by
/// the triggers, read by the dashboard.
pub mod kind {
    /// Redeemed codes, by redemption month.
    pub const CODE: &str = "code";
    /// Issued codes not redeemed, by expiry date.
    pub const UNREDEEMED: &str = "unredeemed";
    /// Survey responses, by submission month.
    pub const SURVEY: &str = "survey";
    /// Classes, by end month (buckets only).
    pub const CLASS: &str = "class";
}
