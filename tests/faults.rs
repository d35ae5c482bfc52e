//! Faults (issue 7 item 3): a process killed with SIGKILL in the middle of an import or
//! of a survey load, a full disk, a read-only database. Afterwards nothing is half
//! written, every acknowledged answer is stored, the ledger verifies, and the app works
//! again once the fault is gone. (The SMTP server going away is in `mail.rs`.)
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use entity::{ledger_entries, survey_invitations, survey_responses};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Statement,
};
use tsp_ledger::auth::{csrf, token_hash};
use tsp_ledger::domain::role::Role;
use tsp_ledger::services::imports::Kind;

use crate::child::{self, ChildServer};
use crate::fixtures;
use crate::imports::cli_config;
use crate::support::{Backend, Client, SECRET, TestApp};

// ------------------------------------------------------------------ helpers

/// Row count of every table of the app's schema.
pub async fn table_counts(db: &DatabaseConnection) -> BTreeMap<String, i64> {
    let backend = db.get_database_backend();
    let sql = if tsp_ledger::db::is_postgres(db) {
        "SELECT table_name AS name FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    };
    let tables = db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap();
    let mut counts = BTreeMap::new();
    for row in tables {
        let table: String = row.try_get("", "name").unwrap();
        let count = db
            .query_one_raw(Statement::from_string(
                backend,
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        counts.insert(table, count.try_get::<i64>("", "n").unwrap());
    }
    assert!(counts.contains_key("ledger_entries"), "{counts:?}");
    counts
}

/// The last ledger entry's id and hash (the chain head).
async fn ledger_head(db: &DatabaseConnection) -> Option<(i64, String)> {
    ledger_entries::Entity::find()
        .order_by_desc(ledger_entries::Column::Id)
        .one(db)
        .await
        .unwrap()
        .map(|e| (e.id, e.hash))
}

/// `ledger verify` passes; returns the number of entries.
async fn assert_ledger_verifies(db: &DatabaseConnection) -> u64 {
    let verification = tsp_ledger::ledger::verify(db).await.unwrap();
    assert!(
        verification.is_valid(),
        "ledger broken: {:?}",
        verification.first_broken
    );
    verification.entries
}

/// SQLite's own check of the file: every page, index and free list is consistent.
async fn assert_integrity(app: &TestApp) {
    if let Backend::Sqlite { .. } = app.backend {
        let row = app
            .db()
            .query_one_raw(Statement::from_string(
                app.db().get_database_backend(),
                "PRAGMA integrity_check",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<String>("", "integrity_check").unwrap(), "ok");
    }
}

/// A course, an MCT in good standing and `count` delivered classes C-1 … C-count.
async fn delivered_classes(app: &TestApp, count: usize) -> Vec<entity::classes::Model> {
    fixtures::course(app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(app, "Ana Alves", "MCT-1", fixtures::today_plus(365), None).await;
    let mut csv =
        String::from("class_ref,course_code,mct_id,start_date,end_date,modality,status\n");
    for n in 1..=count {
        csv += &format!("C-{n},AZ-104,MCT-1,2026-03-02,2026-03-05,virtual,delivered\n");
    }
    fixtures::import(app, Kind::Classes, &csv).await.unwrap();
    let mut classes = vec![];
    for n in 1..=count {
        let class = tsp_ledger::services::classes::by_ref(app.db(), &format!("C-{n}"))
            .await
            .unwrap()
            .unwrap();
        classes.push(class);
    }
    classes
}

/// A roster CSV with `learners` learners of class `class_ref` (`prefix` keeps e-mails apart).
fn roster_csv(class_refs: &[String], learners: usize, prefix: &str) -> String {
    let mut csv = String::from("class_ref,learner_name,learner_email,attended\n");
    for n in 0..learners {
        let class_ref = &class_refs[n * class_refs.len() / learners];
        csv += &format!("{class_ref},Learner {prefix}{n},{prefix}{n}@example.com,true\n");
    }
    csv
}

// ------------------------------------------------------- kill -9 mid-import

async fn an_import_killed_midway_leaves_no_trace(app: TestApp) {
    const ROWS: usize = 20_000;
    let classes = delivered_classes(&app, 20).await;
    let refs: Vec<String> = classes.iter().map(|c| c.class_ref.clone()).collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roster.csv");
    let csv = roster_csv(&refs, ROWS, "bulk");
    std::fs::write(&file, &csv).unwrap();

    let before = table_counts(app.db()).await;
    let head = ledger_head(app.db()).await;
    let entries = assert_ledger_verifies(app.db()).await;

    // `tsp-ledger import roster` in its own process, killed once a quarter of the file
    // has gone into its (single) transaction.
    let url = cli_config(&app).database.url;
    let mut import = child::start_import(&url, "roster", &file);
    child::wait_for_import_progress(&mut import, csv.len() as u64 / 4).await;
    import.kill_9();
    let output = import.output();
    assert!(!output.contains(child::IMPORT_DONE), "{output}");

    let progress = output.lines().rfind(|l| l.contains("progress"));
    eprintln!("import killed at {progress:?} of {} bytes", csv.len());

    // No partial import: every table and the ledger exactly as before.
    assert_eq!(table_counts(app.db()).await, before);
    assert_eq!(ledger_head(app.db()).await, head);
    assert_eq!(assert_ledger_verifies(app.db()).await, entries);
    assert_integrity(&app).await;

    // The database takes imports again: the chain goes on from the same head.
    let small = roster_csv(&refs[..1], 10, "after");
    let summary = fixtures::import(&app, Kind::Roster, &small).await.unwrap();
    assert_eq!(summary.created, 10);
    let after = table_counts(app.db()).await;
    assert_eq!(after["enrollments"], before["enrollments"] + 10);
    assert_eq!(assert_ledger_verifies(app.db()).await, entries + 10);
    assert_integrity(&app).await;
}
db_test!(an_import_killed_midway_leaves_no_trace);

// -------------------------------------------------- kill -9 mid-survey load

/// The `/survey/<token>` token in an e-mail's text.
fn token_in(text: &str) -> Option<String> {
    let start = text.find("/survey/")? + "/survey/".len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    (token.len() == 64).then_some(token)
}

/// One class with `learners` attending learners, invited; the tokens mailed to them.
pub(crate) async fn invited_learners(app: &TestApp, learners: usize) -> Vec<String> {
    let classes = delivered_classes(app, 1).await;
    let csv = roster_csv(&[classes[0].class_ref.clone()], learners, "learner");
    fixtures::import(app, Kind::Roster, &csv).await.unwrap();
    let invited = tsp_ledger::services::surveys::send_invitations(
        app.db(),
        &tsp_ledger::ledger::Actor::Cli,
        &app.state.config.surveys,
        classes[0].id,
        "http://127.0.0.1",
        &app.state.secret,
    )
    .await
    .unwrap();
    assert_eq!(invited as usize, learners);
    let tokens: Vec<String> = entity::outbox_messages::Entity::find()
        .filter(entity::outbox_messages::Column::Kind.eq("survey_invitation"))
        .all(app.db())
        .await
        .unwrap()
        .iter()
        .filter_map(|m| token_in(&m.text_body))
        .collect();
    assert_eq!(tokens.len(), learners);
    tokens
}

/// The enrollment a survey token was sent to.
async fn enrollment_of(db: &DatabaseConnection, token: &str) -> i64 {
    survey_invitations::Entity::find()
        .filter(survey_invitations::Column::TokenHash.eq(token_hash(token)))
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .enrollment_id
}

/// A learner's browser answering the survey behind `token` (public form: the CSRF token
/// is the HMAC of the browser's nonce cookie).
async fn answer(
    http: &reqwest::Client,
    base: &str,
    token: &str,
) -> reqwest::Result<reqwest::Response> {
    let nonce = tsp_ledger::auth::random_token();
    let csrf = csrf::anonymous_token(&SECRET, &nonce);
    http.post(format!("{base}/survey/{token}"))
        .header("cookie", format!("{}={nonce}", csrf::NONCE_COOKIE))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("q1", "5"),
            ("q2", "4"),
            ("q3", "4"),
            ("q4", "5"),
            ("q5", "5"),
        ])
        .send()
        .await
}

#[derive(Default)]
struct LoadOutcome {
    /// Tokens whose submission got a 2xx.
    acknowledged: Vec<String>,
    /// Tokens whose submission was sent but got no answer (the server died).
    unanswered: Vec<String>,
    /// Any other HTTP answer (there should be none).
    refused: Vec<(String, u16)>,
}

async fn a_server_killed_during_a_survey_load_keeps_every_acknowledged_answer(app: TestApp) {
    const LEARNERS: usize = 240;
    const CLIENTS: usize = 16;
    const KILL_AFTER: usize = 60;
    let tokens = invited_learners(&app, LEARNERS).await;
    let url = cli_config(&app).database.url;
    let mut server = ChildServer::start("survey server", &url, &[]).await;

    // Sixteen learners' browsers answer at once; the server is SIGKILLed as soon as
    // sixty answers have been acknowledged, with other submissions in flight.
    let queue = Arc::new(Mutex::new(tokens.iter().cloned().collect::<VecDeque<_>>()));
    let outcome = Arc::new(Mutex::new(LoadOutcome::default()));
    let kill_now = Arc::new(tokio::sync::Notify::new());
    let http = crate::support::http_client()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .unwrap();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let (queue, outcome, kill_now, http) = (
            queue.clone(),
            outcome.clone(),
            kill_now.clone(),
            http.clone(),
        );
        let base = server.base.clone();
        clients.spawn(async move {
            loop {
                let Some(token) = queue.lock().unwrap().pop_front() else {
                    return;
                };
                let result = answer(&http, &base, &token).await;
                let mut outcome = outcome.lock().unwrap();
                match result {
                    Ok(r) if r.status().is_success() => {
                        outcome.acknowledged.push(token);
                        if outcome.acknowledged.len() == KILL_AFTER {
                            kill_now.notify_one();
                        }
                    }
                    Ok(r) => outcome.refused.push((token, r.status().as_u16())),
                    Err(_) => outcome.unanswered.push(token),
                }
            }
        });
    }
    tokio::select! {
        _ = kill_now.notified() => {}
        _ = async { while clients.join_next().await.is_some() {} } => {
            let refused = &outcome.lock().unwrap().refused;
            panic!("the load ended before {KILL_AFTER} answers were acknowledged: {refused:?}");
        }
    }
    server.process.kill_9();
    while let Some(client) = clients.join_next().await {
        client.unwrap();
    }
    let outcome = std::mem::take(&mut *outcome.lock().unwrap());
    assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
    assert!(outcome.acknowledged.len() >= KILL_AFTER);
    assert!(
        !outcome.unanswered.is_empty(),
        "the server was killed mid-load: later submissions got no answer"
    );

    eprintln!(
        "survey load: {} acknowledged before SIGKILL, {} lost with the server",
        outcome.acknowledged.len(),
        outcome.unanswered.len()
    );

    // A fresh server on the same database.
    let restarted = ChildServer::start("restarted survey server", &url, &[]).await;
    let stored: BTreeSet<i64> = survey_responses::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .iter()
        .map(|r| r.enrollment_id)
        .collect();
    let mut sent = BTreeSet::new();
    for token in outcome.acknowledged.iter().chain(&outcome.unanswered) {
        sent.insert(enrollment_of(app.db(), token).await);
    }
    // Every acknowledged answer is stored, and the restarted server knows it.
    for token in &outcome.acknowledged {
        let enrollment = enrollment_of(app.db(), token).await;
        assert!(
            stored.contains(&enrollment),
            "answer for enrollment {enrollment} got a 2xx but is not stored"
        );
        let page = http
            .get(format!("{}/survey/{token}", restarted.base))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("already answered"));
    }
    // Only answers that were sent are stored (one in flight may have committed unseen).
    assert!(stored.is_subset(&sent), "{stored:?} ⊄ {sent:?}");
    // Each stored answer has its ledger entry, and the chain verifies.
    let ledgered = ledger_entries::Entity::find()
        .filter(ledger_entries::Column::EntityType.eq("survey_response"))
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(ledgered as usize, stored.len());
    assert_ledger_verifies(app.db()).await;
    assert_integrity(&app).await;

    // A learner whose submission was lost answers again on the restarted server.
    let mut lost = None;
    for token in &outcome.unanswered {
        if !stored.contains(&enrollment_of(app.db(), token).await) {
            lost = Some(token.clone());
            break;
        }
    }
    let lost = lost.expect("a submission that was lost with the server");
    let again = answer(&http, &restarted.base, &lost).await.unwrap();
    assert_eq!(again.status(), 200);
    assert!(again.text().await.unwrap().contains("Thank you!"));
    let enrollment = enrollment_of(app.db(), &lost).await;
    assert_eq!(
        survey_responses::Entity::find()
            .filter(survey_responses::Column::EnrollmentId.eq(enrollment))
            .count(app.db())
            .await
            .unwrap(),
        1
    );
    assert_ledger_verifies(app.db()).await;
}
db_test!(a_server_killed_during_a_survey_load_keeps_every_acknowledged_answer);

// ------------------------------------------------ full disk, read-only database

/// `client`'s session, used against another instance of the app.
fn same_browser<'a>(client: &Client<'_>, instance: &'a TestApp) -> Client<'a> {
    Client {
        app: instance,
        cookies: client.cookies.clone(),
        session_csrf: client.session_csrf.clone(),
        page_csrf: None,
    }
}

/// SQLite only: a file that may not grow is what a full disk is to SQLite
/// (`PRAGMA max_page_count` answers SQLITE_FULL exactly where a full disk would).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_gives_a_clear_page_changes_nothing_and_passes() {
    let app = TestApp::sqlite().await;
    let class = delivered_classes(&app, 1).await.remove(0);
    let coordinator = app.client_as(Role::Coordinator).await;

    // The same file through a pool of one connection, which may not grow the file.
    let db = tsp_ledger::db::connect_url(&app.state.config.database.url, 1, 5000, None)
        .await
        .unwrap();
    let pragma = |sql: &str| Statement::from_string(db.get_database_backend(), sql.to_string());
    let pages: i64 = db
        .query_one_raw(pragma("PRAGMA page_count"))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "page_count")
        .unwrap();
    db.execute_unprepared(&format!("PRAGMA max_page_count = {pages}"))
        .await
        .unwrap();
    let full = app.instance(db.clone());
    let mut browser = same_browser(&coordinator, &full);

    let before = table_counts(app.db()).await;
    let csv = roster_csv(std::slice::from_ref(&class.class_ref), 400, "full");
    let import = format!("/classes/{}/roster/import", class.id);
    let refused = crate::classes::post_multipart(&mut browser, &import, &[("csv", &csv)]).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    refused
        .assert_contains("<h1>The database is full</h1>")
        .assert_contains("Nothing was saved")
        .assert_contains("no space left")
        .assert_contains("Go to the dashboard");
    // Reading still works.
    assert_eq!(
        browser.get(&format!("/classes/{}", class.id)).await.status,
        200
    );
    assert_eq!(table_counts(app.db()).await, before);
    assert_ledger_verifies(app.db()).await;
    assert_integrity(&app).await;

    // Space is freed: the same form goes through, on the same running instance.
    db.execute_unprepared("PRAGMA max_page_count = 1073741823")
        .await
        .unwrap();
    let done = crate::classes::post_multipart(&mut browser, &import, &[("csv", &csv)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let after = table_counts(app.db()).await;
    assert_eq!(after["enrollments"], before["enrollments"] + 400);
    assert_ledger_verifies(app.db()).await;
    assert_integrity(&app).await;
}

/// The database URL opened read-only: SQLite `mode=ro`; on PostgreSQL every transaction
/// read-only, as on a standby.
fn read_only_url(app: &TestApp) -> String {
    let url = cli_config(app).database.url;
    match app.backend {
        Backend::Sqlite { .. } => url.replace("mode=rwc", "mode=ro"),
        _ => format!("{url}&options%5Bdefault_transaction_read_only%5D=on"),
    }
}

async fn a_read_only_database_gives_a_clear_page_and_works_again_once_writable(app: TestApp) {
    let coordinator = app.client_as(Role::Coordinator).await;
    let db = tsp_ledger::db::connect_url(&read_only_url(&app), 2, 5000, None)
        .await
        .unwrap();
    let read_only = app.instance(db);
    let mut browser = same_browser(&coordinator, &read_only);
    let fields = [
        ("course_code", "AZ-305"),
        ("title", "Designing Azure Infrastructure Solutions"),
        ("duration_days", "4"),
        ("solution_area", "infrastructure"),
        ("content", "official"),
        ("courseware_version", "2026-09"),
    ];

    // Reading works, even when the session's sliding expiry is due to be written (it was
    // last seen five minutes ago): that write is skipped.
    entity::sessions::Entity::update_many()
        .col_expr(
            entity::sessions::Column::LastSeenAt,
            (tsp_ledger::clock::now() - chrono::Duration::minutes(5)).into(),
        )
        .exec(app.db())
        .await
        .unwrap();
    let page = browser.get("/courses").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let before = table_counts(app.db()).await;
    let refused = browser.post("/courses", &fields).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.body
    );
    refused
        .assert_contains("<h1>The database is read-only</h1>")
        .assert_contains("Nothing was saved")
        .assert_contains("Pages can still be viewed");
    assert_eq!(table_counts(app.db()).await, before);
    assert_ledger_verifies(app.db()).await;
    assert_integrity(&app).await;

    // Write access is back (the server restarted with a writable database).
    let db = tsp_ledger::db::connect_url(&cli_config(&app).database.url, 2, 5000, None)
        .await
        .unwrap();
    let writable = app.instance(db);
    let mut browser = same_browser(&coordinator, &writable);
    let created = browser.post("/courses", &fields).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert!(
        tsp_ledger::services::courses::by_code(app.db(), "AZ-305")
            .await
            .unwrap()
            .is_some()
    );
    assert_ledger_verifies(app.db()).await;
    assert_integrity(&app).await;
}
db_test!(a_read_only_database_gives_a_clear_page_and_works_again_once_writable);

// ------------------------------------------- a disk that fills during a mail batch

/// A tmpfs of `bytes` mounted for one test (unmounted on drop): a disk that really fills.
/// `None` (with a printed reason) where mounting is not allowed, except under CI.
pub(crate) struct SmallDisk {
    path: std::path::PathBuf,
}

impl SmallDisk {
    pub(crate) fn mount(bytes: u64) -> Option<SmallDisk> {
        let path = std::env::temp_dir().join(format!(
            "tsp-small-disk-{}",
            tsp_ledger::auth::random_token()
        ));
        std::fs::create_dir_all(&path).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            let _ = std::fs::remove_dir(&path);
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but a tmpfs cannot be mounted: the full-disk fault test must run"
            );
            eprintln!("skipping: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(SmallDisk { path })
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Writes a filler file until the disk is full; returns its path.
    pub(crate) fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 4096];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// What a separate `sqlite3` process reads from the database file (not this process's
/// pool, which could see its own uncommitted writes).
pub(crate) fn sqlite3_lines(db_file: &std::path::Path, sql: &str) -> Vec<String> {
    let out = std::process::Command::new("sqlite3")
        .arg(db_file)
        .arg(sql)
        .output()
        .expect("the sqlite3 command-line shell is needed (apt-get install sqlite3)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Issue 12 item 2: a disk that fills while the outbox worker claims a batch must not
/// leave a pooled connection inside an open transaction (which would answer later writes
/// "saved" and never commit them, and hold the write lock for everyone else).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_that_fills_during_a_mail_batch_loses_no_acknowledged_write() {
    let Some(disk) = SmallDisk::mount(48 << 20) else {
        return;
    };
    let app = TestApp::sqlite_in(disk.path()).await;
    invited_learners(&app, 300).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let worker = app.state.mail_worker().unwrap();
    let db_file = match &app.backend {
        Backend::Sqlite { dir } => dir.join("test.db"),
        _ => unreachable!(),
    };

    // The disk fills, and the worker's claim fails on it (several times over: each try
    // may fail at a different step).
    let filler = disk.fill();
    let mut failures = 0;
    for _ in 0..5 {
        if let Err(e) = worker.run_once().await {
            eprintln!("claim on a full disk: {e}");
            failures += 1;
        }
    }
    assert!(failures > 0, "the claim on a full disk should have failed");
    std::fs::remove_file(&filler).unwrap();

    // Space is back: every write acknowledged with a 303 is in the file, as another
    // process reads it, without a restart.
    let mut acknowledged = vec![];
    for n in 0..40 {
        let code = format!("FD-{n:03}");
        let response = coordinator
            .post(
                "/courses",
                &[
                    ("course_code", code.as_str()),
                    ("title", "Full disk drill"),
                    ("duration_days", "2"),
                    ("solution_area", "security"),
                    ("content", "official"),
                    ("courseware_version", "2026-09"),
                ],
            )
            .await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
        acknowledged.push(code);
    }
    let stored = sqlite3_lines(
        &db_file,
        "SELECT course_code FROM courses WHERE course_code LIKE 'FD-%' ORDER BY 1",
    );
    assert_eq!(stored, acknowledged, "acknowledged = stored");
    // The mail goes out once the disk has room again.
    let sent = worker.run_once().await.unwrap();
    assert!(sent.claimed() > 0);
    assert_ledger_verifies(app.db()).await;
}

// ------------------------------------------------ long writes: others wait, not fail

/// Another instance on `app`'s database whose SQLite attempts to take the write lock give
/// up after `busy_ms` (so "an import longer than busy_timeout" fits in a test).
async fn with_busy_timeout(app: &TestApp, busy_ms: u64) -> TestApp {
    let db = match &app.backend {
        Backend::Sqlite { .. } => {
            tsp_ledger::db::connect_url(&app.state.config.database.url, 5, busy_ms, None).await
        }
        Backend::Postgres { admin_url, schema } => {
            tsp_ledger::db::connect_url(admin_url, 5, busy_ms, Some(schema)).await
        }
        Backend::Shared => unreachable!("a test app owns its database"),
    };
    app.instance(db.unwrap())
}

fn course_form(code: &str) -> Vec<(&'static str, String)> {
    vec![
        ("course_code", code.to_string()),
        ("title", "Written behind an import".into()),
        ("duration_days", "3".into()),
        ("solution_area", "security".into()),
        ("content", "official".into()),
        ("courseware_version", "2026-09".into()),
    ]
}

async fn post_owned(
    client: &mut Client<'_>,
    path: &str,
    fields: &[(&'static str, String)],
) -> crate::support::TestResponse {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    client.post(path, &fields).await
}

/// Issue 12 item 3: while an import holds the write lock for longer than `busy_timeout`,
/// sign-ins, forms and learners' survey answers wait their turn and are stored.
async fn a_long_import_makes_other_writes_wait_and_none_fails(owner: TestApp) {
    let busy_ms = 100;
    let app = with_busy_timeout(&owner, busy_ms).await;
    let tokens = invited_learners(&app, 12).await;
    app.create_user(Role::Coordinator, "waiting@example.com")
        .await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    coordinator.get("/courses").await;
    let csv = roster_csv(&["C-1".to_string()], 12_000, "bulk");

    let (started, writing) = tokio::sync::oneshot::channel::<()>();
    let started = Mutex::new(Some(started));
    let import = async {
        let result = tsp_ledger::services::imports::run(
            app.db(),
            &tsp_ledger::ledger::Actor::Cli,
            &tsp_ledger::services::imports::ImportBy::operator(),
            Kind::Roster,
            tsp_ledger::services::imports::Source::bytes(csv.as_bytes()),
            None,
            |pass, _| {
                if pass == tsp_ledger::services::imports::Pass::Write
                    && let Some(started) = started.lock().unwrap().take()
                {
                    let _ = started.send(());
                }
            },
        )
        .await;
        (result, std::time::Instant::now())
    };
    let others = async {
        writing.await.unwrap();
        // The import has held the lock for longer than one attempt to take it may wait.
        tokio::time::sleep(std::time::Duration::from_millis(busy_ms * 3)).await;
        let sent = std::time::Instant::now();
        let sign_ins = (0..3).map(|_| async {
            let mut browser = app.anonymous();
            browser
                .post(
                    "/login",
                    &[
                        ("email", "waiting@example.com"),
                        ("password", crate::support::PASSWORD),
                    ],
                )
                .await
        });
        let app = &app;
        let surveys = tokens.iter().map(|token| async move {
            let mut learner = app.anonymous();
            let path = format!("/survey/{token}");
            learner
                .post(
                    &path,
                    &[
                        ("q1", "5"),
                        ("q2", "4"),
                        ("q3", "4"),
                        ("q4", "5"),
                        ("q5", "5"),
                    ],
                )
                .await
        });
        let mut forms = vec![];
        for n in 0..6 {
            forms.push(
                post_owned(
                    &mut coordinator,
                    "/courses",
                    &course_form(&format!("WAIT-{n}")),
                )
                .await,
            );
        }
        let (sign_ins, surveys) = tokio::join!(
            futures_util::future::join_all(sign_ins),
            futures_util::future::join_all(surveys)
        );
        (sent, sign_ins, surveys, forms)
    };
    let ((imported, import_done), (sent, sign_ins, surveys, forms)) = tokio::join!(import, others);
    let summary = imported.expect("the import succeeds");
    assert_eq!(summary.created, 12_000);
    assert!(
        import_done > sent + std::time::Duration::from_millis(busy_ms),
        "the import should still have held the lock well after the others were sent"
    );
    for response in &sign_ins {
        assert_eq!(
            response.status,
            StatusCode::SEE_OTHER,
            "sign-in: {}",
            response.body
        );
    }
    for response in &forms {
        assert_eq!(
            response.status,
            StatusCode::SEE_OTHER,
            "form: {}",
            response.body
        );
    }
    for response in &surveys {
        assert_eq!(response.status, StatusCode::OK, "survey: {}", response.body);
        response.assert_contains("Thank you");
    }
    let stored = survey_responses::Entity::find()
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(
        stored as usize,
        tokens.len(),
        "every acknowledged answer is stored"
    );
    for n in 0..6 {
        let code = format!("WAIT-{n}");
        assert!(
            tsp_ledger::services::courses::by_code(app.db(), &code)
                .await
                .unwrap()
                .is_some(),
            "{code}"
        );
    }
    assert_ledger_verifies(app.db()).await;
}
db_test!(a_long_import_makes_other_writes_wait_and_none_fails);

/// A write that cannot get its turn in `database.write_wait_ms` (or finds the queue full)
/// gets a 503 page saying nothing was saved and to try again, never a bare 500.
async fn a_write_that_cannot_get_its_turn_is_refused_as_busy_and_saves_nothing(app: TestApp) {
    let tokens = invited_learners(&app, 1).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    coordinator.get("/courses").await;
    let queue = |wait_ms, capacity| tsp_ledger::db::WriteQueue {
        wait: std::time::Duration::from_millis(wait_ms),
        capacity,
    };
    tsp_ledger::db::set_write_queue(app.db(), queue(300, 8));
    let before = table_counts(app.db()).await;

    // A long change holds the turn to write.
    let held = tsp_ledger::db::begin_write(app.db()).await.unwrap();
    let refused = post_owned(&mut coordinator, "/courses", &course_form("BUSY-1")).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.body
    );
    refused
        .assert_contains("<h1>The database is busy</h1>")
        .assert_contains("Nothing was saved")
        .assert_contains("send the form again");
    assert_eq!(
        refused
            .headers
            .get("retry-after")
            .map(|v| v.to_str().unwrap()),
        Some("30")
    );
    let mut learner = app.anonymous();
    let survey = learner
        .post(&format!("/survey/{}", tokens[0]), &[("q1", "5")])
        .await;
    assert_eq!(
        survey.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        survey.body
    );
    survey.assert_contains("Nothing was saved");
    // Reading goes on meanwhile.
    assert_eq!(coordinator.get("/courses").await.status, StatusCode::OK);

    // No room to wait at all: refused straight away.
    tsp_ledger::db::set_write_queue(app.db(), queue(30_000, 0));
    let started = std::time::Instant::now();
    let refused = post_owned(&mut coordinator, "/courses", &course_form("BUSY-2")).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    drop(held);
    assert_eq!(table_counts(app.db()).await, before, "nothing was saved");

    tsp_ledger::db::set_write_queue(app.db(), queue(30_000, 8));
    let saved = post_owned(&mut coordinator, "/courses", &course_form("BUSY-1")).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let answered = learner
        .post(&format!("/survey/{}", tokens[0]), &[("q1", "5")])
        .await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.body);
    assert_ledger_verifies(app.db()).await;
}
db_test!(a_write_that_cannot_get_its_turn_is_refused_as_busy_and_saves_nothing);

/// A file with a bad row, or a header of 160 000 columns, is refused by the first pass:
/// it never waits for (or holds) the write lock, and the header check is linear.
async fn a_bad_file_is_refused_without_taking_the_write_lock(app: TestApp) {
    delivered_classes(&app, 1).await;
    let held = tsp_ledger::db::begin_write(app.db()).await.unwrap();
    let before = table_counts(app.db()).await;
    let mut wide = (0..160_000)
        .map(|n| format!("c{n}"))
        .collect::<Vec<_>>()
        .join(",");
    wide.push_str("\nx\n");
    let bad_row = "class_ref,learner_name,learner_email,attended\n\
                   C-1,Ana,ana@example.com,true\n\
                   C-1,Bo,not-an-address,maybe\n";
    for (csv, expected) in [
        (wide.as_str(), "has 160000 columns"),
        (bad_row, "learner_email"),
    ] {
        let refused = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            fixtures::import(&app, Kind::Roster, csv),
        )
        .await
        .expect("refused without waiting for the write lock");
        match refused {
            Err(tsp_ledger::services::imports::ImportFailure::Invalid { errors, .. }) => {
                assert!(
                    errors.iter().any(|e| e.to_string().contains(expected)),
                    "{errors:?}"
                );
            }
            other => panic!("expected a refusal naming {expected}, got {other:?}"),
        }
    }
    drop(held);
    assert_eq!(table_counts(app.db()).await, before);
}
db_test!(a_bad_file_is_refused_without_taking_the_write_lock);
