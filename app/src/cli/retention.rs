//! `tsp-ledger retention run | plan`.
use crate::config::Config;
use crate::domain::fields::parse_date;
use crate::ledger::Actor;
use crate::services::retention::{self, Trigger};

use super::RetentionCommand;

pub(super) async fn run(
    conn: &sea_orm::DatabaseConnection,
    config: &Config,
    command: RetentionCommand,
) -> anyhow::Result<()> {
    match command {
        RetentionCommand::Run => {
            let report =
                retention::run(conn, config, &Actor::Cli, crate::clock::now(), Trigger::Now)
                    .await?
                    .expect("a run asked for runs");
            println!("{}", report.summary());
        }
        RetentionCommand::Plan { as_of } => {
            let now = match as_of {
                Some(raw) => parse_date(&raw)
                    .map_err(|m| anyhow::anyhow!("--as-of {m}"))?
                    .and_time(chrono::NaiveTime::MIN)
                    .and_utc(),
                None => crate::clock::now(),
            };
            let plan = retention::plan(conn, config, now).await?;
            print!("{}", plan_text(&plan));
        }
    }
    Ok(())
}

/// The plan for a terminal: one block per category.
pub fn plan_text(plan: &retention::Plan) -> String {
    let mut out = format!(
        "retention as of {} (at most {} roster lines and {} consents a run)\n",
        plan.today, plan.batch_size, plan.batch_size
    );
    for c in &plan.categories {
        out += &format!("{:<17} kept {} ({})\n", c.name, c.kept, c.setting);
        if c.setting_on() {
            out += &format!(
                "{:<17} due now: {}\n",
                "",
                if c.due_text.is_empty() {
                    "nothing"
                } else {
                    &c.due_text
                }
            );
            out += &format!(
                "{:<17} next: {}\n",
                "",
                if c.next_text.is_empty() {
                    "nothing yet"
                } else {
                    &c.next_text
                }
            );
        }
    }
    match &plan.last_run {
        Some(run) => {
            out += &format!(
                "last run: {} by {}: {}\n",
                run.ran_at.format("%Y-%m-%d %H:%M UTC"),
                run.actor,
                run.summary
            )
        }
        None => out += "last run: never\n",
    }
    out
}
