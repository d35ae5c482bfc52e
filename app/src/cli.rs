//! The command line: `tsp-ledger [--config FILE] <command>`.
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Config;
use crate::domain::account::{Email, check_new_password, parse_name};
use crate::domain::role::Role;
use crate::ledger::Actor;
use crate::services::accounts;
use crate::{AppState, db, ledger, server};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "tsp-ledger",
    version,
    about = "System of record for a Microsoft Training Services Partner"
)]
pub struct Cli {
    /// A TOML file layered over config/default.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Audit trail.
    #[command(subcommand)]
    Ledger(LedgerCommand),
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        /// admin | coordinator | trainer | viewer
        #[arg(long)]
        role: String,
        /// Display name (defaults to the part of the e-mail before @).
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Recompute the hash chain; exit non-zero naming the first broken entry.
    Verify,
}

/// The process entry point: parse, configure, run, and turn errors into a message and exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

pub fn init_logging(config: &Config) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn open(config: &Config) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let conn = db::connect(&config.database).await?;
    db::migrate(&conn).await?;
    Ok(conn)
}

/// Runs one command; tests call this in-process.
pub async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => {
            let conn = open(&config).await?;
            let secret = config.load_or_create_secret()?;
            let listener = server::bind(&config.server.bind).await?;
            let state = AppState::new(config, conn, secret);
            tracing::info!("listening on http://{}", listener.local_addr()?);
            server::announce_setup_if_needed(&state).await?;
            server::serve(state, listener).await?;
        }
        Command::Migrate => {
            open(&config).await?;
            println!("database is up to date");
        }
        Command::User(UserCommand::Add {
            email,
            role,
            name,
            password_stdin: _,
        }) => {
            let email = Email::parse(&email).map_err(|m| anyhow::anyhow!("--email {m}"))?;
            let role: Role = role
                .parse()
                .map_err(|m: String| anyhow::anyhow!("--role: {m}"))?;
            let name = name.unwrap_or_else(|| {
                email
                    .as_str()
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            });
            let name = parse_name(&name).map_err(|m| anyhow::anyhow!("--name {m}"))?;
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .context("reading the password from standard input")?;
            let password = input.lines().next().unwrap_or_default().to_string();
            check_new_password(&password, &password)
                .map_err(|m| anyhow::anyhow!("password {m}"))?;
            let conn = open(&config).await?;
            let hasher = crate::auth::password::PasswordHasher::new(1);
            let account = accounts::NewAccount {
                email,
                name,
                role,
                password,
            };
            match accounts::create(&conn, &hasher, &Actor::Cli, account).await {
                Ok(user) => println!("created {} ({}) with id {}", user.email, user.role, user.id),
                Err(e) => bail!("{e}"),
            }
        }
        Command::Ledger(LedgerCommand::Verify) => {
            let conn = open(&config).await?;
            let result = ledger::verify(&conn).await?;
            match result.first_broken {
                None => println!("ledger OK: {} entries verified", result.entries),
                Some((id, why)) => {
                    eprintln!(
                        "ledger BROKEN at entry {id}: {why} ({} entries before it verified)",
                        result.entries
                    );
                    return Ok(ExitCode::from(3));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
