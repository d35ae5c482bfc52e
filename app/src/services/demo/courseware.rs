//! The demo's Courseware Marketplace purchases (the Learning Partner program): an order
//! every week or two, of courseware kits, MCCVL vouchers, exams and labs.
use std::collections::HashSet;

use chrono::NaiveDate;

use super::{Rng, plus};
use crate::domain::learning_partner::cents_text;

/// Product kind, product code, price per kit in cents.
const PRODUCTS: &[(&str, &str, i64)] = &[
    ("moc", "20742B", 35_000),
    ("moc", "20764C", 35_000),
    ("moc_on_demand", "20483-OD", 42_500),
    ("cloud_workshop", "40551A", 12_000),
    ("training_course", "40557A", 18_950),
    ("mta_courseware", "98-361", 9_900),
    ("mccvl", "MCCVL-DAT101", 9_900),
    ("exam", "MCP-EXAM", 16_500),
    ("labs", "LABS-AZ-30", 4_999),
];

/// Rows of the `courseware` file from `first_month` to `today`.
pub(super) fn rows(rng: &mut Rng, first_month: NaiveDate, today: NaiveDate) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut day = plus(first_month, rng.range(3, 12) as i64);
    let mut order = 0;
    while day <= today {
        order += 1;
        let order_ref = format!("CM-{}-{order:03}", day.format("%Y%m"));
        let mut codes = HashSet::new();
        for _ in 0..rng.range(1, 3) {
            let (kind, code, price) = *rng.pick(PRODUCTS);
            if codes.insert(code) {
                let kits = rng.range(4, 30);
                rows.push(vec![
                    day.to_string(),
                    kind.to_string(),
                    code.to_string(),
                    kits.to_string(),
                    cents_text(kits as i64 * price),
                    order_ref.clone(),
                ]);
            }
        }
        day = plus(day, rng.range(5, 12) as i64);
    }
    rows
}
