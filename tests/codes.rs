//! Achievement codes (SPEC §2, §5, §6, §7): the pool import, issuing to attending
//! learners with the e-mail and the learner's page, the `codes` import, redemption by
//! hand, recorded classes, and no learner personal data in the ledger.
use axum::http::StatusCode;
use entity::{achievement_codes, classes, enrollments, outbox_messages};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use tsp_ledger::domain::delivery::ClassStatus;
use tsp_ledger::domain::role::Role;
use tsp_ledger::services::imports::{ImportFailure, Kind};

use crate::fixtures;
use crate::imports::{catalog, class_in, ledger};
use crate::support::{Client, TestApp};

const ROSTER: &str = "class_ref,learner_name,learner_email,attended
C-1,Zoë Present,Zoe.Present@Example.com,true
C-1,Omar Present,omar@example.com,true
C-1,Abe Absent,abe@example.com,false
";

/// The catalog, class `C-1` (delivered, in person) and its roster of two attending
/// learners and one absentee.
async fn setup(app: &TestApp) -> classes::Model {
    catalog(app).await;
    let class = class_in(app, "C-1", "delivered").await;
    fixtures::import(app, Kind::Roster, ROSTER).await.unwrap();
    class
}

async fn pool(app: &TestApp, codes: &[&str]) {
    let csv = format!("achievement_code\n{}\n", codes.join("\n"));
    fixtures::import(app, Kind::CodePool, &csv).await.unwrap();
}

async fn all_codes(app: &TestApp) -> Vec<achievement_codes::Model> {
    achievement_codes::Entity::find()
        .order_by_asc(achievement_codes::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

async fn code(app: &TestApp, code: &str) -> achievement_codes::Model {
    achievement_codes::Entity::find()
        .filter(achievement_codes::Column::Code.eq(code))
        .one(app.db())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no code {code}"))
}

async fn learner(app: &TestApp, class_id: i64, email_key: &str) -> enrollments::Model {
    enrollments::Entity::find()
        .filter(enrollments::Column::ClassId.eq(class_id))
        .filter(enrollments::Column::EmailKey.eq(email_key))
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

pub(crate) async fn outbox(app: &TestApp) -> Vec<outbox_messages::Model> {
    outbox_messages::Entity::find()
        .filter(outbox_messages::Column::Kind.eq("achievement_code"))
        .order_by_asc(outbox_messages::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

async fn issue(client: &mut Client<'_>, class_id: i64) -> String {
    let response = client
        .post(&format!("/classes/{class_id}/codes/issue"), &[])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(
        response.location(),
        Some(format!("/classes/{class_id}#codes").as_str())
    );
    // The flash is shown on the page it redirects to.
    let page = client.get(&format!("/classes/{class_id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    page.body
}

/// The `/codes/<token>` token in an e-mail's text.
pub(crate) fn token_in(text: &str) -> String {
    let start = text.find("/codes/").expect("a learner page link") + "/codes/".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect()
}

fn import_errors(result: Result<impl std::fmt::Debug, ImportFailure>) -> Vec<String> {
    match result {
        Err(ImportFailure::Invalid { errors, .. }) => {
            errors.into_iter().map(|e| e.to_string()).collect()
        }
        other => panic!("expected a refused import, got {other:?}"),
    }
}

async fn pool_imports_are_idempotent(app: TestApp) {
    let summary = fixtures::import(&app, Kind::CodePool, "achievement_code\nabc-001\nABC-002\n")
        .await
        .unwrap();
    assert_eq!((summary.created, summary.unchanged), (2, 0));
    let entries = ledger(&app).await.len();
    let summary = fixtures::import(&app, Kind::CodePool, "achievement_code\nABC-001\nabc-002\n")
        .await
        .unwrap();
    assert_eq!((summary.created, summary.unchanged), (0, 2));
    assert_eq!(
        ledger(&app).await.len(),
        entries,
        "nothing new in the ledger"
    );
    let codes = all_codes(&app).await;
    assert_eq!(
        codes.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(),
        ["ABC-001", "ABC-002"]
    );
    assert!(codes.iter().all(|c| c.enrollment_id.is_none()));
    // The same new code twice in one file (inserted in batches): one code, one entry.
    let summary = fixtures::import(&app, Kind::CodePool, "achievement_code\nabc-009\nABC-009\n")
        .await
        .unwrap();
    assert_eq!((summary.created, summary.unchanged), (1, 1));
    assert_eq!(ledger(&app).await.len(), entries + 1);
    // A bad row: nothing of the file is written.
    let errors = import_errors(
        fixtures::import(
            &app,
            Kind::CodePool,
            "achievement_code\nABC-003\nbad code!\n",
        )
        .await,
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("line 3: achievement_code: "),
        "{errors:?}"
    );
    assert_eq!(all_codes(&app).await.len(), 3);
}
db_test!(pool_imports_are_idempotent);

async fn issuing_gives_each_attending_learner_one_code_by_email(app: TestApp) {
    let class = setup(&app).await;
    pool(&app, &["POOL-1", "POOL-2", "POOL-3"]).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let page = coordinator.get(&format!("/classes/{}", class.id)).await;
    page.assert_contains("Issue codes to attending learners")
        .assert_contains("3 codes in the pool")
        .assert_contains("2 attending learners without a code");
    let body = issue(&mut coordinator, class.id).await;
    assert!(body.contains("2 achievement codes issued"), "{body}");

    // Oldest pool codes first, to the attending learners only.
    let zoe = learner(&app, class.id, "zoe.present@example.com").await;
    let omar = learner(&app, class.id, "omar@example.com").await;
    let abe = learner(&app, class.id, "abe@example.com").await;
    let codes = all_codes(&app).await;
    let holders: Vec<Option<i64>> = codes.iter().map(|c| c.enrollment_id).collect();
    assert!(holders[..2].contains(&Some(zoe.id)) && holders[..2].contains(&Some(omar.id)));
    assert_eq!(holders[2], None, "POOL-3 stays in the pool");
    assert!(
        !holders.contains(&Some(abe.id)),
        "absentees never get a code"
    );
    let today = chrono::Utc::now().date_naive();
    for c in &codes[..2] {
        assert_eq!(c.issued_on, Some(today));
        assert!(c.emailed_at.is_some());
        assert!(c.token_hash.is_some());
    }
    body_lists(&body, &["POOL-1", "POOL-2"]);

    // One e-mail per code, to the learner, with the code and their page's link.
    let mails = outbox(&app).await;
    assert_eq!(mails.len(), 2);
    for c in &codes[..2] {
        let holder = if c.enrollment_id == Some(zoe.id) {
            &zoe
        } else {
            &omar
        };
        let mail = mails
            .iter()
            .find(|m| m.to_address == holder.learner_email)
            .unwrap_or_else(|| panic!("no e-mail to {}", holder.learner_email));
        assert!(mail.text_body.contains(&c.code), "{}", mail.text_body);
        assert!(mail.html_body.contains(&c.code));
        assert_eq!(
            mail.related.as_deref(),
            Some(format!("class:{}", class.id).as_str())
        );
        let token = token_in(&mail.text_body);
        assert_eq!(token.len(), 64);
        assert!(mail.html_body.contains(&format!("/codes/{token}")));
        // Both parts link to Microsoft Learn's redemption page (`codes.redeem_url`).
        let redeem = &app.state.config.codes.redeem_url;
        assert!(
            mail.text_body.contains(redeem.as_str()),
            "{}",
            mail.text_body
        );
        assert!(mail.html_body.contains(&format!("href=\"{redeem}\"")));
        assert_eq!(
            c.token_hash.as_deref(),
            Some(tsp_ledger::auth::token_hash(&token).as_str()),
            "only the token's hash is stored"
        );
        // The learner's page: no sign-in, their code and the class only.
        let mut anonymous = app.anonymous();
        let page = anonymous.get(&format!("/codes/{token}")).await;
        assert_eq!(page.status, StatusCode::OK);
        page.assert_contains(&c.code)
            .assert_contains("Course AZ-104")
            .assert_contains("2026-03-02 → 2026-03-05");
        page.assert_contains(&format!("href=\"{}\"", app.state.config.codes.redeem_url));
        let other = if holder.id == zoe.id { &omar } else { &zoe };
        assert!(!page.body.contains(&other.learner_name));
        assert!(!page.body.contains(&holder.learner_email));
        let other_code = codes[..2].iter().find(|o| o.id != c.id).unwrap();
        assert!(!page.body.contains(&other_code.code));
    }
    let mut anonymous = app.anonymous();
    for wrong in [
        "0".repeat(64),
        "nonsense".to_string(),
        tsp_ledger::auth::random_token(),
    ] {
        let page = anonymous.get(&format!("/codes/{wrong}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{wrong}");
    }

    // One ledger entry per code, by the coordinator, under the class.
    let issued: Vec<_> = ledger(&app)
        .await
        .into_iter()
        .filter(|e| e.entity_type == "achievement_code" && e.action == "issue")
        .collect();
    assert_eq!(issued.len(), 2);
    for e in &issued {
        assert!(e.actor.starts_with("user:"));
        assert_eq!(
            e.parent.as_deref(),
            Some(format!("class:{}", class.id).as_str())
        );
    }

    // Issuing again issues nothing new, even with codes left in the pool.
    let body = issue(&mut coordinator, class.id).await;
    assert!(body.contains("nothing to issue"), "{body}");
    assert_eq!(outbox(&app).await.len(), 2);
    assert_eq!(all_codes(&app).await, codes);

    // A learner marked as attending later gets the next code, the others keep theirs.
    let fixed = ROSTER.replace("abe@example.com,false", "abe@example.com,true");
    fixtures::import(&app, Kind::Roster, &fixed).await.unwrap();
    issue(&mut coordinator, class.id).await;
    assert_eq!(code(&app, "POOL-3").await.enrollment_id, Some(abe.id));
    assert_eq!(outbox(&app).await.len(), 3);
    let after = all_codes(&app).await;
    assert_eq!(after[..2], codes[..2]);
}
db_test!(issuing_gives_each_attending_learner_one_code_by_email);

#[track_caller]
fn body_lists(body: &str, codes: &[&str]) {
    for c in codes {
        assert!(body.contains(c), "{c} missing from the class page");
    }
}

async fn a_pool_too_small_issues_nothing(app: TestApp) {
    let class = setup(&app).await;
    pool(&app, &["ONLY-1"]).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let entries = ledger(&app).await.len();
    let body = issue(&mut coordinator, class.id).await;
    assert!(
        body.contains("2 attending learners need a code but the pool holds only 1"),
        "{body}"
    );
    assert!(
        all_codes(&app)
            .await
            .iter()
            .all(|c| c.enrollment_id.is_none())
    );
    assert!(outbox(&app).await.is_empty());
    assert_eq!(ledger(&app).await.len(), entries);
    // Editors only.
    let mut viewer = app.client_as(Role::Viewer).await;
    let response = viewer
        .post(&format!("/classes/{}/codes/issue", class.id), &[])
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
}
db_test!(a_pool_too_small_issues_nothing);

async fn the_codes_import_records_issues_and_redemptions(app: TestApp) {
    let class = setup(&app).await;
    pool(&app, &["POOLED-1"]).await;
    let zoe = learner(&app, class.id, "zoe.present@example.com").await;
    let abe = learner(&app, class.id, "abe@example.com").await;
    let header = "class_ref,learner_email,achievement_code,issued_on,redeemed_on\n";
    let first = format!(
        "{header}c-1,ZOE.PRESENT@example.com,MS-1,2026-03-06,\nC-1,abe@example.com,pooled-1,2026-03-06,2026-03-09\n"
    );
    let summary = fixtures::import(&app, Kind::Codes, &first).await.unwrap();
    assert_eq!((summary.created, summary.updated), (1, 1), "{summary:?}");
    let ms1 = code(&app, "MS-1").await;
    assert_eq!(ms1.enrollment_id, Some(zoe.id));
    assert_eq!(ms1.issued_on, Some(fixtures::date("2026-03-06")));
    assert_eq!(ms1.redeemed_on, None);
    // A pool code named in Microsoft's report leaves the pool (absentees included: the
    // report is what Microsoft recorded).
    let pooled = code(&app, "POOLED-1").await;
    assert_eq!(pooled.enrollment_id, Some(abe.id));
    assert_eq!(pooled.redeemed_on, Some(fixtures::date("2026-03-09")));

    // The same file again changes nothing; with a redemption date it sets it.
    let entries = ledger(&app).await.len();
    let summary = fixtures::import(&app, Kind::Codes, &first).await.unwrap();
    assert_eq!(summary.unchanged, 2);
    assert_eq!(ledger(&app).await.len(), entries);
    let redeemed = format!("{header}C-1,zoe.present@example.com,MS-1,2026-03-06,2026-04-01\n");
    let summary = fixtures::import(&app, Kind::Codes, &redeemed)
        .await
        .unwrap();
    assert_eq!(summary.updated, 1);
    assert_eq!(
        code(&app, "MS-1").await.redeemed_on,
        Some(fixtures::date("2026-04-01"))
    );
    // An empty redemption date never clears one.
    fixtures::import(&app, Kind::Codes, &first).await.unwrap();
    assert_eq!(
        code(&app, "MS-1").await.redeemed_on,
        Some(fixtures::date("2026-04-01"))
    );

    // Bad rows are reported by line, and nothing of the file is written.
    let before = all_codes(&app).await;
    let entries = ledger(&app).await.len();
    let refs = format!(
        "{header}\
C-1,omar@example.com,NEW-1,2026-03-06,\n\
C-404,omar@example.com,NEW-2,2026-03-06,\n\
C-1,stranger@example.com,NEW-3,2026-03-06,\n\
C-1,omar@example.com,MS-1,2026-03-06,\n\
C-1,zoe.present@example.com,NEW-4,2026-03-06,\n"
    );
    let bad = format!(
        "{refs}\
C-1,omar@example.com,NEW-5,2026-03-06,2026-03-01\n\
C-1,omar@example.com,NEW-6,06/03/2026,\n"
    );
    // The format first (before anything is locked), then what the rows refer to.
    for (file, expect) in [
        (
            &bad,
            &[
                "line 7: redeemed_on: must not be before the code was issued on 2026-03-06",
                "line 8: issued_on: must be a date YYYY-MM-DD",
            ][..],
        ),
        (
            &refs,
            &[
                "line 3: class_ref: no class C-404",
                "line 4: learner_email: stranger@example.com is not on the roster of C-1",
                "line 5: achievement_code: MS-1 is already issued to another learner",
                "line 6: achievement_code: zoe.present@example.com already holds code MS-1",
            ][..],
        ),
    ] {
        let errors = import_errors(fixtures::import(&app, Kind::Codes, file).await);
        assert_eq!(errors.len(), expect.len(), "{errors:#?}");
        for (got, want) in errors.iter().zip(expect) {
            assert!(got.starts_with(want), "{got:?} should start with {want:?}");
        }
    }
    assert_eq!(all_codes(&app).await, before);
    assert_eq!(ledger(&app).await.len(), entries);
}
db_test!(the_codes_import_records_issues_and_redemptions);

async fn codes_are_redeemed_by_hand_with_a_valid_date(app: TestApp) {
    let class = setup(&app).await;
    let csv = "class_ref,learner_email,achievement_code,issued_on,redeemed_on\nC-1,omar@example.com,MS-9,2026-03-06,\n";
    fixtures::import(&app, Kind::Codes, csv).await.unwrap();
    pool(&app, &["IN-POOL"]).await;
    let id = code(&app, "MS-9").await.id;
    let path = format!("/codes/{id}/redeem");

    let mut viewer = app.client_as(Role::Viewer).await;
    let list = viewer.get("/codes").await;
    assert_eq!(list.status, StatusCode::OK);
    list.assert_contains("MS-9").assert_contains("Omar Present");
    assert!(!list.body.contains(&path), "viewers get no redemption form");
    assert_eq!(
        viewer
            .post(&path, &[("redeemed_on", "2026-03-10")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let mut coordinator = app.client_as(Role::Coordinator).await;
    let list = coordinator.get("/codes").await;
    list.assert_contains(&path).assert_contains("C-1");
    assert!(
        list.body.contains("<strong>1</strong> code ready"),
        "pool size"
    );
    let tomorrow = fixtures::today_plus(1).to_string();
    for (typed, message) in [
        ("", "is required"),
        ("10/03/2026", "must be a date YYYY-MM-DD"),
        (tomorrow.as_str(), "must not be in the future"),
        (
            "2026-03-05",
            "must not be before the code was issued on 2026-03-06",
        ),
    ] {
        let response = coordinator.post(&path, &[("redeemed_on", typed)]).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
        response.assert_contains(message);
        assert_eq!(code(&app, "MS-9").await.redeemed_on, None);
    }
    let entries = ledger(&app).await.len();
    let response = coordinator
        .post(&path, &[("redeemed_on", "2026-03-10")])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(
        code(&app, "MS-9").await.redeemed_on,
        Some(fixtures::date("2026-03-10"))
    );
    let new = &ledger(&app).await[entries..];
    assert_eq!(new.len(), 1);
    assert_eq!(
        (new[0].entity_type.as_str(), new[0].action.as_str()),
        ("achievement_code", "redeem")
    );
    assert_eq!(
        new[0].parent.as_deref(),
        Some(format!("class:{}", class.id).as_str())
    );
    coordinator
        .get("/codes")
        .await
        .assert_contains("2026-03-10")
        .assert_contains("is recorded as redeemed");
    // Once redeemed, a second date is refused; pool codes and unknown ids cannot be.
    let again = coordinator
        .post(&path, &[("redeemed_on", "2026-03-11")])
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    coordinator
        .get("/codes")
        .await
        .assert_contains("already redeemed on 2026-03-10");
    let pooled = code(&app, "IN-POOL").await.id;
    coordinator
        .post(
            &format!("/codes/{pooled}/redeem"),
            &[("redeemed_on", "2026-03-10")],
        )
        .await;
    assert_eq!(code(&app, "IN-POOL").await.redeemed_on, None);
    let missing = coordinator
        .post("/codes/999999/redeem", &[("redeemed_on", "2026-03-10")])
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
db_test!(codes_are_redeemed_by_hand_with_a_valid_date);

async fn codes_of_recorded_classes_earn_no_kpi_credit(app: TestApp) {
    catalog(&app).await;
    let live = class_in(&app, "C-LIVE", "delivered").await;
    let recorded = fixtures::class(
        &app,
        (
            "C-REC",
            "AZ-104",
            "MCT-1",
            "2026-03-02",
            "2026-03-02",
            "recorded",
            "delivered",
        ),
    )
    .await;
    let roster = "class_ref,learner_name,learner_email,attended\nC-LIVE,Live Learner,live@example.com,true\nC-REC,Rec Learner,rec@example.com,true\n";
    fixtures::import(&app, Kind::Roster, roster).await.unwrap();
    pool(&app, &["P-1", "P-2"]).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let live_page = issue(&mut coordinator, live.id).await;
    assert!(!live_page.contains("no KPI credit"));
    let recorded_page = issue(&mut coordinator, recorded.id).await;
    assert!(recorded_page.contains("no KPI credit"), "{recorded_page}");
    assert!(code(&app, "P-2").await.issued_on.is_some());
    let list = coordinator.get("/codes").await;
    let row_of = |needle: &str| {
        list.body
            .split("<tr>")
            .find(|row| row.contains(needle))
            .unwrap_or_else(|| panic!("no row for {needle}"))
            .to_string()
    };
    assert!(row_of("C-REC").contains("no KPI credit"));
    assert!(!row_of("C-LIVE").contains("no KPI credit"));
}
db_test!(codes_of_recorded_classes_earn_no_kpi_credit);

async fn the_ledger_never_holds_learner_names_or_emails(app: TestApp) {
    let class = setup(&app).await;
    pool(&app, &["L-1", "L-2"]).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    issue(&mut coordinator, class.id).await;
    let csv = "class_ref,learner_email,achievement_code,issued_on,redeemed_on\nC-1,abe@example.com,L-9,2026-03-06,2026-03-07\n";
    fixtures::import(&app, Kind::Codes, csv).await.unwrap();
    let id = all_codes(&app).await[0].id;
    let today = fixtures::today_plus(0).to_string();
    let response = coordinator
        .post(&format!("/codes/{id}/redeem"), &[("redeemed_on", &today)])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let entries: Vec<_> = ledger(&app)
        .await
        .into_iter()
        .filter(|e| e.entity_type == "achievement_code")
        .collect();
    assert_eq!(
        entries.len(),
        2 + 2 + 1 + 1,
        "pool import, issue, codes import, redeem"
    );
    let words = [
        "Zoë",
        "Zoe",
        "zoe",
        "Omar",
        "omar",
        "Abe",
        "abe",
        "Present",
        "Absent",
        "example.com",
    ];
    for e in &entries {
        let text = format!(
            "{} {} {:?} {:?}",
            e.entity_id, e.changes, e.reason, e.parent
        );
        for w in words {
            assert!(!text.contains(w), "{w} in ledger entry {text}");
        }
    }
    let abe = learner(&app, class.id, "abe@example.com").await;
    assert!(
        entries
            .iter()
            .any(|e| e.changes.contains(&format!("\"after\":{}", abe.id))),
        "learners are named by enrollment id"
    );
    assert_eq!(
        achievement_codes::Entity::find()
            .filter(achievement_codes::Column::EnrollmentId.is_not_null())
            .count(app.db())
            .await
            .unwrap(),
        3
    );
}
db_test!(the_ledger_never_holds_learner_names_or_emails);

async fn concurrent_issues_never_hand_out_one_code_twice(app: TestApp) {
    catalog(&app).await;
    let a = class_in(&app, "C-A", "delivered").await;
    let b = class_in(&app, "C-B", "delivered").await;
    let roster = "class_ref,learner_name,learner_email,attended\nC-A,Ann A,a1@example.com,true\nC-A,Ann B,a2@example.com,true\nC-B,Ben A,b1@example.com,true\nC-B,Ben B,b2@example.com,true\n";
    fixtures::import(&app, Kind::Roster, roster).await.unwrap();
    pool(&app, &["X-1", "X-2", "X-3", "X-4", "X-5"]).await;
    let actor = tsp_ledger::ledger::Actor::Cli;
    let today = fixtures::today_plus(0);
    let (ra, rb) = tokio::join!(
        tsp_ledger::services::codes::issue(
            app.db(),
            &actor,
            a.id,
            today,
            tsp_ledger::services::codes::CodeLinks {
                page_base: "https://x/codes",
                redeem_url: "https://learn.example/redeem"
            }
        ),
        tsp_ledger::services::codes::issue(
            app.db(),
            &actor,
            b.id,
            today,
            tsp_ledger::services::codes::CodeLinks {
                page_base: "https://x/codes",
                redeem_url: "https://learn.example/redeem"
            }
        ),
    );
    assert_eq!((ra.unwrap(), rb.unwrap()), (2, 2));
    let codes = all_codes(&app).await;
    let holders: Vec<i64> = codes.iter().filter_map(|c| c.enrollment_id).collect();
    let distinct: std::collections::HashSet<_> = holders.iter().collect();
    assert_eq!((holders.len(), distinct.len()), (4, 4));
    assert_eq!(
        codes[4].enrollment_id, None,
        "the newest code stays in the pool"
    );
    assert_eq!(outbox(&app).await.len(), 4);
    assert!(
        tsp_ledger::ledger::verify(app.db())
            .await
            .unwrap()
            .is_valid()
    );
}
db_test!(concurrent_issues_never_hand_out_one_code_twice);

async fn rule_7_codes_are_issued_only_once_the_class_has_started_never_when_cancelled(
    app: TestApp,
) {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let class = setup(&app).await;
    pool(&app, &["P-1", "P-2", "P-3", "P-4"]).await;
    // A row from before rule 7: the class was moved to next week with attendance ticked.
    let mut moved: classes::ActiveModel = class.clone().into();
    moved.start_date = Set(fixtures::today_plus(7));
    moved.end_date = Set(fixtures::today_plus(9));
    moved.status = Set(ClassStatus::Scheduled);
    let future = moved.update(app.db()).await.unwrap();
    let cancelled = class_in(&app, "C-2", "cancelled").await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let entries = ledger(&app).await.len();
    let body = issue(&mut coordinator, future.id).await;
    assert!(
        body.contains("C-1: achievement codes are issued only once the class has started"),
        "{body}"
    );
    // A cancelled class issues none either.
    let body = issue(&mut coordinator, cancelled.id).await;
    assert!(body.contains("C-2: the class is cancelled"), "{body}");
    assert!(
        all_codes(&app)
            .await
            .iter()
            .all(|c| c.enrollment_id.is_none())
    );
    assert!(outbox(&app).await.is_empty());
    assert_eq!(ledger(&app).await.len(), entries);

    // Microsoft's report cannot record one for a class that has not started, nor a code
    // issued before the class's first day.
    let header = "class_ref,learner_email,achievement_code,issued_on,redeemed_on\n";
    let errors = import_errors(
        fixtures::import(
            &app,
            Kind::Codes,
            &format!(
                "{header}C-1,omar@example.com,MS-1,{},\n",
                fixtures::today_plus(0)
            ),
        )
        .await,
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(
            "line 2: class_ref: achievement codes are issued only once the class has started"
        ),
        "{errors:?}"
    );
    let past = class_in(&app, "C-3", "delivered").await;
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-3,Omar Present,omar@example.com,true\n",
    )
    .await
    .unwrap();
    let errors = import_errors(
        fixtures::import(
            &app,
            Kind::Codes,
            &format!("{header}C-3,omar@example.com,MS-2,2026-03-01,\n"),
        )
        .await,
    );
    assert_eq!(
        errors,
        [
            "line 2: issued_on: must be on or after the class's first day (2026-03-02): codes are issued once it has started"
        ]
    );
    // The same learner with the real date is fine.
    fixtures::import(
        &app,
        Kind::Codes,
        &format!("{header}C-3,omar@example.com,MS-2,2026-03-02,\n"),
    )
    .await
    .unwrap();
    assert_eq!(
        code(&app, "MS-2").await.enrollment_id,
        Some(learner(&app, past.id, "omar@example.com").await.id)
    );
}
db_test!(rule_7_codes_are_issued_only_once_the_class_has_started_never_when_cancelled);
