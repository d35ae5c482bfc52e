//! Prometheus metrics (text exposition format 0.0.4), written by hand: request counts
//! and latency histograms by route template, method and status class, kept in memory
//! since the process started; the outbox's depth is read from the database at scrape
//! time. Labels never hold a raw path: a request that matched no route is `unmatched`.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request};
use axum::http::Method;

/// Upper bounds of the latency buckets, in seconds (`+Inf` is implied).
pub const BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The route label of a request that matched no route (or was refused before routing).
pub const UNMATCHED: &str = "unmatched";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    route: String,
    method: &'static str,
    status: &'static str,
}

#[derive(Debug, Clone, Default)]
struct Series {
    /// Requests whose latency was at most `BUCKETS[i]` (not yet cumulative).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

/// The in-memory registry (one per app state).
pub struct Metrics {
    started: Instant,
    started_at: SystemTime,
    series: Mutex<BTreeMap<Key, Series>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            started_at: SystemTime::now(),
            series: Mutex::new(BTreeMap::new()),
        }
    }
}

/// Methods are a closed set, so a client cannot grow the label space.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

impl Metrics {
    pub fn observe(&self, route: &str, method: &Method, status: u16, latency: Duration) {
        let key = Key {
            route: route.to_string(),
            method: method_label(method),
            status: status_class(status),
        };
        let seconds = latency.as_secs_f64();
        let mut series = self.series.lock().expect("metrics lock");
        let s = series.entry(key).or_default();
        s.count += 1;
        s.sum_seconds += seconds;
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            s.buckets[i] += 1;
        }
    }

    /// The exposition text: request series, then process figures, then `outbox`.
    pub fn render(&self, outbox: Option<&crate::mail::Depth>) -> String {
        let series = self.series.lock().expect("metrics lock").clone();
        let mut out = String::with_capacity(256 + series.len() * 1200);
        out.push_str("# HELP tsp_ledger_http_requests_total HTTP requests answered, by route template, method and status class.\n");
        out.push_str("# TYPE tsp_ledger_http_requests_total counter\n");
        for (k, s) in &series {
            let _ = writeln!(
                out,
                "tsp_ledger_http_requests_total{{{}}} {}",
                labels(k),
                s.count
            );
        }
        out.push_str("# HELP tsp_ledger_http_request_duration_seconds Time from receiving a request to its response head, by route template, method and status class.\n");
        out.push_str("# TYPE tsp_ledger_http_request_duration_seconds histogram\n");
        for (k, s) in &series {
            let l = labels(k);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(s.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "tsp_ledger_http_request_duration_seconds_bucket{{{l},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "tsp_ledger_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "tsp_ledger_http_request_duration_seconds_sum{{{l}}} {}",
                s.sum_seconds
            );
            let _ = writeln!(
                out,
                "tsp_ledger_http_request_duration_seconds_count{{{l}}} {}",
                s.count
            );
        }
        let start = self
            .started_at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        out.push_str("# HELP tsp_ledger_process_start_time_seconds When the process started, in seconds since the Unix epoch.\n");
        out.push_str("# TYPE tsp_ledger_process_start_time_seconds gauge\n");
        let _ = writeln!(out, "tsp_ledger_process_start_time_seconds {start}");
        out.push_str("# HELP tsp_ledger_uptime_seconds Seconds since the process started.\n");
        out.push_str("# TYPE tsp_ledger_uptime_seconds gauge\n");
        let _ = writeln!(
            out,
            "tsp_ledger_uptime_seconds {}",
            self.started.elapsed().as_secs_f64()
        );
        out.push_str("# HELP tsp_ledger_build_info The running version.\n");
        out.push_str("# TYPE tsp_ledger_build_info gauge\n");
        let _ = writeln!(
            out,
            "tsp_ledger_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        out.push_str("# HELP tsp_ledger_database_up Whether the database answered this scrape's queries (1) or not (0).\n");
        out.push_str("# TYPE tsp_ledger_database_up gauge\n");
        let _ = writeln!(out, "tsp_ledger_database_up {}", u8::from(outbox.is_some()));
        if let Some(depth) = outbox {
            out.push_str("# HELP tsp_ledger_outbox_messages E-mails in the outbox not sent yet, by status (queued: waiting or being sent; failed: out of attempts, waiting for a retry on the Outbox page).\n");
            out.push_str("# TYPE tsp_ledger_outbox_messages gauge\n");
            let _ = writeln!(
                out,
                "tsp_ledger_outbox_messages{{status=\"queued\"}} {}",
                depth.queued
            );
            let _ = writeln!(
                out,
                "tsp_ledger_outbox_messages{{status=\"failed\"}} {}",
                depth.failed
            );
            out.push_str("# HELP tsp_ledger_outbox_retrying_messages Queued e-mails whose earlier attempts failed and that wait for their next attempt.\n");
            out.push_str("# TYPE tsp_ledger_outbox_retrying_messages gauge\n");
            let _ = writeln!(
                out,
                "tsp_ledger_outbox_retrying_messages {}",
                depth.retrying
            );
            out.push_str("# HELP tsp_ledger_outbox_failed_messages E-mails that ran out of attempts (status failed); alert when above 0.\n");
            out.push_str("# TYPE tsp_ledger_outbox_failed_messages gauge\n");
            let _ = writeln!(out, "tsp_ledger_outbox_failed_messages {}", depth.failed);
        }
        out
    }
}

fn labels(k: &Key) -> String {
    format!(
        "method=\"{}\",route=\"{}\",status=\"{}\"",
        k.method,
        escape(&k.route),
        k.status
    )
}

/// Label values escape `\`, `"` and line feeds.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Where the innermost layer writes the matched route for the outer one to read.
#[derive(Clone, Default)]
pub struct RouteSlot(Arc<Mutex<Option<String>>>);

impl RouteSlot {
    pub fn take(&self) -> Option<String> {
        self.0.lock().expect("route slot").take()
    }
}

/// Inside routing (a route layer): remembers the matched route template.
pub fn note_route(req: &Request) {
    if let (Some(slot), Some(route)) = (
        req.extensions().get::<RouteSlot>(),
        req.extensions().get::<MatchedPath>(),
    ) {
        *slot.0.lock().expect("route slot") = Some(route.as_str().to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_count_every_request() {
        let m = Metrics::default();
        m.observe("/classes/{id}", &Method::GET, 200, Duration::from_millis(3));
        m.observe(
            "/classes/{id}",
            &Method::GET,
            204,
            Duration::from_millis(30),
        );
        m.observe("/classes/{id}", &Method::GET, 200, Duration::from_secs(60));
        m.observe("/login", &Method::POST, 303, Duration::from_millis(1));
        let text = m.render(None);
        let l = r#"method="GET",route="/classes/{id}",status="2xx""#;
        for line in [
            format!("tsp_ledger_http_requests_total{{{l}}} 3"),
            format!("tsp_ledger_http_request_duration_seconds_bucket{{{l},le=\"0.001\"}} 0"),
            format!("tsp_ledger_http_request_duration_seconds_bucket{{{l},le=\"0.005\"}} 1"),
            format!("tsp_ledger_http_request_duration_seconds_bucket{{{l},le=\"0.05\"}} 2"),
            format!("tsp_ledger_http_request_duration_seconds_bucket{{{l},le=\"10\"}} 2"),
            format!("tsp_ledger_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} 3"),
            format!("tsp_ledger_http_request_duration_seconds_count{{{l}}} 3"),
            r#"tsp_ledger_http_requests_total{method="POST",route="/login",status="3xx"} 1"#
                .to_string(),
            "tsp_ledger_database_up 0".to_string(),
        ] {
            assert!(text.lines().any(|x| x == line), "{line} missing in\n{text}");
        }
        assert!(!text.contains("tsp_ledger_outbox"));
    }

    #[test]
    fn labels_stay_a_closed_set() {
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(status_class(101), "1xx");
        assert_eq!(status_class(599), "5xx");
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
