//! Layered settings: embedded default → config/default.toml → config/$TSP_LEDGER_ENV.toml
//! → `--config FILE` → `TSP_LEDGER__SECTION__KEY` → `DATABASE_URL`.
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

const EMBEDDED_DEFAULT: &str = include_str!("../../config/default.toml");
const ENV_PREFIX: &str = "TSP_LEDGER__";

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub data: DataConfig,
    pub security: SecurityConfig,
    pub mail: MailConfig,
    pub surveys: SurveysConfig,
    pub classes: ClassesConfig,
    pub todo: TodoConfig,
    pub codes: CodesConfig,
    pub ledger: LedgerConfig,
    pub metrics: MetricsConfig,
    pub oidc: OidcConfig,
    pub retention: RetentionConfig,
    pub log: LogConfig,
}

/// Sign-in with Microsoft Entra ID (or any OpenID Connect provider).
#[derive(Debug, Clone, Deserialize)]
pub struct OidcConfig {
    /// The provider's issuer URL; empty: the option is off.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The text of the sign-in button.
    pub button_label: String,
    /// false: passwords sign in only the admins listed in `break_glass`.
    pub password_sign_in: bool,
    /// E-mails of admin accounts that keep password sign-in when it is off for everyone else.
    pub break_glass: Vec<String>,
}

impl OidcConfig {
    pub fn enabled(&self) -> bool {
        !self.issuer.trim().is_empty()
    }

    /// Whether passwords may sign in this account (see [`crate::domain::sign_in`]).
    pub fn password_allowed(&self, email: &str, role: crate::domain::role::Role) -> bool {
        crate::domain::sign_in::password_allowed(
            self.password_sign_in,
            &self.break_glass,
            email,
            role,
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct LedgerConfig {
    /// The checkpoint signing key's file; empty: `<data.dir>/ledger-checkpoint.key`.
    pub checkpoint_key: String,
    /// Hours between the server's checkpoints.
    pub checkpoint_hours: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerConfig {
    pub bind: String,
    pub public_url: String,
    pub secure_cookies: bool,
    pub trust_forwarded_for: bool,
    pub max_body_bytes: usize,
    /// Largest CSV upload on the import pages.
    pub max_upload_bytes: usize,
    /// A connection must send a whole request head (line and headers) within this long,
    /// also while it waits idle between requests; else it is closed.
    pub header_read_timeout_seconds: u64,
    /// An answer must be under way within this long, else `408` (the import uploads are
    /// exempt; a streamed download only has to start).
    pub request_timeout_seconds: u64,
    /// A request body (a form, an upload) that sends nothing for this long is abandoned.
    pub body_idle_timeout_seconds: u64,
    /// Connections served at once; more wait in the listen backlog until one closes.
    pub max_connections: usize,
}

impl ServerConfig {
    /// An absolute link into the app, for e-mails (`path` starts with `/`).
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.trim_end_matches('/'))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
    pub busy_timeout_ms: u64,
    /// How long a change waits for its turn to write before it is refused with a 503.
    pub write_wait_ms: u64,
    /// How many changes may wait for their turn at once; more are refused at once.
    pub write_queue: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DataConfig {
    pub dir: PathBuf,
}

impl DataConfig {
    /// Where web uploads are spooled while they are read (`<dir>/uploads`).
    pub fn spool_dir(&self) -> PathBuf {
        self.dir.join("uploads")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct SecurityConfig {
    pub secret_key: String,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub login_free_failures: i32,
    pub login_max_failures_per_hour: i32,
    pub login_max_delay_seconds: i64,
    /// How long an e-mailed password reset link works.
    pub reset_link_minutes: i64,
    /// Reset links asked for per account per hour (×4 per client address).
    pub reset_requests_per_hour: i32,
    pub password_hash_concurrency: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MailConfig {
    pub transport: MailTransport,
    pub from: String,
    pub file_dir: PathBuf,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: SmtpTls,
    pub smtp_username: String,
    pub smtp_password: String,
    pub smtp_timeout_seconds: u64,
    /// SMTP connections kept open, and messages in flight at once.
    pub smtp_connections: u32,
    /// Attempts before a message is marked failed.
    pub max_attempts: i32,
    /// The first retry waits this long; each further one twice as long.
    pub retry_base_seconds: i64,
    /// Messages a worker claims at a time.
    pub batch_size: u64,
    /// How long a claim lasts: a crashed worker's messages come back after it.
    pub lease_seconds: i64,
    /// How often an idle worker looks for due messages.
    pub poll_seconds: u64,
}

/// Where mail goes: one `.eml` per message in `file_dir`, an SMTP server, or kept in
/// memory (tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    File,
    Smtp,
    Stub,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SurveysConfig {
    /// How long a survey link stays valid.
    pub valid_days: i64,
    /// Days after the invitation (or the last reminder) before a reminder goes out.
    pub reminder_after_days: i64,
    /// Reminders per learner at most.
    pub max_reminders: i32,
    /// The wording of the five scored questions q1..q5 (the order is fixed).
    pub questions: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ClassesConfig {
    /// The pattern new class refs are proposed from (`domain::numbering`).
    pub ref_pattern: String,
}

/// When the To do page's nudges fall due (`domain::todo`).
#[derive(Debug, Clone, Deserialize)]
pub struct TodoConfig {
    pub confirm_reminder_days: i64,
    pub confirm_escalation_days: i64,
    pub code_reminder_days: i64,
}

impl TodoConfig {
    pub fn nudges(&self) -> crate::domain::todo::Nudges {
        crate::domain::todo::Nudges {
            confirm_reminder_days: self.confirm_reminder_days,
            confirm_escalation_days: self.confirm_escalation_days,
            code_reminder_days: self.code_reminder_days,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CodesConfig {
    /// Microsoft Learn's page where a learner redeems an achievement code.
    pub redeem_url: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MetricsConfig {
    /// A bearer token that may read `/metrics` (besides signed-in admins); empty: none.
    pub token: String,
}

/// How long personal data is kept (`domain::retention`); 0 keeps a category for ever.
#[derive(Debug, Clone, Deserialize)]
pub struct RetentionConfig {
    /// Learners' names and e-mails, this many months after their class ended.
    pub learner_months: i64,
    /// Consent evidence, this many months after the recording was withdrawn.
    pub consent_months: i64,
    /// Sent and failed e-mails in the outbox, this many days after sending (or queuing).
    pub email_days: i64,
    /// Sign-in sessions, this many days after they were last used.
    pub session_days: i64,
    /// Spooled files (uploads, mail files), this many days after they were written.
    pub spool_days: i64,
    /// Roster lines and consents erased per run at most (the rest wait for the next run).
    pub batch_size: i64,
}

impl RetentionConfig {
    /// The periods in force (checked by `Config::validate`, so they fit).
    pub fn periods(&self) -> crate::domain::retention::Periods {
        use crate::domain::retention::period;
        let fit = |v: i64| period(u32::try_from(v).unwrap_or(0));
        crate::domain::retention::Periods {
            learner_months: fit(self.learner_months),
            consent_months: fit(self.consent_months),
            email_days: fit(self.email_days),
            session_days: fit(self.session_days),
            spool_days: fit(self.spool_days),
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        for (name, value, max) in [
            ("retention.learner_months", self.learner_months, 1200),
            ("retention.consent_months", self.consent_months, 1200),
            ("retention.email_days", self.email_days, 36500),
            ("retention.session_days", self.session_days, 36500),
            ("retention.spool_days", self.spool_days, 36500),
        ] {
            if !(0..=max).contains(&value) {
                bail!("{name} must be between 0 (keep for ever) and {max}, got {value}");
            }
        }
        if !(1..=100_000).contains(&self.batch_size) {
            bail!(
                "retention.batch_size must be between 1 and 100000, got {}",
                self.batch_size
            );
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogConfig {
    pub filter: String,
}

impl Config {
    /// Loads the layers from the working directory and the process environment.
    pub fn load(explicit_file: Option<&Path>) -> anyhow::Result<Config> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(Path::new("config"), explicit_file, &env)
    }

    /// The same layering with every input passed in, so tests need no global state.
    pub fn load_from(
        config_dir: &Path,
        explicit_file: Option<&Path>,
        env: &[(String, String)],
    ) -> anyhow::Result<Config> {
        let mut merged: toml::Table =
            toml::from_str(EMBEDDED_DEFAULT).context("embedded default config")?;
        let env_value = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());

        let mut files = vec![config_dir.join("default.toml")];
        if let Some(profile) = env_value("TSP_LEDGER_ENV").filter(|p| !p.is_empty()) {
            let file = config_dir.join(format!("{profile}.toml"));
            if !file.exists() {
                bail!(
                    "TSP_LEDGER_ENV={profile} but {} does not exist",
                    file.display()
                );
            }
            files.push(file);
        }
        for file in files.iter().filter(|f| f.exists()) {
            merge(&mut merged, read_table(file)?);
        }
        if let Some(file) = explicit_file {
            merge(&mut merged, read_table(file)?);
        }

        for (name, value) in env {
            let Some(path) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let parts: Vec<String> = path.split("__").map(|p| p.to_ascii_lowercase()).collect();
            let [section, key] = parts.as_slice() else {
                bail!("{name}: expected {ENV_PREFIX}SECTION__KEY");
            };
            let table = merged
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(table) = table else {
                bail!("{name}: [{section}] is not a section");
            };
            table.insert(key.clone(), parse_env_value(value));
        }
        if let Some(url) = env_value("DATABASE_URL").filter(|u| !u.is_empty())
            && let Some(toml::Value::Table(db)) = merged.get_mut("database")
        {
            db.insert("url".into(), toml::Value::String(url));
        }

        let mut config: Config = toml::Value::Table(merged)
            .try_into()
            .context("invalid configuration")?;
        // Like the other files the server keeps, the mail folder follows data.dir.
        if config.mail.file_dir.as_os_str().is_empty() {
            config.mail.file_dir = config.data.dir.join("mail");
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        for (name, value) in [
            (
                "server.header_read_timeout_seconds",
                self.server.header_read_timeout_seconds,
            ),
            (
                "server.request_timeout_seconds",
                self.server.request_timeout_seconds,
            ),
            (
                "server.body_idle_timeout_seconds",
                self.server.body_idle_timeout_seconds,
            ),
            ("server.max_connections", self.server.max_connections as u64),
        ] {
            if value == 0 {
                bail!("{name} must be at least 1");
            }
        }
        if !(self.database.url.starts_with("sqlite:") || self.database.url.starts_with("postgres"))
        {
            bail!(
                "database.url must start with sqlite: or postgres://, got {:?}",
                self.database.url
            );
        }
        if !self.security.secret_key.is_empty() && parse_secret(&self.security.secret_key).is_none()
        {
            bail!("security.secret_key must be 64 hex characters (32 bytes)");
        }
        if self.mail.transport == MailTransport::Smtp && self.mail.smtp_tls != SmtpTls::None {
            lettre::transport::smtp::client::TlsParameters::new(self.mail.smtp_host.clone())
                .map_err(|e| anyhow::anyhow!("mail.smtp_host {:?}: {e}", self.mail.smtp_host))?;
        }
        if self.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            bail!("mail.from is not an e-mail address: {:?}", self.mail.from);
        }
        if let Err(why) = crate::domain::numbering::check_pattern(&self.classes.ref_pattern) {
            bail!("classes.ref_pattern {why}");
        }
        let todo = &self.todo;
        if todo.confirm_reminder_days < 1 || todo.code_reminder_days < 1 {
            bail!("todo.confirm_reminder_days and todo.code_reminder_days must be at least 1 day");
        }
        if todo.confirm_escalation_days <= todo.confirm_reminder_days {
            bail!(
                "todo.confirm_escalation_days ({}) must be more than todo.confirm_reminder_days ({}): coordinators are told after the MCT was reminded",
                todo.confirm_escalation_days,
                todo.confirm_reminder_days
            );
        }
        if !self.codes.redeem_url.starts_with("https://") || self.codes.redeem_url.contains(' ') {
            bail!(
                "codes.redeem_url must be an https:// address, got {:?}",
                self.codes.redeem_url
            );
        }
        if self.surveys.questions.len() != 5 {
            bail!(
                "surveys.questions must list exactly 5 questions (q1..q5), got {}",
                self.surveys.questions.len()
            );
        }
        if !self.metrics.token.is_empty() && self.metrics.token.trim().chars().count() < 16 {
            bail!("metrics.token must be empty or at least 16 characters");
        }
        self.validate_oidc()?;
        self.retention.validate()?;
        Ok(())
    }

    fn validate_oidc(&self) -> anyhow::Result<()> {
        let oidc = &self.oidc;
        if !oidc.enabled() {
            if !oidc.password_sign_in {
                bail!("oidc.password_sign_in = false needs oidc.issuer, or nobody could sign in");
            }
            return Ok(());
        }
        let issuer = oidc.issuer.trim();
        let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| issuer.starts_with(p));
        if !issuer.starts_with("https://") && !local {
            bail!("oidc.issuer must be an https:// URL, got {issuer:?}");
        }
        if oidc.client_id.trim().is_empty() {
            bail!("oidc.client_id is empty (the Application (client) ID from Entra ID)");
        }
        if oidc.client_secret.trim().is_empty() {
            bail!("oidc.client_secret is empty (set TSP_LEDGER__OIDC__CLIENT_SECRET)");
        }
        for email in &oidc.break_glass {
            if crate::domain::account::Email::parse(email).is_err() {
                bail!("oidc.break_glass: {email:?} is not an e-mail address");
            }
        }
        if !oidc.password_sign_in && oidc.break_glass.is_empty() {
            bail!(
                "oidc.password_sign_in = false needs at least one oidc.break_glass admin, \
                 for when the provider is down"
            );
        }
        Ok(())
    }

    pub fn is_sqlite(&self) -> bool {
        self.database.url.starts_with("sqlite:")
    }

    /// The secret used for CSRF tokens: configured, or generated once into the data dir
    /// so that a restart keeps every form and session valid.
    pub fn load_or_create_secret(&self) -> anyhow::Result<[u8; 32]> {
        if let Some(key) = parse_secret(&self.security.secret_key) {
            return Ok(key);
        }
        let path = self.data.dir.join("secret.key");
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            return parse_secret(text.trim())
                .with_context(|| format!("{} is not 64 hex characters", path.display()));
        }
        std::fs::create_dir_all(&self.data.dir)
            .with_context(|| format!("creating {}", self.data.dir.display()))?;
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        write_private(&path, &hex::encode(key))?;
        Ok(key)
    }
}

impl Config {
    /// Where the ledger checkpoint key lives (never in the database).
    pub fn checkpoint_key_path(&self) -> PathBuf {
        match self.ledger.checkpoint_key.trim() {
            "" => self.data.dir.join("ledger-checkpoint.key"),
            path => PathBuf::from(path),
        }
    }

    /// The checkpoint signing key's seed: read from its file, or generated into it (0600)
    /// on first use.
    pub fn load_or_create_checkpoint_seed(&self) -> anyhow::Result<[u8; 32]> {
        let path = self.checkpoint_key_path();
        if path.exists() {
            return self.checkpoint_seed();
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        write_private(&path, &hex::encode(seed))?;
        Ok(seed)
    }

    /// The checkpoint key's seed from its file, which must exist (verifying never makes
    /// a new key: a new key would only say that every checkpoint is someone else's).
    pub fn checkpoint_seed(&self) -> anyhow::Result<[u8; 32]> {
        let path = self.checkpoint_key_path();
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading the ledger checkpoint key {} (set ledger.checkpoint_key)",
                path.display()
            )
        })?;
        parse_secret(text.trim())
            .with_context(|| format!("{} is not 64 hex characters", path.display()))
    }
}

fn parse_secret(text: &str) -> Option<[u8; 32]> {
    hex::decode(text).ok()?.try_into().ok()
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

fn read_table(path: &Path) -> anyhow::Result<toml::Table> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Deep merge: tables merge key by key, everything else is replaced.
fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(existing)), toml::Value::Table(incoming)) => {
                merge(existing, incoming)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Environment values are typed like TOML scalars (`true`, `42`) and fall back to strings.
fn parse_env_value(raw: &str) -> toml::Value {
    if let Ok(b) = raw.parse::<bool>() {
        return toml::Value::Boolean(b);
    }
    if let Ok(i) = raw.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    // A list, written as in TOML: TSP_LEDGER__OIDC__BREAK_GLASS='["root@x.example"]'.
    if raw.trim_start().starts_with('[')
        && let Ok(mut table) = format!("v = {raw}").parse::<toml::Table>()
        && let Some(list) = table.remove("v")
    {
        return list;
    }
    toml::Value::String(raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_serve_sqlite_on_localhost_8080() {
        let c = Config::load_from(Path::new("/nonexistent"), None, &[]).unwrap();
        assert_eq!(c.server.bind, "127.0.0.1:8080");
        assert!(c.is_sqlite());
        assert_eq!(c.mail.transport, MailTransport::File);
    }

    #[test]
    fn the_mail_folder_follows_the_data_dir_unless_set() {
        let c = Config::load_from(
            Path::new("/nonexistent"),
            None,
            &env(&[("TSP_LEDGER__DATA__DIR", "/var/lib/tsp")]),
        )
        .unwrap();
        assert_eq!(c.mail.file_dir, Path::new("/var/lib/tsp/mail"));
        let c = Config::load_from(Path::new("/nonexistent"), None, &[]).unwrap();
        assert_eq!(c.mail.file_dir, Path::new("data/mail"));
        let c = Config::load_from(
            Path::new("/nonexistent"),
            None,
            &env(&[
                ("TSP_LEDGER__DATA__DIR", "/var/lib/tsp"),
                ("TSP_LEDGER__MAIL__FILE_DIR", "/srv/mail"),
            ]),
        )
        .unwrap();
        assert_eq!(c.mail.file_dir, Path::new("/srv/mail"));
    }

    #[test]
    fn env_overrides_section_keys_and_database_url_wins() {
        let c = Config::load_from(
            Path::new("/nonexistent"),
            None,
            &env(&[
                ("TSP_LEDGER__SERVER__BIND", "0.0.0.0:9000"),
                ("TSP_LEDGER__SECURITY__SESSION_IDLE_MINUTES", "5"),
                ("TSP_LEDGER__SERVER__SECURE_COOKIES", "true"),
                ("DATABASE_URL", "postgres://localhost/x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.server.bind, "0.0.0.0:9000");
        assert_eq!(c.security.session_idle_minutes, 5);
        assert!(c.server.secure_cookies);
        assert_eq!(c.database.url, "postgres://localhost/x");
    }

    #[test]
    fn profile_file_and_explicit_file_layer_in_order() {
        let dir = std::env::temp_dir().join(format!("tsp-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("prod.toml"), "[server]\nbind = \"1.2.3.4:1\"\n").unwrap();
        let explicit = dir.join("explicit.toml");
        std::fs::write(&explicit, "[log]\nfilter = \"debug\"\n").unwrap();
        let c =
            Config::load_from(&dir, Some(&explicit), &env(&[("TSP_LEDGER_ENV", "prod")])).unwrap();
        assert_eq!(c.server.bind, "1.2.3.4:1");
        assert_eq!(c.log.filter, "debug");
        let missing = Config::load_from(&dir, None, &env(&[("TSP_LEDGER_ENV", "nope")]));
        assert!(missing.unwrap_err().to_string().contains("nope.toml"));
    }

    #[test]
    fn bad_values_are_refused_with_the_setting_named() {
        let err = Config::load_from(
            Path::new("/nonexistent"),
            None,
            &env(&[("TSP_LEDGER__SECURITY__SECRET_KEY", "short")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("security.secret_key"));
        let err = Config::load_from(
            Path::new("/nonexistent"),
            None,
            &env(&[("DATABASE_URL", "mysql://x")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("database.url"));
        let err = Config::load_from(
            Path::new("/nonexistent"),
            None,
            &env(&[(
                "TSP_LEDGER__CODES__REDEEM_URL",
                "http://learn.example/redeem",
            )]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("codes.redeem_url"), "{err}");
        let err = Config::load_from(
            Path::new("/nonexistent"),
            None,
            &env(&[("TSP_LEDGER__CLASSES__REF_PATTERN", "C-{YYYY}")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("classes.ref_pattern"), "{err}");
        let err = Config::load_from(
            Path::new("/nonexistent"),
            None,
            &env(&[("TSP_LEDGER__TODO__CONFIRM_ESCALATION_DAYS", "3")]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("todo.confirm_escalation_days"),
            "{err}"
        );
        for (key, value, setting) in [
            (
                "TSP_LEDGER__RETENTION__LEARNER_MONTHS",
                "-1",
                "retention.learner_months",
            ),
            (
                "TSP_LEDGER__RETENTION__SPOOL_DAYS",
                "40000",
                "retention.spool_days",
            ),
            (
                "TSP_LEDGER__RETENTION__BATCH_SIZE",
                "0",
                "retention.batch_size",
            ),
        ] {
            let err = Config::load_from(Path::new("/nonexistent"), None, &env(&[(key, value)]))
                .unwrap_err();
            assert!(err.to_string().contains(setting), "{err}");
        }
        // A closed set names the setting and every allowed value.
        for (key, value, allowed) in [
            ("TSP_LEDGER__MAIL__TRANSPORT", "pigeon", "`file`, `smtp`"),
            ("TSP_LEDGER__MAIL__SMTP_TLS", "ssl", "`none`, `starttls`"),
        ] {
            let err = Config::load_from(Path::new("/nonexistent"), None, &env(&[(key, value)]))
                .unwrap_err();
            let text = format!("{err:#}");
            let setting = key.trim_start_matches("TSP_LEDGER__MAIL__").to_lowercase();
            assert!(text.contains(&setting) && text.contains(allowed), "{text}");
        }
    }

    #[test]
    fn single_sign_on_settings_are_checked_together() {
        let load = |pairs: &[(&str, &str)]| {
            Config::load_from(Path::new("/nonexistent"), None, &env(pairs))
        };
        let issuer = (
            "TSP_LEDGER__OIDC__ISSUER",
            "https://login.microsoftonline.com/t/v2.0",
        );
        let id = ("TSP_LEDGER__OIDC__CLIENT_ID", "11111111-2222");
        let secret = ("TSP_LEDGER__OIDC__CLIENT_SECRET", "s3cret");
        let off = ("TSP_LEDGER__OIDC__PASSWORD_SIGN_IN", "false");
        let failure = |pairs: &[(&str, &str)]| load(pairs).unwrap_err().to_string();
        assert!(failure(&[off]).contains("needs oidc.issuer"));
        assert!(
            failure(&[
                ("TSP_LEDGER__OIDC__ISSUER", "http://idp.example"),
                id,
                secret
            ])
            .contains("https://")
        );
        assert!(failure(&[issuer, secret]).contains("oidc.client_id"));
        assert!(failure(&[issuer, id]).contains("oidc.client_secret"));
        assert!(failure(&[issuer, id, secret, off]).contains("break_glass"));
        let config = load(&[
            issuer,
            id,
            secret,
            off,
            ("TSP_LEDGER__OIDC__BREAK_GLASS", "[\"root@x.example\"]"),
        ])
        .unwrap();
        assert!(config.oidc.enabled());
        assert!(!config.oidc.password_sign_in);
        assert!(
            load(&[]).unwrap().oidc.password_sign_in,
            "off by default: passwords as before"
        );
    }
}
