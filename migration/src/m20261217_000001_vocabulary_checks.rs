use sea_orm_migration::SchemaManagerConnection;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// Issue 14 item 1: every column that holds a closed vocabulary refuses any other value,
/// on both databases, so bad data fails loudly where it is written instead of being read
/// back as some default. PostgreSQL gets a CHECK constraint; SQLite cannot add one to an
/// existing table, so it gets the same test as BEFORE INSERT / UPDATE triggers. Rows
/// already holding another value stop the migration, naming the column.
///
/// The lists are this migration's snapshot of the vocabularies (`domain/` is the source):
/// a value added later comes with a migration that widens its list.
pub const VOCABULARIES: &[(&str, &str, &[&str])] = &[
    ("classes", "modality", &["in_person", "virtual", "recorded"]),
    (
        "classes",
        "status",
        &["scheduled", "delivered", "confirmed", "cancelled"],
    ),
    ("courses", "content", &["official", "unofficial"]),
    (
        "courses",
        "solution_area",
        &[
            "data_ai",
            "infrastructure",
            "digital_app_innovation",
            "business_applications",
            "modern_work",
            "security",
        ],
    ),
    ("exam_vouchers", "level", &["fundamentals", "advanced"]),
    (
        "outbox_messages",
        "kind",
        &[
            "achievement_code",
            "delivery_confirmation",
            "password_reset",
            "recording_consent",
            "survey_invitation",
            "survey_reminder",
            "takedown_overdue",
        ],
    ),
    ("outbox_messages", "status", &["queued", "sent", "failed"]),
    (
        "recording_consents",
        "status",
        &["requested", "granted", "declined", "revoked"],
    ),
    (
        "recording_consents",
        "method",
        &["email_link", "in_app", "paper"],
    ),
    ("recordings", "status", &["draft", "published", "withdrawn"]),
    ("survey_responses", "source", &["web", "import"]),
    (
        "takedowns",
        "reason",
        &["outdated", "misaligned", "not_representative", "other"],
    ),
    ("takedowns", "status", &["open", "completed", "disputed"]),
    (
        "users",
        "role",
        &["admin", "coordinator", "trainer", "viewer"],
    ),
];

fn list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Installs the guard of `table.column`: only `values` may be written there. Rows already
/// holding another value stop the migration, naming the column.
pub async fn install_guard(
    db: &SchemaManagerConnection<'_>,
    table: &str,
    column: &str,
    values: &[&str],
) -> Result<(), DbErr> {
    let allowed = list(values);
    let bad = db
        .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT COUNT(*) AS n FROM {table} WHERE {column} IS NOT NULL AND {column} NOT IN ({allowed})"
            ),
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    if bad > 0 {
        return Err(DbErr::Migration(format!(
            "{bad} rows of {table}.{column} hold a value outside {allowed}: correct them first"
        )));
    }
    let message = format!("{table}.{column} must be one of {}", values.join(", "));
    match db.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} ADD CONSTRAINT {table}_{column}_vocabulary \
                 CHECK ({column} IN ({allowed}))"
            ))
            .await?;
        }
        _ => {
            for (event, on) in [
                ("insert", "INSERT".to_string()),
                ("update", format!("UPDATE OF {column}")),
            ] {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_{column}_vocabulary_{event} BEFORE {on} ON {table} \
                     WHEN NEW.{column} IS NOT NULL AND NEW.{column} NOT IN ({allowed}) \
                     BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {message}'); END"
                ))
                .await?;
            }
        }
    }
    Ok(())
}

/// Removes the guard of `table.column` (to widen its list: remove, then install anew).
pub async fn drop_guard(
    db: &SchemaManagerConnection<'_>,
    table: &str,
    column: &str,
) -> Result<(), DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_{column}_vocabulary"
            ))
            .await?;
        }
        _ => {
            for event in ["insert", "update"] {
                db.execute_unprepared(&format!(
                    "DROP TRIGGER IF EXISTS {table}_{column}_vocabulary_{event}"
                ))
                .await?;
            }
        }
    }
    Ok(())
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, column, values) in VOCABULARIES {
            install_guard(db, table, column, values).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, column, _) in VOCABULARIES {
            drop_guard(db, table, column).await?;
        }
        Ok(())
    }
}
