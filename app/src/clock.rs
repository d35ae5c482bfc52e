use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// The current time truncated to microseconds: what PostgreSQL stores, so a value read
/// back equals the value written (the ledger hashes it) on every backend.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(now)
}
