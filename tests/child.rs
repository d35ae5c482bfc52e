//! The app in a separate process, so that a test can SIGKILL it or run two of them.
//!
//! The app's binary belongs to another package (no `CARGO_BIN_EXE_*` here), so the test
//! binary runs itself again: `current_exe() --exact child::child_process --ignored`, with
//! `TSP_CHILD` naming what to do. The child reads its settings from `TSP_LEDGER__*`
//! variables through the app's own configuration layering, and then runs the same code
//! as `tsp-ledger serve` (`cli::run`) or as `tsp-ledger import` (`services::imports::run`,
//! printing its progress). Its output goes to a log file; dropping the handle kills it.
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::support::SECRET;

const MODE: &str = "TSP_CHILD";
const IMPORT_KIND: &str = "TSP_CHILD_IMPORT_KIND";
const IMPORT_FILE: &str = "TSP_CHILD_IMPORT_FILE";
const ENV_PREFIX: &str = "TSP_LEDGER__";
/// Printed by an import child after each batch of rows: bytes of the file read so far.
const PROGRESS: &str = "child import progress: ";
/// Printed by an import child when `imports::run` returned.
pub const IMPORT_DONE: &str = "child import finished: ";
const SIGKILL: i32 = 9;
/// What `tsp-ledger serve` logs once it has bound its port.
const LISTENING: &str = "listening on http://";

pub struct ChildProcess {
    child: Child,
    name: String,
    /// Holds the log file and the child's data dir.
    dir: tempfile::TempDir,
}

impl ChildProcess {
    /// Starts the test binary again in `mode` with `settings` (`section.key`, value).
    fn spawn(name: &str, mode: &str, settings: &[(&str, String)], env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("child.log")).unwrap();
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "--exact",
                "child::child_process",
                "--ignored",
                "--nocapture",
            ])
            .args(["--test-threads", "1"])
            .env(MODE, mode)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // Only the settings given here: nothing from the developer's environment (the
        // server's "listening on" line must reach the log).
        command.env_remove("RUST_LOG");
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with(ENV_PREFIX)) {
            command.env_remove(key);
        }
        let defaults = [
            ("data.dir", dir.path().display().to_string()),
            ("security.secret_key", hex::encode(SECRET)),
            ("mail.transport", "stub".to_string()),
            ("log.filter", "warn,tsp_ledger=info".to_string()),
        ];
        for (key, value) in defaults.iter().chain(settings) {
            let var = format!("{ENV_PREFIX}{}", key.replace('.', "__").to_uppercase());
            command.env(var, value);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .expect("starting the test binary as a child");
        ChildProcess {
            child,
            name: name.to_string(),
            dir,
        }
    }

    /// Everything the child printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("child.log")).unwrap_or_default()
    }

    /// Panics with the child's output if it has exited.
    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "child {} exited early ({status}):\n{}",
                self.name,
                self.output()
            );
        }
    }

    /// SIGKILL, then reap it. Returns how it ended.
    pub fn kill(&mut self) -> ExitStatus {
        let _ = self.child.kill();
        self.child.wait().unwrap()
    }

    /// SIGKILL; asserts that it was still running, so the signal is what ended it.
    pub fn kill_9(&mut self) {
        let status = self.kill();
        assert_eq!(
            status.signal(),
            Some(SIGKILL),
            "child {} had ended by itself ({status}) before it could be killed:\n{}",
            self.name,
            self.output()
        );
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tsp-ledger serve` in a child process, listening on a loopback port.
pub struct ChildServer {
    pub process: ChildProcess,
    pub base: String,
}

impl ChildServer {
    /// Starts a server on `database_url` (see `imports::cli_config` for PostgreSQL) on a
    /// port of its choosing, and waits until `/healthz` answers. `settings` add to or
    /// override the defaults.
    pub async fn start(name: &str, database_url: &str, settings: &[(&str, String)]) -> Self {
        let mut all = vec![
            ("database.url", database_url.to_string()),
            ("server.bind", "127.0.0.1:0".to_string()),
        ];
        all.extend(settings.iter().cloned());
        let mut process = ChildProcess::spawn(name, "serve", &all, &[]);
        let client = crate::support::http_client()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        // Generous: the machine is shared and a child starts a whole test binary.
        for _ in 0..1200 {
            process.assert_running();
            // `serve` logs "listening on http://127.0.0.1:<port>" once bound.
            let output = process.output();
            if let Some(at) = output.find(LISTENING) {
                let address: String = output[at + LISTENING.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || ".:".contains(*c))
                    .collect();
                let base = format!("http://{address}");
                if let Ok(response) = client.get(format!("{base}/healthz")).send().await
                    && response.status() == 200
                {
                    return ChildServer { process, base };
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "child server {name} did not answer within 2 minutes:\n{}",
            process.output()
        );
    }
}

/// `tsp-ledger import <kind> <file>` in a child process, on `database_url`.
pub fn start_import(database_url: &str, kind: &str, file: &Path) -> ChildProcess {
    let file = file.display().to_string();
    ChildProcess::spawn(
        "import",
        "import",
        &[("database.url", database_url.to_string())],
        &[(IMPORT_KIND, kind), (IMPORT_FILE, &file)],
    )
}

/// Waits until the import child has read (and written into its transaction) at least
/// `bytes` of its file. Panics if it finished or died first.
pub async fn wait_for_import_progress(import: &mut ChildProcess, bytes: u64) {
    for _ in 0..6000 {
        import.assert_running();
        let output = import.output();
        assert!(
            !output.contains(IMPORT_DONE),
            "the import finished before it could be interrupted:\n{output}"
        );
        let read = output
            .lines()
            .filter_map(|l| l.strip_prefix(PROGRESS)?.trim().parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        if read >= bytes {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the import did not reach {bytes} bytes within 5 minutes:\n{}",
        import.output()
    );
}

/// What a child runs. Ignored in a normal run; the tests above start it explicitly.
#[test]
#[ignore = "the body of a child process started by the fault and scale-out tests"]
fn child_process() {
    let Ok(mode) = std::env::var(MODE) else {
        eprintln!("nothing to do: {MODE} is not set (this test runs in child processes)");
        return;
    };
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect();
    let config =
        tsp_ledger::config::Config::load_from(Path::new("/nonexistent"), None, &env).unwrap();
    tsp_ledger::cli::init_logging(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        match mode.as_str() {
            "serve" => {
                tsp_ledger::cli::run(tsp_ledger::cli::Command::Serve, config)
                    .await
                    .unwrap();
            }
            "import" => {
                use tsp_ledger::services::imports::{self, Kind};
                let kind: Kind = std::env::var(IMPORT_KIND).unwrap().parse().unwrap();
                let db = tsp_ledger::db::connect(&config.database).await.unwrap();
                let result = imports::run(
                    &db,
                    &tsp_ledger::ledger::Actor::Cli,
                    &imports::ImportBy::operator(),
                    kind,
                    imports::Source::file(std::env::var(IMPORT_FILE).unwrap().as_ref()),
                    None,
                    |pass, bytes| {
                        // The test kills the import while it writes.
                        if pass == imports::Pass::Write {
                            let mut out = std::io::stdout().lock();
                            let _ = writeln!(out, "{PROGRESS}{bytes}");
                            let _ = out.flush();
                        }
                    },
                )
                .await;
                println!("{IMPORT_DONE}{result:?}");
            }
            other => panic!("unknown {MODE}={other}"),
        }
    });
}
