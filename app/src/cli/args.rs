//! The command line's grammar: every command, its arguments and their values (clap).
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::domain::catalog::SolutionArea;
use crate::domain::delivery::ClassStatus;
use crate::domain::role::Role;
use crate::services::imports::Kind;
use crate::services::kpi_lines::Figure;

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

impl Cli {
    /// The command of a command line without the program name, as `main` would parse it
    /// (tests use it to check what the parser accepts and how it refuses).
    pub fn command_from<'a>(args: impl IntoIterator<Item = &'a str>) -> Result<Command, String> {
        let cli = Cli::try_parse_from(std::iter::once("tsp-ledger").chain(args))
            .map_err(|e| e.to_string())?;
        cli.command.ok_or_else(|| "no command".to_string())
    }
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
    /// E-mail outbox.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Learners (who are roster lines, not accounts).
    #[command(subcommand)]
    Learner(LearnerCommand),
    /// Reconciliation with Partner Center: Microsoft's line-item downloads beside the
    /// app's figures.
    #[command(subcommand)]
    Reconcile(ReconcileCommand),
    /// Where the partner stands against the Training Services designation (SPEC §4).
    #[command(args_conflicts_with_subcommands = true)]
    Kpi {
        #[command(subcommand)]
        aggregates: Option<KpiCommand>,
        /// The evaluation date, YYYY-MM-DD (default: today, UTC).
        #[arg(long = "as-of", value_name = "DATE")]
        as_of: Option<String>,
        /// json (the stable contract) or text.
        #[arg(long, value_enum, default_value_t = ReportFormat::Json)]
        format: ReportFormat,
    },
    /// Import a CSV file of one kind: all rows or none.
    Import {
        #[arg(value_enum)]
        kind: Kind,
        /// The CSV file (header row first, UTF-8).
        file: PathBuf,
    },
    /// Fill an empty database with a demo year of a mid-size TSP (for a first look).
    Demo {
        /// Another seed gives other (equally plausible) data.
        #[arg(long, default_value_t = crate::services::demo::DEFAULT_SEED)]
        seed: u64,
    },
    /// Write a CSV export to standard output (or --output FILE).
    Export(ExportArgs),
}

#[derive(clap::Args)]
pub struct ExportArgs {
    #[arg(value_enum)]
    pub kind: ExportKind,
    /// kpi-lines: the evaluation date (default: today).
    #[arg(long = "as-of", value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
    /// kpi-lines: the figure whose line items to export.
    #[arg(long, value_enum, default_value_t = Figure::Courseware)]
    pub figure: Figure,
    /// kpi-lines: only this solution area's survey responses.
    #[arg(long, value_enum)]
    pub area: Option<SolutionArea>,
    /// roster: the class whose roster to export.
    #[arg(long = "class", value_name = "CLASS_REF")]
    pub class_ref: Option<String>,
    /// classes: only this status.
    #[arg(long, value_enum)]
    pub status: Option<ClassStatus>,
    /// classes: starting on or after this date (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// classes: starting on or before this date (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: Role,
        /// Display name (defaults to the part of the e-mail before @).
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
pub enum OutboxCommand {
    /// Queue the survey reminders that are due and today's overdue-takedown notices, send
    /// every message that is due, then exit (for cron, or with no server running).
    Send,
}

#[derive(Subcommand)]
pub enum ReconcileCommand {
    /// Import one of Microsoft's line-item downloads through a named mapping (a preset,
    /// or one saved on the web): every line or none; it replaces Microsoft's earlier
    /// lines of the months it covers.
    Import {
        #[arg(long, value_enum)]
        figure: crate::domain::reconciliation::Figure,
        /// The mapping's name, e.g. "Partner Center: courseware completions".
        #[arg(long)]
        mapping: String,
        /// The CSV file as downloaded.
        file: PathBuf,
    },
    /// Per figure and month, the app's units beside Microsoft's; exit 1 when a month
    /// differs.
    Status,
}

#[derive(Subcommand)]
pub enum LearnerCommand {
    /// Erase a learner on request (SPEC §6): name and e-mail replaced by a placeholder on
    /// every enrollment with this e-mail, their links cancelled, unsent e-mails dropped.
    Erase {
        /// The learner's e-mail (compared case-insensitively).
        #[arg(long)]
        email: String,
        /// The request's reference, kept in the ledger (never the name or e-mail).
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Recompute the hash chain and check the stored checkpoints (and --checkpoint FILE);
    /// exit non-zero naming the first broken entry or what a checkpoint misses.
    Verify {
        /// A checkpoint file kept outside the database: the ledger must still extend it.
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Sign the chain head (entry id, hash, time) with the checkpoint key, store it and
    /// write it to standard output (or --output FILE) to keep somewhere else.
    Checkpoint {
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum KpiCommand {
    /// Recompute the KPI aggregates from the raw codes, responses and classes; exit
    /// non-zero naming the first difference (and how many there are).
    Verify,
    /// Rebuild the KPI aggregates from the raw rows (after `verify` found a difference).
    Rebuild,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// The stable JSON contract.
    Json,
    Text,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportKind {
    Classes,
    Roster,
    KpiLines,
}
