use sea_orm::entity::prelude::*;

/// Append-only audit trail; `hash = SHA-256(prev_hash || canonical entry)`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    /// Assigned from the chain head (1, 2, 3, …) so a deleted row leaves a visible gap.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub at: DateTimeUtc,
    pub actor: String,
    pub entity_type: String,
    pub entity_id: String,
    pub action: String,
    /// JSON text: `{"field": {"before": …, "after": …}}` or a summary object.
    pub changes: String,
    /// Entries before version 2 only: the reason, inside the chain. Newer entries keep
    /// it in `ledger_texts`.
    pub reason: Option<String>,
    /// The whole record a part belongs to (`class:42` for a roster line), if any.
    pub parent: Option<String>,
    pub prev_hash: String,
    /// Version 2 entries: `{"field": SHA-256(salt ‖ text)}` for every free text kept in
    /// `ledger_texts` (`{}` when none). NULL for entries written before it existed.
    pub texts: Option<String>,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
