//! MCTs: created by hand or by the `trainers` import, optionally linked to a sign-in.
use chrono::NaiveDate;
use entity::{trainers, users};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::keyed::{Keyed, KeyedRecord};
use super::{Outcome, Search, ServiceError, lower_like, record_write};
use crate::clock;
use crate::db::begin_write;
use crate::domain::account::{Email, parse_name};
use crate::domain::fields::{FieldErrors, parse_bool, parse_code, parse_date};
use crate::domain::policy::STANDING_WARNING_DAYS;
use crate::domain::role::{Caller, Role};
use crate::ledger::{Actor, Entry, Recorder};

/// An MCT as typed in the form or a `trainers` CSV row (same field names).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TrainerFields {
    pub name: String,
    pub email: String,
    pub mct_id: String,
    pub mct_valid_until: String,
    pub affiliated: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrainerInput {
    pub name: String,
    pub email: Email,
    pub mct_id: String,
    pub mct_valid_until: NaiveDate,
    pub affiliated: bool,
}

impl TrainerFields {
    pub fn parse(&self) -> Result<TrainerInput, FieldErrors> {
        let mut e = FieldErrors::default();
        let name = e.check("name", parse_name(&self.name));
        let email = e.check("email", Email::parse(&self.email));
        let mct_id = e.check("mct_id", parse_code(&self.mct_id, 64));
        let valid = e.check("mct_valid_until", parse_date(&self.mct_valid_until));
        let affiliated = e.check("affiliated", parse_bool(&self.affiliated));
        match (name, email, mct_id, valid, affiliated) {
            (Some(name), Some(email), Some(mct_id), Some(mct_valid_until), Some(affiliated)) => {
                Ok(TrainerInput {
                    name,
                    email,
                    mct_id,
                    mct_valid_until,
                    affiliated,
                })
            }
            _ => Err(e),
        }
    }

    pub fn of(t: &trainers::Model) -> TrainerFields {
        TrainerFields {
            name: t.name.clone(),
            email: t.email.clone(),
            mct_id: t.mct_id.clone(),
            mct_valid_until: t.mct_valid_until.to_string(),
            affiliated: t.affiliated.to_string(),
        }
    }
}

fn snapshot(t: &trainers::Model) -> Value {
    json!({
        "name": t.name, "email": t.email, "mct_id": t.mct_id,
        "mct_valid_until": t.mct_valid_until.to_string(), "affiliated": t.affiliated,
        "user_id": t.user_id,
    })
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<trainers::Model, ServiceError> {
    trainers::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

pub async fn by_mct_id(
    db: &impl ConnectionTrait,
    mct_id: &str,
) -> Result<Option<trainers::Model>, ServiceError> {
    Ok(trainers::Entity::find()
        .filter(trainers::Column::MctId.eq(mct_id))
        .one(db)
        .await?)
}

/// The MCT record a signed-in trainer is linked to.
pub async fn of_user(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Option<trainers::Model>, ServiceError> {
    Ok(trainers::Entity::find()
        .filter(trainers::Column::UserId.eq(user_id))
        .one(db)
        .await?)
}

/// E-mail and MCT ID each belong to one trainer.
async fn ensure_unique(
    tx: &impl ConnectionTrait,
    input: &TrainerInput,
    except: Option<i64>,
) -> Result<(), ServiceError> {
    let email_owner = trainers::Entity::find()
        .filter(trainers::Column::Email.eq(input.email.as_str()))
        .one(tx)
        .await?;
    if let Some(other) = email_owner.filter(|o| Some(o.id) != except) {
        return Err(ServiceError::field(
            "email",
            format!("is already used by MCT {} ({})", other.mct_id, other.name),
        ));
    }
    let id_owner = by_mct_id(tx, &input.mct_id).await?;
    if let Some(other) = id_owner.filter(|o| Some(o.id) != except) {
        return Err(ServiceError::field(
            "mct_id",
            format!("{} is already {}'s MCT ID", input.mct_id, other.name),
        ));
    }
    Ok(())
}

/// Checks that `user_id` may be linked: an active account with role trainer, not linked
/// to another MCT.
async fn check_link(
    tx: &impl ConnectionTrait,
    user_id: i64,
    trainer_id: Option<i64>,
) -> Result<(), ServiceError> {
    let user = users::Entity::find_by_id(user_id)
        .one(tx)
        .await?
        .ok_or_else(|| ServiceError::field("user_id", "no such account"))?;
    if !user.active {
        return Err(ServiceError::field(
            "user_id",
            format!("{} is deactivated", user.email),
        ));
    }
    if user.role != Role::Trainer {
        return Err(ServiceError::field(
            "user_id",
            format!("{} has role {}, not trainer", user.email, user.role),
        ));
    }
    if let Some(other) = of_user(tx, user_id)
        .await?
        .filter(|o| Some(o.id) != trainer_id)
    {
        return Err(ServiceError::field(
            "user_id",
            format!(
                "{} is already linked to MCT {} ({})",
                user.email, other.mct_id, other.name
            ),
        ));
    }
    Ok(())
}

/// The one place an MCT's input meets its columns: a value equal to the stored one stays
/// unchanged, so `is_changed()` afterwards says whether the write changes anything.
fn assign(active: &mut trainers::ActiveModel, input: &TrainerInput) {
    active.name.set_ne(input.name.clone());
    active.email.set_ne(input.email.as_str().to_string());
    active.mct_id.set_ne(input.mct_id.clone());
    active.mct_valid_until.set_ne(input.mct_valid_until);
    active.affiliated.set_ne(input.affiliated);
}

/// Writes `input` over `existing` (or as a new MCT). `link` changes the linked account
/// when given (`Some(None)` unlinks); imports leave it alone.
pub(crate) async fn write(
    tx: &Recorder,
    actor: &Actor,
    action: &'static str,
    existing: Option<trainers::Model>,
    input: &TrainerInput,
    link: Option<Option<i64>>,
) -> Result<Outcome<trainers::Model>, ServiceError> {
    ensure_unique(tx, input, existing.as_ref().map(|t| t.id)).await?;
    if let Some(Some(user_id)) = link {
        check_link(tx, user_id, existing.as_ref().map(|t| t.id)).await?;
    }
    let now = clock::now();
    let (model, before) = match existing {
        Some(old) => {
            let before = snapshot(&old);
            let mut active: trainers::ActiveModel = old.clone().into();
            assign(&mut active, input);
            if let Some(user_id) = link {
                active.user_id.set_ne(user_id);
            }
            if !active.is_changed() {
                return Ok(Outcome::Unchanged(old));
            }
            active.updated_at = Set(now);
            (active.update(tx).await?, Some(before))
        }
        None => {
            let mut active = new_row(input);
            active.user_id = Set(link.flatten());
            (active.insert(tx).await?, None)
        }
    };
    let entry = Entry::new("trainer", model.id, action);
    Ok(record_write(tx, actor, entry, before, &snapshot(&model), model).await?)
}

fn new_row(input: &TrainerInput) -> trainers::ActiveModel {
    let now = clock::now();
    let mut active = trainers::ActiveModel {
        user_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    assign(&mut active, input);
    active
}

/// The `trainers` import's record: an MCT by MCT ID, whose e-mail no other MCT has.
pub(crate) struct Mcts;

impl KeyedRecord for Mcts {
    type Active = trainers::ActiveModel;
    type Input = TrainerInput;
    type Key = String;
    const ENTITY: &'static str = "trainer";

    fn key(input: &TrainerInput) -> String {
        input.mct_id.clone()
    }

    fn key_of(model: &trainers::Model) -> String {
        model.mct_id.clone()
    }

    fn id(model: &trainers::Model) -> i64 {
        model.id
    }

    /// The MCTs by the chunk's MCT IDs and by its e-mails (a new MCT's e-mail must be free).
    async fn prefetch(
        rows: &mut Keyed<String, trainers::ActiveModel, ()>,
        tx: &impl ConnectionTrait,
        inputs: &[TrainerInput],
    ) -> Result<(), ServiceError> {
        let ids = inputs.iter().map(|i| i.mct_id.clone());
        rows.load_more(tx, trainers::Column::MctId, ids, None)
            .await?;
        let emails = inputs.iter().map(|i| i.email.as_str().to_string());
        rows.load_more(tx, trainers::Column::Email, emails, None)
            .await
    }

    fn unchanged(stored: &trainers::Model, input: &TrainerInput) -> bool {
        let mut active: trainers::ActiveModel = stored.clone().into();
        assign(&mut active, input);
        !active.is_changed()
    }

    fn new_row(
        rows: &Keyed<String, trainers::ActiveModel, ()>,
        input: &TrainerInput,
    ) -> Result<trainers::ActiveModel, ServiceError> {
        let email = input.email.as_str();
        if let Some(other) = rows.found().find(|t| t.email == email) {
            return Err(ServiceError::field(
                "email",
                format!("is already used by MCT {} ({})", other.mct_id, other.name),
            ));
        }
        if let Some(other) = rows
            .pending_rows()
            .find(|t| t.email.as_ref().as_str() == email)
        {
            return Err(ServiceError::field(
                "email",
                format!(
                    "is already used by MCT {} ({})",
                    other.mct_id.as_ref(),
                    other.name.as_ref()
                ),
            ));
        }
        Ok(new_row(input))
    }

    fn snapshot(model: &trainers::Model) -> Value {
        snapshot(model)
    }

    async fn update(
        tx: &Recorder,
        actor: &Actor,
        stored: trainers::Model,
        input: &TrainerInput,
    ) -> Result<trainers::Model, ServiceError> {
        Ok(write(tx, actor, "import", Some(stored), input, None)
            .await?
            .into_model())
    }
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: &TrainerInput,
    user_id: Option<i64>,
) -> Result<trainers::Model, ServiceError> {
    let tx = begin_write(db).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let trainer = write(&tx, actor, "create", None, input, Some(user_id))
        .await?
        .into_model();
    tx.commit().await?;
    Ok(trainer)
}

pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    input: &TrainerInput,
    user_id: Option<i64>,
) -> Result<Outcome<trainers::Model>, ServiceError> {
    let tx = begin_write(db).await?;
    let old = get(&tx, id).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let outcome = write(&tx, actor, "update", Some(old), input, Some(user_id)).await?;
    tx.commit().await?;
    Ok(outcome)
}

pub const LIST_LIMIT: u64 = 500;

/// MCTs whose name, e-mail or MCT ID contains `search`, by name.
pub async fn list(
    db: &impl ConnectionTrait,
    search: &str,
) -> Result<Vec<trainers::Model>, ServiceError> {
    let mut query = trainers::Entity::find()
        .order_by_asc(trainers::Column::Name)
        .order_by_asc(trainers::Column::Id);
    if let Some(search) = Search::parse(search) {
        let pattern = search.contains();
        query = query.filter(
            lower_like(trainers::Column::Name, pattern.clone())
                .or(trainers::Column::Email.like(pattern.clone()))
                .or(lower_like(trainers::Column::MctId, pattern.clone())),
        );
    }
    Ok(query.limit(LIST_LIMIT).all(db).await?)
}

/// Every MCT, for the class form's picker.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<trainers::Model>, ServiceError> {
    Ok(trainers::Entity::find()
        .order_by_asc(trainers::Column::Name)
        .all(db)
        .await?)
}

/// MCTs still in good standing on `today` whose standing ends within the warning period,
/// soonest first.
pub async fn ending_soon(
    db: &impl ConnectionTrait,
    today: NaiveDate,
) -> Result<Vec<trainers::Model>, ServiceError> {
    Ok(ending_soon_query(today)
        .order_by_asc(trainers::Column::MctValidUntil)
        .all(db)
        .await?)
}

/// The MCTs of [`ending_soon`], as a query to count, order or page.
pub fn ending_soon_query(today: NaiveDate) -> sea_orm::Select<trainers::Entity> {
    let horizon = today + chrono::Duration::days(STANDING_WARNING_DAYS);
    trainers::Entity::find()
        .filter(trainers::Column::MctValidUntil.gte(today))
        .filter(trainers::Column::MctValidUntil.lte(horizon))
}

/// MCTs whose good standing has already ended, most recently lapsed first.
pub async fn lapsed(
    db: &impl ConnectionTrait,
    today: NaiveDate,
) -> Result<Vec<trainers::Model>, ServiceError> {
    Ok(trainers::Entity::find()
        .filter(trainers::Column::MctValidUntil.lt(today))
        .order_by_desc(trainers::Column::MctValidUntil)
        .all(db)
        .await?)
}

/// Accounts with role trainer, for the link picker.
pub async fn linkable_users(db: &impl ConnectionTrait) -> Result<Vec<users::Model>, ServiceError> {
    Ok(users::Entity::find()
        .filter(users::Column::Role.eq(Role::Trainer))
        .filter(users::Column::Active.eq(true))
        .order_by_asc(users::Column::Email)
        .all(db)
        .await?)
}

/// Refuses (as not found) a record of MCT `trainer_id` to a trainer who is not that MCT:
/// staff see every record, a trainer only their own (another's does not exist for them).
pub async fn ensure_visible(
    db: &impl sea_orm::ConnectionTrait,
    user: &Caller,
    trainer_id: i64,
) -> Result<(), ServiceError> {
    if user.role == crate::domain::role::Role::Trainer
        && of_user(db, user.id).await?.map(|t| t.id) != Some(trainer_id)
    {
        return Err(ServiceError::NotFound);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trainer_rows_parse_and_name_every_bad_field() {
        let good = TrainerFields {
            name: "Zoë O'Brien".into(),
            email: "Zoe@Example.com".into(),
            mct_id: "mct-0042".into(),
            mct_valid_until: "2027-06-30".into(),
            affiliated: "true".into(),
        };
        let input = good.parse().unwrap();
        assert_eq!(
            (input.email.as_str(), input.mct_id.as_str()),
            ("zoe@example.com", "MCT-0042")
        );
        let bad = TrainerFields {
            email: "zoe".into(),
            mct_valid_until: "30/06/2027".into(),
            affiliated: "y".into(),
            ..good
        };
        let named: Vec<_> = bad.parse().unwrap_err().0.iter().map(|(f, _)| *f).collect();
        assert_eq!(named, ["email", "mct_valid_until", "affiliated"]);
    }
}
