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
const FIGURE_KEYS: &str = "class_id, kind, period";
const BUCKET_COLUMNS: &str = "kind, period, category, area, reason, n, answers, answer_sum";
const BUCKET_KEYS: &str = "kind, period, category, area, reason";

/// The changed rows a trigger reads: on SQLite one row's `NEW` or `OLD` (a row trigger),
/// on PostgreSQL the statement's transition table (a statement trigger: a multi-row
/// insert of 128 codes moves each bucket once, not 128 times — and a million-row import
/// in one transaction does not leave a million dead versions of one hot bucket row
/// behind, which made every later update of it slower).
#[derive(Clone, Copy)]
enum Changed {
    Row(&'static str),
    Table(&'static str),
}

impl Changed {
    /// The changed rows as the alias `alias`, with the columns `columns` (comma-separated).
    fn rows(self, columns: &str, alias: &str) -> String {
        match self {
            Changed::Table(table) => format!("{table} {alias}"),
            Changed::Row(row) => {
                let picked: Vec<String> = columns
                    .split(',')
                    .map(|c| format!("{row}.{c} AS {c}", c = c.trim()))
                    .collect();
                format!("(SELECT {}) {alias}", picked.join(", "))
            }
        }
    }
}

/// `INSERT … SELECT` of the net change of `parts` (selects of signed rows with the target's
/// columns, joined by UNION ALL), one row per key, a key whose change nets to zero left
/// alone, added to the existing rows.
fn add_net(table: &str, columns: &str, keys: &str, parts: &[String]) -> String {
    format!(
        "INSERT INTO {table} ({columns}) SELECT {keys}, SUM(n), SUM(answers), SUM(answer_sum) \
         FROM ({parts}) d WHERE 1 = 1 GROUP BY {keys} \
         HAVING SUM(n) <> 0 OR SUM(answers) <> 0 OR SUM(answer_sum) <> 0 \
         ON CONFLICT ({keys}) DO UPDATE SET n = {table}.n + excluded.n, \
         answers = {table}.answers + excluded.answers, \
         answer_sum = {table}.answer_sum + excluded.answer_sum",
        parts = parts.join(" UNION ALL ")
    )
}

/// The bucket columns of class `cl` of course `co`, for a select whose kind, period and
/// figures are `values` (already signed).
fn bucket_select(values: [&str; 5], from: &str) -> String {
    let [kind, period, n, answers, answer_sum] = values;
    let (category, reason) = (category_sql(), exclusion_sql());
    format!(
        "SELECT {kind} AS kind, {period} AS period, {category} AS category, {AREA_SQL} AS area, \
         {reason} AS reason, {n} AS n, {answers} AS answers, {answer_sum} AS answer_sum {from}"
    )
}

/// What the changed rows of `source` add (`sign` "") or take away (`sign` "-"): the
/// figures parts and the bucket parts.
fn source_parts(source: &Source, changed: Changed, sign: &str) -> (Vec<String>, Vec<String>) {
    let (mut figures, mut buckets) = (Vec::new(), Vec::new());
    for c in (source.contributions)("r") {
        let kind = format!("'{}'", c.kind);
        let (n, answers, sum) = (
            format!("{sign}1"),
            format!("{sign}{}", c.answers),
            format!("{sign}{}", c.answer_sum),
        );
        let rows = format!(
            "FROM {} JOIN enrollments e ON e.id = r.enrollment_id",
            changed.rows(source.columns, "r")
        );
        figures.push(format!(
            "SELECT e.class_id AS class_id, {kind} AS kind, {period} AS period, {n} AS n, \
             {answers} AS answers, {sum} AS answer_sum {rows} WHERE {when}",
            period = c.period,
            when = c.when,
        ));
        buckets.push(bucket_select(
            [&kind, &c.period, &n, &answers, &sum],
            &format!(
                "{rows} JOIN classes cl ON cl.id = e.class_id \
                 JOIN courses co ON co.id = cl.course_id WHERE {}",
                c.when
            ),
        ));
    }
    (figures, buckets)
}

const CLASS_COLUMNS: &str = "id, status, modality, course_id, end_date";
const COURSE_COLUMNS: &str = "id, fundamentals, duration_days, content, solution_area";

/// The bucket parts of classes `from` (alias `cl`, joined to their course `co`): each
/// class counted by end month, and its figures.
fn class_parts(from: &str, sign: &str) -> Vec<String> {
    vec![
        bucket_select(
            [
                &literal(kind::CLASS),
                &month_of("cl.end_date"),
                &format!("{sign}1"),
                "0",
                "0",
            ],
            &format!("{from} WHERE 1 = 1"),
        ),
        bucket_select(
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

/// The changed classes, with their course.
fn changed_classes(changed: Changed) -> String {
    format!(
        "FROM {} JOIN courses co ON co.id = cl.course_id",
        changed.rows(CLASS_COLUMNS, "cl")
    )
}

/// Every class of the changed courses.
fn classes_of_changed_courses(changed: Changed) -> String {
    format!(
        "FROM {} JOIN classes cl ON cl.course_id = co.id",
        changed.rows(COURSE_COLUMNS, "co")
    )
}

struct Trigger {
    name: String,
    table: &'static str,
    /// `INSERT`, `DELETE` or `UPDATE`.
    event: &'static str,
    /// The columns whose update can move a figure (SQLite's `UPDATE OF`; PostgreSQL takes
    /// no column list on a trigger with transition tables, and nets an irrelevant update
    /// to nothing instead).
    columns: &'static str,
}

/// The triggers, each with the rows it sees as (`OLD`, `NEW`): a `None` side is absent
/// for that event.
fn triggers() -> Vec<Trigger> {
    let mut all = Vec::new();
    let tables = SOURCES
        .iter()
        .map(|s| (s.stem.to_string(), s.table, s.columns))
        .chain([
            ("kpi_class".to_string(), "classes", CLASS_COLUMNS),
            ("kpi_course".to_string(), "courses", COURSE_COLUMNS),
        ]);
    for (stem, table, columns) in tables {
        for event in ["INSERT", "DELETE", "UPDATE"] {
            // A course is counted through its classes: only its update moves a figure.
            if table == "courses" && event != "UPDATE" {
                continue;
            }
            all.push(Trigger {
                name: format!("{stem}_{}", event.to_lowercase()),
                table,
                event,
                columns,
            });
        }
    }
    all
}

/// The statements of trigger `t`'s body, reading its rows as `old` and `new`.
fn body(t: &Trigger, old: Changed, new: Changed) -> Vec<String> {
    let sides: Vec<(Changed, &str)> = match t.event {
        "INSERT" => vec![(new, "")],
        "DELETE" => vec![(old, "-")],
        _ => vec![(old, "-"), (new, "")],
    };
    if let Some(source) = SOURCES.iter().find(|s| s.table == t.table) {
        let (mut figures, mut buckets) = (Vec::new(), Vec::new());
        for (changed, sign) in sides {
            let (f, b) = source_parts(source, changed, sign);
            figures.extend(f);
            buckets.extend(b);
        }
        return vec![
            add_net("kpi_class_figures", FIGURE_COLUMNS, FIGURE_KEYS, &figures),
            add_net("kpi_buckets", BUCKET_COLUMNS, BUCKET_KEYS, &buckets),
        ];
    }
    let parts: Vec<String> = sides
        .into_iter()
        .flat_map(|(changed, sign)| {
            let from = match t.table {
                "classes" => changed_classes(changed),
                _ => classes_of_changed_courses(changed),
            };
            class_parts(&from, sign)
        })
        .collect();
    vec![add_net("kpi_buckets", BUCKET_COLUMNS, BUCKET_KEYS, &parts)]
}

fn create(backend: DbBackend, t: &Trigger) -> Vec<String> {
    match backend {
        DbBackend::Postgres => {
            let body = body(t, Changed::Table("old_rows"), Changed::Table("new_rows"));
            let referencing = match t.event {
                "INSERT" => "NEW TABLE AS new_rows",
                "DELETE" => "OLD TABLE AS old_rows",
                _ => "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            };
            vec![
                format!(
                    "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $kpi$ \
                     BEGIN {body}; RETURN NULL; END $kpi$",
                    name = t.name,
                    body = body.join("; ")
                ),
                format!(
                    "CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing} \
                     FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
                    name = t.name,
                    event = t.event,
                    table = t.table
                ),
            ]
        }
        _ => {
            let event = match t.event {
                "UPDATE" => format!("UPDATE OF {}", t.columns),
                other => other.to_string(),
            };
            vec![format!(
                "CREATE TRIGGER {} AFTER {event} ON {} FOR EACH ROW BEGIN {}; END",
                t.name,
                t.table,
                body(t, Changed::Row("OLD"), Changed::Row("NEW")).join("; ")
            )]
        }
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
