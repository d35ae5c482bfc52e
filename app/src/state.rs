use std::ops::Deref;
use std::sync::{Arc, Mutex};

use sea_orm::DatabaseConnection;

use crate::auth::password::PasswordHasher;
use crate::auth::session::SessionPolicy;
use crate::auth::throttle::Throttles;
use crate::config::Config;

/// Everything a request needs, cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub db: DatabaseConnection,
    /// Signs anonymous CSRF tokens; from config or the data dir.
    pub secret: [u8; 32],
    pub hasher: PasswordHasher,
    pub sessions: SessionPolicy,
    pub throttles: Throttles,
    /// Origins a form may be posted from (the public URL and the bind address).
    pub own_origins: Vec<String>,
    /// Where the outbox worker sends mail (a stub in tests, readable through it).
    pub transport: crate::mail::transport::Transport,
    /// The dashboard's KPI standings, until the ledger moves on.
    pub kpi_cache: crate::services::kpi::StandingCache,
    /// The forecasts to the anniversary, until the ledger moves on.
    pub forecast_cache: crate::services::forecast::ForecastCache,
    /// The reconciliation overview of the dashboard's card, until the ledger moves on.
    pub reconciliation_cache: crate::services::reconciliation::OverviewCache,
    /// The class list's course and MCT pickers, until either table changes.
    pub pickers: crate::services::pickers::PickerCache,
    /// The class list's pages, until a class, course or MCT changes.
    pub class_pages: crate::services::classes::PageCache,
    /// The organisation's name and logo for page headers, for a moment.
    pub brand: crate::mail::brand::BrandCache,
    /// Survey answers waiting for their (shared) commit.
    pub survey_submissions: crate::services::surveys::Submissions,
    /// Request counts and latencies for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// Sign-in with Microsoft Entra ID / an OpenID provider, when configured.
    pub oidc: Option<crate::auth::oidc::Provider>,
    /// The one-time first-run link, while no user exists.
    setup_token: Mutex<Option<String>>,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(config: Config, db: DatabaseConnection, secret: [u8; 32]) -> AppState {
        let security = &config.security;
        let sessions = SessionPolicy {
            idle: chrono::Duration::minutes(security.session_idle_minutes),
            absolute: chrono::Duration::hours(security.session_absolute_hours),
        };
        let mut own_origins = vec![origin_of(&config.server.public_url)];
        own_origins.push(format!("http://{}", config.server.bind));
        if let Some(port) = config.server.bind.strip_prefix("127.0.0.1:") {
            own_origins.push(format!("http://localhost:{port}"));
        }
        let transport = crate::mail::transport::Transport::from_config(&config.mail)
            .expect("mail settings are checked by Config::validate");
        let oidc =
            crate::auth::oidc::Provider::from_config(&config.oidc, &config.server.public_url)
                .expect("oidc settings are checked by Config::validate");
        AppState(Arc::new(Inner {
            oidc,
            transport,
            kpi_cache: Default::default(),
            forecast_cache: Default::default(),
            reconciliation_cache: Default::default(),
            survey_submissions: Default::default(),
            pickers: Default::default(),
            class_pages: Default::default(),
            brand: Default::default(),
            metrics: Default::default(),
            hasher: PasswordHasher::new(security.password_hash_concurrency),
            throttles: Throttles::from_config(security),
            sessions,
            own_origins,
            secret,
            db,
            config,
            setup_token: Mutex::new(None),
        }))
    }

    /// An outbox worker sending through this state's transport.
    pub fn mail_worker(&self) -> anyhow::Result<crate::mail::worker::Worker> {
        crate::mail::worker::Worker::new(self.db.clone(), &self.config.mail, self.transport.clone())
    }

    /// An absolute link into the app, for e-mails (`path` starts with `/`).
    pub fn link(&self, path: &str) -> String {
        self.config.server.link(path)
    }

    /// What the account use cases need of the running app.
    pub fn services(&self) -> crate::services::Context<'_> {
        crate::services::Context {
            db: &self.db,
            config: &self.config,
            hasher: &self.hasher,
            sessions: &self.sessions,
            throttles: &self.throttles,
        }
    }

    /// Issues the first-run setup token (replacing any earlier one) and returns it.
    pub fn issue_setup_token(&self) -> String {
        let token = crate::auth::random_token();
        *self.setup_token.lock().expect("setup token lock") = Some(token.clone());
        token
    }

    pub fn setup_token_matches(&self, candidate: &str) -> bool {
        let guard = self.setup_token.lock().expect("setup token lock");
        guard
            .as_deref()
            .is_some_and(|t| crate::auth::constant_time_eq(t.as_bytes(), candidate.as_bytes()))
    }

    pub fn clear_setup_token(&self) {
        *self.setup_token.lock().expect("setup token lock") = None;
    }

    pub fn setup_url(&self, token: &str) -> String {
        self.link(&format!("/setup/{token}"))
    }
}

/// `scheme://host[:port]` of a URL, as browsers send it in `Origin`.
fn origin_of(url: &str) -> String {
    let url = url.trim_end_matches('/');
    match url.find("://") {
        Some(i) => match url[i + 3..].find('/') {
            Some(j) => url[..i + 3 + j].to_string(),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn origins_drop_the_path() {
        assert_eq!(
            super::origin_of("https://tsp.example.com/app/"),
            "https://tsp.example.com"
        );
        assert_eq!(
            super::origin_of("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
    }
}
