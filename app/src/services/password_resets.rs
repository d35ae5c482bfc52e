//! Password recovery (issue 13 item 1): a single-use, short-lived link e-mailed to the
//! account's address, asked for on the sign-in page or sent by an administrator.
//!
//! The token is stored only as its SHA-256. A new link supersedes the user's unspent
//! ones; using one sets the password, ends every session of the user and is one ledger
//! entry (which never holds the password or the token).
use chrono::Duration;
use entity::{password_resets, users};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QuerySelect,
};
use serde_json::json;

use super::Context;
use super::ServiceError;
use crate::auth::password::PasswordHasher;
use crate::auth::throttle::{self, reset_account_key, reset_client_key};
use crate::auth::{random_token, session, token_hash};
use crate::clock;
use crate::db::begin_write;
use crate::domain::account::check_new_password;
use crate::ledger::{self, Actor, Entry};
use crate::mail::{self, Message, messages::PasswordReset};

/// Where reset links point: `<public_url>/password/reset/<token>`.
pub const PATH: &str = "/password/reset";

/// Replaces the user's unspent links with a new one and queues the e-mail carrying it,
/// in the caller's transaction.
async fn issue(
    tx: &impl ConnectionTrait,
    ctx: &Context<'_>,
    user: &users::Model,
    actor: &Actor,
    requested_by: Option<i64>,
) -> Result<(), ServiceError> {
    let now = clock::now();
    let minutes = ctx.config.security.reset_link_minutes.max(1);
    let superseded = password_resets::Entity::delete_many()
        .filter(password_resets::Column::UserId.eq(user.id))
        .filter(password_resets::Column::UsedAt.is_null())
        .exec(tx)
        .await?
        .rows_affected;
    let token = random_token();
    let expires_at = now + Duration::minutes(minutes);
    password_resets::ActiveModel {
        user_id: Set(user.id),
        token_hash: Set(token_hash(&token)),
        requested_by: Set(requested_by),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    let message = PasswordReset {
        name: user.name.clone(),
        link: ctx.link(&format!("{PATH}/{token}")),
        valid_minutes: minutes,
        by_admin: requested_by.is_some(),
    };
    let email = message
        .to(&user.email, Some(format!("user:{}", user.id)))
        .map_err(mail::render_error)?;
    mail::enqueue(tx, email).await?;
    ledger::append(
        tx,
        actor,
        Entry::new("user", user.id, "send_password_reset").changes(json!({
            "requested_by": if requested_by.is_some() { "admin" } else { "self" },
            "expires_at": expires_at.to_rfc3339(),
            "superseded_links": superseded,
        })),
    )
    .await?;
    Ok(())
}

/// Someone asked for a reset link for `email` on the sign-in page. The caller shows the
/// same answer whatever happens here: an unknown or deactivated address, or a request
/// over the hourly allowance (per address asked for, known or not, and per client),
/// simply sends nothing.
pub async fn request(
    ctx: &Context<'_>,
    email: &str,
    client_addr: &str,
) -> Result<(), ServiceError> {
    let email = email.trim().to_lowercase();
    let keys = [reset_account_key(&email), reset_client_key(client_addr)];
    let tx = begin_write(ctx.db).await?;
    if throttle::locked_until(&tx, &keys).await?.is_some() {
        tx.commit().await?;
        return Ok(());
    }
    let policies = [ctx.throttles.reset_account, ctx.throttles.reset_client];
    for (key, policy) in keys.iter().zip(policies) {
        throttle::record_failure(&tx, &policy, key).await?;
    }
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(&tx)
        .await?;
    // Where passwords do not sign the account in, a reset link would be of no use.
    if let Some(user) = user.filter(|u| u.active && super::sign_in::password_allowed_for(ctx, u)) {
        issue(&tx, ctx, &user, &Actor::System, None).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// An administrator sends `user_id` a reset link (Users page). A deactivated account
/// is refused: reactivate it first.
pub async fn send_by_admin(
    ctx: &Context<'_>,
    admin_id: i64,
    user_id: i64,
) -> Result<users::Model, ServiceError> {
    let tx = begin_write(ctx.db).await?;
    let user = users::Entity::find_by_id(user_id)
        .one(&tx)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !user.active {
        return Err(ServiceError::Refused(format!(
            "{} is deactivated: reactivate the account before sending a reset link.",
            user.email
        )));
    }
    if !super::sign_in::password_allowed_for(ctx, &user) {
        return Err(ServiceError::Refused(format!(
            "Password sign-in is turned off for {}: they sign in with single sign-on \
             (\"{}\" on the sign-in page), so a reset link would be of no use.",
            user.email, ctx.config.oidc.button_label
        )));
    }
    issue(&tx, ctx, &user, &Actor::User(admin_id), Some(admin_id)).await?;
    tx.commit().await?;
    Ok(user)
}

/// The live link for `token` and its user: unspent, not expired, the user active.
async fn live(
    db: &impl ConnectionTrait,
    token: &str,
    lock: bool,
) -> Result<Option<(password_resets::Model, users::Model)>, ServiceError> {
    let mut query = password_resets::Entity::find()
        .filter(password_resets::Column::TokenHash.eq(token_hash(token)))
        .filter(password_resets::Column::UsedAt.is_null())
        .filter(password_resets::Column::ExpiresAt.gt(clock::now()));
    if lock {
        query = query.lock_exclusive();
    }
    let Some(link) = query.one(db).await? else {
        return Ok(None);
    };
    let user = users::Entity::find_by_id(link.user_id).one(db).await?;
    Ok(user.filter(|u| u.active).map(|u| (link, u)))
}

/// The e-mail address a live link is for (the reset page shows it); `None` otherwise.
pub async fn email_for(
    db: &DatabaseConnection,
    token: &str,
) -> Result<Option<String>, ServiceError> {
    Ok(live(db, token, false).await?.map(|(_, u)| u.email))
}

/// Uses the link: sets the new password, spends the link (and any other of the user's),
/// ends every session of the user. `NotFound` for an unknown, spent or expired link.
pub async fn reset(
    db: &DatabaseConnection,
    hasher: &PasswordHasher,
    token: &str,
    new: &str,
    confirmation: &str,
) -> Result<users::Model, ServiceError> {
    if live(db, token, false).await?.is_none() {
        return Err(ServiceError::NotFound);
    }
    check_new_password(new, confirmation).map_err(|m| ServiceError::field("new_password", m))?;
    // Hash before taking the write lock: argon2 is deliberately slow.
    let hash = hasher.hash(new).await?;
    let tx = begin_write(db).await?;
    // Again inside the transaction: two tabs racing with one link set it once.
    let (link, user) = live(&tx, token, true)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let now = clock::now();
    password_resets::ActiveModel {
        id: Set(link.id),
        used_at: Set(Some(now)),
        ..Default::default()
    }
    .update(&tx)
    .await?;
    password_resets::Entity::delete_many()
        .filter(password_resets::Column::UserId.eq(user.id))
        .filter(password_resets::Column::UsedAt.is_null())
        .exec(&tx)
        .await?;
    let user = users::ActiveModel {
        id: Set(user.id),
        password_hash: Set(hash),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(&tx)
    .await?;
    let ended = session::destroy_all_for_user(&tx, user.id, None).await?;
    // Whoever locked the account's sign-in by guessing, its owner now holds a password
    // nobody guessed: the account's lock ends (a client address's lock stays).
    throttle::clear(&tx, &throttle::account_key(&user.email)).await?;
    ledger::append(
        &tx,
        &Actor::User(user.id),
        Entry::new("user", user.id, "reset_password").changes(json!({
            "password": {"changed": true},
            "via": if link.requested_by.is_some() { "admin_link" } else { "self_link" },
            "sessions_ended": ended,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}
