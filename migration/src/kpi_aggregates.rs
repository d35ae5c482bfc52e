//! The KPI aggregates (tables of migration `m20261218`) kept true by triggers, so every
//! write that moves a figure — a code redeemed, issued or imported, a response stored or
//! imported, a class's status, modality, course or end date changed, a course's duration,
//! content or area changed — updates them in its own transaction, whichever path made it
//! (form, import, API, a future one, a hand-run SQL statement).
//!
//! The triggers are rendered from the KPI rule of `tsp_domain::kpi::sql`; [`install`]
//! runs after the migrations on every start and, when the rendered text differs from the
//! one the aggregates were built with (first start, or a changed rule), re-creates the
//! triggers and rebuilds both tables from the raw rows, in one transaction.
use sea_orm_migration::sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait,
};
use tsp_domain::kpi::sql::{
    AREA_SQL, answer_sum_sql, answers_sql, category_sql, exclusion_sql, expiry_of, kind, literal,
    month_of,
};

/// What one row of a source table adds to its class's figures, written over the row's
/// alias (`NEW`, `OLD` in a trigger, the table alias in a rebuild).
struct Contribution {
    kind: &'static str,
    period: String,
    answers: String,
    answer_sum: String,
    /// When the row counts at all.
    when: String,
}

/// A table whose rows are credited to the class of their `enrollment_id`.
struct Source {
    table: &'static str,
    /// The columns whose change can move a contribution.
    columns: &'static str,
    contributions: fn(&str) -> Vec<Contribution>,
    /// Trigger name stem.
    stem: &'static str,
}

fn code_contributions(row: &str) -> Vec<Contribution> {
    vec![
        Contribution {
            kind: kind::CODE,
            period: month_of(&format!("{row}.redeemed_on")),
            answers: "0".into(),
            answer_sum: "0".into(),
            when: format!("{row}.redeemed_on IS NOT NULL"),
        },
        // Issued and waiting: the dashboard's "could still come", by expiry date.
        Contribution {
            kind: kind::UNREDEEMED,
            period: expiry_of(&format!("{row}.expires_on")),
            answers: "0".into(),
            answer_sum: "0".into(),
            when: format!("{row}.redeemed_on IS NULL AND {row}.issued_on IS NOT NULL"),
        },
    ]
}

fn response_contributions(row: &str) -> Vec<Contribution> {
    vec![Contribution {
        kind: kind::SURVEY,
        period: month_of(&format!("{row}.submitted_on")),
        answers: answers_sql(row),
        answer_sum: answer_sum_sql(row),
        when: "1 = 1".into(),
    }]
}

const SOURCES: [Source; 2] = [
    Source {
        table: "achievement_codes",
        columns: "enrollment_id, issued_on, redeemed_on, expires_on",
        contributions: code_contributions,
        stem: "kpi_code",
    },
    Source {
        table: "survey_responses",
        columns: "enrollment_id, submitted_on, q1, q2, q3, q4, q5",
        contributions: response_contributions,
        stem: "kpi_response",
    },
];

const FIGURE_COLUMNS: &str = "class_id, kind, period, n, answers, answer_sum";
const BUCKET_COLUMNS: &str = "kind, period, category, area, reason, n, answers, answer_sum";

/// `INSERT … SELECT` that adds to existing rows. `from` must hold a WHERE (SQLite reads
/// `ON CONFLICT` after a bare join as part of the join) and yield each key once.
fn add_to_figures(select: &str, from: &str) -> String {
    format!(
        "INSERT INTO kpi_class_figures ({FIGURE_COLUMNS}) SELECT {select} {from} \
         ON CONFLICT (class_id, kind, period) DO UPDATE SET n = kpi_class_figures.n + excluded.n, \
         answers = kpi_class_figures.answers + excluded.answers, \
         answer_sum = kpi_class_figures.answer_sum + excluded.answer_sum"
    )
}

/// Adds to the bucket of the class `cl` of course `co` named in `from`; `values` are the
/// kind, period, n, answers and answer sum.
fn add_to_buckets(values: [&str; 5], from: &str) -> String {
    let [kind, period, n, answers, answer_sum] = values;
    let (category, reason) = (category_sql(), exclusion_sql());
    format!(
        "INSERT INTO kpi_buckets ({BUCKET_COLUMNS}) SELECT {kind}, {period}, {category}, {AREA_SQL}, \
         {reason}, {n}, {answers}, {answer_sum} {from} \
         ON CONFLICT (kind, period, category, area, reason) DO UPDATE SET n = kpi_buckets.n + excluded.n, \
         answers = kpi_buckets.answers + excluded.answers, \
         answer_sum = kpi_buckets.answer_sum + excluded.answer_sum"
    )
}

/// The statements that add (`sign` "") or take away (`sign` "-") what row `row` of
/// `source` contributes.
fn row_delta(source: &Source, row: &str, sign: &str) -> Vec<String> {
    let mut statements = Vec::new();
    for c in (source.contributions)(row) {
        let kind = format!("'{}'", c.kind);
        let (n, answers, sum) = (
            format!("{sign}1"),
            format!("{sign}{}", c.answers),
            format!("{sign}{}", c.answer_sum),
        );
        let condition = format!("WHERE e.id = {row}.enrollment_id AND {}", c.when);
        statements.push(add_to_figures(
            &format!("e.class_id, {kind}, {}, {n}, {answers}, {sum}", c.period),
            &format!("FROM enrollments e {condition}"),
        ));
        statements.push(add_to_buckets(
            [&kind, &c.period, &n, &answers, &sum],
            &format!(
                "FROM enrollments e JOIN classes cl ON cl.id = e.class_id \
                 JOIN courses co ON co.id = cl.course_id {condition}"
            ),
        ));
    }
    statements
}

/// Class `row` (NEW or OLD) as the alias `cl`, joined to its course `co`.
fn class_as_of(row: &str) -> String {
    format!(
        "FROM (SELECT {row}.id AS id, {row}.status AS status, {row}.modality AS modality, \
         {row}.course_id AS course_id, {row}.end_date AS end_date) cl \
         JOIN courses co ON co.id = cl.course_id"
    )
}

/// Course `row` (NEW or OLD) as the alias `co`.
fn course_as_of(row: &str) -> String {
    format!(
        "FROM (SELECT {row}.id AS id, {row}.fundamentals AS fundamentals, \
         {row}.duration_days AS duration_days, {row}.content AS content, \
         {row}.solution_area AS solution_area) co"
    )
}

/// Class `row` counted (or not) by end month, and its figures moved into its buckets.
fn class_delta(row: &str, sign: &str) -> Vec<String> {
    let from = class_as_of(row);
    vec![
        add_to_buckets(
            [
                &literal(kind::CLASS),
                &month_of("cl.end_date"),
                &format!("{sign}1"),
                "0",
                "0",
            ],
            &format!("{from} WHERE 1 = 1"),
        ),
        add_to_buckets(
            [
                "f.kind",
                "f.period",
                &format!("{sign}f.n"),
                &format!("{sign}f.answers"),
                &format!("{sign}f.answer_sum"),
            ],
            &format!("{from} JOIN kpi_class_figures f ON f.class_id = cl.id WHERE 1 = 1"),
        ),
    ]
}

/// Every class of course `row`, and their figures, moved into (or out of) the buckets that
/// the course's values put them in.
fn course_delta(row: &str, sign: &str) -> Vec<String> {
    let from = format!(
        "{} JOIN classes cl ON cl.course_id = co.id",
        course_as_of(row)
    );
    let group = "WHERE 1 = 1 GROUP BY 1, 2, 3, 4, 5";
    vec![
        add_to_buckets(
            [
                &literal(kind::CLASS),
                &month_of("cl.end_date"),
                &format!("{sign}COUNT(*)"),
                "0",
                "0",
            ],
            &format!("{from} {group}"),
        ),
        add_to_buckets(
            [
                "f.kind",
                "f.period",
                &format!("{sign}SUM(f.n)"),
                &format!("{sign}SUM(f.answers)"),
                &format!("{sign}SUM(f.answer_sum)"),
            ],
            &format!("{from} JOIN kpi_class_figures f ON f.class_id = cl.id {group}"),
        ),
    ]
}

struct Trigger {
    name: String,
    table: &'static str,
    /// `INSERT`, `DELETE` or `UPDATE OF …`.
    event: String,
    body: Vec<String>,
}

fn triggers() -> Vec<Trigger> {
    let mut all = Vec::new();
    for source in &SOURCES {
        let update = [row_delta(source, "OLD", "-"), row_delta(source, "NEW", "")].concat();
        for (event, body) in [
            ("insert", row_delta(source, "NEW", "")),
            ("delete", row_delta(source, "OLD", "-")),
            ("update", update),
        ] {
            all.push(Trigger {
                name: format!("{}_{event}", source.stem),
                table: source.table,
                event: match event {
                    "update" => format!("UPDATE OF {}", source.columns),
                    other => other.to_uppercase(),
                },
                body,
            });
        }
    }
    let class_update = [class_delta("OLD", "-"), class_delta("NEW", "")].concat();
    all.push(Trigger {
        name: "kpi_class_insert".into(),
        table: "classes",
        event: "INSERT".into(),
        body: class_delta("NEW", ""),
    });
    all.push(Trigger {
        name: "kpi_class_update".into(),
        table: "classes",
        event: "UPDATE OF course_id, status, modality, end_date".into(),
        body: class_update,
    });
    all.push(Trigger {
        name: "kpi_class_delete".into(),
        table: "classes",
        event: "DELETE".into(),
        body: class_delta("OLD", "-"),
    });
    all.push(Trigger {
        name: "kpi_course_update".into(),
        table: "courses",
        event: "UPDATE OF fundamentals, duration_days, content, solution_area".into(),
        body: [course_delta("OLD", "-"), course_delta("NEW", "")].concat(),
    });
    all
}

fn create(backend: DbBackend, t: &Trigger) -> Vec<String> {
    match backend {
        DbBackend::Postgres => vec![
            format!(
                "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $kpi$ \
                 BEGIN {body}; RETURN NULL; END $kpi$",
                name = t.name,
                body = t.body.join("; ")
            ),
            format!(
                "CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()",
                name = t.name,
                event = t.event,
                table = t.table
            ),
        ],
        _ => vec![format!(
            "CREATE TRIGGER {} AFTER {} ON {} FOR EACH ROW BEGIN {}; END",
            t.name,
            t.event,
            t.table,
            t.body.join("; ")
        )],
    }
}

fn drop(backend: DbBackend, t: &Trigger) -> Vec<String> {
    match backend {
        DbBackend::Postgres => vec![
            format!("DROP TRIGGER IF EXISTS {} ON {}", t.name, t.table),
            format!("DROP FUNCTION IF EXISTS {}()", t.name),
        ],
        _ => vec![format!("DROP TRIGGER IF EXISTS {}", t.name)],
    }
}

/// Every class's figures, computed from the raw rows (columns of `kpi_class_figures`).
pub fn figures_from_rows_sql() -> String {
    SOURCES
        .iter()
        .flat_map(|source| {
            (source.contributions)("t").into_iter().map(move |c| {
                format!(
                    "SELECT e.class_id AS class_id, '{kind}' AS kind, {period} AS period, \
                     COUNT(*) AS n, SUM({answers}) AS answers, SUM({sum}) AS answer_sum \
                     FROM {table} t JOIN enrollments e ON e.id = t.enrollment_id \
                     WHERE {when} GROUP BY 1, 2, 3",
                    kind = c.kind,
                    period = c.period,
                    answers = c.answers,
                    sum = c.answer_sum,
                    table = source.table,
                    when = c.when,
                )
            })
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// Every bucket, from class figures read from `figures` (a table or a parenthesised
/// query with its columns) and the classes themselves.
pub fn buckets_from_sql(figures: &str) -> String {
    let (category, reason) = (category_sql(), exclusion_sql());
    format!(
        "SELECT f.kind AS kind, f.period AS period, {category} AS category, {AREA_SQL} AS area, \
         {reason} AS reason, SUM(f.n) AS n, SUM(f.answers) AS answers, SUM(f.answer_sum) AS answer_sum \
         FROM {figures} f JOIN classes cl ON cl.id = f.class_id JOIN courses co ON co.id = cl.course_id \
         GROUP BY 1, 2, 3, 4, 5 \
         UNION ALL \
         SELECT {class}, {month}, {category}, {AREA_SQL}, {reason}, COUNT(*), 0, 0 \
         FROM classes cl JOIN courses co ON co.id = cl.course_id GROUP BY 1, 2, 3, 4, 5",
        month = month_of("cl.end_date"),
        class = literal(kind::CLASS),
    )
}

/// Empties both tables and fills them from the raw rows.
pub async fn rebuild(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    db.execute_unprepared("DELETE FROM kpi_buckets").await?;
    db.execute_unprepared("DELETE FROM kpi_class_figures")
        .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO kpi_class_figures ({FIGURE_COLUMNS}) {}",
        figures_from_rows_sql()
    ))
    .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO kpi_buckets ({BUCKET_COLUMNS}) {}",
        buckets_from_sql("kpi_class_figures")
    ))
    .await?;
    Ok(())
}

/// The triggers for `backend`, as the statements that create them.
pub fn rendered(backend: DbBackend) -> Vec<String> {
    triggers().iter().flat_map(|t| create(backend, t)).collect()
}

/// Installs the current triggers and rebuilds the aggregates, unless they were built with
/// exactly these triggers already. Returns whether it rebuilt.
pub async fn install(db: &DatabaseConnection) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let statements = rendered(backend);
    let fingerprint = statements.join(";\n");
    let tx = db.begin().await?;
    // A write first: a second instance starting at the same moment waits here, then finds
    // the work done.
    tx.execute_unprepared("UPDATE kpi_aggregate_state SET installed = installed WHERE id = 1")
        .await?;
    let installed: String = tx
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT installed FROM kpi_aggregate_state WHERE id = 1",
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("kpi_aggregate_state".into()))?
        .try_get("", "installed")?;
    if installed == fingerprint {
        tx.commit().await?;
        return Ok(false);
    }
    for t in triggers() {
        for sql in drop(backend, &t) {
            tx.execute_unprepared(&sql).await?;
        }
    }
    for sql in &statements {
        tx.execute_unprepared(sql).await?;
    }
    rebuild(&tx).await?;
    tx.execute_raw(Statement::from_sql_and_values(
        backend,
        match backend {
            DbBackend::Postgres => "UPDATE kpi_aggregate_state SET installed = $1 WHERE id = 1",
            _ => "UPDATE kpi_aggregate_state SET installed = ? WHERE id = 1",
        },
        [fingerprint.into()],
    ))
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Drops the triggers (the migration's `down`).
pub async fn uninstall(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    for t in triggers() {
        for sql in drop(backend, &t) {
            db.execute_unprepared(&sql).await?;
        }
    }
    Ok(())
}
