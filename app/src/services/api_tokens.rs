//! Bearer tokens for the JSON API (SPEC §7): an administrator creates one, sees its
//! secret once, and can revoke it. Only the secret's SHA-256 is stored; the ledger
//! records the label and the visible prefix, never the secret or its hash.
use chrono::{DateTime, Duration, Utc};
use entity::{api_tokens, users};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::json;

use super::ServiceError;
use crate::auth::{random_token, token_hash};
use crate::clock;
use crate::db::begin_write;
use crate::domain::fields::parse_text;
use crate::ledger::{self, Actor, Entry};

/// The ledger's name for these records.
pub const ENTITY: &str = "api_token";

/// Every secret starts with this, so a leaked one is recognisable (e.g. by secret scanners).
pub const SECRET_PREFIX: &str = "tspl_";

/// Longest label.
pub const MAX_NAME: usize = 100;

/// Random characters of the secret kept (after [`SECRET_PREFIX`]) to tell tokens apart.
const VISIBLE_CHARS: usize = 8;

/// `last_used_at` is written at most this often per token.
pub fn last_used_interval() -> Duration {
    Duration::minutes(1)
}

/// Whether a use at `now` should be written to `last_used_at`.
pub fn use_is_worth_recording(last_used_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_used_at.is_none_or(|at| now - at >= last_used_interval())
}

/// A token just created: its record and the secret, which is never available again.
#[derive(Debug)]
pub struct Created {
    pub token: api_tokens::Model,
    pub secret: String,
}

/// The label an administrator typed: 1..=100 characters.
pub fn parse_name(raw: &str) -> Result<String, String> {
    parse_text(raw, MAX_NAME)
}

/// Creates a token labelled `name` for the administrator `created_by` (the ledger's
/// actor) and returns its secret (shown once).
pub async fn create(
    db: &DatabaseConnection,
    created_by: i64,
    name: &str,
) -> Result<Created, ServiceError> {
    let name = parse_name(name).map_err(|m| ServiceError::field("name", m))?;
    let secret = format!("{SECRET_PREFIX}{}", random_token());
    let prefix = secret[..SECRET_PREFIX.len() + VISIBLE_CHARS].to_string();
    let tx = begin_write(db).await?;
    let token = api_tokens::ActiveModel {
        name: Set(name),
        token_hash: Set(token_hash(&secret)),
        prefix: Set(prefix),
        created_by: Set(created_by),
        created_at: Set(clock::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    let changes = json!({
        "name": {"before": null, "after": token.name},
        "prefix": {"before": null, "after": token.prefix},
    });
    ledger::append(
        &tx,
        &Actor::User(created_by),
        Entry::new(ENTITY, token.id, "create").changes(changes),
    )
    .await?;
    tx.commit().await?;
    Ok(Created { token, secret })
}

/// Revokes a token: it stops working at once. Revoking a revoked token is refused
/// (nothing changes, no ledger entry), naming when it was revoked.
pub async fn revoke(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> Result<api_tokens::Model, ServiceError> {
    let tx = begin_write(db).await?;
    let token = api_tokens::Entity::find_by_id(id)
        .one(&tx)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let already = |at: DateTime<Utc>| {
        ServiceError::Refused(format!(
            "The token “{}” ({}…) was already revoked on {}.",
            token.name,
            token.prefix,
            at.format("%Y-%m-%d %H:%M UTC")
        ))
    };
    if let Some(at) = token.revoked_at {
        return Err(already(at));
    }
    let now = clock::now();
    // Conditional, so two concurrent revokes cannot both succeed (PostgreSQL does not
    // serialize them the way SQLite's IMMEDIATE transactions do).
    let updated = api_tokens::Entity::update_many()
        .col_expr(api_tokens::Column::RevokedAt, Some(now).into())
        .filter(api_tokens::Column::Id.eq(id))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .exec(&tx)
        .await?;
    if updated.rows_affected != 1 {
        return Err(already(now));
    }
    ledger::append(
        &tx,
        actor,
        Entry::new(ENTITY, id, "revoke").changes(json!({
            "revoked_at": {"before": null, "after": now.to_rfc3339()},
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(api_tokens::Model {
        revoked_at: Some(now),
        ..token
    })
}

/// Every token (revoked ones too), newest first, with the administrator who created it.
pub async fn list(
    db: &impl ConnectionTrait,
) -> Result<Vec<(api_tokens::Model, Option<users::Model>)>, ServiceError> {
    Ok(api_tokens::Entity::find()
        .find_also_related(users::Entity)
        .order_by_desc(api_tokens::Column::Id)
        .all(db)
        .await?)
}

/// The unrevoked token whose secret this is, if any. The lookup is by the secret's hash,
/// so its timing says nothing about how much of a secret matched. Records the use
/// (`last_used_at`, at most once a minute).
pub async fn authenticate(
    db: &impl ConnectionTrait,
    secret: &str,
) -> Result<Option<api_tokens::Model>, ServiceError> {
    if !secret.starts_with(SECRET_PREFIX) || secret.len() > 200 {
        return Ok(None);
    }
    let Some(token) = api_tokens::Entity::find()
        .filter(api_tokens::Column::TokenHash.eq(token_hash(secret)))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    // A token acts for the administrator who made it: once they are deactivated it
    // stops working, like their sessions (and works again if they are reactivated).
    let owner = users::Entity::find_by_id(token.created_by).one(db).await?;
    if !owner.is_some_and(|u| u.active) {
        return Ok(None);
    }
    let now = clock::now();
    if use_is_worth_recording(token.last_used_at, now) {
        api_tokens::Entity::update_many()
            .col_expr(api_tokens::Column::LastUsedAt, Some(now).into())
            .filter(api_tokens::Column::Id.eq(token.id))
            .exec(db)
            .await?;
        return Ok(Some(api_tokens::Model {
            last_used_at: Some(now),
            ..token
        }));
    }
    Ok(Some(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tokens_use_is_written_at_most_once_a_minute() {
        let t0 = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(use_is_worth_recording(None, t0));
        assert!(!use_is_worth_recording(Some(t0), t0));
        assert!(!use_is_worth_recording(
            Some(t0),
            t0 + Duration::seconds(59)
        ));
        assert!(use_is_worth_recording(Some(t0), t0 + Duration::seconds(60)));
    }

    #[test]
    fn token_labels_are_required_and_at_most_100_characters() {
        assert_eq!(parse_name("  Power BI  ").unwrap(), "Power BI");
        assert_eq!(parse_name(" ").unwrap_err(), "is required");
        assert!(parse_name(&"é".repeat(100)).is_ok());
        assert!(
            parse_name(&"é".repeat(101))
                .unwrap_err()
                .contains("at most 100")
        );
    }
}
