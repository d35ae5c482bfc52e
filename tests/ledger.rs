//! The hash chain: written with every change, verified, tamper-evident, never forked.
use sea_orm::ConnectionTrait;
use tsp_ledger::db::begin_write;
use tsp_ledger::domain::role::Role;
use tsp_ledger::ledger::{self, Actor, Entry};

use crate::support::TestApp;

async fn seed(app: &TestApp, n: usize) {
    for i in 0..n {
        let tx = begin_write(app.db()).await.unwrap();
        ledger::append(
            &tx,
            &Actor::Cli,
            Entry::new("test", i, "create").changes(serde_json::json!({"n": i})),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
}

async fn an_edited_ledger_row_is_named_by_verify(app: TestApp) {
    seed(&app, 5).await;
    let ok = ledger::verify(app.db()).await.unwrap();
    assert_eq!((ok.entries, ok.is_valid()), (5, true));

    app.db()
        .execute_unprepared(r#"UPDATE ledger_entries SET changes = '{"n":99}' WHERE id = 3"#)
        .await
        .unwrap();
    let broken = ledger::verify(app.db()).await.unwrap();
    let (id, why) = broken.first_broken.unwrap();
    assert_eq!(id, 3);
    assert!(why.contains("altered"), "{why}");
    assert_eq!(broken.entries, 2);

    // The admin page says the same.
    let mut admin = app.client_as(Role::Admin).await;
    admin
        .get("/admin/ledger?verify=1")
        .await
        .assert_contains("The chain is broken at entry 3");
}
db_test!(an_edited_ledger_row_is_named_by_verify);

async fn a_deleted_or_truncated_ledger_row_is_detected(app: TestApp) {
    seed(&app, 4).await;
    app.db()
        .execute_unprepared("DELETE FROM ledger_entries WHERE id = 2")
        .await
        .unwrap();
    assert_eq!(
        ledger::verify(app.db())
            .await
            .unwrap()
            .first_broken
            .unwrap()
            .0,
        2
    );
    app.db()
        .execute_unprepared("DELETE FROM ledger_entries WHERE id >= 2")
        .await
        .unwrap();
    let (id, why) = ledger::verify(app.db())
        .await
        .unwrap()
        .first_broken
        .unwrap();
    assert_eq!(id, 2, "{why}");
}
db_test!(a_deleted_or_truncated_ledger_row_is_detected);

async fn a_rolled_back_change_leaves_no_ledger_entry(app: TestApp) {
    seed(&app, 1).await;
    let tx = begin_write(app.db()).await.unwrap();
    ledger::append(&tx, &Actor::Cli, Entry::new("test", 1, "update"))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    seed(&app, 1).await;
    let v = ledger::verify(app.db()).await.unwrap();
    assert_eq!((v.entries, v.is_valid()), (2, true));
}
db_test!(a_rolled_back_change_leaves_no_ledger_entry);

async fn concurrent_writers_never_fork_the_chain(app: TestApp) {
    let mut tasks = vec![];
    for i in 0..24 {
        let db = app.db().clone();
        tasks.push(tokio::spawn(async move {
            let tx = begin_write(&db).await.unwrap();
            ledger::append(&tx, &Actor::System, Entry::new("test", i, "create"))
                .await
                .unwrap();
            tokio::task::yield_now().await;
            tx.commit().await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let v = ledger::verify(app.db()).await.unwrap();
    assert_eq!((v.entries, v.first_broken), (24, None));
}
db_test!(concurrent_writers_never_fork_the_chain);

/// `tsp-ledger ledger verify` exits 0 on a good chain and non-zero on a broken one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_verify_command_exit_codes() {
    let app = TestApp::sqlite().await;
    seed(&app, 3).await;
    let run = || {
        let config = app.state.config.clone();
        tsp_ledger::cli::run(
            tsp_ledger::cli::Command::Ledger(tsp_ledger::cli::LedgerCommand::Verify),
            config,
        )
    };
    assert_eq!(run().await.unwrap(), std::process::ExitCode::SUCCESS);
    app.db()
        .execute_unprepared("UPDATE ledger_entries SET actor = 'user:666' WHERE id = 2")
        .await
        .unwrap();
    assert_ne!(run().await.unwrap(), std::process::ExitCode::SUCCESS);
}
