//! The history on a record's page (a class, a recording): its ledger entries and those of
//! what belongs to it, newest first, as rows a person reads. `templates/partials/history.html`
//! shows them.
use std::collections::HashMap;

use sea_orm::ConnectionTrait;

use crate::ledger;
use crate::web::error::AppError;

pub use crate::ledger::describe_changes;

/// Who acted in each of `actors`, by name: see [`ledger::actor_names`].
pub async fn actor_names<'a>(
    db: &impl ConnectionTrait,
    actors: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, String>, AppError> {
    Ok(ledger::actor_names(db, actors).await?)
}

/// How many entries a record's page shows.
const LIMIT: u64 = 100;

pub struct HistoryLine {
    pub at: String,
    pub actor: String,
    pub what: String,
    pub changes: Vec<String>,
    pub reason: String,
}

/// The newest entries about `entity_type` `id`. An entry about a record that belongs to it
/// (an enrollment, a consent) names that record: `enrollment 7 created`.
pub async fn of(
    db: &impl ConnectionTrait,
    entity_type: &str,
    id: i64,
) -> Result<Vec<HistoryLine>, AppError> {
    let entries = ledger::history(db, entity_type, id, LIMIT).await?;
    let texts = ledger::texts_of(db, &entries).await?;
    let names = actor_names(db, entries.iter().map(|e| e.actor.as_str())).await?;
    Ok(entries
        .into_iter()
        .map(|e| HistoryLine {
            at: e.at.format("%Y-%m-%d %H:%M UTC").to_string(),
            actor: names.get(&e.actor).cloned().unwrap_or(e.actor),
            what: if e.entity_type == entity_type {
                e.action
            } else {
                format!("{} {} {}", e.entity_type, e.entity_id, e.action)
            },
            changes: describe_changes(&e.changes),
            reason: ledger::all_texts_of(&texts, e.id),
        })
        .collect())
}
