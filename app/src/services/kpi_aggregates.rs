//! `tsp-ledger kpi verify` and `kpi rebuild`: the KPI aggregates (kept by the triggers of
//! `migration::kpi_aggregates`) held to the raw rows they summarise.
use std::collections::BTreeMap;
use std::fmt;

use migration::kpi_aggregates::{buckets_from_sql, figures_from_rows_sql};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, IsolationLevel, TransactionTrait, Value,
};

use super::ServiceError;
use super::kpi::rows;

/// A row's key: the class (0 in `kpi_buckets`) and its text columns.
type Key = (i64, Vec<String>);
/// `n`, `answers`, `answer_sum`.
type Figures = [i64; 3];

/// One aggregate row that is not what the raw rows add up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub table: &'static str,
    pub key: String,
    pub stored: Option<Figures>,
    pub from_rows: Option<Figures>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: Option<Figures>| match v {
            Some([n, answers, sum]) => format!("n={n} answers={answers} answer_sum={sum}"),
            None => "no row".to_string(),
        };
        write!(
            f,
            "{} {}: stored {}, the raw rows give {}",
            self.table,
            self.key,
            show(self.stored),
            show(self.from_rows)
        )
    }
}

struct Table {
    name: &'static str,
    /// Key columns; a leading `class_id` is read as the number.
    keys: &'static [&'static str],
}

const FIGURES: Table = Table {
    name: "kpi_class_figures",
    keys: &["class_id", "kind", "period"],
};
const BUCKETS: Table = Table {
    name: "kpi_buckets",
    keys: &["kind", "period", "category", "area", "reason"],
};

/// Rows of `source` (a table or a parenthesised query) by key, zero rows left out: a
/// figure that was added and taken away again leaves a zero row behind.
async fn load(
    db: &impl ConnectionTrait,
    table: &Table,
    source: &str,
) -> Result<BTreeMap<Key, Figures>, ServiceError> {
    let keys = table.keys.join(", ");
    let groups: Vec<String> = (1..=table.keys.len()).map(|i| i.to_string()).collect();
    let sql = format!(
        "SELECT {keys}, CAST(SUM(n) AS BIGINT) AS n, CAST(SUM(answers) AS BIGINT) AS answers, \
         CAST(SUM(answer_sum) AS BIGINT) AS answer_sum FROM {source} x GROUP BY {}",
        groups.join(", ")
    );
    let mut found = BTreeMap::new();
    for row in rows(db, &sql, Vec::<Value>::new()).await? {
        let figures = [
            row.try_get("", "n")?,
            row.try_get("", "answers")?,
            row.try_get("", "answer_sum")?,
        ];
        if figures == [0, 0, 0] {
            continue;
        }
        let mut class = 0;
        let mut text = Vec::new();
        for key in table.keys {
            if *key == "class_id" {
                class = row.try_get("", key)?;
            } else {
                text.push(row.try_get("", key)?);
            }
        }
        found.insert((class, text), figures);
    }
    Ok(found)
}

fn differences(
    table: &Table,
    stored: &BTreeMap<Key, Figures>,
    from_rows: &BTreeMap<Key, Figures>,
) -> Vec<Difference> {
    let mut keys: Vec<&Key> = stored.keys().chain(from_rows.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| stored.get(k) != from_rows.get(k))
        .map(|k| Difference {
            table: table.name,
            key: match k.0 {
                0 => k.1.join(" "),
                class => format!("class {class} {}", k.1.join(" ")),
            },
            stored: stored.get(k).copied(),
            from_rows: from_rows.get(k).copied(),
        })
        .collect()
}

/// Every difference between the stored aggregates and the raw rows, class figures first,
/// each table in key order; empty when they agree. Read in one snapshot.
pub async fn verify(db: &DatabaseConnection) -> Result<Vec<Difference>, ServiceError> {
    // SQLite's transaction is a snapshot already (and takes neither setting).
    let postgres = crate::db::is_postgres(db);
    let tx = db
        .begin_with_config(
            postgres.then_some(IsolationLevel::RepeatableRead),
            postgres.then_some(AccessMode::ReadOnly),
        )
        .await?;
    let figures_from_rows = format!("({})", figures_from_rows_sql());
    let buckets_from_rows = format!("({})", buckets_from_sql(&figures_from_rows));
    let mut found = differences(
        &FIGURES,
        &load(&tx, &FIGURES, FIGURES.name).await?,
        &load(&tx, &FIGURES, &figures_from_rows).await?,
    );
    found.extend(differences(
        &BUCKETS,
        &load(&tx, &BUCKETS, BUCKETS.name).await?,
        &load(&tx, &BUCKETS, &buckets_from_rows).await?,
    ));
    tx.commit().await?;
    Ok(found)
}

/// Recomputes both tables from the raw rows, in one write transaction.
pub async fn rebuild(db: &DatabaseConnection) -> Result<(), ServiceError> {
    let tx = crate::db::begin_write(db).await?;
    migration::kpi_aggregates::rebuild(&tx).await?;
    tx.commit().await?;
    Ok(())
}
