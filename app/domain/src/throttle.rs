//! Sign-in throttling: free attempts, then delays that double, plus a hard hourly cap.
//! A lock always ends, so the real user can get in later.
use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Consecutive failures allowed before the first delay.
    pub free_failures: i32,
    /// At most this many failures per hour window.
    pub max_failures_per_hour: i32,
    /// The longest single delay.
    pub max_delay: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub consecutive_failures: i32,
    pub window_failures: i32,
    pub window_started_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

impl Counter {
    pub fn fresh(now: DateTime<Utc>) -> Counter {
        Counter {
            consecutive_failures: 0,
            window_failures: 0,
            window_started_at: now,
            locked_until: None,
        }
    }
}

const WINDOW: Duration = Duration::hours(1);

/// `Err(until)` while a lock is in force.
pub fn check(counter: &Counter, now: DateTime<Utc>) -> Result<(), DateTime<Utc>> {
    match counter.locked_until {
        Some(until) if until > now => Err(until),
        _ => Ok(()),
    }
}

/// The counter after one more failure, and whether that failure started a lockout.
pub fn register_failure(
    policy: &ThrottlePolicy,
    counter: &Counter,
    now: DateTime<Utc>,
) -> (Counter, bool) {
    let mut next = counter.clone();
    if now - next.window_started_at >= WINDOW {
        next.window_started_at = now;
        next.window_failures = 0;
    }
    next.consecutive_failures += 1;
    next.window_failures += 1;

    let mut until: Option<DateTime<Utc>> = None;
    let over_free = next.consecutive_failures - policy.free_failures;
    if over_free > 0 {
        let seconds = 1i64
            .checked_shl((over_free - 1).min(30) as u32)
            .unwrap_or(i64::MAX);
        let delay = Duration::seconds(seconds).min(policy.max_delay);
        until = Some(now + delay);
    }
    if next.window_failures >= policy.max_failures_per_hour {
        let window_end = next.window_started_at + WINDOW;
        until = Some(until.map_or(window_end, |u| u.max(window_end)));
    }
    let newly_locked = until.is_some();
    if until.is_some() {
        next.locked_until = until;
    }
    (next, newly_locked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            free_failures: 5,
            max_failures_per_hour: 100,
            max_delay: Duration::minutes(15),
        }
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn throttle_allows_free_failures_then_doubles_the_delay() {
        let p = policy();
        let mut c = Counter::fresh(t0());
        let mut now = t0();
        for _ in 0..5 {
            let (n, locked) = register_failure(&p, &c, now);
            assert!(!locked);
            c = n;
            assert!(check(&c, now).is_ok());
        }
        let mut delays = vec![];
        for _ in 0..12 {
            let (n, locked) = register_failure(&p, &c, now);
            assert!(locked);
            let until = n.locked_until.unwrap();
            delays.push((until - now).num_seconds());
            assert!(check(&n, now).is_err());
            now = until;
            assert!(
                check(&n, now).is_ok(),
                "the lock ends, the real user can try again"
            );
            c = n;
        }
        assert_eq!(
            delays,
            vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
        );
    }

    #[test]
    fn throttle_caps_failures_per_hour_per_key() {
        let p = ThrottlePolicy {
            free_failures: 1000,
            ..policy()
        };
        let mut c = Counter::fresh(t0());
        let now = t0() + Duration::minutes(10);
        for i in 1..=100 {
            let (n, locked) = register_failure(&p, &c, now);
            c = n;
            assert_eq!(locked, i == 100, "failure {i}");
        }
        assert_eq!(c.locked_until, Some(t0() + Duration::hours(1)));
        assert!(check(&c, t0() + Duration::minutes(59)).is_err());
        assert!(check(&c, t0() + Duration::hours(1)).is_ok());
        // A new hour starts a new window.
        let (n, locked) = register_failure(&p, &c, t0() + Duration::hours(1));
        assert!(!locked);
        assert_eq!(n.window_failures, 1);
    }
}
