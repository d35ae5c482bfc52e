//! The command line: `tsp-ledger [--config FILE] <command>`.
use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use crate::config::Config;
use crate::domain::account::{Email, check_new_password, parse_name};
use crate::domain::fields::parse_date;
use crate::domain::role::Role;
use crate::ledger::Actor;
use crate::services::classes::ClassFilter;
use crate::services::exports;
use crate::services::imports::{self, ImportFailure, Kind};
use crate::services::{ServiceError, accounts};
use crate::{AppState, db, ledger, server};
use anyhow::{Context, bail};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use tracing_subscriber::EnvFilter;

mod args;
mod reconcile;
pub use args::{
    Cli, Command, ExportArgs, ExportKind, KpiCommand, LearnerCommand, LedgerCommand, OutboxCommand,
    ReconcileCommand, ReportFormat, UserCommand,
};

/// `ledger verify`: the chain, every stored checkpoint (when the key is here) and the
/// given checkpoint file. Exit 3 when the chain is broken, 4 when a checkpoint is not
/// extended (or cannot be trusted).
async fn verify_ledger(
    conn: &sea_orm::DatabaseConnection,
    config: &Config,
    file: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    use crate::ledger::checkpoint;
    let result = ledger::verify(conn).await?;
    let mut code = ExitCode::SUCCESS;
    match &result.first_broken {
        None => println!(
            "ledger OK: {} entries verified ({} texts beside the chain match, {} blanked by erasures)",
            result.entries, result.texts, result.texts_erased
        ),
        Some((id, why)) => {
            eprintln!(
                "ledger BROKEN at entry {id}: {why} ({} entries before it verified)",
                result.entries
            );
            code = ExitCode::from(3);
        }
    }
    let trusted = match (config.checkpoint_seed(), file) {
        (Ok(seed), _) => Some(checkpoint::signing_key(&seed).verifying_key()),
        (Err(e), Some(_)) => bail!("cannot check a checkpoint without the key: {e:#}"),
        (Err(_), None) => {
            println!(
                "no checkpoint key at {}: stored checkpoints not checked",
                config.checkpoint_key_path().display()
            );
            None
        }
    };
    let Some(trusted) = trusted else {
        return Ok(code);
    };
    let stored = checkpoint::check_stored(conn, &result, &trusted).await?;
    let failed: Vec<_> = stored.iter().filter(|c| c.outcome.is_err()).collect();
    for c in &failed {
        if let Err(why) = &c.outcome {
            eprintln!("stored checkpoint {} FAILS: {why}", c.stored.id);
        }
    }
    if !stored.is_empty() && failed.is_empty() {
        println!(
            "{} stored checkpoint{}: the ledger extends every one (the newest covers entry {})",
            stored.len(),
            if stored.len() == 1 { "" } else { "s" },
            stored[0].stored.entry_id
        );
    }
    if !failed.is_empty() && code == ExitCode::SUCCESS {
        code = ExitCode::from(4);
    }
    if let Some(path) = file {
        let document =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        match checkpoint::check_document(conn, &result, &trusted, &document).await? {
            Ok(()) => {
                let c = checkpoint::Checkpoint::parse(&document).map_err(anyhow::Error::msg)?;
                println!(
                    "checkpoint {} OK: signed by this ledger's key; the ledger extends it (entry {} of {})",
                    path.display(),
                    c.entry_id,
                    c.time()
                );
            }
            Err(why) => {
                eprintln!("checkpoint {} FAILS: {why}", path.display());
                if code == ExitCode::SUCCESS {
                    code = ExitCode::from(4);
                }
            }
        }
    }
    Ok(code)
}

/// The process entry point: parse, configure, run, and turn errors into a message and exit code.
pub fn main() -> ExitCode {
    crate::install_tls_provider();
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
        Command::Serve => serve(config).await?,
        Command::Migrate => {
            open(&config).await?;
            println!("database is up to date");
        }
        Command::User(UserCommand::Add {
            email,
            role,
            name,
            password_stdin: _,
        }) => add_user(&config, &email, role, name).await?,
        Command::Ledger(LedgerCommand::Verify { checkpoint }) => {
            let conn = open(&config).await?;
            return verify_ledger(&conn, &config, checkpoint.as_deref()).await;
        }
        Command::Ledger(LedgerCommand::Checkpoint { output }) => {
            write_checkpoint(&config, output.as_deref()).await?
        }
        Command::Outbox(OutboxCommand::Send) => return send_outbox(config).await,
        Command::Learner(LearnerCommand::Erase { email, reason }) => {
            erase_learner(&config, &email, &reason).await?
        }
        Command::Kpi {
            aggregates: Some(command),
            ..
        } => return kpi_aggregates(&config, command).await,
        Command::Kpi {
            aggregates: None,
            as_of,
            format,
        } => kpi(&config, as_of, format).await?,
        Command::Import { kind, file } => return import(&config, kind, &file).await,
        Command::Reconcile(command) => return reconcile::run(&config, command).await,
        Command::Demo { seed } => demo(&config, seed).await?,
        Command::Export(args) => export(&config, args).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `tsp-ledger` (the default): the server, with the outbox worker and reminders beside it.
async fn serve(config: Config) -> anyhow::Result<()> {
    let conn = open(&config).await?;
    let secret = config.load_or_create_secret()?;
    let listener = server::bind(&config.server.bind).await?;
    let state = AppState::new(config, conn, secret);
    tracing::info!("listening on http://{}", listener.local_addr()?);
    server::announce_setup_if_needed(&state).await?;
    // The outbox worker and survey reminders run beside the server.
    let background = server::spawn_background(&state)?;
    server::serve(state, listener).await?;
    background.iter().for_each(|task| task.abort());
    Ok(())
}

/// `tsp-ledger user add`: an account, its password read from standard input.
async fn add_user(
    config: &Config,
    email: &str,
    role: Role,
    name: Option<String>,
) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|m| anyhow::anyhow!("--email {m}"))?;
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
    check_new_password(&password, &password).map_err(|m| anyhow::anyhow!("password {m}"))?;
    let conn = open(config).await?;
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
    Ok(())
}

/// `tsp-ledger ledger checkpoint`: a signed checkpoint of the chain's head.
async fn write_checkpoint(config: &Config, output: Option<&std::path::Path>) -> anyhow::Result<()> {
    let conn = open(config).await?;
    let key = crate::ledger::checkpoint::key(config)?;
    let stored = ledger::checkpoint::write(&conn, &key).await?;
    match output {
        Some(path) => {
            std::fs::write(path, &stored.document)
                .with_context(|| format!("writing {}", path.display()))?;
            println!(
                "checkpoint of entry {} ({}) written to {}",
                stored.entry_id,
                stored.hash,
                path.display()
            );
        }
        None => print!("{}", stored.document),
    }
    Ok(())
}

/// `tsp-ledger outbox send`: queues what is due, then sends everything queued.
async fn send_outbox(config: Config) -> anyhow::Result<ExitCode> {
    let conn = open(&config).await?;
    let secret = config.load_or_create_secret()?;
    let state = AppState::new(config, conn, secret);
    let reminders = server::queue_due_reminders(&state).await?;
    if reminders > 0 {
        println!("queued {reminders} survey reminders");
    }
    let notices = server::queue_takedown_notices(&state).await?;
    if notices > 0 {
        println!("queued {notices} overdue-takedown notices");
    }
    let nudges = server::queue_nudges(&state).await?;
    if nudges > 0 {
        println!("queued {nudges} to-do reminders and notices");
    }
    let report = state.mail_worker()?.drain().await?;
    println!(
        "outbox: {} sent, {} to retry later, {} failed",
        report.sent, report.retrying, report.failed
    );
    if report.retrying + report.failed > 0 {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// `tsp-ledger learner erase`: the command itself is the confirmation.
async fn erase_learner(config: &Config, email: &str, reason: &str) -> anyhow::Result<()> {
    let conn = open(config).await?;
    // The command itself is the confirmation.
    let done = crate::services::erasure::erase(&conn, &Actor::Cli, email, reason, "true")
        .await
        .map_err(|e| match e {
            ServiceError::Field { field, message } => {
                anyhow::anyhow!("--{field} {message}")
            }
            other => anyhow::anyhow!("{other}"),
        })?;
    for (enrollment, class_ref, course_code, dates) in &done.enrollments {
        println!("erased enrollment {enrollment}: class {class_ref}, {course_code}, {dates}");
    }
    println!("{}", done.summary());
    Ok(())
}

/// `tsp-ledger kpi`: the report as the JSON contract or as text.
async fn kpi(config: &Config, as_of: Option<String>, format: ReportFormat) -> anyhow::Result<()> {
    let as_of = match as_of {
        Some(raw) => parse_date(&raw).map_err(|m| anyhow::anyhow!("--as-of {m}"))?,
        None => crate::clock::now().date_naive(),
    };
    let conn = open(config).await?;
    let report =
        crate::services::kpi::report(&conn, as_of, &crate::domain::kpi::DESIGNATION_2025).await?;
    if format == ReportFormat::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", kpi_text(&report));
    }
    Ok(())
}

/// `tsp-ledger kpi verify` / `kpi rebuild`.
async fn kpi_aggregates(config: &Config, command: KpiCommand) -> anyhow::Result<ExitCode> {
    use crate::services::kpi_aggregates;
    let conn = open(config).await?;
    match command {
        KpiCommand::Verify => {
            let found = kpi_aggregates::verify(&conn).await?;
            let Some(first) = found.first() else {
                println!("KPI aggregates match the raw rows");
                return Ok(ExitCode::SUCCESS);
            };
            eprintln!(
                "KPI aggregates differ from the raw rows in {} row(s); the first: {first}",
                found.len()
            );
            eprintln!("run `tsp-ledger kpi rebuild` to recompute them");
            Ok(ExitCode::FAILURE)
        }
        KpiCommand::Rebuild => {
            kpi_aggregates::rebuild(&conn).await?;
            println!("KPI aggregates rebuilt from the raw rows");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `tsp-ledger demo`: a demo year in an empty database.
async fn demo(config: &Config, seed: u64) -> anyhow::Result<()> {
    let conn = open(config).await?;
    let today = crate::clock::now().date_naive();
    let started = std::time::Instant::now();
    let done = crate::services::demo::run(&conn, seed, today).await?;
    println!(
        "demo data for the 13 months to {today} and the month after (seed {seed}), in {:.1} s:",
        started.elapsed().as_secs_f64()
    );
    for (kind, summary) in &done {
        if summary.updated > 0 || summary.not_ours > 0 {
            // Microsoft's redemption report dates codes the codes file issued.
            println!(
                "  {:<18} {:>6} codes dated, {} not ours",
                kind.id(),
                summary.updated,
                summary.not_ours
            );
        } else {
            println!("  {:<18} {:>6} created", kind.id(), summary.created);
        }
    }
    println!(
        "open {}/ to see the dashboard, or run `tsp-ledger kpi --format text`",
        config.server.public_url.trim_end_matches('/')
    );
    if accounts::count(&conn).await? == 0 {
        println!(
            "no account yet: start the server (`tsp-ledger`) and open the one-time setup link it logs"
        );
    }
    Ok(())
}

/// `tsp-ledger export`: a CSV to standard output or `--output`.
async fn export(config: &Config, args: ExportArgs) -> anyhow::Result<()> {
    let ExportArgs {
        kind,
        as_of,
        figure,
        area,
        class_ref,
        status,
        from,
        to,
        output,
    } = args;
    let conn = open(config).await?;
    let mut out: Box<dyn Write + Send> = match &output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    match kind {
        ExportKind::Classes => {
            let filter = ClassFilter {
                status,
                from: from
                    .map(|d| parse_date(&d))
                    .transpose()
                    .map_err(|m| anyhow::anyhow!("--from {m}"))?,
                to: to
                    .map(|d| parse_date(&d))
                    .transpose()
                    .map_err(|m| anyhow::anyhow!("--to {m}"))?,
                ..Default::default()
            };
            let (sender, writer) = stream_to(out);
            exports::classes(&conn, &filter, Default::default(), sender).await?;
            writer.await?.context("writing the export")?;
        }
        ExportKind::KpiLines => {
            let filter = crate::services::kpi_lines::LineFilter {
                as_of: match as_of {
                    Some(d) => parse_date(&d).map_err(|m| anyhow::anyhow!("--as-of {m}"))?,
                    None => crate::clock::now().date_naive(),
                },
                figure,
                area,
            };
            let (sender, writer) = stream_to(out);
            crate::services::kpi_lines::csv(
                &conn,
                &filter,
                &crate::domain::kpi::DESIGNATION_2025,
                sender,
            )
            .await?;
            writer.await?.context("writing the export")?;
        }
        ExportKind::Roster => {
            let class_ref = class_ref.context("export roster needs --class CLASS_REF")?;
            let class = crate::services::classes::by_ref(&conn, &class_ref.trim().to_uppercase())
                .await?
                .with_context(|| format!("no class {class_ref}"))?;
            out.write_all(&exports::roster(&conn, class.id).await?)?;
            out.flush()?;
        }
    }
    Ok(())
}

/// `tsp-ledger import`: a progress bar on a terminal, every bad row on failure.
async fn import(config: &Config, kind: Kind, path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let conn = open(config).await?;
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(size);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {percent:>3}% {binary_bytes}/{binary_total_bytes} {elapsed} (eta {eta})")
                .expect("progress template")
                .progress_chars("=> "),
        );
        bar.set_message(format!("importing {}", kind.id()));
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = std::time::Instant::now();
    let result = imports::run(
        &conn,
        &Actor::Cli,
        &imports::ImportBy::operator(),
        kind,
        imports::Source::file(path),
        None,
        |pass, bytes| {
            bar.set_message(match pass {
                imports::Pass::Check => format!("checking {}", kind.id()),
                imports::Pass::Write => format!("importing {}", kind.id()),
            });
            bar.set_position(bytes)
        },
    )
    .await;
    bar.finish_and_clear();
    match result {
        Ok(summary) => {
            let seconds = started.elapsed().as_secs_f64();
            if let Some(c) = crate::ledger::checkpoint::write_after_import(&conn, config).await {
                println!("ledger checkpoint of entry {} stored", c.entry_id);
            }
            println!(
                "imported {} from {}: {summary} in {seconds:.1} s ({:.0} rows/s)",
                kind.id(),
                path.display(),
                summary.rows as f64 / seconds.max(1e-9)
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(ImportFailure::Invalid {
            errors,
            total,
            bad_lines,
            checked,
        }) => {
            for e in &errors {
                eprintln!("{e}");
            }
            if total as usize > errors.len() {
                eprintln!("… and {} more", total as usize - errors.len());
            }
            if let Some(note) = checked.note() {
                eprintln!("{note}");
            }
            eprintln!(
                "error: {} has {total} problems on {bad_lines} lines; nothing was imported",
                path.display()
            );
            Ok(ExitCode::FAILURE)
        }
        Err(ImportFailure::Failed(e)) => Err(e.into()),
    }
}

/// The report for a terminal: one line per criterion.
fn kpi_text(r: &crate::domain::kpi::Report) -> String {
    let status = |s: crate::domain::kpi::Status| {
        serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let average = |a: Option<f64>| a.map_or("—".to_string(), |a| format!("{a:.2}"));
    let b = &r.base;
    let mut out = format!(
        "Solutions Partner for Training Services, as of {} (window {} … {})\n",
        r.as_of, r.window.start, r.window.end
    );
    out += &format!("base: {}\n", status(b.status));
    out += &format!(
        "  courseware points  {:>8} / {}  {}\n",
        b.courseware.points,
        b.courseware.threshold,
        status(b.courseware.status)
    );
    out += &format!(
        "  exam points        {:>8} / {}  {}\n",
        b.exams.points,
        b.exams.threshold,
        status(b.exams.status)
    );
    out += &format!(
        "  average score      {:>8} / {}  {}\n",
        average(b.survey_score.average),
        b.survey_score.threshold,
        status(b.survey_score.status)
    );
    for a in &r.solution_areas {
        out += &format!(
            "{:<24} survey points {:>6} / {}  average {:>5}  {}\n",
            a.area,
            a.survey_points,
            a.threshold,
            average(a.average),
            status(a.status)
        );
    }
    out += &format!(
        "qualified: {}  badges: {}  cloud partner: {}\n",
        if r.qualified { "yes" } else { "no" },
        if r.badges.is_empty() {
            "none".to_string()
        } else {
            r.badges.join(", ")
        },
        if r.cloud_partner_badge { "yes" } else { "no" }
    );
    let e = &r.excluded;
    out += &format!(
        "excluded: {} recorded, {} unconfirmed, {} cancelled, {} unofficial classes; {} redeemed codes; {} surveys\n",
        e.classes.recorded,
        e.classes.unconfirmed,
        e.classes.cancelled,
        e.classes.unofficial,
        e.redeemed_codes,
        e.surveys
    );
    out
}

/// A channel whose chunks a blocking task writes to `out`, in order.
fn stream_to(
    mut out: Box<dyn Write + Send>,
) -> (
    tokio::sync::mpsc::Sender<Vec<u8>>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        while let Some(chunk) = receiver.blocking_recv() {
            out.write_all(&chunk)?;
        }
        out.flush()
    });
    (sender, writer)
}
