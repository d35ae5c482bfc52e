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

    /// The first pass: every field of the row that can be checked without the database.
    fn check(importer: &Importer, record: &csv::StringRecord) -> FieldErrors;

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
            TitlePlan, Trainers, Classes, Roster, CodePool, Codes, SurveyResponses, Vouchers)
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

    async fn write(
        importer: &mut Importer,
        tx: &Recorder,
        actor: &Actor,
        record: &csv::StringRecord,
    ) -> Result<Outcome<()>, RowError> {
        let input = importer.fields::<CourseFields>(record)?.parse()?;
        let existing = course_svc::by_code(tx, &input.course_code).await?;
        Ok(unit(
            course_svc::write(tx, actor, "import", existing, &input).await?,
        ))
    }
}

impl Rows for Trainers {
    const COLUMNS: &'static [&'static str] =
        &["name", "email", "mct_id", "mct_valid_until", "affiliated"];
    const TABLE: &'static str = "trainers";

    fn check(importer: &Importer, record: &csv::StringRecord) -> FieldErrors {
        importer.check_every_field(record, |f: TrainerFields| f.parse())
    }

    async fn write(
        importer: &mut Importer,
        tx: &Recorder,
        actor: &Actor,
        record: &csv::StringRecord,
    ) -> Result<Outcome<()>, RowError> {
        let input = importer.fields::<TrainerFields>(record)?.parse()?;
        let existing = trainer_svc::by_mct_id(tx, &input.mct_id).await?;
        Ok(unit(
            trainer_svc::write(tx, actor, "import", existing, &input, None).await?,
        ))
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
    ];
    const TABLE: &'static str = "classes";

    fn check(importer: &Importer, record: &csv::StringRecord) -> FieldErrors {
        importer.check_every_field(record, |f: ClassFields| f.parse(true))
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
        let existing = class_svc::by_ref(tx, &input.class_ref).await?;
        let named = importer.names(tx, &input).await?;
        importer.classes.remove(&input.class_ref);
        let via = Via::Import(&importer.by);
        if existing.is_some() {
            let outcome = class_svc::write(tx, actor, via, existing, &input, named).await?;
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

    async fn write(
        importer: &mut Importer,
        tx: &Recorder,
        actor: &Actor,
        record: &csv::StringRecord,
    ) -> Result<Outcome<()>, RowError> {
        importer.roster_row(tx, actor, record).await
    }
}

/// A kind reported by its first bad field: its row struct is checked by `parse` and
/// written by `import` (or `import_with_lookups`, which also takes the importer's cached
/// class and roster lookups), both in the kind's service.
macro_rules! first_field_rows {
    ($rows:ident, table = $table:literal, columns = [$($column:literal),+ $(,)?],
     parse = $parse:path, import = $import:path $(,)?) => {
        first_field_rows!(@impl $rows, $table, [$($column),+], $parse,
            |_importer, tx, actor, fields| $import(tx, actor, fields));
    };
    ($rows:ident, table = $table:literal, columns = [$($column:literal),+ $(,)?],
     parse = $parse:path, import_with_lookups = $import:path $(,)?) => {
        first_field_rows!(@impl $rows, $table, [$($column),+], $parse,
            |importer, tx, actor, fields| $import(tx, actor, fields, importer));
    };
    (@impl $rows:ident, $table:literal, [$($column:literal),+], $parse:path,
     |$importer:ident, $tx:ident, $actor:ident, $fields:ident| $call:expr) => {
        impl Rows for $rows {
            const COLUMNS: &'static [&'static str] = &[$($column),+];
            const TABLE: &'static str = $table;

            fn check(importer: &Importer, record: &csv::StringRecord) -> FieldErrors {
                importer.check_first_field(record, $parse)
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

impl Rows for CodePool {
    const COLUMNS: &'static [&'static str] = &["achievement_code"];
    const TABLE: &'static str = "achievement_codes";

    fn check(importer: &Importer, record: &csv::StringRecord) -> FieldErrors {
        importer.check_first_field(record, codes::parse_pool_row)
    }

    /// A new code is inserted with the next batch (a pool file holds thousands).
    async fn write(
        importer: &mut Importer,
        tx: &Recorder,
        actor: &Actor,
        record: &csv::StringRecord,
    ) -> Result<Outcome<()>, RowError> {
        let row: codes::PoolFields = importer.fields(record)?;
        if importer.pool_code_pending(&codes::parse_pool_row(&row)?) {
            return Ok(Outcome::Unchanged(()));
        }
        match codes::new_pool_code(tx, &row).await? {
            None => Ok(Outcome::Unchanged(())),
            Some(new) => {
                importer.queue_pool_code(tx, actor, new).await?;
                Ok(Outcome::Created(()))
            }
        }
    }
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
    import_with_lookups = codes::import_code_row,
);

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
    ],
    parse = surveys::parse_response_row,
    import_with_lookups = surveys::import_response_row,
);

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
    import = vouchers::import_row,
);
