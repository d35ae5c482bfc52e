use sea_orm::entity::prelude::*;

/// A signed checkpoint of the chain head, as written (the document is what is signed
/// and what an admin downloads). Copies kept outside the database are what count
/// against someone who can write to it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_checkpoints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub entry_id: i64,
    pub hash: String,
    pub at: DateTimeUtc,
    /// Hex of the Ed25519 public key that signed it.
    pub public_key: String,
    pub document: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
