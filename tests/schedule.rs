//! The public schedule feed (issue 17 item 6): `/schedule.json` and `/schedule.ics` list
//! the classes a coordinator opted in, not cancelled and not over, with public facts
//! only; the class form sets the language and the listing.
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use entity::classes;
use icalendar::{Calendar, Component, DatePerhapsTime, EventLike};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use tsp_ledger::domain::role::Role;
use tsp_ledger::services::imports::Kind;

use crate::classes::class_form;
use crate::fixtures::{self, today_plus};
use crate::support::TestApp;

/// AZ-104 (infrastructure), Ana Alves (MCT-1, `mct-1@mct.example.com`), and classes:
/// C-PUB (in 10 days, listed, German, in Leeds, with a learner), C-NOW (under way,
/// listed), C-PAST (ended 2 days ago, listed), C-OFF (cancelled, listed), C-HIDDEN (in 10
/// days, not listed).
async fn setup(app: &TestApp) {
    fixtures::course(app, "AZ-104", 4, "infrastructure").await;
    fixtures::trainer(app, "Ana Alves", "MCT-1", today_plus(900), None).await;
    let day = |n: i64| today_plus(n).to_string();
    for (r, from, to, status, listed) in [
        ("C-PUB", 10, 13, "scheduled", true),
        ("C-NOW", -1, 2, "delivered", true),
        ("C-PAST", -5, -2, "delivered", true),
        ("C-OFF", 20, 21, "cancelled", true),
        ("C-HIDDEN", 10, 13, "scheduled", false),
    ] {
        let class = fixtures::class(
            app,
            (
                r,
                "AZ-104",
                "MCT-1",
                &day(from),
                &day(to),
                "virtual",
                status,
            ),
        )
        .await;
        let mut active: classes::ActiveModel = class.into();
        active.published_schedule = Set(listed);
        if r == "C-PUB" {
            active.language = Set(Some("de-DE".into()));
            active.location = Set(Some("Leeds, Main St. 1".into()));
        }
        active.update(app.db()).await.unwrap();
    }
    fixtures::import(
        app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-PUB,Lea Learner,lea@learner.example,false\nC-NOW,Max Muster,max@learner.example,true\n",
    )
    .await
    .unwrap();
}

async fn stored(app: &TestApp, class_ref: &str) -> classes::Model {
    tsp_ledger::services::classes::by_ref(app.db(), class_ref)
        .await
        .unwrap()
        .unwrap()
}

/// Nothing about learners or the MCT, and no link into the app, in a public body.
fn assert_public_only(body: &str) {
    for private in [
        "Lea Learner",
        "lea@learner.example",
        "Max Muster",
        "max@learner.example",
        "Ana Alves",
        "mct-1@mct.example.com",
        "MCT-1",
        // no link at all, so none into the app
        "://",
    ] {
        assert!(!body.contains(private), "{private} in\n{body}");
    }
}

async fn the_public_schedule_lists_only_listed_current_classes_and_no_personal_data(app: TestApp) {
    setup(&app).await;
    let mut anyone = app.anonymous();
    let feed = anyone.get("/schedule.json").await;
    assert_eq!(feed.status, StatusCode::OK, "{}", feed.body);
    let header_of = |name: header::HeaderName| {
        feed.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert_eq!(header_of(header::CONTENT_TYPE), "application/json");
    assert_eq!(header_of(header::CACHE_CONTROL), "public, max-age=300");
    assert_eq!(header_of(header::ACCESS_CONTROL_ALLOW_ORIGIN), "*");
    let etag = header_of(header::ETAG);
    assert!(etag.starts_with("W/\""), "{etag}");
    assert_public_only(&feed.body);

    let doc: Value = serde_json::from_str(&feed.body).unwrap();
    assert!(doc["generated_at"].is_string(), "{doc}");
    let listed = doc["classes"].as_array().unwrap();
    let refs: Vec<&str> = listed
        .iter()
        .map(|c| c["class_ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["C-NOW", "C-PUB"], "listed, current, soonest first");
    let public = &listed[1];
    let mut keys: Vec<&str> = public
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "class_ref",
            "course_code",
            "course_title",
            "end_date",
            "language",
            "location",
            "modality",
            "modality_label",
            "solution_area",
            "solution_area_label",
            "start_date",
        ],
        "the public facts and nothing else"
    );
    assert_eq!(public["course_code"], "AZ-104");
    assert_eq!(public["course_title"], "Course AZ-104");
    assert_eq!(public["solution_area"], "infrastructure");
    assert_eq!(public["start_date"], today_plus(10).to_string());
    assert_eq!(public["end_date"], today_plus(13).to_string());
    assert_eq!(public["modality"], "virtual");
    assert_eq!(public["language"], "de-DE");
    assert_eq!(public["location"], "Leeds, Main St. 1");
    assert_eq!(listed[0]["language"], Value::Null);
    // The answer has the shape the OpenAPI description documents.
    let openapi = anyone.get("/api/v1/openapi.json").await;
    let openapi: Value = serde_json::from_str(&openapi.body).unwrap();
    let documented = crate::api::resolve(
        &openapi,
        &openapi["paths"]["/schedule.json"]["get"]["responses"]["200"],
    );
    let problems = crate::api::check(
        &openapi,
        &documented["content"]["application/json"]["schema"],
        &doc,
        "$",
    );
    assert!(problems.is_empty(), "{problems:#?}\n{doc}");

    // The same ETag answers 304 without a body; a change to the listing changes it.
    let again = anyone
        .send(
            Request::get("/schedule.json")
                .header(header::IF_NONE_MATCH, &etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    let mut now: classes::ActiveModel = stored(&app, "C-NOW").await.into();
    now.published_schedule = Set(false);
    now.update(app.db()).await.unwrap();
    let changed = anyone
        .send(
            Request::get("/schedule.json")
                .header(header::IF_NONE_MATCH, &etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_ne!(changed.headers[header::ETAG].to_str().unwrap(), etag);
    let doc: Value = serde_json::from_str(&changed.body).unwrap();
    assert_eq!(doc["classes"].as_array().unwrap().len(), 1, "{doc}");

    // The calendar: one all-day event per listed class, read by a real parser, with no
    // link into the app.
    let ics = anyone.get("/schedule.ics").await;
    assert_eq!(ics.status, StatusCode::OK);
    assert_eq!(
        ics.headers[header::CONTENT_TYPE],
        "text/calendar; charset=utf-8"
    );
    assert_eq!(ics.headers[header::CACHE_CONTROL], "public, max-age=300");
    assert!(ics.headers.contains_key(header::ETAG));
    assert_public_only(&ics.body);
    assert!(!ics.body.contains("URL:"), "{}", ics.body);
    let calendar = ics
        .body
        .parse::<Calendar>()
        .unwrap_or_else(|e| panic!("{e}\n{}", ics.body));
    let events: Vec<_> = calendar.events().collect();
    assert_eq!(events.len(), 1, "{}", ics.body);
    let event = events[0];
    assert_eq!(event.get_summary(), Some("AZ-104 Course AZ-104 (C-PUB)"));
    assert_eq!(
        event.get_start(),
        Some(DatePerhapsTime::Date(today_plus(10)))
    );
    assert_eq!(event.get_end(), Some(DatePerhapsTime::Date(today_plus(14))));
    assert_eq!(event.get_location(), Some("Leeds, Main St. 1"));
    assert_eq!(
        event.get_description(),
        Some("Live, virtual; language de-DE")
    );

    // Signed in or not, the same public answer, and no cookie on a cacheable response.
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let signed_in = coordinator.get("/schedule.json").await;
    assert_eq!(signed_in.status, StatusCode::OK);
    assert!(signed_in.set_cookies().is_empty());
    assert_eq!(
        serde_json::from_str::<Value>(&signed_in.body).unwrap()["classes"],
        doc["classes"]
    );
}
db_test!(the_public_schedule_lists_only_listed_current_classes_and_no_personal_data);

async fn the_class_form_saves_the_language_and_the_listing_and_refuses_a_bad_tag(app: TestApp) {
    setup(&app).await;
    let hidden = stored(&app, "C-HIDDEN").await;
    let path = format!("/classes/{}", hidden.id);
    let (start, end) = (today_plus(10).to_string(), today_plus(13).to_string());
    let mut coordinator = app.client_as(Role::Coordinator).await;
    let form = |language: &'static str, public: Option<&'static str>| {
        let mut fields = class_form("C-HIDDEN", "AZ-104", "MCT-1", "", "");
        fields.push(("language", language));
        if let Some(public) = public {
            fields.push(("public", public));
        }
        fields
    };

    let mut bad = form("english_UK", Some("true"));
    bad[3].1 = &start;
    bad[4].1 = &end;
    let refused = coordinator.post(&path, &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused
        .assert_contains("id=\"language-error\"")
        .assert_contains("must be a language tag such as en, de-DE or pt-BR");
    let unchanged = stored(&app, "C-HIDDEN").await;
    assert_eq!(unchanged, hidden, "a refused form changes nothing");

    let mut good = form("de-de", Some("true"));
    good[3].1 = &start;
    good[4].1 = &end;
    let saved = coordinator.post(&path, &good).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let class = stored(&app, "C-HIDDEN").await;
    assert_eq!(class.language.as_deref(), Some("de-DE"), "canonical case");
    assert!(class.published_schedule);
    let edit = coordinator.get(&format!("{path}/edit")).await;
    edit.assert_contains("value=\"de-DE\"")
        .assert_contains("List on the public schedule");
    assert!(
        edit.body
            .contains("id=\"public\" name=\"public\" type=\"checkbox\" value=\"true\" checked"),
        "{}",
        edit.body
    );
    coordinator
        .get(&path)
        .await
        .assert_contains("<dt>Language</dt><dd>de-DE</dd>")
        .assert_contains("<dt>Public schedule</dt><dd>Listed");
    let feed = app.anonymous().get("/schedule.json").await;
    assert!(feed.body.contains("C-HIDDEN"), "{}", feed.body);

    // Unticking the box takes the class off the schedule.
    let mut off = form("", None);
    off[3].1 = &start;
    off[4].1 = &end;
    let saved = coordinator.post(&path, &off).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let class = stored(&app, "C-HIDDEN").await;
    assert_eq!((class.language, class.published_schedule), (None, false));
    coordinator
        .get(&path)
        .await
        .assert_contains("<dt>Public schedule</dt><dd>Not listed</dd>");
    let feed = app.anonymous().get("/schedule.json").await;
    assert!(!feed.body.contains("C-HIDDEN"), "{}", feed.body);
    let entries = entity::ledger_entries::Entity::find()
        .filter(entity::ledger_entries::Column::EntityId.eq(hidden.id.to_string()))
        .all(app.db())
        .await
        .unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.changes.contains("published_schedule") && e.changes.contains("de-DE")),
        "the listing and the language are in the class's history"
    );
}
db_test!(the_class_form_saves_the_language_and_the_listing_and_refuses_a_bad_tag);

async fn a_classes_import_may_set_the_language_and_the_listing(app: TestApp) {
    setup(&app).await;
    let day = |n: i64| today_plus(n).to_string();
    let header = "class_ref,course_code,mct_id,start_date,end_date,modality,status,language,public";
    let row = |r: &str, language: &str, public: &str| {
        format!(
            "{r},AZ-104,MCT-1,{},{},virtual,scheduled,{language},{public}\n",
            day(30),
            day(31)
        )
    };
    // A bad tag or flag is a line error naming the column; nothing is written.
    let bad = format!(
        "{header}\n{}{}",
        row("C-NEW", "english", "true"),
        row("C-HIDDEN", "en", "yes")
    );
    let (errors, total, _) =
        crate::imports::invalid(fixtures::import(&app, Kind::Classes, &bad).await);
    assert_eq!(total, 2, "{errors:?}");
    assert!(
        errors[0].starts_with("line 2: language: must be a language tag"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with("line 3: public: must be true or false"),
        "{errors:?}"
    );
    assert!(
        tsp_ledger::services::classes::by_ref(app.db(), "C-NEW")
            .await
            .unwrap()
            .is_none()
    );

    let good = format!("{header}\n{}", row("C-NEW", "pt-br", "true"));
    fixtures::import(&app, Kind::Classes, &good).await.unwrap();
    let class = stored(&app, "C-NEW").await;
    assert_eq!(
        (class.language.as_deref(), class.published_schedule),
        (Some("pt-BR"), true)
    );
    // Blank cells, or a file without the columns, keep what is stored.
    let blank = format!("{header}\n{}", row("C-NEW", "", ""));
    let summary = fixtures::import(&app, Kind::Classes, &blank).await.unwrap();
    assert_eq!(summary.unchanged, 1, "{summary}");
    fixtures::class(
        &app,
        (
            "C-NEW",
            "AZ-104",
            "MCT-1",
            &day(30),
            &day(31),
            "virtual",
            "scheduled",
        ),
    )
    .await;
    let class = stored(&app, "C-NEW").await;
    assert_eq!(
        (class.language.as_deref(), class.published_schedule),
        (Some("pt-BR"), true)
    );
    let unlisted = format!("{header}\n{}", row("C-NEW", "", "false"));
    fixtures::import(&app, Kind::Classes, &unlisted)
        .await
        .unwrap();
    assert!(!stored(&app, "C-NEW").await.published_schedule);
}
db_test!(a_classes_import_may_set_the_language_and_the_listing);
