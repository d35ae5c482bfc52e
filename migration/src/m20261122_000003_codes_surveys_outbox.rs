use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboxMessages::Table)
                    .col(big_pk_auto(OutboxMessages::Id))
                    .col(string_len(OutboxMessages::Kind, 48))
                    .col(string(OutboxMessages::ToAddress))
                    .col(string(OutboxMessages::Subject))
                    .col(text(OutboxMessages::TextBody))
                    .col(text(OutboxMessages::HtmlBody))
                    .col(string_uniq(OutboxMessages::MessageId))
                    .col(string_len(OutboxMessages::Status, 16))
                    .col(integer(OutboxMessages::Attempts))
                    .col(timestamp_with_time_zone(OutboxMessages::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(OutboxMessages::LeaseUntil))
                    .col(text_null(OutboxMessages::LastError))
                    .col(string_len_null(OutboxMessages::Related, 64))
                    .col(timestamp_with_time_zone(OutboxMessages::CreatedAt))
                    .col(timestamp_with_time_zone_null(OutboxMessages::SentAt))
                    .to_owned(),
            )
            .await?;
        // The worker claims due messages by status and time.
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_due")
                    .table(OutboxMessages::Table)
                    .col(OutboxMessages::Status)
                    .col(OutboxMessages::NextAttemptAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AchievementCodes::Table)
                    .col(big_pk_auto(AchievementCodes::Id))
                    .col(string_len_uniq(AchievementCodes::Code, 64))
                    .col(big_integer_null(AchievementCodes::EnrollmentId).unique_key())
                    .col(date_null(AchievementCodes::IssuedOn))
                    .col(timestamp_with_time_zone_null(AchievementCodes::EmailedAt))
                    .col(date_null(AchievementCodes::RedeemedOn))
                    .col(date_null(AchievementCodes::ExpiresOn))
                    .col(string_len_null(AchievementCodes::TokenHash, 64).unique_key())
                    .col(timestamp_with_time_zone(AchievementCodes::CreatedAt))
                    .col(timestamp_with_time_zone(AchievementCodes::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AchievementCodes::Table, AchievementCodes::EnrollmentId)
                            .to(Enrollments::Table, Enrollments::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // KPI courseware points count codes by redemption date.
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
            .create_table(
                Table::create()
                    .table(SurveyInvitations::Table)
                    .col(big_pk_auto(SurveyInvitations::Id))
                    .col(big_integer_uniq(SurveyInvitations::EnrollmentId))
                    .col(string_len_uniq(SurveyInvitations::TokenHash, 64))
                    .col(timestamp_with_time_zone(SurveyInvitations::SentAt))
                    .col(timestamp_with_time_zone(SurveyInvitations::ExpiresAt))
                    .col(integer(SurveyInvitations::RemindersSent))
                    .col(timestamp_with_time_zone_null(
                        SurveyInvitations::LastReminderAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        SurveyInvitations::RespondedAt,
                    ))
                    .col(timestamp_with_time_zone(SurveyInvitations::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SurveyInvitations::Table, SurveyInvitations::EnrollmentId)
                            .to(Enrollments::Table, Enrollments::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SurveyResponses::Table)
                    .col(big_pk_auto(SurveyResponses::Id))
                    .col(big_integer_uniq(SurveyResponses::EnrollmentId))
                    .col(big_integer_null(SurveyResponses::InvitationId))
                    .col(small_integer_null(SurveyResponses::Q1))
                    .col(small_integer_null(SurveyResponses::Q2))
                    .col(small_integer_null(SurveyResponses::Q3))
                    .col(small_integer_null(SurveyResponses::Q4))
                    .col(small_integer_null(SurveyResponses::Q5))
                    .col(text_null(SurveyResponses::Comment))
                    .col(date(SurveyResponses::SubmittedOn))
                    .col(string_len(SurveyResponses::Source, 16))
                    .col(timestamp_with_time_zone(SurveyResponses::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SurveyResponses::Table, SurveyResponses::EnrollmentId)
                            .to(Enrollments::Table, Enrollments::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // KPI survey figures count responses by submission date.
        manager
            .create_index(
                Index::create()
                    .name("idx_responses_submitted")
                    .table(SurveyResponses::Table)
                    .col(SurveyResponses::SubmittedOn)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SurveyResponses::Table.into_iden(),
            SurveyInvitations::Table.into_iden(),
            AchievementCodes::Table.into_iden(),
            OutboxMessages::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Enrollments {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum OutboxMessages {
    Table,
    Id,
    Kind,
    ToAddress,
    Subject,
    TextBody,
    HtmlBody,
    MessageId,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    LastError,
    Related,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum AchievementCodes {
    Table,
    Id,
    Code,
    EnrollmentId,
    IssuedOn,
    EmailedAt,
    RedeemedOn,
    ExpiresOn,
    TokenHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SurveyInvitations {
    Table,
    Id,
    EnrollmentId,
    TokenHash,
    SentAt,
    ExpiresAt,
    RemindersSent,
    LastReminderAt,
    RespondedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SurveyResponses {
    Table,
    Id,
    EnrollmentId,
    InvitationId,
    Q1,
    Q2,
    Q3,
    Q4,
    Q5,
    Comment,
    SubmittedOn,
    Source,
    CreatedAt,
}
