//! Issue 15 item 4: the KPI's monthly aggregates. `kpi_class_figures` holds, per class,
//! kind and period, what its codes and responses add up to; `kpi_buckets` the same summed
//! per KPI dimension (category, area, exclusion reason), plus classes by end month. Their
//! triggers are installed (and the tables filled) by `crate::kpi_aggregates::install`,
//! rendered from the current KPI rule, so this step only creates the tables.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    "CREATE TABLE kpi_class_figures (
        class_id BIGINT NOT NULL,
        kind TEXT NOT NULL,
        period TEXT NOT NULL,
        n BIGINT NOT NULL,
        answers BIGINT NOT NULL,
        answer_sum BIGINT NOT NULL,
        PRIMARY KEY (class_id, kind, period))",
    "CREATE TABLE kpi_buckets (
        kind TEXT NOT NULL,
        period TEXT NOT NULL,
        category TEXT NOT NULL,
        area TEXT NOT NULL,
        reason TEXT NOT NULL,
        n BIGINT NOT NULL,
        answers BIGINT NOT NULL,
        answer_sum BIGINT NOT NULL,
        PRIMARY KEY (kind, period, category, area, reason))",
    // The rendered triggers the aggregates were last built with ('' = never built).
    "CREATE TABLE kpi_aggregate_state (id INTEGER PRIMARY KEY, installed TEXT NOT NULL)",
    "INSERT INTO kpi_aggregate_state (id, installed) VALUES (1, '')",
    // The dashboard's "delivered, not confirmed" count reads only those classes.
    "CREATE INDEX idx_classes_status_end ON classes (status, end_date)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in TABLES {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        crate::kpi_aggregates::uninstall(db).await?;
        for sql in [
            "DROP INDEX idx_classes_status_end",
            "DROP TABLE kpi_aggregate_state",
            "DROP TABLE kpi_buckets",
            "DROP TABLE kpi_class_figures",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
