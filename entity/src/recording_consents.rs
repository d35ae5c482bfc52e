use sea_orm::entity::prelude::*;

/// One consent subject of a recording: the presenting MCT (`trainer_id`) or a learner
/// of the source class (`enrollment_id` only, never a copy of their name or e-mail).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recording_consents")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub recording_id: i64,
    pub trainer_id: Option<i64>,
    pub enrollment_id: Option<i64>,
    pub status: tsp_domain::recording::ConsentStatus,
    /// How the last change was given: `email_link`, `in_app` or `paper`.
    pub method: Option<tsp_domain::recording::ConsentMethod>,
    /// For paper consent: where the signed paper is kept.
    pub note: Option<String>,
    /// SHA-256 of the learner's consent-page token; NULL cancels the link.
    #[sea_orm(unique)]
    pub token_hash: Option<String>,
    pub changed_at: Option<DateTimeUtc>,
    /// When retention erased this consent's evidence (note, link, ledger texts).
    pub evidence_erased_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
