//! Indexes that hold every column the KPI scan reads from the two big tables, so the
//! window's codes and responses are read from the index alone (no table lookups). They
//! replace the single-column date indexes, which are their prefixes.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_codes_redeemed_enrollment")
                    .table(AchievementCodes::Table)
                    .col(AchievementCodes::RedeemedOn)
                    .col(AchievementCodes::EnrollmentId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_codes_redeemed")
                    .table(AchievementCodes::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_responses_submitted_scores")
                    .table(SurveyResponses::Table)
                    .col(SurveyResponses::SubmittedOn)
                    .col(SurveyResponses::EnrollmentId)
                    .col(SurveyResponses::Q1)
                    .col(SurveyResponses::Q2)
                    .col(SurveyResponses::Q3)
                    .col(SurveyResponses::Q4)
                    .col(SurveyResponses::Q5)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_responses_submitted")
                    .table(SurveyResponses::Table)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_codes_redeemed")
                    .table(AchievementCodes::Table)
                    .col(AchievementCodes::RedeemedOn)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_responses_submitted")
                    .table(SurveyResponses::Table)
                    .col(SurveyResponses::SubmittedOn)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_codes_redeemed_enrollment")
                    .table(AchievementCodes::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_responses_submitted_scores")
                    .table(SurveyResponses::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum AchievementCodes {
    Table,
    RedeemedOn,
    EnrollmentId,
}

#[derive(DeriveIden)]
enum SurveyResponses {
    Table,
    SubmittedOn,
    EnrollmentId,
    Q1,
    Q2,
    Q3,
    Q4,
    Q5,
}
