//! How many times each table the class list shows (classes, courses, MCTs, and the
//! rosters its learner counts come from) has been written: a trigger bumps its row of
//! `table_versions` on every insert, update and delete, whoever writes (any instance, the
//! CLI, plain SQL). What is cached from those tables is
//! kept under the versions it was read at; one single-row read tells whether it still
//! holds, however large the tables, and writes elsewhere (surveys, codes, the ledger)
//! leave it warm.
use sea_orm::{ConnectionTrait, Statement};

use super::ServiceError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Versions {
    pub classes: i64,
    pub courses: i64,
    pub trainers: i64,
    /// Roster lines: the list's learner counts follow them.
    pub enrollments: i64,
}

/// The versions now: one statement, one row.
pub async fn read(db: &impl ConnectionTrait) -> Result<Versions, ServiceError> {
    let sql = "SELECT \
        (SELECT version FROM table_versions WHERE name = 'classes') AS classes, \
        (SELECT version FROM table_versions WHERE name = 'courses') AS courses, \
        (SELECT version FROM table_versions WHERE name = 'trainers') AS trainers, \
        (SELECT version FROM table_versions WHERE name = 'enrollments') AS enrollments";
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| ServiceError::Other(anyhow::anyhow!("table_versions returned no row")))?;
    Ok(Versions {
        classes: row.try_get("", "classes")?,
        courses: row.try_get("", "courses")?,
        trainers: row.try_get("", "trainers")?,
        enrollments: row.try_get("", "enrollments")?,
    })
}
