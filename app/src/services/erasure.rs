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
//! The same path erases either every enrollment of one e-mail (a learner's request,
//! [`erase`]) or chosen enrollments (retention: the roster lines of classes that ended
//! long enough ago, [`erase_enrollments`]); [`erase_consent_evidence`] erases what a
//! recording consent keeps as evidence.
//!
//! On disk: SQLite zeroes deleted bytes (`secure_delete`), and after the commit the
//! write-ahead log is checkpointed and truncated ([`crate::scrub`]); what that achieved
//! is reported, not assumed.
use chrono::{DateTime, Utc};
use entity::{
    achievement_codes, classes, courses, enrollments, outbox_messages, recording_consents,
    survey_invitations, survey_responses,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection};
use serde_json::json;

use super::{ServiceError, classes as class_svc, rosters};
use crate::clock;
use crate::db::begin_write;
use crate::domain::account::Email;
use crate::domain::erasure::{
    PLACEHOLDER_NAME, erasure_confirmed, erasure_reason, is_placeholder_email, placeholder_email,
};
use crate::ledger::{self, Actor, Entry, Recorder, TEXTS_ERASED, diff};
use crate::scrub::{self, Checkpointed};

mod gather;
mod steps;
mod texts;

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
    /// Lines of Microsoft's survey downloads (reconciliation) that named the learner by
    /// the hash of their e-mail, deleted.
    pub microsoft_lines: usize,
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
        if self.microsoft_lines > 0 {
            out.push_str(&format!(
                " {} deleted.",
                plural(
                    self.microsoft_lines,
                    "line of Microsoft's survey downloads",
                    "lines of Microsoft's survey downloads"
                )
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

/// Which roster lines an erasure takes.
pub(crate) enum Learners<'a> {
    /// Every enrollment with this e-mail (a learner's request).
    Email(&'a Email),
    /// These enrollments (retention); lines already erased are skipped.
    Enrollments(&'a [i64]),
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

/// The learner's enrollments, for the admin to check before erasing (`Field("email")`
/// when the address is invalid, a placeholder, or on no roster).
pub async fn find(db: &DatabaseConnection, raw_email: &str) -> Result<Vec<Found>, ServiceError> {
    let key = parse_email(raw_email)?;
    gather::gather(db, &Learners::Email(&key)).await
}

/// The names and e-mails an erasure of `found` removes wherever they are written (each
/// once, compared case-insensitively).
fn personal_of(key: Option<&Email>, found: &[Found]) -> Vec<String> {
    let mut personal: Vec<String> = key.map(|k| k.as_str().to_string()).into_iter().collect();
    for f in found {
        for value in [&f.enrollment.learner_name, &f.enrollment.learner_email] {
            if !personal.iter().any(|p| p.eq_ignore_ascii_case(value)) {
                personal.push(value.clone());
            }
        }
    }
    personal
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
    let found = gather::gather(&tx, &Learners::Email(&key)).await?;
    let personal = personal_of(Some(&key), &found);
    let personal: Vec<&str> = personal.iter().map(String::as_str).collect();
    let reason =
        erasure_reason(raw_reason, &personal).map_err(|m| ServiceError::field("reason", m))?;
    erasure_confirmed(confirm).map_err(|m| ServiceError::field("confirm", m))?;
    let mut done = erase_found(&tx, actor, found, &personal, &reason, clock::now()).await?;
    done.microsoft_lines = super::reconciliation::forget_learner(&tx, actor, key.as_str()).await?;
    tx.commit().await?;
    done.disk = Some(scrub::checkpoint_wal(db).await?);
    Ok(done)
}

/// Erases these enrollments inside the caller's write (retention), with `reason` — made
/// by the caller from its settings, never from personal data. Lines already erased are
/// skipped. The caller commits, then checkpoints SQLite's log ([`scrub::checkpoint_wal`]).
pub(crate) async fn erase_enrollments(
    tx: &Recorder,
    actor: &Actor,
    ids: &[i64],
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Erased, ServiceError> {
    let found = gather::gather(tx, &Learners::Enrollments(ids)).await?;
    if found.is_empty() {
        return Ok(Erased::default());
    }
    let personal = personal_of(None, &found);
    let personal: Vec<&str> = personal.iter().map(String::as_str).collect();
    erase_found(tx, actor, found, &personal, reason, now).await
}

/// The erasure itself: each line gets its placeholder, its links cancelled, its comment,
/// e-mails and consent notes redacted, the ledger texts about it (or naming `personal`)
/// blanked, and one `erase` entry with `reason`.
async fn erase_found(
    tx: &Recorder,
    actor: &Actor,
    found: Vec<Found>,
    personal: &[&str],
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Erased, ServiceError> {
    let mut done = Erased::default();
    let (mut texts, kept) = texts::texts_to_blank(tx, &found, personal).await?;
    done.texts_kept = kept;
    for f in found {
        let placeholder = placeholder_email(f.enrollment.id);
        let mut changes = diff(
            &json!({"learner_name": f.enrollment.learner_name, "learner_email": f.enrollment.learner_email}),
            &json!({"learner_name": PLACEHOLDER_NAME, "learner_email": placeholder}),
            &rosters::PERSONAL_FIELDS,
        );
        let fields = changes.as_object_mut().expect("diff returns an object");
        steps::cancel_links(tx, &f, now, fields, &mut done).await?;
        steps::redact_comment(tx, &f, personal, fields, &mut done).await?;
        steps::redact_outbox(tx, &f, &placeholder, personal, fields, &mut done).await?;
        steps::redact_consent_notes(tx, &f, personal, &mut done).await?;
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
        active.update(tx).await?;
        let erase_entry = tx
            .record_as(
                actor,
                Entry::new("enrollment", f.enrollment.id, "erase")
                    .changes(changes)
                    .reason(reason.to_string())
                    .parent("class", f.class.id),
            )
            .await?;
        done.texts_blanked += ledger::blank_texts(tx, &blank, erase_entry.id).await? as usize;
        done.enrollments.push((
            f.enrollment.id,
            f.class.class_ref.clone(),
            f.course.course_code.clone(),
            f.dates(),
        ));
    }
    Ok(done)
}

/// What erasing consent evidence did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvidenceErased {
    pub consents: usize,
    pub notes: usize,
    pub links: usize,
    pub texts_blanked: usize,
}

/// Erases what these consents keep as evidence (retention, inside the caller's write):
/// the paper-consent note, the learner's consent link, and the texts of the ledger's
/// entries about each consent (their copies of the note). The status and when it
/// changed stay: they say the recording was published lawfully, and name nobody but by
/// enrollment or trainer id. Each consent gets one `erase` entry (the action `ledger verify` accepts for blanked texts) with `reason`
/// and is marked (`evidence_erased_at`), so a later run skips it.
pub(crate) async fn erase_consent_evidence(
    tx: &Recorder,
    actor: &Actor,
    consents: Vec<recording_consents::Model>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<EvidenceErased, ServiceError> {
    let mut done = EvidenceErased::default();
    for c in consents {
        let mut changes = serde_json::Map::new();
        if c.note.is_some() {
            changes.insert("note".into(), json!({"changed": true}));
            done.notes += 1;
        }
        if c.token_hash.is_some() {
            changes.insert(
                "consent_link".into(),
                json!({"before": "active", "after": "cancelled"}),
            );
            done.links += 1;
        }
        let blank = texts::texts_about(tx, "recording_consent", &c.id.to_string()).await?;
        if !blank.is_empty() {
            let listed: Vec<String> = blank
                .iter()
                .map(|(id, field)| format!("{id}:{field}"))
                .collect();
            changes.insert(
                TEXTS_ERASED.into(),
                json!({"before": null, "after": listed}),
            );
        }
        changes.insert(
            "evidence".into(),
            json!({"before": "kept", "after": "erased"}),
        );
        let (id, recording_id) = (c.id, c.recording_id);
        let mut active: recording_consents::ActiveModel = c.into();
        active.note = Set(None);
        active.token_hash = Set(None);
        active.evidence_erased_at = Set(Some(now));
        active.updated_at = Set(now);
        active.update(tx).await?;
        let entry = tx
            .record_as(
                actor,
                Entry::new("recording_consent", id, "erase")
                    .changes(serde_json::Value::Object(changes))
                    .reason(reason.to_string())
                    .parent("recording", recording_id),
            )
            .await?;
        done.texts_blanked += ledger::blank_texts(tx, &blank, entry.id).await? as usize;
        done.consents += 1;
    }
    Ok(done)
}
