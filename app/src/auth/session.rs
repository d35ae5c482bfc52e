//! Server-side sessions over sea-orm: the cookie holds a random id, the table holds its
//! hash, so logout and deactivation end a session everywhere at once.
use chrono::{DateTime, Duration, Utc};
use entity::{sessions, users};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::{random_token, token_hash};
use crate::clock;

pub const COOKIE: &str = "tsp_session";

/// A session's last use is written when it is at least this old.
const TOUCH_INTERVAL: Duration = Duration::seconds(1);

#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
}

/// What a new sign-in gives the browser.
pub struct NewSession {
    pub cookie_value: String,
    pub csrf_token: String,
}

/// A fresh id at every sign-in (no fixation), with its own CSRF token.
pub async fn create(
    db: &impl ConnectionTrait,
    policy: &SessionPolicy,
    user_id: i64,
) -> Result<NewSession, DbErr> {
    let cookie_value = random_token();
    let csrf_token = random_token();
    let now = clock::now();
    sessions::Entity::insert(sessions::ActiveModel {
        id_hash: Set(token_hash(&cookie_value)),
        user_id: Set(user_id),
        csrf_token: Set(csrf_token.clone()),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + policy.absolute),
    })
    .exec_without_returning(db)
    .await?;
    Ok(NewSession {
        cookie_value,
        csrf_token,
    })
}

/// Why a session is no longer valid at `now`, if it is not.
pub fn expired(session: &sessions::Model, policy: &SessionPolicy, now: DateTime<Utc>) -> bool {
    now >= session.expires_at || now - session.last_seen_at >= policy.idle
}

/// The live session and its active user for a cookie value. Expired sessions are deleted.
pub async fn load(
    db: &sea_orm::DatabaseConnection,
    policy: &SessionPolicy,
    cookie_value: &str,
) -> Result<Option<(sessions::Model, users::Model)>, DbErr> {
    let hash = token_hash(cookie_value);
    let Some((session, Some(user))) = sessions::Entity::find_by_id(hash.clone())
        .find_also_related(users::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = clock::now();
    if expired(&session, policy, now) || !user.active {
        // An expired session is refused whether or not its row can be deleted now.
        if let Some(tx) = tolerate_storage_fault(crate::db::try_begin_write(db).await)? {
            let deleted = sessions::Entity::delete_by_id(hash).exec(&tx).await;
            tolerate_storage_fault(deleted.map(|_| ()))?;
            tolerate_storage_fault(tx.commit().await)?;
        }
        return Ok(None);
    }
    // Sliding idle expiry, exact to the second: the last use is written when it moved by
    // a second or more (writing it once a minute let a session expire up to a minute
    // early), and only when no other change is being written: a page read never waits
    // behind an import (a later request moves the expiry on).
    if now - session.last_seen_at >= TOUCH_INTERVAL
        && let Some(tx) = tolerate_storage_fault(crate::db::try_begin_write(db).await)?
    {
        let touched = sessions::Entity::update_many()
            .col_expr(sessions::Column::LastSeenAt, now.into())
            .filter(sessions::Column::IdHash.eq(hash))
            .exec(&tx)
            .await;
        tolerate_storage_fault(touched.map(|_| ()))?;
        tolerate_storage_fault(tx.commit().await)?;
    }
    Ok(Some((session, user)))
}

/// Reading pages needs no write: when the database is full or read-only, the session's
/// bookkeeping is skipped (and logged) so people can still look things up.
fn tolerate_storage_fault<T: Default>(result: Result<T, DbErr>) -> Result<T, DbErr> {
    match result {
        Err(e) => match crate::db::StorageFault::of(&e) {
            Some(fault) => {
                tracing::warn!(error = %e, "session not updated: {}", fault.describe());
                Ok(T::default())
            }
            None => Err(e),
        },
        ok => ok,
    }
}

pub async fn destroy(db: &impl ConnectionTrait, id_hash: &str) -> Result<(), DbErr> {
    sessions::Entity::delete_by_id(id_hash.to_string())
        .exec(db)
        .await
        .map(|_| ())
}

/// Ends every session of a user (deactivation, password change elsewhere).
pub async fn destroy_all_for_user(
    db: &impl ConnectionTrait,
    user_id: i64,
    except: Option<&str>,
) -> Result<u64, DbErr> {
    let mut query = sessions::Entity::delete_many().filter(sessions::Column::UserId.eq(user_id));
    if let Some(keep) = except {
        query = query.filter(sessions::Column::IdHash.ne(keep));
    }
    Ok(query.exec(db).await?.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_after_30_idle_minutes_or_12_hours() {
        let policy = SessionPolicy {
            idle: Duration::minutes(30),
            absolute: Duration::hours(12),
        };
        let t0 = clock::now();
        let s = sessions::Model {
            id_hash: "h".into(),
            user_id: 1,
            csrf_token: "c".into(),
            created_at: t0,
            last_seen_at: t0,
            expires_at: t0 + Duration::hours(12),
        };
        assert!(!expired(&s, &policy, t0 + Duration::minutes(29)));
        assert!(expired(&s, &policy, t0 + Duration::minutes(30)));
        let active = sessions::Model {
            last_seen_at: t0 + Duration::hours(11) + Duration::minutes(50),
            ..s
        };
        assert!(!expired(
            &active,
            &policy,
            t0 + Duration::hours(11) + Duration::minutes(59)
        ));
        assert!(expired(&active, &policy, t0 + Duration::hours(12)));
    }
}
