//! The steps of an erasure, one per kind of record that may hold the learner: links,
//! survey comments, e-mails, consent notes.
use chrono::{DateTime, Utc};
use entity::{
    achievement_codes, outbox_messages, recording_consents, survey_invitations, survey_responses,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use serde_json::{Map, Value, json};

use super::{Erased, Found};
use crate::domain::erasure::{PLACEHOLDER_NAME, redact};
use crate::mail::{ERASED_BODY, REMOVED_BODY};
use crate::services::ServiceError;

/// A paper-consent note on one of the learner's consents keeps its words without their
/// name or e-mail (its ledger copy is blanked with the other texts).
pub(super) async fn redact_consent_notes(
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
pub(super) async fn cancel_links(
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
pub(super) async fn redact_comment(
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
pub(super) async fn redact_outbox(
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
