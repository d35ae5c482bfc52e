//! Every route × every role (and anonymous) → the expected status.
use axum::http::StatusCode;
use tsp_ledger::domain::role::Role;

use crate::support::TestApp;

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
}

/// Expected status for anonymous, admin, coordinator, trainer, viewer.
struct Row {
    method: Method,
    path: &'static str,
    fields: &'static [(&'static str, &'static str)],
    expect: [u16; 5],
}

const SEE_OTHER: u16 = 303;

/// The rows, with `{other}` in paths replaced by another user's id.
fn matrix(other_user: i64) -> Vec<(Row, String)> {
    use Method::*;
    let rows = [
        Row {
            method: Get,
            path: "/",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 200, 200],
        },
        Row {
            method: Get,
            path: "/healthz",
            fields: &[],
            expect: [200; 5],
        },
        Row {
            method: Get,
            path: "/static/app.css",
            fields: &[],
            expect: [200; 5],
        },
        Row {
            method: Get,
            path: "/login",
            fields: &[],
            expect: [200, SEE_OTHER, SEE_OTHER, SEE_OTHER, SEE_OTHER],
        },
        Row {
            method: Post,
            path: "/login",
            fields: &[
                ("email", "nobody@example.com"),
                ("password", "wrong password!"),
            ],
            expect: [422; 5],
        },
        Row {
            method: Get,
            path: "/setup/0000",
            fields: &[],
            expect: [404; 5],
        },
        Row {
            method: Post,
            path: "/setup/0000",
            fields: &[],
            expect: [404; 5],
        },
        Row {
            method: Get,
            path: "/account",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 200, 200],
        },
        Row {
            method: Post,
            path: "/account/password",
            fields: &[("current_password", "not it at all")],
            expect: [SEE_OTHER, 422, 422, 422, 422],
        },
        Row {
            method: Get,
            path: "/admin/users",
            fields: &[],
            expect: [SEE_OTHER, 200, 403, 403, 403],
        },
        Row {
            method: Get,
            path: "/admin/users/new",
            fields: &[],
            expect: [SEE_OTHER, 200, 403, 403, 403],
        },
        Row {
            method: Post,
            path: "/admin/users",
            fields: &[],
            expect: [SEE_OTHER, 422, 403, 403, 403],
        },
        Row {
            method: Post,
            path: "/admin/users/{other}/role",
            fields: &[("role", "viewer")],
            expect: [SEE_OTHER, SEE_OTHER, 403, 403, 403],
        },
        Row {
            method: Post,
            path: "/admin/users/{other}/active",
            fields: &[("active", "true")],
            expect: [SEE_OTHER, SEE_OTHER, 403, 403, 403],
        },
        Row {
            method: Get,
            path: "/admin/ledger",
            fields: &[],
            expect: [SEE_OTHER, 200, 403, 403, 403],
        },
        Row {
            method: Get,
            path: "/admin/ledger?verify=1",
            fields: &[],
            expect: [SEE_OTHER, 200, 403, 403, 403],
        },
        Row {
            method: Post,
            path: "/logout",
            fields: &[],
            expect: [SEE_OTHER; 5],
        },
        Row {
            method: Get,
            path: "/no/such/page",
            fields: &[],
            expect: [404; 5],
        },
    ];
    rows.into_iter()
        .map(|r| {
            let path = r.path.replace("{other}", &other_user.to_string());
            (r, path)
        })
        .collect()
}

async fn every_route_admits_exactly_the_roles_spec_section_1_names(app: TestApp) {
    let other = app.create_user(Role::Viewer, "target@example.com").await;
    let roles: [Option<Role>; 5] = [
        None,
        Some(Role::Admin),
        Some(Role::Coordinator),
        Some(Role::Trainer),
        Some(Role::Viewer),
    ];
    let mut failures = vec![];
    for (
        Row {
            method,
            fields,
            expect,
            ..
        },
        path,
    ) in matrix(other)
    {
        for (role, expected) in roles.iter().zip(expect) {
            // A fresh client per cell: one cell signing out must not affect the next.
            let mut client = match role {
                Some(role) => app.client_as(*role).await,
                None => app.anonymous(),
            };
            let response = match method {
                Method::Get => client.get(&path).await,
                Method::Post => client.post(&path, fields).await,
            };
            if response.status != StatusCode::from_u16(expected).unwrap() {
                failures.push(format!(
                    "{} {path} as {}: expected {expected}, got {}",
                    match method {
                        Method::Get => "GET",
                        Method::Post => "POST",
                    },
                    role.map(|r| r.id()).unwrap_or("anonymous"),
                    response.status
                ));
            }
            if expected == SEE_OTHER
                && role.is_none()
                && path != "/login"
                && !path.starts_with("/logout")
            {
                let location = response.location().unwrap_or_default();
                assert!(
                    location.starts_with("/login"),
                    "{path}: anonymous goes to sign-in, got {location}"
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix mismatches:\n{}",
        failures.join("\n")
    );
}
db_test!(every_route_admits_exactly_the_roles_spec_section_1_names);

async fn forbidden_pages_are_styled_and_say_why(app: TestApp) {
    let mut viewer = app.client_as(Role::Viewer).await;
    let response = viewer.get("/admin/users").await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    response
        .assert_contains("Not allowed")
        .assert_contains("/static/app.css")
        .assert_contains("Sign out");
    let response = viewer.get("/nothing-here").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    response.assert_contains("Page not found");
}
db_test!(forbidden_pages_are_styled_and_say_why);
