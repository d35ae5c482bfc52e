//! The catalog (SPEC §2): courses of the Title Plan and MCTs, through their pages.
use axum::http::StatusCode;
use entity::{courses, ledger_entries, trainers};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use tsp_ledger::domain::role::Role;

use crate::fixtures;
use crate::support::{Client, TestApp, TestResponse};

// ---------------------------------------------------------------- shared helpers

/// The ledger entries of one record, oldest first.
pub(crate) async fn ledger_of(
    app: &TestApp,
    entity_type: &str,
    id: i64,
) -> Vec<ledger_entries::Model> {
    let entries = ledger_entries::Entity::find()
        .filter(ledger_entries::Column::EntityType.eq(entity_type))
        .filter(ledger_entries::Column::EntityId.eq(id.to_string()))
        .order_by_asc(ledger_entries::Column::Id)
        .all(app.db())
        .await
        .unwrap();
    crate::support::with_reasons(app.db(), entries).await
}

/// The `changes` JSON of a ledger entry.
pub(crate) fn changes(entry: &ledger_entries::Model) -> Value {
    serde_json::from_str(&entry.changes).unwrap()
}

/// Undoes the HTML escaping of attribute values and text (askama writes `&#38;` for
/// `&`, `&#39;` for `'`; named entities are decoded too).
pub(crate) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.find(';').and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .map(|hex| u32::from_str_radix(hex, 16))
                    .or_else(|| entity.strip_prefix('#').map(str::parse))
                    .and_then(Result::ok)
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The texts of the table cells that link to `{prefix}<id>`, in page order
/// (`<td><a href="/courses/7">AZ-104</a>` → `AZ-104`).
pub(crate) fn linked_cells(body: &str, prefix: &str) -> Vec<String> {
    let marker = format!("<td><a href=\"{prefix}");
    let mut out = vec![];
    let mut rest = body;
    while let Some(i) = rest.find(&marker) {
        rest = &rest[i + marker.len()..];
        let open = rest.find("\">").unwrap() + 2;
        let close = rest[open..].find("</a>").unwrap();
        out.push(unescape(&rest[open..open + close]));
        rest = &rest[open + close..];
    }
    out
}

/// Follows a 303 to the page it leads to (which shows the flash message).
pub(crate) async fn follow(client: &mut Client<'_>, response: &TestResponse) -> TestResponse {
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "expected a redirect, got {}:\n{}",
        response.status,
        response.body
    );
    let to = response.location().unwrap().to_string();
    client.get(&to).await
}

/// The id at the end of a `/things/{id}` redirect.
pub(crate) fn id_from_location(response: &TestResponse) -> i64 {
    let location = response
        .location()
        .unwrap_or_else(|| panic!("no redirect ({}):\n{}", response.status, response.body));
    location
        .trim_end_matches("#roster")
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn course_count(app: &TestApp) -> u64 {
    courses::Entity::find().count(app.db()).await.unwrap()
}

async fn stored_course(app: &TestApp, id: i64) -> courses::Model {
    courses::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

async fn stored_trainer(app: &TestApp, id: i64) -> trainers::Model {
    trainers::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

fn course_form<'a>(
    code: &'a str,
    title: &'a str,
    days: &'a str,
    area: &'a str,
    version: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("course_code", code),
        ("title", title),
        ("duration_days", days),
        ("solution_area", area),
        ("content", "official"),
        ("courseware_version", version),
    ]
}

// ---------------------------------------------------------------- courses

async fn course_form_shows_the_derived_duration_category_and_ignores_a_typed_one(app: TestApp) {
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let form = coordinator.get("/courses/new").await;
    assert_eq!(form.status, StatusCode::OK);
    for field in ["duration_category", "category"] {
        assert!(
            !form.body.contains(&format!("name=\"{field}\"")),
            "the form must not offer a typed {field}"
        );
    }

    // (code, days, fundamentals ticked, typed category, expected label)
    let cases = [
        ("az-104", "4", false, "fundamentals", "3 days or more"),
        ("AZ-120", "2", false, "three_days_or_more", "2 days or less"),
        ("AZ-900", "1", true, "three_days_or_more", "Fundamentals"),
        ("AZ-400", "3", false, "two_days_or_less", "3 days or more"),
    ];
    for (code, days, fundamentals, typed, label) in cases {
        let mut fields = course_form(code, "Some course", days, "infrastructure", "2026-09");
        if fundamentals {
            fields.push(("fundamentals", "true"));
        }
        fields.push(("duration_category", typed));
        fields.push(("category", typed));
        let response = coordinator.post("/courses", &fields).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
        let id = id_from_location(&response);
        let page = follow(&mut coordinator, &response).await;
        page.assert_contains(&format!("Duration category: <strong>{label}</strong>"))
            .assert_contains("added to the Title Plan");
        let stored = stored_course(&app, id).await;
        assert_eq!(
            stored.course_code,
            code.to_uppercase(),
            "codes are upper-cased"
        );
        assert_eq!(stored.fundamentals, fundamentals);
    }

    // The list shows the same derived labels.
    let list = coordinator.get("/courses").await;
    let body = &list.body;
    for (code, label) in [
        ("AZ-104", "3 days or more"),
        ("AZ-120", "2 days or less"),
        ("AZ-900", "Fundamentals"),
    ] {
        let row_start = body.find(&format!(">{code}</a>")).unwrap();
        let row = &body[row_start..row_start + body[row_start..].find("</tr>").unwrap()];
        assert!(row.contains(&format!("<td>{label}</td>")), "{code}: {row}");
    }
}
db_test!(course_form_shows_the_derived_duration_category_and_ignores_a_typed_one);

async fn bad_course_input_names_every_field_and_writes_nothing(app: TestApp) {
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let response = coordinator
        .post(
            "/courses",
            &[
                ("course_code", "AZ 104"),
                ("title", ""),
                ("duration_days", "four"),
                ("fundamentals", "yes"),
                ("solution_area", "azure"),
                ("content", "free"),
                ("courseware_version", ""),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in [
        "course_code",
        "title",
        "duration_days",
        "fundamentals",
        "solution_area",
        "content",
        "courseware_version",
    ] {
        response.assert_contains(&format!(r#"id="{field}-error""#));
    }
    response
        .assert_contains("whole number of days")
        .assert_contains("must be one of data_ai, infrastructure")
        // The typed input is kept for correction.
        .assert_contains(r#"value="four""#);
    assert_eq!(course_count(&app).await, 0);
    assert!(
        !app.ledger_actions()
            .await
            .iter()
            .any(|(entity, ..)| entity == "course"),
        "nothing reaches the ledger"
    );
}
db_test!(bad_course_input_names_every_field_and_writes_nothing);

async fn course_codes_are_unique_whatever_their_case(app: TestApp) {
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let first = coordinator
        .post(
            "/courses",
            &course_form("AZ-104", "Azure Administrator", "4", "", "2026-09"),
        )
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);

    let dup = coordinator
        .post(
            "/courses",
            &course_form("az-104", "Another title", "4", "", "2026-09"),
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    dup.assert_contains(r#"id="course_code-error""#)
        .assert_contains("AZ-104 is already in the Title Plan");
    assert_eq!(course_count(&app).await, 1);

    // Renaming another course onto the code is refused too.
    let other = fixtures::course(&app, "AZ-305", 4, "infrastructure").await;
    let rename = coordinator
        .post(
            &format!("/courses/{}", other.id),
            &course_form("Az-104", "Course AZ-305", "4", "infrastructure", "2026-01"),
        )
        .await;
    assert_eq!(rename.status, StatusCode::UNPROCESSABLE_ENTITY);
    rename.assert_contains("is already in the Title Plan");
    assert_eq!(stored_course(&app, other.id).await.course_code, "AZ-305");
}
db_test!(course_codes_are_unique_whatever_their_case);

async fn a_courseware_version_change_is_kept_in_the_ledger_with_before_and_after(app: TestApp) {
    let user = app
        .create_user(Role::Coordinator, "coord@example.com")
        .await;
    let mut coordinator = app.client_for(user).await;
    let course = fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    assert_eq!(course.courseware_version, "2026-01");
    let path = format!("/courses/{}", course.id);

    let response = coordinator
        .post(
            &path,
            &course_form("AZ-104", "Course AZ-104", "4", "infrastructure", "2026-09"),
        )
        .await;
    follow(&mut coordinator, &response)
        .await
        .assert_contains("AZ-104 saved.")
        .assert_contains(r#"value="2026-09""#);
    assert_eq!(
        stored_course(&app, course.id).await.courseware_version,
        "2026-09"
    );

    let entries = ledger_of(&app, "course", course.id).await;
    let last = entries.last().unwrap();
    assert_eq!(last.action, "update");
    assert_eq!(last.actor, format!("user:{user}"));
    assert_eq!(
        changes(last),
        json!({"courseware_version": {"before": "2026-01", "after": "2026-09"}}),
        "only the changed field, with before and after"
    );

    // Saving the same values again records nothing.
    let again = coordinator
        .post(
            &path,
            &course_form("AZ-104", "Course AZ-104", "4", "infrastructure", "2026-09"),
        )
        .await;
    follow(&mut coordinator, &again)
        .await
        .assert_contains("Nothing to save");
    assert_eq!(
        ledger_of(&app, "course", course.id).await.len(),
        entries.len()
    );
}
db_test!(a_courseware_version_change_is_kept_in_the_ledger_with_before_and_after);

async fn a_retired_course_cannot_be_scheduled(app: TestApp) {
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let course = fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(&app, "Ana Alves", "MCT-1", fixtures::today_plus(365), None).await;
    let class = |class_ref: &'static str| {
        [
            ("class_ref", class_ref),
            ("course_code", "AZ-104"),
            ("mct_id", "MCT-1"),
            ("start_date", "2026-03-02"),
            ("end_date", "2026-03-05"),
            ("modality", "in_person"),
        ]
    };

    let retire = coordinator
        .post(
            &format!("/courses/{}/retire", course.id),
            &[("retired", "true")],
        )
        .await;
    follow(&mut coordinator, &retire)
        .await
        .assert_contains("AZ-104 is retired");
    assert!(stored_course(&app, course.id).await.retired);
    let last = ledger_of(&app, "course", course.id).await.pop().unwrap();
    assert_eq!(last.action, "retire");

    let refused = coordinator.post("/classes", &class("C-1")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused
        .assert_contains(r#"id="course_code-error""#)
        .assert_contains("retired");
    assert_eq!(
        entity::classes::Entity::find()
            .count(app.db())
            .await
            .unwrap(),
        0
    );
    // Nor is it offered on the form, and the list hides it unless asked.
    let form = coordinator.get("/classes/new").await;
    assert!(!form.body.contains(r#"<option value="AZ-104""#), "offered");
    assert!(linked_cells(&coordinator.get("/courses").await.body, "/courses/").is_empty());
    assert_eq!(
        linked_cells(
            &coordinator.get("/courses?retired=true").await.body,
            "/courses/"
        ),
        ["AZ-104"]
    );

    // Reinstated, it can be scheduled again.
    let back = coordinator
        .post(
            &format!("/courses/{}/retire", course.id),
            &[("retired", "false")],
        )
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    let scheduled = coordinator.post("/classes", &class("C-2")).await;
    assert_eq!(
        scheduled.status,
        StatusCode::SEE_OTHER,
        "{}",
        scheduled.body
    );
}
db_test!(a_retired_course_cannot_be_scheduled);

async fn course_search_is_case_insensitive_on_code_and_title(app: TestApp) {
    let csv = "course_code,title,duration_days,fundamentals,solution_area,content,courseware_version\n\
               AZ-104,Microsoft Azure Administrator,4,false,infrastructure,official,2026-01\n\
               SC-200,Microsoft Security Operations Analyst,4,false,security,official,2026-01\n\
               DP-100,Designing and Implementing a Data Science Solution on Azure,4,false,data_ai,official,2026-01\n\
               MS-900,Microsoft 365 Fundamentals,1,true,modern_work,official,2026-01\n";
    fixtures::import(&app, tsp_ledger::services::imports::Kind::TitlePlan, csv)
        .await
        .unwrap();
    let mut viewer = app.client_as(Role::Viewer).await;
    let mut coordinator = app.client_as(Role::Coordinator).await;
    for (q, expected) in [
        ("az-104", vec!["AZ-104"]),
        ("sC-2", vec!["SC-200"]),
        ("SECURITY operations", vec!["SC-200"]),
        ("azure", vec!["AZ-104", "DP-100"]),
        ("fundamentals", vec!["MS-900"]),
        ("  microsoft ", vec!["AZ-104", "MS-900", "SC-200"]),
        ("nothing like it", vec![]),
        ("", vec!["AZ-104", "DP-100", "MS-900", "SC-200"]),
    ] {
        let path = format!("/courses?q={}", q.replace(' ', "+"));
        let found = linked_cells(&coordinator.get(&path).await.body, "/courses/");
        assert_eq!(found, expected, "q={q:?}");
        // Viewers read the same list, without edit links.
        let page = viewer.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        for code in ["AZ-104", "DP-100", "MS-900", "SC-200"] {
            assert_eq!(
                page.body.contains(&format!("<td>{code}")),
                expected.contains(&code),
                "viewer, q={q:?}, {code}"
            );
        }
    }
}
db_test!(course_search_is_case_insensitive_on_code_and_title);

// ---------------------------------------------------------------- trainers

fn trainer_form<'a>(
    name: &'a str,
    email: &'a str,
    mct_id: &'a str,
    valid_until: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("email", email),
        ("mct_id", mct_id),
        ("mct_valid_until", valid_until),
        ("affiliated", "true"),
    ]
}

async fn trainers_are_created_and_edited_through_the_form(app: TestApp) {
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let bad = coordinator
        .post(
            "/trainers",
            &trainer_form("", "not-an-email", "MCT 1", "31/12/2027"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["name", "email", "mct_id", "mct_valid_until"] {
        bad.assert_contains(&format!(r#"id="{field}-error""#));
    }
    assert_eq!(trainers::Entity::find().count(app.db()).await.unwrap(), 0);

    let created = coordinator
        .post(
            "/trainers",
            &trainer_form(
                "Zoë O'Brien",
                "Zoe.OBrien@Example.com",
                "mct-0042",
                "2027-06-30",
            ),
        )
        .await;
    let id = id_from_location(&created);
    follow(&mut coordinator, &created)
        .await
        .assert_contains("(MCT MCT-0042) added.");
    let stored = stored_trainer(&app, id).await;
    assert_eq!(stored.name, "Zoë O'Brien");
    assert_eq!(stored.email, "zoe.obrien@example.com");
    assert_eq!(stored.mct_id, "MCT-0042");
    assert_eq!(stored.mct_valid_until, fixtures::date("2027-06-30"));
    assert!(stored.affiliated);
    coordinator
        .get("/trainers")
        .await
        .assert_contains("Zoë O&#39;Brien")
        .assert_contains("zoe.obrien@example.com");

    // Edit: a later standing date, and "affiliated" unticked (the browser sends nothing).
    let mut fields = trainer_form(
        "Zoë O'Brien",
        "zoe.obrien@example.com",
        "MCT-0042",
        "2028-06-30",
    );
    fields.retain(|(k, _)| *k != "affiliated");
    let edited = coordinator.post(&format!("/trainers/{id}"), &fields).await;
    follow(&mut coordinator, &edited)
        .await
        .assert_contains("saved.");
    let stored = stored_trainer(&app, id).await;
    assert_eq!(stored.mct_valid_until, fixtures::date("2028-06-30"));
    assert!(!stored.affiliated);
    let entries = ledger_of(&app, "trainer", id).await;
    assert_eq!(
        entries
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        ["create", "update"]
    );
    assert_eq!(
        changes(&entries[1]),
        json!({
            "mct_valid_until": {"before": "2027-06-30", "after": "2028-06-30"},
            "affiliated": {"before": true, "after": false},
        })
    );
}
db_test!(trainers_are_created_and_edited_through_the_form);

async fn trainer_email_and_mct_id_are_unique(app: TestApp) {
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let ana = fixtures::trainer(&app, "Ana Alves", "MCT-1", fixtures::today_plus(365), None).await;

    let same_email = coordinator
        .post(
            "/trainers",
            &trainer_form("Other", "MCT-1@MCT.example.com", "MCT-2", "2027-01-01"),
        )
        .await;
    assert_eq!(same_email.status, StatusCode::UNPROCESSABLE_ENTITY);
    same_email
        .assert_contains(r#"id="email-error""#)
        .assert_contains("is already used by MCT MCT-1 (Ana Alves)");
    assert!(!same_email.body.contains(r#"id="mct_id-error""#));

    let same_id = coordinator
        .post(
            "/trainers",
            &trainer_form("Other", "other@example.com", "mct-1", "2027-01-01"),
        )
        .await;
    assert_eq!(same_id.status, StatusCode::UNPROCESSABLE_ENTITY);
    same_id
        .assert_contains(r#"id="mct_id-error""#)
        .assert_contains("MCT-1 is already Ana Alves");
    assert!(!same_id.body.contains(r#"id="email-error""#));
    assert_eq!(trainers::Entity::find().count(app.db()).await.unwrap(), 1);

    // Editing another MCT onto Ana's MCT ID is refused as well.
    let bruno = fixtures::trainer(
        &app,
        "Bruno Barros",
        "MCT-2",
        fixtures::today_plus(365),
        None,
    )
    .await;
    let onto = coordinator
        .post(
            &format!("/trainers/{}", bruno.id),
            &trainer_form(
                "Bruno Barros",
                "mct-2@mct.example.com",
                "MCT-1",
                "2027-01-01",
            ),
        )
        .await;
    assert_eq!(onto.status, StatusCode::UNPROCESSABLE_ENTITY);
    onto.assert_contains(r#"id="mct_id-error""#);
    assert_eq!(stored_trainer(&app, bruno.id).await.mct_id, "MCT-2");
    assert_eq!(stored_trainer(&app, ana.id).await.mct_id, "MCT-1");
}
db_test!(trainer_email_and_mct_id_are_unique);

async fn only_a_trainer_account_can_be_linked_to_an_mct(app: TestApp) {
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let trainer_user = app.create_user(Role::Trainer, "ana@example.com").await;
    let coordinator_user = app.create_user(Role::Coordinator, "cora@example.com").await;

    // The picker offers trainer accounts only.
    let form = coordinator.get("/trainers/new").await;
    form.assert_contains(&format!(r#"<option value="{trainer_user}""#));
    assert!(
        !form
            .body
            .contains(&format!(r#"<option value="{coordinator_user}""#))
    );

    let coordinator_id = coordinator_user.to_string();
    let mut fields = trainer_form("Ana Alves", "ana.alves@example.com", "MCT-1", "2027-01-01");
    fields.push(("user_id", &coordinator_id));
    let refused = coordinator.post("/trainers", &fields).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused
        .assert_contains(r#"id="user_id-error""#)
        .assert_contains("cora@example.com has role coordinator, not trainer");
    assert_eq!(trainers::Entity::find().count(app.db()).await.unwrap(), 0);

    let trainer_id = trainer_user.to_string();
    fields.pop();
    fields.push(("user_id", &trainer_id));
    let linked = coordinator.post("/trainers", &fields).await;
    let id = id_from_location(&linked);
    assert_eq!(stored_trainer(&app, id).await.user_id, Some(trainer_user));
    // The edit form shows the link selected.
    coordinator
        .get(&format!("/trainers/{id}"))
        .await
        .assert_contains(&format!(r#"<option value="{trainer_user}" selected>"#));

    // One account, one MCT.
    let mut second = trainer_form("Ana Again", "ana2@example.com", "MCT-2", "2027-01-01");
    second.push(("user_id", &trainer_id));
    let twice = coordinator.post("/trainers", &second).await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    twice.assert_contains("is already linked to MCT MCT-1");
}
db_test!(only_a_trainer_account_can_be_linked_to_an_mct);

/// The HTML of the `<section>` whose heading has `id`, or `None` if it is not shown.
fn section<'a>(body: &'a str, heading_id: &str) -> Option<&'a str> {
    let start = body.find(&format!(r#"id="{heading_id}""#))?;
    let rest = &body[start..];
    Some(&rest[..rest.find("</section>").unwrap()])
}

async fn trainers_page_sorts_ending_and_lapsed_standings_into_their_sections(app: TestApp) {
    fixtures::trainer(&app, "Soon Sam", "MCT-1", fixtures::today_plus(30), None).await;
    fixtures::trainer(&app, "Lapsed Lee", "MCT-2", fixtures::today_plus(-1), None).await;
    fixtures::trainer(&app, "Good Gail", "MCT-3", fixtures::today_plus(200), None).await;
    fixtures::trainer(&app, "Edge Eve", "MCT-4", fixtures::today_plus(90), None).await;
    fixtures::trainer(&app, "Today Tom", "MCT-5", fixtures::today_plus(0), None).await;

    let mut viewer = app.client_as(Role::Viewer).await;
    let page = viewer.get("/trainers").await;
    assert_eq!(page.status, StatusCode::OK);
    let ending = section(&page.body, "ending-h").expect("an 'ends within' section");
    assert!(ending.contains("ends within 90 days"), "{ending}");
    let lapsed = section(&page.body, "lapsed-h").expect("a 'Lapsed' section");
    assert!(lapsed.contains(">Lapsed "), "{lapsed}");
    let all = section(&page.body, "all-h").unwrap();
    for (name, in_ending, in_lapsed) in [
        ("Soon Sam", true, false),
        ("Lapsed Lee", false, true),
        ("Good Gail", false, false),
        ("Edge Eve", true, false),
        ("Today Tom", true, false),
    ] {
        assert_eq!(ending.contains(name), in_ending, "{name} in 'ends within'");
        assert_eq!(lapsed.contains(name), in_lapsed, "{name} in 'Lapsed'");
        assert!(all.contains(name), "{name} in 'All MCTs'");
    }
    assert!(ending.contains("Ends in 30 days") && ending.contains("Ends today"));

    // With nobody lapsed or ending soon, neither section is shown.
    trainers::Entity::delete_many()
        .filter(trainers::Column::Name.ne("Good Gail"))
        .exec(app.db())
        .await
        .unwrap();
    let page = viewer.get("/trainers").await;
    assert!(section(&page.body, "ending-h").is_none());
    assert!(section(&page.body, "lapsed-h").is_none());
    page.assert_contains("Good Gail");
}
db_test!(trainers_page_sorts_ending_and_lapsed_standings_into_their_sections);

/// Issue 14 item 1: a closed vocabulary refuses any other value in the database itself,
/// on both backends (a CHECK constraint on PostgreSQL, triggers on SQLite): every listed
/// column has its guard, a bad value written past the app fails loudly, and the lists
/// are the domain's own ids.
async fn vocabulary_columns_refuse_values_outside_their_list(app: TestApp) {
    use migration::m20261217_000001_vocabulary_checks::VOCABULARIES;
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    use tsp_ledger::domain::catalog::{Content, SolutionArea};
    use tsp_ledger::domain::delivery::{ClassStatus, Modality};
    use tsp_ledger::domain::recording::{
        ConsentMethod, ConsentStatus, RecordingStatus, TakedownReason, TakedownStatus,
    };
    use tsp_ledger::domain::role::Role;

    let domain: Vec<(&str, Vec<&str>)> = vec![
        (
            "classes.modality",
            Modality::ALL.iter().map(|v| v.id()).collect(),
        ),
        (
            "classes.status",
            ClassStatus::ALL.iter().map(|v| v.id()).collect(),
        ),
        (
            "courses.content",
            Content::ALL.iter().map(|v| v.id()).collect(),
        ),
        (
            "courses.solution_area",
            SolutionArea::ALL.iter().map(|v| v.id()).collect(),
        ),
        (
            "recordings.status",
            RecordingStatus::ALL.iter().map(|v| v.id()).collect(),
        ),
        (
            "recording_consents.status",
            ConsentStatus::ALL.iter().map(|v| v.id()).collect(),
        ),
        (
            "recording_consents.method",
            ConsentMethod::ALL.iter().map(|v| v.id()).collect(),
        ),
        (
            "takedowns.reason",
            TakedownReason::ALL.iter().map(|v| v.id()).collect(),
        ),
        (
            "takedowns.status",
            TakedownStatus::ALL.iter().map(|v| v.id()).collect(),
        ),
        ("users.role", Role::ALL.iter().map(|v| v.id()).collect()),
    ];
    // The outbox's kinds were widened by a later migration (issue 16).
    assert_eq!(
        migration::m20261222_000001_notices_and_calendars::OUTBOX_KINDS,
        tsp_ledger::domain::outbox::MessageKind::ALL
            .iter()
            .map(|v| v.id())
            .collect::<Vec<_>>(),
        "outbox_messages.kind: the database's list is the domain's"
    );
    for (column, values) in &domain {
        let (_, _, listed) = VOCABULARIES
            .iter()
            .find(|(t, c, _)| format!("{t}.{c}") == *column)
            .unwrap_or_else(|| panic!("{column} has no database guard"));
        assert_eq!(
            listed, values,
            "{column}: the database's list is the domain's"
        );
    }

    let db = app.db();
    let backend = db.get_database_backend();
    for (table, column, _) in VOCABULARIES {
        let sql = match backend {
            DbBackend::Postgres => format!(
                // This test's schema only: other tests run beside it in their own.
                "SELECT COUNT(*) AS n FROM pg_constraint c \
                 JOIN pg_namespace s ON s.oid = c.connamespace \
                 WHERE c.conname = '{table}_{column}_vocabulary' AND s.nspname = current_schema()"
            ),
            _ => format!(
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'trigger' \
                 AND name LIKE '{table}_{column}_vocabulary_%'"
            ),
        };
        let row = db
            .query_one_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
            .unwrap();
        let n: i64 = row.try_get("", "n").unwrap();
        assert_eq!(
            n,
            if backend == DbBackend::Postgres { 1 } else { 2 },
            "{table}.{column}"
        );
    }

    // Written past the app, a bad value is refused, and the row keeps its value.
    let admin = app.create_user(Role::Admin, "ada@example.com").await;
    fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    for (sql, table_column) in [
        (
            format!("UPDATE users SET role = 'owner' WHERE id = {admin}"),
            "users.role",
        ),
        (
            "UPDATE courses SET content = 'free'".to_string(),
            "courses.content",
        ),
        (
            "UPDATE courses SET solution_area = 'azure'".to_string(),
            "courses.solution_area",
        ),
    ] {
        let error = db
            .execute_unprepared(&sql)
            .await
            .expect_err(table_column)
            .to_string();
        assert!(
            error.contains("vocabulary") || error.contains("CHECK constraint failed"),
            "{table_column}: {error}"
        );
    }
    let course = tsp_ledger::services::courses::by_code(db, "AZ-104")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (course.content.id(), course.solution_area.map(|v| v.id())),
        ("official", Some("infrastructure"))
    );
    // No area at all stays allowed.
    db.execute_unprepared("UPDATE courses SET solution_area = NULL")
        .await
        .unwrap();
}
db_test!(vocabulary_columns_refuse_values_outside_their_list);
