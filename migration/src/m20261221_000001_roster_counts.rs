//! Issue 16 items 3-4: the class list shows each class's roster size (and attended) and
//! sorts by it, a page at a time however many classes there are. Counting a million
//! classes' enrollments to sort them costs the whole table per page, so each class's
//! counts are kept in `roster_counts`, one row per class, by triggers on `enrollments`
//! (every insert, update and delete, whoever writes) and on `classes` (a new class has
//! its row of zeros, a deleted one loses it). `(learners, class_id)` is indexed, so the
//! list sorted by learners reads a page straight off the index.
//!
//! The list's page cache now depends on rosters too: `enrollments` gets its row in
//! `table_versions` and the same bump trigger as classes, courses and MCTs (m20261219).
//! The list sorted by MCT walks MCTs by name: `(name, id)` is indexed.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// 1 for a learner ticked as attending (over a row alias).
fn ticked(row: &str) -> String {
    format!("CASE WHEN {row}.attended THEN 1 ELSE 0 END")
}

/// PostgreSQL's statement triggers: adds the net change of `parts` — `(rows, sign)`: a
/// transition table of `enrollments` and whether its learners are added (`""`) or taken
/// away (`"-"`) — to their classes' counts, in one statement; a class whose change nets
/// to zero (a renamed learner) is not written, and a class missing its row gets one.
fn add_counts(parts: &[(&str, &str)]) -> String {
    let parts: Vec<String> = parts
        .iter()
        .map(|(rows, sign)| {
            format!(
                "SELECT r.class_id AS class_id, {sign}1 AS n, {sign}({}) AS a FROM {rows} r",
                ticked("r")
            )
        })
        .collect();
    format!(
        "INSERT INTO roster_counts (class_id, learners, attended) \
         SELECT class_id, SUM(n), SUM(a) FROM ({}) d WHERE 1 = 1 GROUP BY class_id \
         HAVING SUM(n) <> 0 OR SUM(a) <> 0 \
         ON CONFLICT (class_id) DO UPDATE SET learners = roster_counts.learners + excluded.learners, \
         attended = roster_counts.attended + excluded.attended",
        parts.join(" UNION ALL ")
    )
}

const CREATE: &[&str] = &[
    "CREATE TABLE roster_counts (
        class_id BIGINT PRIMARY KEY,
        learners BIGINT NOT NULL,
        attended BIGINT NOT NULL)",
    "CREATE INDEX idx_roster_counts_learners ON roster_counts (learners, class_id)",
    "CREATE INDEX idx_trainers_name ON trainers (name, id)",
    "INSERT INTO table_versions (name, version) VALUES ('enrollments', 0)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in CREATE {
            db.execute_unprepared(sql).await?;
        }
        db.execute_unprepared(&format!(
            "INSERT INTO roster_counts (class_id, learners, attended) \
             SELECT c.id, COUNT(e.id), COALESCE(SUM({}), 0) \
             FROM classes c LEFT JOIN enrollments e ON e.class_id = c.id GROUP BY c.id",
            ticked("e")
        ))
        .await?;
        match db.get_database_backend() {
            // Statement triggers over the transition tables: a 128-row insert moves each
            // class's counts once (and the version once), not 128 times.
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE TRIGGER enrollments_version AFTER INSERT OR UPDATE OR DELETE ON enrollments
                     FOR EACH STATEMENT EXECUTE FUNCTION bump_table_version()",
                )
                .await?;
                // PostgreSQL allows transition tables on single-event triggers only.
                let triggers = [
                    (
                        "roster_counts_insert",
                        "INSERT",
                        "NEW TABLE AS new_rows",
                        add_counts(&[("new_rows", "")]),
                    ),
                    (
                        "roster_counts_delete",
                        "DELETE",
                        "OLD TABLE AS old_rows",
                        add_counts(&[("old_rows", "-")]),
                    ),
                    (
                        "roster_counts_update",
                        "UPDATE",
                        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                        add_counts(&[("old_rows", "-"), ("new_rows", "")]),
                    ),
                ];
                for (name, event, referencing, body) in triggers {
                    db.execute_unprepared(&format!(
                        "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $rc$
                         BEGIN {body}; RETURN NULL; END $rc$"
                    ))
                    .await?;
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {name} AFTER {event} ON enrollments REFERENCING {referencing}
                         FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
                    ))
                    .await?;
                }
                db.execute_unprepared(
                    "CREATE FUNCTION roster_counts_new_class() RETURNS trigger LANGUAGE plpgsql AS $rc$
                     BEGIN
                       INSERT INTO roster_counts (class_id, learners, attended)
                       SELECT id, 0, 0 FROM new_rows ON CONFLICT (class_id) DO NOTHING;
                       RETURN NULL;
                     END $rc$",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER roster_counts_new_class AFTER INSERT ON classes
                     REFERENCING NEW TABLE AS new_rows
                     FOR EACH STATEMENT EXECUTE FUNCTION roster_counts_new_class()",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE FUNCTION roster_counts_gone_class() RETURNS trigger LANGUAGE plpgsql AS $rc$
                     BEGIN
                       DELETE FROM roster_counts WHERE class_id IN (SELECT id FROM old_rows);
                       RETURN NULL;
                     END $rc$",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER roster_counts_gone_class AFTER DELETE ON classes
                     REFERENCING OLD TABLE AS old_rows
                     FOR EACH STATEMENT EXECUTE FUNCTION roster_counts_gone_class()",
                )
                .await?;
            }
            // SQLite has row triggers only; each updates one row in place.
            _ => {
                for event in ["INSERT", "UPDATE", "DELETE"] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER enrollments_version_{} AFTER {event} ON enrollments
                         BEGIN
                           UPDATE table_versions SET version = version + 1 WHERE name = 'enrollments';
                         END",
                        event.to_lowercase()
                    ))
                    .await?;
                }
                // A plain update of the class's row (the class's own trigger below made
                // it): a million-row roster import pays a few percent for it, where an
                // upsert per row cost a third more.
                let add = |row: &str, sign: &str| {
                    format!(
                        "UPDATE roster_counts SET learners = learners {sign} 1, \
                         attended = attended {sign} ({}) WHERE class_id = {row}.class_id",
                        ticked(row)
                    )
                };
                let triggers = [
                    ("roster_counts_insert", "INSERT", "", add("NEW", "+")),
                    ("roster_counts_delete", "DELETE", "", add("OLD", "-")),
                    (
                        "roster_counts_update",
                        "UPDATE OF class_id, attended",
                        "WHEN OLD.class_id IS NOT NEW.class_id OR OLD.attended IS NOT NEW.attended",
                        format!("{}; {}", add("OLD", "-"), add("NEW", "+")),
                    ),
                ];
                for (name, event, when, body) in triggers {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {name} AFTER {event} ON enrollments {when} BEGIN {body}; END"
                    ))
                    .await?;
                }
                db.execute_unprepared(
                    "CREATE TRIGGER roster_counts_new_class AFTER INSERT ON classes
                     BEGIN
                       INSERT INTO roster_counts (class_id, learners, attended) VALUES (NEW.id, 0, 0)
                       ON CONFLICT (class_id) DO NOTHING;
                     END",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER roster_counts_gone_class AFTER DELETE ON classes
                     BEGIN
                       DELETE FROM roster_counts WHERE class_id = OLD.id;
                     END",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let triggers = [
            ("roster_counts_insert", "enrollments"),
            ("roster_counts_delete", "enrollments"),
            ("roster_counts_update", "enrollments"),
            ("roster_counts_new_class", "classes"),
            ("roster_counts_gone_class", "classes"),
        ];
        match db.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared("DROP TRIGGER enrollments_version ON enrollments")
                    .await?;
                for (name, table) in triggers {
                    db.execute_unprepared(&format!("DROP TRIGGER {name} ON {table}"))
                        .await?;
                    db.execute_unprepared(&format!("DROP FUNCTION {name}()"))
                        .await?;
                }
            }
            _ => {
                for event in ["insert", "update", "delete"] {
                    db.execute_unprepared(&format!("DROP TRIGGER enrollments_version_{event}"))
                        .await?;
                }
                for (name, _) in triggers {
                    db.execute_unprepared(&format!("DROP TRIGGER {name}"))
                        .await?;
                }
            }
        }
        for sql in [
            "DELETE FROM table_versions WHERE name = 'enrollments'",
            "DROP INDEX idx_trainers_name",
            "DROP TABLE roster_counts",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
