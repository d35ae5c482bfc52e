//! What needs doing (the To do page and its e-mails): when a record is due for a nudge.
//! Pure rules over dates; the settings that place them are `[todo]` in the app's config.
use chrono::NaiveDate;

use crate::policy::STANDING_WARNING_DAYS;

/// The nudges the app sends, each once per record (and per threshold for standing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nudges {
    /// A delivered class not confirmed this many days after it ended: remind its MCT.
    pub confirm_reminder_days: i64,
    /// … and this many days after it ended: tell the coordinators.
    pub confirm_escalation_days: i64,
    /// An issued code not redeemed this many days after it was issued: remind the learner.
    pub code_reminder_days: i64,
}

/// Where a delivered, unconfirmed class stands in the chase for its confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConfirmationChase {
    /// Too early to nudge anyone.
    Waiting,
    /// The MCT gets a reminder.
    RemindTrainer,
    /// The MCT was reminded long enough ago: the coordinators are told.
    TellCoordinators,
}

/// *To do, confirmations*: a delivered class is chased `confirm_reminder_days` after its
/// last day (its MCT), then `confirm_escalation_days` after it (the coordinators).
pub fn confirmation_chase(class_end: NaiveDate, today: NaiveDate, n: &Nudges) -> ConfirmationChase {
    let days = (today - class_end).num_days();
    if days >= n.confirm_escalation_days {
        ConfirmationChase::TellCoordinators
    } else if days >= n.confirm_reminder_days {
        ConfirmationChase::RemindTrainer
    } else {
        ConfirmationChase::Waiting
    }
}

/// The last day a class can have ended and still be `Waiting` (the SQL bound of
/// [`confirmation_chase`]): a class ending on or before the returned day is chased.
pub fn chased_if_ended_by(today: NaiveDate, days: i64) -> NaiveDate {
    today - chrono::Duration::days(days)
}

/// *To do, codes*: an issued, unredeemed code is due one reminder `code_reminder_days`
/// after it was issued; a redeemed one never is.
pub fn code_reminder_due(
    issued_on: NaiveDate,
    redeemed_on: Option<NaiveDate>,
    today: NaiveDate,
    n: &Nudges,
) -> bool {
    redeemed_on.is_none() && (today - issued_on).num_days() >= n.code_reminder_days
}

/// The warnings sent before an MCT's good standing ends, in days before `valid_until`
/// (the first is when the trainers page starts showing it as ending soon).
pub const STANDING_WARNINGS: [i64; 4] = [STANDING_WARNING_DAYS, 60, 30, 15];

/// *To do, MCT standing*: the warning due on `today` for an MCT valid until `valid_until`:
/// the nearest threshold of [`STANDING_WARNINGS`] the days left have reached (a standing
/// first seen at 50 days gets the 60-day warning, not the 90-day one too); none once it
/// has ended or while more than 90 days are left.
pub fn standing_warning_due(valid_until: NaiveDate, today: NaiveDate) -> Option<i64> {
    let days_left = (valid_until - today).num_days();
    if days_left < 0 {
        return None;
    }
    STANDING_WARNINGS
        .iter()
        .copied()
        .filter(|t| days_left <= *t)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    const N: Nudges = Nudges {
        confirm_reminder_days: 3,
        confirm_escalation_days: 10,
        code_reminder_days: 14,
    };

    #[test]
    fn todo_rule_a_delivered_class_is_chased_first_with_its_mct_then_with_the_coordinators() {
        let end = d("2026-12-01");
        assert_eq!(
            confirmation_chase(end, d("2026-12-01"), &N),
            ConfirmationChase::Waiting
        );
        assert_eq!(
            confirmation_chase(end, d("2026-12-03"), &N),
            ConfirmationChase::Waiting
        );
        assert_eq!(
            confirmation_chase(end, d("2026-12-04"), &N),
            ConfirmationChase::RemindTrainer
        );
        assert_eq!(
            confirmation_chase(end, d("2026-12-10"), &N),
            ConfirmationChase::RemindTrainer
        );
        assert_eq!(
            confirmation_chase(end, d("2026-12-11"), &N),
            ConfirmationChase::TellCoordinators
        );
        // The SQL bound agrees with the rule at its edge.
        assert_eq!(chased_if_ended_by(d("2026-12-04"), 3), end);
    }

    #[test]
    fn todo_rule_an_unredeemed_code_is_due_one_reminder_after_n_days() {
        let issued = d("2026-11-01");
        assert!(!code_reminder_due(issued, None, d("2026-11-14"), &N));
        assert!(code_reminder_due(issued, None, d("2026-11-15"), &N));
        assert!(!code_reminder_due(
            issued,
            Some(d("2026-11-20")),
            d("2026-12-01"),
            &N
        ));
    }

    #[test]
    fn todo_rule_standing_warnings_at_90_60_30_and_15_days_the_nearest_one_reached() {
        let until = d("2027-03-31");
        assert_eq!(
            standing_warning_due(until, d("2026-12-30")),
            None,
            "91 days left"
        );
        assert_eq!(standing_warning_due(until, d("2026-12-31")), Some(90));
        assert_eq!(standing_warning_due(until, d("2027-01-30")), Some(60));
        assert_eq!(
            standing_warning_due(until, d("2027-02-09")),
            Some(60),
            "50 days left"
        );
        assert_eq!(standing_warning_due(until, d("2027-03-01")), Some(30));
        assert_eq!(standing_warning_due(until, d("2027-03-16")), Some(15));
        assert_eq!(
            standing_warning_due(until, d("2027-03-31")),
            Some(15),
            "last day"
        );
        assert_eq!(standing_warning_due(until, d("2027-04-01")), None, "ended");
    }
}
