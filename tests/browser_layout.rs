//! Back-office pages at any width (issue 16 item 9), in headless Chromium against the real
//! server: at 390 × 844 (a phone) no page scrolls sideways — the bar's parts stack and
//! the navigation wraps, wide tables scroll inside their container, forms take one
//! column — and at 1400 px the administrator's navigation is one line with room for
//! one more entry.
//! Screenshots go to `<target dir>/test-artifacts/browser/layout/`.
//!
//! Without Chromium or chromedriver the test prints why and is skipped, except under
//! `CI`, where that is a failure.
use fantoccini::{Client, Locator};
use tsp_ledger::AppState;
use tsp_ledger::domain::role::Role;
use tsp_ledger::ledger::Actor;
use tsp_ledger::services::imports::Kind;

use crate::browser::{ChromeDriver, artifacts_dir};
use crate::fixtures;
use crate::imports::{catalog, class_in};
use crate::support::{PASSWORD, TestApp};

/// A 96 × 32 PNG (a checkerboard in the app's blue and yellow): a logo of the usual shape.
const LOGO_HEX: &str = "89504e470d0a1a0a0000000d4948445200000060000000200806000000edc07d540000006d4944415478daedd9a10d00200c45c17a066309566406462b1bd4209a9013c86fdea986186b67f5f2ccf2d9bfed4340000004040040400000046c0010a8770f00000001010010100000013b000472090310100000010100101080ff00815cc200040400404000000404f0fdfe02c1d58bc3c69a04a20000000049454e44ae426082";

/// The page's width against the window's, and what sticks out past the window's right
/// edge: outside any element that scrolls sideways itself, or positioned out of one.
const OVERFLOW_SCRIPT: &str = r#"
const width = window.innerWidth;
const scrolls = (el) => {
  for (let p = el.parentElement; p; p = p.parentElement) {
    const x = getComputedStyle(p).overflowX;
    if ((x === 'auto' || x === 'scroll') && p !== document.documentElement && p !== document.body) return true;
  }
  return false;
};
const out = [];
for (const el of document.querySelectorAll('body *')) {
  const r = el.getBoundingClientRect();
  const positioned = ['absolute', 'fixed'].includes(getComputedStyle(el).position);
  if (r.width > 0 && r.right > width + 0.5 && (positioned || !scrolls(el))) {
    out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '') + ' right=' + Math.round(r.right));
  }
}
return JSON.stringify({scrollWidth: document.documentElement.scrollWidth, innerWidth: width, culprits: out.slice(0, 12)});
"#;

async fn open(client: &Client, base: &str, path: &str) {
    client
        .goto(&format!("{base}{path}"))
        .await
        .unwrap_or_else(|e| panic!("opening {path}: {e}"));
    client
        .wait()
        .for_element(Locator::Css("footer"))
        .await
        .unwrap_or_else(|e| panic!("{path} did not load: {e}"));
}

async fn run(client: &Client, script: &str) -> serde_json::Value {
    client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("running a measurement: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_office_pages_fit_a_phone_and_the_admin_menu_is_one_line_at_1400_px() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let app = TestApp::sqlite().await;
    // Records the pages show: a class with its roster, codes, history; a long name and a
    // logo in the bar.
    catalog(&app).await;
    let class = class_in(&app, "C-2026-0001", "delivered").await;
    fixtures::import(
        &app,
        Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-2026-0001,Zoë Ørsted-Longname,zoe.orsted.with.a.long.address@example-training-partner.com,true\nC-2026-0001,Liam Lee,liam@example.com,true\n",
    )
    .await
    .unwrap();
    let admin = app
        .create_user(Role::Admin, "ada.administrator@example.com")
        .await;
    tsp_ledger::services::settings::update(
        app.db(),
        &Actor::User(admin),
        &tsp_ledger::services::settings::OrgSettings {
            organization_name: "Contoso Learning Partners International".into(),
            anniversary: Some((8, 1)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tsp_ledger::services::settings::set_logo(
        app.db(),
        &Actor::User(admin),
        hex::decode(LOGO_HEX).unwrap(),
    )
    .await
    .unwrap();

    let listener = tsp_ledger::server::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let mut config = app.state.config.clone();
    config.server.bind = addr.to_string();
    config.server.public_url = base.clone();
    let state = AppState::new(config, app.db().clone(), app.state.secret);
    let server = tokio::spawn(tsp_ledger::server::serve(state, listener));

    let client = driver.session().await;
    let shots = artifacts_dir("layout");
    client.set_window_size(1400, 900).await.unwrap();
    open(&client, &base, "/login").await;
    client
        .find(Locator::Css("#email"))
        .await
        .unwrap()
        .send_keys("ada.administrator@example.com")
        .await
        .unwrap();
    client
        .find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    client
        .find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css(".who-name"))
        .await
        .expect("signed in");

    // 1400 px: every entry of the administrator's navigation on one line, the logo and
    // the name in the bar, and room for one more entry of the usual width.
    open(&client, &base, "/").await;
    let nav = run(
        &client,
        r#"
const items = [...document.querySelectorAll('.topbar nav li')];
const nav = document.querySelector('.topbar nav');
return JSON.stringify({
  tops: items.map(li => li.offsetTop),
  labels: items.map(li => li.textContent.trim()),
  used: items.reduce((sum, li) => sum + li.getBoundingClientRect().width, 0),
  width: nav.clientWidth,
  scrolls: nav.scrollWidth > nav.clientWidth,
  logo: document.querySelector('.topbar .brand-logo').naturalWidth,
  name: document.querySelector('.topbar .brand-name').textContent,
});
"#,
    )
    .await;
    let nav: serde_json::Value = serde_json::from_str(nav.as_str().unwrap()).unwrap();
    let tops = nav["tops"].as_array().unwrap();
    let labels: Vec<&str> = nav["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"Admin") && !labels.contains(&"Ledger"),
        "{labels:?}"
    );
    assert!(
        tops.iter().all(|t| *t == tops[0]),
        "the admin's navigation wraps at 1400 px: {nav}"
    );
    assert_eq!(nav["scrolls"], false, "{nav}");
    let used = nav["used"].as_f64().unwrap();
    let average = used / tops.len() as f64;
    assert!(
        used + average + 4.0 <= nav["width"].as_f64().unwrap(),
        "no room for one more entry: {nav}"
    );
    assert_eq!(nav["logo"], 96, "the logo is loaded: {nav}");
    assert_eq!(nav["name"], "Contoso Learning Partners International");
    std::fs::write(
        shots.join("admin-1400.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();

    // 390 × 844: nothing on any back-office page sticks out sideways.
    client.set_window_size(390, 844).await.unwrap();
    let pages = [
        ("dashboard", "/".to_string()),
        ("classes", "/classes".to_string()),
        ("class", format!("/classes/{}", class.id)),
        ("ledger", "/admin/ledger".to_string()),
        (
            "ledger-filtered",
            "/admin/ledger?who=cli&from=not-a-date".to_string(),
        ),
        ("settings", "/admin/settings".to_string()),
        ("admin", "/admin".to_string()),
        ("to-do", "/todo".to_string()),
        ("quality", "/quality".to_string()),
        ("learners", "/learners?q=a".to_string()),
    ];
    let mut failures = vec![];
    for (name, path) in &pages {
        open(&client, &base, path).await;
        let fit = run(&client, OVERFLOW_SCRIPT).await;
        let fit: serde_json::Value = serde_json::from_str(fit.as_str().unwrap()).unwrap();
        assert_eq!(fit["innerWidth"], 390, "the window is a phone's: {fit}");
        if fit["scrollWidth"].as_i64() > fit["innerWidth"].as_i64() {
            failures.push(format!("{path}: {fit}"));
        }
        std::fs::write(
            shots.join(format!("{name}-390.png")),
            client.screenshot().await.unwrap(),
        )
        .unwrap();
    }
    assert!(
        failures.is_empty(),
        "pages wider than a 390 px screen:\n{}",
        failures.join("\n")
    );
    // Every entry of the navigation is still shown, on lines of their own.
    let shown = run(
        &client,
        "return [...document.querySelectorAll('.topbar nav li')].filter(li => { const r = li.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth; }).length;",
    )
    .await;
    assert_eq!(shown.as_u64(), Some(tops.len() as u64));

    client.close().await.unwrap();
    server.abort();
}
