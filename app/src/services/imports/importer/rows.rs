//! Each import kind's rows: its columns and table, the first-pass check (no database)
//! and the write (second pass, under the write lock). `with_rows!` is the one place an
//! import kind is mapped to its rows.
use super::*;

/// One import kind's rows.
pub(in crate::services::imports) trait Rows {
    /// The header SPEC §7 gives, in order.
    const COLUMNS: &'static [&'static str];
    /// The table the kind fills (the one its own lookups read back while it runs).
    const TABLE: &'static str;
    /// Columns a file may leave out.
    const OPTIONAL: &'static [&'static str] = &[];
    /// Whether columns beyond `COLUMNS` are ignored (a report exported by another system).
    const IGNORES_OTHER_COLUMNS: bool = false;

    /// The first pass: every field of the row that can be checked without the database.
    fn check(importer: &Importer, record: &csv::StringRecord) -> FieldErrors;

    /// Before a chunk's rows are written: what they refer to, read for the whole chunk
    /// with a few queries, so that [`Rows::write`] looks nothing up row by row.
    async fn prefetch<'r>(
        importer: &mut Importer,
        tx: &Recorder,
        records: impl Iterator<Item = &'r csv::StringRecord>,
    ) -> Result<(), ServiceError> {
        let _ = (importer, tx, records);
        Ok(())
    }

    /// The second pass: what the row refers to, then its write.
    async fn write(
        importer: &mut Importer,
        tx: &Recorder,
        actor: &Actor,
        record: &csv::StringRecord,
    ) -> Result<Outcome<()>, RowError>;
}

/// Evaluates `$body` with `$rows` naming the rows type of `$kind` (each rows type is
/// named as its kind).
macro_rules! with_rows {
    ($kind:expr, $rows:ident => $body:expr) => {
        with_rows!(@each $kind, $rows => $body;
            TitlePlan, Trainers, Classes, Roster, CodePool, Codes, SurveyResponses, Vouchers,
            Redemptions, Courseware)
    };
    (@each $kind:expr, $rows:ident => $body:expr; $($name:ident),+) => {
        match $kind {
            $(Kind::$name => {
                type $rows = $crate::services::imports::importer::rows::$name;
                $body
            })+
        }
    };
}
pub(in crate::services::imports) use with_rows;

pub(in crate::services::imports) struct TitlePlan;
pub(in crate::services::imports) struct Trainers;
pub(in crate::services::imports) struct Classes;
pub(in crate::services::imports) struct Roster;
pub(in crate::services::imports) struct CodePool;
pub(in crate::services::imports) struct Codes;
pub(in crate::services::imports) struct SurveyResponses;
pub(in crate::services::imports) struct Vouchers;
pub(in crate::services::imports) struct Redemptions;
pub(in crate::services::imports) struct Courseware;

impl Rows for TitlePlan {
    const COLUMNS: &'static [&'static str] = &[
        "course_code",
        "title",
        "duration_days",
        "fundamentals",
        "solution_area",
        "content",
        "courseware_version",
    ];
    const TABLE: &'static str = "courses";

    fn check(importer: &Importer, record: &csv::StringRecord) -> FieldErrors {
        importer.check_every_field(record, |f: CourseFields| f.parse())
    }

    async fn prefetch<'r>(
        importer: &mut Importer,
        tx: &Recorder,
        records: impl Iterator<Item = &'r csv::StringRecord>,
    ) -> Result<(), ServiceError> {
        let inputs = importer.parsed(records, |f: &CourseFields| {
            f.parse().map_err(|_| ServiceError::NotFound)
        });
        importer.courses_import.prefetch(tx, &inputs).await
    }

    async fn write(
        importer: &mut Importer,
        tx: &Recorder,
        actor: &Actor,
        record: &csv::StringRecord,
    ) -> Result<Outcome<()>, RowError> {
        let input = importer.fields::<CourseFields>(record)?.parse()?;
        Ok(importer.courses_import.import(tx, actor, &input).await?)
    }
}

impl Rows for Trainers {
    const COLUMNS: &'static [&'static str] =
        &["name", "email", "mct_id", "mct_valid_until", "affiliated"];
    const TABLE: &'static str = "trainers";

    fn check(importer: &Importer, record: &csv::StringRecord) -> FieldErrors {
        importer.check_every_field(record, |f: TrainerFields| f.parse())
    }

    async fn prefetch<'r>(
        importer: &mut Importer,
        tx: &Recorder,
        records: impl Iterator<Item = &'r csv::StringRecord>,
    ) -> Result<(), ServiceError> {
        let inputs = importer.parsed(records, |f: &TrainerFields| {
            f.parse().map_err(|_| ServiceError::NotFound)
        });
        importer.trainers_import.prefetch(tx, &inputs).await
    }

    async fn write(
        importer: &mut Importer,
        tx: &Recorder,
        actor: &Actor,
        record: &csv::StringRecord,
    ) -> Result<Outcome<()>, RowError> {
        let input = importer.fields::<TrainerFields>(record)?.parse()?;
        Ok(importer.trainers_import.import(tx, actor, &input).await?)
    }
}

impl Rows for Classes {
    const COLUMNS: &'static [&'static str] = &[
        "class_ref",
        "course_code",
        "mct_id",
        "start_date",
        "end_date",
        "modality",
        "status",
        "language",
        "public",
    ];
    const TABLE: &'static str = "classes";
    /// The public schedule's columns (issue 17 item 6): absent or blank, a class keeps
    /// what is stored (a new one: no language, not listed).
    const OPTIONAL: &'static [&'static str] = &["language", "public"];

    fn check(importer: &Importer, record: &csv::StringRecord) -> FieldErrors {
        importer.check_every_field(record, |f: ClassFields| f.parse(true))
    }

    async fn prefetch<'r>(
        importer: &mut Importer,
        tx: &Recorder,
        records: impl Iterator<Item = &'r csv::StringRecord>,
    ) -> Result<(), ServiceError> {
        let refs = importer.parsed(records, |f: &ClassFields| {
            f.clone()
                .parse(true)
                .map(|input| input.class_ref)
                .map_err(|_| ServiceError::NotFound)
        });
        importer.prefetch_classes(tx, refs).await
    }

    async fn write(
        importer: &mut Importer,
        tx: &Recorder,
        actor: &Actor,
        record: &csv::StringRecord,
    ) -> Result<Outcome<()>, RowError> {
        let input = importer.fields::<ClassFields>(record)?.parse(true)?;
        if importer.class_pending(&input.class_ref) {
            // The same class twice in one file: the second row updates the first.
            importer.flush(tx, actor).await?;
        }
        let existing = importer.class(tx, &input.class_ref).await?;
        let named = importer.names(tx, &input).await?;
        let via = Via::Import(&importer.by);
        if existing.is_some() {
            let outcome = class_svc::write(tx, actor, via, existing, &input, named).await?;
            importer.cache_class(outcome.model().clone());
            return Ok(unit(outcome));
        }
        // A new class is checked now (its errors name this line) and inserted with the
        // next batch.
        let checked = class_svc::check(tx, via, None, &input, (&named.0, &named.1)).await?;
        let new = class_svc::new_class(via, &input, &checked, named);
        importer.queue_class(tx, actor, new).await?;
        Ok(Outcome::Created(()))
    }
}

impl Rows for Roster {
    const COLUMNS: &'static [&'static str] =
        &["class_ref", "learner_name", "learner_email", "attended"];
    const TABLE: &'static str = "enrollments";

    fn check(importer: &Importer, record: &csv::StringRecord) -> FieldErrors {
        let mut errors = FieldErrors::default();
        if importer.fixed_class.is_none()
            && let Err(m) = parse_code(&importer.get(record, "class_ref"), 64)
        {
            errors.add("class_ref", m);
        }
        let learner = importer.check_every_field(record, |f: EnrollmentFields| f.parse());
        errors.0.extend(learner.0);
        errors
    }

    async fn prefetch<'r>(
        importer: &mut Importer,
        tx: &Recorder,
        records: impl Iterator<Item = &'r csv::StringRecord>,
    ) -> Result<(), ServiceError> {
        if importer.fixed_class.is_some() {
            return Ok(());
        }
        let refs: Vec<String> = records
            .filter_map(|r| parse_code(&importer.get(r, "class_ref"), 64).ok())
            .collect();
        importer.prefetch_classes(tx, refs).await
    }

    async fn write(
        importer: &mut Importer,
        tx: &Recorder,
        actor: &Actor,
        record: &csv::StringRecord,
    ) -> Result<Outcome<()>, RowError> {
        importer.roster_row(tx, actor, record).await
    }
}

/// A kind reported by its first bad field: its row struct is checked by `parse`, what a
/// chunk's rows refer to is read by `prefetch`, and each row is written by `write`.
macro_rules! first_field_rows {
    ($rows:ident, table = $table:literal, columns = [$($column:literal),+ $(,)?],
     $(optional = [$($optional:literal),+ $(,)?], ignores_other_columns = $ignores:literal,)?
     parse = $parse:path, prefetch = $prefetch:path,
     write = |$importer:ident, $tx:ident, $actor:ident, $fields:ident| $call:expr $(,)?) => {
        impl Rows for $rows {
            const COLUMNS: &'static [&'static str] = &[$($column),+];
            const TABLE: &'static str = $table;
            $(
                const OPTIONAL: &'static [&'static str] = &[$($optional),+];
                const IGNORES_OTHER_COLUMNS: bool = $ignores;
            )?

            fn check(importer: &Importer, record: &csv::StringRecord) -> FieldErrors {
                importer.check_first_field(record, $parse)
            }

            async fn prefetch<'r>(
                importer: &mut Importer,
                tx: &Recorder,
                records: impl Iterator<Item = &'r csv::StringRecord>,
            ) -> Result<(), ServiceError> {
                let rows = importer.parsed(records, $parse);
                $prefetch(importer, tx, rows).await
            }

            async fn write(
                $importer: &mut Importer,
                $tx: &Recorder,
                $actor: &Actor,
                record: &csv::StringRecord,
            ) -> Result<Outcome<()>, RowError> {
                let $fields = &$importer.fields(record)?;
                Ok($call.await?)
            }
        }
    };
}

// Microsoft's pool codes, each with its expiry date when the file has one.
first_field_rows!(
    CodePool,
    table = "achievement_codes",
    columns = ["achievement_code", "expires_on"],
    optional = ["expires_on"],
    ignores_other_columns = false,
    parse = codes::parse_pool_row,
    prefetch = prefetch_pool,
    write = |importer, tx, actor, fields| codes::import_pool_row(tx, actor, fields, importer),
);

async fn prefetch_pool(
    importer: &mut Importer,
    tx: &Recorder,
    rows: Vec<codes::PoolRow>,
) -> Result<(), ServiceError> {
    let codes = rows.into_iter().map(|r| r.code);
    importer.codes.prefetch(tx, codes, []).await
}

first_field_rows!(
    Codes,
    table = "achievement_codes",
    columns = [
        "class_ref",
        "learner_email",
        "achievement_code",
        "issued_on",
        "redeemed_on",
    ],
    parse = codes::parse_code_row,
    prefetch = prefetch_codes,
    write = |importer, tx, actor, fields| codes::import_code_row(tx, actor, fields, importer),
);

async fn prefetch_codes(
    importer: &mut Importer,
    tx: &Recorder,
    rows: Vec<codes::CodeRow>,
) -> Result<(), ServiceError> {
    let learners = rows.iter().map(|r| (r.class_ref.clone(), r.key.clone()));
    let ids = importer.prefetch_learners(tx, learners).await?;
    importer
        .codes
        .prefetch(tx, rows.into_iter().map(|r| r.code), ids)
        .await
}

first_field_rows!(
    SurveyResponses,
    table = "survey_responses",
    columns = [
        "class_ref",
        "learner_email",
        "submitted_on",
        "q1",
        "q2",
        "q3",
        "q4",
        "q5",
        "comment",
    ],
    optional = ["comment"],
    ignores_other_columns = false,
    parse = surveys::parse_response_row,
    prefetch = prefetch_responses,
    write = |importer, tx, actor, fields| {
        let comment_column = importer.has_column("comment");
        surveys::import_response_row(tx, actor, fields, comment_column, importer)
    },
);

async fn prefetch_responses(
    importer: &mut Importer,
    tx: &Recorder,
    rows: Vec<surveys::ResponseRow>,
) -> Result<(), ServiceError> {
    let learners = rows.iter().map(|r| (r.class_ref.clone(), r.key.clone()));
    let ids = importer.prefetch_learners(tx, learners).await?;
    importer.responses.prefetch(tx, &ids).await
}

first_field_rows!(
    Vouchers,
    table = "exam_vouchers",
    columns = [
        "purchased_on",
        "exam_code",
        "level",
        "quantity",
        "order_ref",
    ],
    parse = vouchers::parse_row,
    prefetch = prefetch_vouchers,
    write = |importer, tx, actor, fields| importer.vouchers.import(
        tx,
        actor,
        &vouchers::parse_row(fields)?
    ),
);

async fn prefetch_vouchers(
    importer: &mut Importer,
    tx: &Recorder,
    rows: Vec<vouchers::VoucherInput>,
) -> Result<(), ServiceError> {
    importer.vouchers.prefetch(tx, &rows).await
}

// Microsoft's redemption report, as it comes: keyed by the achievement code alone, the
// learner's e-mail optional, any other column ignored.
first_field_rows!(
    Redemptions,
    table = "achievement_codes",
    columns = ["achievement_code", "redeemed_on", "learner_email"],
    optional = ["learner_email"],
    ignores_other_columns = true,
    parse = codes::parse_redemption_row,
    prefetch = prefetch_redemptions,
    write = |importer, tx, actor, fields| {
        codes::import_redemption_row(tx, actor, fields, &mut importer.codes)
    },
);

async fn prefetch_redemptions(
    importer: &mut Importer,
    tx: &Recorder,
    rows: Vec<codes::RedemptionRow>,
) -> Result<(), ServiceError> {
    let codes = rows.into_iter().map(|r| r.code);
    importer.codes.prefetch_redeemed(tx, codes).await
}

// Courseware Marketplace purchases (the Learning Partner program), keyed like vouchers.
first_field_rows!(
    Courseware,
    table = "courseware_purchases",
    columns = [
        "purchased_on",
        "product_kind",
        "product_code",
        "quantity",
        "revenue_usd",
        "order_ref",
    ],
    parse = courseware::parse_row,
    prefetch = prefetch_courseware,
    write = |importer, tx, actor, fields| importer.courseware.import(
        tx,
        actor,
        &courseware::parse_row(fields)?
    ),
);

async fn prefetch_courseware(
    importer: &mut Importer,
    tx: &Recorder,
    rows: Vec<courseware::PurchaseInput>,
) -> Result<(), ServiceError> {
    importer.courseware.prefetch(tx, &rows).await
}
