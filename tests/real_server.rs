//! The real server on port 0 and a real HTTP client: the first-run journey end to end.
use tsp_ledger::server;

use crate::support::{PASSWORD, TestApp};

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .unwrap()
}

/// Opens the page at `form_url` like a person would, then submits its form to
/// `action_url` with `fields` and the page's own CSRF token.
async fn submit(
    client: &reqwest::Client,
    form_url: &str,
    action_url: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = client.get(form_url).send().await.unwrap();
    assert!(page.headers().contains_key("x-request-id"));
    let html = page.text().await.unwrap();
    let marker = r#"name="_csrf" value=""#;
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    let token = &html[start..start + html[start..].find('"').unwrap()];
    let mut all = vec![("_csrf", token)];
    all.extend_from_slice(fields);
    client.post(action_url).form(&all).send().await.unwrap()
}

async fn setup_link_admin_then_coordinator_over_real_http(app: TestApp) {
    let listener = server::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let setup_url = server::announce_setup_if_needed(&app.state)
        .await
        .unwrap()
        .expect("no users yet");
    let setup = format!("{base}/setup/{}", setup_url.rsplit('/').next().unwrap());
    let server = tokio::spawn(server::serve(app.state.clone(), listener));

    let admin = browser();
    let fields = [
        ("name", "Ada Admin"),
        ("email", "ada@example.com"),
        ("password", PASSWORD),
        ("password_confirmation", PASSWORD),
    ];
    let response = submit(&admin, &setup, &setup, &fields).await;
    assert_eq!(response.status(), 200);
    assert!(response.url().path().ends_with("/admin/users"));
    assert!(response.text().await.unwrap().contains("ada@example.com"));

    let fields = [
        ("name", "Carla Coordinator"),
        ("email", "carla@example.com"),
        ("role", "coordinator"),
        ("password", PASSWORD),
        ("password_confirmation", PASSWORD),
    ];
    let response = submit(
        &admin,
        &format!("{base}/admin/users/new"),
        &format!("{base}/admin/users"),
        &fields,
    )
    .await;
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("carla@example.com can now sign in as Coordinator")
    );

    let carla = browser();
    let fields = [("email", "carla@example.com"), ("password", PASSWORD)];
    let response = submit(
        &carla,
        &format!("{base}/login"),
        &format!("{base}/login"),
        &fields,
    )
    .await;
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
    assert_eq!(browser().get(&setup).send().await.unwrap().status(), 404);
    server.abort();
}
db_test!(setup_link_admin_then_coordinator_over_real_http);

async fn shutdown_stops_accepting_and_returns_cleanly(app: TestApp) {
    let listener = server::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve_until(app.state.clone(), listener, async {
        let _ = stopped.await;
    }));
    let health = browser()
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        health.text().await.unwrap(),
        r#"{"status":"ok","database":"ok"}"#
    );
    stop.send(()).unwrap();
    let result = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    assert!(
        result
            .expect("the server stops within 10 s")
            .unwrap()
            .is_ok()
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}
db_test!(shutdown_stops_accepting_and_returns_cleanly);
