//! One table's rows as an import's chunk sees them: the rows its lines refer to, read
//! with one `IN` query per chunk instead of one query per line, and the new rows waiting
//! for the next multi-row insert.
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use sea_orm::sea_query::{SimpleExpr, Value};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::{ROWS_PER_STATEMENT, ServiceError, insert_returning_by};

type Model<A> = <<A as ActiveModelTrait>::Entity as EntityTrait>::Model;

/// Keys per `IN` list: far below every backend's limit on bound parameters.
pub(crate) const KEYS_PER_QUERY: usize = 512;

/// Rows of one table by key `K`; new rows of type `A` wait with what their ledger entry
/// needs (`X`). A key the chunk named that is neither found nor pending is absent from
/// the table.
pub(crate) struct Keyed<K, A: ActiveModelTrait, X> {
    found: HashMap<K, Model<A>>,
    pending: Vec<(K, A, X)>,
    pending_keys: HashSet<K>,
    key_of: fn(&Model<A>) -> K,
}

impl<K, A, X> Keyed<K, A, X>
where
    K: Eq + Hash + Clone,
    A: ActiveModelTrait + Clone + Send,
    Model<A>: sea_orm::IntoActiveModel<A> + Clone,
{
    pub(crate) fn new(key_of: fn(&Model<A>) -> K) -> Self {
        Keyed {
            found: HashMap::new(),
            pending: Vec::new(),
            pending_keys: HashSet::new(),
            key_of,
        }
    }

    /// Reads the rows whose `column` is one of `keys` (those not already known), a bounded
    /// `IN` list at a time. The chunk before's rows are forgotten, so memory stays flat.
    pub(crate) async fn load<V>(
        &mut self,
        tx: &impl ConnectionTrait,
        column: impl ColumnTrait,
        keys: impl IntoIterator<Item = V>,
    ) -> Result<(), ServiceError>
    where
        V: Into<Value>,
    {
        self.found.clear();
        self.load_more(tx, column, keys, None).await
    }

    /// Like [`Keyed::load`], keeping what is known, with an extra condition.
    pub(crate) async fn load_more<V>(
        &mut self,
        tx: &impl ConnectionTrait,
        column: impl ColumnTrait,
        keys: impl IntoIterator<Item = V>,
        also: Option<SimpleExpr>,
    ) -> Result<(), ServiceError>
    where
        V: Into<Value>,
    {
        let keys: Vec<Value> = keys.into_iter().map(Into::into).collect();
        for chunk in keys.chunks(KEYS_PER_QUERY) {
            let mut query = A::Entity::find().filter(column.is_in(chunk.iter().cloned()));
            if let Some(also) = &also {
                query = query.filter(also.clone());
            }
            for model in query.all(tx).await? {
                self.found.insert((self.key_of)(&model), model);
            }
        }
        Ok(())
    }

    /// The stored row with `key`, if the chunk's lookups found one.
    pub(crate) fn get(&self, key: &K) -> Option<&Model<A>> {
        self.found.get(key)
    }

    /// Every stored row the chunk's lookups found or wrote.
    pub(crate) fn found(&self) -> impl Iterator<Item = &Model<A>> {
        self.found.values()
    }

    /// Whether a new row with `key` waits for the next insert (a line naming it again
    /// must [`Keyed::insert_pending`] first).
    pub(crate) fn is_pending(&self, key: &K) -> bool {
        self.pending_keys.contains(key)
    }

    /// The new rows waiting for the next insert.
    pub(crate) fn pending_rows(&self) -> impl Iterator<Item = &A> {
        self.pending.iter().map(|(_, row, _)| row)
    }

    /// Remembers a row the chunk wrote (an update).
    pub(crate) fn put(&mut self, model: Model<A>) {
        self.found.insert((self.key_of)(&model), model);
    }

    /// Queues a new row; true when a statement's worth is waiting.
    pub(crate) fn queue(&mut self, key: K, row: A, extra: X) -> bool {
        self.pending_keys.insert(key.clone());
        self.pending.push((key, row, extra));
        self.pending.len() >= ROWS_PER_STATEMENT
    }

    /// Inserts the waiting rows in multi-row statements and returns them as stored, in
    /// the order they were queued, each with its extra (they are found from now on).
    pub(crate) async fn insert_pending(
        &mut self,
        tx: &impl ConnectionTrait,
    ) -> Result<Vec<(Model<A>, X)>, ServiceError> {
        if self.pending.is_empty() {
            return Ok(vec![]);
        }
        self.pending_keys.clear();
        let pending = std::mem::take(&mut self.pending);
        let rows = pending.iter().map(|(_, row, _)| row.clone()).collect();
        let mut by_key = insert_returning_by(tx, rows, self.key_of).await?;
        let mut stored = Vec::with_capacity(pending.len());
        for (key, _, extra) in pending {
            let model = by_key.remove(&key).ok_or_else(|| {
                ServiceError::Other(anyhow::anyhow!("an inserted row was not returned"))
            })?;
            self.found.insert(key, model.clone());
            stored.push((model, extra));
        }
        Ok(stored)
    }
}

/// A record kind an import writes by one key (a course by its code, an MCT by MCT ID, a
/// voucher purchase by order and exam): the service's own pieces, which
/// [`RecordImport`] puts together.
pub(crate) trait KeyedRecord {
    type Active: ActiveModelTrait + Clone + Send;
    type Input;
    type Key: Eq + Hash + Clone;
    /// The ledger's name for the record.
    const ENTITY: &'static str;

    fn key(input: &Self::Input) -> Self::Key;
    fn key_of(model: &Model<Self::Active>) -> Self::Key;
    fn id(model: &Model<Self::Active>) -> i64;
    /// Reads the stored records the chunk's `inputs` name (and any they could clash with).
    async fn prefetch(
        rows: &mut Keyed<Self::Key, Self::Active, ()>,
        tx: &impl ConnectionTrait,
        inputs: &[Self::Input],
    ) -> Result<(), ServiceError>;
    /// Whether writing `input` over `stored` would change nothing.
    fn unchanged(stored: &Model<Self::Active>, input: &Self::Input) -> bool;
    /// The row of a new record; refused when it clashes with a stored or waiting one on
    /// another unique column (an MCT's e-mail).
    fn new_row(
        rows: &Keyed<Self::Key, Self::Active, ()>,
        input: &Self::Input,
    ) -> Result<Self::Active, ServiceError>;
    /// A new record's ledger view.
    fn snapshot(model: &Model<Self::Active>) -> serde_json::Value;
    /// Writes `input` over `stored` (the service's own write, checks and entry included).
    async fn update(
        tx: &crate::ledger::Recorder,
        actor: &crate::ledger::Actor,
        stored: Model<Self::Active>,
        input: &Self::Input,
    ) -> Result<Model<Self::Active>, ServiceError>;
}

/// An import of a [`KeyedRecord`] kind: the chunk's records read at once, new ones
/// inserted a multi-row statement at a time, each with its `import` entry.
pub(crate) struct RecordImport<R: KeyedRecord> {
    rows: Keyed<R::Key, R::Active, ()>,
}

impl<R> Default for RecordImport<R>
where
    R: KeyedRecord,
    Model<R::Active>: sea_orm::IntoActiveModel<R::Active> + Clone,
{
    fn default() -> Self {
        RecordImport {
            rows: Keyed::new(R::key_of),
        }
    }
}

impl<R> RecordImport<R>
where
    R: KeyedRecord,
    Model<R::Active>: sea_orm::IntoActiveModel<R::Active> + Clone,
{
    pub(crate) async fn prefetch(
        &mut self,
        tx: &impl ConnectionTrait,
        inputs: &[R::Input],
    ) -> Result<(), ServiceError> {
        self.rows.found.clear();
        R::prefetch(&mut self.rows, tx, inputs).await
    }

    /// Inserts the waiting records, each with its ledger entry.
    pub(crate) async fn flush(
        &mut self,
        tx: &crate::ledger::Recorder,
        actor: &crate::ledger::Actor,
    ) -> Result<(), ServiceError> {
        for (model, ()) in self.rows.insert_pending(tx).await? {
            let entry = crate::ledger::Entry::new(R::ENTITY, R::id(&model), "import");
            super::record_write(tx, actor, entry, None, &R::snapshot(&model), ()).await?;
        }
        Ok(())
    }

    /// One row: a new record waits for the next insert; a changed one is updated; the
    /// same record again (in this file or stored) changes nothing.
    pub(crate) async fn import(
        &mut self,
        tx: &crate::ledger::Recorder,
        actor: &crate::ledger::Actor,
        input: &R::Input,
    ) -> Result<super::Outcome<()>, ServiceError> {
        let key = R::key(input);
        if self.rows.is_pending(&key) {
            // The same record twice in one file: the second row updates the first.
            self.flush(tx, actor).await?;
        }
        let Some(stored) = self.rows.get(&key).cloned() else {
            if self.rows.queue(key, R::new_row(&self.rows, input)?, ()) {
                self.flush(tx, actor).await?;
            }
            return Ok(super::Outcome::Created(()));
        };
        if R::unchanged(&stored, input) {
            return Ok(super::Outcome::Unchanged(()));
        }
        let model = R::update(tx, actor, stored, input).await?;
        self.rows.put(model);
        Ok(super::Outcome::Updated(()))
    }
}
