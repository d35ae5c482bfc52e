//! The classes API SPEC §7 promises (issue 16 item 8): `GET /api/v1/classes` with the
//! class list's filters and keyset pages, `GET /api/v1/classes/{ref}` with roster counts,
//! both for tokens and sessions (a trainer sees their own classes only), and the OpenAPI
//! description at `/api/v1/openapi.json`, checked against the routes and real answers.
use axum::http::StatusCode;
use serde_json::Value;
use tsp_ledger::domain::role::Role;
use tsp_ledger::services::imports::Kind;

use crate::api_tokens::{bare, create_token, get_bearer};
use crate::fixtures;
use crate::support::{Client, TestApp};

async fn json(client: &mut Client<'_>, path: &str, secret: &str) -> (StatusCode, Value) {
    let response = get_bearer(client, path, &format!("Bearer {secret}")).await;
    let body = serde_json::from_str(&response.body)
        .unwrap_or_else(|e| panic!("{path} answered no JSON ({e}): {}", response.body));
    (response.status, body)
}

fn refs(page: &Value) -> Vec<String> {
    page["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["class_ref"].as_str().unwrap().to_string())
        .collect()
}

/// 55 classes of AZ-104 by MCT-1, `A-00`…`A-54`, every third one delivered.
async fn classes(app: &TestApp) {
    crate::imports::catalog(app).await;
    let mut csv =
        String::from("class_ref,course_code,mct_id,start_date,end_date,modality,status\n");
    for i in 0..55 {
        let status = if i % 3 == 0 { "delivered" } else { "scheduled" };
        csv.push_str(&format!(
            "A-{i:02},AZ-104,MCT-1,2026-03-{:02},2026-03-{:02},virtual,{status}\n",
            1 + i % 27,
            1 + i % 27
        ));
    }
    fixtures::import(app, Kind::Classes, &csv).await.unwrap();
}

async fn classes_are_read_with_the_list_filters_and_keyset_pages(app: TestApp) {
    classes(&app).await;
    let mut admin = app.client_as(Role::Admin).await;
    let secret = create_token(&mut admin, "reporting").await;
    let mut curl = bare(&app);

    let (status, first) = json(&mut curl, "/api/v1/classes", &secret).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(refs(&first).len(), 50);
    assert_eq!(
        (first["total"].as_u64(), first["total_capped"].as_bool()),
        (Some(55), Some(false))
    );
    let next = first["next"].as_str().expect("a second page").to_string();
    let (_, second) = json(&mut curl, &next, &secret).await;
    assert_eq!(refs(&second).len(), 5);
    assert!(second["next"].is_null());
    let mut all: Vec<String> = refs(&first).into_iter().chain(refs(&second)).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 55, "every class once over the two pages");

    let (_, delivered) = json(&mut curl, "/api/v1/classes?status=delivered", &secret).await;
    assert_eq!(delivered["total"].as_u64(), Some(19));
    assert!(
        delivered["classes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "delivered")
    );
    let (_, searched) = json(&mut curl, "/api/v1/classes?q=a-5", &secret).await;
    assert_eq!(
        refs(&searched).len(),
        5,
        "class-ref prefix A-5*: {searched}"
    );

    let (status, bad) = json(&mut curl, "/api/v1/classes?status=done", &secret).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .starts_with("status: must be one of"),
        "{bad}"
    );
    let (status, bad) = json(&mut curl, "/api/v1/classes?after=yesterday", &secret).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad["message"].as_str().unwrap().contains("after"), "{bad}");

    // One class with its roster's counts; the ref is matched as the list matches it.
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nA-00,Lea,lea@example.com,true\nA-00,Max,max@example.com,false\n",
    )
    .await
    .unwrap();
    let (status, one) = json(&mut curl, "/api/v1/classes/a-00", &secret).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["class_ref"], "A-00");
    assert_eq!(one["mct_id"], "MCT-1");
    assert_eq!(
        (one["learners"].as_u64(), one["attended"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        (
            one["codes_issued"].as_u64(),
            one["survey_responses"].as_u64()
        ),
        (Some(0), Some(0))
    );
    let (status, _) = json(&mut curl, "/api/v1/classes/NOPE-1", &secret).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
db_test!(classes_are_read_with_the_list_filters_and_keyset_pages);

async fn a_trainer_reads_only_their_own_classes(app: TestApp) {
    classes(&app).await;
    let user = app.create_user(Role::Trainer, "bo@example.com").await;
    fixtures::trainer(
        &app,
        "Bo Trainer",
        "MCT-2",
        fixtures::date("2030-12-31"),
        Some(user),
    )
    .await;
    fixtures::class(
        &app,
        (
            "B-1",
            "AZ-104",
            "MCT-2",
            "2026-03-02",
            "2026-03-05",
            "virtual",
            "delivered",
        ),
    )
    .await;
    let mut bo = app.client_for(user).await;
    let response = bo.get("/api/v1/classes").await;
    assert_eq!(response.status, StatusCode::OK);
    let page: Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(refs(&page), ["B-1"]);
    assert_eq!(bo.get("/api/v1/classes/B-1").await.status, StatusCode::OK);
    // Another MCT's class is not found, as if it did not exist.
    assert_eq!(
        bo.get("/api/v1/classes/A-00").await.status,
        StatusCode::NOT_FOUND
    );
    // A viewer reads every class.
    let mut viewer = app.client_as(Role::Viewer).await;
    let page: Value = serde_json::from_str(&viewer.get("/api/v1/classes").await.body).unwrap();
    assert_eq!(page["total"].as_u64(), Some(56));
}
db_test!(a_trainer_reads_only_their_own_classes);

/// The description names exactly the API's routes, and every answer of theirs (a KPI
/// report, a class page, a class) has the shape it documents, field by field.
async fn the_openapi_description_matches_the_routes_and_their_answers(app: TestApp) {
    classes(&app).await;
    let mut anonymous = bare(&app);
    let response = anonymous.get("/api/v1/openapi.json").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.headers["content-type"], "application/json");
    let doc: Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    documented.sort();
    let mut routed: Vec<&str> = tsp_ledger::web::routes()
        .iter()
        .map(|r| r.path)
        .filter(|p| p.starts_with("/api/") || *p == "/schedule.json")
        .collect();
    routed.sort();
    assert_eq!(documented, routed);

    let mut admin = app.client_as(Role::Admin).await;
    let secret = create_token(&mut admin, "schema").await;
    let mut curl = bare(&app);
    for (path, documented_as) in [
        ("/api/v1/kpi?as_of=2026-11-22", "/api/v1/kpi"),
        ("/api/v1/forecast?as_of=2026-11-22", "/api/v1/forecast"),
        ("/api/v1/classes", "/api/v1/classes"),
        ("/api/v1/classes/A-01", "/api/v1/classes/{class_ref}"),
        ("/api/v1/classes?status=done", "/api/v1/classes"),
    ] {
        let (status, answer) = json(&mut curl, path, &secret).await;
        let operation = &doc["paths"][documented_as]["get"];
        let response = &operation["responses"][status.as_str()];
        assert!(
            response.is_object(),
            "{path}: status {status} is not documented"
        );
        let response = resolve(&doc, response);
        let schema = &response["content"]["application/json"]["schema"];
        let problems = check(&doc, schema, &answer, "$");
        assert!(
            problems.is_empty(),
            "{path} ({status}): {problems:#?}\n{answer}"
        );
    }
}
db_test!(the_openapi_description_matches_the_routes_and_their_answers);

/// `value` itself, or what its `$ref` names in `doc`.
pub(crate) fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("a local reference");
            doc.pointer(pointer)
                .unwrap_or_else(|| panic!("{reference} is not defined"))
        }
        None => value,
    }
}

/// What in `value` (at `at`) does not fit `schema`: the JSON Schema keywords the
/// description uses (`$ref`, `oneOf`, `type`, `enum`, `required`, `properties`,
/// `additionalProperties: false`, `items`). A keyword it does not know fails the test.
pub(crate) fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let schema = resolve(doc, schema);
    let known = [
        "$ref",
        "oneOf",
        "type",
        "enum",
        "required",
        "properties",
        "additionalProperties",
        "items",
        "description",
        "format",
    ];
    let mut problems: Vec<String> = schema
        .as_object()
        .expect("a schema is an object")
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(|k| format!("{at}: the check does not know the keyword {k}"))
        .collect();
    if let Some(branches) = schema["oneOf"].as_array() {
        let fitting = branches
            .iter()
            .filter(|b| check(doc, b, value, at).is_empty())
            .count();
        if fitting != 1 {
            problems.push(format!("{at}: fits {fitting} of the oneOf branches"));
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let is = |t: &str| match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("unknown type {other}"),
    };
    if !types.is_empty() && !types.iter().any(|t| is(t)) {
        problems.push(format!("{at}: {value} is not {types:?}"));
        return problems;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        problems.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(object) = value.as_object() {
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                problems.push(format!("{at}: {name} is missing"));
            }
        }
        let properties = schema["properties"].as_object();
        for (name, field) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(property) => {
                    problems.extend(check(doc, property, field, &format!("{at}.{name}")));
                }
                None if schema["additionalProperties"] == Value::Bool(false) => {
                    problems.push(format!("{at}: {name} is not documented"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            problems.extend(check(doc, items, item, &format!("{at}[{i}]")));
        }
    }
    problems
}
