//! Learners across classes (issue 16 item 4): the search with one line per learner (by
//! e-mail, case-insensitively), a learner's page with every class, attendance, code,
//! survey and consent, and what a trainer sees — only their own classes' learners.
use axum::http::StatusCode;
use entity::enrollments;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tsp_ledger::domain::role::Role;
use tsp_ledger::services::imports::Kind;

use crate::catalog::{linked_cells, unescape};
use crate::fixtures;
use crate::support::{Client, TestApp};

/// The roster line of `email_key` on class `class_ref`.
async fn line(app: &TestApp, class_ref: &str, email_key: &str) -> i64 {
    let class = tsp_ledger::services::classes::by_ref(app.db(), class_ref)
        .await
        .unwrap()
        .unwrap();
    enrollments::Entity::find()
        .filter(enrollments::Column::ClassId.eq(class.id))
        .filter(enrollments::Column::EmailKey.eq(email_key))
        .one(app.db())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{email_key} is not on {class_ref}"))
        .id
}

/// Ana (MCT-1, signed in as `ana@example.com`) teaches C-1; Bruno (MCT-2, signed in as
/// `bruno@example.com`) teaches C-2 and C-3. Ada is on all three (as "Ada L." on C-2,
/// with an e-mail typed in another case on C-1), Alan on C-1, Grace on C-2. Ada has a
/// code and a survey answer on C-2, and a consent asked for a recording of C-1.
async fn seed(app: &TestApp) -> (i64, i64) {
    fixtures::course(app, "AZ-104", 4, "infrastructure").await;
    fixtures::course(app, "SC-200", 4, "security").await;
    let valid = fixtures::today_plus(3650);
    let ana = app.create_user(Role::Trainer, "ana@example.com").await;
    let bruno = app.create_user(Role::Trainer, "bruno@example.com").await;
    fixtures::trainer(app, "Ana Alves", "MCT-1", valid, Some(ana)).await;
    fixtures::trainer(app, "Bruno Barros", "MCT-2", valid, Some(bruno)).await;
    let soon = fixtures::today_plus(30);
    let csv = format!(
        "class_ref,course_code,mct_id,start_date,end_date,modality,status\n\
         C-1,AZ-104,MCT-1,2026-03-02,2026-03-05,in_person,delivered\n\
         C-2,SC-200,MCT-2,2026-05-04,2026-05-07,virtual,confirmed\n\
         C-3,AZ-104,MCT-2,{soon},{soon},in_person,scheduled\n"
    );
    fixtures::import(app, Kind::Classes, &csv).await.unwrap();
    fixtures::import(
        app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\n\
         C-1,Ada Lovelace,Ada@Example.com,true\n\
         C-1,Alan Turing,alan@example.com,false\n\
         C-2,Ada L.,ada@example.com,true\n\
         C-2,Grace Hopper,grace@example.com,true\n\
         C-3,Ada Lovelace,ada@example.com,false\n",
    )
    .await
    .unwrap();
    fixtures::import(
        app,
        Kind::Codes,
        "class_ref,learner_email,achievement_code,issued_on,redeemed_on\n\
         C-2,ada@example.com,MS-ADA-2,2026-05-08,2026-05-20\n",
    )
    .await
    .unwrap();
    fixtures::import(
        app,
        Kind::SurveyResponses,
        "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5\nC-2,ada@example.com,2026-05-08,5,4,,3,5\n",
    )
    .await
    .unwrap();
    tsp_ledger::services::recordings::create(
        app.db(),
        &tsp_ledger::ledger::Actor::Cli,
        &tsp_ledger::services::recordings::RecordingFields {
            title: "AZ-104 in March".into(),
            course_code: "AZ-104".into(),
            mct_id: "MCT-1".into(),
            source_class_ref: "C-1".into(),
            courseware_version: String::new(),
            location: "https://videos.example.com/az104".into(),
        }
        .parse()
        .unwrap(),
        "http://ledger.example/consent",
    )
    .await
    .unwrap();
    (ana, bruno)
}

/// The learners a search page lists (their names, linked to their pages).
fn names(body: &str) -> Vec<String> {
    linked_cells(body, "/learners/")
}

/// The HTML of the learner page's row of class `class_ref`.
fn row_of<'a>(body: &'a str, class_ref: &str) -> &'a str {
    let start = body
        .find(&format!("\">{class_ref}</a>"))
        .unwrap_or_else(|| panic!("no row for {class_ref}"));
    let end = start + body[start..].find("</tr>").unwrap();
    &body[start..end]
}

async fn staff_find_a_learner_across_classes_and_see_everything_they_have(app: TestApp) {
    seed(&app).await;
    let mut viewer = app.client_as(Role::Viewer).await;
    // One line per learner, whatever the case of their e-mail on each roster.
    let all = viewer.get("/learners").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(
        names(&all.body),
        ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    );
    all.assert_contains(r#"<li><a href="/learners" aria-current="page">Learners</a></li>"#);
    for (q, expect) in [
        ("ADA", vec!["Ada Lovelace"]),
        ("lovelace", vec!["Ada Lovelace"]),
        ("ada+l.", vec!["Ada Lovelace"]),
        (
            "example.com",
            vec!["Ada Lovelace", "Alan Turing", "Grace Hopper"],
        ),
        ("grace%40", vec!["Grace Hopper"]),
        ("nobody", vec![]),
        ("a_", vec![]),
    ] {
        let page = viewer.get(&format!("/learners?q={q}")).await;
        assert_eq!(page.status, StatusCode::OK, "{q}");
        assert_eq!(names(&page.body), expect, "{q}");
    }
    // Ada: three classes, the latest C-3, and her line links to her page by the latest
    // roster line (an id, not her e-mail).
    let ada = viewer.get("/learners?q=ada").await;
    let ada_c3 = line(&app, "C-3", "ada@example.com").await;
    assert!(
        ada.body
            .contains(&format!("<a href=\"/learners/{ada_c3}\">Ada Lovelace</a>"))
    );
    assert!(
        ada.body.contains("<td class=\"num\">3</td>"),
        "{}",
        ada.body
    );
    assert_eq!(linked_cells(&ada.body, "/classes/"), ["C-3"]);
    viewer
        .get("/learners?q=nobody")
        .await
        .assert_contains("No learner matches");

    // Her page, opened from her C-1 line: every class, latest start first.
    let ada_c1 = line(&app, "C-1", "ada@example.com").await;
    let page = viewer.get(&format!("/learners/{ada_c1}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = unescape(&page.body);
    assert!(body.contains("<h1>Ada Lovelace</h1>"), "{body}");
    assert!(body.contains("Ada@Example.com"));
    assert!(body.contains("<strong>3</strong> · attended 2"), "{body}");
    assert_eq!(linked_cells(&page.body, "/classes/"), ["C-3", "C-2", "C-1"]);
    let c2 = row_of(&body, "C-2");
    for shown in [
        "as Ada L.",
        "SC-200",
        "Bruno Barros",
        "2026-05-04 → 2026-05-07",
        "Confirmed",
        "<td>Yes</td>",
        "MS-ADA-2",
        "issued 2026-05-08 · redeemed 2026-05-20",
        "Answered on 2026-05-08 (Import): Q1 5, Q2 4, Q3 –, Q4 3, Q5 5",
        "none asked",
    ] {
        assert!(c2.contains(shown), "C-2 row lacks {shown}: {c2}");
    }
    let c1 = row_of(&body, "C-1");
    for shown in [
        "Ana Alves",
        "<td>Yes</td>",
        "AZ-104 in March</a>: Requested",
        "not invited",
    ] {
        assert!(c1.contains(shown), "C-1 row lacks {shown}: {c1}");
    }
    assert!(!c1.contains("as Ada"), "{c1}");
    let c3 = row_of(&body, "C-3");
    assert!(c3.contains("<td>Not yet</td>"), "{c3}");
    assert!(c3.contains("Scheduled"));
    // Not Alan's or Grace's.
    assert!(!body.contains("Grace") && !body.contains("Alan"));

    // The class page links each learner to their page.
    let c1_id = tsp_ledger::services::classes::by_ref(app.db(), "C-1")
        .await
        .unwrap()
        .unwrap()
        .id;
    viewer
        .get(&format!("/classes/{c1_id}"))
        .await
        .assert_contains(&format!("<a href=\"/learners/{ada_c1}\">Ada Lovelace</a>"));
    // A roster line that does not exist is not found.
    assert_eq!(
        viewer.get("/learners/999999").await.status,
        StatusCode::NOT_FOUND
    );
}
db_test!(staff_find_a_learner_across_classes_and_see_everything_they_have);

async fn a_trainer_sees_only_the_learners_and_classes_they_teach(app: TestApp) {
    let (ana, bruno) = seed(&app).await;
    let mut ana = app.client_for(ana).await;
    // Ana teaches C-1: Ada and Alan, each with that one class.
    let all = ana.get("/learners").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(names(&all.body), ["Ada Lovelace", "Alan Turing"]);
    assert_eq!(linked_cells(&all.body, "/classes/"), ["C-1", "C-1"]);
    assert!(!all.body.contains("<td class=\"num\">3</td>"));
    // Grace's name is on Bruno's roster only; "L." only on Ada's C-2 line.
    for q in ["grace", "hopper", "ada+l."] {
        assert!(
            names(&ana.get(&format!("/learners?q={q}")).await.body).is_empty(),
            "{q}"
        );
    }
    let ada_c1 = line(&app, "C-1", "ada@example.com").await;
    let page = ana.get(&format!("/learners/{ada_c1}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(linked_cells(&page.body, "/classes/"), ["C-1"]);
    let body = unescape(&page.body);
    assert!(
        body.contains("<strong>1</strong> of yours · attended 1"),
        "{body}"
    );
    for hidden in ["C-2", "C-3", "MS-ADA-2", "Bruno", "SC-200"] {
        assert!(!body.contains(hidden), "Ana sees {hidden}");
    }
    // Another MCT's learners and lines do not exist for her.
    for (class_ref, email) in [
        ("C-2", "ada@example.com"),
        ("C-3", "ada@example.com"),
        ("C-2", "grace@example.com"),
    ] {
        let id = line(&app, class_ref, email).await;
        assert_eq!(
            ana.get(&format!("/learners/{id}")).await.status,
            StatusCode::NOT_FOUND,
            "{class_ref} {email}"
        );
    }
    // The class list's learner search stays within her classes too.
    assert_eq!(
        linked_cells(&ana.get("/classes?learner=ada").await.body, "/classes/"),
        ["C-1"]
    );

    // Bruno sees Ada's C-2 and C-3, not Alan.
    let mut bruno = app.client_for(bruno).await;
    let alan = line(&app, "C-1", "alan@example.com").await;
    assert_eq!(
        bruno.get(&format!("/learners/{alan}")).await.status,
        StatusCode::NOT_FOUND
    );
    let ada_c2 = line(&app, "C-2", "ada@example.com").await;
    let page = bruno.get(&format!("/learners/{ada_c2}")).await;
    assert_eq!(linked_cells(&page.body, "/classes/"), ["C-3", "C-2"]);

    // A trainer not linked to an MCT record has no learners.
    let unlinked = app.create_user(Role::Trainer, "new@example.com").await;
    let mut unlinked = app.client_for(unlinked).await;
    assert!(names(&unlinked.get("/learners").await.body).is_empty());
    assert_eq!(
        unlinked.get(&format!("/learners/{ada_c1}")).await.status,
        StatusCode::NOT_FOUND
    );
}
db_test!(a_trainer_sees_only_the_learners_and_classes_they_teach);

/// The target of the `rel="next"` link, unescaped.
fn next_link(body: &str) -> Option<String> {
    let end = body.find("\" rel=\"next\"")?;
    let start = body[..end].rfind("href=\"")? + "href=\"".len();
    Some(unescape(&body[start..end]))
}

async fn pages<F: Fn(&str) -> Vec<String>>(
    client: &mut Client<'_>,
    path: &str,
    read: F,
) -> Vec<Vec<String>> {
    let mut out = vec![];
    let mut next = Some(path.to_string());
    while let Some(path) = next {
        let page = client.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        out.push(read(&page.body));
        next = next_link(&page.body);
        assert!(out.len() < 10, "{path}: the pages never end");
    }
    out
}

/// The search pages by 50 learners (keeping the search), a learner's page by 50
/// classes; nothing is skipped or repeated.
async fn learner_lists_and_pages_are_paginated(app: TestApp) {
    crate::imports::catalog(&app).await;
    let mut classes =
        String::from("class_ref,course_code,mct_id,start_date,end_date,modality,status\n");
    let mut roster = String::from("class_ref,learner_name,learner_email,attended\n");
    let first = fixtures::date("2025-01-01");
    for i in 0..60 {
        // Two classes a day: the page boundary must break ties by class.
        let start = first + chrono::Duration::days(i / 2);
        classes.push_str(&format!(
            "P-{i:02},AZ-104,MCT-1,{start},{start},in_person,delivered\n"
        ));
        roster.push_str(&format!("P-{i:02},Many Classes,many@example.com,true\n"));
    }
    for i in 0..120 {
        roster.push_str(&format!("P-00,Bulk {i:03},bulk{i:03}@example.com,false\n"));
    }
    roster.push_str("P-00,Someone Else,else@example.com,false\n");
    fixtures::import(&app, Kind::Classes, &classes)
        .await
        .unwrap();
    fixtures::import(&app, Kind::Roster, &roster).await.unwrap();
    let mut viewer = app.client_as(Role::Viewer).await;

    let found = pages(&mut viewer, "/learners?q=BULK", names).await;
    assert_eq!(found.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 20]);
    let expected: Vec<String> = (0..120).map(|i| format!("Bulk {i:03}")).collect();
    assert_eq!(found.concat(), expected);
    // Without a search: everybody, by e-mail.
    let everyone = pages(&mut viewer, "/learners", names).await.concat();
    assert_eq!(everyone.len(), 122);
    assert_eq!(everyone[0], "Bulk 000");
    assert_eq!(everyone[120..], ["Someone Else", "Many Classes"]);

    let many = line(&app, "P-00", "many@example.com").await;
    let classes_of = |body: &str| linked_cells(body, "/classes/");
    let found = pages(&mut viewer, &format!("/learners/{many}"), classes_of).await;
    assert_eq!(found.iter().map(Vec::len).collect::<Vec<_>>(), [50, 10]);
    let expected: Vec<String> = (0..60).rev().map(|i| format!("P-{i:02}")).collect();
    assert_eq!(found.concat(), expected);
    viewer
        .get(&format!("/learners/{many}"))
        .await
        .assert_contains("<strong>60</strong> · attended 60");
}
db_test!(learner_lists_and_pages_are_paginated);
