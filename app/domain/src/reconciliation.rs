//! Reconciliation with Partner Center: Microsoft's line-item downloads of the Training
//! Services dashboard, read through a column mapping (their headers are not documented),
//! compared month by month and item by item with the app's own KPI line items, and the
//! support-case packet for what Microsoft lacks.
use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

id_enum!(
    /// Which of Microsoft's downloads: one per KPI figure it reports.
    Figure {
        Courseware = "courseware" / "Courseware completions (achievement codes)",
        Exams = "exams" / "Exam units (vouchers)",
        Surveys = "surveys" / "Surveys (Metrics that Matter)",
    }
);

impl Figure {
    /// The category as Microsoft's support FAQ names it.
    pub fn support_category(self) -> &'static str {
        match self {
            Figure::Courseware => "Achievement codes",
            Figure::Exams => "Exam vouchers",
            Figure::Surveys => "Surveys",
        }
    }

    /// The fields a mapping must give a column for, then those it may.
    pub fn fields(self) -> (&'static [Field], &'static [Field]) {
        match self {
            Figure::Courseware => (&[Field::Date, Field::Code], &[Field::Course, Field::Points]),
            Figure::Exams => (
                &[Field::Date, Field::OrderRef],
                &[Field::Course, Field::Units, Field::Points],
            ),
            Figure::Surveys => (
                &[Field::Date, Field::Email],
                &[Field::Course, Field::Points],
            ),
        }
    }

    /// What one matched item is called on the pages.
    pub fn item_name(self) -> &'static str {
        match self {
            Figure::Courseware => "achievement code",
            Figure::Exams => "voucher order",
            Figure::Surveys => "survey response",
        }
    }
}

id_enum!(
    /// What a column of Microsoft's file means.
    Field {
        Date = "date" / "Date",
        Code = "code" / "Achievement code",
        OrderRef = "order_ref" / "Order reference",
        Email = "learner_email" / "Learner e-mail",
        Course = "course_code" / "Course or exam code",
        Units = "units" / "Units (quantity)",
        Points = "points" / "Points",
    }
);

id_enum!(
    /// How the file writes its dates (a time after the date is ignored).
    DateFormat {
        Iso = "yyyy-mm-dd" / "2026-03-31",
        Us = "mm/dd/yyyy" / "03/31/2026 (month first)",
        European = "dd/mm/yyyy" / "31/03/2026 (day first)",
        Dotted = "dd.mm.yyyy" / "31.03.2026",
    }
);

impl DateFormat {
    /// *Rule — reconciliation dates*: the date part of a cell (before a space or `T`)
    /// in this format; anything else is refused with the format expected.
    pub fn parse(self, cell: &str) -> Result<NaiveDate, String> {
        let cell = cell.trim();
        let date_part = cell.split([' ', 'T']).next().unwrap_or("");
        let pattern = match self {
            DateFormat::Iso => "%Y-%m-%d",
            DateFormat::Us => "%m/%d/%Y",
            DateFormat::European => "%d/%m/%Y",
            DateFormat::Dotted => "%d.%m.%Y",
        };
        NaiveDate::parse_from_str(date_part, pattern)
            .ok()
            .filter(|d| d.year() >= 2000)
            .ok_or_else(|| format!("{cell:?} is not a date written {}", self.id()))
    }

    /// The first format that reads every sample (the editor's first choice).
    pub fn guess<'a>(samples: impl IntoIterator<Item = &'a str> + Clone) -> Option<DateFormat> {
        DateFormat::ALL.into_iter().find(|f| {
            let mut any = false;
            let all = samples.clone().into_iter().all(|s| {
                any = true;
                f.parse(s).is_ok()
            });
            any && all
        })
    }
}

/// Which column of the file holds each field, and how dates are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub figure: Figure,
    pub columns: BTreeMap<Field, String>,
    pub date_format: DateFormat,
}

/// A mapping checked against a file's header: each field's column index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    figure: Figure,
    date_format: DateFormat,
    index: Vec<(Field, usize)>,
}

/// One line of Microsoft's file, as the comparison needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicrosoftLine {
    pub date: NaiveDate,
    /// The achievement code or the order reference (upper case), or the learner's
    /// e-mail (lower case) for a survey: what it is matched by.
    pub item: String,
    pub course: String,
    pub units: i64,
    /// Points as the file gives them, in half-points; `None` without a points column.
    pub half_points: Option<i64>,
}

/// *Rule — a mapping names a column for every required field*, each column once, each
/// present in the file's header. Errors name the field.
pub fn bind(mapping: &Mapping, header: &[String]) -> Result<Bound, Vec<String>> {
    let (required, optional) = mapping.figure.fields();
    let mut errors = vec![];
    let mut index = vec![];
    for field in required {
        if mapping
            .columns
            .get(field)
            .is_none_or(|c| c.trim().is_empty())
        {
            errors.push(format!("{}: choose the file's column for it", field.id()));
        }
    }
    let mut used: BTreeMap<&str, Field> = BTreeMap::new();
    for (field, column) in &mapping.columns {
        let column = column.trim();
        if column.is_empty() {
            continue;
        }
        if !required.contains(field) && !optional.contains(field) {
            errors.push(format!(
                "{}: not a field of the {} download",
                field.id(),
                mapping.figure.id()
            ));
            continue;
        }
        if let Some(other) = used.insert(column, *field) {
            errors.push(format!(
                "{}: column {column:?} is already mapped to {}",
                field.id(),
                other.id()
            ));
            continue;
        }
        match header.iter().position(|h| h.trim() == column) {
            Some(i) => index.push((*field, i)),
            None => errors.push(format!(
                "{}: the file has no column {column:?} (its columns: {})",
                field.id(),
                header.join(", ")
            )),
        }
    }
    if errors.is_empty() {
        Ok(Bound {
            figure: mapping.figure,
            date_format: mapping.date_format,
            index,
        })
    } else {
        Err(errors)
    }
}

/// *Rule — reconciliation points*: a decimal number of points, a multiple of 0.5, read
/// exactly into half-points.
pub fn parse_points(cell: &str) -> Result<i64, String> {
    let cell = cell.trim();
    let bad = || format!("{cell:?} is not a number of points (a multiple of 0.5, like 1 or 1.5)");
    let (whole, fraction) = cell.split_once(['.', ',']).unwrap_or((cell, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 9 {
        return Err(bad());
    }
    let half = match fraction.trim_end_matches('0') {
        "" => 0,
        "5" => 1,
        _ => return Err(bad()),
    };
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    Ok(whole.parse::<i64>().map_err(|_| bad())? * 2 + half)
}

impl Bound {
    /// Reads one record; `Err` is `field: reason`.
    pub fn read(&self, record: &[&str]) -> Result<MicrosoftLine, String> {
        let cell = |field: Field| {
            self.index
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, i)| record.get(*i).copied().unwrap_or("").trim())
        };
        let required = |field: Field| -> Result<&str, String> {
            match cell(field) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(format!("{}: is empty", field.id())),
            }
        };
        let date = self
            .date_format
            .parse(required(Field::Date)?)
            .map_err(|e| format!("date: {e}"))?;
        let item = match self.figure {
            Figure::Courseware => required(Field::Code)?.to_uppercase(),
            Figure::Exams => required(Field::OrderRef)?.to_uppercase(),
            Figure::Surveys => {
                let email = required(Field::Email)?.to_lowercase();
                if !email.contains('@') {
                    return Err(format!("learner_email: {email:?} is not an e-mail address"));
                }
                email
            }
        };
        let units = match cell(Field::Units).filter(|v| !v.is_empty()) {
            None => 1,
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .ok_or_else(|| format!("units: {v:?} is not a whole number from 1 to 100000"))?,
        };
        let half_points = match cell(Field::Points).filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(parse_points(v).map_err(|e| format!("points: {e}"))?),
        };
        Ok(MicrosoftLine {
            date,
            item,
            course: cell(Field::Course).unwrap_or("").to_uppercase(),
            units,
            half_points,
        })
    }
}

/// A built-in mapping for a download as Partner Center has been seen to write it.
pub struct Preset {
    pub name: &'static str,
    pub figure: Figure,
    pub columns: &'static [(Field, &'static str)],
    pub date_format: DateFormat,
}

impl Preset {
    pub fn mapping(&self) -> Mapping {
        Mapping {
            figure: self.figure,
            columns: self
                .columns
                .iter()
                .map(|(f, c)| (*f, c.to_string()))
                .collect(),
            date_format: self.date_format,
        }
    }
}

pub const PRESETS: [Preset; 3] = [
    Preset {
        name: "Partner Center: courseware completions",
        figure: Figure::Courseware,
        columns: &[
            (Field::Date, "Completion Date"),
            (Field::Code, "Achievement Code"),
            (Field::Course, "Course Number"),
            (Field::Points, "Points"),
        ],
        date_format: DateFormat::Us,
    },
    Preset {
        name: "Partner Center: exam units",
        figure: Figure::Exams,
        columns: &[
            (Field::Date, "Purchase Date"),
            (Field::OrderRef, "Order Number"),
            (Field::Course, "Exam Number"),
            (Field::Units, "Quantity"),
            (Field::Points, "Points"),
        ],
        date_format: DateFormat::Us,
    },
    Preset {
        name: "Partner Center: surveys",
        figure: Figure::Surveys,
        columns: &[
            (Field::Date, "Survey Date"),
            (Field::Email, "Learner Email"),
            (Field::Course, "Course Number"),
            (Field::Points, "Points"),
        ],
        date_format: DateFormat::Us,
    },
];

/// One line item on either side, reduced to what the comparison needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// What the two sides are matched by (code, order reference, or e-mail and date).
    pub key: String,
    pub date: NaiveDate,
    pub units: i64,
    /// `None`: the side does not say (a file without a points column).
    pub half_points: Option<i64>,
}

/// Items, units and points of a set of items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub items: i64,
    pub units: i64,
    pub half_points: i64,
}

impl Tally {
    fn add(&mut self, item: &Item) {
        self.items += 1;
        self.units += item.units;
        self.half_points += item.half_points.unwrap_or(0);
    }
}

/// The comparison of a period: which items each side has that the other lacks, and
/// the pairs matched in different months.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Comparison {
    /// Indexes into the app's items, in date order.
    pub app_only: Vec<usize>,
    /// Indexes into Microsoft's items, in date order.
    pub microsoft_only: Vec<usize>,
    /// (app, Microsoft) pairs with the same key and different dates.
    pub dates_differ: Vec<(usize, usize)>,
    pub matched: i64,
}

/// *Rule — reconciliation matching*: items match by key; among items of one key, those
/// with the same date pair first, the rest in date order. What is left on a side is
/// what the other side lacks. Only items dated in `[from, to]` are reported as missing;
/// items outside it are there to pair with the period's edges.
pub fn compare(app: &[Item], microsoft: &[Item], from: NaiveDate, to: NaiveDate) -> Comparison {
    let mut by_key: BTreeMap<&str, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (i, item) in app.iter().enumerate() {
        by_key.entry(&item.key).or_default().0.push(i);
    }
    for (i, item) in microsoft.iter().enumerate() {
        by_key.entry(&item.key).or_default().1.push(i);
    }
    let in_period = |d: NaiveDate| d >= from && d <= to;
    let mut out = Comparison::default();
    for (_, (mut ours, mut theirs)) in by_key {
        ours.sort_by_key(|&i| (app[i].date, i));
        theirs.sort_by_key(|&i| (microsoft[i].date, i));
        // Same date first.
        let mut left_ours = vec![];
        for a in ours {
            match theirs
                .iter()
                .position(|&m| microsoft[m].date == app[a].date)
            {
                Some(p) => {
                    theirs.remove(p);
                    if in_period(app[a].date) {
                        out.matched += 1;
                    }
                }
                None => left_ours.push(a),
            }
        }
        let pairs = left_ours.len().min(theirs.len());
        for (&a, &m) in left_ours.iter().zip(theirs.iter()) {
            if in_period(app[a].date) || in_period(microsoft[m].date) {
                out.dates_differ.push((a, m));
            }
        }
        out.app_only.extend(
            left_ours[pairs..]
                .iter()
                .copied()
                .filter(|&a| in_period(app[a].date)),
        );
        out.microsoft_only.extend(
            theirs[pairs..]
                .iter()
                .copied()
                .filter(|&m| in_period(microsoft[m].date)),
        );
    }
    out.app_only.sort_by_key(|&i| (app[i].date, i));
    out.microsoft_only.sort_by_key(|&i| (microsoft[i].date, i));
    out.dates_differ.sort_by_key(|&(a, _)| (app[a].date, a));
    out
}

/// Tallies of `items` by month (first day), for the months in `[from, to]`.
pub fn by_month(items: &[Item], from: NaiveDate, to: NaiveDate) -> BTreeMap<NaiveDate, Tally> {
    let mut out = BTreeMap::new();
    for item in items.iter().filter(|i| i.date >= from && i.date <= to) {
        out.entry(first_of_month(item.date))
            .or_insert_with(Tally::default)
            .add(item);
    }
    out
}

pub fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("day 1 exists")
}

/// What Microsoft's support FAQ asks a case to name: the org/location ID, the category,
/// the dates of the missing transactions and the number of units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportPacket {
    pub org_location_id: String,
    pub category: &'static str,
    /// Missing units by transaction date.
    pub dates: Vec<(NaiveDate, i64)>,
    pub units: i64,
}

pub const PACKET_COLUMNS: [&str; 4] = ["org_location_id", "category", "transaction_date", "units"];

/// *Rule — a support packet lists the units Microsoft lacks by transaction date*.
pub fn support_packet(figure: Figure, org_location_id: &str, missing: &[&Item]) -> SupportPacket {
    let mut dates: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for item in missing {
        *dates.entry(item.date).or_default() += item.units;
    }
    SupportPacket {
        org_location_id: org_location_id.to_string(),
        category: figure.support_category(),
        units: dates.values().sum(),
        dates: dates.into_iter().collect(),
    }
}

impl SupportPacket {
    /// The CSV's records, one per transaction date.
    pub fn records(&self) -> Vec<[String; 4]> {
        self.dates
            .iter()
            .map(|(date, units)| {
                [
                    self.org_location_id.clone(),
                    self.category.to_string(),
                    date.to_string(),
                    units.to_string(),
                ]
            })
            .collect()
    }

    /// The case's text, ready to paste.
    pub fn text(&self, organisation: &str) -> String {
        let first = self.dates.first().map(|(d, _)| d.to_string());
        let last = self.dates.last().map(|(d, _)| d.to_string());
        let mut text = format!(
            "Subject: Training Services dashboard: {units} {category} unit{s} missing\n\n\
             Partner: {organisation}\n\
             Org/location ID: {id}\n\
             Category: {category}\n\
             Number of units missing: {units}\n\
             Dates of the missing transactions: {span}\n\n\
             Units by transaction date:\n",
            units = self.units,
            s = if self.units == 1 { "" } else { "s" },
            category = self.category,
            id = if self.org_location_id.is_empty() {
                "(not set: enter it under Settings)"
            } else {
                &self.org_location_id
            },
            span = match (first, last) {
                (Some(f), Some(l)) if f == l => f,
                (Some(f), Some(l)) => format!("{f} to {l}"),
                _ => "none".to_string(),
            },
        );
        for (date, units) in &self.dates {
            text.push_str(&format!("  {date}: {units}\n"));
        }
        text
    }
}

#[cfg(test)]
mod tests;
