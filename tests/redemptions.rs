//! Microsoft's redemption report as it comes (issue 16 item 1): keyed by the achievement
//! code alone, other columns ignored, the learner's e-mail optional. Codes this app issued
//! get their date; codes it never issued are listed as "credited but not ours" instead of
//! failing the file.
use entity::achievement_codes;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tsp_ledger::domain::role::Role;
use tsp_ledger::services::imports::Kind;

use crate::fixtures;
use crate::imports::{catalog, class_in, invalid, ledger};
use crate::support::TestApp;

async fn code(app: &TestApp, code: &str) -> achievement_codes::Model {
    achievement_codes::Entity::find()
        .filter(achievement_codes::Column::Code.eq(code))
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

/// C-1 (delivered) with Ana and Ben holding MS-1 and MS-2, not redeemed; P-1 in the pool.
async fn issued(app: &TestApp) {
    catalog(app).await;
    class_in(app, "C-1", "delivered").await;
    fixtures::import(
        app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-1,Ana,ana@example.com,true\nC-1,Ben,ben@example.com,true\n",
    )
    .await
    .unwrap();
    fixtures::import(
        app,
        Kind::Codes,
        "class_ref,learner_email,achievement_code,issued_on,redeemed_on\nC-1,ana@example.com,MS-1,2026-03-05,\nC-1,ben@example.com,MS-2,2026-03-05,\n",
    )
    .await
    .unwrap();
    fixtures::import(app, Kind::CodePool, "achievement_code\nP-1\n")
        .await
        .unwrap();
}

/// Microsoft's columns around ours, in its order.
const REPORT: &str = "\
Order ID,achievement_code,Product,redeemed_on,learner_email,Country
O-1,MS-1,AZ-104,2026-03-10,ana@example.com,DE
O-2,ms-2,AZ-104,2026-03-11,,DE
O-3,XX-99,AZ-104,2026-03-12,,DE
O-4,P-1,AZ-104,2026-03-12,,FR
";

async fn the_redemption_report_dates_our_codes_and_lists_the_rest(app: TestApp) {
    issued(&app).await;
    let entries = ledger(&app).await.len();
    let done = fixtures::import(&app, Kind::Redemptions, REPORT)
        .await
        .unwrap();
    assert_eq!(
        (done.rows, done.created, done.updated, done.unchanged),
        (4, 0, 2, 2)
    );
    assert_eq!(
        (done.not_ours, done.not_ours_codes.as_slice()),
        (2, ["XX-99".to_string(), "P-1".to_string()].as_slice())
    );
    assert!(
        done.to_string()
            .ends_with("2 credited by Microsoft but not issued by this app (not ours): XX-99, P-1"),
        "{done}"
    );
    assert_eq!(
        code(&app, "MS-1").await.redeemed_on,
        Some(fixtures::date("2026-03-10"))
    );
    assert_eq!(
        code(&app, "MS-2").await.redeemed_on,
        Some(fixtures::date("2026-03-11"))
    );
    let pool = code(&app, "P-1").await;
    assert_eq!(
        (pool.enrollment_id, pool.redeemed_on),
        (None, None),
        "a pool code stays in the pool"
    );
    assert_eq!(
        ledger(&app).await.len(),
        entries + 2,
        "one entry per code dated"
    );

    // The same report again changes nothing and still names what is not ours.
    let again = fixtures::import(&app, Kind::Redemptions, REPORT)
        .await
        .unwrap();
    assert_eq!((again.updated, again.unchanged, again.not_ours), (0, 4, 2));
    assert_eq!(ledger(&app).await.len(), entries + 2);
}
db_test!(the_redemption_report_dates_our_codes_and_lists_the_rest);

async fn a_bad_redemption_row_is_named_and_nothing_is_written(app: TestApp) {
    issued(&app).await;
    let entries = ledger(&app).await.len();
    // A date in the future is a format problem, found before anything is looked up…
    let future = "achievement_code,redeemed_on,learner_email\nMS-2,2999-01-01,\n";
    let (errors, _, _) = invalid(fixtures::import(&app, Kind::Redemptions, future).await);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("line 2: redeemed_on: must not be in the future"),
        "{errors:?}"
    );
    // …another learner's e-mail, once the code is looked up.
    let report = "\
achievement_code,redeemed_on,learner_email
MS-2,2026-03-11,ben@example.com
MS-1,2026-03-10,ben@example.com
";
    let (errors, _, _) = invalid(fixtures::import(&app, Kind::Redemptions, report).await);
    assert_eq!(
        errors,
        ["line 3: learner_email: ben@example.com is not the learner code MS-1 was issued to"]
    );
    assert_eq!(
        code(&app, "MS-2").await.redeemed_on,
        None,
        "nothing of the file is written"
    );
    assert_eq!(code(&app, "MS-1").await.redeemed_on, None);
    assert_eq!(ledger(&app).await.len(), entries);
    // Without its required columns the header is refused; the e-mail may be left out.
    let (errors, _, _) = invalid(
        fixtures::import(
            &app,
            Kind::Redemptions,
            "achievement_code,Product\nMS-1,AZ-104\n",
        )
        .await,
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("line 1: header: missing column redeemed_on"),
        "{errors:?}"
    );
    // The import page offers the kind.
    let mut coordinator = app.client_as(Role::Coordinator).await;
    coordinator
        .get("/imports")
        .await
        .assert_contains("redemption report (codes redeemed)");
}
db_test!(a_bad_redemption_row_is_named_and_nothing_is_written);

/// The codes desk: what the pool holds and when it runs out, finding an issued code by
/// code, class or learner, and sending a learner their code again with a new link.
async fn the_codes_desk_finds_resends_and_shows_the_pool(app: TestApp) {
    use axum::http::StatusCode;
    issued(&app).await;
    let today = tsp_ledger::clock::now().date_naive();
    let day = |n: i64| (today + chrono::Duration::days(n)).to_string();
    let pool = format!(
        "achievement_code,expires_on\nP-2,{}\nP-3,{}\nP-4,{}\n",
        day(10),
        day(90),
        day(-1)
    );
    fixtures::import(&app, Kind::CodePool, &pool).await.unwrap();
    assert_eq!(
        code(&app, "P-2").await.expires_on,
        Some(today + chrono::Duration::days(10))
    );
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let page = coordinator.get("/codes").await;
    page.assert_contains("<strong>3</strong> codes ready to hand out")
        .assert_contains(&format!(
            "first code expires on <strong>{}</strong>; 1 expires within 30 days",
            day(10)
        ))
        .assert_contains("1 pool code (no longer handed out)");

    // Finding a code: by learner, by code, by class ref.
    let found = coordinator.get("/codes?q=ben").await;
    found.assert_contains("MS-2");
    assert!(!found.body.contains("MS-1"), "{}", found.body);
    let found = coordinator.get("/codes?q=ms-1").await;
    found.assert_contains("MS-1");
    assert!(!found.body.contains("MS-2"));
    let found = coordinator.get("/codes?q=c-1").await;
    found.assert_contains("MS-1").assert_contains("MS-2");
    coordinator
        .get("/codes?q=nobody")
        .await
        .assert_contains("No issued code matches");

    // Sending again: a new link each time, the older one stops working.
    let ms1 = code(&app, "MS-1").await;
    let mut links = vec![];
    for _ in 0..2 {
        let response = coordinator
            .post(&format!("/codes/{}/resend", ms1.id), &[])
            .await;
        assert_eq!(response.status, StatusCode::SEE_OTHER);
        let mails = crate::codes::outbox(&app).await;
        let last = mails.last().unwrap();
        assert_eq!(last.to_address, "ana@example.com");
        links.push(crate::codes::token_in(&last.text_body));
    }
    assert_ne!(links[0], links[1]);
    let mut learner = app.anonymous();
    assert_eq!(
        learner.get(&format!("/codes/{}", links[0])).await.status,
        StatusCode::NOT_FOUND
    );
    learner
        .get(&format!("/codes/{}", links[1]))
        .await
        .assert_contains("MS-1");
    let resent: Vec<_> = ledger(&app)
        .await
        .into_iter()
        .filter(|e| e.action == "resend" && e.entity_id == ms1.id.to_string())
        .collect();
    assert_eq!(resent.len(), 2);
    // A pool code has nobody to go to.
    let p1 = code(&app, "P-1").await;
    let refused = coordinator
        .post(&format!("/codes/{}/resend", p1.id), &[])
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    coordinator
        .get("/codes")
        .await
        .assert_contains("P-1 is in the pool: it has not been issued to anyone");
}
db_test!(the_codes_desk_finds_resends_and_shows_the_pool);
