//! SPEC §3 policy rules, made checkable.
use chrono::NaiveDate;

use super::catalog::Content;

/// *Rule 1*: official content may only be delivered by a trainer whose MCT is in good
/// standing on every day of the class (good standing: `valid_until >= day`). Since
/// standing only ends, checking the last day covers every day.
pub fn check_trainer_standing(
    content: Content,
    trainer_name: &str,
    mct_valid_until: NaiveDate,
    class_end: NaiveDate,
) -> Result<(), String> {
    if content == Content::Unofficial || mct_valid_until >= class_end {
        return Ok(());
    }
    Err(format!(
        "{trainer_name}'s MCT good standing ended on {mct_valid_until}, before the class ends on {class_end}: \
         official content needs an MCT in good standing on every day of the class"
    ))
}

/// How far ahead the trainers page warns that an MCT's good standing is about to end.
pub const STANDING_WARNING_DAYS: i64 = 90;

/// An MCT's standing on `today`, for the trainers page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Good,
    /// Still good today, ending within the warning period (`days_left` ≥ 0).
    EndingSoon {
        days_left: i64,
    },
    Lapsed,
}

pub fn standing(mct_valid_until: NaiveDate, today: NaiveDate) -> Standing {
    let days_left = (mct_valid_until - today).num_days();
    if days_left < 0 {
        Standing::Lapsed
    } else if days_left <= STANDING_WARNING_DAYS {
        Standing::EndingSoon { days_left }
    } else {
        Standing::Good
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn rule_1_official_content_needs_an_mct_in_good_standing_on_every_class_day() {
        let ok = check_trainer_standing(Content::Official, "Ana", d("2026-11-30"), d("2026-11-30"));
        assert!(ok.is_ok(), "the last valid day still counts");
        let err =
            check_trainer_standing(Content::Official, "Ana", d("2026-11-29"), d("2026-11-30"))
                .unwrap_err();
        assert!(err.contains("Ana") && err.contains("2026-11-29"), "{err}");
        assert!(
            check_trainer_standing(Content::Unofficial, "Ana", d("2020-01-01"), d("2026-11-30"))
                .is_ok()
        );
    }

    #[test]
    fn standing_ends_soon_within_90_days_and_lapses_the_day_after_valid_until() {
        let today = d("2026-11-22");
        assert_eq!(
            standing(d("2026-11-22"), today),
            Standing::EndingSoon { days_left: 0 }
        );
        assert_eq!(
            standing(d("2027-02-20"), today),
            Standing::EndingSoon { days_left: 90 }
        );
        assert_eq!(standing(d("2027-02-21"), today), Standing::Good);
        assert_eq!(standing(d("2026-11-21"), today), Standing::Lapsed);
    }
}
