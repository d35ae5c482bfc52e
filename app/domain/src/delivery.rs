//! Classes: modality, the status lifecycle, confirmation and amendments (SPEC §2).

use chrono::NaiveDate;

use super::role::Role;

id_enum!(Modality {
    InPerson = "in_person" / "Live, in person",
    Virtual = "virtual" / "Live, virtual",
    Recorded = "recorded" / "Recorded",
});

impl Modality {
    /// Live instructor-led (in person or virtual), as opposed to recorded.
    pub fn is_live(self) -> bool {
        !matches!(self, Modality::Recorded)
    }
}

id_enum!(ClassStatus {
    Scheduled = "scheduled" / "Scheduled",
    Delivered = "delivered" / "Delivered",
    Confirmed = "confirmed" / "Confirmed",
    Cancelled = "cancelled" / "Cancelled",
});

impl ClassStatus {
    /// The class was held (delivered, or confirmed by its MCT): its learners may be sent
    /// surveys and given codes.
    pub fn took_place(self) -> bool {
        matches!(self, ClassStatus::Delivered | ClassStatus::Confirmed)
    }
}

/// A step a person takes on a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    MarkDelivered,
    Cancel,
    Confirm,
}

impl ClassStatus {
    /// *Rule — lifecycle*: scheduled → delivered → confirmed; scheduled → cancelled.
    pub fn apply(self, change: StatusChange) -> Result<ClassStatus, String> {
        use ClassStatus::*;
        match (self, change) {
            (Scheduled, StatusChange::MarkDelivered) => Ok(Delivered),
            (Scheduled, StatusChange::Cancel) => Ok(Cancelled),
            (Delivered, StatusChange::Confirm) => Ok(Confirmed),
            (from, change) => Err(format!(
                "a {} class cannot be {}",
                from.id(),
                match change {
                    StatusChange::MarkDelivered => "marked delivered (only a scheduled one can)",
                    StatusChange::Cancel => "cancelled (only a scheduled one can)",
                    StatusChange::Confirm => "confirmed (only a delivered one can)",
                }
            )),
        }
    }

    /// An import records history, so it may move a class forward several steps at once
    /// (a new row may already be `confirmed`), but never backwards.
    pub fn import_to(self, to: ClassStatus) -> Result<ClassStatus, String> {
        use ClassStatus::*;
        let allowed = self == to
            || matches!(
                (self, to),
                (Scheduled, Delivered)
                    | (Scheduled, Confirmed)
                    | (Scheduled, Cancelled)
                    | (Delivered, Confirmed)
            );
        if allowed {
            Ok(to)
        } else {
            Err(format!("cannot go from {} back to {}", self.id(), to.id()))
        }
    }

    /// A confirmed class is a closed record: changes are amendments.
    pub fn is_closed(self) -> bool {
        self == ClassStatus::Confirmed
    }
}

/// *Rule — amendment*: any change to a confirmed class needs a reason, which the ledger
/// keeps with the before/after. Returns the reason to record (none for open classes).
pub fn amendment_reason(status: ClassStatus, reason: &str) -> Result<Option<String>, String> {
    let reason = reason.trim();
    match (status.is_closed(), reason.is_empty()) {
        (true, true) => {
            Err("is required: this class is confirmed, so a change is an amendment".into())
        }
        (true, false) => Ok(Some(reason.to_string())),
        (false, _) => Ok((!reason.is_empty()).then(|| reason.to_string())),
    }
}

/// Who acts on a class: a signed-in user in a role, or the local operator running the
/// CLI (recorded as `cli`), who may load history as it stands in the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acting {
    User(Role),
    Operator,
}

/// Who is confirming a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmer {
    /// The class's own MCT.
    OwnTrainer,
    /// An administrator, on the MCT's behalf, with the reason recorded.
    AdminOnBehalf(String),
    /// The local operator loading confirmed history from the command line.
    Operator,
}

/// *Rule 7 — confirmation*: the class's own MCT confirms; an admin may confirm on their
/// behalf with a reason; the local operator's CLI may load confirmed history; nobody
/// else may (a coordinator never, on any path). `Err(None)` means "not allowed at all".
pub fn confirmer(
    acting: Acting,
    is_own_class: bool,
    reason: &str,
) -> Result<Confirmer, Option<String>> {
    match acting {
        Acting::Operator => Ok(Confirmer::Operator),
        Acting::User(Role::Trainer) if is_own_class => Ok(Confirmer::OwnTrainer),
        Acting::User(Role::Admin) => {
            let reason = reason.trim();
            if reason.is_empty() {
                Err(Some(
                    "reason is required when an admin confirms on the MCT's behalf".into(),
                ))
            } else {
                Ok(Confirmer::AdminOnBehalf(reason.to_string()))
            }
        }
        Acting::User(_) => Err(None),
    }
}

/// A class ends on or after the day it starts.
pub fn check_dates(start: NaiveDate, end: NaiveDate) -> Result<(), String> {
    if end < start {
        Err(format!("must be on or after the start date ({start})"))
    } else {
        Ok(())
    }
}

/// Why a status is untrue of a class's dates: the date field to blame and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntrueStatus {
    pub field: &'static str,
    pub message: String,
}

/// *Rule 7 — delivery truth*: a class is `delivered` only once it has started
/// (`start_date <= today`) and `confirmed` only once it has ended (`end_date <= today`).
/// Dates are calendar days: a class has started on its first day and ended on its last,
/// so the MCT can confirm after the last session. Scheduled and cancelled fit any dates.
/// Every path that sets a status or moves dates (form, amendment, buttons, imports)
/// asks this.
pub fn check_status_dates(
    status: ClassStatus,
    start: NaiveDate,
    end: NaiveDate,
    today: NaiveDate,
) -> Result<(), UntrueStatus> {
    match status {
        ClassStatus::Delivered if start > today => Err(UntrueStatus {
            field: "start_date",
            message: format!(
                "a class is delivered only once it has started: this one starts on {start}, after today ({today})"
            ),
        }),
        ClassStatus::Confirmed if end > today => Err(UntrueStatus {
            field: "end_date",
            message: format!(
                "a class is confirmed only once it has ended: this one ends on {end}, after today ({today})"
            ),
        }),
        _ => Ok(()),
    }
}

/// What can happen only once a class has started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnceStarted {
    TickAttendance,
    IssueCodes,
}

/// *Rule 7 — attendance and codes*: attendance is ticked and achievement codes are
/// issued only once the class has started (`start_date <= today`), never on a cancelled
/// class.
pub fn check_started(
    what: OnceStarted,
    status: ClassStatus,
    start: NaiveDate,
    today: NaiveDate,
) -> Result<(), String> {
    let act = match what {
        OnceStarted::TickAttendance => "attendance is ticked",
        OnceStarted::IssueCodes => "achievement codes are issued",
    };
    if status == ClassStatus::Cancelled {
        Err(format!(
            "the class is cancelled: {act} only for a class that took place"
        ))
    } else if start > today {
        Err(format!(
            "{act} only once the class has started: it starts on {start}, after today ({today})"
        ))
    } else {
        Ok(())
    }
}

/// A retired course can no longer be scheduled; its past deliveries stay on record.
pub fn check_schedulable(
    course_code: &str,
    retired: bool,
    status: ClassStatus,
) -> Result<(), String> {
    if retired && status == ClassStatus::Scheduled {
        Err(format!(
            "{course_code} is retired from the Title Plan and cannot be scheduled"
        ))
    } else {
        Ok(())
    }
}

/// Whether two deliveries' date ranges (inclusive) share a day: an MCT booked on both
/// cannot teach both live.
pub fn dates_overlap(
    (a_start, a_end): (NaiveDate, NaiveDate),
    (b_start, b_end): (NaiveDate, NaiveDate),
) -> bool {
    a_start <= b_end && b_start <= a_end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_overlap_when_they_share_a_day() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let march = (d("2026-03-02"), d("2026-03-05"));
        assert!(dates_overlap(march, (d("2026-03-05"), d("2026-03-06"))));
        assert!(dates_overlap(march, (d("2026-03-03"), d("2026-03-03"))));
        assert!(dates_overlap(march, (d("2026-02-01"), d("2026-04-01"))));
        assert!(!dates_overlap(march, (d("2026-03-06"), d("2026-03-09"))));
        assert!(!dates_overlap(march, (d("2026-02-27"), d("2026-03-01"))));
    }
    use ClassStatus::*;

    #[test]
    fn rule_lifecycle_a_delivered_or_confirmed_class_took_place() {
        assert!(Delivered.took_place() && Confirmed.took_place());
        assert!(!Scheduled.took_place() && !Cancelled.took_place());
    }

    #[test]
    fn rule_lifecycle_scheduled_delivered_confirmed_or_cancelled() {
        assert_eq!(Scheduled.apply(StatusChange::MarkDelivered), Ok(Delivered));
        assert_eq!(Scheduled.apply(StatusChange::Cancel), Ok(Cancelled));
        assert_eq!(Delivered.apply(StatusChange::Confirm), Ok(Confirmed));
        let refused = [
            (Scheduled, StatusChange::Confirm),
            (Delivered, StatusChange::MarkDelivered),
            (Delivered, StatusChange::Cancel),
            (Confirmed, StatusChange::Cancel),
            (Confirmed, StatusChange::Confirm),
            (Cancelled, StatusChange::MarkDelivered),
            (Cancelled, StatusChange::Confirm),
        ];
        for (from, change) in refused {
            let err = from.apply(change).unwrap_err();
            assert!(err.contains(from.id()), "{from:?} {change:?}: {err}");
        }
    }

    #[test]
    fn rule_lifecycle_imports_move_forward_only() {
        assert_eq!(Scheduled.import_to(Confirmed), Ok(Confirmed));
        assert_eq!(Delivered.import_to(Delivered), Ok(Delivered));
        assert!(
            Confirmed
                .import_to(Scheduled)
                .unwrap_err()
                .contains("back to scheduled")
        );
        assert!(Delivered.import_to(Cancelled).is_err());
        assert!(Cancelled.import_to(Delivered).is_err());
    }

    #[test]
    fn rule_amendment_changes_to_a_confirmed_class_need_a_reason() {
        assert!(
            amendment_reason(Confirmed, "  ")
                .unwrap_err()
                .contains("amendment")
        );
        assert_eq!(
            amendment_reason(Confirmed, " typo in dates "),
            Ok(Some("typo in dates".into()))
        );
        assert_eq!(amendment_reason(Delivered, ""), Ok(None));
        assert_eq!(
            amendment_reason(Scheduled, "moved room"),
            Ok(Some("moved room".into()))
        );
    }

    #[test]
    fn rule_7_confirmation_by_own_mct_admin_with_reason_or_the_cli_never_a_coordinator() {
        let user = Acting::User;
        assert_eq!(
            confirmer(user(Role::Trainer), true, ""),
            Ok(Confirmer::OwnTrainer)
        );
        assert_eq!(confirmer(user(Role::Trainer), false, "x"), Err(None));
        assert_eq!(confirmer(user(Role::Coordinator), false, "x"), Err(None));
        assert_eq!(confirmer(user(Role::Coordinator), true, "x"), Err(None));
        assert_eq!(confirmer(user(Role::Viewer), false, "x"), Err(None));
        assert!(
            confirmer(user(Role::Admin), false, " ")
                .unwrap_err()
                .unwrap()
                .contains("reason")
        );
        assert_eq!(
            confirmer(user(Role::Admin), false, "MCT on leave"),
            Ok(Confirmer::AdminOnBehalf("MCT on leave".into()))
        );
        assert_eq!(
            confirmer(Acting::Operator, false, ""),
            Ok(Confirmer::Operator)
        );
    }

    #[test]
    fn rule_7_delivered_once_started_confirmed_once_ended() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let today = d("2026-12-01");
        // (status, start, end, allowed)
        let table = [
            (Scheduled, "2027-01-11", "2027-01-14", true),
            (Cancelled, "2027-01-11", "2027-01-14", true),
            (Delivered, "2026-12-02", "2026-12-03", false),
            (Delivered, "2026-12-01", "2026-12-03", true),
            (Delivered, "2026-11-01", "2026-11-03", true),
            (Confirmed, "2027-01-11", "2027-01-14", false),
            (Confirmed, "2026-11-30", "2026-12-02", false),
            (Confirmed, "2026-11-30", "2026-12-01", true),
            (Confirmed, "2026-11-01", "2026-11-03", true),
        ];
        for (status, start, end, allowed) in table {
            let result = check_status_dates(status, d(start), d(end), today);
            assert_eq!(
                result.is_ok(),
                allowed,
                "{status} {start}..{end}: {result:?}"
            );
        }
        let late =
            check_status_dates(Confirmed, d("2027-01-11"), d("2027-01-14"), today).unwrap_err();
        assert_eq!(late.field, "end_date");
        assert!(late.message.contains("2027-01-14"), "{}", late.message);
        let early =
            check_status_dates(Delivered, d("2026-12-02"), d("2026-12-02"), today).unwrap_err();
        assert_eq!(early.field, "start_date");
    }

    #[test]
    fn rule_7_attendance_and_codes_once_started_never_on_a_cancelled_class() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let today = d("2026-12-01");
        for what in [OnceStarted::TickAttendance, OnceStarted::IssueCodes] {
            assert!(check_started(what, Delivered, d("2026-12-01"), today).is_ok());
            assert!(check_started(what, Scheduled, d("2026-11-30"), today).is_ok());
            assert!(
                check_started(what, Scheduled, d("2026-12-02"), today)
                    .unwrap_err()
                    .contains("2026-12-02")
            );
            assert!(
                check_started(what, Cancelled, d("2026-11-01"), today)
                    .unwrap_err()
                    .contains("cancelled")
            );
        }
    }

    #[test]
    fn modalities_and_statuses_have_spec_ids() {
        let ids: Vec<_> = Modality::ALL.iter().map(|m| m.id()).collect();
        assert_eq!(ids, ["in_person", "virtual", "recorded"]);
        assert!(Modality::InPerson.is_live() && Modality::Virtual.is_live());
        assert!(!Modality::Recorded.is_live());
        assert_eq!("confirmed".parse::<ClassStatus>(), Ok(Confirmed));
        assert!(
            "done"
                .parse::<ClassStatus>()
                .unwrap_err()
                .contains("scheduled, delivered")
        );
    }

    #[test]
    fn class_dates_end_on_or_after_the_start() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert!(check_dates(d("2026-05-02"), d("2026-05-01")).is_err());
        assert!(check_dates(d("2026-05-01"), d("2026-05-01")).is_ok());
    }

    #[test]
    fn retired_courses_cannot_be_scheduled() {
        assert!(
            check_schedulable("AZ-900", true, Scheduled)
                .unwrap_err()
                .contains("AZ-900")
        );
        assert!(check_schedulable("AZ-900", true, Confirmed).is_ok());
        assert!(check_schedulable("AZ-900", false, Scheduled).is_ok());
    }
}
