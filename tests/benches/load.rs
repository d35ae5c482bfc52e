//! `cargo bench -p tsp-ledger-tests --bench load`: the figures of the README's performance
//! section, measured in one run on one database (SQLite by default; PostgreSQL with
//! `BENCH_DATABASE_URL=postgres://…`, in a schema of its own that is dropped afterwards).
//!
//! 1. roster import rows/s (the import engine, all rows in one transaction);
//! 2. the class-list page (four filtered views) and, as its reference, the same server's
//!    sign-in page, in requests/s at 16 connections, loaded by `wrk` (a process of its
//!    own; without `wrk`, by this process's own HTTP clients);
//!    Its reference: the same rows as plain multi-row INSERTs run by `sqlite3` / `psql`;
//! 3. survey submissions/s and p99 at 64 connections, each link answered once, loaded by
//!    `wrk` with a Lua script (without `wrk`, by 64 of this process's clients); every
//!    answer that got its thank-you page is checked stored;
//! 4. the KPI report next to the same statements run by `sqlite3` / `psql`, as a ratio;
//! 5. peak memory of the server process: the heap (anonymous memory, sampled every
//!    50 ms) and the resident set (VmHWM).
//!
//! The server is the release binary `tsp-ledger` (build it first: `cargo build --release`;
//! or name another with BENCH_SERVER), run as its own process on the bench database.
//!
//! Sizes: BENCH_CLASSES (default 1 000 000), BENCH_LEARNERS (roster rows, 1 000 000),
//! BENCH_SURVEYS (invitations answered, 20 000), BENCH_SECONDS (per load phase, 10).
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection};
use tsp_ledger::config::Config;
use tsp_ledger::domain::kpi::{DESIGNATION_2025, window};
use tsp_ledger::ledger::Actor;
use tsp_ledger::services::imports::{self, Kind};
use tsp_ledger::state::AppState;

const CLIENTS: usize = 64;
const TODAY: &str = "2026-11-22";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// A `/proc/<pid>/status` field in MiB.
fn status_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The largest anonymous (heap) memory seen so far, sampled every 50 ms. The resident set
/// also counts SQLite's memory-mapped database file once per connection that touched it,
/// which says nothing about what the process allocates.
static PEAK_HEAP_KIB: AtomicUsize = AtomicUsize::new(0);

fn sample_memory(pid: u32) {
    std::thread::spawn(move || {
        loop {
            let kib = (status_mib(pid, "RssAnon:") * 1024.0) as usize;
            PEAK_HEAP_KIB.fetch_max(kib, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(50));
        }
    });
}

/// Peak heap so far and the peak resident set (VmHWM) of `pid`, in MiB.
fn memory(pid: u32) -> String {
    format!(
        "peak heap {:.0} MiB, peak resident {:.0} MiB",
        PEAK_HEAP_KIB.load(Ordering::Relaxed) as f64 / 1024.0,
        status_mib(pid, "VmHWM:")
    )
}

/// The CSRF and token secret the bench and its server share.
const SECRET: [u8; 32] = [7u8; 32];

/// The release binary serving the bench database, as its own process (killed on drop).
struct Server {
    child: std::process::Child,
    base: String,
}

impl Server {
    async fn spawn(t: &Target) -> Server {
        let binary = std::env::var("BENCH_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                // target/release/deps/load-… → target/release/tsp-ledger
                let exe = std::env::current_exe().unwrap();
                exe.parent()
                    .and_then(|d| d.parent())
                    .unwrap()
                    .join("tsp-ledger")
            });
        assert!(
            binary.exists(),
            "{} is missing: run `cargo build --release` first (or set BENCH_SERVER)",
            binary.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = match &t.postgres {
            Some((url, schema)) => format!(
                "{url}{}options=-c%20search_path%3D{schema}",
                if url.contains('?') { "&" } else { "?" }
            ),
            None => t.config.database.url.clone(),
        };
        let data = t._dir.path().join("server");
        std::fs::create_dir_all(&data).unwrap();
        let child = std::process::Command::new(&binary)
            .env("TSP_LEDGER__DATABASE__URL", url)
            .env("TSP_LEDGER__DATABASE__MAX_CONNECTIONS", "16")
            .env("TSP_LEDGER__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env(
                "TSP_LEDGER__SERVER__PUBLIC_URL",
                format!("http://127.0.0.1:{port}"),
            )
            .env("TSP_LEDGER__DATA__DIR", &data)
            .env("TSP_LEDGER__SECURITY__SECRET_KEY", hex::encode(SECRET))
            // Mail as a fresh install sends it: one file per message in its data
            // directory (the stub transport keeps every message in memory, which is what
            // the heap figure measured before 2026-12-04 evening).
            .env("TSP_LEDGER__MAIL__TRANSPORT", "file")
            // Its request log at the default level, written where nobody reads it (as to
            // a journal): formatting it is part of serving.
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        // Held from here on, so the child is killed and reaped on every path.
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = http.get(format!("{}/healthz", server.base)).send().await
                && r.status().is_success()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server at {} did not become healthy", server.base);
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// What one `wrk` run printed.
struct WrkRun {
    rps: f64,
    p50: f64,
    p99: f64,
    /// Responses outside 2xx/3xx.
    bad: u64,
    /// The script's own `done` output.
    stdout: String,
}

/// Runs `wrk` with `script` (Lua) against `base`: `None` without `wrk`.
fn wrk_run(base: &str, script: &str, connections: usize, seconds: u64) -> Option<WrkRun> {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), script).unwrap();
    let output = std::process::Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(file.path())
        .arg(base)
        .output()
        .ok()?;
    parse_wrk(String::from_utf8_lossy(&output.stdout).to_string())
}

/// The figures of wrk's printed summary.
fn parse_wrk(text: String) -> Option<WrkRun> {
    let field = |prefix: &str| -> Option<String> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_string()))
    };
    let ms = |v: &str| -> f64 {
        let number = |suffix: &str| v.trim_end_matches(suffix).parse::<f64>().unwrap_or(0.0);
        if v.ends_with("us") {
            number("us") / 1000.0
        } else if v.ends_with("ms") {
            number("ms")
        } else {
            number("s") * 1000.0
        }
    };
    Some(WrkRun {
        rps: field("Requests/sec:")?.parse().ok()?,
        p50: ms(&field("50%")?),
        p99: ms(&field("99%")?),
        bad: field("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        stdout: text,
    })
}

/// `wrk` at 16 connections for `seconds` on `paths` (taken in turn), with `cookie`.
fn wrk_pages(base: &str, paths: &[&str], cookie: &str, seconds: u64) -> Option<WrkRun> {
    let list: Vec<String> = paths.iter().map(|p| format!("{p:?}")).collect();
    let script = format!(
        "local paths = {{{}}}\nlocal i = 0\nwrk.headers[\"Cookie\"] = {cookie:?}\n\
         request = function()\n  i = i + 1\n  return wrk.format(\"GET\", paths[(i % #paths) + 1])\nend\n",
        list.join(", ")
    );
    wrk_run(base, &script, 16, seconds)
}

/// `wrk` answering each survey link of `tokens` once, from `connections` connections,
/// with the anonymous CSRF `cookie` and `csrf` field. wrk runs for its whole `-d`, so the
/// bench watches the responses arrive in `db` and stops it (SIGINT: it prints its
/// summary) once every link is answered. Returns the seconds until then, the run, and how
/// many answers got their thank-you page (200), which the script counts itself.
async fn wrk_surveys(
    db: &DatabaseConnection,
    base: &str,
    tokens: &[String],
    cookie: &str,
    csrf: &str,
    connections: usize,
) -> Option<(f64, WrkRun, usize)> {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let stored = || async {
        entity::survey_responses::Entity::find()
            .count(db)
            .await
            .unwrap() as usize
    };
    let before = stored().await;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), tokens.join("\n") + "\n").unwrap();
    let script = format!(
        r#"local tokens = {{}}
for line in io.lines({path:?}) do tokens[#tokens + 1] = line end
local threads = {{}}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  next_token = id + 1
  -- wrk calls the first thread's request() once more to check it, and never sends that.
  checked = id ~= 0
  thanked = 0
  other = 0
  other_status = 0
end
local body = "_csrf=" .. {csrf:?} .. "&q1=5&q2=4&q3=5&q4=4&q5=5&comment=Great+class"
local headers = {{}}
headers["Content-Type"] = "application/x-www-form-urlencoded"
headers["Cookie"] = {cookie:?}
request = function()
  if not checked then
    checked = true
    return wrk.format("POST", "/survey/" .. tokens[1], headers, body)
  end
  -- Two threads: each takes every other link; once they are used up, a thread repeats
  -- its last one (answered 409, not counted) until the bench stops wrk.
  local token = tokens[math.min(next_token, #tokens)]
  next_token = next_token + 2
  return wrk.format("POST", "/survey/" .. token, headers, body)
end
response = function(status, headers, body)
  if status == 200 then
    thanked = thanked + 1
  else
    other = other + 1
    other_status = status
  end
end
function done(summary, latency, requests)
  local total, rest, status = 0, 0, 0
  for _, t in ipairs(threads) do
    total = total + t:get("thanked")
    rest = rest + t:get("other")
    if t:get("other_status") ~= 0 then status = t:get("other_status") end
  end
  io.write(string.format("THANKED %d OTHER %d LAST %d\n", total, rest, status))
end
"#,
        path = file.path().display().to_string(),
    );
    let script_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(script_file.path(), script).unwrap();
    let t0 = Instant::now();
    let child = std::process::Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            "-d600s",
            "--latency",
            "-s",
        ])
        .arg(script_file.path())
        .arg(base)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    // Every link answered, or no progress for 5 s (answers refused): stop wrk.
    let (mut last, mut last_change) = (before, Instant::now());
    let elapsed = loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = stored().await;
        if now >= before + tokens.len() {
            break t0.elapsed().as_secs_f64();
        }
        if now != last {
            (last, last_change) = (now, Instant::now());
        } else if last_change.elapsed() > Duration::from_secs(5) {
            break last_change.duration_since(t0).as_secs_f64();
        }
    };
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let run = parse_wrk(text)?;
    let counts: Vec<usize> = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("THANKED "))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect()
        })?;
    if counts.first() != Some(&tokens.len()) {
        println!(
            "wrk: {} answers thanked, {} other responses (last status {})",
            counts[0], counts[1], counts[2]
        );
    }
    Some((elapsed, run, counts[0]))
}

struct Target {
    db: DatabaseConnection,
    config: Config,
    /// PostgreSQL: (admin URL, schema) to run `psql` in and to drop at the end.
    postgres: Option<(String, String)>,
    sqlite_file: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

async fn target() -> Target {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::load_from(std::path::Path::new("/nonexistent"), None, &[]).unwrap();
    config.data.dir = dir.path().to_path_buf();
    config.mail.transport = tsp_ledger::config::MailTransport::Stub;
    config.database.max_connections = 16;
    match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let schema = format!("bench_{}", std::process::id());
            let admin = sea_orm::Database::connect(&url).await.unwrap();
            admin
                .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
                .await
                .unwrap();
            admin.close().await.ok();
            let db = tsp_ledger::db::connect_url(&url, 16, 5000, Some(&schema))
                .await
                .unwrap();
            config.database.url = url.clone();
            Target {
                db,
                config,
                postgres: Some((url, schema)),
                sqlite_file: None,
                _dir: dir,
            }
        }
        _ => {
            let file = dir.path().join("bench.db");
            config.database.url = format!("sqlite://{}?mode=rwc", file.display());
            let db = tsp_ledger::db::connect(&config.database).await.unwrap();
            Target {
                db,
                config,
                postgres: None,
                sqlite_file: Some(file),
                _dir: dir,
            }
        }
    }
}

async fn import(db: &DatabaseConnection, kind: Kind, csv: String) -> imports::Summary {
    imports::run(
        db,
        &Actor::Cli,
        &imports::ImportBy::operator(),
        kind,
        imports::Source::bytes(csv.as_bytes()),
        None,
        |_, _| {},
    )
    .await
    .unwrap_or_else(|e| panic!("{kind:?} import: {e:?}"))
}

/// Courses, MCTs and `classes` classes (the classes straight into the table: what is
/// measured is reading them, and a million ledgered creations would only slow this down).
async fn catalog(db: &DatabaseConnection, classes: usize, postgres: bool) {
    let areas = [
        "data_ai",
        "infrastructure",
        "digital_app_innovation",
        "business_applications",
        "modern_work",
        "security",
    ];
    let mut tp = String::from(
        "course_code,title,duration_days,fundamentals,solution_area,content,courseware_version\n",
    );
    for i in 0..200 {
        tp.push_str(&format!(
            "CRS-{i:03},Course number {i},{},{},{},official,1\n",
            1 + i % 5,
            i % 7 == 0,
            areas[i % 6]
        ));
    }
    import(db, Kind::TitlePlan, tp).await;
    let mut tr = String::from("name,email,mct_id,mct_valid_until,affiliated\n");
    for i in 0..50 {
        tr.push_str(&format!(
            "Trainer {i},mct{i}@example.com,MCT-{i:03},2030-12-31,true\n"
        ));
    }
    import(db, Kind::Trainers, tr).await;
    let (numbers, day, now) = if postgres {
        (
            format!("generate_series(1, {classes}) AS n(i)"),
            "DATE '2025-06-01' + (i % 500)::int",
            "TIMESTAMPTZ '2026-01-01 00:00:00+00'",
        )
    } else {
        (
            format!(
                "(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {classes}) SELECT i FROM c) AS n"
            ),
            "date('2025-06-01', '+' || (i % 500) || ' days')",
            "'2026-01-01 00:00:00+00:00'",
        )
    };
    db.execute_unprepared(&format!(
        "INSERT INTO classes (class_ref, course_id, trainer_id, start_date, end_date, modality, status, created_at, updated_at) \
         SELECT 'B-' || i, 1 + i % 200, 1 + i % 50, {day}, {day}, \
         CASE WHEN i % 10 = 0 THEN 'virtual' ELSE 'in_person' END, 'confirmed', {now}, {now} FROM {numbers}"
    ))
    .await
    .unwrap();
    let analyze = if postgres {
        "VACUUM ANALYZE"
    } else {
        "ANALYZE"
    };
    db.execute_unprepared(analyze).await.unwrap();
}

/// Latencies of a load phase: requests/s, p50 and p99 in ms.
fn summary(mut latencies: Vec<Duration>, elapsed: Duration) -> (f64, f64, f64) {
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    (
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50),
        at(0.99),
    )
}

/// Runs `CLIENTS` loops of `request(i)` for `seconds` (or until `limit` requests); returns
/// the latencies of the 2xx answers and how many were not 2xx.
async fn load<F, Fut>(seconds: u64, limit: usize, request: F) -> (Vec<Duration>, usize, Duration)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (request, next, failures) = (request.clone(), next.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limit {
                    break;
                }
                let t = Instant::now();
                if request(i).await {
                    latencies.push(t.elapsed());
                } else {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (all, failures.load(Ordering::Relaxed), started.elapsed())
}

/// Times `run` (best of 3), in seconds.
async fn best_of_3<F, Fut>(mut run: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        run().await;
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

/// The database's own command-line client on the bench database, reading SQL from stdin.
fn database_cli(t: &Target) -> std::process::Command {
    match (&t.postgres, &t.sqlite_file) {
        (Some((url, schema)), _) => {
            let mut c = std::process::Command::new("psql");
            c.args(["-X", "-q", "-o", "/dev/null", "-v", "ON_ERROR_STOP=1", url])
                .env("PGOPTIONS", format!("-c search_path={schema}"));
            c
        }
        (None, Some(file)) => {
            let mut c = std::process::Command::new("sqlite3");
            // The app maps the file (PRAGMA mmap_size in app/src/db.rs); so does the CLI.
            c.args([
                "-bail",
                "-cmd",
                ".output /dev/null",
                "-cmd",
                "PRAGMA mmap_size = 1073741824",
            ])
            .arg(file);
            c
        }
        _ => unreachable!(),
    }
}

/// Runs `sql` in the database's own client: seconds taken.
fn run_in_cli(t: &Target, sql: &str) -> f64 {
    use std::io::Write;
    let t0 = Instant::now();
    let mut child = database_cli(t)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the database CLI (sqlite3 or psql) is installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "the CLI ran the statements"
    );
    t0.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let classes = env_usize("BENCH_CLASSES", 1_000_000);
    let learners = env_usize("BENCH_LEARNERS", 1_000_000);
    let surveys = env_usize("BENCH_SURVEYS", 20_000);
    let seconds = env_usize("BENCH_SECONDS", 10) as u64;
    let t = target().await;
    let postgres = t.postgres.is_some();
    let backend = if postgres { "PostgreSQL" } else { "SQLite" };
    println!(
        "tsp-ledger load benchmark on {backend}: {classes} classes, {learners} learners, {surveys} surveys, {CLIENTS} clients"
    );
    tsp_ledger::db::migrate(&t.db).await.unwrap();
    let t0 = Instant::now();
    catalog(&t.db, classes, postgres).await;
    println!(
        "setup: {classes} classes in {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    // 1. Roster import: `learners` rows over the first classes, 50 per class.
    let mut csv = String::with_capacity(learners * 48);
    csv.push_str("class_ref,learner_name,learner_email,attended\n");
    for i in 0..learners {
        csv.push_str(&format!(
            "B-{},Learner {i},l{i}@example.com,true\n",
            1 + i / 50
        ));
    }
    let t0 = Instant::now();
    let summary_rows = import(&t.db, Kind::Roster, csv).await;
    let import_s = t0.elapsed().as_secs_f64();
    println!(
        "roster import: {} rows in {import_s:.1} s = {:.0} rows/s",
        summary_rows.rows,
        summary_rows.rows as f64 / import_s,
    );
    // Its reference: the same rows as plain multi-row INSERTs (500 per statement, one
    // transaction) in the database's own client, onto classes the import did not touch
    // (the same table, indexes and triggers; no validation, no ledger), then removed.
    let offset = classes / 2;
    if offset > learners / 50 + 1 {
        let stamp = "'2026-01-01 00:00:00+00:00'";
        let mut sql = String::with_capacity(learners * 120);
        sql.push_str("BEGIN;\n");
        for start in (0..learners).step_by(500) {
            sql.push_str("INSERT INTO enrollments (class_id, learner_name, learner_email, email_key, attended, created_at, updated_at) VALUES ");
            for i in start..(start + 500).min(learners) {
                if i > start {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "({},'Learner {i}','l{i}@example.com','l{i}@example.com',TRUE,{stamp},{stamp})",
                    offset + 1 + i / 50
                ));
            }
            sql.push_str(";\n");
        }
        sql.push_str("COMMIT;\n");
        let raw_s = run_in_cli(&t, &sql);
        println!(
            "roster import reference: the same {learners} rows as multi-row INSERTs in {}: {raw_s:.1} s = {:.0} rows/s (import / raw {:.2})",
            if postgres { "psql" } else { "sqlite3" },
            learners as f64 / raw_s,
            (summary_rows.rows as f64 / import_s) / (learners as f64 / raw_s),
        );
        t.db.execute_unprepared(&format!(
            "DELETE FROM enrollments WHERE class_id > {offset}"
        ))
        .await
        .unwrap();
    }
    if postgres {
        t.db.execute_unprepared("VACUUM ANALYZE").await.unwrap();
    } else {
        t.db.execute_unprepared("ANALYZE").await.unwrap();
    }

    // The release binary serving this database on a loopback port, as its own process.
    // `state` is the bench's own handle on the same database (accounts, sessions, tokens).
    let state = AppState::new(t.config.clone(), t.db.clone(), SECRET);
    tsp_ledger::install_tls_provider();
    let server = Server::spawn(&t).await;
    let base = server.base.clone();
    sample_memory(server.pid());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // 2. The class list, signed in as a viewer.
    let viewer = tsp_ledger::services::accounts::create(
        &t.db,
        &state.hasher,
        &Actor::Cli,
        tsp_ledger::services::accounts::NewAccount {
            email: tsp_ledger::domain::account::Email::parse("bench@example.com").unwrap(),
            name: "Bench Viewer".into(),
            role: tsp_ledger::domain::role::Role::Viewer,
            password: "bench-password-1".into(),
        },
    )
    .await
    .unwrap();
    let session = tsp_ledger::auth::session::create(&t.db, &state.sessions, viewer.id)
        .await
        .unwrap();
    let cookie = format!(
        "{}={}",
        tsp_ledger::auth::session::COOKIE,
        session.cookie_value
    );
    let pages = [
        "/classes",
        "/classes?status=confirmed",
        "/classes?q=B-12",
        "/classes?modality=virtual&status=confirmed",
    ];
    match (
        wrk_pages(&base, &pages, &cookie, seconds),
        wrk_pages(&base, &["/login"], "", seconds),
    ) {
        (Some(list), Some(login)) => {
            println!(
                "class list ({classes} classes), wrk 16 connections: {:.0} requests/s, p50 {:.1} ms, p99 {:.1} ms, {} not 2xx",
                list.rps, list.p50, list.p99, list.bad
            );
            println!(
                "sign-in page of the same server, wrk 16 connections: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms; ratio class list / sign-in {:.3}",
                login.rps,
                login.p50,
                login.p99,
                list.rps / login.rps
            );
        }
        _ => {
            println!("wrk is not installed (apt-get install wrk): loading from this process");
            let (http, base, cookie) = (http.clone(), base.clone(), cookie.clone());
            let (latencies, failed, elapsed) = load(seconds, usize::MAX, move |i| {
                let request = http
                    .get(format!("{base}{}", pages[i % pages.len()]))
                    .header("cookie", cookie.clone());
                async move {
                    match request.send().await {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    }
                }
            })
            .await;
            let (rps, p50, p99) = summary(latencies, elapsed);
            println!(
                "class list ({classes} classes): {rps:.0} requests/s, p50 {p50:.1} ms, p99 {p99:.1} ms, {failed} failed"
            );
        }
    }

    println!(
        "memory of the server process after the class list: {}",
        memory(server.pid())
    );

    // 3. Survey submissions: invitations for the learners of the first classes, then each
    // client answers distinct links (one anonymous CSRF nonce, as a browser would hold).
    let classes_needed = surveys.div_ceil(50);
    let class_ids: Vec<i64> = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
        entity::classes::Entity::find()
            .select_only()
            .column(entity::classes::Column::Id)
            .filter(entity::classes::Column::Id.lte(classes_needed as i64))
            .order_by_asc(entity::classes::Column::Id)
            .into_tuple()
            .all(&t.db)
            .await
            .unwrap()
    };
    for id in &class_ids {
        tsp_ledger::services::surveys::send_invitations(
            &t.db,
            &Actor::Cli,
            &state.config.surveys,
            *id,
            &base,
            &state.secret,
        )
        .await
        .unwrap();
    }
    let enrollments: Vec<i64> = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
        entity::enrollments::Entity::find()
            .select_only()
            .column(entity::enrollments::Column::Id)
            .filter(entity::enrollments::Column::ClassId.is_in(class_ids.clone()))
            .order_by_asc(entity::enrollments::Column::Id)
            .limit(surveys as u64)
            .into_tuple()
            .all(&t.db)
            .await
            .unwrap()
    };
    let tokens: Arc<Vec<String>> = Arc::new(
        enrollments
            .iter()
            .map(|id| {
                tsp_ledger::auth::derived_token(
                    &state.secret,
                    tsp_ledger::services::surveys::SURVEY_TOKEN,
                    *id,
                )
            })
            .collect(),
    );
    let nonce = tsp_ledger::auth::random_token();
    let csrf = tsp_ledger::auth::csrf::anonymous_token(&state.secret, &nonce);
    let cookie = format!("{}={nonce}", tsp_ledger::auth::csrf::NONCE_COOKIE);
    let (sps, p50, p99, acknowledged, loader) =
        match wrk_surveys(&t.db, &base, &tokens, &cookie, &csrf, CLIENTS).await {
            Some((seconds, run, thanked)) => (
                thanked as f64 / seconds,
                run.p50,
                run.p99,
                thanked,
                format!("wrk, {CLIENTS} connections"),
            ),
            None => {
                let answered = Arc::new(std::sync::Mutex::new(Vec::new()));
                let (http, base, tokens, answered2) =
                    (http.clone(), base.clone(), tokens.clone(), answered.clone());
                let (latencies, failed, elapsed) = load(seconds.max(60), tokens.len(), move |i| {
                    let request = http
                        .post(format!("{base}/survey/{}", tokens[i]))
                        .header("cookie", cookie.clone())
                        .form(&[
                            ("_csrf", csrf.as_str()),
                            ("q1", "5"),
                            ("q2", "4"),
                            ("q3", "5"),
                            ("q4", "4"),
                            ("q5", "5"),
                            ("comment", "Great class"),
                        ]);
                    let answered = answered2.clone();
                    async move {
                        match request.send().await {
                            Ok(r) if r.status().is_success() => {
                                answered.lock().unwrap().push(i);
                                true
                            }
                            _ => false,
                        }
                    }
                })
                .await;
                let (sps, p50, p99) = summary(latencies, elapsed);
                let acknowledged = answered.lock().unwrap().len();
                (
                    sps,
                    p50,
                    p99,
                    acknowledged,
                    format!("{CLIENTS} in-process clients, {failed} failed"),
                )
            }
        };
    let stored: i64 = {
        use sea_orm::{EntityTrait, PaginatorTrait};
        entity::survey_responses::Entity::find()
            .count(&t.db)
            .await
            .unwrap() as i64
    };
    println!(
        "survey submissions ({loader}): {sps:.0} /s, p50 {p50:.1} ms, p99 {p99:.1} ms ({acknowledged} thanked, {stored} stored)"
    );
    assert_eq!(
        stored as usize, acknowledged,
        "every acknowledged response is stored"
    );

    // 4. KPI: one redeemed code and one response for every learner, then the report next
    // to the very same statements in the database's own CLI.
    let (day, now) = if postgres {
        (
            "DATE '2025-10-01' + (id % 420)::int",
            "TIMESTAMPTZ '2026-01-01 00:00:00+00'",
        )
    } else {
        (
            "date('2025-10-01', '+' || (id % 420) || ' days')",
            "'2026-01-01 00:00:00+00:00'",
        )
    };
    t.db.execute_unprepared(&format!(
        "INSERT INTO achievement_codes (code, enrollment_id, issued_on, redeemed_on, created_at, updated_at) \
         SELECT 'AC-' || id, id, '2025-10-01', {day}, {now}, {now} FROM enrollments"
    ))
    .await
    .unwrap();
    t.db.execute_unprepared(&format!(
        "INSERT INTO survey_responses (enrollment_id, q1, q2, q3, q4, q5, submitted_on, source, created_at) \
         SELECT id, 1 + id % 5, 1 + (id / 5) % 5, CASE WHEN id % 7 = 0 THEN NULL ELSE 4 END, 5, NULL, {day}, 'import', {now} \
         FROM enrollments e WHERE NOT EXISTS (SELECT 1 FROM survey_responses r WHERE r.enrollment_id = e.id)"
    ))
    .await
    .unwrap();
    t.db.execute_unprepared(if postgres {
        "VACUUM ANALYZE"
    } else {
        "ANALYZE"
    })
    .await
    .unwrap();
    let as_of: chrono::NaiveDate = TODAY.parse().unwrap();
    // Every call computes (no cache): "cold" at any write rate.
    let report_from = |source| {
        let db = &t.db;
        async move {
            tsp_ledger::services::kpi::report_from(db, as_of, &DESIGNATION_2025, source)
                .await
                .unwrap()
        }
    };
    use tsp_ledger::services::kpi::Source;
    assert_eq!(
        report_from(Source::Aggregates).await,
        report_from(Source::RawRows).await,
        "the aggregates and the raw rows give the same report"
    );
    let aggregates_s = best_of_3(|| async {
        report_from(Source::Aggregates).await;
    })
    .await;
    let app_s = best_of_3(|| async {
        report_from(Source::RawRows).await;
    })
    .await;
    let (start, end) = window(as_of, DESIGNATION_2025.window_months);
    let sql: String = tsp_ledger::services::kpi::scan_statements()
        .iter()
        .map(|s| {
            s.replacen('?', &format!("'{start}'"), 1)
                .replacen('?', &format!("'{end}'"), 1)
                + ";\n"
        })
        .collect();
    let raw_s = (0..3)
        .map(|_| run_in_cli(&t, &sql))
        .fold(f64::INFINITY, f64::min);
    println!(
        "KPI report ({learners} codes, {learners} responses), cold: from the aggregates {:.1} ms; \
         scanning the raw rows {app_s:.2} s; the same scan queries in {}: {raw_s:.2} s (ratio {:.2})",
        aggregates_s * 1000.0,
        if postgres { "psql" } else { "sqlite3" },
        app_s / raw_s
    );
    println!("memory of the server process: {}", memory(server.pid()));
    drop(server);

    if let Some((url, schema)) = &t.postgres {
        t.db.close().await.ok();
        let admin = sea_orm::Database::connect(url).await.unwrap();
        admin
            .execute_unprepared(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
    }
}
