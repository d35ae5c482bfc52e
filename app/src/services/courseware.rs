//! Courseware Marketplace purchases (the Learning Partner program, issue 17 item 3), by
//! hand or by the `courseware` import: what was bought (a product kind and code), how
//! many kits, the revenue in US dollars (kept as cents), on which order and day.
//!
//! A purchase is one product on one order: `(order_ref, product_code)` is unique and is
//! the import's key, as for exam vouchers.
use chrono::NaiveDate;
use entity::courseware_purchases;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::keyed::{Keyed, KeyedRecord, RecordImport};
use super::{Outcome, ServiceError, record_write};
use crate::clock;
use crate::db::begin_write;
use crate::domain::fields::{FieldErrors, parse_code, parse_date, parse_text};
use crate::domain::learning_partner::{ProductKind, cents_text, parse_usd};
use crate::ledger::{Actor, Entry, Recorder};

/// The ledger's name for these records.
pub const ENTITY: &str = "courseware_purchase";

pub const MAX_QUANTITY: i32 = 100_000;

/// A purchase as typed in the form or a `courseware` CSV row (same field names).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PurchaseFields {
    pub purchased_on: String,
    pub product_kind: String,
    pub product_code: String,
    pub quantity: String,
    pub revenue_usd: String,
    pub order_ref: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PurchaseInput {
    pub purchased_on: NaiveDate,
    pub product_kind: ProductKind,
    pub product_code: String,
    pub quantity: i32,
    pub revenue_cents: i64,
    pub order_ref: String,
}

impl PurchaseFields {
    pub fn parse(&self) -> Result<PurchaseInput, FieldErrors> {
        let mut e = FieldErrors::default();
        let purchased_on = e.check("purchased_on", parse_date(&self.purchased_on));
        let product_kind = e.check("product_kind", self.product_kind.trim().parse());
        let product_code = e.check("product_code", parse_code(&self.product_code, 32));
        let quantity = e.check(
            "quantity",
            match self.quantity.trim().parse::<i32>() {
                Ok(q) if (1..=MAX_QUANTITY).contains(&q) => Ok(q),
                _ => Err(format!(
                    "must be a whole number of kits from 1 to {MAX_QUANTITY}, not {}",
                    crate::domain::fields::shown(self.quantity.trim())
                )),
            },
        );
        let revenue_cents = e.check("revenue_usd", parse_usd(&self.revenue_usd));
        let order_ref = e.check("order_ref", parse_text(&self.order_ref, 64));
        match (
            purchased_on,
            product_kind,
            product_code,
            quantity,
            revenue_cents,
            order_ref,
        ) {
            (
                Some(purchased_on),
                Some(product_kind),
                Some(product_code),
                Some(quantity),
                Some(revenue_cents),
                Some(order_ref),
            ) => Ok(PurchaseInput {
                purchased_on,
                product_kind,
                product_code,
                quantity,
                revenue_cents,
                order_ref,
            }),
            _ => Err(e),
        }
    }

    pub fn of(p: &courseware_purchases::Model) -> PurchaseFields {
        PurchaseFields {
            purchased_on: p.purchased_on.to_string(),
            product_kind: p.product_kind.id().to_string(),
            product_code: p.product_code.clone(),
            quantity: p.quantity.to_string(),
            revenue_usd: cents_text(p.revenue_cents),
            order_ref: p.order_ref.clone(),
        }
    }
}

fn snapshot(p: &courseware_purchases::Model) -> Value {
    json!({
        "purchased_on": p.purchased_on.to_string(), "product_kind": p.product_kind,
        "product_code": p.product_code, "quantity": p.quantity,
        "revenue_usd": cents_text(p.revenue_cents), "order_ref": p.order_ref,
    })
}

pub async fn get(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<courseware_purchases::Model, ServiceError> {
    courseware_purchases::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The purchase of `product_code` on order `order_ref` (the import's key).
pub async fn by_key(
    db: &impl ConnectionTrait,
    order_ref: &str,
    product_code: &str,
) -> Result<Option<courseware_purchases::Model>, ServiceError> {
    Ok(courseware_purchases::Entity::find()
        .filter(courseware_purchases::Column::OrderRef.eq(order_ref))
        .filter(courseware_purchases::Column::ProductCode.eq(product_code))
        .one(db)
        .await?)
}

/// The one place a purchase's input meets its columns: a value equal to the stored one
/// stays unchanged, so `is_changed()` afterwards says whether the write changes anything.
fn assign(active: &mut courseware_purchases::ActiveModel, input: &PurchaseInput) {
    active.purchased_on.set_ne(input.purchased_on);
    active.product_kind.set_ne(input.product_kind);
    active.product_code.set_ne(input.product_code.clone());
    active.quantity.set_ne(input.quantity);
    active.revenue_cents.set_ne(input.revenue_cents);
    active.order_ref.set_ne(input.order_ref.clone());
}

/// Writes `input` over `existing` (or as a new purchase) and records the change.
pub(crate) async fn write(
    tx: &Recorder,
    actor: &Actor,
    action: &'static str,
    existing: Option<courseware_purchases::Model>,
    input: &PurchaseInput,
) -> Result<Outcome<courseware_purchases::Model>, ServiceError> {
    let (model, before) = match existing {
        Some(old) => {
            let before = snapshot(&old);
            let mut active: courseware_purchases::ActiveModel = old.clone().into();
            assign(&mut active, input);
            if !active.is_changed() {
                return Ok(Outcome::Unchanged(old));
            }
            active.updated_at = Set(clock::now());
            (active.update(tx).await?, Some(before))
        }
        None => (new_row(input).insert(tx).await?, None),
    };
    let entry = Entry::new(ENTITY, model.id, action);
    Ok(record_write(tx, actor, entry, before, &snapshot(&model), model).await?)
}

fn new_row(input: &PurchaseInput) -> courseware_purchases::ActiveModel {
    let now = clock::now();
    let mut active = courseware_purchases::ActiveModel {
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    assign(&mut active, input);
    active
}

/// Refuses a second line for the same product on the same order.
async fn ensure_key_free(
    tx: &impl ConnectionTrait,
    input: &PurchaseInput,
    except: Option<i64>,
) -> Result<(), ServiceError> {
    match by_key(tx, &input.order_ref, &input.product_code).await? {
        Some(other) if Some(other.id) != except => Err(ServiceError::field(
            "order_ref",
            format!(
                "order {} already has a purchase of {} ({} kits): edit that one",
                other.order_ref, other.product_code, other.quantity
            ),
        )),
        _ => Ok(()),
    }
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: &PurchaseInput,
) -> Result<courseware_purchases::Model, ServiceError> {
    let tx = begin_write(db).await?;
    ensure_key_free(&tx, input, None).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let purchase = write(&tx, actor, "create", None, input).await?.into_model();
    tx.commit().await?;
    Ok(purchase)
}

pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    input: &PurchaseInput,
) -> Result<Outcome<courseware_purchases::Model>, ServiceError> {
    let tx = begin_write(db).await?;
    let old = get(&tx, id).await?;
    ensure_key_free(&tx, input, Some(id)).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let outcome = write(&tx, actor, "update", Some(old), input).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// A `courseware` row as checked without the database (before an import locks),
/// reported by its first bad field like the vouchers.
pub(crate) fn parse_row(row: &PurchaseFields) -> Result<PurchaseInput, ServiceError> {
    row.parse().map_err(|e| {
        let (field, message) =
            e.0.into_iter()
                .next()
                .unwrap_or(("row", "is invalid".into()));
        ServiceError::field(field, message)
    })
}

/// The `courseware` import's record: a purchase by `(order_ref, product_code)`, the same
/// row again changing nothing and a changed one updating.
pub(crate) struct Purchases;

pub(crate) type PurchaseImport = RecordImport<Purchases>;

impl KeyedRecord for Purchases {
    type Active = courseware_purchases::ActiveModel;
    type Input = PurchaseInput;
    type Key = (String, String);
    const ENTITY: &'static str = ENTITY;

    fn key(input: &PurchaseInput) -> Self::Key {
        (input.order_ref.clone(), input.product_code.clone())
    }

    fn key_of(model: &courseware_purchases::Model) -> Self::Key {
        (model.order_ref.clone(), model.product_code.clone())
    }

    fn id(model: &courseware_purchases::Model) -> i64 {
        model.id
    }

    async fn prefetch(
        rows: &mut Keyed<Self::Key, Self::Active, ()>,
        tx: &impl ConnectionTrait,
        inputs: &[PurchaseInput],
    ) -> Result<(), ServiceError> {
        let orders = inputs.iter().map(|i| i.order_ref.clone());
        rows.load_more(tx, courseware_purchases::Column::OrderRef, orders, None)
            .await
    }

    fn unchanged(stored: &courseware_purchases::Model, input: &PurchaseInput) -> bool {
        let mut active: courseware_purchases::ActiveModel = stored.clone().into();
        assign(&mut active, input);
        !active.is_changed()
    }

    fn new_row(
        _: &Keyed<Self::Key, Self::Active, ()>,
        input: &PurchaseInput,
    ) -> Result<Self::Active, ServiceError> {
        Ok(new_row(input))
    }

    fn snapshot(model: &courseware_purchases::Model) -> Value {
        snapshot(model)
    }

    async fn update(
        tx: &Recorder,
        actor: &Actor,
        stored: courseware_purchases::Model,
        input: &PurchaseInput,
    ) -> Result<courseware_purchases::Model, ServiceError> {
        Ok(write(tx, actor, "import", Some(stored), input)
            .await?
            .into_model())
    }
}

pub const LIST_LIMIT: u64 = 500;

/// Purchases, newest first (by purchase date, then most recently entered).
pub async fn list(
    db: &impl ConnectionTrait,
) -> Result<Vec<courseware_purchases::Model>, ServiceError> {
    Ok(courseware_purchases::Entity::find()
        .order_by_desc(courseware_purchases::Column::PurchasedOn)
        .order_by_desc(courseware_purchases::Column::Id)
        .limit(LIST_LIMIT)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> PurchaseFields {
        PurchaseFields {
            purchased_on: "2026-03-02".into(),
            product_kind: "moc".into(),
            product_code: "20742b".into(),
            quantity: "12".into(),
            revenue_usd: "1234.5".into(),
            order_ref: " CM-1001 ".into(),
        }
    }

    #[test]
    fn purchase_rows_parse_into_typed_input() {
        let input = fields().parse().unwrap();
        assert_eq!(input.product_code, "20742B");
        assert_eq!(input.product_kind, ProductKind::Moc);
        assert_eq!(input.quantity, 12);
        assert_eq!(input.revenue_cents, 123_450);
        assert_eq!(input.order_ref, "CM-1001");
    }

    #[test]
    fn every_bad_purchase_field_is_named() {
        let bad = PurchaseFields {
            purchased_on: "02/03/2026".into(),
            product_kind: "dvd".into(),
            product_code: "".into(),
            quantity: "0".into(),
            revenue_usd: "$12".into(),
            order_ref: "".into(),
        };
        let named: Vec<_> = bad.parse().unwrap_err().0.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            named,
            [
                "purchased_on",
                "product_kind",
                "product_code",
                "quantity",
                "revenue_usd",
                "order_ref"
            ]
        );
        let e = PurchaseFields {
            product_kind: "dvd".into(),
            ..fields()
        }
        .parse()
        .unwrap_err();
        assert!(e.get("product_kind").unwrap().contains("mccvl"), "{e:?}");
    }
}
