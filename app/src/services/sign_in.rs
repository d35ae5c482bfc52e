//! Signing in: throttled per account and per client address, constant-time for unknown
//! accounts, a fresh session on success, every lockout in the ledger.
use chrono::{DateTime, Utc};
use entity::users;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use super::Context;
use super::ServiceError;
use crate::auth::session::{self, NewSession};
use crate::auth::throttle::{self, account_key, client_key};
use crate::db::begin_write;
use crate::domain::account::Email;
use crate::domain::role::Role;
use crate::ledger::{self, Actor, Entry};

pub enum SignInOutcome {
    SignedIn {
        user: users::Model,
        session: NewSession,
    },
    /// Wrong e-mail or password, or an inactive account: one message for all three.
    Invalid,
    Locked {
        until: DateTime<Utc>,
    },
    /// Password sign-in is off for this account: it signs in through the provider.
    PasswordOff,
    /// Not an e-mail address at all (or overlong): refused before anything is counted
    /// or written, so junk never reaches the throttle table or the ledger.
    MalformedEmail(String),
}

pub async fn sign_in(
    ctx: &Context<'_>,
    email: &str,
    password: &str,
    client_addr: &str,
) -> Result<SignInOutcome, ServiceError> {
    let email = match Email::parse(email) {
        Ok(email) => email.as_str().to_string(),
        Err(message) => return Ok(SignInOutcome::MalformedEmail(message)),
    };
    // Decided from the e-mail alone, before any lookup: the answer tells nobody whether
    // the account exists.
    if !ctx.config.oidc.password_allowed(&email, Role::Admin) {
        return Ok(SignInOutcome::PasswordOff);
    }
    let keys = [account_key(&email), client_key(client_addr)];
    if let Some(until) = throttle::locked_until(ctx.db, &keys).await? {
        return Ok(SignInOutcome::Locked { until });
    }

    let user = users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(ctx.db)
        .await?;
    let password_ok = ctx
        .hasher
        .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
        .await?;

    let tx = begin_write(ctx.db).await?;
    match user {
        Some(user) if password_ok && user.active && password_allowed_for(ctx, &user) => {
            throttle::record_success(&tx, &keys[0]).await?;
            let session = session::create(&tx, ctx.sessions, user.id).await?;
            tx.commit().await?;
            Ok(SignInOutcome::SignedIn { user, session })
        }
        user => {
            record_failures(&tx, ctx, &keys, user.as_ref()).await?;
            tx.commit().await?;
            Ok(SignInOutcome::Invalid)
        }
    }
}

/// A break-glass e-mail keeps password sign-in only while its account is an admin.
pub(crate) fn password_allowed_for(ctx: &Context<'_>, user: &users::Model) -> bool {
    ctx.config.oidc.password_allowed(&user.email, user.role)
}

pub enum VerifiedSignInOutcome {
    SignedIn {
        user: users::Model,
        session: NewSession,
    },
    /// No active account has the e-mail the provider vouched for.
    NoAccount,
}

/// Signs in the account whose e-mail a sign-in provider has verified. Accounts are never
/// created here: an admin invites people first.
pub async fn sign_in_verified(
    ctx: &Context<'_>,
    email: &str,
) -> Result<VerifiedSignInOutcome, ServiceError> {
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(email.trim().to_lowercase()))
        .one(ctx.db)
        .await?;
    let Some(user) = user.filter(|u| u.active) else {
        return Ok(VerifiedSignInOutcome::NoAccount);
    };
    let tx = begin_write(ctx.db).await?;
    let session = session::create(&tx, ctx.sessions, user.id).await?;
    tx.commit().await?;
    Ok(VerifiedSignInOutcome::SignedIn { user, session })
}

/// Counts one failed password check against the account and the client address (the
/// keys of [`sign_in`]); a failure that starts a lock is a ledger entry. Shared with the
/// current-password check of `/account/password`, so both count together.
pub async fn record_failures(
    tx: &impl sea_orm::ConnectionTrait,
    ctx: &Context<'_>,
    keys: &[String; 2],
    user: Option<&users::Model>,
) -> Result<(), ServiceError> {
    let policies = [ctx.throttles.account, ctx.throttles.client];
    for (key, policy) in keys.iter().zip(policies) {
        if let Some(until) = throttle::record_failure(tx, &policy, key).await? {
            let (entity_type, entity_id) = match (user, key.starts_with("account:")) {
                (Some(u), true) => ("user", u.id.to_string()),
                _ => ("login", key.clone()),
            };
            let entry = Entry::new(entity_type, entity_id, "lockout")
                .changes(json!({"key": key, "locked_until": until.to_rfc3339()}));
            ledger::append(tx, &Actor::System, entry).await?;
        }
    }
    Ok(())
}
