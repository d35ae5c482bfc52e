//! The `code-pool` and `codes` imports: new codes for the pool, and Microsoft's report of
//! codes issued and redeemed.
use super::*;

/// A `code-pool` CSV row as read (the field names are its columns).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PoolFields {
    achievement_code: String,
}

/// A `code-pool` row's code, checked without the database (before an import locks).
pub(crate) fn parse_pool_row(row: &PoolFields) -> Result<String, ServiceError> {
    parse_code(&row.achievement_code, CODE_MAX)
        .map_err(|m| ServiceError::field("achievement_code", m))
}

/// A `codes` CSV row (Microsoft's report) as read (the field names are its columns).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CodeFields {
    class_ref: String,
    learner_email: String,
    achievement_code: String,
    issued_on: String,
    redeemed_on: String,
}

/// A `codes` row as checked without the database (before an import locks).
pub(crate) struct CodeRow {
    class_ref: String,
    key: Email,
    code: String,
    issued_on: NaiveDate,
    redeemed_on: Option<NaiveDate>,
}

pub(crate) fn parse_code_row(row: &CodeFields) -> Result<CodeRow, ServiceError> {
    let field = |name: &'static str| move |m: String| ServiceError::field(name, m);
    let class_ref = parse_code(&row.class_ref, 64).map_err(field("class_ref"))?;
    let key = Email::parse(&row.learner_email).map_err(field("learner_email"))?;
    let code = parse_code(&row.achievement_code, CODE_MAX).map_err(field("achievement_code"))?;
    let issued_on = parse_date(&row.issued_on).map_err(field("issued_on"))?;
    let redeemed_on = parse_optional_date(&row.redeemed_on).map_err(field("redeemed_on"))?;
    if let Some(on) = redeemed_on {
        check_redeemed(on, Some(issued_on), clock::now().date_naive())?;
    }
    Ok(CodeRow {
        class_ref,
        key,
        code,
        issued_on,
        redeemed_on,
    })
}

/// The pool code of a `code-pool` row that is new, or `None` when the code is known
/// already, in the pool or issued (loading the same file again changes nothing).
pub(crate) async fn new_pool_code(
    tx: &Recorder,
    row: &PoolFields,
) -> Result<Option<achievement_codes::ActiveModel>, ServiceError> {
    let code = parse_pool_row(row)?;
    if by_code(tx, &code).await?.is_some() {
        return Ok(None);
    }
    let now = clock::now();
    Ok(Some(achievement_codes::ActiveModel {
        code: Set(code),
        enrollment_id: Set(None),
        issued_on: Set(None),
        emailed_at: Set(None),
        redeemed_on: Set(None),
        expires_on: Set(None),
        token_hash: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }))
}

/// Inserts new pool codes a multi-row statement at a time, each with its ledger entry.
pub(crate) async fn insert_pool(
    tx: &Recorder,
    actor: &Actor,
    rows: Vec<achievement_codes::ActiveModel>,
) -> Result<(), ServiceError> {
    let codes: Vec<String> = rows.iter().map(|r| r.code.clone().unwrap()).collect();
    let by_code = crate::services::insert_returning_by(tx, rows, |m| m.code.clone()).await?;
    for code in &codes {
        let model = crate::services::inserted(&by_code, code)?;
        let entry =
            Entry::new("achievement_code", model.id, "import").changes(changes(None, model));
        tx.record_as(actor, entry).await?;
    }
    Ok(())
}

/// One `codes` CSV row. Returns what
/// the row did (the summary counts it), or the field it is wrong in.
///
/// Microsoft's report is taken as it is: the learner must be on the class's roster, but
/// need not be marked as attending. A code issued to another learner is an error; an
/// empty `redeemed_on` never clears a stored redemption.
pub(crate) async fn import_code_row(
    tx: &Recorder,
    actor: &Actor,
    row: &CodeFields,
    lookups: &mut impl crate::services::imports::Lookups,
) -> Result<Outcome<()>, ServiceError> {
    let CodeRow {
        class_ref,
        key,
        code: code_text,
        issued_on,
        redeemed_on,
    } = parse_code_row(row)?;
    let class = lookups
        .class(tx, &class_ref)
        .await?
        .ok_or_else(|| ServiceError::field("class_ref", format!("no class {class_ref}")))?;
    // Rule 7 holds for Microsoft's report too: a code is issued on or after the first day
    // of a class that took place.
    check_started(
        OnceStarted::IssueCodes,
        class.status,
        class.start_date,
        clock::now().date_naive(),
    )
    .map_err(|m| ServiceError::field("class_ref", m))?;
    if issued_on < class.start_date {
        return Err(ServiceError::field(
            "issued_on",
            format!(
                "must be on or after the class's first day ({}): codes are issued once it has started",
                class.start_date
            ),
        ));
    }
    let learner = lookups.learner(tx, class.id, &key).await?.ok_or_else(|| {
        ServiceError::field(
            "learner_email",
            format!("{} is not on the roster of {class_ref}", key.as_str()),
        )
    })?;
    let existing = by_code(tx, &code_text).await?;
    if existing
        .as_ref()
        .and_then(|c| c.enrollment_id)
        .is_some_and(|id| id != learner.id)
    {
        return Err(ServiceError::field(
            "achievement_code",
            format!("{code_text} is already issued to another learner"),
        ));
    }
    if let Some(held) = of_enrollment(tx, learner.id).await?
        && held.code != code_text
    {
        return Err(ServiceError::field(
            "achievement_code",
            format!(
                "{} already holds code {} in {class_ref}: a learner gets one code per class",
                key.as_str(),
                held.code
            ),
        ));
    }
    let now = clock::now();
    let (model, before) = match existing {
        None => {
            let model = achievement_codes::ActiveModel {
                code: Set(code_text),
                enrollment_id: Set(Some(learner.id)),
                issued_on: Set(Some(issued_on)),
                emailed_at: Set(None),
                redeemed_on: Set(redeemed_on),
                expires_on: Set(None),
                token_hash: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(tx)
            .await?;
            (model, None)
        }
        Some(old) => {
            let redeemed = redeemed_on.or(old.redeemed_on);
            if old.enrollment_id == Some(learner.id)
                && old.issued_on == Some(issued_on)
                && old.redeemed_on == redeemed
            {
                return Ok(Outcome::Unchanged(()));
            }
            let before = old.clone();
            let mut active: achievement_codes::ActiveModel = old.into();
            active.enrollment_id = Set(Some(learner.id));
            active.issued_on = Set(Some(issued_on));
            active.redeemed_on = Set(redeemed);
            active.updated_at = Set(now);
            (active.update(tx).await?, Some(before))
        }
    };
    let entry = Entry::new("achievement_code", model.id, "import")
        .changes(changes(before.as_ref(), &model))
        .parent("class", class.id);
    tx.record_as(actor, entry).await?;
    Ok(match before {
        Some(_) => Outcome::Updated(()),
        None => Outcome::Created(()),
    })
}
