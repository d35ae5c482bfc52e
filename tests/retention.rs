//! Retention (issue 17 item 4): each category erased when its period is up, with the
//! clock moved forward — not a day before — through the erasure path (ledger entries,
//! KPI unchanged, nothing left on disk); a second run erases nothing new.
use std::path::Path;

use axum::http::StatusCode;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{
    enrollments, ledger_entries, outbox_messages, recording_consents, retention_runs, sessions,
    survey_responses,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use tsp_ledger::cli::{self, Command, RetentionCommand};
use tsp_ledger::config::{Config, RetentionConfig};
use tsp_ledger::domain::kpi::DESIGNATION_2025;
use tsp_ledger::domain::outbox::{MessageKind, OutboxStatus};
use tsp_ledger::domain::recording::RecordingStatus;
use tsp_ledger::domain::retention::due_on;
use tsp_ledger::domain::role::Role;
use tsp_ledger::ledger::{self, Actor};
use tsp_ledger::services::imports::Kind;
use tsp_ledger::services::retention::{self, Report, Trigger};
use tsp_ledger::services::{codes, kpi};

use crate::fixtures;
use crate::imports::cli_config;
use crate::support::{Backend, TestApp};

/// The app's settings with every category kept for ever, then `change`.
fn settings(app: &TestApp, change: impl FnOnce(&mut RetentionConfig)) -> Config {
    let mut config = app.state.config.clone();
    let r = &mut config.retention;
    (r.learner_months, r.consent_months) = (0, 0);
    (r.email_days, r.session_days, r.spool_days) = (0, 0, 0);
    change(r);
    config
}

fn at(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    date.and_hms_opt(hour, minute, 0).unwrap().and_utc()
}

async fn run(app: &TestApp, config: &Config, now: DateTime<Utc>) -> Report {
    retention::run(app.db(), config, &Actor::System, now, Trigger::Now)
        .await
        .unwrap()
        .expect("a run asked for runs")
}

/// Every file under the app's data folder, lower-cased (SQLite: the database, its log,
/// the spool folders).
fn data_dir_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(b) = std::fs::read(&path) {
                bytes.extend(b);
            }
        }
    }
    bytes.to_ascii_lowercase()
}

fn on_disk(bytes: &[u8], needle: &str) -> bool {
    let needle = needle.to_ascii_lowercase();
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn kpi_json(app: &TestApp, dates: &[NaiveDate]) -> String {
    let mut out = String::new();
    for as_of in dates {
        let report = kpi::report(app.db(), *as_of, &DESIGNATION_2025)
            .await
            .unwrap();
        out.push_str(&serde_json::to_string(&report).unwrap());
    }
    out
}

/// Everything stored that could hold a learner, and the ledger.
async fn dump(app: &TestApp) -> String {
    let db = app.db();
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}",
        enrollments::Entity::find().all(db).await.unwrap(),
        outbox_messages::Entity::find().all(db).await.unwrap(),
        survey_responses::Entity::find().all(db).await.unwrap(),
        ledger_entries::Entity::find().all(db).await.unwrap(),
    )
    .to_lowercase()
}

/// Learner data: the roster lines of a class that ended 12 months ago are erased on the
/// day, not the day before; the learner's line in a recent class stays.
async fn learner_data_is_erased_n_months_after_the_class_ended(app: TestApp) {
    let today = Utc::now().date_naive();
    let old_end = today - Duration::days(40);
    let recent_end = today - Duration::days(5);
    fixtures::import(
        &app,
        Kind::TitlePlan,
        "course_code,title,duration_days,fundamentals,solution_area,content,courseware_version
S-2,Short security,2,false,security,official,1
L-4,Long security,4,false,security,official,1
",
    )
    .await
    .unwrap();
    fixtures::trainer(&app, "Ana Alves", "MCT-1", fixtures::today_plus(900), None).await;
    fixtures::import(
        &app,
        Kind::Classes,
        &format!(
            "class_ref,course_code,mct_id,start_date,end_date,modality,status
K1,S-2,MCT-1,{},{old_end},in_person,confirmed
K2,L-4,MCT-1,{},{recent_end},virtual,confirmed
",
            old_end - Duration::days(1),
            recent_end - Duration::days(3)
        ),
    )
    .await
    .unwrap();
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended
K1,Ada Lovelace,ada@example.com,true
K1,Grace Hopper,grace@example.com,true
K2,A. Lovelace,Ada@Example.com,true
K2,Linus Torvalds,linus@example.com,true
",
    )
    .await
    .unwrap();
    fixtures::import(
        &app,
        Kind::Codes,
        &format!(
            "class_ref,learner_email,achievement_code,issued_on,redeemed_on
K1,ada@example.com,MS-1,{},{}
K2,linus@example.com,MS-2,{recent_end},{recent_end}
",
            old_end + Duration::days(1),
            old_end + Duration::days(2)
        ),
    )
    .await
    .unwrap();
    fixtures::import(
        &app,
        Kind::SurveyResponses,
        &format!(
            "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5
K1,grace@example.com,{},5,4,4,5,5
",
            old_end + Duration::days(1)
        ),
    )
    .await
    .unwrap();
    // Grace's code comes from the pool, by e-mail, sent.
    fixtures::import(&app, Kind::CodePool, "achievement_code\nP-1\n")
        .await
        .unwrap();
    let k1 = tsp_ledger::services::classes::by_ref(app.db(), "K1")
        .await
        .unwrap()
        .unwrap();
    let issued = codes::issue(
        app.db(),
        &Actor::Cli,
        k1.id,
        today,
        codes::CodeLinks {
            page_base: &app.state.link("/codes"),
            redeem_url: &app.state.config.codes.redeem_url,
        },
    )
    .await
    .unwrap();
    assert_eq!(issued, 1);
    assert_eq!(
        app.state.mail_worker().unwrap().drain().await.unwrap().sent,
        1
    );

    let kpi_dates = [today, old_end + Duration::days(62)];
    let kpi_before = kpi_json(&app, &kpi_dates).await;
    assert!(kpi_before.contains("\"answers\":5"), "{kpi_before}");
    let config = settings(&app, |r| r.learner_months = 12);
    let due = due_on(old_end, 12);

    // The day before: nothing; the plan says what falls due and when.
    let eve = at(due - Duration::days(1), 23, 0);
    let report = run(&app, &config, eve).await;
    assert!(report.learners.enrollments.is_empty());
    let plan = retention::plan(app.db(), &config, eve).await.unwrap();
    let learners = &plan.categories[0];
    assert_eq!(
        (learners.due_now, learners.next_on, learners.next_count),
        (0, Some(due), 2)
    );
    assert_eq!(
        learners.next_text,
        format!("2 learners' roster lines on {due} (classes that ended {old_end})")
    );
    assert!(dump(&app).await.contains("grace@example.com"));

    // The admin page shows the same, naming nobody.
    let configured = app.reconfigured(|c| c.retention = config.retention.clone());
    let mut admin = configured.client_as(Role::Admin).await;
    let page = admin.get("/admin/retention").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("retention.learner_months")
        .assert_contains("12 months after the class ended")
        .assert_contains(&format!("on {}", due_on(old_end, 12)));
    let body = page.body.to_lowercase();
    assert!(!body.contains("grace") && !body.contains("lovelace"));

    // The day itself: K1's two lines are erased, K2's stay.
    let report = run(&app, &config, at(due, 0, 30)).await;
    let erased: Vec<&str> = report
        .learners
        .enrollments
        .iter()
        .map(|(_, class_ref, _, _)| class_ref.as_str())
        .collect();
    assert_eq!(erased, ["K1", "K1"]);
    let lines = enrollments::Entity::find()
        .order_by_asc(enrollments::Column::Id)
        .all(app.db())
        .await
        .unwrap();
    let names: Vec<(&str, &str)> = lines
        .iter()
        .map(|e| (e.learner_name.as_str(), e.email_key.as_str()))
        .collect();
    assert_eq!(names[0].0, "Erased learner");
    assert_eq!(names[1].0, "Erased learner");
    assert!(names[0].1.ends_with("@erased.invalid"));
    assert_eq!(
        &names[2..],
        [
            ("A. Lovelace", "ada@example.com"),
            ("Linus Torvalds", "linus@example.com")
        ]
    );
    let after = dump(&app).await;
    for gone in ["grace hopper", "grace@example.com", "ada lovelace"] {
        assert!(!after.contains(gone), "{gone} is still stored");
    }
    // Grace's sent e-mail keeps its history under the placeholder, without its body.
    let mail = outbox_messages::Entity::find()
        .filter(outbox_messages::Column::Kind.eq(MessageKind::AchievementCode))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert!(mail.to_address.ends_with("@erased.invalid"));
    // One `erase` entry per line, by the system, with the period as the reason.
    let entries = ledger_entries::Entity::find()
        .filter(ledger_entries::Column::Action.eq("erase"))
        .all(app.db())
        .await
        .unwrap();
    let entries = crate::support::with_reasons(app.db(), entries).await;
    assert_eq!(entries.len(), 2);
    for e in &entries {
        assert_eq!(e.actor, "system");
        assert_eq!(
            e.reason.as_deref(),
            Some("retention: learner data 12 months after the class ended")
        );
    }
    let run_entry = ledger_entries::Entity::find()
        .filter(ledger_entries::Column::EntityType.eq("retention_run"))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(run_entry.len(), 1, "the run that erased something");
    assert!(run_entry[0].changes.contains("roster_lines_erased"));
    // The figures are the same, byte for byte; the chain verifies.
    assert_eq!(kpi_json(&app, &kpi_dates).await, kpi_before);
    let verified = ledger::verify(app.db()).await.unwrap();
    assert!(verified.is_valid(), "{verified:?}");
    // Not on the disk either (SQLite): the database, its log, the spool folders.
    if let Backend::Sqlite { dir } = &app.backend {
        let bytes = data_dir_bytes(dir);
        assert!(
            on_disk(&bytes, "linus@example.com"),
            "the test reads the files"
        );
        for gone in ["grace@example.com", "grace hopper", "ada lovelace"] {
            assert!(!on_disk(&bytes, gone), "{gone} is still on disk");
        }
        assert!(report.summary().contains("write-ahead log was emptied"));
    }

    // A second run erases nothing new; the plan moves on to K2.
    let again = run(&app, &config, at(due, 0, 40)).await;
    assert!(again.learners.enrollments.is_empty());
    let plan = retention::plan(app.db(), &config, at(due, 1, 0))
        .await
        .unwrap();
    let learners = &plan.categories[0];
    assert_eq!(
        (learners.due_now, learners.next_on, learners.next_count),
        (0, Some(due_on(recent_end, 12)), 2)
    );
    // The daily job: not again today, once tomorrow.
    let daily = |now| retention::run(app.db(), &config, &Actor::System, now, Trigger::Daily);
    assert!(daily(at(due, 23, 0)).await.unwrap().is_none());
    assert!(
        daily(at(due + Duration::days(1), 0, 5))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        daily(at(due + Duration::days(1), 1, 5))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(kpi_json(&app, &kpi_dates).await, kpi_before);
}
db_test!(learner_data_is_erased_n_months_after_the_class_ended);

/// E-mails, sessions and spooled files go when their days are up, not a minute before.
async fn emails_sessions_and_spooled_files_are_deleted_after_n_days(app: TestApp) {
    let mut admin = app.client_as(Role::Admin).await;
    assert_eq!(admin.get("/admin").await.status, StatusCode::OK);
    let data = app.state.config.data.dir.clone();
    let mail_dir = app.state.config.mail.file_dir.clone();
    std::fs::create_dir_all(data.join("uploads")).unwrap();
    std::fs::create_dir_all(&mail_dir).unwrap();
    std::fs::write(data.join("uploads/import-1.csv"), "class_ref\nK1\n").unwrap();
    std::fs::write(mail_dir.join("m-1.eml"), "To: grace@example.com\r\n").unwrap();
    std::fs::write(mail_dir.join("notes.txt"), "not ours").unwrap();
    let now = tsp_ledger::clock::now();
    let message = |status: OutboxStatus, n: i64| outbox_messages::ActiveModel {
        kind: Set(MessageKind::PasswordReset),
        to_address: Set(format!("user{n}@example.com")),
        subject: Set("Reset".into()),
        text_body: Set("body".into()),
        html_body: Set("body".into()),
        message_id: Set(format!("<m{n}@example.com>")),
        status: Set(status),
        attempts: Set(1),
        next_attempt_at: Set(now),
        created_at: Set(now),
        sent_at: Set((status == OutboxStatus::Sent).then_some(now)),
        ..Default::default()
    };
    for (n, status) in [
        OutboxStatus::Sent,
        OutboxStatus::Failed,
        OutboxStatus::Queued,
    ]
    .into_iter()
    .enumerate()
    {
        message(status, n as i64).insert(app.db()).await.unwrap();
    }
    let config = settings(&app, |r| {
        (r.email_days, r.session_days, r.spool_days) = (30, 7, 2)
    });
    let plan = retention::plan(app.db(), &config, now).await.unwrap();
    let next: Vec<(u64, Option<NaiveDate>, u64)> = plan.categories[2..]
        .iter()
        .map(|c| (c.due_now, c.next_on, c.next_count))
        .collect();
    let day = |days| Some((now + Duration::days(days)).date_naive());
    assert_eq!(next, [(0, day(30), 2), (0, day(7), 1), (0, day(2), 2)]);

    let minute = Duration::minutes(1);
    let counts = |r: &Report| (r.emails, r.sessions, r.files);
    let before = run(&app, &config, now + Duration::days(2) - minute).await;
    assert_eq!(counts(&before), (0, 0, 0));
    let files = run(&app, &config, now + Duration::days(2) + minute).await;
    assert_eq!(counts(&files), (0, 0, 2));
    assert!(!data.join("uploads/import-1.csv").exists());
    assert!(!mail_dir.join("m-1.eml").exists());
    assert!(
        mail_dir.join("notes.txt").exists(),
        "only the mail transport's files"
    );
    assert_eq!(
        counts(&run(&app, &config, now + Duration::days(7) - minute).await),
        (0, 0, 0)
    );
    assert_eq!(
        counts(&run(&app, &config, now + Duration::days(7) + minute).await),
        (0, 1, 0)
    );
    assert_eq!(
        sessions::Entity::find().all(app.db()).await.unwrap().len(),
        0
    );
    assert_eq!(admin.get("/admin").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        counts(&run(&app, &config, now + Duration::days(30) - minute).await),
        (0, 0, 0)
    );
    assert_eq!(
        counts(&run(&app, &config, now + Duration::days(30) + minute).await),
        (2, 0, 0)
    );
    let left = outbox_messages::Entity::find().all(app.db()).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(
        left[0].status,
        OutboxStatus::Queued,
        "never an unsent e-mail"
    );
    // Again: nothing new.
    assert_eq!(
        counts(&run(&app, &config, now + Duration::days(31)).await),
        (0, 0, 0)
    );
    // Three runs deleted something: three run entries; every run has its row.
    let run_entries = ledger_entries::Entity::find()
        .filter(ledger_entries::Column::EntityType.eq("retention_run"))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(run_entries.len(), 3);
    assert_eq!(
        retention_runs::Entity::find()
            .all(app.db())
            .await
            .unwrap()
            .len(),
        7
    );
    assert!(ledger::verify(app.db()).await.unwrap().is_valid());

    // The CLI: the plan and a run, recorded as the operator's.
    let mut cli_settings = cli_config(&app);
    cli_settings.retention = config.retention.clone();
    let plan = Command::Retention(RetentionCommand::Plan {
        as_of: Some("2030-01-01".into()),
    });
    cli::run(plan, cli_settings.clone()).await.unwrap();
    cli::run(Command::Retention(RetentionCommand::Run), cli_settings)
        .await
        .unwrap();
    let last = retention_runs::Entity::find()
        .order_by_desc(retention_runs::Column::Id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.actor, "cli");
    // The admin's button runs it too.
    let mut admin = app.client_as(Role::Admin).await;
    let ran = admin.post("/admin/retention/run", &[]).await;
    assert_eq!(ran.status, StatusCode::SEE_OTHER);
    admin
        .get("/admin/retention")
        .await
        .assert_contains("Retention run:")
        .assert_contains("Last run");
}
db_test!(emails_sessions_and_spooled_files_are_deleted_after_n_days);

/// Consent evidence: the notes, links and ledger copies of a withdrawn recording's
/// consents go N months after the withdrawal; the statuses stay.
async fn consent_evidence_is_erased_n_months_after_the_recording_was_withdrawn(app: TestApp) {
    crate::recordings::setup(&app, true).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let id = crate::recordings::create_recording(&mut coordinator, "C-R").await;
    let rows = recording_consents::Entity::find()
        .filter(recording_consents::Column::RecordingId.eq(id))
        .order_by_asc(recording_consents::Column::Id)
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    let grace_line = enrollments::Entity::find()
        .filter(enrollments::Column::LearnerName.eq("Grace Hopper"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let grace_row = rows
        .iter()
        .position(|c| c.enrollment_id == Some(grace_line.id))
        .unwrap();
    let grace = rows[grace_row].id;
    let r = coordinator
        .post(
            &format!("/recordings/{id}/consents/{grace}/paper"),
            &[
                ("change", "grant"),
                ("note", "Binder Q1, signed by Grace Hopper"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = coordinator
        .post(
            &format!("/recordings/{id}/withdraw"),
            &[("reason", "course retired")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let recording = entity::recordings::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recording.status, RecordingStatus::Withdrawn);
    let withdrawn = recording.updated_at.date_naive();
    let config = settings(&app, |r| r.consent_months = 6);
    let due = due_on(withdrawn, 6);

    let eve = run(&app, &config, at(due - Duration::days(1), 23, 59)).await;
    assert_eq!(eve.consents.consents, 0);
    let plan = retention::plan(app.db(), &config, at(due - Duration::days(1), 12, 0))
        .await
        .unwrap();
    assert_eq!(
        (
            plan.categories[1].due_now,
            plan.categories[1].next_on,
            plan.categories[1].next_count
        ),
        (0, Some(due), 3)
    );
    let report = run(&app, &config, at(due, 0, 1)).await;
    assert_eq!(
        (
            report.consents.consents,
            report.consents.notes,
            report.consents.links
        ),
        (3, 1, 2),
        "three subjects; Grace's note; the learners' links (a paper grant leaves it open)"
    );
    assert_eq!(
        report.consents.texts_blanked, 2,
        "the note and its entry's reason"
    );
    let rows = recording_consents::Entity::find()
        .filter(recording_consents::Column::RecordingId.eq(id))
        .order_by_asc(recording_consents::Column::Id)
        .all(app.db())
        .await
        .unwrap();
    assert!(
        rows.iter()
            .all(|c| c.note.is_none() && c.token_hash.is_none() && c.evidence_erased_at.is_some())
    );
    assert_eq!(rows[grace_row].status.id(), "granted", "the status stays");
    let stored = format!(
        "{:?}{:?}",
        rows,
        entity::ledger_texts::Entity::find()
            .all(app.db())
            .await
            .unwrap()
    );
    assert!(!stored.contains("Binder"), "{stored}");
    let entries = ledger_entries::Entity::find()
        .filter(ledger_entries::Column::Action.eq("erase"))
        .filter(ledger_entries::Column::EntityType.eq("recording_consent"))
        .all(app.db())
        .await
        .unwrap();
    let entries = crate::support::with_reasons(app.db(), entries).await;
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|e| e.reason.as_deref()
        == Some("retention: consent evidence 6 months after the recording was withdrawn")));
    let verified = ledger::verify(app.db()).await.unwrap();
    assert!(verified.is_valid(), "{verified:?}");
    assert_eq!(verified.texts_erased, 2);
    // Again: nothing new.
    let again = run(&app, &config, at(due, 2, 0)).await;
    assert_eq!(again.consents.consents, 0);
}
db_test!(consent_evidence_is_erased_n_months_after_the_recording_was_withdrawn);
