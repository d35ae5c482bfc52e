use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ExamVouchers::Table)
                    .col(big_pk_auto(ExamVouchers::Id))
                    .col(date(ExamVouchers::PurchasedOn))
                    .col(string_len(ExamVouchers::ExamCode, 32))
                    .col(string_len(ExamVouchers::Level, 16))
                    .col(integer(ExamVouchers::Quantity))
                    .col(string_len(ExamVouchers::OrderRef, 64))
                    .col(timestamp_with_time_zone(ExamVouchers::CreatedAt))
                    .col(timestamp_with_time_zone(ExamVouchers::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // The `vouchers` import's key: one line per exam on an order.
        manager
            .create_index(
                Index::create()
                    .name("idx_vouchers_order_exam")
                    .table(ExamVouchers::Table)
                    .col(ExamVouchers::OrderRef)
                    .col(ExamVouchers::ExamCode)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // KPI exam points count voucher units by purchase date.
        manager
            .create_index(
                Index::create()
                    .name("idx_vouchers_purchased")
                    .table(ExamVouchers::Table)
                    .col(ExamVouchers::PurchasedOn)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ExamVouchers::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ExamVouchers {
    Table,
    Id,
    PurchasedOn,
    ExamCode,
    Level,
    Quantity,
    OrderRef,
    CreatedAt,
    UpdatedAt,
}
