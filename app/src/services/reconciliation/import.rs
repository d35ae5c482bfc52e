//! Importing Microsoft's download: the upload is kept until it is imported (the mapping
//! editor shows its header and first rows), every line is read through the mapping, and
//! the import replaces Microsoft's lines of the months the file covers, all or nothing.
use std::collections::{BTreeMap, HashSet};

use chrono::Duration;
use entity::{
    reconciliation_imports, reconciliation_lines, reconciliation_mappings, reconciliation_uploads,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectionTrait,
    DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::json;

use super::{IMPORT_ENTITY, MAPPING_ENTITY, email_key};
use crate::auth::{random_token, token_hash};
use crate::clock;
use crate::domain::reconciliation::{
    DateFormat, Field, Figure, Mapping, MicrosoftLine, PRESETS, bind, first_of_month,
};
use crate::ledger::{Actor, Entry, Recorder};
use crate::services::{ROWS_PER_STATEMENT, ServiceError};

/// Microsoft's downloads are a year of line items at most: a file larger than this is
/// not one of them.
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;
pub const TOO_LARGE: &str =
    "is larger than 32 MiB: Microsoft's downloads are smaller; split the file by month";
/// Rows the editor shows under the header.
const SAMPLE_ROWS: usize = 5;
/// Line errors listed when a file is refused (the total is always given).
const LISTED_ERRORS: usize = 200;
/// An upload not imported within this long is deleted by the next upload.
const UPLOAD_KEPT_HOURS: i64 = 24;

/// A mapping to choose from: a built-in preset or a saved one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub name: String,
    pub preset: bool,
    pub mapping: Mapping,
}

/// The presets, then the saved mappings (by name), of `figure`.
pub async fn choices(
    db: &impl ConnectionTrait,
    figure: Figure,
) -> Result<Vec<Choice>, ServiceError> {
    let mut out: Vec<Choice> = PRESETS
        .iter()
        .filter(|p| p.figure == figure)
        .map(|p| Choice {
            name: p.name.to_string(),
            preset: true,
            mapping: p.mapping(),
        })
        .collect();
    for saved in reconciliation_mappings::Entity::find()
        .filter(reconciliation_mappings::Column::Figure.eq(figure))
        .order_by_asc(reconciliation_mappings::Column::Name)
        .all(db)
        .await?
    {
        let columns: BTreeMap<Field, String> = serde_json::from_str(&saved.columns)
            .map_err(|e| ServiceError::Other(anyhow::anyhow!("mapping {:?}: {e}", saved.name)))?;
        out.push(Choice {
            name: saved.name,
            preset: false,
            mapping: Mapping {
                figure,
                columns,
                date_format: saved.date_format,
            },
        });
    }
    Ok(out)
}

/// An upload waiting for its import, as the mapping editor shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// The secret the editor's form carries (only its hash is stored).
    pub token: String,
    pub figure: Figure,
    pub file_name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// The mapping the editor starts from: the first choice that fits the header (a saved
    /// one first), else the columns whose names match a field, with the guessed dates.
    pub suggested: Mapping,
    pub suggested_name: Option<String>,
}

fn csv_reader(content: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(content.trim_start_matches('\u{feff}').as_bytes())
}

fn header_of(content: &str) -> Result<Vec<String>, ServiceError> {
    let mut reader = csv_reader(content);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| ServiceError::field("file", format!("is not a CSV file: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(ServiceError::field(
            "file",
            "is empty: its first line must name the columns",
        ));
    }
    Ok(header)
}

/// Keeps Microsoft's file until it is imported, and says how to read it: a `file` field
/// error when it is not a CSV with a header.
pub async fn upload(
    db: &DatabaseConnection,
    actor: &Actor,
    figure: Figure,
    file_name: &str,
    bytes: Vec<u8>,
) -> Result<Preview, ServiceError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ServiceError::field("file", TOO_LARGE));
    }
    let content = String::from_utf8(bytes)
        .map_err(|_| ServiceError::field("file", "is not UTF-8 text: save it as CSV UTF-8"))?;
    header_of(&content)?;
    let token = random_token();
    let now = clock::now();
    let tx = crate::db::begin_write(db).await?;
    reconciliation_uploads::Entity::delete_many()
        .filter(
            reconciliation_uploads::Column::CreatedAt.lt(now - Duration::hours(UPLOAD_KEPT_HOURS)),
        )
        .exec(&tx)
        .await?;
    let name: String = file_name.chars().take(200).collect();
    reconciliation_uploads::ActiveModel {
        token: Set(token_hash(&token)),
        figure: Set(figure),
        file_name: Set(if name.trim().is_empty() {
            "pasted.csv".into()
        } else {
            name
        }),
        content: Set(content),
        created_by: Set(actor.to_string()),
        created_at: Set(now),
    }
    .insert(&tx)
    .await?;
    tx.commit().await?;
    preview(db, &token).await
}

async fn pending(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<reconciliation_uploads::Model, ServiceError> {
    reconciliation_uploads::Entity::find_by_id(token_hash(token))
        .one(db)
        .await?
        .ok_or_else(|| {
            ServiceError::Refused(
                "This upload is no longer waiting (it was imported, or is older than a day): upload the file again."
                    .into(),
            )
        })
}

/// The editor's view of a waiting upload.
pub async fn preview(db: &impl ConnectionTrait, token: &str) -> Result<Preview, ServiceError> {
    let upload = pending(db, token).await?;
    let header = header_of(&upload.content)?;
    let rows: Vec<Vec<String>> = csv_reader(&upload.content)
        .records()
        .filter_map(Result::ok)
        .take(SAMPLE_ROWS)
        .map(|r| r.iter().map(str::to_string).collect())
        .collect();
    let choices = choices(db, upload.figure).await?;
    let fitting = choices
        .iter()
        .rev()
        .find(|c| crate::domain::reconciliation::bind(&c.mapping, &header).is_ok());
    let (suggested, suggested_name) = match fitting {
        Some(c) => (c.mapping.clone(), Some(c.name.clone())),
        None => (guess(upload.figure, &header, &rows), None),
    };
    Ok(Preview {
        token: token.to_string(),
        figure: upload.figure,
        file_name: upload.file_name,
        header,
        rows,
        suggested,
        suggested_name,
    })
}

/// Columns whose names contain a field's usual words, and the date format that reads the
/// sample's dates.
fn guess(figure: Figure, header: &[String], rows: &[Vec<String>]) -> Mapping {
    let words: &[(Field, &[&str])] = &[
        (Field::Date, &["date"]),
        (Field::Code, &["achievement", "code"]),
        (Field::OrderRef, &["order"]),
        (Field::Email, &["email", "e-mail"]),
        (Field::Course, &["course", "exam"]),
        (Field::Units, &["quantity", "units", "qty"]),
        (Field::Points, &["point", "kpi"]),
    ];
    let (required, optional) = figure.fields();
    let mut columns = BTreeMap::new();
    let mut taken: HashSet<usize> = HashSet::new();
    for field in required.iter().chain(optional) {
        let Some((_, keys)) = words.iter().find(|(f, _)| f == field) else {
            continue;
        };
        let found = header.iter().enumerate().find(|(i, h)| {
            let h = h.to_lowercase();
            !taken.contains(i) && keys.iter().any(|k| h.contains(k))
        });
        if let Some((i, h)) = found {
            taken.insert(i);
            columns.insert(*field, h.clone());
        }
    }
    let date_index = columns
        .get(&Field::Date)
        .and_then(|c| header.iter().position(|h| h == c));
    let samples: Vec<&str> = date_index
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i).map(String::as_str))
                .collect()
        })
        .unwrap_or_default();
    Mapping {
        figure,
        columns,
        date_format: DateFormat::guess(samples.iter().copied()).unwrap_or(DateFormat::Iso),
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub import: reconciliation_imports::Model,
    /// Microsoft's lines of the same months that the file replaced.
    pub replaced: u64,
}

/// Reads every line of the waiting upload through `mapping` and imports it ([`write`]);
/// the upload is gone once imported.
pub async fn import(
    db: &DatabaseConnection,
    actor: &Actor,
    token: &str,
    mapping: &Mapping,
    save_as: &str,
) -> Result<Imported, ServiceError> {
    let upload = pending(db, token).await?;
    if upload.figure != mapping.figure {
        return Err(ServiceError::Refused(format!(
            "This upload is Microsoft's {} download, not {}.",
            upload.figure.label(),
            mapping.figure.label()
        )));
    }
    let file = File {
        name: &upload.file_name,
        content: &upload.content,
        upload_token: Some(&upload.token),
    };
    write(db, actor, file, mapping, save_as).await
}

/// A named mapping (a preset, or one saved) of `figure`; `Field("mapping")` naming the
/// choices when there is none by that name.
pub async fn named(
    db: &impl ConnectionTrait,
    figure: Figure,
    name: &str,
) -> Result<Mapping, ServiceError> {
    let choices = choices(db, figure).await?;
    match choices.iter().find(|c| c.name == name.trim()) {
        Some(c) => Ok(c.mapping.clone()),
        None => Err(ServiceError::field(
            "mapping",
            format!(
                "no mapping of the {} download is named {name:?} (there are: {})",
                figure.id(),
                choices
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )),
    }
}

/// Microsoft's file as read: its name and text, and the waiting upload it came from.
pub struct File<'a> {
    pub name: &'a str,
    pub content: &'a str,
    /// The stored hash of the upload's token, deleted with the import.
    pub upload_token: Option<&'a str>,
}

/// Reads every line of `file` through `mapping` and, if all read, replaces Microsoft's
/// lines of the months the file covers with them, saving the mapping as `save_as` when a
/// name is given. A bad line refuses the whole file, listing each bad line
/// (`line N: field: reason`); nothing is written.
pub async fn write(
    db: &DatabaseConnection,
    actor: &Actor,
    file: File<'_>,
    mapping: &Mapping,
    save_as: &str,
) -> Result<Imported, ServiceError> {
    let save_as = save_as.trim();
    if save_as.chars().count() > 100 {
        return Err(ServiceError::field(
            "save_as",
            "is longer than 100 characters",
        ));
    }
    let header = header_of(file.content)?;
    let bound = bind(mapping, &header).map_err(|errors| {
        ServiceError::Refused(format!(
            "The mapping does not fit the file; nothing was imported.\n{}",
            errors.join("\n")
        ))
    })?;
    let mut lines: Vec<(i64, MicrosoftLine)> = vec![];
    let mut errors: Vec<String> = vec![];
    let mut bad = 0usize;
    for (i, record) in csv_reader(file.content).records().enumerate() {
        let line_no = i as i64 + 2;
        let result = record
            .map_err(|e| format!("is not valid CSV: {e}"))
            .and_then(|r| {
                let cells: Vec<&str> = r.iter().collect();
                if cells.iter().all(|c| c.trim().is_empty()) {
                    return Ok(None);
                }
                bound.read(&cells).map(Some)
            });
        match result {
            Ok(Some(line)) => lines.push((line_no, line)),
            Ok(None) => {}
            Err(message) => {
                bad += 1;
                if errors.len() < LISTED_ERRORS {
                    errors.push(format!("line {line_no}: {message}"));
                }
            }
        }
    }
    if bad > 0 {
        let cut = if bad > errors.len() {
            format!(" (the first {} are listed)", errors.len())
        } else {
            String::new()
        };
        return Err(ServiceError::Refused(format!(
            "Nothing was imported: {bad} bad line{}{cut}.\n{}",
            if bad == 1 { "" } else { "s" },
            errors.join("\n")
        )));
    }
    let (Some(first), Some(last)) = (
        lines.iter().map(|(_, l)| l.date).min(),
        lines.iter().map(|(_, l)| l.date).max(),
    ) else {
        return Err(ServiceError::Refused(
            "The file has no lines under its header: nothing was imported.".into(),
        ));
    };
    let (from, to) = (
        first_of_month(first),
        super::last_of_month(first_of_month(last)),
    );

    let tx = Recorder::begin(db, actor).await?;
    let now = clock::now();
    if !save_as.is_empty() {
        save_mapping(&tx, save_as, mapping, now).await?;
    }
    let replaced = reconciliation_lines::Entity::delete_many()
        .filter(reconciliation_lines::Column::Figure.eq(mapping.figure))
        .filter(reconciliation_lines::Column::OccurredOn.between(from, to))
        .exec(&tx)
        .await?
        .rows_affected;
    let mapping_name = if save_as.is_empty() {
        "(not saved)".to_string()
    } else {
        save_as.to_string()
    };
    let import = reconciliation_imports::ActiveModel {
        id: NotSet,
        figure: Set(mapping.figure),
        file_name: Set(file.name.chars().take(200).collect()),
        mapping_name: Set(mapping_name),
        lines: Set(lines.len() as i64),
        first_date: Set(first),
        last_date: Set(last),
        imported_by: Set(actor.to_string()),
        imported_at: Set(now),
    }
    .insert(&tx)
    .await?;
    for chunk in lines.chunks(ROWS_PER_STATEMENT) {
        reconciliation_lines::Entity::insert_many(chunk.iter().map(|(line_no, l)| {
            let (key, item) = match mapping.figure {
                Figure::Surveys => (email_key(&l.item), String::new()),
                _ => (l.item.clone(), l.item.clone()),
            };
            reconciliation_lines::ActiveModel {
                id: NotSet,
                import_id: Set(import.id),
                figure: Set(mapping.figure),
                line_no: Set(*line_no),
                occurred_on: Set(l.date),
                item_key: Set(key.chars().take(200).collect()),
                item: Set(item.chars().take(200).collect()),
                course_code: Set(l.course.chars().take(60).collect()),
                units: Set(l.units),
                half_points: Set(l.half_points),
            }
        }))
        .exec(&tx)
        .await?;
    }
    if let Some(token) = file.upload_token {
        reconciliation_uploads::Entity::delete_by_id(token.to_string())
            .exec(&tx)
            .await?;
    }
    tx.record(
        Entry::new(IMPORT_ENTITY, import.id, "import").changes(json!({
            "figure": mapping.figure,
            "file_name": import.file_name,
            "mapping": import.mapping_name,
            "lines": import.lines,
            "first_date": first,
            "last_date": last,
            "replaced_lines": replaced,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(Imported { import, replaced })
}

/// Saves `mapping` under `name` (a name already saved is overwritten), with its entry.
async fn save_mapping(
    tx: &Recorder,
    name: &str,
    mapping: &Mapping,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ServiceError> {
    if PRESETS.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
        return Err(ServiceError::field(
            "save_as",
            "is the name of a built-in mapping: choose another",
        ));
    }
    let columns = serde_json::to_string(&mapping.columns)
        .map_err(|e| ServiceError::Other(anyhow::anyhow!("mapping: {e}")))?;
    let existing = reconciliation_mappings::Entity::find()
        .filter(reconciliation_mappings::Column::Name.eq(name))
        .one(tx)
        .await?;
    let snapshot = json!({
        "name": name,
        "figure": mapping.figure,
        "columns": mapping.columns,
        "date_format": mapping.date_format,
    });
    let (id, action) = match existing {
        Some(old) => {
            if old.columns == columns
                && old.date_format == mapping.date_format
                && old.figure == mapping.figure
            {
                return Ok(());
            }
            let mut model: reconciliation_mappings::ActiveModel = old.into();
            model.figure = Set(mapping.figure);
            model.columns = Set(columns);
            model.date_format = Set(mapping.date_format);
            model.updated_at = Set(now);
            (model.update(tx).await?.id, "update")
        }
        None => {
            let model = reconciliation_mappings::ActiveModel {
                id: NotSet,
                name: Set(name.to_string()),
                figure: Set(mapping.figure),
                columns: Set(columns),
                date_format: Set(mapping.date_format),
                updated_at: Set(now),
            };
            (model.insert(tx).await?.id, "create")
        }
    };
    tx.record(Entry::new(MAPPING_ENTITY, id, action).changes(snapshot))
        .await?;
    Ok(())
}
