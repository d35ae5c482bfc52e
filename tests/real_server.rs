//! The real server on port 0 and a real HTTP client: the first-run journey end to end.
use tsp_ledger::server;

use crate::support::{PASSWORD, TestApp};

fn csrf_of(html: &str) -> String {
    let marker = r#"name="_csrf" value=""#;
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .unwrap()
}

async fn setup_link_admin_then_coordinator_over_real_http(app: TestApp) {
    let listener = server::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let setup_url = server::announce_setup_if_needed(&app.state)
        .await
        .unwrap()
        .expect("no users yet");
    let setup_path = setup_url
        .split_once("/setup/")
        .map(|(_, t)| format!("/setup/{t}"))
        .unwrap();
    let server = tokio::spawn(server::serve(app.state.clone(), listener));

    let admin = browser();
    let page = admin
        .get(format!("{base}{setup_path}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = admin
        .post(format!("{base}{setup_path}"))
        .form(&[
            ("_csrf", csrf_of(&page).as_str()),
            ("name", "Ada Admin"),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("password_confirmation", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.url().path().ends_with("/admin/users"));
    let page = response.text().await.unwrap();
    assert!(page.contains("ada@example.com"));

    let form = admin
        .get(format!("{base}/admin/users/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = admin
        .post(format!("{base}/admin/users"))
        .form(&[
            ("_csrf", csrf_of(&form).as_str()),
            ("name", "Carla Coordinator"),
            ("email", "carla@example.com"),
            ("role", "coordinator"),
            ("password", PASSWORD),
            ("password_confirmation", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("carla@example.com can now sign in as Coordinator")
    );

    let carla = browser();
    let login = carla.get(format!("{base}/login")).send().await.unwrap();
    assert!(login.headers().contains_key("x-request-id"));
    let login = login.text().await.unwrap();
    let response = carla
        .post(format!("{base}/login"))
        .form(&[
            ("_csrf", csrf_of(&login).as_str()),
            ("email", "carla@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let home = response.text().await.unwrap();
    assert!(
        home.contains("Carla Coordinator") && home.contains("Dashboard"),
        "{home}"
    );
    assert_eq!(
        carla
            .get(format!("{base}/admin/users"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // The setup link is spent.
    assert_eq!(
        browser()
            .get(format!("{base}{setup_path}"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    server.abort();
}
db_test!(setup_link_admin_then_coordinator_over_real_http);
