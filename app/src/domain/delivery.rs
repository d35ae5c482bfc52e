//! Classes: modality, the status lifecycle, confirmation and amendments (SPEC §2).
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use super::role::Role;

macro_rules! id_enum {
    ($name:ident { $($variant:ident = $id:literal / $label:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn id(self) -> &'static str {
                match self { $($name::$variant => $id),+ }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let s = s.trim();
                $name::ALL.iter().copied().find(|v| v.id() == s).ok_or_else(|| {
                    let ids: Vec<_> = $name::ALL.iter().map(|v| v.id()).collect();
                    format!("must be one of {}, not {s:?}", ids.join(", "))
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.id())
            }
        }
    };
}

pub(crate) use id_enum;

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

/// Who is confirming a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmer {
    /// The class's own MCT.
    OwnTrainer,
    /// An administrator, on the MCT's behalf, with the reason recorded.
    AdminOnBehalf(String),
}

/// *Rule — confirmation*: the class's own MCT confirms; an admin may confirm on their
/// behalf with a reason; nobody else may. `Err(None)` means "not allowed at all".
pub fn confirmer(
    role: Role,
    is_own_class: bool,
    reason: &str,
) -> Result<Confirmer, Option<String>> {
    match role {
        Role::Trainer if is_own_class => Ok(Confirmer::OwnTrainer),
        Role::Admin => {
            let reason = reason.trim();
            if reason.is_empty() {
                Err(Some(
                    "reason is required when an admin confirms on the MCT's behalf".into(),
                ))
            } else {
                Ok(Confirmer::AdminOnBehalf(reason.to_string()))
            }
        }
        _ => Err(None),
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

/// A class cannot have taken place before it started.
pub fn check_deliverable(start: NaiveDate, today: NaiveDate) -> Result<(), String> {
    if start > today {
        Err(format!(
            "the class starts on {start}: it cannot be marked delivered before then"
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

#[cfg(test)]
mod tests {
    use super::*;
    use ClassStatus::*;

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
    fn rule_confirmation_by_own_mct_or_admin_with_reason() {
        assert_eq!(
            confirmer(Role::Trainer, true, ""),
            Ok(Confirmer::OwnTrainer)
        );
        assert_eq!(confirmer(Role::Trainer, false, "x"), Err(None));
        assert_eq!(confirmer(Role::Coordinator, false, "x"), Err(None));
        assert_eq!(confirmer(Role::Viewer, false, "x"), Err(None));
        assert!(
            confirmer(Role::Admin, false, " ")
                .unwrap_err()
                .unwrap()
                .contains("reason")
        );
        assert_eq!(
            confirmer(Role::Admin, false, "MCT on leave"),
            Ok(Confirmer::AdminOnBehalf("MCT on leave".into()))
        );
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
    fn class_dates_and_delivery_are_checked() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert!(check_dates(d("2026-05-02"), d("2026-05-01")).is_err());
        assert!(check_dates(d("2026-05-01"), d("2026-05-01")).is_ok());
        assert!(check_deliverable(d("2026-05-02"), d("2026-05-01")).is_err());
        assert!(check_deliverable(d("2026-05-01"), d("2026-05-01")).is_ok());
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
