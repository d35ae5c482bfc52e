//! `tsp-ledger reconcile`: Microsoft's downloads from a script (a monthly cron job), and
//! the months side by side.
use std::process::ExitCode;

use anyhow::Context;

use super::{ReconcileCommand, open};
use crate::config::Config;
use crate::ledger::Actor;
use crate::services::ServiceError;
use crate::services::reconciliation::{self, import};

pub(super) async fn run(config: &Config, command: ReconcileCommand) -> anyhow::Result<ExitCode> {
    let conn = open(config).await?;
    match command {
        ReconcileCommand::Import {
            figure,
            mapping,
            file,
        } => {
            let content = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {} (UTF-8 CSV)", file.display()))?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let result = match import::named(&conn, figure, &mapping).await {
                Ok(chosen) => {
                    let file = import::File {
                        name: &name,
                        content: &content,
                        upload_token: None,
                    };
                    import::write(&conn, &Actor::Cli, file, &chosen, "").await
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(done) => {
                    println!(
                        "{}: {} lines from {} to {} imported (replacing {} earlier lines of those months)",
                        figure.label(),
                        done.import.lines,
                        done.import.first_date,
                        done.import.last_date,
                        done.replaced
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(ServiceError::Refused(message)) => {
                    eprintln!("{message}");
                    Ok(ExitCode::FAILURE)
                }
                Err(ServiceError::Field { field, message }) => {
                    eprintln!("{field}: {message}");
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => Err(e.into()),
            }
        }
        ReconcileCommand::Status => {
            let mut differing = 0;
            for figure in reconciliation::overview(&conn).await? {
                println!("{}", figure.figure.label());
                if figure.months.is_empty() {
                    println!("  no download imported");
                }
                for m in &figure.months {
                    println!(
                        "  {}  here {:>6}  Microsoft {:>6}  {}",
                        m.month.format("%Y-%m"),
                        m.app.units,
                        m.microsoft.units,
                        if m.differs() { "DIFFERS" } else { "same total" }
                    );
                }
                differing += figure.months_differing();
            }
            Ok(if differing == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
