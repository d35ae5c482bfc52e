//! Retention (GDPR storage limitation): how long each category of personal data is kept,
//! and when a record falls due for erasure. Pure rules over dates; the periods are
//! `[retention]` in the app's config, and `services::retention` applies them.
use chrono::{DateTime, Days, Months, NaiveDate, Utc};

/// The periods in force; `None` keeps that category for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Periods {
    /// Learners' names and e-mails: this many months after their class ended.
    pub learner_months: Option<u32>,
    /// Consent evidence (paper notes, their ledger copies, open links): this many months
    /// after the recording was withdrawn.
    pub consent_months: Option<u32>,
    /// Sent and failed e-mails in the outbox: this many days after they were sent (or
    /// queued, for a failed one).
    pub email_days: Option<u32>,
    /// Sign-in sessions: this many days after they were last used or expired.
    pub session_days: Option<u32>,
    /// Spooled files (uploads, mail written as files): this many days after they were
    /// last written.
    pub spool_days: Option<u32>,
}

impl Periods {
    /// Whether any category is erased at all (else the daily job has nothing to do).
    pub fn any(&self) -> bool {
        [
            self.learner_months,
            self.consent_months,
            self.email_days,
            self.session_days,
            self.spool_days,
        ]
        .iter()
        .any(Option::is_some)
    }
}

/// A setting's value: 0 keeps for ever.
pub fn period(value: u32) -> Option<u32> {
    (value > 0).then_some(value)
}

/// *Rule — due N months after*: a record whose clock started on `start` (the class's last
/// day, the recording's withdrawal) is erased on `start + months` (a month-end start
/// lands on the shorter month's last day: 31 January + 1 month is 28 or 29 February).
pub fn due_on(start: NaiveDate, months: u32) -> NaiveDate {
    start
        .checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// *Rule — due N months after*, as a cut-off for a query: the last start date whose
/// record is due on `today` (every start on or before it is, none after it). The same
/// rule as [`due_on`]: `due_on(s) <= today` exactly when `s <= last_start_due(today)`.
pub fn last_start_due(today: NaiveDate, months: u32) -> NaiveDate {
    let mut cutoff = today
        .checked_sub_months(Months::new(months))
        .unwrap_or(NaiveDate::MIN);
    // today − N months can fall short of the last such start at a month's end (29 Feb
    // − 1 month is 29 Jan, but 30 and 31 Jan + 1 month are 29 Feb too).
    while let Some(next) = cutoff.succ_opt() {
        if due_on(next, months) > today {
            break;
        }
        cutoff = next;
    }
    cutoff
}

/// *Rule — due N days after*: a record whose clock started at `at` is erased once
/// `days` whole days have passed, i.e. when `at <= cutoff` for this cut-off.
pub fn days_cutoff(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now.checked_sub_days(Days::new(u64::from(days)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// When a record that started at `at` falls due under a period of `days`.
pub fn due_after_days(at: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    at.checked_add_days(Days::new(u64::from(days)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// *Rule — once a day*: the daily job runs when no run happened yet on `now`'s (UTC)
/// calendar day, so it runs shortly after midnight, once, however often it looks and
/// however many instances look.
pub fn daily_run_due(last_run: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_run.is_none_or(|last| last.date_naive() < now.date_naive())
}

/// The reason each retention erasure carries in the ledger (no personal data: it is made
/// from the setting alone).
pub fn learner_reason(months: u32) -> String {
    format!(
        "retention: learner data {} after the class ended",
        months_text(months)
    )
}

/// The reason of a consent-evidence erasure.
pub fn consent_reason(months: u32) -> String {
    format!(
        "retention: consent evidence {} after the recording was withdrawn",
        months_text(months)
    )
}

pub fn months_text(months: u32) -> String {
    if months == 1 {
        "1 month".into()
    } else {
        format!("{months} months")
    }
}

pub fn days_text(days: u32) -> String {
    if days == 1 {
        "1 day".into()
    } else {
        format!("{days} days")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn rule_learner_data_is_due_n_months_after_the_class_ended() {
        assert_eq!(due_on(d("2024-12-03"), 24), d("2026-12-03"));
        assert_eq!(due_on(d("2024-01-31"), 1), d("2024-02-29"));
        assert_eq!(due_on(d("2023-01-31"), 1), d("2023-02-28"));
        // The day before: not due; the day itself: due.
        let end = d("2024-12-03");
        assert!(end > last_start_due(d("2026-12-02"), 24));
        assert!(end <= last_start_due(d("2026-12-03"), 24));
        // Month ends: every January end from the 29th is due on 29 February.
        assert_eq!(last_start_due(d("2024-02-29"), 1), d("2024-01-31"));
        assert_eq!(last_start_due(d("2024-02-28"), 1), d("2024-01-28"));
        assert_eq!(last_start_due(d("2024-03-31"), 1), d("2024-02-29"));
    }

    #[test]
    fn rule_the_cutoff_and_the_due_date_say_the_same_for_every_day() {
        for months in [1, 2, 6, 12, 13, 24] {
            let mut today = d("2023-12-01");
            while today < d("2025-04-01") {
                let cutoff = last_start_due(today, months);
                let mut start = today - chrono::Duration::days(800);
                while start <= today {
                    assert_eq!(
                        due_on(start, months) <= today,
                        start <= cutoff,
                        "start {start}, today {today}, {months} months"
                    );
                    start = start.succ_opt().unwrap();
                }
                today += chrono::Duration::days(7);
            }
        }
    }

    #[test]
    fn rule_days_periods_count_whole_days() {
        let now: DateTime<Utc> = "2027-01-10T12:00:00Z".parse().unwrap();
        let cutoff = days_cutoff(now, 30);
        assert_eq!(
            cutoff,
            "2026-12-11T12:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let sent: DateTime<Utc> = "2026-12-11T12:00:00Z".parse().unwrap();
        assert!(sent <= cutoff, "exactly 30 days ago: due");
        assert!(
            sent + chrono::Duration::seconds(1) > cutoff,
            "a second later: not yet"
        );
        assert_eq!(due_after_days(sent, 30), now);
    }

    #[test]
    fn rule_zero_keeps_for_ever() {
        assert_eq!(period(0), None);
        assert_eq!(period(36), Some(36));
        assert!(!Periods::default().any());
        let p = Periods {
            spool_days: period(7),
            ..Default::default()
        };
        assert!(p.any());
    }

    #[test]
    fn rule_the_daily_run_runs_once_per_utc_day() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert!(daily_run_due(None, at("2027-01-10T00:10:00Z")));
        assert!(!daily_run_due(
            Some(at("2027-01-10T00:10:00Z")),
            at("2027-01-10T23:59:59Z")
        ));
        assert!(daily_run_due(
            Some(at("2027-01-10T23:59:59Z")),
            at("2027-01-11T00:00:00Z")
        ));
    }

    #[test]
    fn rule_retention_reasons_name_the_period_and_no_one() {
        assert_eq!(
            learner_reason(24),
            "retention: learner data 24 months after the class ended"
        );
        assert_eq!(
            consent_reason(1),
            "retention: consent evidence 1 month after the recording was withdrawn"
        );
    }
}
