//! Evidence packs (issue 17 item 5): for a KPI figure, a class or a recording, one ZIP
//! with its line items, the ledger entries behind them — with every entry after the first
//! of them up to a signed checkpoint, which is what lets a third party recompute the
//! chain — and that checkpoint. The format and its check are `ledger::pack`; which
//! entries are carried is `domain::evidence`.
use ed25519_dalek::SigningKey;
use entity::{
    achievement_codes, classes, enrollments, ledger_entries, recording_consents, recordings,
    survey_responses, takedowns,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::ServiceError;
use super::exports::write_row;
use super::kpi_lines::{self, Figure, LineFilter};
use crate::domain::evidence::{CheckpointNeed, slice_for, slice_under};
use crate::domain::kpi::RulesProfile;
use crate::ledger::checkpoint::{self, Checkpoint};
use crate::ledger::pack::{self, PackEntry};

/// What a pack is made for. The caller has checked that the asker may see it.
pub enum Subject {
    Figure(LineFilter),
    Class(classes::Model),
    Recording(recordings::Model),
}

/// A pack made.
pub struct Pack {
    pub filename: String,
    pub bytes: Vec<u8>,
    /// A checkpoint was signed for it (the newest stored one did not cover its entries).
    pub fresh_checkpoint: bool,
    /// Entries carried, and those behind the subject.
    pub entries: usize,
    pub behind: usize,
}

/// The columns of a class's or a recording's `line-items.csv`. Learners appear by
/// enrollment number only, as in the ledger; free-text notes are left out.
pub const RECORD_COLUMNS: [&str; 5] = ["line", "item", "subject", "date", "detail"];

/// Entries a query of the slice, and ids an `IN` list.
const BATCH: u64 = 2000;
const IN_LIST: usize = 500;

/// Makes the pack: gathers the lines and the entries behind them, signs a checkpoint if
/// the newest stored one falls short of them, reads the slice and writes the ZIP.
pub async fn build(
    db: &DatabaseConnection,
    key: &SigningKey,
    subject: &Subject,
    rules: &RulesProfile,
) -> Result<Pack, ServiceError> {
    let gathered = gather(db, subject, rules).await?;
    let behind = gathered.behind;
    let public_key = hex::encode(key.verifying_key().to_bytes());
    let newest = checkpoint::stored(db)
        .await?
        .into_iter()
        .find(|c| c.public_key == public_key);
    let newest = newest
        .map(|c| Checkpoint::parse(&c.document))
        .transpose()
        .map_err(|e| anyhow::anyhow!("the newest stored checkpoint cannot be read: {e}"))?;
    let (checkpoint, slice, fresh) = match slice_for(&behind, newest.as_ref().map(|c| c.entry_id)) {
        CheckpointNeed::Stored(slice) => (newest.expect("a stored checkpoint"), slice, false),
        CheckpointNeed::Fresh => {
            let stored = checkpoint::write(db, key).await?;
            let cp = Checkpoint::parse(&stored.document).map_err(anyhow::Error::msg)?;
            let slice = slice_under(&behind, cp.entry_id);
            (cp, slice, true)
        }
    };
    if checkpoint.entry_id < 1 {
        return Err(ServiceError::Refused(
            "The ledger is empty: there is nothing to prove yet.".into(),
        ));
    }
    let mut entries = Vec::with_capacity((slice.last - slice.first + 1) as usize);
    let mut next = slice.first;
    while next <= slice.last {
        let batch = ledger_entries::Entity::find()
            .filter(ledger_entries::Column::Id.between(next, slice.last))
            .order_by_asc(ledger_entries::Column::Id)
            .limit(BATCH)
            .all(db)
            .await?;
        let Some(last) = batch.last().map(|e| e.id) else {
            break;
        };
        entries.extend(
            batch
                .iter()
                .map(|e| PackEntry::of(e, behind.binary_search(&e.id).is_ok())),
        );
        next = last + 1;
    }
    let organisation = crate::mail::brand::Brand::load(db).await?.name;
    let created_at = crate::clock::now();
    let (count, behind_count) = (entries.len(), behind.len());
    let key = key.clone();
    let readme = pack::readme(&gathered.subject, &organisation, slice.first, &checkpoint);
    let subject = gathered.subject;
    let line_items = gathered.csv;
    // Hashing and compressing a long slice is CPU work: off the async threads.
    let bytes = tokio::task::spawn_blocking(move || {
        pack::write(
            subject,
            created_at,
            (slice.first, slice.last),
            behind,
            vec![
                (pack::README, readme.into_bytes()),
                (pack::LINE_ITEMS, line_items),
                (pack::LEDGER, pack::ledger_lines(&entries)),
                (pack::CHECKPOINT, checkpoint.document().into_bytes()),
            ],
            &key,
        )
    })
    .await
    .map_err(|e| anyhow::anyhow!("writing the pack: {e}"))?
    .map_err(|e| anyhow::anyhow!("writing the pack: {e}"))?;
    Ok(Pack {
        filename: format!("evidence-{}.zip", gathered.stem),
        bytes,
        fresh_checkpoint: fresh,
        entries: count,
        behind: behind_count,
    })
}

struct Gathered {
    subject: pack::Subject,
    /// The file name's middle part.
    stem: String,
    csv: Vec<u8>,
    /// Ids of the entries behind the subject, ascending, no repeats.
    behind: Vec<i64>,
}

fn csv_err(e: csv::Error) -> ServiceError {
    ServiceError::Other(e.into())
}

fn finish(writer: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, ServiceError> {
    writer
        .into_inner()
        .map_err(|e| ServiceError::Other(anyhow::anyhow!("csv: {e}")))
}

async fn gather(
    db: &DatabaseConnection,
    subject: &Subject,
    rules: &RulesProfile,
) -> Result<Gathered, ServiceError> {
    let mut gathered = match subject {
        Subject::Figure(filter) => figure(db, filter, rules).await?,
        Subject::Class(class) => class_lines(db, class).await?,
        Subject::Recording(recording) => recording_lines(db, recording).await?,
    };
    gathered.behind.sort_unstable();
    gathered.behind.dedup();
    Ok(gathered)
}

/// Ids of the entries about `entity_type` records `ids`.
async fn entries_of(
    db: &impl ConnectionTrait,
    entity_type: &str,
    ids: &[String],
) -> Result<Vec<i64>, ServiceError> {
    let mut out = vec![];
    for chunk in ids.chunks(IN_LIST) {
        out.extend(
            ledger_entries::Entity::find()
                .select_only()
                .column(ledger_entries::Column::Id)
                .filter(ledger_entries::Column::EntityType.eq(entity_type))
                .filter(ledger_entries::Column::EntityId.is_in(chunk.to_vec()))
                .into_tuple::<i64>()
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// Ids of a record's entries and those of its parts (`class:42`).
async fn record_entries(
    db: &impl ConnectionTrait,
    entity_type: &str,
    id: i64,
) -> Result<Vec<i64>, ServiceError> {
    Ok(ledger_entries::Entity::find()
        .select_only()
        .column(ledger_entries::Column::Id)
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(ledger_entries::Column::EntityType.eq(entity_type))
                        .add(ledger_entries::Column::EntityId.eq(id.to_string())),
                )
                .add(ledger_entries::Column::Parent.eq(format!("{entity_type}:{id}"))),
        )
        .into_tuple::<i64>()
        .all(db)
        .await?)
}

/// A KPI figure: the line-item CSV of `/kpi/lines.csv`, and the entries of its items
/// (codes, responses or vouchers), of their classes and of those classes' courses — what
/// makes a line count and how much.
async fn figure(
    db: &DatabaseConnection,
    filter: &LineFilter,
    rules: &RulesProfile,
) -> Result<Gathered, ServiceError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    write_row(&mut writer, kpi_lines::COLUMNS).map_err(csv_err)?;
    let (mut items, mut class_refs) = (vec![], std::collections::BTreeSet::new());
    let mut after = 0;
    loop {
        let lines = kpi_lines::page(db, filter, rules, after, BATCH).await?;
        for line in &lines {
            write_row(&mut writer, line.record()).map_err(csv_err)?;
            items.push(line.id.to_string());
            if !line.class_ref.is_empty() {
                class_refs.insert(line.class_ref.clone());
            }
        }
        match lines.last() {
            Some(last) if lines.len() as u64 == BATCH => after = last.id,
            _ => break,
        }
    }
    let item_type = match filter.figure {
        Figure::Courseware | Figure::ExcludedCodes => "achievement_code",
        Figure::Surveys | Figure::ExcludedSurveys => "survey_response",
        Figure::Exams => crate::services::vouchers::ENTITY,
    };
    let mut behind = entries_of(db, item_type, &items).await?;
    let refs: Vec<String> = class_refs.into_iter().collect();
    let (mut class_ids, mut course_ids) = (vec![], vec![]);
    for chunk in refs.chunks(IN_LIST) {
        for (id, course) in classes::Entity::find()
            .select_only()
            .column(classes::Column::Id)
            .column(classes::Column::CourseId)
            .filter(classes::Column::ClassRef.is_in(chunk.to_vec()))
            .into_tuple::<(i64, i64)>()
            .all(db)
            .await?
        {
            class_ids.push(id.to_string());
            course_ids.push(course);
        }
    }
    course_ids.sort_unstable();
    course_ids.dedup();
    let course_ids: Vec<String> = course_ids.iter().map(i64::to_string).collect();
    behind.extend(entries_of(db, "class", &class_ids).await?);
    behind.extend(entries_of(db, "course", &course_ids).await?);
    let mut query = format!("as_of={}&figure={}", filter.as_of, filter.figure.id());
    if let Some(area) = filter.area {
        query.push_str(&format!("&area={}", area.id()));
    }
    let title = match filter.area {
        Some(area) => format!(
            "{} · {}, as of {}",
            filter.figure.label(),
            area.label(),
            filter.as_of
        ),
        None => format!("{}, as of {}", filter.figure.label(), filter.as_of),
    };
    Ok(Gathered {
        subject: pack::Subject {
            kind: "kpi-figure".into(),
            id: query,
            title,
        },
        stem: format!(
            "kpi-{}-{}{}",
            filter.figure.id(),
            filter.as_of,
            filter
                .area
                .map(|a| format!("-{}", a.id()))
                .unwrap_or_default()
        ),
        csv: finish(writer)?,
        behind,
    })
}

fn enrollment(id: i64) -> String {
    format!("enrollment {id}")
}

/// A class: its roster (attendance), codes and survey responses, and the entries of the
/// class and of its parts.
async fn class_lines(
    db: &DatabaseConnection,
    class: &classes::Model,
) -> Result<Gathered, ServiceError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    write_row(&mut writer, RECORD_COLUMNS).map_err(csv_err)?;
    let roster = enrollments::Entity::find()
        .filter(enrollments::Column::ClassId.eq(class.id))
        .order_by_asc(enrollments::Column::Id)
        .all(db)
        .await?;
    for e in &roster {
        let attended = if e.attended {
            "attended"
        } else {
            "did not attend"
        };
        write_row(
            &mut writer,
            ["roster", &e.id.to_string(), &enrollment(e.id), "", attended],
        )
        .map_err(csv_err)?;
    }
    for code in achievement_codes::Entity::find()
        .filter(
            achievement_codes::Column::EnrollmentId
                .in_subquery(crate::services::rosters::ids_of_class(class.id)),
        )
        .order_by_asc(achievement_codes::Column::Id)
        .all(db)
        .await?
    {
        let detail = match code.redeemed_on {
            Some(day) => format!("redeemed on {day}"),
            None => "not redeemed".into(),
        };
        write_row(
            &mut writer,
            [
                "code",
                &code.code,
                &code.enrollment_id.map(enrollment).unwrap_or_default(),
                &code.issued_on.map(|d| d.to_string()).unwrap_or_default(),
                &detail,
            ],
        )
        .map_err(csv_err)?;
    }
    for r in survey_responses::Entity::find()
        .filter(
            survey_responses::Column::EnrollmentId
                .in_subquery(crate::services::rosters::ids_of_class(class.id)),
        )
        .order_by_asc(survey_responses::Column::Id)
        .all(db)
        .await?
    {
        let answers = [r.q1, r.q2, r.q3, r.q4, r.q5]
            .iter()
            .enumerate()
            .map(|(i, q)| match q {
                Some(a) => format!("q{} {a}", i + 1),
                None => format!("q{} unanswered", i + 1),
            })
            .collect::<Vec<_>>()
            .join("; ");
        write_row(
            &mut writer,
            [
                "survey",
                &r.id.to_string(),
                &enrollment(r.enrollment_id),
                &r.submitted_on.to_string(),
                &answers,
            ],
        )
        .map_err(csv_err)?;
    }
    Ok(Gathered {
        subject: pack::Subject {
            kind: "class".into(),
            id: class.class_ref.clone(),
            title: format!("Class {}", class.class_ref),
        },
        stem: format!("class-{}", class.class_ref),
        csv: finish(writer)?,
        behind: record_entries(db, "class", class.id).await?,
    })
}

/// A recording: its consents (who, status, how) and takedowns, and the entries of the
/// recording and of its parts.
async fn recording_lines(
    db: &DatabaseConnection,
    recording: &recordings::Model,
) -> Result<Gathered, ServiceError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    write_row(&mut writer, RECORD_COLUMNS).map_err(csv_err)?;
    for c in recording_consents::Entity::find()
        .filter(recording_consents::Column::RecordingId.eq(recording.id))
        .order_by_asc(recording_consents::Column::Id)
        .all(db)
        .await?
    {
        let who = match (c.enrollment_id, c.trainer_id) {
            (Some(e), _) => enrollment(e),
            (None, Some(t)) => format!("MCT (trainer {t})"),
            (None, None) => String::new(),
        };
        let detail = match c.method {
            Some(method) => format!("{} ({})", c.status.id(), method.id()),
            None => c.status.id().to_string(),
        };
        write_row(
            &mut writer,
            [
                "consent",
                &c.id.to_string(),
                &who,
                &c.changed_at
                    .map(|at| at.date_naive().to_string())
                    .unwrap_or_default(),
                &detail,
            ],
        )
        .map_err(csv_err)?;
    }
    for t in takedowns::Entity::find()
        .filter(takedowns::Column::RecordingId.eq(recording.id))
        .order_by_asc(takedowns::Column::Id)
        .all(db)
        .await?
    {
        let mut detail = format!(
            "reason {}; status {}; due {}",
            t.reason.id(),
            t.status.id(),
            t.due_on
        );
        if let Some(done) = t.completed_on {
            detail.push_str(&format!("; completed {done}"));
        }
        write_row(
            &mut writer,
            [
                "takedown",
                &t.reference,
                "",
                &t.received_on.to_string(),
                &detail,
            ],
        )
        .map_err(csv_err)?;
    }
    Ok(Gathered {
        subject: pack::Subject {
            kind: "recording".into(),
            id: recording.id.to_string(),
            title: format!("Recording {} ({})", recording.id, recording.title),
        },
        stem: format!("recording-{}", recording.id),
        csv: finish(writer)?,
        behind: record_entries(db, "recording", recording.id).await?,
    })
}
