//! Learner erasure (SPEC §6): on a learner's request an admin replaces their name and
//! e-mail with a placeholder everywhere, cancels the links mailed to them and drops the
//! e-mails not yet sent — in one transaction, one ledger entry per enrollment.
//!
//! A learner is every enrollment with their e-mail (compared case-insensitively, as the
//! roster does). What stays, keyed by enrollment id: attendance, codes (issued and
//! redeemed dates), survey answers, consent history — so every KPI figure is unchanged —
//! and the ledger, which never held the name or e-mail, still verifies.
//!
//! Free text in the ledger that may name the learner is kept beside the chain and
//! blanked: every text (reason, note) of an entry about one of the learner's enrollments
//! or recording consents, and every other ledger text that contains their name or
//! e-mail. The chain commits only to salted hashes of those texts, so it still verifies;
//! the erasure entry lists the texts it blanked, so `ledger verify` tells an erased text
//! from a deleted one.
//!
//! On disk: SQLite zeroes deleted bytes (`secure_delete`), and after the commit the
//! write-ahead log is checkpointed and truncated ([`crate::scrub`]); what that achieved
//! is reported, not assumed.
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use entity::{
    achievement_codes, classes, courses, enrollments, ledger_entries, ledger_texts,
    outbox_messages, recording_consents, survey_invitations, survey_responses,
};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Map, Value, json};

use super::{ServiceError, classes as class_svc, courses as course_svc, rosters};
use crate::clock;
use crate::db::begin_write;
use crate::domain::account::Email;
use crate::domain::erasure::{
    PLACEHOLDER_NAME, erasure_confirmed, erasure_reason, is_placeholder_email, placeholder_email,
    redact,
};
use crate::domain::outbox::OutboxStatus;
use crate::ledger::{self, Actor, Entry, Recorder, TEXTS_ERASED, diff};
use crate::mail::{ERASED_BODY, REMOVED_BODY};
use crate::scrub::{self, Checkpointed};

/// One enrollment of the learner, with what erasure will do to it.
#[derive(Debug, Clone)]
pub struct Found {
    pub enrollment: enrollments::Model,
    pub class: classes::Model,
    pub course: courses::Model,
    pub code: Option<achievement_codes::Model>,
    pub invitation: Option<survey_invitations::Model>,
    pub response: Option<survey_responses::Model>,
    /// Outbox messages to the learner about this class: not yet sent (dropped) and sent
    /// (their address and bodies replaced).
    pub unsent: Vec<outbox_messages::Model>,
    pub sent: Vec<outbox_messages::Model>,
}

impl Found {
    /// Whether the learner's code page still opens.
    pub fn code_link_open(&self) -> bool {
        self.code.as_ref().is_some_and(|c| c.token_hash.is_some())
    }

    /// Whether the learner's survey link has not been cancelled yet.
    pub fn survey_link_open(&self) -> bool {
        self.invitation
            .as_ref()
            .is_some_and(|i| i.cancelled_at.is_none())
    }

    pub fn dates(&self) -> String {
        class_svc::date_range(self.class.start_date, self.class.end_date)
    }
}

/// What an erasure did.
#[derive(Debug, Clone, Default)]
pub struct Erased {
    /// The enrollments erased: (enrollment id, class ref, course code, dates).
    pub enrollments: Vec<(i64, String, String, String)>,
    pub code_links: usize,
    pub survey_links: usize,
    pub unsent_dropped: usize,
    pub sent_redacted: usize,
    pub comments_redacted: usize,
    /// Ledger texts (reasons, notes) blanked beside the chain.
    pub texts_blanked: usize,
    /// Reasons in entries written before texts were kept beside the chain that name the
    /// learner: inside the chain, they cannot be blanked without breaking it.
    pub texts_kept: Vec<i64>,
    /// Paper-consent notes on the learner's consents that named them, redacted.
    pub notes_redacted: usize,
    /// What happened to SQLite's log after the commit.
    pub disk: Option<Checkpointed>,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Erased {
    /// What the erasure did, in a few sentences (the page's flash, the CLI's last line):
    /// only what is true.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "Erased {}: name and e-mail replaced by a placeholder; {} and {} cancelled; {} dropped, {} re-addressed; {} redacted; {} blanked. Each enrollment's erasure is in the ledger.",
            plural(self.enrollments.len(), "enrollment", "enrollments"),
            plural(self.code_links, "code link", "code links"),
            plural(self.survey_links, "survey link", "survey links"),
            plural(self.unsent_dropped, "unsent e-mail", "unsent e-mails"),
            plural(self.sent_redacted, "sent e-mail", "sent e-mails"),
            plural(self.comments_redacted, "survey comment", "survey comments"),
            plural(self.texts_blanked, "ledger text", "ledger texts"),
        );
        if self.notes_redacted > 0 {
            out.push_str(&format!(
                " {} redacted.",
                plural(self.notes_redacted, "consent note", "consent notes")
            ));
        }
        if !self.texts_kept.is_empty() {
            let ids: Vec<String> = self.texts_kept.iter().map(i64::to_string).collect();
            out.push_str(&format!(
                " Not erased: the reason of ledger {} {} names the learner and was written before reasons were kept beside the chain, so it is part of the chain and stays.",
                if ids.len() == 1 { "entry" } else { "entries" },
                ids.join(", ")
            ));
        }
        out.push_str(match self.disk {
            Some(Checkpointed::Truncated) => {
                " On disk: the database zeroes deleted data and its write-ahead log was emptied; backups taken before now still hold the old values."
            }
            Some(Checkpointed::Busy) => {
                " On disk: the write-ahead log could not be emptied yet (a reader held it), so old copies stay in it until the next checkpoint; backups taken before now still hold the old values."
            }
            Some(Checkpointed::NotSqlite) => {
                " On disk: PostgreSQL keeps the old row versions until VACUUM reclaims them, and in its write-ahead log (see the README); backups taken before now still hold the old values."
            }
            None => "",
        });
        out
    }
}

/// Messages to the learner: outbox addresses are stored as typed, so compared lower-cased
/// and (SQLite's `lower` folds ASCII only) as each roster line spelled them.
fn to_learner(key: &Email, typed: Vec<String>) -> Condition {
    Condition::any()
        .add(
            Expr::expr(Func::lower(Expr::col(outbox_messages::Column::ToAddress))).eq(key.as_str()),
        )
        .add(outbox_messages::Column::ToAddress.is_in(typed))
}

/// The e-mail as typed on the form: a valid address that is not already a placeholder.
fn parse_email(raw: &str) -> Result<Email, ServiceError> {
    let key = Email::parse(raw).map_err(|m| ServiceError::field("email", m))?;
    if is_placeholder_email(key.as_str()) {
        return Err(ServiceError::field(
            "email",
            "is an erasure placeholder: that learner is already erased",
        ));
    }
    Ok(key)
}

/// Every enrollment of the learner with `key`, oldest first, with what hangs off it.
async fn gather(db: &impl ConnectionTrait, key: &Email) -> Result<Vec<Found>, ServiceError> {
    let lines = enrollments::Entity::find()
        .filter(enrollments::Column::EmailKey.eq(key.as_str()))
        .order_by_asc(enrollments::Column::Id)
        .all(db)
        .await?;
    if lines.is_empty() {
        return Err(ServiceError::field(
            "email",
            "no enrollment has this e-mail address: nothing to erase",
        ));
    }
    let messages = outbox_messages::Entity::find()
        .filter(to_learner(
            key,
            lines.iter().map(|e| e.learner_email.clone()).collect(),
        ))
        .order_by_asc(outbox_messages::Column::Id)
        .all(db)
        .await?;
    let mut found = Vec::with_capacity(lines.len());
    for enrollment in lines {
        let class = class_svc::get(db, enrollment.class_id).await?;
        let course = course_svc::get(db, class.course_id).await?;
        let code = achievement_codes::Entity::find()
            .filter(achievement_codes::Column::EnrollmentId.eq(enrollment.id))
            .one(db)
            .await?;
        let invitation = survey_invitations::Entity::find()
            .filter(survey_invitations::Column::EnrollmentId.eq(enrollment.id))
            .one(db)
            .await?;
        let response = survey_responses::Entity::find()
            .filter(survey_responses::Column::EnrollmentId.eq(enrollment.id))
            .one(db)
            .await?;
        found.push(Found {
            enrollment,
            class,
            course,
            code,
            invitation,
            response,
            unsent: vec![],
            sent: vec![],
        });
    }
    // A message belongs to the enrollment of the class it names (`class:42`); one that
    // names none goes with the first enrollment.
    let by_class: HashMap<String, usize> = found
        .iter()
        .enumerate()
        .map(|(i, f)| (format!("class:{}", f.class.id), i))
        .collect();
    for message in messages {
        let i = message
            .related
            .as_ref()
            .and_then(|r| by_class.get(r).copied())
            .unwrap_or(0);
        if message.status == OutboxStatus::Sent {
            found[i].sent.push(message);
        } else {
            found[i].unsent.push(message);
        }
    }
    Ok(found)
}

/// The learner's enrollments, for the admin to check before erasing (`Field("email")`
/// when the address is invalid, a placeholder, or on no roster).
pub async fn find(db: &DatabaseConnection, raw_email: &str) -> Result<Vec<Found>, ServiceError> {
    let key = parse_email(raw_email)?;
    gather(db, &key).await
}

/// Erases the learner with `raw_email`: refused, changing nothing, when the e-mail is on
/// no roster, the reason is missing (or repeats the personal data) or `confirm` is not
/// ticked.
pub async fn erase(
    db: &DatabaseConnection,
    actor: &Actor,
    raw_email: &str,
    raw_reason: &str,
    confirm: &str,
) -> Result<Erased, ServiceError> {
    let key = parse_email(raw_email)?;
    let tx = begin_write(db).await?;
    // The chain head first: it serializes writers, so nothing is queued to the learner
    // or added to a roster between the look-up and the writes.
    let tx = Recorder::lock(tx, actor).await?;
    let found = gather(&tx, &key).await?;
    let mut personal: Vec<String> = vec![key.as_str().to_string()];
    for f in &found {
        for value in [&f.enrollment.learner_name, &f.enrollment.learner_email] {
            if !personal.iter().any(|p| p.eq_ignore_ascii_case(value)) {
                personal.push(value.clone());
            }
        }
    }
    let personal: Vec<&str> = personal.iter().map(String::as_str).collect();
    let reason =
        erasure_reason(raw_reason, &personal).map_err(|m| ServiceError::field("reason", m))?;
    erasure_confirmed(confirm).map_err(|m| ServiceError::field("confirm", m))?;

    let now = clock::now();
    let mut done = Erased::default();
    let (mut texts, kept) = texts_to_blank(&tx, &found, &personal).await?;
    done.texts_kept = kept;
    for f in found {
        let placeholder = placeholder_email(f.enrollment.id);
        let mut changes = diff(
            &json!({"learner_name": f.enrollment.learner_name, "learner_email": f.enrollment.learner_email}),
            &json!({"learner_name": PLACEHOLDER_NAME, "learner_email": placeholder}),
            &rosters::PERSONAL_FIELDS,
        );
        let fields = changes.as_object_mut().expect("diff returns an object");
        cancel_links(&tx, &f, now, fields, &mut done).await?;
        redact_comment(&tx, &f, &personal, fields, &mut done).await?;
        redact_outbox(&tx, &f, &placeholder, &personal, fields, &mut done).await?;
        redact_consent_notes(&tx, &f, &personal, &mut done).await?;
        let blank: Vec<(i64, String)> = texts.remove(&f.enrollment.id).unwrap_or_default();
        if !blank.is_empty() {
            let listed: Vec<String> = blank
                .iter()
                .map(|(id, field)| format!("{id}:{field}"))
                .collect();
            fields.insert(
                TEXTS_ERASED.into(),
                json!({"before": null, "after": listed}),
            );
        }

        let mut active: enrollments::ActiveModel = f.enrollment.clone().into();
        active.learner_name = Set(PLACEHOLDER_NAME.to_string());
        active.learner_email = Set(placeholder.clone());
        active.email_key = Set(placeholder);
        active.updated_at = Set(now);
        active.update(&tx).await?;
        let erase_entry = tx
            .record_as(
                actor,
                Entry::new("enrollment", f.enrollment.id, "erase")
                    .changes(changes)
                    .reason(reason.clone())
                    .parent("class", f.class.id),
            )
            .await?;
        done.texts_blanked += ledger::blank_texts(&tx, &blank, erase_entry.id).await? as usize;
        done.enrollments.push((
            f.enrollment.id,
            f.class.class_ref.clone(),
            f.course.course_code.clone(),
            f.dates(),
        ));
    }
    tx.commit().await?;
    done.disk = Some(scrub::checkpoint_wal(db).await?);
    Ok(done)
}

/// Ledger texts per enrollment to blank: every text of an entry about the enrollment or
/// one of its recording consents, and (with the first enrollment) every other text that
/// contains the learner's name or e-mail. Also the ids of older entries whose in-chain
/// reason names the learner (they cannot be blanked).
async fn texts_to_blank(
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
        let entries = ledger_entries::Entity::find()
            .select_only()
            .column(ledger_entries::Column::Id)
            .filter(ledger_entries::Column::EntityType.eq(entity_type.as_str()))
            .filter(ledger_entries::Column::EntityId.eq(entity_id.as_str()))
            .into_tuple::<i64>()
            .all(tx)
            .await?;
        for chunk in entries.chunks(500) {
            let rows = ledger_texts::Entity::find()
                .filter(ledger_texts::Column::EntryId.is_in(chunk.to_vec()))
                .filter(ledger_texts::Column::Text.is_not_null())
                .all(tx)
                .await?;
            for t in rows {
                picked.insert((*enrollment, t.entry_id, t.field));
            }
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

/// A paper-consent note on one of the learner's consents keeps its words without their
/// name or e-mail (its ledger copy is blanked with the other texts).
async fn redact_consent_notes(
    tx: &impl ConnectionTrait,
    f: &Found,
    personal: &[&str],
    done: &mut Erased,
) -> Result<(), ServiceError> {
    let consents = recording_consents::Entity::find()
        .filter(recording_consents::Column::EnrollmentId.eq(f.enrollment.id))
        .filter(recording_consents::Column::Note.is_not_null())
        .all(tx)
        .await?;
    for c in consents {
        if let Some(note) = c
            .note
            .as_deref()
            .and_then(|n| redact(n, personal, PLACEHOLDER_NAME))
        {
            let mut active: recording_consents::ActiveModel = c.into();
            active.note = Set(Some(note));
            active.update(tx).await?;
            done.notes_redacted += 1;
        }
    }
    Ok(())
}

fn cancelled() -> Value {
    json!({"before": "active", "after": "cancelled"})
}

/// Every link mailed to the learner of this enrollment stops working. One block per
/// kind of learner token: a new kind adds its block here.
async fn cancel_links(
    tx: &impl ConnectionTrait,
    f: &Found,
    now: DateTime<Utc>,
    changes: &mut Map<String, Value>,
    done: &mut Erased,
) -> Result<(), ServiceError> {
    // The achievement code page: the code, its issue and redemption dates stay (KPI).
    if let Some(code) = f.code.as_ref().filter(|c| c.token_hash.is_some()) {
        let mut active: achievement_codes::ActiveModel = code.clone().into();
        active.token_hash = Set(None);
        active.updated_at = Set(now);
        active.update(tx).await?;
        changes.insert("code_link".into(), cancelled());
        done.code_links += 1;
    }
    // The survey link: derived from the enrollment id, so it is flagged, not forgotten.
    // No reminder goes out for it and the page answers "not found".
    if let Some(invitation) = f.invitation.as_ref().filter(|i| i.cancelled_at.is_none()) {
        let mut active: survey_invitations::ActiveModel = invitation.clone().into();
        active.cancelled_at = Set(Some(now));
        active.update(tx).await?;
        changes.insert("survey_link".into(), cancelled());
        done.survey_links += 1;
    }
    // Recording consent links: the rows keep their history (by enrollment id); only the
    // link dies.
    let consents = recording_consents::Entity::update_many()
        .col_expr(
            recording_consents::Column::TokenHash,
            Expr::value(Option::<String>::None),
        )
        .filter(recording_consents::Column::EnrollmentId.eq(f.enrollment.id))
        .filter(recording_consents::Column::TokenHash.is_not_null())
        .exec(tx)
        .await?;
    if consents.rows_affected > 0 {
        changes.insert("consent_links".into(), cancelled());
    }
    Ok(())
}

/// A survey comment that names the learner keeps its words but not the name or e-mail
/// (the scored answers, which the KPI reads, are untouched).
async fn redact_comment(
    tx: &impl ConnectionTrait,
    f: &Found,
    personal: &[&str],
    changes: &mut Map<String, Value>,
    done: &mut Erased,
) -> Result<(), ServiceError> {
    let Some(response) = &f.response else {
        return Ok(());
    };
    let Some(comment) = response
        .comment
        .as_deref()
        .and_then(|c| redact(c, personal, PLACEHOLDER_NAME))
    else {
        return Ok(());
    };
    let mut active: survey_responses::ActiveModel = response.clone().into();
    active.comment = Set(Some(comment));
    active.update(tx).await?;
    changes.insert("survey_comment".into(), json!({"changed": true}));
    done.comments_redacted += 1;
    Ok(())
}

/// Messages not yet sent are dropped (a worker holding one loses its claim: it may not
/// record the outcome); sent ones keep their history under the placeholder address,
/// without bodies.
async fn redact_outbox(
    tx: &impl ConnectionTrait,
    f: &Found,
    placeholder: &str,
    personal: &[&str],
    changes: &mut Map<String, Value>,
    done: &mut Erased,
) -> Result<(), ServiceError> {
    if !f.unsent.is_empty() {
        let ids: Vec<i64> = f.unsent.iter().map(|m| m.id).collect();
        outbox_messages::Entity::delete_many()
            .filter(outbox_messages::Column::Id.is_in(ids))
            .exec(tx)
            .await?;
        changes.insert(
            "unsent_emails_dropped".into(),
            json!({"before": null, "after": f.unsent.len()}),
        );
        done.unsent_dropped += f.unsent.len();
    }
    for message in &f.sent {
        let mut active: outbox_messages::ActiveModel = message.clone().into();
        active.to_address = Set(placeholder.to_string());
        if let Some(subject) = redact(&message.subject, personal, PLACEHOLDER_NAME) {
            active.subject = Set(subject);
        }
        // Bodies already emptied of a personal link say so; every other body goes.
        if message.text_body != REMOVED_BODY || message.html_body != REMOVED_BODY {
            active.text_body = Set(ERASED_BODY.to_string());
            active.html_body = Set(ERASED_BODY.to_string());
        }
        active.update(tx).await?;
    }
    if !f.sent.is_empty() {
        changes.insert(
            "sent_emails_readdressed".into(),
            json!({"before": null, "after": f.sent.len()}),
        );
        done.sent_redacted += f.sent.len();
    }
    Ok(())
}
