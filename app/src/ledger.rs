//! The append-only audit trail (SPEC §6): every change appends one entry, in the same
//! transaction, chained by `hash = SHA-256(prev_hash ‖ canonical entry)`.
//!
//! Free text that may name a person (reasons, notes) is kept beside the chain, in
//! `ledger_texts`: the entry commits to `SHA-256(salt ‖ text)` with a random salt
//! (canonical form version 2), so an erasure can blank the text — and its salt — while
//! the chain still verifies, and a blanked text cannot be guessed back from its hash.
use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};
use entity::{ledger_entries, ledger_head, ledger_texts};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::clock;

pub mod checkpoint;
pub mod pack;
pub mod read;
mod verify;

pub use read::{actor_names, describe_changes};
pub use verify::{Verification, verify};

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
    /// Free text kept beside the chain (`reason`, `note`, …): the entry commits to a
    /// salted hash of each, so an erasure can blank them.
    pub texts: Vec<(&'static str, String)>,
    pub parent: Option<String>,
}

impl Entry {
    pub fn new(entity_type: &'static str, entity_id: impl ToString, action: &'static str) -> Entry {
        Entry {
            entity_type,
            entity_id: entity_id.to_string(),
            action,
            changes: Value::Object(Map::new()),
            texts: Vec::new(),
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

    /// The reason given for the change: free text, so kept beside the chain.
    pub fn reason(self, reason: impl Into<String>) -> Entry {
        self.text(REASON, reason)
    }

    /// A free-text field (a note) that may name a person: kept beside the chain, which
    /// commits to its salted hash. Record its change in `changes` with [`diff`]'s
    /// `personal` list (`{"changed": true}`), never its words.
    pub fn text(mut self, field: &'static str, text: impl Into<String>) -> Entry {
        self.texts.retain(|(f, _)| *f != field);
        self.texts.push((field, text.into()));
        self
    }
}

/// The field name of an entry's reason in `ledger_texts`.
pub const REASON: &str = "reason";

/// The key under which an `erase` entry lists the texts it blanked (`["12:reason", …]`).
pub const TEXTS_ERASED: &str = "texts_erased";

/// `SHA-256(salt ‖ text)`, hex: what the chain commits to for a text kept beside it.
pub fn text_commitment(salt: &[u8], text: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(text.as_bytes());
    hex::encode(hasher.finalize())
}

fn new_salt() -> Result<[u8; 16], DbErr> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| DbErr::Custom(format!("no randomness: {e}")))?;
    Ok(salt)
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

/// A change being written and recorded: the write transaction, the chain head held in
/// it and who acts. Its queries go to the transaction (it is a connection); each
/// [`Recorder::record`] appends an entry; [`Recorder::commit`] moves the chain head and
/// commits, and is the only way to commit, so no change can land with its entries past
/// the head. Dropped without committing, everything rolls back.
pub struct Recorder {
    tx: crate::db::WriteTx,
    chain: tokio::sync::Mutex<Chain>,
    actor: Actor,
}

impl Recorder {
    /// Takes the write turn ([`crate::db::begin_write`]) and the chain head.
    pub async fn begin(db: &sea_orm::DatabaseConnection, actor: &Actor) -> Result<Recorder, DbErr> {
        let tx = crate::db::begin_write(db).await?;
        Recorder::lock(tx, actor).await
    }

    /// Takes the chain head in a transaction that has read what it needs first.
    pub async fn lock(tx: crate::db::WriteTx, actor: &Actor) -> Result<Recorder, DbErr> {
        let chain = Chain::lock(&tx).await?;
        Ok(Recorder {
            tx,
            chain: tokio::sync::Mutex::new(chain),
            actor: actor.clone(),
        })
    }

    /// Appends `entry` by this recorder's actor.
    pub async fn record(&self, entry: Entry) -> Result<ledger_entries::Model, DbErr> {
        self.record_as(&self.actor, entry).await
    }

    /// Appends `entry` by another actor (the system acting inside someone's change).
    pub async fn record_as(
        &self,
        actor: &Actor,
        entry: Entry,
    ) -> Result<ledger_entries::Model, DbErr> {
        self.chain.lock().await.append(&self.tx, actor, entry).await
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        self.chain.into_inner().finish(&self.tx).await?;
        self.tx.commit().await
    }

    /// Gives the change up: nothing of it, entries included, is written.
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.tx.rollback().await
    }
}

crate::db::delegate_connection!(Recorder, tx);

/// The chain head held for a run of appends in one transaction (an import writes a
/// million entries): the head row is read and locked once and written once at the end.
/// Only [`Recorder`] and [`append`] hold one, and both finish it.
struct Chain {
    locked_id: i64,
    last_id: i64,
    last_hash: String,
    /// Entries not yet inserted: written in multi-row inserts.
    pending: Vec<ledger_entries::Model>,
    /// Their texts, inserted right after them.
    pending_texts: Vec<ledger_texts::ActiveModel>,
}

/// Entries per multi-row insert (11 columns each: well under every backend's limit on
/// bound parameters).
const CHAIN_BATCH: usize = 256;

impl Chain {
    async fn lock(tx: &impl ConnectionTrait) -> Result<Chain, DbErr> {
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
            pending_texts: Vec::new(),
        })
    }

    async fn append(
        &mut self,
        tx: &impl ConnectionTrait,
        actor: &Actor,
        entry: Entry,
    ) -> Result<ledger_entries::Model, DbErr> {
        let id = self.last_id + 1;
        let mut commitments = Map::new();
        for (field, text) in entry.texts {
            let salt = new_salt()?;
            commitments.insert(field.to_string(), json!(text_commitment(&salt, &text)));
            self.pending_texts.push(ledger_texts::ActiveModel {
                entry_id: Set(id),
                field: Set(field.to_string()),
                salt: Set(Some(hex::encode(salt))),
                text: Set(Some(text)),
                erased_by: Set(None),
            });
        }
        let model = ledger_entries::Model {
            id,
            at: clock::now(),
            actor: actor.to_string(),
            entity_type: entry.entity_type.to_string(),
            entity_id: entry.entity_id,
            action: entry.action.to_string(),
            changes: entry.changes.to_string(),
            reason: None,
            parent: entry.parent,
            prev_hash: self.last_hash.clone(),
            texts: Some(Value::Object(commitments).to_string()),
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
        // Texts are few (reasons and notes): one multi-row insert per entry batch.
        for texts in self.pending_texts.chunks(CHAIN_BATCH) {
            ledger_texts::Entity::insert_many(texts.iter().cloned())
                .exec_without_returning(tx)
                .await?;
        }
        self.pending_texts.clear();
        Ok(())
    }

    /// Moves the head to the last appended entry. Without it the transaction must not
    /// commit: `ledger verify` would report the entries past the head.
    async fn finish(mut self, tx: &impl ConnectionTrait) -> Result<(), DbErr> {
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

/// The exact bytes that are hashed: a fixed-order JSON array of every stored field
/// except the hashes themselves.
///
/// Version 1 (entries written before `texts` existed, `texts` NULL): eight fields, a
/// ninth when the entry has a parent; the reason is in the chain. Version 2 (`texts` set,
/// `{}` when the entry has no free text): always ten fields — the eighth (the old
/// reason) is null, the ninth is the parent or null, the tenth is
/// `{"v":2,"texts":"<the texts column>"}`, committing to each text's salted hash. The
/// lengths differ, so no entry of one version reads as the other.
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
    let Value::Array(list) = &mut fields else {
        unreachable!("a JSON array")
    };
    match &entry.texts {
        // Entries written before `parent` existed keep their hash.
        None => {
            if let Some(parent) = &entry.parent {
                list.push(json!(parent));
            }
        }
        Some(texts) => {
            list.push(json!(entry.parent));
            list.push(json!({"v": 2, "texts": texts}));
        }
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

/// What the pages show for an entry's text: its words, or that an erasure blanked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownText {
    pub field: String,
    /// `None` once erased.
    pub text: Option<String>,
}

impl ShownText {
    pub fn display(&self) -> String {
        self.text.clone().unwrap_or_else(|| "(erased)".to_string())
    }
}

/// The texts kept beside these entries, by entry id (fields in name order). Entries
/// written before version 2 carry their reason in the row: it is returned here too.
pub async fn texts_of(
    db: &impl ConnectionTrait,
    entries: &[ledger_entries::Model],
) -> Result<HashMap<i64, Vec<ShownText>>, DbErr> {
    let mut out: HashMap<i64, Vec<ShownText>> = HashMap::new();
    for e in entries.iter().filter(|e| e.texts.is_none()) {
        if let Some(reason) = &e.reason {
            out.entry(e.id).or_default().push(ShownText {
                field: REASON.into(),
                text: Some(reason.clone()),
            });
        }
    }
    let ids: Vec<i64> = entries
        .iter()
        .filter(|e| e.texts.as_deref().is_some_and(|t| t != "{}"))
        .map(|e| e.id)
        .collect();
    for chunk in ids.chunks(500) {
        for t in ledger_texts::Entity::find()
            .filter(ledger_texts::Column::EntryId.is_in(chunk.to_vec()))
            .order_by_asc(ledger_texts::Column::Field)
            .all(db)
            .await?
        {
            out.entry(t.entry_id).or_default().push(ShownText {
                field: t.field,
                text: t.text,
            });
        }
    }
    Ok(out)
}

/// An entry's reason (or "(erased)"), empty when it has none: for the history tables.
pub fn reason_of(texts: &HashMap<i64, Vec<ShownText>>, id: i64) -> String {
    texts
        .get(&id)
        .into_iter()
        .flatten()
        .filter(|t| t.field == REASON)
        .map(ShownText::display)
        .next()
        .unwrap_or_default()
}

/// Every text of an entry, `field: words` joined, for the ledger page.
pub fn all_texts_of(texts: &HashMap<i64, Vec<ShownText>>, id: i64) -> String {
    texts
        .get(&id)
        .into_iter()
        .flatten()
        .map(|t| {
            if t.field == REASON {
                t.display()
            } else {
                format!("{}: {}", t.field, t.display())
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Blanks texts kept beside the chain (text and salt), naming `erased_by` — the erasure
/// entry that lists them under [`TEXTS_ERASED`]. Returns how many were blanked.
pub async fn blank_texts(
    tx: &impl ConnectionTrait,
    texts: &[(i64, String)],
    erased_by: i64,
) -> Result<u64, DbErr> {
    let mut n = 0;
    for (entry_id, field) in texts {
        let done = ledger_texts::Entity::update_many()
            .col_expr(
                ledger_texts::Column::Text,
                sea_orm::sea_query::Expr::value(Option::<String>::None),
            )
            .col_expr(
                ledger_texts::Column::Salt,
                sea_orm::sea_query::Expr::value(Option::<String>::None),
            )
            .col_expr(ledger_texts::Column::ErasedBy, erased_by.into())
            .filter(ledger_texts::Column::EntryId.eq(*entry_id))
            .filter(ledger_texts::Column::Field.eq(field.as_str()))
            .filter(ledger_texts::Column::Text.is_not_null())
            .exec(tx)
            .await?;
        n += done.rows_affected;
    }
    Ok(n)
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
mod tests;
