//! Browser journeys (issue 7 item 1): headless Chromium driven over WebDriver (Debian's
//! `chromium` + `chromium-driver`, through `fantoccini`) against the real server on a free
//! port, with e-mail sent by the outbox worker through a real SMTP server (aiosmtpd).
//! Screenshots of the main steps are saved under
//! `<target dir>/test-artifacts/browser/<backend>/`.
//!
//! Without Chromium or chromedriver (or aiosmtpd) the journey prints why and is skipped,
//! except under `CI`, where that is a failure.
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use sea_orm::EntityTrait;
use tsp_ledger::AppState;
use tsp_ledger::config::MailConfig;

use crate::fixtures;
use crate::smtp::{self, SmtpServer};
use crate::support::{Backend, PASSWORD, TestApp};

/// How long a page, an element or an e-mail may take before the test gives up. Only a
/// guard against hanging: nothing is asserted about time.
const PATIENCE: Duration = Duration::from_secs(60);

/// The first `name` on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// chromedriver on a free loopback port, in a process group of its own so that dropping
/// it ends chromedriver and every Chromium process it started.
pub struct ChromeDriver {
    child: Child,
    port: u16,
    chromium: PathBuf,
    /// A fresh Chromium profile, removed on drop.
    profile: tempfile::TempDir,
}

impl ChromeDriver {
    /// `None`, with the reason printed, when Chromium or chromedriver is not installed
    /// (`apt-get install chromium chromium-driver`) — except under CI, where that is a
    /// failure.
    pub async fn start() -> Option<ChromeDriver> {
        let chromium = ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .find_map(|name| on_path(name));
        let (Some(chromium), Some(driver)) = (chromium, on_path("chromedriver")) else {
            let reason =
                "Chromium and chromedriver are needed (apt-get install chromium chromium-driver)";
            if std::env::var_os("CI").is_some() {
                panic!("CI is set but there is no headless browser: {reason}");
            }
            eprintln!("skipping: no headless browser: {reason}");
            return None;
        };
        let port = smtp::free_port();
        let mut command = Command::new(driver);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().expect("starting chromedriver");
        let driver = ChromeDriver {
            child,
            port,
            chromium,
            profile: tempfile::tempdir().unwrap(),
        };
        let started = Instant::now();
        while started.elapsed() < PATIENCE {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(driver);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start listening on port {port}");
    }

    /// A new headless Chromium session.
    pub async fn session(&self) -> Client {
        let options = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,900",
                    "--lang=en-US",
                    format!("--user-data-dir={}", self.profile.path().display()),
                ],
                // The app needs no script: run the journey with JavaScript off.
                "prefs": { "profile.managed_default_content_settings.javascript": 2 },
            },
        });
        let serde_json::Value::Object(capabilities) = options else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a WebDriver session with headless Chromium")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and the browser processes it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `<target dir>/test-artifacts/browser/<name>`, emptied: the target dir is
/// `CARGO_TARGET_DIR` when set (relative to the workspace), else the workspace's `target`.
pub fn artifacts_dir(name: &str) -> PathBuf {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| workspace.join("target"), |d| workspace.join(d));
    let dir = target.join("test-artifacts").join("browser").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A browser on the app at `base`, with the few gestures a person makes.
struct Browser {
    client: Client,
    base: String,
    shots: PathBuf,
    taken: u32,
}

impl Browser {
    async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("opening {path}: {e}"));
    }

    async fn open_url(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("no element {css} on {}: {e}", self.path().await),
        }
    }

    async fn exists(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap()
            .is_empty()
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css).await.attr(name).await.unwrap()
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Types a date into an `<input type="date">` as a person would (en-US: month, day,
    /// year), then checks what the browser will submit.
    async fn fill_date(&self, css: &str, date: NaiveDate) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        let typed = format!("{:02}{:02}{:04}", date.month(), date.day(), date.year());
        field.send_keys(&typed).await.unwrap();
        let value = field.prop("value").await.unwrap().unwrap_or_default();
        assert_eq!(value, date.to_string(), "the date typed into {css}");
    }

    async fn choose(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("choosing {value} in {css}: {e}"));
    }

    async fn tick(&self, css: &str) {
        let field = self.find(css).await;
        if !field.is_selected().await.unwrap() {
            field.click().await.unwrap();
        }
    }

    /// Clicks `css` (a submit button or a link) and waits until the next page has
    /// replaced this one.
    async fn submit(&self, css: &str) {
        let old = self.find("html").await;
        self.find(css).await.click().await.unwrap();
        let started = Instant::now();
        while old.tag_name().await.is_ok() {
            assert!(
                started.elapsed() < PATIENCE,
                "clicking {css} on {} led nowhere",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.find("body").await;
    }

    /// The page heading.
    async fn heading(&self) -> String {
        self.text("h1").await
    }

    /// The flash message at the top of the page.
    async fn flash(&self) -> String {
        self.text(".flash").await
    }

    async fn shot(&mut self, name: &str) {
        self.taken += 1;
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let file = self.shots.join(format!("{:02}-{name}.png", self.taken));
        std::fs::write(&file, png).unwrap();
    }

    async fn sign_in(&self, email: &str) {
        self.open("/login").await;
        self.fill("#email", email).await;
        self.fill("#password", PASSWORD).await;
        self.submit("form[action='/login'] button[type=submit]")
            .await;
    }

    async fn sign_out(&self) {
        self.submit("form[action='/logout'] button").await;
        assert_eq!(self.path().await, "/login", "signed out");
    }

    /// The app has no script: every page is plain HTML forms and links.
    async fn assert_no_script(&self) {
        assert!(
            !self.exists("script").await,
            "{} carries a script",
            self.path().await
        );
    }
}

/// The one received message to `to` whose body contains `needle`, unfolded.
fn received(server: &SmtpServer, to: &str, needle: &str) -> String {
    let found: Vec<String> = server
        .messages()
        .iter()
        .map(|m| smtp::unfold_quoted_printable(m))
        .filter(|m| m.contains(&format!("To: {to}")) && m.contains(needle))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one message to {to} with {needle:?}: {found:#?}"
    );
    found.into_iter().next().unwrap()
}

/// The first link in `message` that starts with `prefix`.
fn link(message: &str, prefix: &str) -> String {
    let start = message
        .find(prefix)
        .unwrap_or_else(|| panic!("a link {prefix}… in {message}"));
    message[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '<' | '>'))
        .collect()
}

/// Sends every queued e-mail through the SMTP server; returns how many were sent.
async fn send_mail(state: &AppState) -> u64 {
    let report = state.mail_worker().unwrap().drain().await.unwrap();
    assert_eq!(report.failed, 0, "{report:?}");
    report.sent
}

async fn the_whole_delivery_journey_in_a_real_browser(app: TestApp) {
    let Some(mailbox) = SmtpServer::start(smtp::free_port()).await else {
        return;
    };
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let backend = match app.backend {
        Backend::Sqlite { .. } => "sqlite",
        Backend::Postgres { .. } | Backend::Shared => "postgres",
    };

    // The real server on a free port; links in e-mails point at it; mail goes out by SMTP.
    let listener = tsp_ledger::server::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let mut config = app.state.config.clone();
    config.server.bind = addr.to_string();
    config.server.public_url = base.clone();
    config.mail = MailConfig {
        transport: tsp_ledger::config::MailTransport::Smtp,
        smtp_host: "127.0.0.1".into(),
        smtp_port: mailbox.port,
        smtp_tls: tsp_ledger::config::SmtpTls::None,
        smtp_timeout_seconds: 10,
        retry_base_seconds: 0,
        ..config.mail
    };
    let state = AppState::new(config, app.db().clone(), app.state.secret);
    let setup_link = tsp_ledger::server::announce_setup_if_needed(&state)
        .await
        .unwrap()
        .expect("no users yet: a setup link");
    let server = tokio::spawn(tsp_ledger::server::serve(state.clone(), listener));

    let mut web = Browser {
        client: driver.session().await,
        base: base.clone(),
        shots: artifacts_dir(backend),
        taken: 0,
    };
    // The browser runs no script at all: everything below is plain forms and links.
    web.open_url("data:text/html,<title>off</title><script>document.title='on'</script>")
        .await;
    assert_eq!(
        web.client.title().await.unwrap(),
        "off",
        "JavaScript is off"
    );
    // The dashboard counts a response in its submission month: as of the first day of
    // next month, this month is in the window.
    let today = fixtures::today_plus(0);
    let as_of = today.with_day(1).unwrap() + chrono::Months::new(1);

    // 1. The administrator opens the one-time setup link.
    web.open_url(&setup_link).await;
    assert_eq!(web.heading().await, "Create the administrator");
    web.assert_no_script().await;
    web.fill("#name", "Ada Admin").await;
    web.fill("#email", "ada@example.com").await;
    web.fill("#password", PASSWORD).await;
    web.fill("#password_confirmation", PASSWORD).await;
    web.shot("setup").await;
    web.submit("button[type=submit].primary").await;
    assert_eq!(web.path().await, "/admin/users");
    assert!(web.text(".who-name").await.contains("Ada Admin"));

    // 2. She adds a coordinator and a trainer. A bad e-mail first: the error is shown
    // next to its field and tied to it; nothing is created.
    let add_user = async |web: &Browser, name: &str, email: &str, role: &str| {
        web.open("/admin/users/new").await;
        web.fill("#name", name).await;
        web.fill("#email", email).await;
        web.choose("#role", role).await;
        web.fill("#password", PASSWORD).await;
        web.fill("#password_confirmation", PASSWORD).await;
        web.submit("form[action='/admin/users'] button[type=submit]")
            .await;
    };
    add_user(
        &web,
        "Carla Coordinator",
        "carla.example.com",
        "coordinator",
    )
    .await;
    let error = web.find("#email + .field-error").await;
    assert_eq!(
        error.attr("id").await.unwrap().as_deref(),
        Some("email-error")
    );
    assert!(
        error
            .text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("e-mail"),
        "{}",
        error.text().await.unwrap()
    );
    assert_eq!(
        web.attr("#email", "aria-describedby").await.as_deref(),
        Some("email-error")
    );
    assert_eq!(
        web.attr("#email", "aria-invalid").await.as_deref(),
        Some("true")
    );
    assert_eq!(
        web.find("#email")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("carla.example.com"),
        "the form keeps what was typed"
    );
    assert!(
        !web.exists("#name-error").await,
        "only the bad field is marked"
    );
    web.shot("validation-error").await;
    assert_eq!(
        tsp_ledger::services::accounts::count(app.db())
            .await
            .unwrap(),
        1,
        "a failed form creates nothing"
    );
    add_user(
        &web,
        "Carla Coordinator",
        "carla@example.com",
        "coordinator",
    )
    .await;
    assert!(
        web.flash()
            .await
            .contains("carla@example.com can now sign in as Coordinator")
    );
    add_user(&web, "Tom Trainer", "tom@example.com", "trainer").await;
    assert!(web.flash().await.contains("tom@example.com"));
    web.shot("users").await;
    web.sign_out().await;

    // 3. The coordinator records a course, the MCT (linked to Tom's account), the code
    // pool, a class that took place last week, and its roster.
    web.sign_in("carla@example.com").await;
    assert!(web.text(".who-name").await.contains("Carla Coordinator"));
    web.open("/courses/new").await;
    web.fill("#course_code", "AZ-104").await;
    web.fill("#title", "Microsoft Azure Administrator").await;
    web.fill("#duration_days", "4").await;
    web.choose("#solution_area", "infrastructure").await;
    web.choose("#content", "official").await;
    web.fill("#courseware_version", "2026-09").await;
    web.submit("form[action='/courses'] button[type=submit]")
        .await;
    assert!(
        web.flash().await.contains("AZ-104"),
        "{}",
        web.flash().await
    );

    web.open("/trainers/new").await;
    web.fill("#name", "Tom Trainer").await;
    web.fill("#email", "tom@example.com").await;
    web.fill("#mct_id", "MCT-7").await;
    web.fill_date("#mct_valid_until", fixtures::today_plus(365))
        .await;
    web.tick("#affiliated").await;
    web.find("#user_id")
        .await
        .select_by_label("Tom Trainer (tom@example.com)")
        .await
        .unwrap();
    web.submit("form[action='/trainers'] button[type=submit]")
        .await;
    assert!(
        web.flash().await.contains("Tom Trainer"),
        "{}",
        web.flash().await
    );

    web.open("/imports").await;
    web.tick("#kind-code-pool").await;
    web.fill("#csv", "achievement_code\nAC-BROWSER-1\nAC-BROWSER-2\n")
        .await;
    web.submit("form[action^='/imports'] button[type=submit]")
        .await;
    assert!(!web.exists(".import-errors").await);

    let (start, end) = (fixtures::today_plus(-10), fixtures::today_plus(-8));
    web.open("/classes/new").await;
    web.fill("#class_ref", "C-BROWSER-1").await;
    web.choose("#course_code", "AZ-104").await;
    web.choose("#mct_id", "MCT-7").await;
    web.fill_date("#start_date", start).await;
    web.fill_date("#end_date", end).await;
    web.choose("#modality", "virtual").await;
    web.submit("form[action='/classes'] button[type=submit]")
        .await;
    assert!(web.heading().await.starts_with("C-BROWSER-1"));
    let class_path = web.path().await;
    assert!(class_path.starts_with("/classes/"), "{class_path}");
    for (name, email) in [
        ("Zoë Ørsted", "zoe@example.com"),
        ("Liam Lee", "liam@example.com"),
    ] {
        web.fill("#learner_name", name).await;
        web.fill("#learner_email", email).await;
        web.tick("#attended").await;
        web.submit("form[action$='/roster'] button[type=submit]")
            .await;
        assert!(web.text("#roster").await.contains(email));
    }
    assert!(web.text("#roster-h").await.contains("2 attended"));
    web.assert_no_script().await;
    web.shot("class-with-roster").await;

    // 4. Marked delivered: the MCT is asked by e-mail to confirm.
    web.submit("form[action$='/status'] input[value=delivered] ~ button")
        .await;
    assert!(web.text("h1 .status").await.contains("Delivered"));
    assert_eq!(send_mail(&state).await, 1);
    mailbox.wait_for(1).await;
    let request = received(&mailbox, "tom@example.com", &class_path);
    let confirm_link = link(&request, &format!("{base}/classes/"));
    web.shot("delivered").await;
    web.sign_out().await;

    // 5. The MCT follows the link, signs in on the way, and confirms.
    web.open_url(&confirm_link).await;
    assert_eq!(web.path().await.split('?').next(), Some("/login"));
    web.fill("#email", "tom@example.com").await;
    web.fill("#password", PASSWORD).await;
    web.submit("form[action='/login'] button[type=submit]")
        .await;
    assert_eq!(
        web.path().await,
        class_path,
        "back on the class after sign-in"
    );
    web.shot("mct-confirms").await;
    // Their home lists the delivery waiting for them, linked to the class.
    web.open("/").await;
    assert_eq!(web.heading().await, "Welcome, Tom Trainer");
    assert!(
        web.text("section[aria-labelledby=confirm-h]")
            .await
            .contains("C-BROWSER-1")
    );
    web.shot("mct-home").await;
    web.submit("section[aria-labelledby=confirm-h] li a").await;
    assert_eq!(web.path().await, class_path);
    web.submit("form[action$='/confirm'] button[type=submit]")
        .await;
    assert!(web.text("h1 .status").await.contains("Confirmed"));
    // Confirmed: nothing waits any more; they make their calendar address.
    web.open("/").await;
    assert!(
        web.text("section[aria-labelledby=confirm-h]")
            .await
            .contains("Nothing waits for your confirmation")
    );
    web.submit("form[action='/calendar/feed'] button[type=submit]")
        .await;
    let feed = web
        .find("#feed-url")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        feed.starts_with(&format!("{base}/calendar/")) && feed.ends_with(".ics"),
        "{feed}"
    );
    web.shot("mct-calendar-address").await;
    // A trainer sees only their own classes: another MCT's class is a 404 page.
    fixtures::trainer(&app, "Una Other", "MCT-8", fixtures::today_plus(365), None).await;
    let other = fixtures::class(
        &app,
        (
            "C-OTHER-1",
            "AZ-104",
            "MCT-8",
            &start.to_string(),
            &end.to_string(),
            "virtual",
            "scheduled",
        ),
    )
    .await;
    web.open("/classes").await;
    let mine = web.text("main").await;
    assert!(
        mine.contains("C-BROWSER-1") && !mine.contains("C-OTHER-1"),
        "{mine}"
    );
    web.open(&format!("/classes/{}", other.id)).await;
    assert_eq!(web.text(".status-code").await, "404");
    assert!(!web.text("main").await.contains("C-OTHER-1"));
    web.shot("other-trainers-class-404").await;
    web.sign_out().await;

    // 6. The coordinator issues the codes and sends the surveys; both go out by e-mail.
    web.sign_in("carla@example.com").await;
    web.open(&class_path).await;
    web.submit("form[action$='/codes/issue'] button[type=submit]")
        .await;
    assert!(web.text("#codes").await.contains("AC-BROWSER-"));
    web.submit("form[action$='/surveys/send'] button[type=submit]")
        .await;
    assert_eq!(web.text("#survey-invitations").await, "2");
    web.shot("codes-and-surveys").await;
    // A learner's name on the roster leads to their page: the class, attended, the code.
    web.submit("#roster a[href^='/learners/']").await;
    let learner = web.text("main").await;
    assert!(
        learner.contains("C-BROWSER-1") && learner.contains("AC-BROWSER-"),
        "{learner}"
    );
    web.shot("learner").await;
    web.open(&class_path).await;
    web.open(&format!("/?as_of={as_of}")).await;
    assert_eq!(
        web.text("section[aria-labelledby=base-h] .card:nth-child(3) .criterion-value strong")
            .await,
        "—",
        "no survey score before the learner answers"
    );
    assert_eq!(send_mail(&state).await, 4, "two codes, two invitations");
    assert!(mailbox.wait_for(5).await.len() >= 5);
    let invitation = received(&mailbox, "zoe@example.com", "/survey/");
    let survey_link = link(&invitation, &format!("{base}/survey/"));
    web.sign_out().await;

    // 7. The learner opens her link from the e-mail and answers.
    web.open_url(&survey_link).await;
    assert_eq!(web.heading().await, "How was your course?");
    web.assert_no_script().await;
    for (question, answer) in [("q1", 5), ("q2", 4), ("q3", 5), ("q4", 4), ("q5", 5)] {
        web.find(&format!("label[for='{question}-{answer}']"))
            .await
            .click()
            .await
            .unwrap();
    }
    web.fill("#comment", "Clear labs, good pace.").await;
    web.shot("learner-survey").await;
    web.submit("form.survey-form button[type=submit]").await;
    assert_eq!(web.heading().await, "Thank you!");
    web.shot("survey-thanks").await;

    // 8. The dashboard shows the new score.
    let response = entity::survey_responses::Entity::find()
        .one(app.db())
        .await
        .unwrap()
        .expect("the response is stored");
    assert_eq!(
        (
            response.q1,
            response.q2,
            response.q3,
            response.q4,
            response.q5
        ),
        (Some(5), Some(4), Some(5), Some(4), Some(5))
    );
    assert!(response.submitted_on < as_of);
    web.sign_in("carla@example.com").await;
    assert_eq!(web.path().await, "/");
    web.fill_date("#as_of", as_of).await;
    web.submit("form.asof button[type=submit]").await;
    assert_eq!(web.path().await, format!("/?as_of={as_of}"));
    let score = web
        .find("section[aria-labelledby=base-h] .card:nth-child(3) .criterion")
        .await;
    let label = score
        .find(Locator::Css(".criterion-label"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(label, "Average response score");
    let value = score
        .find(Locator::Css(".criterion-value strong"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(value, "4.60", "(5 + 4 + 5 + 4 + 5) / 5");
    assert!(
        score
            .text()
            .await
            .unwrap()
            .contains("5 answers in 1 surveys"),
        "{}",
        score.text().await.unwrap()
    );
    web.shot("dashboard").await;
    // The To do card leads to the list: Una's class has ended and is still scheduled.
    web.submit("section[aria-labelledby=todo-h] a[href='/todo']")
        .await;
    assert_eq!(web.heading().await, "To do");
    let past = web.text("section[aria-labelledby=past-h]").await;
    assert!(
        past.contains("C-OTHER-1") && !past.contains("C-BROWSER-1"),
        "{past}"
    );
    web.shot("to-do").await;
    // The quality report names the MCT with the learner's average.
    web.open("/quality").await;
    let quality = web.text("main").await;
    assert!(
        quality.contains("Tom Trainer") && quality.contains("4.60"),
        "{quality}"
    );
    web.shot("quality").await;
    web.open("/todo").await;
    web.submit("section[aria-labelledby=past-h] td a").await;
    assert_eq!(web.path().await, format!("/classes/{}", other.id));
    web.open(&class_path).await;
    assert_eq!(web.text("#survey-responses").await, "1");
    assert_eq!(web.text("#survey-q2 .survey-average").await, "4.00");

    web.client.close().await.unwrap();
    server.abort();
}
db_test!(the_whole_delivery_journey_in_a_real_browser);
