//! The `code-pool` and `codes` imports: new codes for the pool, and Microsoft's report of
//! codes issued and redeemed. Both read what a chunk of rows names with a few queries and
//! insert new codes a multi-row statement at a time.
use super::*;
use crate::services::keyed::Keyed;

/// A `code-pool` CSV row as read (the field names are its columns; `expires_on` may be
/// left out).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PoolFields {
    achievement_code: String,
    expires_on: String,
}

/// A `code-pool` row as checked without the database (before an import locks).
pub(crate) struct PoolRow {
    pub(crate) code: String,
    expires_on: Option<NaiveDate>,
}

pub(crate) fn parse_pool_row(row: &PoolFields) -> Result<PoolRow, ServiceError> {
    Ok(PoolRow {
        code: parse_code(&row.achievement_code, CODE_MAX)
            .map_err(|m| ServiceError::field("achievement_code", m))?,
        expires_on: parse_optional_date(&row.expires_on)
            .map_err(|m| ServiceError::field("expires_on", m))?,
    })
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
    pub(crate) class_ref: String,
    pub(crate) key: Email,
    pub(crate) code: String,
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

/// The codes an import's chunk names, read for the whole chunk, and its new codes
/// waiting for the next multi-row insert (with the class a `codes` row names, for its
/// entry's parent; none for a pool code).
pub(crate) struct CodeImport {
    codes: Keyed<String, achievement_codes::ActiveModel, Option<i64>>,
    /// The code each learner the chunk names holds, by enrollment id.
    held: HashMap<i64, String>,
    /// A `redemptions` chunk's holders: enrollment id → (e-mail key, class id).
    holders: HashMap<i64, (String, i64)>,
    /// Codes a `redemptions` report credits that this app never issued: how many rows,
    /// and the first [`crate::services::imports::NOT_OURS_LISTED`] codes.
    pub(crate) not_ours_count: u64,
    pub(crate) not_ours: Vec<String>,
}

impl Default for CodeImport {
    fn default() -> Self {
        CodeImport {
            codes: Keyed::new(|c: &achievement_codes::Model| c.code.clone()),
            held: HashMap::new(),
            holders: HashMap::new(),
            not_ours_count: 0,
            not_ours: Vec::new(),
        }
    }
}

impl CodeImport {
    /// Reads the codes a `redemptions` chunk names and who holds them (one query each).
    pub(crate) async fn prefetch_redeemed(
        &mut self,
        tx: &Recorder,
        codes: impl IntoIterator<Item = String>,
    ) -> Result<(), ServiceError> {
        self.codes
            .load(tx, achievement_codes::Column::Code, codes)
            .await?;
        let ids: Vec<i64> = self.codes.found().filter_map(|c| c.enrollment_id).collect();
        self.holders.clear();
        for chunk in ids.chunks(crate::services::keyed::KEYS_PER_QUERY) {
            let lines = enrollments::Entity::find()
                .filter(enrollments::Column::Id.is_in(chunk.iter().copied()))
                .all(tx)
                .await?;
            self.holders
                .extend(lines.into_iter().map(|l| (l.id, (l.email_key, l.class_id))));
        }
        Ok(())
    }

    fn note_not_ours(&mut self, code: String) {
        self.not_ours_count += 1;
        if self.not_ours.len() < crate::services::imports::NOT_OURS_LISTED
            && !self.not_ours.contains(&code)
        {
            self.not_ours.push(code);
        }
    }

    /// Reads the codes named in `codes` and those held by the learners `enrollment_ids`.
    pub(crate) async fn prefetch(
        &mut self,
        tx: &Recorder,
        codes: impl IntoIterator<Item = String>,
        enrollment_ids: impl IntoIterator<Item = i64>,
    ) -> Result<(), ServiceError> {
        use achievement_codes::Column as C;
        self.codes.load(tx, C::Code, codes).await?;
        self.codes
            .load_more(tx, C::EnrollmentId, enrollment_ids, None)
            .await?;
        self.held = self
            .codes
            .found()
            .filter_map(|c| Some((c.enrollment_id?, c.code.clone())))
            .collect();
        Ok(())
    }

    /// Inserts the waiting codes, each with its ledger entry.
    pub(crate) async fn flush(&mut self, tx: &Recorder, actor: &Actor) -> Result<(), ServiceError> {
        for (model, class_id) in self.codes.insert_pending(tx).await? {
            let mut entry =
                Entry::new("achievement_code", model.id, "import").changes(changes(None, &model));
            if let Some(class_id) = class_id {
                entry = entry.parent("class", class_id);
            }
            tx.record_as(actor, entry).await?;
        }
        Ok(())
    }

    /// Queues a new code (inserting a statement's worth once one waits).
    async fn queue(
        &mut self,
        tx: &Recorder,
        actor: &Actor,
        row: achievement_codes::ActiveModel,
        class_id: Option<i64>,
    ) -> Result<(), ServiceError> {
        let code = row.code.clone().unwrap();
        if let Some(id) = row.enrollment_id.clone().unwrap() {
            self.held.insert(id, code.clone());
        }
        if self.codes.queue(code, row, class_id) {
            self.flush(tx, actor).await?;
        }
        Ok(())
    }
}

/// A new code's row, issued to `enrollment_id` or (`None`) for the pool.
fn new_code(
    code: String,
    enrollment_id: Option<i64>,
    issued_on: Option<NaiveDate>,
    redeemed_on: Option<NaiveDate>,
) -> achievement_codes::ActiveModel {
    let now = clock::now();
    achievement_codes::ActiveModel {
        code: Set(code),
        enrollment_id: Set(enrollment_id),
        issued_on: Set(issued_on),
        emailed_at: Set(None),
        redeemed_on: Set(redeemed_on),
        expires_on: Set(None),
        token_hash: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// One `code-pool` row: a new code joins the pool (with its expiry date when the file has
/// one); a code known already, in the pool or issued, is left as it is (loading the same
/// file again changes nothing).
pub(crate) async fn import_pool_row(
    tx: &Recorder,
    actor: &Actor,
    row: &PoolFields,
    lookups: &mut impl crate::services::imports::Lookups,
) -> Result<Outcome<()>, ServiceError> {
    let PoolRow { code, expires_on } = parse_pool_row(row)?;
    let known = lookups.codes();
    if known.codes.is_pending(&code) || known.codes.get(&code).is_some() {
        return Ok(Outcome::Unchanged(()));
    }
    let mut row = new_code(code, None, None, None);
    row.expires_on = Set(expires_on);
    known.queue(tx, actor, row, None).await?;
    Ok(Outcome::Created(()))
}

/// A `redemptions` row (Microsoft's redemption report) as read: the code and its date;
/// the learner's e-mail when the report has it. Other columns are not read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RedemptionFields {
    achievement_code: String,
    redeemed_on: String,
    learner_email: String,
}

pub(crate) struct RedemptionRow {
    pub(crate) code: String,
    redeemed_on: NaiveDate,
    key: Option<Email>,
}

pub(crate) fn parse_redemption_row(row: &RedemptionFields) -> Result<RedemptionRow, ServiceError> {
    let field = |name: &'static str| move |m: String| ServiceError::field(name, m);
    let code = parse_code(&row.achievement_code, CODE_MAX).map_err(field("achievement_code"))?;
    let redeemed_on = parse_date(&row.redeemed_on).map_err(field("redeemed_on"))?;
    check_redeemed(redeemed_on, None, clock::now().date_naive())?;
    let key = match row.learner_email.trim() {
        "" => None,
        raw => Some(Email::parse(raw).map_err(field("learner_email"))?),
    };
    Ok(RedemptionRow {
        code,
        redeemed_on,
        key,
    })
}

/// One row of Microsoft's redemption report: a code this app issued gets its redemption
/// date (a later report's date replaces an earlier one; a row never clears one); a code it
/// never issued — unknown, or still in the pool — is counted as "credited but not ours"
/// and changes nothing. With the learner's e-mail, it must be the e-mail of the learner
/// the code was issued to.
pub(crate) async fn import_redemption_row(
    tx: &Recorder,
    actor: &Actor,
    row: &RedemptionFields,
    known: &mut CodeImport,
) -> Result<Outcome<()>, ServiceError> {
    let RedemptionRow {
        code,
        redeemed_on,
        key,
    } = parse_redemption_row(row)?;
    let issued = known
        .codes
        .get(&code)
        .filter(|c| c.enrollment_id.is_some())
        .cloned();
    let Some(stored) = issued else {
        known.note_not_ours(code);
        return Ok(Outcome::Unchanged(()));
    };
    let enrollment_id = stored.enrollment_id.unwrap_or_default();
    let (email_key, class_id) =
        known.holders.get(&enrollment_id).cloned().ok_or_else(|| {
            ServiceError::Other(anyhow::anyhow!("code {code} has no roster line"))
        })?;
    if let Some(key) = key
        && key.as_str() != email_key
    {
        return Err(ServiceError::field(
            "learner_email",
            format!(
                "{} is not the learner code {code} was issued to",
                key.as_str()
            ),
        ));
    }
    check_redeemed(redeemed_on, stored.issued_on, clock::now().date_naive())?;
    if stored.redeemed_on == Some(redeemed_on) {
        return Ok(Outcome::Unchanged(()));
    }
    let before = stored.clone();
    let mut active: achievement_codes::ActiveModel = stored.into();
    active.redeemed_on = Set(Some(redeemed_on));
    active.updated_at = Set(clock::now());
    let model = active.update(tx).await?;
    known.codes.put(model.clone());
    let entry = Entry::new("achievement_code", model.id, "import")
        .changes(changes(Some(&before), &model))
        .parent("class", class_id);
    tx.record_as(actor, entry).await?;
    Ok(Outcome::Updated(()))
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
    let known = lookups.codes();
    let held = known.held.get(&learner.id);
    if known.codes.is_pending(&code_text) || held.is_some_and(|c| known.codes.is_pending(c)) {
        // The same code or learner twice in one file: the second row sees the first.
        known.flush(tx, actor).await?;
    }
    let existing = known.codes.get(&code_text).cloned();
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
    if let Some(held) = known.held.get(&learner.id)
        && *held != code_text
    {
        return Err(ServiceError::field(
            "achievement_code",
            format!(
                "{} already holds code {held} in {class_ref}: a learner gets one code per class",
                key.as_str(),
            ),
        ));
    }
    let (model, before) = match existing {
        None => {
            let row = new_code(code_text, Some(learner.id), Some(issued_on), redeemed_on);
            known.queue(tx, actor, row, Some(class.id)).await?;
            return Ok(Outcome::Created(()));
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
            active.updated_at = Set(clock::now());
            let model = active.update(tx).await?;
            known.held.insert(learner.id, model.code.clone());
            known.codes.put(model.clone());
            (model, before)
        }
    };
    let entry = Entry::new("achievement_code", model.id, "import")
        .changes(changes(Some(&before), &model))
        .parent("class", class.id);
    tx.record_as(actor, entry).await?;
    Ok(Outcome::Updated(()))
}
