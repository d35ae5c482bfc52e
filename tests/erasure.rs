//! Learner erasure (SPEC §6): name and e-mail replaced everywhere, links cancelled,
//! unsent e-mails dropped — and the ledger still verifies, the KPI report is unchanged.
use axum::http::StatusCode;
use chrono::Duration;
use entity::{
    achievement_codes, enrollments, ledger_entries, outbox_messages, survey_invitations,
    survey_responses,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use tsp_ledger::cli::{self, Command, LearnerCommand};
use tsp_ledger::domain::kpi::DESIGNATION_2025;
use tsp_ledger::domain::role::Role;
use tsp_ledger::ledger::{self, Actor};
use tsp_ledger::services::imports::Kind;
use tsp_ledger::services::{codes, kpi, surveys};

use crate::fixtures::{self, date};
use crate::imports::cli_config;
use crate::support::{Client, TestApp, TestResponse};
use tsp_ledger::domain::outbox::MessageKind;
use tsp_ledger::domain::outbox::OutboxStatus;

const TITLE_PLAN: &str =
    "course_code,title,duration_days,fundamentals,solution_area,content,courseware_version
L-4,Long security,4,false,security,official,1
S-2,Short security,2,false,security,official,1
";

const CLASSES: &str = "class_ref,course_code,mct_id,start_date,end_date,modality,status
K1,L-4,MCT-1,2026-03-02,2026-03-05,in_person,confirmed
K2,S-2,MCT-1,2026-04-01,2026-04-02,virtual,confirmed
";

/// Ada is on two rosters, spelled two ways; Grace shares her first class, Linus her second.
const ROSTER: &str = "class_ref,learner_name,learner_email,attended
K1,Ada Lovelace,Ada@Example.com,true
K1,Grace Hopper,grace@example.com,true
K2,A. Lovelace,ada@example.com,true
K2,Linus Torvalds,linus@example.com,true
";

const ADA_NAMES: [&str; 3] = ["ada lovelace", "a. lovelace", "ada@example.com"];

/// The tokens the learners got by e-mail, read from the outbox before the worker sends.
struct Links {
    ada_code: String,
    grace_code: String,
    ada_survey_k2: String,
    grace_survey_k1: String,
}

fn token_after(text: &str, marker: &str) -> String {
    let start = text.find(marker).expect("a link") + marker.len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect()
}

/// `admin` erases `email` for `reason` through the confirmed form; the page it lands on,
/// which reports what was erased.
pub(crate) async fn erase_through_form(
    admin: &mut Client<'_>,
    email: &str,
    reason: &str,
) -> TestResponse {
    let erased = admin
        .post(
            "/admin/erasure",
            &[("email", email), ("reason", reason), ("confirm", "true")],
        )
        .await;
    assert_eq!(erased.status, StatusCode::SEE_OTHER, "{}", erased.body);
    assert_eq!(erased.location(), Some("/admin/erasure"));
    admin.get("/admin/erasure").await
}

async fn outbox(app: &TestApp) -> Vec<outbox_messages::Model> {
    outbox_messages::Entity::find()
        .order_by_asc(outbox_messages::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

async fn mail_to(
    app: &TestApp,
    kind: MessageKind,
    to: &str,
    related: &str,
) -> outbox_messages::Model {
    outbox(app)
        .await
        .into_iter()
        .find(|m| {
            m.kind == kind
                && m.to_address.eq_ignore_ascii_case(to)
                && m.related.as_deref() == Some(related)
        })
        .unwrap_or_else(|| panic!("no {kind} to {to} about {related}"))
}

async fn roster(app: &TestApp) -> Vec<enrollments::Model> {
    enrollments::Entity::find()
        .order_by_asc(enrollments::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

/// Classes, rosters, codes (one issued by the app and mailed, one from Microsoft's report,
/// redeemed), survey invitations (queued), a web response naming its author and an
/// imported one; Ada's code e-mail is sent, her invitations are still queued.
async fn seed(app: &TestApp) -> Links {
    fixtures::import(app, Kind::TitlePlan, TITLE_PLAN)
        .await
        .unwrap();
    fixtures::trainer(app, "Ana Alves", "MCT-1", date("2030-01-01"), None).await;
    fixtures::import(app, Kind::Classes, CLASSES).await.unwrap();
    fixtures::import(app, Kind::Roster, ROSTER).await.unwrap();
    let k1 = tsp_ledger::services::classes::by_ref(app.db(), "K1")
        .await
        .unwrap()
        .unwrap();
    let k2 = tsp_ledger::services::classes::by_ref(app.db(), "K2")
        .await
        .unwrap()
        .unwrap();
    // K2's codes come from Microsoft's report, Ada's redeemed (a KPI unit).
    fixtures::import(
        app,
        Kind::Codes,
        "class_ref,learner_email,achievement_code,issued_on,redeemed_on
K2,ada@example.com,MS-2,2026-04-03,2026-04-20
K2,linus@example.com,MS-3,2026-04-03,2026-04-21
",
    )
    .await
    .unwrap();
    // K1's are issued from the pool and mailed with a link to the learner's page.
    fixtures::import(app, Kind::CodePool, "achievement_code\nP-1\nP-2\n")
        .await
        .unwrap();
    let today = chrono::Utc::now().date_naive();
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
    assert_eq!(issued, 2);
    let k1_ref = format!("class:{}", k1.id);
    let k2_ref = format!("class:{}", k2.id);
    let ada_code = token_after(
        &mail_to(
            app,
            MessageKind::AchievementCode,
            "ada@example.com",
            &k1_ref,
        )
        .await
        .text_body,
        "/codes/",
    );
    let grace_code = token_after(
        &mail_to(
            app,
            MessageKind::AchievementCode,
            "grace@example.com",
            &k1_ref,
        )
        .await
        .text_body,
        "/codes/",
    );
    // The code e-mails go out.
    let report = app.state.mail_worker().unwrap().drain().await.unwrap();
    assert_eq!(report.sent, 2);
    // Linus's answers come from MTM (so he is not invited).
    fixtures::import(
        app,
        Kind::SurveyResponses,
        "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5
K2,linus@example.com,2026-04-05,5,4,4,5,5
",
    )
    .await
    .unwrap();
    for class in [&k1, &k2] {
        surveys::send_invitations(
            app.db(),
            &Actor::Cli,
            &app.state.config.surveys,
            class.id,
            &app.state.link(""),
            &app.state.secret,
        )
        .await
        .unwrap();
    }
    let ada_survey_k1 = token_after(
        &mail_to(
            app,
            MessageKind::SurveyInvitation,
            "ada@example.com",
            &k1_ref,
        )
        .await
        .text_body,
        "/survey/",
    );
    let ada_survey_k2 = token_after(
        &mail_to(
            app,
            MessageKind::SurveyInvitation,
            "ada@example.com",
            &k2_ref,
        )
        .await
        .text_body,
        "/survey/",
    );
    let grace_survey_k1 = token_after(
        &mail_to(
            app,
            MessageKind::SurveyInvitation,
            "grace@example.com",
            &k1_ref,
        )
        .await
        .text_body,
        "/survey/",
    );
    // Ada answers K1 on the web and signs her comment.
    let mut learner = app.anonymous();
    learner.get(&format!("/survey/{ada_survey_k1}")).await;
    let answered = learner
        .post(
            &format!("/survey/{ada_survey_k1}"),
            &[
                ("q1", "5"),
                ("q2", "4"),
                ("q5", "5"),
                ("comment", "Great labs. — ADA LOVELACE, ada@example.com"),
            ],
        )
        .await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.body);
    Links {
        ada_code,
        grace_code,
        ada_survey_k2,
        grace_survey_k1,
    }
}

/// Every stored row that could hold a learner's data, and the ledger.
async fn dump(app: &TestApp) -> String {
    let db = app.db();
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        roster(app).await,
        outbox(app).await,
        achievement_codes::Entity::find()
            .order_by_asc(achievement_codes::Column::Id)
            .all(db)
            .await
            .unwrap(),
        survey_invitations::Entity::find()
            .order_by_asc(survey_invitations::Column::Id)
            .all(db)
            .await
            .unwrap(),
        survey_responses::Entity::find()
            .order_by_asc(survey_responses::Column::Id)
            .all(db)
            .await
            .unwrap(),
        ledger_entries::Entity::find()
            .order_by_asc(ledger_entries::Column::Id)
            .all(db)
            .await
            .unwrap(),
    )
}

/// The KPI report JSON for the fixed date and for today (the web response is today's).
async fn kpi_json(app: &TestApp) -> String {
    let mut out = String::new();
    for as_of in [date("2026-11-22"), chrono::Utc::now().date_naive()] {
        let report = kpi::report(app.db(), as_of, &DESIGNATION_2025)
            .await
            .unwrap();
        out.push_str(&serde_json::to_string(&report).unwrap());
    }
    out
}

async fn an_erased_learner_leaves_no_trace_and_changes_no_figure(app: TestApp) {
    let links = seed(&app).await;
    let kpi_before = kpi_json(&app).await;
    let fixed: serde_json::Value = serde_json::from_str(
        &serde_json::to_string(
            &kpi::report(app.db(), date("2026-11-22"), &DESIGNATION_2025)
                .await
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    // The figures are not empty: Ada's redeemed code and Linus's answers count.
    assert_eq!(
        fixed["base"]["courseware"]["by_category"]["two_days_or_less"]["units"],
        serde_json::json!(2)
    );
    assert_eq!(
        fixed["base"]["survey_score"]["answers"],
        serde_json::json!(5)
    );
    let before_dump = dump(&app).await.to_lowercase();
    assert!(before_dump.contains("ada lovelace") && before_dump.contains("ada@example.com"));
    let grace_before: Vec<_> = roster(&app)
        .await
        .into_iter()
        .filter(|e| !e.email_key.starts_with("ada@"))
        .collect();
    let mut anonymous = app.anonymous();
    for path in [
        format!("/codes/{}", links.ada_code),
        format!("/survey/{}", links.ada_survey_k2),
    ] {
        assert_eq!(anonymous.get(&path).await.status, StatusCode::OK, "{path}");
    }

    // The admin looks the learner up (any case) and sees both enrollments.
    let admin_id = app.create_user(Role::Admin, "boss@example.com").await;
    let mut admin = app.client_for(admin_id).await;
    let page = admin.get("/admin/erasure?email=ADA%40example.com").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("2 enrollments with this e-mail")
        .assert_contains(">K1</a>")
        .assert_contains(">K2</a>")
        .assert_contains("L-4 Long security")
        .assert_contains("2026-04-01 → 2026-04-02")
        .assert_contains("(page link cancelled)")
        .assert_contains("MS-2 (no open link)")
        .assert_contains("1 unsent dropped, 1 sent re-addressed")
        .assert_contains("1 unsent dropped, 0 sent re-addressed")
        .assert_contains(r#"name="confirm""#);

    let ledger_before = ledger_entries::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .len();
    erase_through_form(&mut admin, " Ada@Example.COM ", "GDPR request REQ-2026-001")
        .await
        .assert_contains("Erased 2 enrollments")
        .assert_contains("1 code link and 2 survey links cancelled")
        .assert_contains("2 unsent e-mails dropped, 1 sent e-mail re-addressed")
        .assert_contains("1 survey comment redacted");

    // No stored row holds her name or e-mail any more; the placeholders are in place.
    let after_dump = dump(&app).await.to_lowercase();
    for personal in ADA_NAMES.iter().chain(["lovelace"].iter()) {
        assert!(!after_dump.contains(personal), "{personal} still stored");
    }
    let lines = roster(&app).await;
    let erased_lines: Vec<_> = lines
        .iter()
        .filter(|e| e.learner_name == "Erased learner")
        .cloned()
        .collect();
    assert_eq!(erased_lines.len(), 2);
    for e in &erased_lines {
        let placeholder = format!("erased-{}@erased.invalid", e.id);
        assert_eq!(
            (&e.learner_email, &e.email_key),
            (&placeholder, &placeholder)
        );
        assert!(e.attended, "attendance stays");
    }
    // Grace and Linus are untouched, row for row.
    let others: Vec<_> = lines
        .into_iter()
        .filter(|e| e.learner_name != "Erased learner")
        .collect();
    assert_eq!(others, grace_before);

    // Her links answer "not found"; Grace's still open.
    for path in [
        format!("/codes/{}", links.ada_code),
        format!("/survey/{}", links.ada_survey_k2),
    ] {
        assert_eq!(
            anonymous.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let refused = anonymous
        .post(&format!("/survey/{}", links.ada_survey_k2), &[("q1", "1")])
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    for path in [
        format!("/codes/{}", links.grace_code),
        format!("/survey/{}", links.grace_survey_k1),
    ] {
        assert_eq!(anonymous.get(&path).await.status, StatusCode::OK, "{path}");
    }
    // The codes themselves stay issued (and redeemed): only the page link is gone.
    let ms2 = achievement_codes::Entity::find()
        .filter(achievement_codes::Column::Code.eq("MS-2"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ms2.redeemed_on, Some(date("2026-04-20")));
    assert!(ms2.enrollment_id.is_some());
    // Her answers stay, the comment without her name.
    let answers = survey_responses::Entity::find()
        .filter(survey_responses::Column::Source.eq("web"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        [answers.q1, answers.q2, answers.q5],
        [Some(5), Some(4), Some(5)]
    );
    assert_eq!(
        answers.comment.as_deref(),
        Some("Great labs. — Erased learner, Erased learner")
    );

    // Her queued invitations are gone; the sent code e-mail is re-addressed, bodiless.
    let mail = outbox(&app).await;
    let hers: Vec<_> = mail
        .iter()
        .filter(|m| m.to_address.ends_with("@erased.invalid"))
        .collect();
    assert_eq!(hers.len(), 1);
    assert_eq!(
        (hers[0].kind.id(), hers[0].status.id()),
        ("achievement_code", "sent")
    );
    assert!(!hers[0].text_body.contains("/codes/"));
    // The worker sends the others' messages and nothing to her.
    let worker = app.state.mail_worker().unwrap();
    let already = worker.transport().stub_messages().len();
    let report = worker.drain().await.unwrap();
    // (Linus answered on MTM before the invitations went out: he was not invited.)
    assert_eq!(report.sent, 1, "Grace's invitation");
    let sent = worker.transport().stub_messages()[already..]
        .join("\n")
        .to_lowercase();
    assert!(sent.contains("grace@example.com"));
    for personal in ADA_NAMES.iter().chain(["erased.invalid"].iter()) {
        assert!(!sent.contains(personal), "{personal} was mailed");
    }
    // No reminder for her cancelled link; Grace, who has not answered, gets one.
    let reminders = surveys::send_due_reminders(
        app.db(),
        &app.state.config.surveys,
        &app.state.link(""),
        &app.state.secret,
        chrono::Utc::now() + Duration::days(8),
    )
    .await
    .unwrap();
    assert_eq!(reminders, 1);
    let reminder = outbox(&app)
        .await
        .into_iter()
        .find(|m| m.kind == MessageKind::SurveyReminder)
        .unwrap();
    assert_eq!(reminder.to_address, "grace@example.com");

    // The chain verifies, the figures are byte for byte the same.
    let verified = ledger::verify(app.db()).await.unwrap();
    assert!(verified.is_valid(), "{verified:?}");
    assert_eq!(kpi_json(&app).await, kpi_before);

    // One `erase` entry per enrollment, by the admin, with the reason.
    let entries = ledger_entries::Entity::find()
        .filter(ledger_entries::Column::Action.eq("erase"))
        .order_by_asc(ledger_entries::Column::Id)
        .all(app.db())
        .await
        .unwrap();
    let entries = crate::support::with_reasons(app.db(), entries).await;
    assert_eq!(entries.len(), 2);
    for (entry, line) in entries.iter().zip(&erased_lines) {
        assert_eq!(entry.entity_type, "enrollment");
        assert_eq!(entry.entity_id, line.id.to_string());
        assert_eq!(entry.actor, format!("user:{admin_id}"));
        assert_eq!(entry.reason.as_deref(), Some("GDPR request REQ-2026-001"));
        assert_eq!(entry.parent, Some(format!("class:{}", line.class_id)));
        let changes: serde_json::Value = serde_json::from_str(&entry.changes).unwrap();
        assert_eq!(
            changes["learner_name"],
            serde_json::json!({"changed": true})
        );
        assert_eq!(
            changes["learner_email"],
            serde_json::json!({"changed": true})
        );
        assert_eq!(
            changes["survey_link"],
            serde_json::json!({"before": "active", "after": "cancelled"})
        );
    }
    let k1_changes: serde_json::Value = serde_json::from_str(&entries[0].changes).unwrap();
    assert_eq!(
        k1_changes["code_link"],
        serde_json::json!({"before": "active", "after": "cancelled"})
    );
    assert_eq!(
        k1_changes["survey_comment"],
        serde_json::json!({"changed": true})
    );
    // The erasure wrote those two entries and nothing else; then the worker and the reminder.
    let erase_ids: Vec<i64> = entries.iter().map(|e| e.id).collect();
    assert_eq!(
        erase_ids,
        [ledger_before as i64 + 1, ledger_before as i64 + 2]
    );

    // She is gone: a second request finds nothing.
    let again = admin.get("/admin/erasure?email=ada%40example.com").await;
    again.assert_contains("no enrollment has this e-mail address");
    let placeholder = admin
        .get(&format!(
            "/admin/erasure?email={}",
            erased_lines[0].learner_email.replace('@', "%40")
        ))
        .await;
    placeholder.assert_contains("already erased");
}
db_test!(an_erased_learner_leaves_no_trace_and_changes_no_figure);

/// A form's fields.
type Form<'a> = &'a [(&'a str, &'a str)];

async fn refused_erasures_change_nothing(app: TestApp) {
    seed(&app).await;
    let mut admin = app.client_as(Role::Admin).await;
    let mut others = vec![
        app.client_as(Role::Coordinator).await,
        app.client_as(Role::Viewer).await,
    ];
    let before = dump(&app).await;
    let cases: [(Form, &str, &str); 5] = [
        (
            &[("email", "ada@example.com"), ("confirm", "true")],
            "reason",
            "is required",
        ),
        (
            &[("email", "ada@example.com"), ("reason", "REQ-1")],
            "confirm",
            "tick the box to confirm",
        ),
        (
            &[
                ("email", "nobody@example.com"),
                ("reason", "REQ-1"),
                ("confirm", "true"),
            ],
            "email",
            "no enrollment has this e-mail address",
        ),
        (
            &[
                ("email", "ada@example.com"),
                ("reason", "asked by Ada Lovelace"),
                ("confirm", "true"),
            ],
            "reason",
            "must not contain the learner&#39;s name or e-mail",
        ),
        (
            &[
                ("email", "not an address"),
                ("reason", "REQ-1"),
                ("confirm", "true"),
            ],
            "email",
            "is not a valid e-mail address",
        ),
    ];
    for (fields, field, message) in cases {
        let response = admin.post("/admin/erasure", fields).await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields:?}: {}",
            response.body
        );
        assert!(
            response.body.contains(&format!(r#"id="{field}-error""#))
                || response.body.contains(r#"class="field-error""#),
            "{fields:?}: no error shown"
        );
        let shown = response.body.replace("&#x27;", "&#39;");
        assert!(shown.contains(message), "{fields:?}: {}", response.body);
        assert_eq!(dump(&app).await, before, "{fields:?} changed something");
    }
    // A refused form keeps what was typed.
    let response = admin
        .post(
            "/admin/erasure",
            &[("email", "ada@example.com"), ("reason", "REQ-77")],
        )
        .await;
    response.assert_contains(r#"value="REQ-77""#);
    // Other roles cannot erase.
    for client in &mut others {
        let response = client
            .post(
                "/admin/erasure",
                &[
                    ("email", "ada@example.com"),
                    ("reason", "REQ-1"),
                    ("confirm", "true"),
                ],
            )
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(dump(&app).await, before);
}
db_test!(refused_erasures_change_nothing);

async fn the_cli_erases_and_fails_on_an_unknown_email(app: TestApp) {
    seed(&app).await;
    let erase = |email: &str| {
        Command::Learner(LearnerCommand::Erase {
            email: email.into(),
            reason: "REQ-CLI-9".into(),
        })
    };
    let before = dump(&app).await;
    let error = cli::run(erase("nobody@example.com"), cli_config(&app))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "--email no enrollment has this e-mail address: nothing to erase"
    );
    assert_eq!(dump(&app).await, before);

    let code = cli::run(erase("GRACE@example.com"), cli_config(&app))
        .await
        .unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let grace: Vec<_> = roster(&app)
        .await
        .into_iter()
        .filter(|e| e.learner_name == "Erased learner")
        .collect();
    assert_eq!(grace.len(), 1);
    assert!(!dump(&app).await.to_lowercase().contains("grace"));
    let entry = ledger_entries::Entity::find()
        .filter(ledger_entries::Column::Action.eq("erase"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let entry = crate::support::with_reasons(app.db(), vec![entry])
        .await
        .remove(0);
    assert_eq!(
        (entry.actor.as_str(), entry.reason.as_deref()),
        ("cli", Some("REQ-CLI-9"))
    );
    assert!(ledger::verify(app.db()).await.unwrap().is_valid());
    // An erased learner who had nothing yet gets nothing later: no code from the pool,
    // no survey invitation to the placeholder.
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nK2,Zed Late,zed@example.com,true\n",
    )
    .await
    .unwrap();
    fixtures::import(&app, Kind::CodePool, "achievement_code\nP-3\n")
        .await
        .unwrap();
    let code = cli::run(erase("zed@example.com"), cli_config(&app))
        .await
        .unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let k2 = tsp_ledger::services::classes::by_ref(app.db(), "K2")
        .await
        .unwrap()
        .unwrap();
    let today = chrono::Utc::now().date_naive();
    let issued = codes::issue(
        app.db(),
        &Actor::Cli,
        k2.id,
        today,
        codes::CodeLinks {
            page_base: &app.state.link("/codes"),
            redeem_url: &app.state.config.codes.redeem_url,
        },
    )
    .await
    .unwrap();
    assert_eq!(issued, 0);
    let invited = surveys::send_invitations(
        app.db(),
        &Actor::Cli,
        &app.state.config.surveys,
        k2.id,
        &app.state.link(""),
        &app.state.secret,
    )
    .await
    .unwrap();
    assert_eq!(invited, 0);
    assert!(
        outbox(&app)
            .await
            .iter()
            .all(|m| m.status == OutboxStatus::Sent || !m.to_address.ends_with("@erased.invalid"))
    );
    // Ada's enrollments are untouched.
    assert_eq!(
        roster(&app)
            .await
            .iter()
            .filter(|e| e.email_key == "ada@example.com")
            .count(),
        2
    );
}
db_test!(the_cli_erases_and_fails_on_an_unknown_email);

/// Every byte of the SQLite database: the file, its write-ahead log and shared memory.
fn sqlite_bytes(app: &TestApp) -> Vec<u8> {
    let crate::support::Backend::Sqlite { dir } = &app.backend else {
        unreachable!("a SQLite test")
    };
    let mut bytes = vec![];
    for name in ["test.db", "test.db-wal", "test.db-shm"] {
        if let Ok(b) = std::fs::read(dir.join(name)) {
            bytes.extend(b);
        }
    }
    bytes.to_ascii_lowercase()
}

fn on_disk(bytes: &[u8], needle: &str) -> bool {
    let needle = needle.to_ascii_lowercase();
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Issue 12 item 4: what `strings` finds in the SQLite files. Sent e-mails' personal
/// links are gone from disk once their bodies are emptied, and an erased learner's
/// name, e-mail and links are gone after the erasure — free pages and log included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_learner_is_not_on_the_disk_either() {
    let app = TestApp::sqlite().await;
    let links = seed(&app).await;
    // Both code e-mails were sent and emptied: their live links are not on disk.
    let bytes = sqlite_bytes(&app);
    for token in [&links.ada_code, &links.grace_code] {
        assert!(!on_disk(&bytes, token), "a sent code link is still on disk");
    }
    assert!(
        on_disk(&bytes, "ada lovelace"),
        "the test reads the right files"
    );
    let admin_id = app.create_user(Role::Admin, "boss@example.com").await;
    let mut admin = app.client_for(admin_id).await;
    erase_through_form(&mut admin, "ada@example.com", "REQ-DISK-1")
        .await
        .assert_contains("write-ahead log was emptied");
    let bytes = sqlite_bytes(&app);
    for personal in ADA_NAMES
        .into_iter()
        .chain(["lovelace", links.ada_survey_k2.as_str()])
    {
        assert!(!on_disk(&bytes, personal), "{personal} is still on disk");
    }
    assert!(ledger::verify(app.db()).await.unwrap().is_valid());
}

/// Ledger texts that name the learner or are about their enrollments are blanked beside
/// the chain; the chain still verifies; the erasure says what it did and what it did not.
async fn an_erasure_blanks_the_ledger_texts_that_may_name_the_learner(app: TestApp) {
    seed(&app).await;
    let ada = roster(&app)
        .await
        .into_iter()
        .find(|e| e.email_key == "ada@example.com")
        .unwrap();
    let tx = tsp_ledger::db::begin_write(app.db()).await.unwrap();
    let about_her = ledger::append(
        &tx,
        &Actor::Cli,
        tsp_ledger::ledger::Entry::new("enrollment", ada.id, "update").reason("typo fixed"),
    )
    .await
    .unwrap();
    let names_her = ledger::append(
        &tx,
        &Actor::Cli,
        tsp_ledger::ledger::Entry::new("class", ada.class_id, "amend")
            .reason("room changed for ADA LOVELACE's wheelchair"),
    )
    .await
    .unwrap();
    let other = ledger::append(
        &tx,
        &Actor::Cli,
        tsp_ledger::ledger::Entry::new("class", ada.class_id, "amend").reason("room changed"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let done = tsp_ledger::services::erasure::erase(
        app.db(),
        &Actor::Cli,
        "ada@example.com",
        "REQ-42",
        "true",
    )
    .await
    .unwrap();
    // The classes are confirmed, so her roster lines were amendments with a reason: those
    // two, the typo fix on her enrollment, and the amendment that names her.
    assert_eq!(done.texts_blanked, 4);
    assert!(done.texts_kept.is_empty());
    let summary = done.summary();
    assert!(summary.contains("4 ledger texts blanked"), "{summary}");
    match app.backend {
        crate::support::Backend::Sqlite { .. } => {
            assert!(summary.contains("write-ahead log was emptied"), "{summary}")
        }
        _ => assert!(summary.contains("until VACUUM"), "{summary}"),
    }
    assert!(
        summary.contains("backups taken before now still hold"),
        "{summary}"
    );
    let v = ledger::verify(app.db()).await.unwrap();
    assert!(v.is_valid(), "{v:?}");
    assert_eq!(v.texts_erased, 4);
    let entries = crate::support::with_reasons(
        app.db(),
        vec![about_her.clone(), names_her.clone(), other.clone()],
    )
    .await;
    let reasons: Vec<_> = entries.iter().map(|e| e.reason.clone().unwrap()).collect();
    assert_eq!(reasons, ["(erased)", "(erased)", "room changed"]);
    // The erasure entry lists them, and keeps its own reason.
    let erase = ledger_entries::Entity::find()
        .filter(ledger_entries::Column::Action.eq("erase"))
        .filter(ledger_entries::Column::EntityId.eq(ada.id.to_string()))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let changes: serde_json::Value = serde_json::from_str(&erase.changes).unwrap();
    let listed = changes["texts_erased"]["after"].as_array().unwrap().clone();
    for id in [about_her.id, names_her.id] {
        assert!(
            listed.contains(&serde_json::json!(format!("{id}:reason"))),
            "{listed:?}"
        );
    }
    let mut admin = app.client_as(Role::Admin).await;
    let page = admin.get(&format!("/classes/{}", ada.class_id)).await;
    page.assert_contains("(erased)")
        .assert_contains("room changed");
    assert!(!page.body.to_lowercase().contains("lovelace"));
}
db_test!(an_erasure_blanks_the_ledger_texts_that_may_name_the_learner);
