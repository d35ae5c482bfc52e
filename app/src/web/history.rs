//! The history on a record's page (a class, a recording): its ledger entries and those of
//! what belongs to it, newest first, as rows a person reads. `templates/partials/history.html`
//! shows them.
use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::ledger;
use crate::web::error::AppError;

/// Who acted in each of `actors` (the ledger's `user:2`, `learner:7`, `cli`, `system`), as
/// a person reads it: an account by its name and e-mail (one query for them all), a
/// learner by enrollment only (the ledger never names learners), the command line, the
/// app itself. An actor not understood is shown as stored.
pub async fn actor_names<'a>(
    db: &impl ConnectionTrait,
    actors: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, String>, AppError> {
    let actors: Vec<&str> = actors.into_iter().collect();
    let user_ids: Vec<i64> = actors
        .iter()
        .filter_map(|a| a.strip_prefix("user:")?.parse().ok())
        .collect();
    let users: HashMap<i64, entity::users::Model> = if user_ids.is_empty() {
        HashMap::new()
    } else {
        entity::users::Entity::find()
            .filter(entity::users::Column::Id.is_in(user_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect()
    };
    Ok(actors
        .into_iter()
        .map(|raw| {
            let shown = match raw.split_once(':') {
                Some(("user", id)) => id
                    .parse::<i64>()
                    .ok()
                    .and_then(|id| users.get(&id))
                    .map_or_else(|| raw.to_string(), |u| format!("{} ({})", u.name, u.email)),
                Some(("learner", id)) => format!("a learner (enrollment {id})"),
                _ if raw == "cli" => "the command line (local operator)".to_string(),
                _ if raw == "system" => "the app itself".to_string(),
                _ => raw.to_string(),
            };
            (raw.to_string(), shown)
        })
        .collect())
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

/// A ledger entry's `{"field": {"before": …, "after": …}}` as lines a person reads:
/// `status: delivered → confirmed`, `learner_name changed`, `class_ref: C-1` (new).
pub fn describe_changes(changes: &str) -> Vec<String> {
    use serde_json::Value;
    let shown = |v: &Value| match v {
        Value::Null => "—".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(changes) else {
        return vec![changes.to_string()];
    };
    fields
        .iter()
        .map(
            |(field, change)| match (change.get("before"), change.get("after")) {
                (Some(Value::Null), Some(after)) => format!("{field}: {}", shown(after)),
                (Some(before), Some(after)) => {
                    format!("{field}: {} → {}", shown(before), shown(after))
                }
                _ if change.get("changed").is_some() => format!("{field} changed"),
                _ => format!("{field}: {}", shown(change)),
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::describe_changes;

    #[test]
    fn ledger_changes_read_as_before_and_after() {
        let lines = describe_changes(
            r#"{"status":{"before":"delivered","after":"confirmed"},"location":{"before":null,"after":"Room 4"},"learner_name":{"changed":true},"end_date":{"before":"2026-01-02","after":null}}"#,
        );
        assert_eq!(
            lines,
            // serde_json keeps object keys sorted.
            [
                "end_date: 2026-01-02 → —",
                "learner_name changed",
                "location: Room 4",
                "status: delivered → confirmed",
            ]
        );
        assert_eq!(describe_changes("not json"), ["not json"]);
    }
}
