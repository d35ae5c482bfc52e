pub use sea_orm_migration::prelude::*;

mod m20261122_000001_accounts_and_ledger;
mod m20261122_000002_delivery_record;
mod m20261122_000003_codes_surveys_outbox;
mod m20261122_000004_vouchers;
mod m20261122_000005_api_tokens;
mod m20261122_000006_org_settings;
mod m20261122_000007_recordings;
mod m20261122_000008_learner_erasure;
mod m20261122_000010_kpi_covering_indexes;
mod m20261215_000001_ledger_texts_and_checkpoints;
mod m20261216_000001_password_resets;
pub mod m20261217_000001_vocabulary_checks;
mod m20261218_000001_kpi_aggregates;
mod m20261219_000001_table_versions;
mod m20261220_000001_ledger_filter_indexes;
mod m20261220_000002_org_logo;
mod m20261221_000001_roster_counts;
pub mod m20261222_000001_notices_and_calendars;
mod m20261223_000001_public_schedule;
pub mod m20261224_000001_learning_partner;
mod m20261224_000002_retention;
mod m20261224_000004_reconciliation;

pub mod kpi_aggregates;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_accounts_and_ledger::Migration),
            Box::new(m20261122_000002_delivery_record::Migration),
            Box::new(m20261122_000003_codes_surveys_outbox::Migration),
            Box::new(m20261122_000004_vouchers::Migration),
            Box::new(m20261122_000005_api_tokens::Migration),
            Box::new(m20261122_000006_org_settings::Migration),
            Box::new(m20261122_000007_recordings::Migration),
            Box::new(m20261122_000008_learner_erasure::Migration),
            Box::new(m20261122_000010_kpi_covering_indexes::Migration),
            Box::new(m20261215_000001_ledger_texts_and_checkpoints::Migration),
            Box::new(m20261216_000001_password_resets::Migration),
            Box::new(m20261217_000001_vocabulary_checks::Migration),
            Box::new(m20261218_000001_kpi_aggregates::Migration),
            Box::new(m20261219_000001_table_versions::Migration),
            Box::new(m20261220_000001_ledger_filter_indexes::Migration),
            Box::new(m20261220_000002_org_logo::Migration),
            Box::new(m20261221_000001_roster_counts::Migration),
            Box::new(m20261222_000001_notices_and_calendars::Migration),
            Box::new(m20261223_000001_public_schedule::Migration),
            Box::new(m20261224_000001_learning_partner::Migration),
            Box::new(m20261224_000002_retention::Migration),
            Box::new(m20261224_000004_reconciliation::Migration),
        ]
    }
}
