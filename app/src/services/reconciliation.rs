//! Reconciliation with Partner Center (issue 17 item 1): Microsoft's line-item downloads
//! (imported through a column mapping: `reconciliation/import.rs`) beside the app's own
//! KPI line items, month by month and item by item, and the support-case packet for
//! the items Microsoft lacks.
use std::collections::{BTreeMap, HashMap};

use chrono::{Months, NaiveDate};
use entity::{reconciliation_imports, reconciliation_lines};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Value};
use sha2::{Digest, Sha256};

use super::ServiceError;
use super::kpi::{self, ELIGIBLE, exclusion_sql, rows};
use super::kpi_lines::{self, Line};
use crate::domain::kpi::{DESIGNATION_2025, RulesProfile};
use crate::domain::reconciliation::{
    Comparison, Figure, Item, SupportPacket, Tally, compare, first_of_month, support_packet,
};

pub mod import;

/// The ledger's name for an import of Microsoft's file.
pub const IMPORT_ENTITY: &str = "reconciliation_import";
/// The ledger's name for a saved column mapping.
pub const MAPPING_ENTITY: &str = "reconciliation_mapping";

/// What a survey is matched by on both sides: the SHA-256 of the learner's e-mail (lower
/// case), so Microsoft's file leaves no address in the database.
pub fn email_key(email: &str) -> String {
    hex::encode(Sha256::digest(email.trim().to_lowercase().as_bytes()))
}

/// The app's figure behind one of Microsoft's.
fn app_figure(figure: Figure) -> kpi_lines::Figure {
    match figure {
        Figure::Courseware => kpi_lines::Figure::Courseware,
        Figure::Exams => kpi_lines::Figure::Exams,
        Figure::Surveys => kpi_lines::Figure::Surveys,
    }
}

fn app_item(figure: Figure, line: &Line) -> Item {
    let key = match figure {
        Figure::Surveys => email_key(line.learner_email.as_deref().unwrap_or("")),
        _ => line.item.to_uppercase(),
    };
    Item {
        key,
        date: line.date,
        units: line.units,
        half_points: Some(line.half_points),
    }
}

fn microsoft_item(line: &reconciliation_lines::Model) -> Item {
    Item {
        key: line.item_key.clone(),
        date: line.occurred_on,
        units: line.units,
        half_points: line.half_points,
    }
}

/// Deletes Microsoft's survey lines keyed by `email` (an erasure on request), with one
/// ledger entry naming how many, never the address. Returns how many.
pub(crate) async fn forget_learner(
    tx: &crate::ledger::Recorder,
    actor: &crate::ledger::Actor,
    email: &str,
) -> Result<usize, ServiceError> {
    let deleted = reconciliation_lines::Entity::delete_many()
        .filter(reconciliation_lines::Column::Figure.eq(Figure::Surveys))
        .filter(reconciliation_lines::Column::ItemKey.eq(email_key(email)))
        .exec(tx)
        .await?
        .rows_affected as usize;
    if deleted > 0 {
        tx.record_as(
            actor,
            crate::ledger::Entry::new(IMPORT_ENTITY, "surveys", "erase")
                .changes(serde_json::json!({"survey_lines_of_an_erased_learner": deleted})),
        )
        .await?;
    }
    Ok(deleted)
}

fn last_of_month(month: NaiveDate) -> NaiveDate {
    (month + Months::new(1))
        .pred_opt()
        .expect("a day before the 1st")
}

/// The overview for the dashboard's card, until the ledger moves on (every import, and
/// every change that moves the app's figures, appends an entry).
pub type OverviewCache = kpi::HeadCache<Vec<FigureRows>, 2>;

/// One month of one figure: the app's tally beside Microsoft's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthRow {
    pub month: NaiveDate,
    pub app: Tally,
    pub microsoft: Tally,
    /// Whether Microsoft's file gave points for this month's lines.
    pub microsoft_has_points: bool,
}

impl MonthRow {
    /// The two sides differ in units (or points, where Microsoft gives them). Lines are
    /// not compared: a voucher order of 5 may be one line or five.
    pub fn differs(&self) -> bool {
        self.app.units != self.microsoft.units
            || (self.microsoft_has_points && self.app.half_points != self.microsoft.half_points)
    }
}

/// One figure's months, from the first to the last month Microsoft's imports cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureRows {
    pub figure: Figure,
    pub months: Vec<MonthRow>,
    pub last_import: Option<reconciliation_imports::Model>,
}

impl FigureRows {
    pub fn months_differing(&self) -> usize {
        self.months.iter().filter(|m| m.differs()).count()
    }
}

/// Per figure and month, the app's number beside Microsoft's. The app's side comes from
/// the monthly KPI aggregates (what the dashboard reads), Microsoft's from one grouped
/// query: a few hundred rows whatever the size of either.
pub async fn overview(db: &impl ConnectionTrait) -> Result<Vec<FigureRows>, ServiceError> {
    let rules = &DESIGNATION_2025;
    let imports = reconciliation_imports::Entity::find()
        .order_by_desc(reconciliation_imports::Column::Id)
        .all(db)
        .await?;
    let sql = "SELECT figure, occurred_on AS day, COUNT(*) AS n, CAST(SUM(units) AS BIGINT) AS units, \
               CAST(SUM(COALESCE(half_points, 0)) AS BIGINT) AS half, COUNT(half_points) AS with_points \
               FROM reconciliation_lines GROUP BY figure, occurred_on";
    let mut theirs: HashMap<(Figure, NaiveDate), (Tally, bool)> = HashMap::new();
    let mut span: HashMap<Figure, (NaiveDate, NaiveDate)> = HashMap::new();
    for row in rows(db, sql, vec![]).await? {
        let figure: Figure = row.try_get::<String>("", "figure")?.parse().map_err(|e| {
            ServiceError::Other(anyhow::anyhow!("reconciliation_lines.figure: {e}"))
        })?;
        let day: NaiveDate = row.try_get("", "day")?;
        let month = first_of_month(day);
        let entry = theirs.entry((figure, month)).or_default();
        entry.0.items += row.try_get::<i64>("", "n")?;
        entry.0.units += row.try_get::<Option<i64>>("", "units")?.unwrap_or(0);
        entry.0.half_points += row.try_get::<Option<i64>>("", "half")?.unwrap_or(0);
        entry.1 |= row.try_get::<i64>("", "with_points")? > 0;
        let s = span.entry(figure).or_insert((month, month));
        s.0 = s.0.min(month);
        s.1 = s.1.max(month);
    }
    let (Some(first), Some(last)) = (
        span.values().map(|s| s.0).min(),
        span.values().map(|s| s.1).max(),
    ) else {
        return Ok(Figure::ALL
            .iter()
            .map(|f| FigureRows {
                figure: *f,
                months: vec![],
                last_import: imports.iter().find(|i| i.figure == *f).cloned(),
            })
            .collect());
    };
    let ours = kpi::monthly_inputs(db, first, last_of_month(last), kpi::Source::Aggregates).await?;
    Ok(Figure::ALL
        .iter()
        .map(|&figure| {
            let mut months = vec![];
            if let Some(&(from, to)) = span.get(&figure) {
                let mut month = from;
                while month <= to {
                    let (microsoft, microsoft_has_points) =
                        theirs.get(&(figure, month)).copied().unwrap_or_default();
                    let app = ours
                        .get(&month)
                        .map(|inputs| app_tally(figure, inputs, rules))
                        .unwrap_or_default();
                    months.push(MonthRow {
                        month,
                        app,
                        microsoft,
                        microsoft_has_points,
                    });
                    month = month + Months::new(1);
                }
            }
            FigureRows {
                figure,
                months,
                last_import: imports.iter().find(|i| i.figure == figure).cloned(),
            }
        })
        .collect())
}

/// The app's tally of one month's KPI inputs for `figure`.
fn app_tally(figure: Figure, inputs: &crate::domain::kpi::Inputs, rules: &RulesProfile) -> Tally {
    let figures = crate::domain::kpi::month_figures(inputs, rules);
    match figure {
        Figure::Courseware => Tally {
            items: inputs.codes.total(),
            units: inputs.codes.total(),
            half_points: figures.courseware_half,
        },
        Figure::Exams => Tally {
            items: inputs.exam_fundamentals_units + inputs.exam_advanced_units,
            units: inputs.exam_fundamentals_units + inputs.exam_advanced_units,
            half_points: figures.exam_half,
        },
        Figure::Surveys => {
            let half = inputs
                .areas
                .iter()
                .map(|a| crate::domain::kpi::weighted(&a.surveys, &rules.area_survey_half_points))
                .sum();
            Tally {
                items: figures.surveys,
                units: figures.surveys,
                half_points: half,
            }
        }
    }
}

/// A line of Microsoft's that the app lacks, with what the app knows of its item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TheirLine {
    pub line: reconciliation_lines::Model,
    pub explanation: String,
}

/// One month of one figure, item by item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthDetail {
    pub figure: Figure,
    pub month: NaiveDate,
    pub app: Tally,
    pub microsoft: Tally,
    pub matched: i64,
    /// The app's lines Microsoft lacks: what a support case asks for.
    pub app_only: Vec<Line>,
    pub microsoft_only: Vec<TheirLine>,
    /// The same item dated differently: (the app's line, Microsoft's).
    pub dates_differ: Vec<(Line, reconciliation_lines::Model)>,
}

/// The month's items on each side, matched by code, order reference, or the learner's
/// e-mail and date (`domain::reconciliation::compare`). Both sides are read from a month
/// before to a month after, so an item dated across the month's edge pairs up.
pub async fn month(
    db: &impl ConnectionTrait,
    figure: Figure,
    month: NaiveDate,
) -> Result<MonthDetail, ServiceError> {
    let rules = &DESIGNATION_2025;
    let month = first_of_month(month);
    let (from, to) = (month, last_of_month(month));
    let (wide_from, wide_to) = (
        month - Months::new(1),
        last_of_month(month + Months::new(1)),
    );
    let ours = kpi_lines::between(db, app_figure(figure), wide_from, wide_to, rules).await?;
    let theirs = reconciliation_lines::Entity::find()
        .filter(reconciliation_lines::Column::Figure.eq(figure))
        .filter(reconciliation_lines::Column::OccurredOn.between(wide_from, wide_to))
        .order_by_asc(reconciliation_lines::Column::OccurredOn)
        .order_by_asc(reconciliation_lines::Column::Id)
        .all(db)
        .await?;
    let our_items: Vec<Item> = ours.iter().map(|l| app_item(figure, l)).collect();
    let their_items: Vec<Item> = theirs.iter().map(microsoft_item).collect();
    let Comparison {
        app_only,
        microsoft_only,
        dates_differ,
        matched,
    } = compare(&our_items, &their_items, from, to);
    let tally = |items: &[Item]| {
        crate::domain::reconciliation::by_month(items, from, to)
            .remove(&month)
            .unwrap_or_default()
    };
    let missing: Vec<reconciliation_lines::Model> =
        microsoft_only.iter().map(|&i| theirs[i].clone()).collect();
    let explanations = explain(db, figure, &missing).await?;
    Ok(MonthDetail {
        figure,
        month,
        app: tally(&our_items),
        microsoft: tally(&their_items),
        matched,
        app_only: app_only.iter().map(|&i| ours[i].clone()).collect(),
        microsoft_only: missing
            .into_iter()
            .zip(explanations)
            .map(|(line, explanation)| TheirLine { line, explanation })
            .collect(),
        dates_differ: dates_differ
            .iter()
            .map(|&(a, m)| (ours[a].clone(), theirs[m].clone()))
            .collect(),
    })
}

/// IN lists are bounded: this many items per look-up.
const LOOKUP_BATCH: usize = 500;

/// What the app knows of each of Microsoft's lines it lacks: a code issued for a class
/// that earns no credit, not redeemed here, or not issued here at all.
async fn explain(
    db: &impl ConnectionTrait,
    figure: Figure,
    lines: &[reconciliation_lines::Model],
) -> Result<Vec<String>, ServiceError> {
    let mut known: HashMap<String, String> = HashMap::new();
    let keys: Vec<&str> = lines.iter().map(|l| l.item_key.as_str()).collect();
    for batch in keys.chunks(LOOKUP_BATCH) {
        let marks = vec!["?"; batch.len()].join(", ");
        let values: Vec<Value> = batch.iter().map(|k| Value::from(k.to_string())).collect();
        let sql = match figure {
            Figure::Courseware => format!(
                "SELECT UPPER(ac.code) AS k, ac.redeemed_on AS day, cl.class_ref AS class_ref, \
                 {} AS reason FROM achievement_codes ac JOIN enrollments e ON e.id = ac.enrollment_id \
                 JOIN classes cl ON cl.id = e.class_id JOIN courses co ON co.id = cl.course_id \
                 WHERE UPPER(ac.code) IN ({marks})",
                exclusion_sql()
            ),
            Figure::Exams => format!(
                "SELECT UPPER(order_ref) AS k, purchased_on AS day, '' AS class_ref, '{ELIGIBLE}' AS reason \
                 FROM exam_vouchers WHERE UPPER(order_ref) IN ({marks})"
            ),
            Figure::Surveys => break,
        };
        for row in rows(db, &sql, values).await? {
            let key: String = row.try_get("", "k")?;
            let day: Option<NaiveDate> = row.try_get("", "day")?;
            let class_ref: String = row.try_get("", "class_ref")?;
            let reason: String = row.try_get("", "reason")?;
            let text = match (figure, day) {
                (Figure::Exams, Some(day)) => format!("recorded here as purchased on {day}"),
                (_, None) => format!("issued for {class_ref}, not redeemed in this app"),
                (_, Some(day)) if reason != ELIGIBLE => {
                    let why = reason
                        .parse::<crate::domain::kpi::Exclusion>()
                        .map(|r| r.label().to_lowercase())
                        .unwrap_or(reason);
                    format!("redeemed on {day} in {class_ref}, which earns no credit here: {why}")
                }
                (_, Some(day)) => format!("redeemed here on {day} ({class_ref})"),
            };
            known.insert(key, text);
        }
    }
    Ok(lines
        .iter()
        .map(|l| {
            known.get(&l.item_key).cloned().unwrap_or_else(|| {
                match figure {
                    Figure::Courseware => "not a code this app issued",
                    Figure::Exams => "no voucher purchase with this order reference",
                    Figure::Surveys => {
                        "no response here from this learner on this date in a class that earns credit"
                    }
                }
                .to_string()
            })
        })
        .collect())
}

/// The support-case packet for the month's items Microsoft lacks.
pub fn packet(detail: &MonthDetail, org_location_id: &str) -> SupportPacket {
    let items: Vec<Item> = detail
        .app_only
        .iter()
        .map(|l| app_item(detail.figure, l))
        .collect();
    let refs: Vec<&Item> = items.iter().collect();
    support_packet(detail.figure, org_location_id, &refs)
}

/// Months in which Microsoft's figure and the app's differ, per figure (the dashboard's
/// card).
pub fn differing(rows: &[FigureRows]) -> BTreeMap<Figure, usize> {
    rows.iter()
        .map(|r| (r.figure, r.months_differing()))
        .collect()
}
