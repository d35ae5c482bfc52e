//! The test harness: a fresh database per test (a temp SQLite file, or a fresh schema on
//! the PostgreSQL at TEST_DATABASE_URL), the real router, and a cookie-keeping client.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tower::ServiceExt;
use tsp_ledger::AppState;
use tsp_ledger::auth::{csrf, session};
use tsp_ledger::config::Config;
use tsp_ledger::domain::role::Role;

/// Runs `$name(app)` once on SQLite and once on PostgreSQL (skipped with a printed
/// reason when TEST_DATABASE_URL is unset, and a failure then if CI is set).
#[macro_export]
macro_rules! db_test {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::TestApp::sqlite().await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::support::TestApp::postgres().await {
                    super::$name(app).await;
                }
            }
        }
    };
}

pub enum Backend {
    Sqlite {
        dir: PathBuf,
    },
    Postgres {
        admin_url: String,
        schema: String,
    },
    /// Another instance on a database owned (and cleaned up) by another `TestApp`.
    Shared,
}

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub backend: Backend,
}

pub const PASSWORD: &str = "correct horse battery staple";

/// The secret every test app signs anonymous CSRF tokens with (child processes too).
pub const SECRET: [u8; 32] = [42u8; 32];

fn unique(prefix: &str) -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    format!("{prefix}{}", hex::encode(bytes))
}

pub fn test_config(db_url: &str, data_dir: &Path) -> Config {
    let mut config = Config::load_from(Path::new("/nonexistent"), None, &[]).unwrap();
    config.database.url = db_url.to_string();
    config.database.max_connections = 5;
    config.data.dir = data_dir.to_path_buf();
    config.mail.transport = tsp_ledger::config::MailTransport::Stub;
    config.mail.file_dir = data_dir.join("mail");
    config
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        Self::sqlite_in(&std::env::temp_dir()).await
    }

    /// A SQLite app whose database lives in a new directory under `parent` (a small
    /// filesystem, in the fault tests).
    pub async fn sqlite_in(parent: &Path) -> TestApp {
        let dir = parent.join(unique("tsp-test-"));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.join("test.db").display());
        let config = test_config(&url, &dir);
        let db = tsp_ledger::db::connect(&config.database).await.unwrap();
        Self::finish(config, db, Backend::Sqlite { dir }).await
    }

    /// `None` (with a printed reason) when no PostgreSQL is configured outside CI.
    pub async fn postgres() -> Option<TestApp> {
        let admin_url = postgres_url()?;
        let schema = unique("t_");
        let admin = sea_orm::Database::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}")
            });
        admin
            .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
            .await
            .unwrap();
        admin.close().await.ok();
        let config = test_config(&admin_url, &std::env::temp_dir().join(&schema));
        let db = tsp_ledger::db::connect_url(&admin_url, 5, 5000, Some(&schema))
            .await
            .unwrap();
        if let Ok(marker) = std::env::var("TSP_PG_MARKER") {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(marker)
                .unwrap();
            writeln!(f, "{schema}").unwrap();
        }
        Some(Self::finish(config, db, Backend::Postgres { admin_url, schema }).await)
    }

    async fn finish(config: Config, db: DatabaseConnection, backend: Backend) -> TestApp {
        tsp_ledger::db::migrate(&db).await.unwrap();
        let state = AppState::new(config, db, SECRET);
        let router = tsp_ledger::router(state.clone());
        TestApp {
            state,
            router,
            backend,
        }
    }

    /// Another app instance on this test's database: its own state, pool (`db`) and
    /// router, as a restarted or second server has. Dropping it cleans nothing up.
    pub fn instance(&self, db: DatabaseConnection) -> TestApp {
        Self::sibling(self.state.config.clone(), db)
    }

    /// Another instance on this test's database with changed settings (dropping it
    /// cleans nothing up).
    pub fn reconfigured(&self, change: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = self.state.config.clone();
        change(&mut config);
        Self::sibling(config, self.db().clone())
    }

    fn sibling(config: Config, db: DatabaseConnection) -> TestApp {
        let state = AppState::new(config, db, SECRET);
        TestApp {
            router: tsp_ledger::router(state.clone()),
            state,
            backend: Backend::Shared,
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.state.db
    }

    /// A pool of its own on this test's database that counts every statement run on it.
    pub async fn counted_pool(
        &self,
    ) -> (
        DatabaseConnection,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ) {
        let mut db = tsp_ledger::db::connect(&crate::imports::cli_config(self).database)
            .await
            .unwrap();
        let statements = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = statements.clone();
        db.set_metric_callback(move |_| {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
        (db, statements)
    }

    /// Creates an account directly through the service (no HTTP).
    pub async fn create_user(&self, role: Role, email: &str) -> i64 {
        let account = tsp_ledger::services::accounts::NewAccount {
            email: tsp_ledger::domain::account::Email::parse(email).unwrap(),
            name: format!("{} {}", role.label(), email.split('@').next().unwrap()),
            role,
            password: PASSWORD.into(),
        };
        tsp_ledger::services::accounts::create(
            self.db(),
            &self.state.hasher,
            &tsp_ledger::ledger::Actor::Cli,
            account,
        )
        .await
        .unwrap()
        .id
    }

    /// A client signed in as a new user with `role` (session made directly, no password).
    pub async fn client_as(&self, role: Role) -> Client<'_> {
        let email = format!("{}@example.com", unique(role.id()));
        let id = self.create_user(role, &email).await;
        self.client_for(id).await
    }

    pub async fn client_for(&self, user_id: i64) -> Client<'_> {
        let s = session::create(self.db(), &self.state.sessions, user_id)
            .await
            .unwrap();
        let mut client = self.anonymous();
        client
            .cookies
            .insert(session::COOKIE.into(), s.cookie_value);
        client.session_csrf = Some(s.csrf_token);
        client
    }

    pub fn anonymous(&self) -> Client<'_> {
        let nonce = tsp_ledger::auth::random_token();
        let mut cookies = HashMap::new();
        cookies.insert(csrf::NONCE_COOKIE.to_string(), nonce);
        Client {
            app: self,
            cookies,
            session_csrf: None,
            page_csrf: None,
        }
    }

    /// Ends the sign-in lock on `key` now (as if its time had run out); returns the key.
    pub async fn end_lock(&self, key: String) -> String {
        use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
        let row = entity::login_throttle::Entity::find_by_id(key.clone())
            .one(self.db())
            .await
            .unwrap()
            .expect("a throttle row for the key");
        let mut open: entity::login_throttle::ActiveModel = row.into();
        open.locked_until = Set(Some(
            tsp_ledger::clock::now() - chrono::Duration::seconds(1),
        ));
        open.update(self.db()).await.unwrap();
        key
    }

    pub async fn ledger_actions(&self) -> Vec<(String, String, String)> {
        use sea_orm::{EntityTrait, QueryOrder};
        entity::ledger_entries::Entity::find()
            .order_by_asc(entity::ledger_entries::Column::Id)
            .all(self.db())
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.entity_type, e.action, e.actor))
            .collect()
    }
}

/// Runs `work` on a database connection of its own, on a thread and runtime of its own
/// (Drop runs inside the test's runtime and may not block it).
fn on_own_runtime<T: Send + 'static>(
    url: String,
    schema: Option<String>,
    work: impl AsyncFnOnce(DatabaseConnection) -> T + Send + 'static,
) -> Option<T> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let db = tsp_ledger::db::connect_url(&url, 1, 5000, schema.as_deref())
                .await
                .ok()?;
            Some(work(db).await)
        })
    })
    .join()
    .ok()
    .flatten()
}

impl TestApp {
    /// `kpi verify` after every scenario: whatever the test did, the KPI aggregates still
    /// equal what the raw rows add up to. A database the test made unreadable is skipped.
    fn verify_kpi_aggregates(&self) {
        let (url, schema) = match &self.backend {
            Backend::Sqlite { .. } => (self.state.config.database.url.clone(), None),
            Backend::Postgres { admin_url, schema } => (admin_url.clone(), Some(schema.clone())),
            Backend::Shared => return,
        };
        let found = on_own_runtime(url, schema, async |db| {
            tsp_ledger::services::kpi_aggregates::verify(&db).await.ok()
        })
        .flatten()
        .unwrap_or_default();
        if let Some(first) = found.first() {
            panic!(
                "kpi verify after the test: {} difference(s), the first: {first}",
                found.len()
            );
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.verify_kpi_aggregates();
        }
        match &self.backend {
            Backend::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Backend::Postgres { admin_url, schema } => {
                let drop_schema = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                on_own_runtime(admin_url.clone(), None, async move |db| {
                    let _ = db.execute_unprepared(&drop_schema).await;
                });
            }
            Backend::Shared => {}
        }
    }
}

/// TEST_DATABASE_URL, or `None` with a printed reason; in CI a missing URL is a failure.
/// An HTTP client for tests that talk to a real socket (the process's TLS provider
/// installed first, as the app's `main` does).
pub fn http_client() -> reqwest::ClientBuilder {
    tsp_ledger::install_tls_provider();
    reqwest::Client::builder()
}

pub fn postgres_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "CI is set but TEST_DATABASE_URL is not: the PostgreSQL half of the suite must run in CI"
            )
        }
        _ => {
            eprintln!("skipping PostgreSQL: TEST_DATABASE_URL is not set");
            None
        }
    }
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    #[track_caller]
    pub fn assert_contains(&self, needle: &str) -> &Self {
        assert!(
            self.body.contains(needle),
            "expected {needle:?} in the response body:\n{}",
            self.body
        );
        self
    }
}

/// Drives the real router with `oneshot`, keeping cookies like a browser.
pub struct Client<'a> {
    pub app: &'a TestApp,
    pub cookies: HashMap<String, String>,
    pub session_csrf: Option<String>,
    /// The token of the last page that had a form, as a browser would submit it.
    pub page_csrf: Option<String>,
}

impl Client<'_> {
    /// The token a page would have put in its forms.
    pub fn csrf(&self) -> String {
        match (&self.session_csrf, &self.page_csrf) {
            (Some(token), _) | (None, Some(token)) => token.clone(),
            (None, None) => {
                csrf::anonymous_token(&self.app.state.secret, &self.cookies[csrf::NONCE_COOKIE])
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> TestResponse {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    /// Posts a form with the right `_csrf` added.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let token = self.csrf();
        let mut all: Vec<(&str, &str)> = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly the given fields (no `_csrf` added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body: String = form_encode(fields);
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    pub async fn send(&mut self, mut request: Request<Body>) -> TestResponse {
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request
                .headers_mut()
                .insert(header::COOKIE, cookie.parse().unwrap());
        }
        let response = self.app.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let response = TestResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        let marker = r#"name="_csrf" value=""#;
        if let Some(start) = response.body.find(marker).map(|i| i + marker.len()) {
            let end = start + response.body[start..].find('"').unwrap_or(0);
            self.page_csrf = Some(response.body[start..end].to_string());
        }
        for cookie in response.set_cookies() {
            let (pair, attrs) = cookie.split_once(';').unwrap_or((&cookie, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        response
    }
}

pub fn form_encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Ledger entries with their reason read back from beside the chain (where entries keep
/// it since canonical form version 2), as the pages show it: "(erased)" once blanked.
pub async fn with_reasons(
    db: &DatabaseConnection,
    mut entries: Vec<entity::ledger_entries::Model>,
) -> Vec<entity::ledger_entries::Model> {
    let texts = tsp_ledger::ledger::texts_of(db, &entries).await.unwrap();
    for e in &mut entries {
        let reason = tsp_ledger::ledger::reason_of(&texts, e.id);
        if e.reason.is_none() && !reason.is_empty() {
            e.reason = Some(reason);
        }
    }
    entries
}
