use sea_orm::entity::prelude::*;

/// Free text of a ledger entry (a reason, a note) kept beside the chain: the entry's
/// `texts` commits to `SHA-256(salt ‖ text)`, so an erasure can blank `text` and `salt`
/// while the chain still verifies.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_texts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub entry_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub field: String,
    /// 16 random bytes, hex; NULL once erased.
    pub salt: Option<String>,
    /// NULL once erased.
    pub text: Option<String>,
    /// The `erase` entry that blanked this text (and lists it).
    pub erased_by: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
