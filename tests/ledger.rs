//! The hash chain: written with every change, verified, tamper-evident, never forked;
//! texts beside it that an erasure can blank; signed checkpoints that catch a ledger cut
//! short or rewritten (issue 12 items 4 and 5).
use std::process::ExitCode;

use axum::http::StatusCode;
use entity::{ledger_entries, ledger_head, ledger_texts};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ModelTrait,
    QueryFilter, QueryOrder,
};
use tsp_ledger::cli::{Command, LedgerCommand};
use tsp_ledger::db::begin_write;
use tsp_ledger::domain::role::Role;
use tsp_ledger::ledger::checkpoint;
use tsp_ledger::ledger::{self, Actor, Entry};

use crate::imports::cli_config;
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
            tsp_ledger::cli::Command::Ledger(tsp_ledger::cli::LedgerCommand::Verify {
                checkpoint: None,
                pack: None,
                key: None,
            }),
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

/// `n` entries in one transaction (as an import writes them).
async fn seed_many(app: &TestApp, n: usize) {
    let tx = ledger::Recorder::begin(app.db(), &Actor::Cli)
        .await
        .unwrap();
    for i in 0..n {
        tx.record(Entry::new("test", i, "create").changes(serde_json::json!({"n": i})))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

/// The one way to write: a recorder's entries land only with its commit, which moves the
/// chain head to the last of them; given up (or dropped), nothing of it is written.
async fn a_recorder_commits_its_entries_with_the_head_or_nothing(app: TestApp) {
    use sea_orm::PaginatorTrait;
    let head = || async {
        ledger_head::Entity::find_by_id(1)
            .one(app.db())
            .await
            .unwrap()
            .unwrap()
            .last_id
    };
    let before = head().await;
    let given_up = ledger::Recorder::begin(app.db(), &Actor::Cli)
        .await
        .unwrap();
    for i in 0..300 {
        given_up
            .record(Entry::new("test", i, "create"))
            .await
            .unwrap();
    }
    given_up.rollback().await.unwrap();
    let dropped = ledger::Recorder::begin(app.db(), &Actor::Cli)
        .await
        .unwrap();
    dropped
        .record(Entry::new("test", 1, "create"))
        .await
        .unwrap();
    drop(dropped);
    assert_eq!(head().await, before);
    assert_eq!(
        ledger_entries::Entity::find()
            .count(app.db())
            .await
            .unwrap() as i64,
        before
    );
    seed_many(&app, 300).await;
    assert_eq!(head().await, before + 300);
    let last = ledger_entries::Entity::find_by_id(before + 300)
        .one(app.db())
        .await
        .unwrap();
    assert!(last.is_some(), "the head names the last entry");
    let verification = tsp_ledger::ledger::verify(app.db()).await.unwrap();
    assert_eq!(verification.first_broken, None);
    assert_eq!(verification.entries as i64, before + 300);
}
db_test!(a_recorder_commits_its_entries_with_the_head_or_nothing);

async fn set_head(app: &TestApp, id: i64, hash: &str) {
    ledger_head::Entity::update_many()
        .col_expr(ledger_head::Column::LastId, id.into())
        .col_expr(ledger_head::Column::LastHash, hash.into())
        .exec(app.db())
        .await
        .unwrap();
}

async fn entry(app: &TestApp, id: i64) -> ledger_entries::Model {
    ledger_entries::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

/// A ledger of 2010 entries (the first creates the admin who looks at the ledger page)
/// and a checkpoint of it, kept in a file outside the database.
async fn checkpointed(app: &TestApp) -> (std::path::PathBuf, checkpoint::Checkpoint) {
    app.create_user(Role::Admin, "auditor@example.com").await;
    seed_many(app, 2009).await;
    let file = app.state.config.data.dir.join("kept-elsewhere.checkpoint");
    let code = tsp_ledger::cli::run(
        Command::Ledger(LedgerCommand::Checkpoint {
            output: Some(file.clone()),
        }),
        cli_config(app),
    )
    .await
    .unwrap();
    assert_eq!(code, ExitCode::SUCCESS);
    let document = std::fs::read_to_string(&file).unwrap();
    let parsed = checkpoint::Checkpoint::parse(&document).unwrap();
    assert_eq!(parsed.entry_id, 2010);
    assert_eq!(parsed.hash, entry(app, 2010).await.hash);
    assert_eq!(verify_cli(app, Some(&file)).await, ExitCode::SUCCESS);
    (file, parsed)
}

async fn verify_cli(app: &TestApp, file: Option<&std::path::Path>) -> ExitCode {
    tsp_ledger::cli::run(
        Command::Ledger(LedgerCommand::Verify {
            checkpoint: file.map(Into::into),
            pack: None,
            key: None,
        }),
        cli_config(app),
    )
    .await
    .unwrap()
}

/// What the checkpoint file says about the ledger now.
async fn against_file(app: &TestApp, file: &std::path::Path) -> Result<(), String> {
    let chain = ledger::verify(app.db()).await.unwrap();
    let seed = app.state.config.checkpoint_seed().unwrap();
    let trusted = checkpoint::signing_key(&seed).verifying_key();
    checkpoint::check_document(
        app.db(),
        &chain,
        &trusted,
        &std::fs::read_to_string(file).unwrap(),
    )
    .await
    .unwrap()
}

/// After the attack: the unkeyed chain still verifies (it did on main, and cannot tell),
/// the stored checkpoints and the file do not; with the stored ones deleted too, the
/// file still does not.
async fn caught(app: &TestApp, file: &std::path::Path, expected: &str) {
    let chain = ledger::verify(app.db()).await.unwrap();
    assert!(
        chain.is_valid(),
        "the attack leaves a valid chain: {chain:?}"
    );
    let why = against_file(app, file).await.unwrap_err();
    assert_eq!(why, expected);
    assert_eq!(
        verify_cli(app, None).await,
        ExitCode::from(4),
        "stored checkpoints"
    );
    let mut admin = app.client_for(1).await;
    admin
        .get("/admin/ledger?verify=1")
        .await
        .assert_contains("The chain verifies")
        .assert_contains("fails")
        .assert_contains(expected);
    // The attacker deletes the stored checkpoints as well: the copy kept elsewhere counts.
    app.db()
        .execute_unprepared("DELETE FROM ledger_checkpoints")
        .await
        .unwrap();
    assert_eq!(verify_cli(app, None).await, ExitCode::SUCCESS);
    assert_eq!(verify_cli(app, Some(file)).await, ExitCode::from(4));
}

async fn a_checkpoint_catches_the_last_entries_deleted_and_the_head_moved_back(app: TestApp) {
    let (file, cp) = checkpointed(&app).await;
    app.db()
        .execute_unprepared("DELETE FROM ledger_entries WHERE id > 2000")
        .await
        .unwrap();
    let head = entry(&app, 2000).await;
    set_head(&app, 2000, &head.hash).await;
    caught(
        &app,
        &file,
        &format!(
            "entry 2010 is missing (the checkpoint of {} covers 2010 entries, the ledger has 2000)",
            cp.time()
        ),
    )
    .await;
}
db_test!(a_checkpoint_catches_the_last_entries_deleted_and_the_head_moved_back);

async fn a_checkpoint_catches_an_entry_rewritten_and_every_later_hash_recomputed(app: TestApp) {
    let (file, cp) = checkpointed(&app).await;
    let mut prev = entry(&app, 1999).await.hash;
    let later = ledger_entries::Entity::find()
        .filter(ledger_entries::Column::Id.gte(2000))
        .order_by_asc(ledger_entries::Column::Id)
        .all(app.db())
        .await
        .unwrap();
    for mut e in later {
        if e.id == 2000 {
            e.changes = r#"{"n":"rewritten"}"#.into();
        }
        e.prev_hash = prev.clone();
        e.hash = ledger::entry_hash(&e);
        prev = e.hash.clone();
        let mut active: ledger_entries::ActiveModel = e.clone().into();
        active.changes = Set(e.changes.clone());
        active.prev_hash = Set(e.prev_hash.clone());
        active.hash = Set(e.hash.clone());
        active.update(app.db()).await.unwrap();
    }
    set_head(&app, 2010, &prev).await;
    caught(
        &app,
        &file,
        &format!(
            "entry 2010 differs from the checkpoint of {}: the ledger was rewritten at or before entry 2010",
            cp.time()
        ),
    )
    .await;
}
db_test!(a_checkpoint_catches_an_entry_rewritten_and_every_later_hash_recomputed);

async fn a_checkpoint_catches_an_emptied_ledger(app: TestApp) {
    let (file, cp) = checkpointed(&app).await;
    app.db()
        .execute_unprepared("DELETE FROM ledger_entries")
        .await
        .unwrap();
    set_head(&app, 0, ledger::GENESIS_HASH).await;
    caught(
        &app,
        &file,
        &format!(
            "entry 2010 is missing (the checkpoint of {} covers 2010 entries, the ledger has 0)",
            cp.time()
        ),
    )
    .await;
}
db_test!(a_checkpoint_catches_an_emptied_ledger);

async fn a_forged_or_altered_checkpoint_is_refused(app: TestApp) {
    let (file, cp) = checkpointed(&app).await;
    let document = std::fs::read_to_string(&file).unwrap();
    // Claiming fewer entries (to excuse a truncation) breaks the signature.
    std::fs::write(&file, document.replace("entry: 2010", "entry: 2000")).unwrap();
    let why = against_file(&app, &file).await.unwrap_err();
    assert_eq!(
        why,
        format!(
            "the checkpoint of {} has a bad signature: it was altered or forged",
            cp.time()
        )
    );
    assert_eq!(verify_cli(&app, Some(&file)).await, ExitCode::from(4));
    // Signed with another key over a rewritten ledger's head: refused by key.
    let other = checkpoint::signing_key(&[1; 32]);
    let forged = checkpoint::Checkpoint::sign(&other, 2010, &"0".repeat(64), cp.at);
    std::fs::write(&file, forged.document()).unwrap();
    let why = against_file(&app, &file).await.unwrap_err();
    assert!(why.contains("is signed by another key"), "{why}");
    // Not a checkpoint at all.
    std::fs::write(&file, "hello\n").unwrap();
    let why = against_file(&app, &file).await.unwrap_err();
    assert!(why.starts_with("the checkpoint cannot be read"), "{why}");
    assert_eq!(verify_cli(&app, Some(&file)).await, ExitCode::from(4));
    // The good one still verifies.
    std::fs::write(&file, &document).unwrap();
    assert_eq!(verify_cli(&app, Some(&file)).await, ExitCode::SUCCESS);
}
db_test!(a_forged_or_altered_checkpoint_is_refused);

async fn admins_write_list_and_download_checkpoints(app: TestApp) {
    seed(&app, 3).await;
    let mut admin = app.client_as(Role::Admin).await;
    admin
        .get("/admin/ledger")
        .await
        .assert_contains("No checkpoint yet");
    let written = admin.post("/admin/ledger/checkpoints", &[]).await;
    assert_eq!(written.status, StatusCode::SEE_OTHER, "{}", written.body);
    let stored = checkpoint::stored(app.db()).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].entry_id, 4, "3 entries and the admin's account");
    // The key is a file in the data dir, private, and never in the database.
    let key_path = app.state.config.checkpoint_key_path();
    assert!(key_path.starts_with(&app.state.config.data.dir));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let page = admin.get("/admin/ledger?verify=1").await;
    page.assert_contains("extended")
        .assert_contains(&format!("/admin/ledger/checkpoints/{}", stored[0].id));
    let download = admin
        .get(&format!("/admin/ledger/checkpoints/{}", stored[0].id))
        .await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body, stored[0].document);
    assert!(download.body.starts_with("tsp-ledger ledger checkpoint\n"));
    assert_eq!(
        admin.get("/admin/ledger/checkpoints/999").await.status,
        StatusCode::NOT_FOUND
    );
    // The server's daily task writes one when the newest is a day old, not before.
    let key = tsp_ledger::ledger::checkpoint::key(&app.state.config).unwrap();
    let day = chrono::Duration::hours(24);
    assert!(
        tsp_ledger::ledger::checkpoint::write_if_due(app.db(), &key, day)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        tsp_ledger::ledger::checkpoint::write_if_due(app.db(), &key, chrono::Duration::zero())
            .await
            .unwrap()
            .is_some()
    );
}
db_test!(admins_write_list_and_download_checkpoints);

async fn an_import_writes_a_checkpoint(app: TestApp) {
    let mut admin = app.client_as(Role::Admin).await;
    let before = checkpoint::stored(app.db()).await.unwrap().len();
    use crate::imports::{Part, post_multipart};
    admin.get("/imports").await;
    let done = post_multipart(
        &mut admin,
        "/imports",
        &[
            Part::Text("kind", "code-pool"),
            Part::Text("csv", "achievement_code\nQ-1\nQ-2\n"),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let stored = checkpoint::stored(app.db()).await.unwrap();
    assert_eq!(stored.len(), before + 1);
    let head = ledger_head::Entity::find_by_id(1)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored[0].entry_id, &stored[0].hash),
        (head.last_id, &head.last_hash)
    );
}
db_test!(an_import_writes_a_checkpoint);

async fn texts_beside_the_chain_can_be_blanked_by_an_erasure_only(app: TestApp) {
    // An entry written before texts moved beside the chain (version 1) still verifies.
    let v1 = ledger_entries::Model {
        id: 1,
        at: chrono::Utc::now(),
        actor: "cli".into(),
        entity_type: "class".into(),
        entity_id: "1".into(),
        action: "amend".into(),
        changes: "{}".into(),
        reason: Some("old reason, in the chain".into()),
        parent: None,
        prev_hash: ledger::GENESIS_HASH.into(),
        texts: None,
        hash: String::new(),
    };
    let v1 = ledger_entries::Model {
        hash: ledger::entry_hash(&v1),
        ..v1
    };
    ledger_entries::ActiveModel::from(v1.clone())
        .insert(app.db())
        .await
        .unwrap();
    set_head(&app, 1, &v1.hash).await;
    let tx = begin_write(app.db()).await.unwrap();
    let written = ledger::append(
        &tx,
        &Actor::Cli,
        Entry::new("class", 1, "amend")
            .reason("moved at Ada Lovelace's request")
            .text("note", "paper form in cabinet 3"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(written.reason, None, "the words are not in the chain");
    assert!(!written.texts.as_deref().unwrap().contains("Ada"));
    let ok = ledger::verify(app.db()).await.unwrap();
    assert_eq!((ok.entries, ok.texts, ok.first_broken), (2, 2, None));
    // The pages show the texts.
    let mut admin = app.client_as(Role::Admin).await;
    admin
        .get("/admin/ledger")
        .await
        .assert_contains("moved at Ada Lovelace&#39;s request")
        .assert_contains("note: paper form in cabinet 3")
        .assert_contains("old reason, in the chain");

    let text = |field: &'static str| {
        ledger_texts::Entity::find()
            .filter(ledger_texts::Column::EntryId.eq(2))
            .filter(ledger_texts::Column::Field.eq(field))
    };
    let original = text("reason").one(app.db()).await.unwrap().unwrap();
    // Edited words are caught,
    let mut active: ledger_texts::ActiveModel = original.clone().into();
    active.text = Set(Some("moved at the trainer's request".into()));
    active.update(app.db()).await.unwrap();
    let broken = ledger::verify(app.db()).await.unwrap();
    assert_eq!(
        broken.first_broken,
        Some((
            2,
            "entry 2's reason text was altered: it does not match the hash in the chain".into()
        ))
    );
    // so is a text blanked by anything but an erasure,
    let mut active: ledger_texts::ActiveModel = original.clone().into();
    active.text = Set(None);
    active.salt = Set(None);
    active.erased_by = Set(Some(2));
    active.update(app.db()).await.unwrap();
    let broken = ledger::verify(app.db()).await.unwrap();
    assert_eq!(
        broken.first_broken,
        Some((
            2,
            "entry 2's reason text is blank, but no erasure in the ledger blanked it".into()
        ))
    );
    // and a deleted one.
    text("reason")
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .delete(app.db())
        .await
        .unwrap();
    let broken = ledger::verify(app.db()).await.unwrap();
    assert_eq!(
        broken.first_broken,
        Some((2, "entry 2's reason text is missing".into()))
    );
    ledger_texts::ActiveModel::from(original)
        .insert(app.db())
        .await
        .unwrap();
    assert!(ledger::verify(app.db()).await.unwrap().is_valid());
    // Cutting entries off (and moving the head back) leaves their texts behind: named.
    let head = entry(&app, 1).await;
    let cut = ledger_entries::Entity::find()
        .filter(ledger_entries::Column::Id.gte(2))
        .order_by_asc(ledger_entries::Column::Id)
        .all(app.db())
        .await
        .unwrap();
    app.db()
        .execute_unprepared("DELETE FROM ledger_entries WHERE id >= 2")
        .await
        .unwrap();
    set_head(&app, 1, &head.hash).await;
    let broken = ledger::verify(app.db()).await.unwrap();
    assert_eq!(
        broken.first_broken,
        Some((
            2,
            "entry 2 is missing: its note text is still beside the chain".into()
        ))
    );
    let last = cut.last().unwrap().clone();
    for e in cut {
        ledger_entries::ActiveModel::from(e)
            .insert(app.db())
            .await
            .unwrap();
    }
    set_head(&app, last.id, &last.hash).await;
    assert!(ledger::verify(app.db()).await.unwrap().is_valid());

    // An erasure entry that lists the text may blank it: the chain still verifies and
    // still catches any other edit.
    let tx = begin_write(app.db()).await.unwrap();
    let erase = ledger::append(
        &tx,
        &Actor::Cli,
        Entry::new("enrollment", 7, "erase")
            .changes(
                serde_json::json!({ledger::TEXTS_ERASED: {"before": null, "after": ["2:reason"]}}),
            )
            .reason("REQ-1"),
    )
    .await
    .unwrap();
    assert_eq!(
        ledger::blank_texts(&tx, &[(2, "reason".into())], erase.id)
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();
    let ok = ledger::verify(app.db()).await.unwrap();
    assert_eq!(
        (ok.entries, ok.texts, ok.texts_erased, ok.first_broken),
        (4, 2, 1, None),
        "and the admin's account"
    );
    let blanked = text("reason").one(app.db()).await.unwrap().unwrap();
    assert_eq!(
        (blanked.text, blanked.salt),
        (None, None),
        "the salt goes too"
    );
    admin
        .get("/admin/ledger")
        .await
        .assert_contains("(erased)")
        .assert_contains("note: paper form in cabinet 3");
    assert!(!admin.get("/admin/ledger").await.body.contains("Lovelace"));
    app.db()
        .execute_unprepared("UPDATE ledger_entries SET action = 'amended' WHERE id = 2")
        .await
        .unwrap();
    let broken = ledger::verify(app.db()).await.unwrap();
    assert_eq!(broken.first_broken.unwrap().0, 2);
}
db_test!(texts_beside_the_chain_can_be_blanked_by_an_erasure_only);

/// The ledger page and a record's history name people, not `user:2` (learners only by
/// enrollment), and show each change as `field: before → after`.
async fn the_history_names_people_and_reads_changes_as_before_and_after(app: TestApp) {
    crate::imports::catalog(&app).await;
    let class = crate::imports::class_in(&app, "C-1", "scheduled").await;
    let cora = app.create_user(Role::Coordinator, "cora@example.com").await;
    let mut coordinator = app.client_for(cora).await;
    let mut fields = vec![
        ("class_ref", "C-1"),
        ("course_code", "AZ-104"),
        ("mct_id", "MCT-1"),
        ("start_date", "2026-03-02"),
        ("end_date", "2026-03-05"),
        ("modality", "in_person"),
    ];
    fields.push(("location", "Lisbon, room 4"));
    let saved = coordinator
        .post(&format!("/classes/{}", class.id), &fields)
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let who = "Coordinator cora (cora@example.com)";
    coordinator
        .get(&format!("/classes/{}", class.id))
        .await
        .assert_contains(who)
        .assert_contains("location: Lisbon, room 4")
        .assert_contains("the command line (local operator)");
    let mut admin = app.client_as(Role::Admin).await;
    let page = admin.get("/admin/ledger").await;
    page.assert_contains(who)
        .assert_contains(&format!("user:{cora}"))
        .assert_contains("location: Lisbon, room 4");
    assert!(
        !page.body.contains("<code class=\"changes\">"),
        "changes are read, not raw JSON"
    );
}
db_test!(the_history_names_people_and_reads_changes_as_before_and_after);
