//! Class rosters on the class page: adding, pasting and exporting learners, attendance,
//! removal, amendments to a confirmed class, the class history, and no learner personal
//! data in the ledger (SPEC §2, §6).
use axum::http::{StatusCode, header};
use entity::{classes, enrollments};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use tsp_ledger::domain::role::Role;
use tsp_ledger::services::imports::Kind;

use crate::fixtures;
use crate::imports::{Part, catalog, class_in, counts, ledger, ledger_since, post_multipart};
use crate::support::{Client, TestApp, TestResponse};

/// The catalog and one class `C-1` in `status`.
async fn setup(app: &TestApp, status: &str) -> classes::Model {
    catalog(app).await;
    class_in(app, "C-1", status).await
}

/// A coordinator's client and their ledger actor (`user:<id>`).
async fn coordinator(app: &TestApp) -> (Client<'_>, String) {
    let id = app
        .create_user(Role::Coordinator, "coordinator@example.com")
        .await;
    (app.client_for(id).await, format!("user:{id}"))
}

/// The roster of a class, oldest line first.
async fn roster(app: &TestApp, class_id: i64) -> Vec<enrollments::Model> {
    enrollments::Entity::find()
        .filter(enrollments::Column::ClassId.eq(class_id))
        .order_by_asc(enrollments::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

/// (name, attended) of each line, by name.
async fn attendance(app: &TestApp, class_id: i64) -> Vec<(String, bool)> {
    let mut lines: Vec<_> = roster(app, class_id)
        .await
        .into_iter()
        .map(|e| (e.learner_name, e.attended))
        .collect();
    lines.sort();
    lines
}

async fn line(app: &TestApp, class_id: i64, name: &str) -> enrollments::Model {
    roster(app, class_id)
        .await
        .into_iter()
        .find(|e| e.learner_name == name)
        .unwrap_or_else(|| panic!("{name} is not on the roster"))
}

#[track_caller]
fn assert_redirected_to_roster(response: &TestResponse, class_id: i64) {
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(
        response.location(),
        Some(format!("/classes/{class_id}#roster").as_str())
    );
}

/// The part of the class page below the History heading.
fn history(page: &TestResponse) -> &str {
    let start = page
        .body
        .find(r#"id="history-h""#)
        .expect("the class page has a History section");
    &page.body[start..]
}

async fn a_coordinator_adds_a_learner_on_the_class_page(app: TestApp) {
    let class = setup(&app, "scheduled").await;
    let (mut browser, actor) = coordinator(&app).await;
    let page = format!("/classes/{}", class.id);
    browser.get(&page).await.assert_contains("No learners yet.");

    let response = browser
        .post(
            &format!("{page}/roster"),
            &[
                ("learner_name", " Ana López "),
                ("learner_email", "Ana.Lopez@Example.com"),
                ("attended", "true"),
            ],
        )
        .await;
    assert_redirected_to_roster(&response, class.id);
    browser
        .get(&page)
        .await
        .assert_contains("Ana López added to the roster.")
        .assert_contains("Ana.Lopez@Example.com")
        .assert_contains(r#"<span class="muted small">1 attended</span>"#);
    let lines = roster(&app, class.id).await;
    assert_eq!(lines.len(), 1);
    let ana = &lines[0];
    assert_eq!(
        (
            ana.learner_name.as_str(),
            ana.learner_email.as_str(),
            ana.email_key.as_str(),
            ana.attended
        ),
        (
            "Ana López",
            "Ana.Lopez@Example.com",
            "ana.lopez@example.com",
            true
        )
    );
    let entry = ledger(&app).await.pop().unwrap();
    assert_eq!(
        (
            entry.entity_type.as_str(),
            entry.entity_id.clone(),
            entry.action.as_str(),
            entry.actor.clone(),
            entry.parent.clone(),
            entry.reason.clone()
        ),
        (
            "enrollment",
            ana.id.to_string(),
            "create",
            actor,
            Some(format!("class:{}", class.id)),
            None
        )
    );

    // Without the checkbox the learner is added as absent.
    let response = browser
        .post(
            &format!("{page}/roster"),
            &[
                ("learner_name", "Ben"),
                ("learner_email", "ben@example.com"),
            ],
        )
        .await;
    assert_redirected_to_roster(&response, class.id);
    assert!(!line(&app, class.id, "Ben").await.attended);

    // Bad input: both fields named, what was typed kept, nothing written.
    let before = counts(&app).await;
    let response = browser
        .post(
            &format!("{page}/roster"),
            &[
                ("learner_name", "   "),
                ("learner_email", "cy-at-example.com"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response
        .assert_contains(r#"id="learner_name-error""#)
        .assert_contains("is not a valid e-mail address")
        .assert_contains(r#"value="cy-at-example.com""#);
    assert_eq!(counts(&app).await, before);

    // A viewer may not add anyone.
    let mut viewer = app.client_as(Role::Viewer).await;
    let before = counts(&app).await;
    let response = viewer
        .post(
            &format!("{page}/roster"),
            &[("learner_name", "Di"), ("learner_email", "di@example.com")],
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(counts(&app).await, before);
}
db_test!(a_coordinator_adds_a_learner_on_the_class_page);

async fn the_same_email_in_another_case_is_refused_on_the_roster(app: TestApp) {
    let class = setup(&app, "scheduled").await;
    let (mut browser, _) = coordinator(&app).await;
    let path = format!("/classes/{}/roster", class.id);
    let response = browser
        .post(
            &path,
            &[
                ("learner_name", "Ana"),
                ("learner_email", "ana@example.com"),
            ],
        )
        .await;
    assert_redirected_to_roster(&response, class.id);
    let before = counts(&app).await;

    let response = browser
        .post(
            &path,
            &[
                ("learner_name", "Ana Again"),
                ("learner_email", " ANA@Example.COM "),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.assert_contains("is already on this roster");
    assert_eq!(counts(&app).await, before);
    let lines = roster(&app, class.id).await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].learner_name, "Ana", "the first line is untouched");

    // The same learner on another class is fine.
    let other = class_in(&app, "C-2", "scheduled").await;
    let response = browser
        .post(
            &format!("/classes/{}/roster", other.id),
            &[
                ("learner_name", "Ana"),
                ("learner_email", "ANA@example.com"),
            ],
        )
        .await;
    assert_redirected_to_roster(&response, other.id);
    assert_eq!(roster(&app, other.id).await.len(), 1);
}
db_test!(the_same_email_in_another_case_is_refused_on_the_roster);

/// Names a CSV round trip could break: commas, double quotes, apostrophes, non-ASCII.
const TRICKY: [(&str, &str, &str); 4] = [
    ("Müller, Jürgen", "juergen.mueller@example.de", "true"),
    ("Said \"the dev\" Ali", "said.ali@example.com", "false"),
    ("Zoë Ørsted", "Zoe.Orsted@Example.dk", "true"),
    ("O'Brien, Siobhán «Shiv»", "siobhan@example.ie", "false"),
];

const TRICKY_PASTE: &str = "\
learner_name,learner_email,attended
\"Müller, Jürgen\",juergen.mueller@example.de,true
\"Said \"\"the dev\"\" Ali\",said.ali@example.com,false
Zoë Ørsted,Zoe.Orsted@Example.dk,true
\"O'Brien, Siobhán «Shiv»\",siobhan@example.ie,false
";

async fn names_with_commas_quotes_and_accents_survive_the_roster_csv(app: TestApp) {
    let class = setup(&app, "delivered").await;
    let (mut browser, _) = coordinator(&app).await;
    let import = format!("/classes/{}/roster/import", class.id);

    // Pasted on the class page: no class_ref column needed.
    let response = post_multipart(&mut browser, &import, &[Part::Text("csv", TRICKY_PASTE)]).await;
    assert_redirected_to_roster(&response, class.id);
    let page = browser.get(&format!("/classes/{}", class.id)).await;
    page.assert_contains("Roster imported: 4 rows: 4 created, 0 updated, 0 unchanged.")
        .assert_contains("Müller, Jürgen")
        .assert_contains("Zoë Ørsted")
        .assert_contains("Said &#34;the dev&#34; Ali");
    let mut stored: Vec<(String, String, String)> = roster(&app, class.id)
        .await
        .into_iter()
        .map(|e| (e.learner_name, e.learner_email, e.attended.to_string()))
        .collect();
    stored.sort();
    let mut expected: Vec<(String, String, String)> = TRICKY
        .iter()
        .map(|(n, e, a)| (n.to_string(), e.to_string(), a.to_string()))
        .collect();
    expected.sort();
    assert_eq!(stored, expected);

    // The export parses back to exactly the same learners.
    let export = browser
        .get(&format!("/classes/{}/roster.csv", class.id))
        .await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(
        export.headers[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    assert!(
        export.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("roster-C-1.csv")
    );
    let mut reader = csv::Reader::from_reader(export.body.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec!["class_ref", "learner_name", "learner_email", "attended"]
    );
    let mut exported: Vec<(String, String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            assert_eq!(&r[0], "C-1");
            (r[1].to_string(), r[2].to_string(), r[3].to_string())
        })
        .collect();
    exported.sort();
    assert_eq!(exported, expected);

    // Uploading the export again (class_ref column included) changes nothing.
    let before = counts(&app).await;
    let response = post_multipart(
        &mut browser,
        &import,
        &[Part::File("file", "roster-C-1.csv", export.body.as_bytes())],
    )
    .await;
    assert_redirected_to_roster(&response, class.id);
    browser
        .get(&format!("/classes/{}", class.id))
        .await
        .assert_contains("Roster imported: 4 rows: 0 created, 0 updated, 4 unchanged.");
    assert_eq!(
        counts(&app).await,
        before,
        "no new lines, no ledger entries"
    );

    // And so does the roster import of the same file.
    let summary = fixtures::import(&app, Kind::Roster, &export.body)
        .await
        .unwrap();
    assert_eq!((summary.rows, summary.unchanged), (4, 4));
    assert_eq!(counts(&app).await, before);
}
db_test!(names_with_commas_quotes_and_accents_survive_the_roster_csv);

async fn a_roster_pasted_on_a_class_page_belongs_to_that_class(app: TestApp) {
    let class = setup(&app, "scheduled").await;
    let other = class_in(&app, "C-2", "scheduled").await;
    let (mut browser, _) = coordinator(&app).await;
    let import = format!("/classes/{}/roster/import", class.id);

    // A class_ref column may be given; it must name this class.
    let before = counts(&app).await;
    let csv = "\
class_ref,learner_name,learner_email,attended
c-1,Ana,ana@example.com,true
,Ben,ben@example.com,false
C-2,Cy,cy@example.com,false
C-1,Di,di@example,false
";
    let response = post_multipart(&mut browser, &import, &[Part::Text("csv", csv)]).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response
        .assert_contains("Nothing was imported: 1 problem on 1 line.")
        .assert_contains("<li>line 5: learner_email: is not a valid e-mail address</li>");
    assert_eq!(counts(&app).await, before);
    let csv = csv.replace("di@example,", "di@example.com,");
    let response = post_multipart(&mut browser, &import, &[Part::Text("csv", &csv)]).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response
        .assert_contains("Nothing was imported: 1 problem on 1 line.")
        .assert_contains("<li>line 4: class_ref: C-2 is not this class (C-1)</li>");
    assert_eq!(counts(&app).await, before);

    let fixed = csv
        .replace("C-2,Cy", "C-1,Cy")
        .replace("@example,", "@example.com,");
    let response = post_multipart(&mut browser, &import, &[Part::Text("csv", &fixed)]).await;
    assert_redirected_to_roster(&response, class.id);
    assert_eq!(
        attendance(&app, class.id).await,
        [
            ("Ana".to_string(), true),
            ("Ben".to_string(), false),
            ("Cy".to_string(), false),
            ("Di".to_string(), false)
        ]
    );
    assert!(roster(&app, other.id).await.is_empty());

    // Nothing pasted and no file: 422 next to the field.
    let response = post_multipart(&mut browser, &import, &[Part::Text("csv", "  ")]).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.assert_contains("paste the roster or choose a file");
}
db_test!(a_roster_pasted_on_a_class_page_belongs_to_that_class);

async fn the_attendance_form_marks_exactly_the_ticked_learners_present(app: TestApp) {
    let class = setup(&app, "delivered").await;
    let other = class_in(&app, "C-2", "delivered").await;
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\n\
         C-1,Ana,ana@example.com,true\n\
         C-1,Ben,ben@example.com,false\n\
         C-1,Cy,cy@example.com,false\n\
         C-2,Di,di@example.com,false\n",
    )
    .await
    .unwrap();
    let (ben, cy, di) = (
        line(&app, class.id, "Ben").await.id,
        line(&app, class.id, "Cy").await.id,
        line(&app, other.id, "Di").await.id,
    );
    let (mut browser, actor) = coordinator(&app).await;
    let page = format!("/classes/{}", class.id);
    browser
        .get(&page)
        .await
        .assert_contains(&format!(r#"name="attended" value="{ben}""#));

    let seen = counts(&app).await.ledger;
    let response = browser
        .post(
            &format!("{page}/attendance"),
            &[
                ("attended", &ben.to_string()),
                ("attended", &cy.to_string()),
            ],
        )
        .await;
    assert_redirected_to_roster(&response, class.id);
    browser
        .get(&page)
        .await
        .assert_contains("Attendance saved (3 changed).");
    assert_eq!(
        attendance(&app, class.id).await,
        [
            ("Ana".to_string(), false),
            ("Ben".to_string(), true),
            ("Cy".to_string(), true)
        ]
    );
    let entries = ledger_since(&app, seen).await;
    assert_eq!(entries.len(), 3, "one entry per changed line");
    for entry in &entries {
        assert_eq!(
            (
                entry.entity_type.as_str(),
                entry.action.as_str(),
                entry.actor.as_str()
            ),
            ("enrollment", "attendance", actor.as_str())
        );
        let changes: serde_json::Value = serde_json::from_str(&entry.changes).unwrap();
        let present = entry.entity_id != line(&app, class.id, "Ana").await.id.to_string();
        assert_eq!(
            changes,
            serde_json::json!({"attended": {"before": !present, "after": present}})
        );
    }

    // The same ticks again change nothing and record nothing.
    let seen = counts(&app).await.ledger;
    let response = browser
        .post(
            &format!("{page}/attendance"),
            &[
                ("attended", &cy.to_string()),
                ("attended", &ben.to_string()),
            ],
        )
        .await;
    assert_redirected_to_roster(&response, class.id);
    browser
        .get(&page)
        .await
        .assert_contains("Attendance saved (0 changed).");
    assert_eq!(counts(&app).await.ledger, seen);

    // Nothing ticked: nobody attended. A learner of another class ticked here is ignored.
    let response = browser
        .post(
            &format!("{page}/attendance"),
            &[("attended", &di.to_string())],
        )
        .await;
    assert_redirected_to_roster(&response, class.id);
    assert_eq!(
        attendance(&app, class.id).await,
        [
            ("Ana".to_string(), false),
            ("Ben".to_string(), false),
            ("Cy".to_string(), false)
        ]
    );
    assert_eq!(
        attendance(&app, other.id).await,
        [("Di".to_string(), false)]
    );
}
db_test!(the_attendance_form_marks_exactly_the_ticked_learners_present);

async fn a_learner_is_removed_from_the_roster(app: TestApp) {
    let class = setup(&app, "scheduled").await;
    let other = class_in(&app, "C-2", "scheduled").await;
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\n\
         C-1,Ana,ana@example.com,false\n\
         C-1,Ben,ben@example.com,false\n\
         C-2,Cy,cy@example.com,false\n",
    )
    .await
    .unwrap();
    let ana = line(&app, class.id, "Ana").await;
    let cy = line(&app, other.id, "Cy").await;
    let (mut browser, actor) = coordinator(&app).await;

    let response = browser
        .post(
            &format!("/classes/{}/roster/{}/remove", class.id, ana.id),
            &[],
        )
        .await;
    assert_redirected_to_roster(&response, class.id);
    browser
        .get(&format!("/classes/{}", class.id))
        .await
        .assert_contains("Learner removed from the roster.");
    assert_eq!(
        attendance(&app, class.id).await,
        [("Ben".to_string(), false)]
    );
    let entry = ledger(&app).await.pop().unwrap();
    assert_eq!(
        (
            entry.entity_type.as_str(),
            entry.entity_id.clone(),
            entry.action.as_str(),
            entry.actor.clone(),
            entry.parent.clone()
        ),
        (
            "enrollment",
            ana.id.to_string(),
            "delete",
            actor,
            Some(format!("class:{}", class.id))
        )
    );
    let changes: serde_json::Value = serde_json::from_str(&entry.changes).unwrap();
    assert_eq!(
        changes["learner_name"],
        serde_json::json!({"changed": true})
    );
    assert_eq!(
        changes["attended"],
        serde_json::json!({"before": false, "after": null})
    );

    // Gone is gone; and a line of another class cannot be removed through this one.
    let before = counts(&app).await;
    for path in [
        format!("/classes/{}/roster/{}/remove", class.id, ana.id),
        format!("/classes/{}/roster/{}/remove", class.id, cy.id),
    ] {
        let response = browser.post(&path, &[]).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(counts(&app).await, before);
    assert_eq!(roster(&app, other.id).await.len(), 1);
}
db_test!(a_learner_is_removed_from_the_roster);

async fn a_confirmed_class_roster_changes_only_with_a_reason(app: TestApp) {
    let class = setup(&app, "confirmed").await;
    // Loading the roster of a confirmed class is allowed, recorded as an amendment.
    let seen = counts(&app).await.ledger;
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\n\
         C-1,Ana,ana@example.com,false\n\
         C-1,Ben,ben@example.com,true\n",
    )
    .await
    .unwrap();
    let imported = ledger_since(&app, seen).await;
    assert_eq!(imported.len(), 2);
    for entry in &imported {
        assert_eq!(
            (
                entry.entity_type.as_str(),
                entry.action.as_str(),
                entry.reason.as_deref()
            ),
            (
                "enrollment",
                "amend",
                Some("roster import after the class was confirmed")
            )
        );
    }
    let (ana, ben) = (
        line(&app, class.id, "Ana").await,
        line(&app, class.id, "Ben").await,
    );
    let (mut browser, _) = coordinator(&app).await;
    let page = format!("/classes/{}", class.id);
    browser.get(&page).await.assert_contains(
        "This class is confirmed: roster changes are amendments and need a reason.",
    );

    // Without a reason (or a blank one): 422, nothing changed.
    let before = counts(&app).await;
    let add = [
        ("learner_name", "Cy"),
        ("learner_email", "cy@example.com"),
        ("attended", "true"),
    ];
    let ana_id = ana.id.to_string();
    let remove = format!("{page}/roster/{}/remove", ben.id);
    for reason in ["", "   "] {
        let mut with_reason = add.to_vec();
        with_reason.push(("reason", reason));
        for (path, fields) in [
            (format!("{page}/roster"), with_reason),
            (remove.clone(), vec![("reason", reason)]),
            (
                format!("{page}/attendance"),
                vec![("attended", ana_id.as_str()), ("reason", reason)],
            ),
        ] {
            let response = browser.post(&path, &fields).await;
            assert_eq!(
                response.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path} with reason {reason:?}"
            );
            response.assert_contains(
                "Reason is required: this class is confirmed, so a change is an amendment",
            );
        }
    }
    assert_eq!(counts(&app).await, before);
    assert_eq!(
        attendance(&app, class.id).await,
        [("Ana".to_string(), false), ("Ben".to_string(), true)]
    );

    // With a reason each change is made, and the ledger keeps the reason.
    let mut with_reason = add.to_vec();
    with_reason.push(("reason", "late registration, per the trainer"));
    let response = browser.post(&format!("{page}/roster"), &with_reason).await;
    assert_redirected_to_roster(&response, class.id);
    let cy = line(&app, class.id, "Cy").await;
    let entry = ledger(&app).await.pop().unwrap();
    assert_eq!(
        (
            entry.entity_type.as_str(),
            entry.entity_id.clone(),
            entry.reason.as_deref()
        ),
        (
            "enrollment",
            cy.id.to_string(),
            Some("late registration, per the trainer")
        )
    );

    let response = browser
        .post(&remove, &[("reason", "registered twice")])
        .await;
    assert_redirected_to_roster(&response, class.id);
    let entry = ledger(&app).await.pop().unwrap();
    assert_eq!(
        (
            entry.entity_id.clone(),
            entry.action.as_str(),
            entry.reason.as_deref()
        ),
        (ben.id.to_string(), "delete", Some("registered twice"))
    );

    let cy_id = cy.id.to_string();
    let response = browser
        .post(
            &format!("{page}/attendance"),
            &[
                ("attended", ana_id.as_str()),
                ("attended", cy_id.as_str()),
                ("reason", "sign-in sheet found"),
            ],
        )
        .await;
    assert_redirected_to_roster(&response, class.id);
    let entry = ledger(&app).await.pop().unwrap();
    assert_eq!(
        (
            entry.entity_id.clone(),
            entry.action.as_str(),
            entry.reason.as_deref()
        ),
        (
            ana.id.to_string(),
            "attendance",
            Some("sign-in sheet found")
        )
    );
    assert_eq!(
        attendance(&app, class.id).await,
        [("Ana".to_string(), true), ("Cy".to_string(), true)]
    );

    // A roster pasted on the confirmed class's page is an amendment too: without a
    // reason it is refused and nothing is added; with one, the reason is recorded.
    let csv = "learner_name,learner_email,attended\nDi,di@example.com,true\n";
    let ledger_before = ledger(&app).await.len();
    let response = post_multipart(
        &mut browser,
        &format!("{page}/roster/import"),
        &[Part::Text("csv", csv)],
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.assert_contains("amendment");
    assert_eq!(ledger(&app).await.len(), ledger_before);
    let response = post_multipart(
        &mut browser,
        &format!("{page}/roster/import"),
        &[
            Part::Text("csv", csv),
            Part::Text("reason", "late sign-up sheet"),
        ],
    )
    .await;
    assert_redirected_to_roster(&response, class.id);
    let entry = ledger(&app).await.pop().unwrap();
    assert_eq!(
        (
            entry.entity_id.clone(),
            entry.action.as_str(),
            entry.reason.as_deref()
        ),
        (
            line(&app, class.id, "Di").await.id.to_string(),
            "amend",
            Some("late sign-up sheet")
        )
    );

    // The reasons are in the class's history.
    let page = browser.get(&page).await;
    let history = history(&page);
    for reason in [
        "late registration, per the trainer",
        "registered twice",
        "sign-in sheet found",
        "late sign-up sheet",
    ] {
        assert!(history.contains(reason), "{reason:?} in\n{history}");
    }
}
db_test!(a_confirmed_class_roster_changes_only_with_a_reason);

async fn ledger_entries_never_hold_a_learners_name_or_email(app: TestApp) {
    let class = setup(&app, "scheduled").await;
    let confirmed = class_in(&app, "C-2", "confirmed").await;
    let (mut browser, _) = coordinator(&app).await;

    // Every way a roster line is written: form, paste, import, rename, attendance,
    // amendment with a reason, removal.
    let response = browser
        .post(
            &format!("/classes/{}/roster", class.id),
            &[
                ("learner_name", "Quentin Zyxwarble"),
                ("learner_email", "Quentin.Zyxwarble@Example.org"),
            ],
        )
        .await;
    assert_redirected_to_roster(&response, class.id);
    let paste = "learner_name,learner_email,attended\n\"Øyvind Plonkeroo, Jr.\",oyvind.plonk@example.no,true\n";
    let response = post_multipart(
        &mut browser,
        &format!("/classes/{}/roster/import", class.id),
        &[Part::Text("csv", paste)],
    )
    .await;
    assert_redirected_to_roster(&response, class.id);
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\n\
         C-1,Quentin Zyxwarble-Renamed,quentin.zyxwarble@example.org,true\n\
         C-2,Marisol Vantablack,marisol.v@example.es,false\n",
    )
    .await
    .unwrap();
    let quentin = line(&app, class.id, "Quentin Zyxwarble-Renamed").await;
    let rename = ledger(&app)
        .await
        .into_iter()
        .rfind(|e| e.entity_type == "enrollment" && e.entity_id == quentin.id.to_string())
        .unwrap();
    assert_eq!(rename.action, "import");
    let changes: serde_json::Value = serde_json::from_str(&rename.changes).unwrap();
    assert_eq!(
        changes,
        serde_json::json!({
            "learner_name": {"changed": true},
            "learner_email": {"changed": true},
            "attended": {"before": false, "after": true},
        }),
        "the name changed, the e-mail's case changed: both only flagged"
    );
    let response = browser
        .post(&format!("/classes/{}/attendance", class.id), &[])
        .await;
    assert_redirected_to_roster(&response, class.id);
    let response = browser
        .post(
            &format!("/classes/{}/roster", confirmed.id),
            &[
                ("learner_name", "Ignatius Flumm"),
                ("learner_email", "iggy.flumm@example.com"),
                ("reason", "walk-in"),
            ],
        )
        .await;
    assert_redirected_to_roster(&response, confirmed.id);
    let response = browser
        .post(
            &format!("/classes/{}/roster/{}/remove", class.id, quentin.id),
            &[],
        )
        .await;
    assert_redirected_to_roster(&response, class.id);

    let entries = ledger(&app).await;
    let enrollment_entries: Vec<_> = entries
        .iter()
        .filter(|e| e.entity_type == "enrollment")
        .collect();
    assert_eq!(
        enrollment_entries
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        [
            "create",
            "import",
            "import",
            "amend",
            "attendance",
            "attendance",
            "create",
            "delete"
        ]
    );
    for entry in &enrollment_entries {
        let changes: serde_json::Value = serde_json::from_str(&entry.changes).unwrap();
        for field in ["learner_name", "learner_email"] {
            if let Some(value) = changes.get(field) {
                assert_eq!(
                    value,
                    &serde_json::json!({"changed": true}),
                    "{field} of entry {}",
                    entry.id
                );
            }
        }
        assert!(
            changes.get("email_key").is_none(),
            "the e-mail key is an e-mail too"
        );
    }
    let needles = [
        "Quentin",
        "Zyxwarble",
        "Øyvind",
        "yvind",
        "Plonkeroo",
        "oyvind.plonk",
        "Marisol",
        "Vantablack",
        "marisol.v",
        "Ignatius",
        "Flumm",
        "iggy.flumm",
        "example.org",
        "example.no",
        "example.es",
    ];
    for entry in &entries {
        let text = format!(
            "{} {} {} {} {} {} {:?} {:?}",
            entry.actor,
            entry.entity_type,
            entry.entity_id,
            entry.action,
            entry.changes,
            entry.reason.as_deref().unwrap_or(""),
            entry.parent,
            entry.at
        )
        .to_lowercase();
        for needle in needles {
            assert!(
                !text.contains(&needle.to_lowercase()),
                "ledger entry {} holds {needle:?}: {text}",
                entry.id
            );
        }
    }
}
db_test!(ledger_entries_never_hold_a_learners_name_or_email);

async fn the_class_history_shows_its_roster_entries(app: TestApp) {
    let class = setup(&app, "scheduled").await;
    let other = class_in(&app, "C-2", "scheduled").await;
    let (mut browser, _) = coordinator(&app).await;
    for (class_id, name, email) in [
        (class.id, "Historia Learner", "historia@example.com"),
        (other.id, "Elsewhere Learner", "elsewhere@example.com"),
    ] {
        let response = browser
            .post(
                &format!("/classes/{class_id}/roster"),
                &[("learner_name", name), ("learner_email", email)],
            )
            .await;
        assert_redirected_to_roster(&response, class_id);
    }
    let mine = line(&app, class.id, "Historia Learner").await;
    let theirs = line(&app, other.id, "Elsewhere Learner").await;
    let response = browser
        .post(
            &format!("/classes/{}/attendance", class.id),
            &[("attended", &mine.id.to_string())],
        )
        .await;
    assert_redirected_to_roster(&response, class.id);

    let page = browser.get(&format!("/classes/{}", class.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    let history = history(&page);
    for what in [
        format!("<td>enrollment {} create</td>", mine.id),
        format!("<td>enrollment {} attendance</td>", mine.id),
        "<td>import</td>".to_string(),
        // The stored `user:N` reads as the person (issue 16 item 7).
        "<td>Coordinator coordinator (coordinator@example.com)</td>".to_string(),
    ] {
        assert!(history.contains(&what), "{what:?} in\n{history}");
    }
    assert!(
        !history.contains(&format!("enrollment {} ", theirs.id)),
        "another class's roster is not in this history:\n{history}"
    );
    // Newest first.
    let attendance_at = history
        .find(&format!("enrollment {} attendance", mine.id))
        .unwrap();
    let create_at = history
        .find(&format!("enrollment {} create", mine.id))
        .unwrap();
    assert!(attendance_at < create_at);
    // The history shows only that the learner's name and e-mail were set.
    assert!(!history.contains("Historia"), "{history}");
    assert!(!history.contains("historia@example.com"), "{history}");
}
db_test!(the_class_history_shows_its_roster_entries);

async fn rule_7_attendance_is_ticked_only_once_the_class_has_started_never_when_cancelled(
    app: TestApp,
) {
    catalog(&app).await;
    let (start, end) = (
        fixtures::today_plus(7).to_string(),
        fixtures::today_plus(9).to_string(),
    );
    let future = fixtures::class(
        &app,
        (
            "C-F",
            "AZ-104",
            "MCT-1",
            &start,
            &end,
            "in_person",
            "scheduled",
        ),
    )
    .await;
    let cancelled = class_in(&app, "C-X", "cancelled").await;
    let (mut browser, _) = coordinator(&app).await;
    for (class, why) in [
        (
            &future,
            "attendance is ticked only once the class has started",
        ),
        (&cancelled, "the class is cancelled"),
    ] {
        let page = format!("/classes/{}", class.id);
        // Enrolling ahead is fine; ticking is not.
        let response = browser
            .post(
                &format!("{page}/roster"),
                &[
                    ("learner_name", "Ana"),
                    ("learner_email", "ana@example.com"),
                ],
            )
            .await;
        assert_redirected_to_roster(&response, class.id);
        let before = counts(&app).await;
        let response = browser
            .post(
                &format!("{page}/roster"),
                &[
                    ("learner_name", "Ben"),
                    ("learner_email", "ben@example.com"),
                    ("attended", "true"),
                ],
            )
            .await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
        response
            .assert_contains(r#"id="attended-error""#)
            .assert_contains(why);
        let ana = line(&app, class.id, "Ana").await;
        let response = browser
            .post(
                &format!("{page}/attendance"),
                &[("attended", &ana.id.to_string())],
            )
            .await;
        assert_redirected_to_roster(&response, class.id);
        browser
            .get(&page)
            .await
            .assert_contains("Attendance was not saved")
            .assert_contains(why);
        // The roster import refuses the row, naming its line.
        let csv = format!(
            "class_ref,learner_name,learner_email,attended\n{0},Ana,ana@example.com,true\n{0},Cy,cy@example.com,false\n{0},Di,di@example.com,true\n",
            class.class_ref
        );
        let (errors, _, _) =
            crate::imports::invalid(fixtures::import(&app, Kind::Roster, &csv).await);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with("line 2: attended: ") && errors[0].contains(why),
            "{errors:?}"
        );
        assert!(errors[1].starts_with("line 4: attended: "), "{errors:?}");
        assert_eq!(counts(&app).await, before, "nothing written");
        assert_eq!(
            attendance(&app, class.id).await,
            [("Ana".to_string(), false)]
        );
    }
}
db_test!(rule_7_attendance_is_ticked_only_once_the_class_has_started_never_when_cancelled);
