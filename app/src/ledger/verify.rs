//! Verifying the chain: every entry's hash recomputed from the genesis, and every text
//! kept beside the chain checked against the hash it commits to.
use std::collections::{HashMap, HashSet};

use entity::{ledger_entries, ledger_head, ledger_texts};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Map, Value};

use super::{GENESIS_HASH, TEXTS_ERASED, entry_hash, text_commitment};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verification {
    pub entries: u64,
    /// The first entry that does not verify, and why.
    pub first_broken: Option<(i64, String)>,
    /// Texts kept beside the chain whose words still match the hash it commits to.
    pub texts: u64,
    /// Texts blanked by an erasure that lists them: their hashes still hold the chain
    /// together, their words are gone and cannot be proven any more.
    pub texts_erased: u64,
}

impl Verification {
    pub fn is_valid(&self) -> bool {
        self.first_broken.is_none()
    }

    fn broken(mut self, id: i64, why: String) -> Verification {
        self.first_broken = Some((id, why));
        self
    }
}

const VERIFY_BATCH: u64 = 2000;

/// The texts an `erase` entry says it blanked (`"12:reason"` → (12, "reason")).
fn declared_erasures(entry: &ledger_entries::Model) -> Vec<(i64, String)> {
    let Ok(changes) = serde_json::from_str::<Value>(&entry.changes) else {
        return vec![];
    };
    changes
        .get(TEXTS_ERASED)
        .and_then(|v| v.get("after"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|item| {
            let (id, field) = item.split_once(':')?;
            Some((id.parse().ok()?, field.to_string()))
        })
        .collect()
}

/// Recomputes the whole chain in batches (memory stays flat however long it is), and
/// checks every text kept beside it: present and matching its committed hash, or blanked
/// by an erasure entry that lists it.
pub async fn verify(db: &impl ConnectionTrait) -> Result<Verification, DbErr> {
    let mut expected_id = 1i64;
    let mut prev_hash = GENESIS_HASH.to_string();
    let mut done_so_far = Verification::default();
    // Blank texts, and the erasures that declare blanking one: checked at the end (an
    // erasure comes after the entries whose texts it blanks).
    let mut blank: Vec<(i64, String, Option<i64>)> = vec![];
    let mut declared: HashSet<(i64, String, i64)> = HashSet::new();
    loop {
        let batch = ledger_entries::Entity::find()
            .filter(ledger_entries::Column::Id.gte(expected_id))
            .order_by_asc(ledger_entries::Column::Id)
            .limit(VERIFY_BATCH)
            .all(db)
            .await?;
        let done = (batch.len() as u64) < VERIFY_BATCH;
        let mut texts: HashMap<i64, Vec<ledger_texts::Model>> = HashMap::new();
        if let (Some(first), Some(last)) = (batch.first(), batch.last()) {
            for text in ledger_texts::Entity::find()
                .filter(ledger_texts::Column::EntryId.between(first.id, last.id))
                .all(db)
                .await?
            {
                texts.entry(text.entry_id).or_default().push(text);
            }
        }
        for entry in batch {
            let v = done_so_far.clone();
            if entry.id != expected_id {
                return Ok(v.broken(
                    expected_id,
                    format!("entry {expected_id} is missing (next is {})", entry.id),
                ));
            }
            if entry.prev_hash != prev_hash {
                return Ok(v.broken(
                    entry.id,
                    format!(
                        "entry {} does not follow entry {}: prev_hash differs",
                        entry.id,
                        entry.id - 1
                    ),
                ));
            }
            if entry_hash(&entry) != entry.hash {
                return Ok(v.broken(
                    entry.id,
                    format!(
                        "entry {} was altered: its hash does not match its contents",
                        entry.id
                    ),
                ));
            }
            let committed: Map<String, Value> = match &entry.texts {
                None => Map::new(),
                Some(json) => match serde_json::from_str(json) {
                    Ok(Value::Object(map)) => map,
                    _ => {
                        return Ok(v.broken(
                            entry.id,
                            format!("entry {}'s text commitments are not valid", entry.id),
                        ));
                    }
                },
            };
            let mut rows = texts.remove(&entry.id).unwrap_or_default();
            for (field, hash) in &committed {
                let Some(i) = rows.iter().position(|t| &t.field == field) else {
                    return Ok(v.broken(
                        entry.id,
                        format!("entry {}'s {field} text is missing", entry.id),
                    ));
                };
                let row = rows.swap_remove(i);
                match (&row.salt, &row.text) {
                    (Some(salt), Some(text)) => {
                        let ok = hex::decode(salt).is_ok_and(|salt| {
                            Some(text_commitment(&salt, text).as_str()) == hash.as_str()
                        });
                        if !ok {
                            return Ok(v.broken(
                                entry.id,
                                format!(
                                    "entry {}'s {field} text was altered: it does not match the hash in the chain",
                                    entry.id
                                ),
                            ));
                        }
                        done_so_far.texts += 1;
                    }
                    (None, None) => blank.push((entry.id, field.clone(), row.erased_by)),
                    _ => {
                        return Ok(v.broken(
                            entry.id,
                            format!("entry {}'s {field} text was altered", entry.id),
                        ));
                    }
                }
            }
            if let Some(extra) = rows.first() {
                return Ok(v.broken(
                    entry.id,
                    format!(
                        "entry {} has a {} text that the chain does not commit to",
                        entry.id, extra.field
                    ),
                ));
            }
            if entry.action == "erase" {
                for (id, field) in declared_erasures(&entry) {
                    declared.insert((id, field, entry.id));
                }
            }
            prev_hash = entry.hash;
            expected_id += 1;
            done_so_far.entries += 1;
        }
        if done {
            break;
        }
    }
    for (id, field, erased_by) in blank {
        let by = erased_by.unwrap_or_default();
        if !declared.contains(&(id, field.clone(), by)) {
            return Ok(done_so_far.broken(
                id,
                format!(
                    "entry {id}'s {field} text is blank, but no erasure in the ledger blanked it"
                ),
            ));
        }
        done_so_far.texts_erased += 1;
    }
    let last = expected_id - 1;
    // Texts of entries past the last one: entries were cut off (and the head moved back).
    if let Some(orphan) = ledger_texts::Entity::find()
        .filter(ledger_texts::Column::EntryId.gt(last))
        .order_by_asc(ledger_texts::Column::EntryId)
        .one(db)
        .await?
    {
        return Ok(done_so_far.broken(
            orphan.entry_id,
            format!(
                "entry {} is missing: its {} text is still beside the chain",
                orphan.entry_id, orphan.field
            ),
        ));
    }
    let head = ledger_head::Entity::find_by_id(1).one(db).await?;
    match head {
        Some(head) if head.last_id == last && head.last_hash == prev_hash => Ok(done_so_far),
        Some(head) if head.last_id > last => Ok(done_so_far.broken(
            expected_id,
            format!(
                "entry {expected_id} is missing (the chain head says {} entries)",
                head.last_id
            ),
        )),
        _ => Ok(done_so_far.broken(last, "the chain head does not match the last entry".into())),
    }
}
