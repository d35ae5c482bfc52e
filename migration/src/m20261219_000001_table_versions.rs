//! Issue 15 item 1: a version per table the class list shows (classes, courses, MCTs),
//! bumped by a trigger on every insert, update and delete, whoever writes (any instance,
//! the CLI, plain SQL). The list and its pickers are cached under these versions, so a
//! survey wave or a ledger write elsewhere leaves them warm, and any change to what they
//! show is seen on the next request.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables whose writes are counted.
const TABLES: [&str; 3] = ["classes", "courses", "trainers"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE TABLE table_versions (name TEXT PRIMARY KEY, version BIGINT NOT NULL)",
        )
        .await?;
        for table in TABLES {
            db.execute_unprepared(&format!(
                "INSERT INTO table_versions (name, version) VALUES ('{table}', 0)"
            ))
            .await?;
        }
        match db.get_database_backend() {
            // One bump per statement: a per-row update of one hot row in a long
            // transaction (an import) leaves a row version behind per update.
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION bump_table_version() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN
                       UPDATE table_versions SET version = version + 1 WHERE name = TG_TABLE_NAME;
                       RETURN NULL;
                     END $$",
                )
                .await?;
                for table in TABLES {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE ON {table}
                         FOR EACH STATEMENT EXECUTE FUNCTION bump_table_version()"
                    ))
                    .await?;
                }
            }
            // SQLite has row triggers only; it updates the one row in place.
            _ => {
                for table in TABLES {
                    for event in ["INSERT", "UPDATE", "DELETE"] {
                        db.execute_unprepared(&format!(
                            "CREATE TRIGGER {table}_version_{} AFTER {event} ON {table}
                             BEGIN
                               UPDATE table_versions SET version = version + 1 WHERE name = '{table}';
                             END",
                            event.to_lowercase()
                        ))
                        .await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match db.get_database_backend() {
            DbBackend::Postgres => {
                for table in TABLES {
                    db.execute_unprepared(&format!("DROP TRIGGER {table}_version ON {table}"))
                        .await?;
                }
                db.execute_unprepared("DROP FUNCTION bump_table_version()")
                    .await?;
            }
            _ => {
                for table in TABLES {
                    for event in ["insert", "update", "delete"] {
                        db.execute_unprepared(&format!("DROP TRIGGER {table}_version_{event}"))
                            .await?;
                    }
                }
            }
        }
        db.execute_unprepared("DROP TABLE table_versions").await?;
        Ok(())
    }
}
