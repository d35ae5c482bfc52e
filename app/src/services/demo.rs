//! `tsp-ledger demo`: a realistic year of a mid-size TSP, so that a newcomer opens a
//! living dashboard. The data is generated as the CSV files a TSP would import and fed
//! through the import engine ([`imports::run`]), so every row is validated and ledgered
//! exactly as a real import is; there is no second way in.
//!
//! The generator is deterministic: the same seed and the same day give the same files.
//! Dates are relative to that day: classes over the 13 months before it and the month
//! after it, so the KPI window (the 12 complete months before this month) is full.
use std::collections::HashSet;

use chrono::{Datelike, Days, Months, NaiveDate};
use entity::{achievement_codes, classes, courses, exam_vouchers, trainers};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use super::ServiceError;
use super::imports::{self, ImportFailure, Kind, Summary};
use crate::domain::delivery::{ClassStatus, Modality};
use crate::ledger::Actor;

mod courseware;
mod data;
use data::{
    ADVANCED_EXAMS, COMMENTS_GOOD, COMMENTS_MIXED, COMMENTS_POOR, COMPANIES, COURSES, FIRST_NAMES,
    FUNDAMENTALS_EXAMS, LAST_NAMES, LEARNERS, TRAINERS, area_mean,
};

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Business records exist: the demo would mix with them.
    #[error(
        "the database is not empty (it holds {0}): `tsp-ledger demo` only fills an empty \
         database; point it at a new one, e.g. DATABASE_URL='sqlite://data/demo.db?mode=rwc'"
    )]
    NotEmpty(String),
    /// The import engine refused a generated file (a bug in the generator).
    #[error("the demo's {kind} file was refused (nothing of it was written): {detail}")]
    Refused { kind: &'static str, detail: String },
    #[error(transparent)]
    Failed(#[from] ServiceError),
}

impl From<sea_orm::DbErr> for DemoError {
    fn from(e: sea_orm::DbErr) -> Self {
        DemoError::Failed(e.into())
    }
}

/// The generated CSV files, one per import kind, in the order they are imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    pub files: Vec<(Kind, String)>,
}

impl Dataset {
    pub fn file(&self, kind: Kind) -> &str {
        self.files
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or("", |(_, csv)| csv.as_str())
    }
}

/// Refuses a database holding courses, trainers, classes, achievement codes or exam
/// vouchers (accounts may exist).
pub async fn ensure_empty(db: &DatabaseConnection) -> Result<(), DemoError> {
    let counts = [
        (
            courses::Entity::find().count(db).await?,
            "course",
            "courses",
        ),
        (
            trainers::Entity::find().count(db).await?,
            "trainer",
            "trainers",
        ),
        (classes::Entity::find().count(db).await?, "class", "classes"),
        (
            achievement_codes::Entity::find().count(db).await?,
            "achievement code",
            "achievement codes",
        ),
        (
            exam_vouchers::Entity::find().count(db).await?,
            "voucher purchase",
            "voucher purchases",
        ),
    ];
    let held: Vec<String> = counts
        .iter()
        .filter(|(n, ..)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect();
    if held.is_empty() {
        Ok(())
    } else {
        Err(DemoError::NotEmpty(held.join(", ")))
    }
}

/// Fills an empty database with the demo year ending `today` (plus a month of scheduled
/// classes): one import per kind, as the CLI operator. Returns each kind's summary.
pub async fn run(
    db: &DatabaseConnection,
    seed: u64,
    today: NaiveDate,
) -> Result<Vec<(Kind, Summary)>, DemoError> {
    ensure_empty(db).await?;
    let data = generate(seed, today);
    let mut done = Vec::with_capacity(data.files.len());
    // The demo loads a year of history, confirmed classes included, as the operator.
    let by = imports::ImportBy::operator();
    for (kind, csv) in data.files {
        let source = imports::Source::bytes(csv.as_bytes());
        match imports::run(db, &Actor::Cli, &by, kind, source, None, |_, _| {}).await {
            Ok(summary) => done.push((kind, summary)),
            Err(ImportFailure::Invalid { errors, total, .. }) => {
                let shown: Vec<String> = errors.iter().take(5).map(|e| e.to_string()).collect();
                return Err(DemoError::Refused {
                    kind: kind.id(),
                    detail: format!("{total} problems: {}", shown.join("; ")),
                });
            }
            Err(ImportFailure::Failed(e)) => return Err(e.into()),
        }
    }
    Ok(done)
}

// ---------------------------------------------------------------------------------------
// The generator.

/// splitmix64: tiny, fast, and good enough to make demo data look random.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x7473_702d_6c65_6467) // "tsp-ledg"
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64 - 1) as usize]
    }

    /// An index drawn with the given relative weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut ticket = self.range(0, total - 1);
        for (i, w) in weights.iter().enumerate() {
            let w = u64::from(*w);
            if ticket < w {
                return i;
            }
            ticket -= w;
        }
        weights.len() - 1
    }
}

struct Class {
    class_ref: String,
    course: usize,
    trainer: usize,
    start: NaiveDate,
    end: NaiveDate,
    modality: Modality,
    status: ClassStatus,
}

fn csv_text(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).expect("writing to memory");
    for row in rows {
        w.write_record(row).expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 in, UTF-8 out")
}

fn plus(date: NaiveDate, days: i64) -> NaiveDate {
    if days >= 0 {
        date + Days::new(days as u64)
    } else {
        date - Days::new(days.unsigned_abs())
    }
}

/// A code as Microsoft hands them out: three groups of four, no look-alike characters.
fn achievement_code(rng: &mut Rng, taken: &mut HashSet<String>) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    loop {
        let mut code = String::with_capacity(14);
        for i in 0..12 {
            if i > 0 && i % 4 == 0 {
                code.push('-');
            }
            code.push(*rng.pick(ALPHABET) as char);
        }
        if taken.insert(code.clone()) {
            return code;
        }
    }
}

/// A score from 1 to 5 around `mean`.
fn score(rng: &mut Rng, mean: f64) -> u8 {
    let noise = (rng.unit() + rng.unit() + rng.unit() - 1.5) * 1.6;
    (mean + 0.15 + noise).round().clamp(1.0, 5.0) as u8
}

/// The demo's files for the year ending `today` (and the month after it).
pub fn generate(seed: u64, today: NaiveDate) -> Dataset {
    let mut rng = Rng::new(seed);
    let this_month = today.with_day(1).expect("day 1 exists");
    let first_month = this_month - Months::new(13);
    // The order of the steps is the order the generator draws in: a seed gives one dataset.
    let title_plan = title_plan_rows(&mut rng, this_month);
    let valid_until: Vec<NaiveDate> = TRAINERS.iter().map(|t| plus(today, t.valid_for)).collect();
    let trainer_rows = trainer_rows(&valid_until);
    let classes = plan_classes(&mut rng, first_month, today, &valid_until);
    let class_rows = class_rows(&classes);
    let learners = learners(&mut rng);
    let mut taken = HashSet::new();
    let Attendance {
        roster,
        mut codes,
        responses,
    } = attendance(&mut rng, &classes, &learners, today, &mut taken);
    let redemptions = redemption_report(&mut codes, today);
    // Codes left in the pool for the classes still to come, valid for a year.
    let expires_on = plus(today, 365).to_string();
    let pool: Vec<Vec<String>> = (0..80)
        .map(|_| vec![achievement_code(&mut rng, &mut taken), expires_on.clone()])
        .collect();

    let vouchers = voucher_rows(&mut rng, first_month, today);
    let courseware = courseware::rows(&mut rng, first_month, today);

    let file = |kind: Kind, rows: &[Vec<String>]| (kind, csv_text(kind.columns(), rows));
    Dataset {
        files: vec![
            file(Kind::TitlePlan, &title_plan),
            file(Kind::Trainers, &trainer_rows),
            file(Kind::Classes, &class_rows),
            file(Kind::Roster, &roster),
            file(Kind::CodePool, &pool),
            file(Kind::Codes, &codes),
            file(Kind::SurveyResponses, &responses),
            file(Kind::Vouchers, &vouchers),
            file(Kind::Redemptions, &redemptions),
            file(Kind::Courseware, &courseware),
        ],
    }
}

/// Microsoft's redemption report for the last 30 days: those redemptions reach the app
/// through it (they are taken out of the `codes` file), and it credits two codes this
/// partner never issued, which the import lists as not ours. Draws nothing.
fn redemption_report(codes: &mut [Vec<String>], today: NaiveDate) -> Vec<Vec<String>> {
    let from = plus(today, -30);
    let mut report = Vec::new();
    for row in codes.iter_mut() {
        if let Ok(redeemed) = row[4].parse::<NaiveDate>()
            && redeemed >= from
        {
            report.push(vec![row[2].clone(), row[4].clone(), row[1].clone()]);
            row[4].clear();
        }
    }
    for n in 1..=2 {
        report.push(vec![
            format!("MSL-ELSEWHERE-{n:04}"),
            plus(today, -3).to_string(),
            String::new(),
        ]);
    }
    report
}

/// Title Plan: courseware versions from the last year and a half.
fn title_plan_rows(rng: &mut Rng, this_month: NaiveDate) -> Vec<Vec<String>> {
    COURSES
        .iter()
        .map(|c| {
            let version = this_month - Months::new(rng.range(1, 18) as u32);
            vec![
                c.code.to_string(),
                c.title.to_string(),
                c.days.to_string(),
                c.fundamentals.to_string(),
                c.area.to_string(),
                if c.official { "official" } else { "unofficial" }.to_string(),
                version.format("%Y-%m").to_string(),
            ]
        })
        .collect()
}

fn trainer_rows(valid_until: &[NaiveDate]) -> Vec<Vec<String>> {
    TRAINERS
        .iter()
        .zip(valid_until)
        .map(|(t, until)| {
            let email = format!(
                "{}@northwind-learning.example",
                ascii(t.name).to_lowercase().replace(' ', ".")
            );
            vec![
                t.name.to_string(),
                email,
                t.mct_id.to_string(),
                until.to_string(),
                t.affiliated.to_string(),
            ]
        })
        .collect()
}

/// Classes: week by week from the first month to a month ahead, fewer in August and in
/// December, none over the holidays; numbered by year in start order.
fn plan_classes(
    rng: &mut Rng,
    first_month: NaiveDate,
    today: NaiveDate,
    valid_until: &[NaiveDate],
) -> Vec<Class> {
    let weights: Vec<u32> = COURSES.iter().map(|c| c.weight).collect();
    let mut monday = first_month - Days::new(first_month.weekday().num_days_from_monday() as u64);
    let last_start = today + Days::new(30);
    let mut classes: Vec<Class> = Vec::new();
    while monday <= last_start {
        let count = match (monday.month(), monday.day()) {
            (12, 20..) => 0,
            (8, _) | (12, 14..) => rng.range(1, 3),
            _ => rng.range(4, 6),
        };
        for _ in 0..count {
            let ci = rng.weighted(&weights);
            let c = &COURSES[ci];
            let days = u64::from(c.days.clamp(1, 5));
            let start = monday + Days::new(rng.range(0, 5 - days));
            let end = start + Days::new(days - 1);
            if start < first_month || start > last_start {
                continue;
            }
            let modality = if rng.chance(0.12) {
                Modality::Recorded
            } else if rng.chance(0.4) {
                Modality::InPerson
            } else {
                Modality::Virtual
            };
            let status = if rng.chance(0.03) {
                ClassStatus::Cancelled
            } else if end >= today {
                ClassStatus::Scheduled
            } else if end > plus(today, -21) {
                match rng.range(0, 19) {
                    0..=9 => ClassStatus::Delivered,
                    10..=16 => ClassStatus::Confirmed,
                    _ => ClassStatus::Scheduled,
                }
            } else if rng.chance(0.04) {
                ClassStatus::Delivered
            } else {
                ClassStatus::Confirmed
            };
            // Rule 1: official content needs an MCT in good standing to the last day.
            let able: Vec<usize> = (0..TRAINERS.len())
                .filter(|&t| !c.official || valid_until[t] >= end)
                .collect();
            let experts: Vec<usize> = able
                .iter()
                .copied()
                .filter(|&t| c.area.is_empty() || TRAINERS[t].areas.contains(&c.area))
                .collect();
            let trainer = *rng.pick(if experts.is_empty() { &able } else { &experts });
            classes.push(Class {
                class_ref: String::new(),
                course: ci,
                trainer,
                start,
                end,
                modality,
                status,
            });
        }
        monday = monday + Days::new(7);
    }
    classes.sort_by(|a, b| {
        (a.start, COURSES[a.course].code, a.trainer).cmp(&(
            b.start,
            COURSES[b.course].code,
            b.trainer,
        ))
    });
    let mut year = 0;
    let mut number = 0;
    for class in &mut classes {
        if class.start.year() != year {
            year = class.start.year();
            number = 0;
        }
        number += 1;
        class.class_ref = format!("C-{year}-{number:04}");
    }
    classes
}

fn class_rows(classes: &[Class]) -> Vec<Vec<String>> {
    classes
        .iter()
        .map(|c| {
            vec![
                c.class_ref.clone(),
                COURSES[c.course].code.to_string(),
                TRAINERS[c.trainer].mct_id.to_string(),
                c.start.to_string(),
                c.end.to_string(),
                c.modality.id().to_string(),
                c.status.id().to_string(),
                // Every class is taught in English; those still to come are on the public
                // schedule (issue 17 item 6).
                "en".to_string(),
                (c.status == ClassStatus::Scheduled).to_string(),
            ]
        })
        .collect()
}

/// The people: unique e-mail addresses at the customers.
fn learners(rng: &mut Rng) -> Vec<(String, String)> {
    let mut learners: Vec<(String, String)> = Vec::with_capacity(LEARNERS);
    let mut emails = HashSet::new();
    while learners.len() < LEARNERS {
        let first = *rng.pick(FIRST_NAMES);
        let last = *rng.pick(LAST_NAMES);
        let company = *rng.pick(COMPANIES);
        let mut email = format!("{}.{}@{company}", first.to_lowercase(), last.to_lowercase());
        let mut n = 2;
        while emails.contains(&email) {
            email = format!(
                "{}.{}{n}@{company}",
                first.to_lowercase(),
                last.to_lowercase()
            );
            n += 1;
        }
        emails.insert(email.clone());
        learners.push((format!("{first} {last}"), email));
    }
    learners
}

/// Who attended each class, and the codes and survey responses that followed.
struct Attendance {
    roster: Vec<Vec<String>>,
    codes: Vec<Vec<String>>,
    responses: Vec<Vec<String>>,
}

fn attendance(
    rng: &mut Rng,
    classes: &[Class],
    learners: &[(String, String)],
    today: NaiveDate,
    taken: &mut HashSet<String>,
) -> Attendance {
    let mut roster = Vec::new();
    let mut codes = Vec::new();
    let mut responses = Vec::new();
    for class in classes {
        if class.status == ClassStatus::Cancelled {
            continue;
        }
        let c = &COURSES[class.course];
        let size = if class.modality == Modality::Recorded {
            rng.range(6, 12)
        } else if c.fundamentals {
            rng.range(9, 16)
        } else {
            rng.range(6, 16)
        } as usize;
        // Customers send colleagues together: most of a class comes from a few companies.
        let mut seats: Vec<usize> = Vec::with_capacity(size);
        while seats.len() < size {
            let learner = rng.range(0, LEARNERS as u64 - 1) as usize;
            if !seats.contains(&learner) {
                seats.push(learner);
            }
        }
        let ended = class.end < today;
        let issues_codes = class.status.took_place()
            && !(class.status == ClassStatus::Delivered && class.end > plus(today, -14));
        let response_rate = 0.45 + rng.unit() * 0.3;
        let mean = area_mean(c.area) + TRAINERS[class.trainer].score_offset;
        let class_mean = mean + (rng.unit() - 0.5) * 0.3;
        for learner in seats {
            let (name, email) = &learners[learner];
            let attended = ended && class.status != ClassStatus::Scheduled && rng.chance(0.93);
            roster.push(vec![
                class.class_ref.clone(),
                name.clone(),
                email.clone(),
                attended.to_string(),
            ]);
            if !attended {
                continue;
            }
            if issues_codes && rng.chance(0.96) {
                let issued = plus(class.end, rng.range(0, 2) as i64).min(today);
                let redeemed = if rng.chance(0.86) {
                    let lag = match rng.range(0, 19) {
                        0..=7 => rng.range(0, 5),
                        8..=16 => rng.range(6, 30),
                        _ => rng.range(31, 90),
                    };
                    Some(plus(issued, lag as i64)).filter(|d| *d <= today)
                } else {
                    None
                };
                codes.push(vec![
                    class.class_ref.clone(),
                    email.clone(),
                    achievement_code(rng, taken),
                    issued.to_string(),
                    redeemed.map(|d| d.to_string()).unwrap_or_default(),
                ]);
            }
            if class.status.took_place() && rng.chance(response_rate) {
                let submitted = plus(class.end, rng.range(0, 12) as i64);
                if submitted > today {
                    continue;
                }
                let mut row = vec![
                    class.class_ref.clone(),
                    email.clone(),
                    submitted.to_string(),
                ];
                let all_blank = rng.chance(0.01);
                for q in 0..5 {
                    // q3 (labs) is the one most often skipped.
                    let blank = all_blank || rng.chance(if q == 2 { 0.08 } else { 0.03 });
                    row.push(if blank {
                        String::new()
                    } else {
                        score(rng, class_mean).to_string()
                    });
                }
                // About one response in four carries a comment in tune with its scores
                // (chosen without a draw, so the rest of the demo stays as it was).
                let n = responses.len();
                row.push(if n % 4 == 0 {
                    comment_for(&row[3..], n / 4).to_string()
                } else {
                    String::new()
                });
                responses.push(row);
            }
        }
    }
    Attendance {
        roster,
        codes,
        responses,
    }
}

/// A demo comment for a response with `answers` (q1..q5 cells), the `k`-th comment.
fn comment_for(answers: &[String], k: usize) -> &'static str {
    let scores: Vec<usize> = answers.iter().filter_map(|a| a.parse().ok()).collect();
    let (n, sum) = (scores.len(), scores.iter().sum::<usize>());
    let texts = if n > 0 && 2 * sum >= 9 * n {
        COMMENTS_GOOD
    } else if n == 0 || 2 * sum >= 7 * n {
        COMMENTS_MIXED
    } else {
        COMMENTS_POOR
    };
    texts[k % texts.len()]
}

/// Exam vouchers: an order every week or two, fundamentals and advanced.
fn voucher_rows(rng: &mut Rng, first_month: NaiveDate, today: NaiveDate) -> Vec<Vec<String>> {
    let mut vouchers = Vec::new();
    let mut day = plus(first_month, rng.range(2, 10) as i64);
    let mut order = 0;
    while day <= today {
        order += 1;
        let order_ref = format!("PO-{}-{order:03}", day.format("%Y%m"));
        let lines = rng.range(1, 3);
        let mut exams = HashSet::new();
        for _ in 0..lines {
            let (exam, level, quantity) = if rng.chance(0.4) {
                (
                    *rng.pick(FUNDAMENTALS_EXAMS),
                    "fundamentals",
                    rng.range(2, 12),
                )
            } else {
                (*rng.pick(ADVANCED_EXAMS), "advanced", rng.range(1, 6))
            };
            if exams.insert(exam) {
                vouchers.push(vec![
                    day.to_string(),
                    exam.to_string(),
                    level.to_string(),
                    quantity.to_string(),
                    order_ref.clone(),
                ]);
            }
        }
        day = plus(day, rng.range(6, 14) as i64);
    }
    vouchers
}

/// The name without accents, for an e-mail address.
fn ascii(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests;
