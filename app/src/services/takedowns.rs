//! Takedowns (SPEC §2, §3 rules 3 and 6): Microsoft's content-review outcome for a
//! recording; completing one withdraws the recording; an open one past its due date is
//! overdue and e-mailed to coordinators once a day until handled.
use chrono::NaiveDate;
use entity::{classes, outbox_messages, recordings, takedowns};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ServiceError, recordings as rec_svc};
use crate::clock;
use crate::db::begin_write;
use crate::domain::fields::{FieldErrors, parse_date, parse_optional_text, parse_text};
use crate::domain::recording::{TakedownReason, TakedownStatus};
use crate::ledger::{Actor, Entry, Recorder, diff};
use crate::mail::messages::TakedownOverdueNotice;
use crate::mail::{self, Message};

/// The takedown form, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TakedownFields {
    pub reference: String,
    pub reason: String,
    pub received_on: String,
    pub due_on: String,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TakedownInput {
    pub reference: String,
    pub reason: TakedownReason,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
    pub notes: Option<String>,
}

impl TakedownFields {
    pub fn parse(&self) -> Result<TakedownInput, FieldErrors> {
        let mut e = FieldErrors::default();
        let reference = e.check("reference", parse_text(&self.reference, 64));
        let reason = e.check("reason", self.reason.parse::<TakedownReason>());
        let received_on = e.check("received_on", parse_date(&self.received_on));
        let due_on = e.check("due_on", parse_date(&self.due_on));
        if let (Some(r), Some(d)) = (received_on, due_on)
            && d < r
        {
            e.add(
                "due_on",
                format!("is before the date it was received ({r})"),
            );
        }
        let notes = e.check("notes", parse_optional_text(&self.notes, 2000));
        match (reference, reason, received_on, due_on, notes) {
            (Some(reference), Some(reason), Some(received_on), Some(due_on), Some(notes))
                if e.is_empty() =>
            {
                Ok(TakedownInput {
                    reference,
                    reason,
                    received_on,
                    due_on,
                    notes,
                })
            }
            _ => Err(e),
        }
    }
}

fn snapshot(t: &takedowns::Model) -> Value {
    json!({
        "recording_id": t.recording_id, "reference": t.reference, "reason": t.reason,
        "received_on": t.received_on.to_string(), "due_on": t.due_on.to_string(),
        "status": t.status, "completed_on": t.completed_on.map(|d| d.to_string()),
    })
}

/// The ledger text field of a takedown's notes: free text that may name a person, so
/// kept beside the chain, never in the changes.
pub const NOTES: &str = "notes";

/// Records in `entry` that the notes changed, with their words beside the chain.
fn with_notes(entry: Entry, before: Option<&str>, after: Option<&str>) -> Entry {
    match after {
        Some(notes) if before != after => {
            let mut changes = entry.changes.clone();
            changes[NOTES] = json!({"changed": true});
            entry.changes(changes).text(NOTES, notes)
        }
        _ => entry,
    }
}

/// Records Microsoft's content-review outcome for a recording (open).
pub async fn record(
    db: &DatabaseConnection,
    actor: &Actor,
    recording_id: i64,
    input: &TakedownInput,
) -> Result<takedowns::Model, ServiceError> {
    let tx = begin_write(db).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let recording = rec_svc::get(&tx, recording_id).await?;
    let now = clock::now();
    let takedown = takedowns::ActiveModel {
        recording_id: Set(recording.id),
        reference: Set(input.reference.clone()),
        reason: Set(input.reason),
        received_on: Set(input.received_on),
        due_on: Set(input.due_on),
        status: Set(TakedownStatus::Open),
        completed_on: Set(None),
        notes: Set(input.notes.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    let entry = Entry::new("takedown", takedown.id, "create")
        .changes(diff(&json!({}), &snapshot(&takedown), &[]))
        .parent("recording", recording.id);
    let entry = with_notes(entry, None, takedown.notes.as_deref());
    tx.record_as(actor, entry).await?;
    tx.commit().await?;
    Ok(takedown)
}

/// What a status change did.
#[derive(Debug, Clone)]
pub struct Changed {
    pub takedown: takedowns::Model,
    pub recording: recordings::Model,
    /// On completion: the recorded classes that delivered the (now withdrawn) recording.
    pub classes: Vec<classes::Model>,
}

/// Completes, disputes or reopens a takedown. Completing withdraws the recording (its
/// own ledger entry) and returns the recorded classes that used it.
pub async fn change_status(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    to: TakedownStatus,
    today: NaiveDate,
    notes: &str,
) -> Result<Changed, ServiceError> {
    let notes = parse_optional_text(notes, 2000).map_err(|m| ServiceError::field("notes", m))?;
    let tx = begin_write(db).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let takedown = takedowns::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let to = takedown
        .status
        .apply(to)
        .map_err(|m| ServiceError::Refused(format!("{}: {m}.", takedown.reference)))?;
    let before = snapshot(&takedown);
    let before_notes = takedown.notes.clone();
    let mut active: takedowns::ActiveModel = takedown.into();
    active.status = Set(to);
    if to == TakedownStatus::Completed {
        active.completed_on = Set(Some(today));
    }
    if notes.is_some() {
        active.notes = Set(notes);
    }
    active.updated_at = Set(clock::now());
    let takedown = active.update(&tx).await?;
    let action = match to {
        TakedownStatus::Completed => "complete",
        TakedownStatus::Disputed => "dispute",
        TakedownStatus::Open => "reopen",
    };
    let entry = Entry::new("takedown", takedown.id, action)
        .changes(diff(&before, &snapshot(&takedown), &[]))
        .parent("recording", takedown.recording_id);
    let entry = with_notes(entry, before_notes.as_deref(), takedown.notes.as_deref());
    tx.record_as(actor, entry).await?;
    let mut recording = rec_svc::get(&tx, takedown.recording_id).await?;
    let mut classes = vec![];
    if to == TakedownStatus::Completed {
        recording =
            rec_svc::withdraw_for_takedown(&tx, actor, recording, &takedown.reference).await?;
        classes = rec_svc::classes_using(&tx, recording.id).await?;
    }
    tx.commit().await?;
    Ok(Changed {
        takedown,
        recording,
        classes,
    })
}

/// Open takedowns past their due date on `today` (rule 6), oldest due first.
pub async fn overdue(
    db: &impl ConnectionTrait,
    today: NaiveDate,
) -> Result<Vec<takedowns::Model>, ServiceError> {
    Ok(takedowns::Entity::find()
        .filter(takedowns::Column::Status.eq(TakedownStatus::Open))
        .filter(takedowns::Column::DueOn.lt(today))
        .order_by_asc(takedowns::Column::DueOn)
        .order_by_asc(takedowns::Column::Id)
        .all(db)
        .await?)
}

/// Rule 6's daily e-mail: every active coordinator gets one notice listing the overdue
/// takedowns, at most once per `today` (the outbox remembers it: `related` is
/// `takedowns:<date>`). Returns how many notices were queued; calling it again the same
/// day queues none.
pub async fn queue_overdue_notices(
    db: &DatabaseConnection,
    today: NaiveDate,
    recordings_link: &str,
) -> Result<u64, ServiceError> {
    let tx = begin_write(db).await?;
    let due = overdue(&tx, today).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let tx = Recorder::lock(tx, &Actor::System).await?;
    let mut lines = vec![];
    for t in &due {
        let recording = rec_svc::get(&tx, t.recording_id).await?;
        lines.push(format!(
            "{} — \"{}\": due on {}, {} day{} overdue",
            t.reference,
            recording.title,
            t.due_on,
            (today - t.due_on).num_days(),
            if (today - t.due_on).num_days() == 1 {
                ""
            } else {
                "s"
            }
        ));
    }
    let related = format!("takedowns:{today}");
    let coordinators = super::accounts::active_coordinators(&tx).await?;
    let mut queued = 0;
    for user in coordinators {
        let already = outbox_messages::Entity::find()
            .filter(outbox_messages::Column::Kind.eq(TakedownOverdueNotice::KIND))
            .filter(outbox_messages::Column::Related.eq(related.as_str()))
            .filter(outbox_messages::Column::ToAddress.eq(user.email.as_str()))
            .count(&tx)
            .await?;
        if already > 0 {
            continue;
        }
        let email = TakedownOverdueNotice {
            coordinator_name: user.name.clone(),
            lines: lines.clone(),
            link: recordings_link.to_string(),
        }
        .to(&user.email, Some(related.clone()))
        .map_err(mail::render_error)?;
        mail::enqueue(&tx, email).await?;
        queued += 1;
    }
    if queued > 0 {
        let entry = Entry::new("takedown_notice", today, "send").changes(json!({
            "takedowns": due.iter().map(|t| t.id).collect::<Vec<_>>(),
            "coordinators": queued,
        }));
        tx.record_as(&Actor::System, entry).await?;
    }
    tx.commit().await?;
    Ok(queued)
}
