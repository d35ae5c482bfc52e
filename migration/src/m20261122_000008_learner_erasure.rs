use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A survey link is derived from the enrollment id (never stored), so cancelling
        // one on a learner's erasure needs a flag on the invitation.
        manager
            .alter_table(
                Table::alter()
                    .table(SurveyInvitations::Table)
                    .add_column(timestamp_with_time_zone_null(
                        SurveyInvitations::CancelledAt,
                    ))
                    .to_owned(),
            )
            .await?;
        // Erasure finds a learner's enrollments in every class by e-mail.
        manager
            .create_index(
                Index::create()
                    .name("idx_enrollments_email_key")
                    .table(Enrollments::Table)
                    .col(Enrollments::EmailKey)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_enrollments_email_key")
                    .table(Enrollments::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SurveyInvitations::Table)
                    .drop_column(SurveyInvitations::CancelledAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum SurveyInvitations {
    Table,
    CancelledAt,
}

#[derive(DeriveIden)]
enum Enrollments {
    Table,
    EmailKey,
}
