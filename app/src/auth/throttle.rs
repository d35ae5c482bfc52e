//! Stores the sign-in counters of `domain::throttle` in the database, so every app
//! instance counts the same failures.
use chrono::{DateTime, Duration, Utc};
use entity::login_throttle;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    sea_query::OnConflict,
};

use crate::clock;
use crate::config::SecurityConfig;
use crate::domain::throttle::{self, Counter, ThrottlePolicy};

/// Offices share one address behind NAT, so a client gets more room than one account.
const CLIENT_FACTOR: i32 = 4;

#[derive(Debug, Clone, Copy)]
pub struct Throttles {
    pub account: ThrottlePolicy,
    pub client: ThrottlePolicy,
    /// Password reset requests: every request counts, at most so many an hour.
    pub reset_account: ThrottlePolicy,
    pub reset_client: ThrottlePolicy,
}

impl Throttles {
    pub fn from_config(c: &SecurityConfig) -> Throttles {
        let account = ThrottlePolicy {
            free_failures: c.login_free_failures,
            max_failures_per_hour: c.login_max_failures_per_hour,
            max_delay: Duration::seconds(c.login_max_delay_seconds),
        };
        let client = ThrottlePolicy {
            free_failures: account.free_failures * CLIENT_FACTOR,
            max_failures_per_hour: account.max_failures_per_hour * CLIENT_FACTOR,
            ..account
        };
        let reset_account = ThrottlePolicy {
            // No growing delays: a plain hourly allowance.
            free_failures: i32::MAX,
            max_failures_per_hour: c.reset_requests_per_hour.max(1),
            max_delay: Duration::hours(1),
        };
        let reset_client = ThrottlePolicy {
            max_failures_per_hour: reset_account.max_failures_per_hour * CLIENT_FACTOR,
            ..reset_account
        };
        Throttles {
            account,
            client,
            reset_account,
            reset_client,
        }
    }
}

pub fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

pub fn client_key(addr: &str) -> String {
    format!("client:{addr}")
}

/// Password reset requests for an e-mail address (known or not: the count must not
/// tell which).
pub fn reset_account_key(email: &str) -> String {
    format!("reset:account:{}", email.trim().to_lowercase())
}

pub fn reset_client_key(addr: &str) -> String {
    format!("reset:client:{addr}")
}

fn counter_of(row: &login_throttle::Model) -> Counter {
    Counter {
        consecutive_failures: row.consecutive_failures,
        window_failures: row.window_failures,
        window_started_at: row.window_started_at,
        locked_until: row.locked_until,
    }
}

/// The latest lock in force over any of `keys`.
pub async fn locked_until(
    db: &impl ConnectionTrait,
    keys: &[String],
) -> Result<Option<DateTime<Utc>>, DbErr> {
    let now = clock::now();
    let rows = login_throttle::Entity::find()
        .filter(login_throttle::Column::Key.is_in(keys.iter().cloned()))
        .all(db)
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| throttle::check(&counter_of(r), now).err())
        .max())
}

/// Counts one failure for `key`; returns the lock end when this failure started a lock.
pub async fn record_failure(
    tx: &impl ConnectionTrait,
    policy: &ThrottlePolicy,
    key: &str,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    let now = clock::now();
    let fresh = Counter::fresh(now);
    login_throttle::Entity::insert(login_throttle::ActiveModel {
        key: Set(key.to_string()),
        consecutive_failures: Set(0),
        window_failures: Set(0),
        window_started_at: Set(fresh.window_started_at),
        locked_until: Set(None),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(login_throttle::Column::Key)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(tx)
    .await?;
    let row = login_throttle::Entity::find_by_id(key.to_string())
        .lock_exclusive()
        .one(tx)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(key.to_string()))?;
    let (next, newly_locked) = throttle::register_failure(policy, &counter_of(&row), now);
    login_throttle::Entity::update(login_throttle::ActiveModel {
        key: Set(key.to_string()),
        consecutive_failures: Set(next.consecutive_failures),
        window_failures: Set(next.window_failures),
        window_started_at: Set(next.window_started_at),
        locked_until: Set(next.locked_until),
        updated_at: Set(now),
    })
    .exec(tx)
    .await?;
    Ok(if newly_locked {
        next.locked_until
    } else {
        None
    })
}

/// A successful sign-in ends the account's run of failures (the hourly cap stays).
pub async fn record_success(tx: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    login_throttle::Entity::update_many()
        .col_expr(login_throttle::Column::ConsecutiveFailures, 0.into())
        .filter(login_throttle::Column::Key.eq(key))
        .exec(tx)
        .await
        .map(|_| ())
}

/// Ends `key`'s lock and its run of failures (a password reset by the account's owner).
pub async fn clear(tx: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    login_throttle::Entity::update_many()
        .col_expr(login_throttle::Column::ConsecutiveFailures, 0.into())
        .col_expr(
            login_throttle::Column::LockedUntil,
            sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(login_throttle::Column::Key.eq(key))
        .exec(tx)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_requests_get_an_hourly_allowance_without_growing_delays() {
        let config =
            crate::config::Config::load_from(std::path::Path::new("/nonexistent"), None, &[])
                .unwrap();
        assert_eq!(config.security.reset_requests_per_hour, 3);
        assert_eq!(config.security.reset_link_minutes, 30);
        let t = Throttles::from_config(&config.security);
        let t0 = clock::now();
        let mut counter = Counter::fresh(t0);
        for i in 1..=3 {
            assert!(
                throttle::check(&counter, t0).is_ok(),
                "request {i} is allowed"
            );
            let (next, locked) = throttle::register_failure(&t.reset_account, &counter, t0);
            assert_eq!(locked, i == 3, "request {i}");
            counter = next;
        }
        assert!(throttle::check(&counter, t0 + Duration::minutes(59)).is_err());
        assert!(throttle::check(&counter, t0 + Duration::hours(1)).is_ok());
        assert_eq!(t.reset_client.max_failures_per_hour, 3 * CLIENT_FACTOR);
        assert_ne!(
            reset_account_key("a@b.c"),
            account_key("a@b.c"),
            "own counters"
        );
        assert_eq!(reset_account_key(" A@B.c "), reset_account_key("a@b.c"));
    }
}
