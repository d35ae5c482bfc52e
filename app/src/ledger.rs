//! The append-only audit trail (SPEC §6): every change appends one entry, in the same
//! transaction, chained by `hash = SHA-256(prev_hash ‖ canonical entry)`.
use std::fmt;

use chrono::{DateTime, Utc};
use entity::{ledger_entries, ledger_head};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::clock;

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who made a change, as the ledger names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(i64),
    /// Learners are named by enrollment id, never by name or e-mail.
    Learner(i64),
    /// The local operator running a CLI command.
    Cli,
    /// The app itself (workers, throttling).
    System,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User(id) => write!(f, "user:{id}"),
            Actor::Learner(id) => write!(f, "learner:{id}"),
            Actor::Cli => f.write_str("cli"),
            Actor::System => f.write_str("system"),
        }
    }
}

/// One change to record.
#[derive(Debug, Clone)]
pub struct Entry {
    pub entity_type: &'static str,
    pub entity_id: String,
    pub action: &'static str,
    pub changes: Value,
    pub reason: Option<String>,
    pub parent: Option<String>,
}

impl Entry {
    pub fn new(entity_type: &'static str, entity_id: impl ToString, action: &'static str) -> Entry {
        Entry {
            entity_type,
            entity_id: entity_id.to_string(),
            action,
            changes: Value::Object(Map::new()),
            reason: None,
            parent: None,
        }
    }

    /// Names the record this entry's entity is part of (`class`, 42 → `class:42`).
    pub fn parent(mut self, entity_type: &str, id: impl fmt::Display) -> Entry {
        self.parent = Some(format!("{entity_type}:{id}"));
        self
    }

    pub fn changes(mut self, changes: Value) -> Entry {
        self.changes = changes;
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Entry {
        self.reason = Some(reason.into());
        self
    }
}

/// `{"field": {"before": …, "after": …}}` for every field whose value differs.
/// Fields in `personal` (learner names, e-mails) are recorded only as `"changed": true`.
pub fn diff(before: &Value, after: &Value, personal: &[&str]) -> Value {
    let empty = Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    let keys = before
        .keys()
        .chain(after.keys().filter(|k| !before.contains_key(*k)));
    for key in keys {
        let (old, new) = (before.get(key), after.get(key));
        if old == new {
            continue;
        }
        let value = if personal.contains(&key.as_str()) {
            json!({"changed": true})
        } else {
            json!({"before": old.cloned().unwrap_or(Value::Null), "after": new.cloned().unwrap_or(Value::Null)})
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

/// Appends `entry` inside the caller's transaction. The chain head row is locked first
/// (`FOR UPDATE` on PostgreSQL; SQLite write transactions are already serialized by
/// `BEGIN IMMEDIATE`), so two writers can never both extend the same previous hash.
pub async fn append(
    tx: &impl ConnectionTrait,
    actor: &Actor,
    entry: Entry,
) -> Result<ledger_entries::Model, DbErr> {
    let mut chain = Chain::lock(tx).await?;
    let model = chain.append(tx, actor, entry).await?;
    chain.finish(tx).await?;
    Ok(model)
}

/// The chain head held for a run of appends in one transaction (an import writes a
/// million entries): the head row is read and locked once and written once at the end.
pub struct Chain {
    locked_id: i64,
    last_id: i64,
    last_hash: String,
    /// Entries not yet inserted: written in multi-row inserts.
    pending: Vec<ledger_entries::Model>,
}

/// Entries per multi-row insert (11 columns each: well under every backend's limit on
/// bound parameters).
const CHAIN_BATCH: usize = 256;

impl Chain {
    pub async fn lock(tx: &impl ConnectionTrait) -> Result<Chain, DbErr> {
        let head = ledger_head::Entity::find_by_id(1)
            .lock_exclusive()
            .one(tx)
            .await?
            .ok_or_else(|| DbErr::Custom("ledger head row is missing".into()))?;
        Ok(Chain {
            locked_id: head.last_id,
            last_id: head.last_id,
            last_hash: head.last_hash,
            pending: Vec::new(),
        })
    }

    pub async fn append(
        &mut self,
        tx: &impl ConnectionTrait,
        actor: &Actor,
        entry: Entry,
    ) -> Result<ledger_entries::Model, DbErr> {
        let model = ledger_entries::Model {
            id: self.last_id + 1,
            at: clock::now(),
            actor: actor.to_string(),
            entity_type: entry.entity_type.to_string(),
            entity_id: entry.entity_id,
            action: entry.action.to_string(),
            changes: entry.changes.to_string(),
            reason: entry.reason,
            parent: entry.parent,
            prev_hash: self.last_hash.clone(),
            hash: String::new(),
        };
        let hash = entry_hash(&model);
        let model = ledger_entries::Model { hash, ..model };
        self.last_id = model.id;
        self.last_hash = model.hash.clone();
        self.pending.push(model.clone());
        if self.pending.len() >= CHAIN_BATCH {
            self.flush(tx).await?;
        }
        Ok(model)
    }

    async fn flush(&mut self, tx: &impl ConnectionTrait) -> Result<(), DbErr> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = self
            .pending
            .drain(..)
            .map(ledger_entries::ActiveModel::from);
        ledger_entries::Entity::insert_many(rows)
            .exec_without_returning(tx)
            .await?;
        Ok(())
    }

    /// Moves the head to the last appended entry. Without it the transaction must not
    /// commit: `ledger verify` would report the entries past the head.
    pub async fn finish(mut self, tx: &impl ConnectionTrait) -> Result<(), DbErr> {
        self.flush(tx).await?;
        if self.last_id == self.locked_id {
            return Ok(());
        }
        let updated = ledger_head::Entity::update_many()
            .col_expr(ledger_head::Column::LastId, self.last_id.into())
            .col_expr(ledger_head::Column::LastHash, self.last_hash.into())
            .filter(ledger_head::Column::Id.eq(1))
            .filter(ledger_head::Column::LastId.eq(self.locked_id))
            .exec(tx)
            .await?;
        if updated.rows_affected != 1 {
            return Err(DbErr::Custom("ledger head moved during append".into()));
        }
        Ok(())
    }
}

/// The exact bytes that are hashed: a fixed-order JSON object of every stored field
/// except the hashes themselves.
pub fn canonical(entry: &ledger_entries::Model) -> String {
    let mut fields = json!([
        entry.id,
        format_at(entry.at),
        entry.actor,
        entry.entity_type,
        entry.entity_id,
        entry.action,
        entry.changes,
        entry.reason,
    ]);
    // Entries written before `parent` existed keep their hash.
    if let (Some(parent), Value::Array(fields)) = (&entry.parent, &mut fields) {
        fields.push(json!(parent));
    }
    fields.to_string()
}

pub fn entry_hash(entry: &ledger_entries::Model) -> String {
    let mut hasher = Sha256::new();
    hasher.update(entry.prev_hash.as_bytes());
    hasher.update(canonical(entry).as_bytes());
    hex::encode(hasher.finalize())
}

fn format_at(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub entries: u64,
    /// The first entry that does not verify, and why.
    pub first_broken: Option<(i64, String)>,
}

impl Verification {
    pub fn is_valid(&self) -> bool {
        self.first_broken.is_none()
    }
}

const VERIFY_BATCH: u64 = 2000;

/// Recomputes the whole chain in batches (memory stays flat however long it is).
pub async fn verify(db: &impl ConnectionTrait) -> Result<Verification, DbErr> {
    let mut expected_id = 1i64;
    let mut prev_hash = GENESIS_HASH.to_string();
    let mut checked = 0u64;
    loop {
        let batch = ledger_entries::Entity::find()
            .filter(ledger_entries::Column::Id.gte(expected_id))
            .order_by_asc(ledger_entries::Column::Id)
            .limit(VERIFY_BATCH)
            .all(db)
            .await?;
        let done = (batch.len() as u64) < VERIFY_BATCH;
        for entry in batch {
            let broken = |why: String| Verification {
                entries: checked,
                first_broken: Some((entry.id, why)),
            };
            if entry.id != expected_id {
                return Ok(Verification {
                    entries: checked,
                    first_broken: Some((
                        expected_id,
                        format!("entry {expected_id} is missing (next is {})", entry.id),
                    )),
                });
            }
            if entry.prev_hash != prev_hash {
                return Ok(broken(format!(
                    "entry {} does not follow entry {}: prev_hash differs",
                    entry.id,
                    entry.id - 1
                )));
            }
            if entry_hash(&entry) != entry.hash {
                return Ok(broken(format!(
                    "entry {} was altered: its hash does not match its contents",
                    entry.id
                )));
            }
            prev_hash = entry.hash;
            expected_id += 1;
            checked += 1;
        }
        if done {
            break;
        }
    }
    let head = ledger_head::Entity::find_by_id(1).one(db).await?;
    match head {
        Some(head) if head.last_id == expected_id - 1 && head.last_hash == prev_hash => {
            Ok(Verification {
                entries: checked,
                first_broken: None,
            })
        }
        Some(head) if head.last_id > expected_id - 1 => Ok(Verification {
            entries: checked,
            first_broken: Some((
                expected_id,
                format!(
                    "entry {expected_id} is missing (the chain head says {} entries)",
                    head.last_id
                ),
            )),
        }),
        _ => Ok(Verification {
            entries: checked,
            first_broken: Some((
                expected_id - 1,
                "the chain head does not match the last entry".into(),
            )),
        }),
    }
}

/// A record's history: its own entries and those of its parts, newest first.
pub async fn history(
    db: &impl ConnectionTrait,
    entity_type: &str,
    id: i64,
    limit: u64,
) -> Result<Vec<ledger_entries::Model>, DbErr> {
    use sea_orm::Condition;
    ledger_entries::Entity::find()
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(ledger_entries::Column::EntityType.eq(entity_type))
                        .add(ledger_entries::Column::EntityId.eq(id.to_string())),
                )
                .add(ledger_entries::Column::Parent.eq(format!("{entity_type}:{id}"))),
        )
        .order_by_desc(ledger_entries::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Newest first, for the admin page.
pub async fn recent(
    db: &impl ConnectionTrait,
    before_id: Option<i64>,
    limit: u64,
) -> Result<Vec<ledger_entries::Model>, DbErr> {
    let mut query = ledger_entries::Entity::find().order_by_desc(ledger_entries::Column::Id);
    if let Some(id) = before_id {
        query = query.filter(ledger_entries::Column::Id.lt(id));
    }
    query.limit(limit).all(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ledger_entries::Model {
        ledger_entries::Model {
            id: 1,
            at: DateTime::parse_from_rfc3339("2026-11-22T10:00:00.123456Z")
                .unwrap()
                .with_timezone(&Utc),
            actor: "user:1".into(),
            entity_type: "user".into(),
            entity_id: "2".into(),
            action: "create".into(),
            changes: r#"{"role":{"before":null,"after":"coordinator"}}"#.into(),
            reason: None,
            parent: None,
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        }
    }

    #[test]
    fn ledger_hash_covers_every_field_and_the_previous_hash() {
        let base = sample();
        let h = entry_hash(&base);
        assert_eq!(h.len(), 64);
        assert_eq!(h, entry_hash(&base.clone()), "deterministic");
        let variants = [
            ledger_entries::Model {
                id: 2,
                ..base.clone()
            },
            ledger_entries::Model {
                actor: "user:9".into(),
                ..base.clone()
            },
            ledger_entries::Model {
                action: "update".into(),
                ..base.clone()
            },
            ledger_entries::Model {
                entity_id: "3".into(),
                ..base.clone()
            },
            ledger_entries::Model {
                changes: "{}".into(),
                ..base.clone()
            },
            ledger_entries::Model {
                reason: Some("typo".into()),
                ..base.clone()
            },
            ledger_entries::Model {
                parent: Some("class:1".into()),
                ..base.clone()
            },
            ledger_entries::Model {
                prev_hash: "1".repeat(64),
                ..base.clone()
            },
            ledger_entries::Model {
                at: base.at + chrono::Duration::microseconds(1),
                ..base.clone()
            },
        ];
        for v in variants {
            assert_ne!(entry_hash(&v), h, "{v:?}");
        }
    }

    #[test]
    fn ledger_diff_lists_changed_fields_and_hides_personal_values() {
        let before = json!({"name": "Ana", "email": "a@x.com", "attended": false, "same": 1});
        let after =
            json!({"name": "Ana B", "email": "a@x.com", "attended": true, "same": 1, "new": "v"});
        let d = diff(&before, &after, &["name", "email"]);
        assert_eq!(
            d,
            json!({"name": {"changed": true}, "attended": {"before": false, "after": true}, "new": {"before": null, "after": "v"}})
        );
    }

    #[test]
    fn actors_are_named_as_the_spec_says() {
        assert_eq!(Actor::User(4).to_string(), "user:4");
        assert_eq!(Actor::Learner(17).to_string(), "learner:17");
        assert_eq!(Actor::Cli.to_string(), "cli");
        assert_eq!(Actor::System.to_string(), "system");
    }
}
