//! An MCT's classes as a calendar (issue 16 item 6): the secret, revocable feed URL and
//! the `.ics` attached to the e-mail that assigns a class. The token is shown once and
//! stored only as its SHA-256, like every other link token.
use chrono::NaiveDate;
use entity::{classes, courses, trainers};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;

use super::ServiceError;
use crate::auth::{is_token_shaped, random_token, token_hash};
use crate::clock;
use crate::config::ServerConfig;
use crate::db::begin_write;
use crate::domain::calendar::{self, Event};
use crate::domain::delivery::ClassStatus;
use crate::ledger::{Actor, Entry, Recorder};

/// How far back the feed goes (classes that ended longer ago are left out).
pub const FEED_DAYS_BACK: i64 = 365;
/// The most classes one feed holds (the nearest first, then by start date).
pub const FEED_LIMIT: u64 = 2_000;

/// A class as its MCT's calendar shows it.
pub fn event(class: &classes::Model, course: &courses::Model, server: &ServerConfig) -> Event {
    let host = server
        .public_url
        .split("://")
        .nth(1)
        .unwrap_or("tsp-ledger")
        .trim_end_matches('/')
        .to_string();
    Event {
        uid: format!("class-{}@{host}", class.id),
        summary: format!(
            "{} {} ({})",
            course.course_code, course.title, class.class_ref
        ),
        description: format!(
            "{}; {}. {}",
            class.modality.label(),
            class.status.label(),
            server.link(&format!("/classes/{}", class.id))
        ),
        location: class.location.clone(),
        url: Some(server.link(&format!("/classes/{}", class.id))),
        first_day: class.start_date,
        last_day: class.end_date,
        cancelled: class.status == ClassStatus::Cancelled,
        sequence: class.updated_at.timestamp() - class.created_at.timestamp(),
        last_modified: class.updated_at,
    }
}

/// A class as the public schedule shows it: [`event`] without the link to the class's
/// page (only signed-in staff may open it) and without its status; the description
/// names the modality and the language instead.
pub fn public_event(
    class: &classes::Model,
    course: &courses::Model,
    server: &ServerConfig,
) -> Event {
    let mut description = class.modality.label().to_string();
    if let Some(language) = &class.language {
        description.push_str(&format!("; language {language}"));
    }
    Event {
        description,
        url: None,
        ..event(class, course, server)
    }
}

/// The MCT's calendar: their classes ending on or after a year before `today`.
pub async fn calendar_of(
    db: &impl ConnectionTrait,
    trainer: &trainers::Model,
    today: NaiveDate,
    server: &ServerConfig,
) -> Result<String, ServiceError> {
    let found = classes::Entity::find()
        .filter(classes::Column::TrainerId.eq(trainer.id))
        .filter(classes::Column::EndDate.gte(today - chrono::Duration::days(FEED_DAYS_BACK)))
        .find_also_related(courses::Entity)
        .order_by_asc(classes::Column::StartDate)
        .order_by_asc(classes::Column::Id)
        .limit(FEED_LIMIT)
        .all(db)
        .await?;
    let events: Vec<Event> = found
        .iter()
        .filter_map(|(class, course)| Some(event(class, course.as_ref()?, server)))
        .collect();
    Ok(calendar::render(
        &format!("{}: classes (tsp-ledger)", trainer.name),
        &events,
        clock::now(),
    ))
}

/// The MCT whose feed `token` opens (unknown, revoked or malformed: `NotFound`).
pub async fn trainer_of_feed(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<trainers::Model, ServiceError> {
    if !is_token_shaped(token) {
        return Err(ServiceError::NotFound);
    }
    trainers::Entity::find()
        .filter(trainers::Column::CalendarTokenHash.eq(token_hash(token)))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// A new feed token for the MCT signed in as `user_id` (the old URL stops working);
/// returns the token, shown once.
pub async fn new_feed(db: &DatabaseConnection, user_id: i64) -> Result<String, ServiceError> {
    let token = random_token();
    set_feed(db, user_id, Some(token_hash(&token)), "calendar_feed_new").await?;
    Ok(token)
}

/// Turns the MCT's feed off: its URL answers 404 from now on.
pub async fn revoke_feed(db: &DatabaseConnection, user_id: i64) -> Result<(), ServiceError> {
    set_feed(db, user_id, None, "calendar_feed_revoke").await
}

async fn set_feed(
    db: &DatabaseConnection,
    user_id: i64,
    hash: Option<String>,
    action: &'static str,
) -> Result<(), ServiceError> {
    let actor = Actor::User(user_id);
    let tx = Recorder::lock(begin_write(db).await?, &actor).await?;
    let trainer = super::trainers::of_user(&tx, user_id)
        .await?
        .ok_or(ServiceError::Forbidden)?;
    let had = trainer.calendar_token_hash.is_some();
    let id = trainer.id;
    let mut active: trainers::ActiveModel = trainer.into();
    active.calendar_token_hash = Set(hash.clone());
    active.update(&tx).await?;
    // The token itself never enters the ledger: only that the URL changed.
    let entry = Entry::new("trainer", id, action).changes(json!({
        "calendar_feed": {"before": had, "after": hash.is_some()},
    }));
    tx.record_as(&actor, entry).await?;
    tx.commit().await?;
    Ok(())
}
