//! Exam voucher purchases (SPEC §2), by hand or by the `vouchers` import, and their
//! exam points (SPEC §4: fundamentals × 0.5, advanced × 1, counted on `purchased_on`).
//!
//! A purchase is one exam on one order: `(order_ref, exam_code)` is unique and is the
//! import's key.
use chrono::NaiveDate;
use entity::exam_vouchers;
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
use crate::domain::catalog::Level;
use crate::domain::fields::{FieldErrors, parse_code, parse_date, parse_text};
use crate::ledger::{Actor, Entry, Recorder};

/// The ledger's name for these records.
pub const ENTITY: &str = "exam_voucher";

pub const MAX_QUANTITY: i32 = 100_000;

/// Exam points of a stored purchase, in half-points.
pub fn half_points(voucher: &exam_vouchers::Model) -> i64 {
    i64::from(voucher.quantity) * voucher.level.half_points_per_unit()
}

/// Half-points as text: `50`, `12.5`.
pub fn points_text(half_points: i64) -> String {
    if half_points % 2 == 0 {
        (half_points / 2).to_string()
    } else {
        format!("{}.5", half_points / 2)
    }
}

/// A purchase as typed in the form or a `vouchers` CSV row (same field names).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VoucherFields {
    pub purchased_on: String,
    pub exam_code: String,
    pub level: String,
    pub quantity: String,
    pub order_ref: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VoucherInput {
    pub purchased_on: NaiveDate,
    pub exam_code: String,
    pub level: Level,
    pub quantity: i32,
    pub order_ref: String,
}

impl VoucherFields {
    pub fn parse(&self) -> Result<VoucherInput, FieldErrors> {
        let mut e = FieldErrors::default();
        let purchased_on = e.check("purchased_on", parse_date(&self.purchased_on));
        let exam_code = e.check("exam_code", parse_code(&self.exam_code, 32));
        let level = e.check("level", self.level.trim().parse::<Level>());
        let quantity = e.check(
            "quantity",
            match self.quantity.trim().parse::<i32>() {
                Ok(q) if (1..=MAX_QUANTITY).contains(&q) => Ok(q),
                _ => Err(format!(
                    "must be a whole number from 1 to {MAX_QUANTITY}, not {:?}",
                    self.quantity.trim()
                )),
            },
        );
        let order_ref = e.check("order_ref", parse_text(&self.order_ref, 64));
        match (purchased_on, exam_code, level, quantity, order_ref) {
            (Some(purchased_on), Some(exam_code), Some(level), Some(quantity), Some(order_ref)) => {
                Ok(VoucherInput {
                    purchased_on,
                    exam_code,
                    level,
                    quantity,
                    order_ref,
                })
            }
            _ => Err(e),
        }
    }

    pub fn of(v: &exam_vouchers::Model) -> VoucherFields {
        VoucherFields {
            purchased_on: v.purchased_on.to_string(),
            exam_code: v.exam_code.clone(),
            level: v.level.to_string(),
            quantity: v.quantity.to_string(),
            order_ref: v.order_ref.clone(),
        }
    }
}

fn snapshot(v: &exam_vouchers::Model) -> Value {
    json!({
        "purchased_on": v.purchased_on.to_string(), "exam_code": v.exam_code,
        "level": v.level, "quantity": v.quantity, "order_ref": v.order_ref,
    })
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<exam_vouchers::Model, ServiceError> {
    exam_vouchers::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The purchase of `exam_code` on order `order_ref` (the import's key).
pub async fn by_key(
    db: &impl ConnectionTrait,
    order_ref: &str,
    exam_code: &str,
) -> Result<Option<exam_vouchers::Model>, ServiceError> {
    Ok(exam_vouchers::Entity::find()
        .filter(exam_vouchers::Column::OrderRef.eq(order_ref))
        .filter(exam_vouchers::Column::ExamCode.eq(exam_code))
        .one(db)
        .await?)
}

/// The one place a purchase's input meets its columns: a value equal to the stored one
/// stays unchanged, so `is_changed()` afterwards says whether the write changes anything.
fn assign(active: &mut exam_vouchers::ActiveModel, input: &VoucherInput) {
    active.purchased_on.set_ne(input.purchased_on);
    active.exam_code.set_ne(input.exam_code.clone());
    active.level.set_ne(input.level);
    active.quantity.set_ne(input.quantity);
    active.order_ref.set_ne(input.order_ref.clone());
}

/// Writes `input` over `existing` (or as a new purchase) and records the change.
pub(crate) async fn write(
    tx: &Recorder,
    actor: &Actor,
    action: &'static str,
    existing: Option<exam_vouchers::Model>,
    input: &VoucherInput,
) -> Result<Outcome<exam_vouchers::Model>, ServiceError> {
    let now = clock::now();
    let (model, before) = match existing {
        Some(old) => {
            let before = snapshot(&old);
            let mut active: exam_vouchers::ActiveModel = old.clone().into();
            assign(&mut active, input);
            if !active.is_changed() {
                return Ok(Outcome::Unchanged(old));
            }
            active.updated_at = Set(now);
            (active.update(tx).await?, Some(before))
        }
        None => (new_row(input).insert(tx).await?, None),
    };
    let entry = Entry::new(ENTITY, model.id, action);
    Ok(record_write(tx, actor, entry, before, &snapshot(&model), model).await?)
}

fn new_row(input: &VoucherInput) -> exam_vouchers::ActiveModel {
    let now = clock::now();
    let mut active = exam_vouchers::ActiveModel {
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    assign(&mut active, input);
    active
}

/// Refuses a second line for the same exam on the same order.
async fn ensure_key_free(
    tx: &impl ConnectionTrait,
    input: &VoucherInput,
    except: Option<i64>,
) -> Result<(), ServiceError> {
    match by_key(tx, &input.order_ref, &input.exam_code).await? {
        Some(other) if Some(other.id) != except => Err(ServiceError::field(
            "order_ref",
            format!(
                "order {} already has a purchase of {} ({} {} vouchers): edit that one",
                other.order_ref, other.exam_code, other.quantity, other.level
            ),
        )),
        _ => Ok(()),
    }
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: &VoucherInput,
) -> Result<exam_vouchers::Model, ServiceError> {
    let tx = begin_write(db).await?;
    ensure_key_free(&tx, input, None).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let voucher = write(&tx, actor, "create", None, input).await?.into_model();
    tx.commit().await?;
    Ok(voucher)
}

pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    input: &VoucherInput,
) -> Result<Outcome<exam_vouchers::Model>, ServiceError> {
    let tx = begin_write(db).await?;
    let old = get(&tx, id).await?;
    ensure_key_free(&tx, input, Some(id)).await?;
    let tx = Recorder::lock(tx, actor).await?;
    let outcome = write(&tx, actor, "update", Some(old), input).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// A `vouchers` row as checked without the database (before an import locks). Like the
/// codes and survey responses, a bad row is reported by its first bad field.
pub(crate) fn parse_row(row: &VoucherFields) -> Result<VoucherInput, ServiceError> {
    row.parse().map_err(|e| {
        let (field, message) =
            e.0.into_iter()
                .next()
                .unwrap_or(("row", "is invalid".into()));
        ServiceError::field(field, message)
    })
}

/// The `vouchers` import's record: a purchase by `(order_ref, exam_code)`, the same row
/// again changing nothing and a changed one updating.
pub(crate) struct Purchases;

pub(crate) type VoucherImport = RecordImport<Purchases>;

impl KeyedRecord for Purchases {
    type Active = exam_vouchers::ActiveModel;
    type Input = VoucherInput;
    type Key = (String, String);
    const ENTITY: &'static str = ENTITY;

    fn key(input: &VoucherInput) -> Self::Key {
        (input.order_ref.clone(), input.exam_code.clone())
    }

    fn key_of(model: &exam_vouchers::Model) -> Self::Key {
        (model.order_ref.clone(), model.exam_code.clone())
    }

    fn id(model: &exam_vouchers::Model) -> i64 {
        model.id
    }

    async fn prefetch(
        rows: &mut Keyed<Self::Key, Self::Active, ()>,
        tx: &impl ConnectionTrait,
        inputs: &[VoucherInput],
    ) -> Result<(), ServiceError> {
        let orders = inputs.iter().map(|i| i.order_ref.clone());
        rows.load_more(tx, exam_vouchers::Column::OrderRef, orders, None)
            .await
    }

    fn unchanged(stored: &exam_vouchers::Model, input: &VoucherInput) -> bool {
        let mut active: exam_vouchers::ActiveModel = stored.clone().into();
        assign(&mut active, input);
        !active.is_changed()
    }

    fn new_row(
        _: &Keyed<Self::Key, Self::Active, ()>,
        input: &VoucherInput,
    ) -> Result<Self::Active, ServiceError> {
        Ok(new_row(input))
    }

    fn snapshot(model: &exam_vouchers::Model) -> Value {
        snapshot(model)
    }

    async fn update(
        tx: &Recorder,
        actor: &Actor,
        stored: exam_vouchers::Model,
        input: &VoucherInput,
    ) -> Result<exam_vouchers::Model, ServiceError> {
        Ok(write(tx, actor, "import", Some(stored), input)
            .await?
            .into_model())
    }
}

pub const LIST_LIMIT: u64 = 500;

/// Purchases, newest first (by purchase date, then most recently entered).
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<exam_vouchers::Model>, ServiceError> {
    Ok(exam_vouchers::Entity::find()
        .order_by_desc(exam_vouchers::Column::PurchasedOn)
        .order_by_desc(exam_vouchers::Column::Id)
        .limit(LIST_LIMIT)
        .all(db)
        .await?)
}

/// Voucher units and exam points of one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelTotal {
    pub level: Level,
    pub units: i64,
    /// Exam points × 2.
    pub half_points: i64,
}

/// Units and points per level (in [`Level::ALL`]'s order, every level present), over
/// the purchases made from `from` to `to` inclusive (either end open when `None`).
pub async fn totals(
    db: &impl ConnectionTrait,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<LevelTotal>, ServiceError> {
    use exam_vouchers::Column as C;
    let mut query = exam_vouchers::Entity::find()
        .select_only()
        .column(C::Level)
        .column_as(C::Quantity.sum(), "units")
        .group_by(C::Level);
    if let Some(from) = from {
        query = query.filter(C::PurchasedOn.gte(from));
    }
    if let Some(to) = to {
        query = query.filter(C::PurchasedOn.lte(to));
    }
    let sums: Vec<(String, Option<i64>)> = query.into_tuple().all(db).await?;
    Ok(Level::ALL
        .into_iter()
        .map(|level| {
            let units: i64 = sums
                .iter()
                .filter(|(l, _)| l == level.id())
                .map(|(_, u)| u.unwrap_or(0))
                .sum();
            LevelTotal {
                level,
                units,
                half_points: units * level.half_points_per_unit(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> VoucherFields {
        VoucherFields {
            purchased_on: "2026-03-02".into(),
            exam_code: "az-104".into(),
            level: "advanced".into(),
            quantity: "20".into(),
            order_ref: " PO-1001 ".into(),
        }
    }

    #[test]
    fn voucher_rows_parse_into_typed_input() {
        let input = fields().parse().unwrap();
        assert_eq!(input.exam_code, "AZ-104");
        assert_eq!(input.level, Level::Advanced);
        assert_eq!(input.quantity, 20);
        assert_eq!(input.order_ref, "PO-1001");
    }

    #[test]
    fn every_bad_voucher_field_is_named() {
        let bad = VoucherFields {
            purchased_on: "02/03/2026".into(),
            exam_code: "".into(),
            level: "expert".into(),
            quantity: "0".into(),
            order_ref: "".into(),
        };
        let named: Vec<_> = bad.parse().unwrap_err().0.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            named,
            [
                "purchased_on",
                "exam_code",
                "level",
                "quantity",
                "order_ref"
            ]
        );
        for q in ["100001", "1.5", "-3", "ten"] {
            let e = VoucherFields {
                quantity: q.into(),
                ..fields()
            }
            .parse()
            .unwrap_err();
            assert!(e.get("quantity").unwrap().contains("1 to 100000"), "{q}");
        }
    }

    #[test]
    fn fundamentals_units_are_worth_half_a_point() {
        assert_eq!(Level::Fundamentals.half_points_per_unit(), 1);
        assert_eq!(Level::Advanced.half_points_per_unit(), 2);
        assert_eq!(points_text(100), "50");
        assert_eq!(points_text(25), "12.5");
        assert_eq!(points_text(0), "0");
    }
}
