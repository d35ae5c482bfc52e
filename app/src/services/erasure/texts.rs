//! Which ledger texts (reasons, notes kept beside the chain) an erasure blanks.
use std::collections::{BTreeSet, HashMap};

use entity::{ledger_entries, ledger_texts, recording_consents};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::Found;
use crate::domain::erasure::{PLACEHOLDER_NAME, redact};
use crate::services::ServiceError;

/// Ledger texts per enrollment to blank: every text of an entry about the enrollment or
/// one of its recording consents, and (with the first enrollment) every other text that
/// contains the learner's name or e-mail. Also the ids of older entries whose in-chain
/// reason names the learner (they cannot be blanked).
pub(super) async fn texts_to_blank(
    tx: &impl ConnectionTrait,
    found: &[Found],
    personal: &[&str],
) -> Result<(HashMap<i64, Vec<(i64, String)>>, Vec<i64>), ServiceError> {
    let mut owner: HashMap<(String, String), i64> = HashMap::new();
    for f in found {
        owner.insert(
            ("enrollment".into(), f.enrollment.id.to_string()),
            f.enrollment.id,
        );
        let consents = recording_consents::Entity::find()
            .filter(recording_consents::Column::EnrollmentId.eq(f.enrollment.id))
            .all(tx)
            .await?;
        for c in consents {
            owner.insert(
                ("recording_consent".into(), c.id.to_string()),
                f.enrollment.id,
            );
        }
    }
    let first = found.first().map_or(0, |f| f.enrollment.id);
    let mut picked: BTreeSet<(i64, i64, String)> = BTreeSet::new();
    // Entries about the learner's records: their texts, whatever they say.
    for ((entity_type, entity_id), enrollment) in &owner {
        for (entry_id, field) in texts_about(tx, entity_type, entity_id).await? {
            picked.insert((*enrollment, entry_id, field));
        }
    }
    // Any other text that names them (an amendment reason, a takedown note).
    let mut after = (0i64, String::new());
    loop {
        let rows = ledger_texts::Entity::find()
            .filter(ledger_texts::Column::Text.is_not_null())
            .filter(
                Condition::any()
                    .add(ledger_texts::Column::EntryId.gt(after.0))
                    .add(
                        Condition::all()
                            .add(ledger_texts::Column::EntryId.eq(after.0))
                            .add(ledger_texts::Column::Field.gt(after.1.as_str())),
                    ),
            )
            .order_by_asc(ledger_texts::Column::EntryId)
            .order_by_asc(ledger_texts::Column::Field)
            .limit(2000)
            .all(tx)
            .await?;
        let Some(last) = rows.last() else { break };
        after = (last.entry_id, last.field.clone());
        for t in rows {
            let names = t
                .text
                .as_deref()
                .is_some_and(|text| redact(text, personal, PLACEHOLDER_NAME).is_some());
            if names
                && !picked
                    .iter()
                    .any(|(_, id, field)| *id == t.entry_id && *field == t.field)
            {
                picked.insert((first, t.entry_id, t.field));
            }
        }
    }
    let mut out: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    for (enrollment, entry_id, field) in picked {
        out.entry(enrollment).or_default().push((entry_id, field));
    }
    // Version 1 entries hold their reason inside the chain: say which name the learner.
    let mut kept = vec![];
    let old = ledger_entries::Entity::find()
        .filter(ledger_entries::Column::Texts.is_null())
        .filter(ledger_entries::Column::Reason.is_not_null())
        .order_by_asc(ledger_entries::Column::Id)
        .all(tx)
        .await?;
    for e in old {
        let about = owner.contains_key(&(e.entity_type.clone(), e.entity_id.clone()));
        let names = e
            .reason
            .as_deref()
            .is_some_and(|r| redact(r, personal, PLACEHOLDER_NAME).is_some());
        if about || names {
            kept.push(e.id);
        }
    }
    Ok((out, kept))
}

/// The texts still kept beside the chain of every entry about one record.
pub(super) async fn texts_about(
    tx: &impl ConnectionTrait,
    entity_type: &str,
    entity_id: &str,
) -> Result<Vec<(i64, String)>, ServiceError> {
    let entries = ledger_entries::Entity::find()
        .select_only()
        .column(ledger_entries::Column::Id)
        .filter(ledger_entries::Column::EntityType.eq(entity_type))
        .filter(ledger_entries::Column::EntityId.eq(entity_id))
        .into_tuple::<i64>()
        .all(tx)
        .await?;
    let mut out = vec![];
    for chunk in entries.chunks(500) {
        let rows = ledger_texts::Entity::find()
            .filter(ledger_texts::Column::EntryId.is_in(chunk.to_vec()))
            .filter(ledger_texts::Column::Text.is_not_null())
            .order_by_asc(ledger_texts::Column::EntryId)
            .all(tx)
            .await?;
        out.extend(rows.into_iter().map(|t| (t.entry_id, t.field)));
    }
    Ok(out)
}
