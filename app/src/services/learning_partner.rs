//! The Learning Partner program's evaluation (issue 17 item 3): the period's Courseware
//! Marketplace purchases summed per product kind (one GROUP BY on the purchase-date
//! index), the MCTs in good standing, and the level they reach under
//! `domain::learning_partner`; the purchases behind the figures as line items and CSV.
use chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Value};
use serde::Serialize;
use tokio::sync::mpsc;

use super::ServiceError;
use super::kpi::rows;
use crate::domain::learning_partner::{
    self as lp, KindTotal, LearningPartnerProfile, Measured, PartnerLevel, Period, ProductKind,
    cents_text, units_text,
};

/// Everything the dashboard, the API and the line items show for one as-of date.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub as_of: NaiveDate,
    pub period: Period,
    /// Every product kind, in [`ProductKind::ALL`]'s order (zero when none was bought).
    pub by_kind: Vec<KindTotal>,
    /// Purchase lines counted.
    pub lines: i64,
    pub measured: Measured,
    pub level: PartnerLevel,
}

impl Evaluation {
    /// What is missing for the level above the one attained (none above Gold).
    pub fn missing(&self, profile: &LearningPartnerProfile) -> Option<(PartnerLevel, Measured)> {
        self.level
            .next()
            .map(|next| (next, lp::missing(&self.measured, &profile.needs(next))))
    }
}

/// MCTs in good standing on `day` (SPEC §2: `valid_until >= day`).
pub async fn mcts_in_good_standing(
    db: &impl ConnectionTrait,
    day: NaiveDate,
) -> Result<i64, ServiceError> {
    use entity::trainers;
    Ok(trainers::Entity::find()
        .filter(trainers::Column::MctValidUntil.gte(day))
        .count(db)
        .await? as i64)
}

/// The evaluation as of `as_of`, for the organisation's anniversary (month, day).
pub async fn evaluate(
    db: &impl ConnectionTrait,
    as_of: NaiveDate,
    anniversary: Option<(u32, u32)>,
    profile: &LearningPartnerProfile,
) -> Result<Evaluation, ServiceError> {
    let period = lp::period(as_of, anniversary, profile);
    let sql = "SELECT product_kind, COUNT(*) AS n, CAST(SUM(quantity) AS BIGINT) AS kits, \
               CAST(SUM(revenue_cents) AS BIGINT) AS revenue FROM courseware_purchases \
               WHERE purchased_on >= ? AND purchased_on <= ? GROUP BY product_kind";
    let values = vec![Value::from(period.start), Value::from(period.counted_to)];
    let mut by_kind: Vec<KindTotal> = ProductKind::ALL
        .iter()
        .map(|kind| KindTotal {
            kind: *kind,
            kits: 0,
            revenue_cents: 0,
        })
        .collect();
    let mut lines = 0;
    for row in rows(db, sql, values).await? {
        let kind: String = row.try_get("", "product_kind")?;
        let kind: ProductKind = kind
            .parse()
            .map_err(|e: String| ServiceError::Other(anyhow::anyhow!("product_kind {e}")))?;
        let total = by_kind
            .iter_mut()
            .find(|t| t.kind == kind)
            .expect("every kind is listed");
        lines += row.try_get::<i64>("", "n")?;
        total.kits += row.try_get::<Option<i64>>("", "kits")?.unwrap_or(0);
        total.revenue_cents += row.try_get::<Option<i64>>("", "revenue")?.unwrap_or(0);
    }
    let mcts = mcts_in_good_standing(db, period.mcts_on).await?;
    let measured = lp::measure(mcts, &by_kind, profile);
    Ok(Evaluation {
        as_of,
        period,
        lines,
        level: lp::level(&measured, profile),
        measured,
        by_kind,
    })
}

/// One requirement as the API gives it: value, each level's threshold, what is missing
/// for the next level (`null` at Gold).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequirementJson {
    pub value: f64,
    pub thresholds: Thresholds,
    pub missing_for_next_level: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thresholds {
    pub learning_action_pack: f64,
    pub silver: f64,
    pub gold: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductJson {
    pub product_kind: ProductKind,
    pub kits: i64,
    pub units: f64,
    pub revenue_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PurchasesJson {
    pub lines: i64,
    pub by_product_kind: Vec<ProductJson>,
}

/// `GET /api/v1/learning-partner`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportJson {
    pub as_of: NaiveDate,
    pub period: Period,
    pub level: PartnerLevel,
    pub next_level: Option<PartnerLevel>,
    pub mcts: RequirementJson,
    pub units: RequirementJson,
    pub revenue_usd: RequirementJson,
    /// Revenue exactly, in US cents.
    pub revenue_cents: i64,
    /// "Meet Gold/Silver LO exam requirements specific to Competency" is not in the
    /// record: always `not_tracked`.
    pub exam_requirements: &'static str,
    pub purchases: PurchasesJson,
}

fn units(half: i64) -> f64 {
    half as f64 / 2.0
}

fn dollars(cents: i64) -> f64 {
    // Shortest round-trip text of the quotient: 49999999 cents print as 499999.99.
    cents_text(cents).parse().unwrap_or(0.0)
}

pub fn report_json(e: &Evaluation, profile: &LearningPartnerProfile) -> ReportJson {
    let missing = e.missing(profile);
    let requirement =
        |value: f64, of: &dyn Fn(&lp::LevelNeeds) -> f64, gap: Option<f64>| RequirementJson {
            value,
            thresholds: Thresholds {
                learning_action_pack: of(&profile.action_pack),
                silver: of(&profile.silver),
                gold: of(&profile.gold),
            },
            missing_for_next_level: gap,
        };
    ReportJson {
        as_of: e.as_of,
        period: e.period,
        level: e.level,
        next_level: e.level.next(),
        mcts: requirement(
            e.measured.mcts as f64,
            &|n| n.mcts as f64,
            missing.map(|(_, m)| m.mcts as f64),
        ),
        units: requirement(
            units(e.measured.half_units),
            &|n| units(n.half_units),
            missing.map(|(_, m)| units(m.half_units)),
        ),
        revenue_usd: requirement(
            dollars(e.measured.revenue_cents),
            &|n| dollars(n.revenue_cents),
            missing.map(|(_, m)| dollars(m.revenue_cents)),
        ),
        revenue_cents: e.measured.revenue_cents,
        exam_requirements: "not_tracked",
        purchases: PurchasesJson {
            lines: e.lines,
            by_product_kind: e
                .by_kind
                .iter()
                .map(|t| ProductJson {
                    product_kind: t.kind,
                    kits: t.kits,
                    units: units(profile.half_units(t.kind, t.kits)),
                    revenue_usd: dollars(t.revenue_cents),
                })
                .collect(),
        },
    }
}

/// One purchase counted in the period, as the line items and their CSV give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub id: i64,
    pub purchased_on: NaiveDate,
    pub order_ref: String,
    pub product_code: String,
    pub product_kind: ProductKind,
    pub quantity: i64,
    pub half_units: i64,
    pub revenue_cents: i64,
}

pub const COLUMNS: [&str; 7] = [
    "purchased_on",
    "order_ref",
    "product_code",
    "product_kind",
    "quantity",
    "units",
    "revenue_usd",
];

impl Line {
    pub fn record(&self) -> [String; 7] {
        [
            self.purchased_on.to_string(),
            self.order_ref.clone(),
            self.product_code.clone(),
            self.product_kind.id().to_string(),
            self.quantity.to_string(),
            units_text(self.half_units),
            cents_text(self.revenue_cents),
        ]
    }
}

/// Up to `limit` purchases of `period` after id `after` (keyset pagination by id).
pub async fn lines(
    db: &impl ConnectionTrait,
    period: &Period,
    profile: &LearningPartnerProfile,
    after: i64,
    limit: u64,
) -> Result<Vec<Line>, ServiceError> {
    let sql = "SELECT id, purchased_on, order_ref, product_code, product_kind, \
               CAST(quantity AS BIGINT) AS quantity, revenue_cents FROM courseware_purchases \
               WHERE purchased_on >= ? AND purchased_on <= ? AND id > ? ORDER BY id LIMIT ?";
    let values = vec![
        Value::from(period.start),
        Value::from(period.counted_to),
        Value::from(after),
        Value::from(limit as i64),
    ];
    rows(db, sql, values)
        .await?
        .iter()
        .map(|row| {
            let kind: String = row.try_get("", "product_kind")?;
            let product_kind: ProductKind = kind
                .parse()
                .map_err(|e: String| ServiceError::Other(anyhow::anyhow!("product_kind {e}")))?;
            let quantity: i64 = row.try_get("", "quantity")?;
            Ok(Line {
                id: row.try_get("", "id")?,
                purchased_on: row.try_get("", "purchased_on")?,
                order_ref: row.try_get("", "order_ref")?,
                product_code: row.try_get("", "product_code")?,
                product_kind,
                quantity,
                half_units: profile.half_units(product_kind, quantity),
                revenue_cents: row.try_get("", "revenue_cents")?,
            })
        })
        .collect()
}

/// Sends every purchase of `period` as CSV chunks (header first). Stops quietly when the
/// receiver is gone.
pub async fn csv(
    db: &impl ConnectionTrait,
    period: &Period,
    profile: &LearningPartnerProfile,
    out: mpsc::Sender<Vec<u8>>,
) -> Result<(), ServiceError> {
    use super::exports::{PAGE_ROWS, stream_pages};
    let page = |after| lines(db, period, profile, after, PAGE_ROWS);
    stream_pages(&COLUMNS, page, |l: &Line| l.record(), |l| l.id, out).await
}
