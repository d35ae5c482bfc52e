//! Staff accounts: create, change role, (de)activate, change password, first-run setup.
use entity::users;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::json;

use super::Context;
use super::{ServiceError, sign_in};
use crate::auth::password::PasswordHasher;
use crate::auth::session::{self, NewSession, SessionPolicy};
use crate::auth::throttle::{self, account_key, client_key};
use crate::clock;
use crate::db::begin_write;
use crate::domain::account::{Email, check_new_password};
use crate::domain::role::Role;
use crate::ledger::{self, Actor, Entry};

pub struct NewAccount {
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub password: String,
}

fn snapshot(user: &users::Model) -> serde_json::Value {
    json!({"email": user.email, "name": user.name, "role": user.role, "active": user.active})
}

async fn insert(
    tx: &impl ConnectionTrait,
    account: &NewAccount,
    password_hash: String,
) -> Result<users::Model, ServiceError> {
    let taken = users::Entity::find()
        .filter(users::Column::Email.eq(account.email.as_str()))
        .count(tx)
        .await?;
    if taken > 0 {
        return Err(ServiceError::field(
            "email",
            "is already used by another account",
        ));
    }
    let now = clock::now();
    Ok(users::ActiveModel {
        email: Set(account.email.as_str().to_string()),
        name: Set(account.name.clone()),
        role: Set(account.role),
        password_hash: Set(password_hash),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(tx)
    .await?)
}

pub async fn create(
    db: &DatabaseConnection,
    hasher: &PasswordHasher,
    actor: &Actor,
    account: NewAccount,
) -> Result<users::Model, ServiceError> {
    // Hash before taking the write lock: argon2 is deliberately slow.
    let password_hash = hasher.hash(&account.password).await?;
    let tx = begin_write(db).await?;
    let user = insert(&tx, &account, password_hash).await?;
    ledger::append(
        &tx,
        actor,
        Entry::new("user", user.id, "create").changes(snapshot(&user)),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// First run: creates the first administrator, only while no account exists, and signs
/// them in.
pub async fn create_first_admin(
    db: &DatabaseConnection,
    hasher: &PasswordHasher,
    policy: &SessionPolicy,
    account: NewAccount,
) -> Result<(users::Model, NewSession), ServiceError> {
    let password_hash = hasher.hash(&account.password).await?;
    let tx = begin_write(db).await?;
    if users::Entity::find().count(&tx).await? > 0 {
        return Err(ServiceError::Refused(
            "Setup is already done: sign in instead.".into(),
        ));
    }
    let account = NewAccount {
        role: Role::Admin,
        ..account
    };
    let user = insert(&tx, &account, password_hash).await?;
    ledger::append(
        &tx,
        &Actor::System,
        Entry::new("user", user.id, "setup").changes(snapshot(&user)),
    )
    .await?;
    let session = session::create(&tx, policy, user.id).await?;
    tx.commit().await?;
    Ok((user, session))
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64, ServiceError> {
    Ok(users::Entity::find().count(db).await?)
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<users::Model>, ServiceError> {
    Ok(users::Entity::find()
        .order_by_asc(users::Column::Email)
        .all(db)
        .await?)
}

/// The active coordinators, who get the app's notices (overdue takedowns, the To do
/// page's nudges), by id.
pub async fn active_coordinators(
    db: &impl ConnectionTrait,
) -> Result<Vec<users::Model>, ServiceError> {
    Ok(users::Entity::find()
        .filter(users::Column::Role.eq(Role::Coordinator))
        .filter(users::Column::Active.eq(true))
        .order_by_asc(users::Column::Id)
        .all(db)
        .await?)
}

/// Refuses a change that would leave no active administrator to manage the others.
async fn ensure_another_admin(
    tx: &impl ConnectionTrait,
    target: &users::Model,
) -> Result<(), ServiceError> {
    if target.role != Role::Admin || !target.active {
        return Ok(());
    }
    let admins = users::Entity::find()
        .filter(users::Column::Role.eq(Role::Admin))
        .filter(users::Column::Active.eq(true))
        .count(tx)
        .await?;
    if admins <= 1 {
        return Err(ServiceError::Refused(format!(
            "{} is the last active administrator; make someone else an administrator first.",
            target.email
        )));
    }
    Ok(())
}

async fn update_user(
    db: &DatabaseConnection,
    actor: &Actor,
    user_id: i64,
    action: &'static str,
    change: impl FnOnce(&users::Model) -> Option<users::ActiveModel>,
) -> Result<users::Model, ServiceError> {
    let tx = begin_write(db).await?;
    let before = users::Entity::find_by_id(user_id)
        .one(&tx)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let Some(mut active) = change(&before) else {
        return Ok(before);
    };
    ensure_another_admin(&tx, &before).await?;
    active.updated_at = Set(clock::now());
    let after = active.update(&tx).await?;
    if !after.active {
        session::destroy_all_for_user(&tx, after.id, None).await?;
    }
    let changes = ledger::diff(&snapshot(&before), &snapshot(&after), &[]);
    ledger::append(
        &tx,
        actor,
        Entry::new("user", after.id, action).changes(changes),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn change_role(
    db: &DatabaseConnection,
    actor: &Actor,
    user_id: i64,
    role: Role,
) -> Result<users::Model, ServiceError> {
    update_user(db, actor, user_id, "change_role", |u| {
        (u.role != role).then(|| users::ActiveModel {
            id: Set(u.id),
            role: Set(role),
            ..Default::default()
        })
    })
    .await
}

pub async fn set_active(
    db: &DatabaseConnection,
    actor: &Actor,
    user_id: i64,
    active: bool,
) -> Result<users::Model, ServiceError> {
    if !active && *actor == Actor::User(user_id) {
        return Err(ServiceError::Refused(
            "You cannot deactivate your own account.".into(),
        ));
    }
    let action = if active { "activate" } else { "deactivate" };
    update_user(db, actor, user_id, action, |u| {
        (u.active != active).then(|| users::ActiveModel {
            id: Set(u.id),
            active: Set(active),
            ..Default::default()
        })
    })
    .await
}

/// What `/account/password` is given.
pub struct PasswordChange<'a> {
    pub user_id: i64,
    /// The session that made the change: it stays signed in.
    pub keep_session: &'a str,
    pub client_addr: &'a str,
    pub current: &'a str,
    pub new: &'a str,
    pub confirmation: &'a str,
}

/// Checks the current password (throttled exactly like signing in: the same counters
/// per account and per client address), stores the new hash and ends the user's other
/// sessions.
pub async fn change_password(
    ctx: &Context<'_>,
    change: PasswordChange<'_>,
) -> Result<(), ServiceError> {
    let PasswordChange {
        user_id,
        keep_session,
        client_addr,
        current,
        new,
        confirmation,
    } = change;
    let (db, hasher) = (ctx.db, ctx.hasher);
    let user = users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let keys = [account_key(&user.email), client_key(client_addr)];
    if let Some(until) = throttle::locked_until(db, &keys).await? {
        let minutes = ((until - clock::now()).num_seconds() + 59) / 60;
        return Err(ServiceError::field(
            "current_password",
            format!(
                "could not be checked: too many failed attempts. Try again in {} minute{}.",
                minutes.max(1),
                if minutes > 1 { "s" } else { "" }
            ),
        ));
    }
    if !hasher.verify(current, Some(&user.password_hash)).await? {
        let tx = begin_write(db).await?;
        sign_in::record_failures(&tx, ctx, &keys, Some(&user)).await?;
        tx.commit().await?;
        return Err(ServiceError::field(
            "current_password",
            "is not your current password",
        ));
    }
    check_new_password(new, confirmation).map_err(|m| ServiceError::field("new_password", m))?;
    let hash = hasher.hash(new).await?;
    let tx = begin_write(db).await?;
    throttle::record_success(&tx, &keys[0]).await?;
    users::ActiveModel {
        id: Set(user_id),
        password_hash: Set(hash),
        updated_at: Set(clock::now()),
        ..Default::default()
    }
    .update(&tx)
    .await?;
    session::destroy_all_for_user(&tx, user_id, Some(keep_session)).await?;
    ledger::append(
        &tx,
        &Actor::User(user_id),
        Entry::new("user", user_id, "change_password")
            .changes(json!({"password": {"changed": true}})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
