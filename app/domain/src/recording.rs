//! Recordings, consent and takedowns (SPEC §2, §3 rules 2–6), made checkable.
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use super::catalog::Content;

id_enum!(RecordingStatus {
    Draft = "draft" / "Draft",
    Published = "published" / "Published",
    Withdrawn = "withdrawn" / "Withdrawn",
});

id_enum!(ConsentStatus {
    Requested = "requested" / "Requested",
    Granted = "granted" / "Granted",
    Declined = "declined" / "Declined",
    Revoked = "revoked" / "Revoked",
});

id_enum!(ConsentMethod {
    EmailLink = "email_link" / "by the learner's e-mail link",
    InApp = "in_app" / "in the app by the MCT",
    Paper = "paper" / "on paper (recorded by a coordinator)",
});

id_enum!(TakedownReason {
    Outdated = "outdated" / "Outdated",
    Misaligned = "misaligned" / "Misaligned with current learning objectives",
    NotRepresentative = "not_representative" / "No longer representative",
    Other = "other" / "Other",
});

id_enum!(TakedownStatus {
    Open = "open" / "Open",
    Completed = "completed" / "Completed",
    Disputed = "disputed" / "Disputed",
});

/// What a subject (or someone for them) does with their consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentChange {
    Grant,
    Decline,
    Revoke,
}

impl FromStr for ConsentChange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "grant" | "granted" => Ok(ConsentChange::Grant),
            "decline" | "declined" => Ok(ConsentChange::Decline),
            "revoke" | "revoked" => Ok(ConsentChange::Revoke),
            other => Err(format!(
                "must be one of grant, decline, revoke, not {other:?}"
            )),
        }
    }
}

impl ConsentStatus {
    /// *Consent lifecycle*: a request is granted or declined; a grant can be revoked; a
    /// decline or revocation can be turned into a grant later.
    pub fn apply(self, change: ConsentChange) -> Result<ConsentStatus, String> {
        use ConsentStatus::*;
        match (self, change) {
            (Requested | Declined | Revoked, ConsentChange::Grant) => Ok(Granted),
            (Requested, ConsentChange::Decline) => Ok(Declined),
            (Granted, ConsentChange::Revoke) => Ok(Revoked),
            (Granted, ConsentChange::Grant) => Err("consent is already granted".into()),
            (Granted, ConsentChange::Decline) => {
                Err("consent is granted: revoke it instead of declining".into())
            }
            (from, ConsentChange::Decline) => Err(format!("consent is already {}", from.id())),
            (from, ConsentChange::Revoke) => Err(format!(
                "only granted consent can be revoked; this one is {}",
                from.id()
            )),
        }
    }
}

impl RecordingStatus {
    /// draft → published → withdrawn (a draft may be withdrawn too); withdrawn is final.
    pub fn withdraw(self) -> Result<RecordingStatus, String> {
        match self {
            RecordingStatus::Withdrawn => Err("the recording is already withdrawn".into()),
            _ => Ok(RecordingStatus::Withdrawn),
        }
    }
}

/// The presenter as the publication rules see them.
#[derive(Debug, Clone)]
pub struct Presenter<'a> {
    pub name: &'a str,
    pub affiliated: bool,
    pub mct_valid_until: NaiveDate,
}

/// *Rule 2*: official content is recorded and published only by an MCT who is
/// affiliated with this TSP and in good standing (on the day of publication).
/// Unofficial content may be recorded by any trainer.
pub fn check_presenter(content: Content, presenter: &Presenter, today: NaiveDate) -> Vec<String> {
    if content == Content::Unofficial {
        return vec![];
    }
    let mut reasons = vec![];
    if !presenter.affiliated {
        reasons.push(format!(
            "{} is not affiliated with this TSP: official content is published only by an affiliated MCT",
            presenter.name
        ));
    }
    if presenter.mct_valid_until < today {
        reasons.push(format!(
            "{}'s MCT good standing ended on {}: official content is published only by an MCT in good standing",
            presenter.name, presenter.mct_valid_until
        ));
    }
    reasons
}

/// One consent subject as the rules see it: who (as shown), and where they stand.
#[derive(Debug, Clone)]
pub struct Subject {
    pub label: String,
    pub status: ConsentStatus,
}

/// *Rule 3*: a recording can be published only when every consent subject has granted.
/// The refusal names each subject who has not, with their status.
pub fn check_consents(subjects: &[Subject]) -> Vec<String> {
    let missing: Vec<&Subject> = subjects
        .iter()
        .filter(|s| s.status != ConsentStatus::Granted)
        .collect();
    if missing.is_empty() {
        return vec![];
    }
    // A recording of a large class has thousands of subjects: the reason names the first
    // few and counts the rest, the consent table lists them all.
    let mut named: Vec<String> = missing
        .iter()
        .take(NAMED_SUBJECTS)
        .map(|s| format!("{} ({})", s.label, s.status.label().to_lowercase()))
        .collect();
    if missing.len() > NAMED_SUBJECTS {
        named.push(format!("and {} more", missing.len() - NAMED_SUBJECTS));
    }
    vec![format!(
        "not every consent subject has granted: {}",
        named.join(", ")
    )]
}

/// How many subjects a refusal names before it counts the rest.
pub const NAMED_SUBJECTS: usize = 10;

/// Rules 2 and 3 together: every reason publishing is refused (empty: it may publish).
pub fn publication_refusals(
    status: RecordingStatus,
    content: Content,
    presenter: &Presenter,
    subjects: &[Subject],
    today: NaiveDate,
) -> Vec<String> {
    let mut reasons = match status {
        RecordingStatus::Draft => vec![],
        RecordingStatus::Published => vec!["the recording is already published".to_string()],
        RecordingStatus::Withdrawn => {
            vec!["the recording is withdrawn: it cannot be published again".to_string()]
        }
    };
    reasons.extend(check_presenter(content, presenter, today));
    reasons.extend(check_consents(subjects));
    reasons
}

/// *Rule 3*: a published recording one of whose subjects has not granted (a consent
/// revoked after publication, or a learner added to the roster since) needs action.
pub fn needs_action(status: RecordingStatus, subjects: &[ConsentStatus]) -> bool {
    status == RecordingStatus::Published && subjects.iter().any(|s| *s != ConsentStatus::Granted)
}

/// *Rule 3*: only a published recording can back a new recorded class (a draft or a
/// withdrawn one cannot).
pub fn check_backs_new_class(title: &str, status: RecordingStatus) -> Result<(), String> {
    match status {
        RecordingStatus::Published => Ok(()),
        RecordingStatus::Draft => Err(format!(
            "{title} is a draft: only a published recording can back a new recorded class"
        )),
        RecordingStatus::Withdrawn => Err(format!(
            "{title} is withdrawn: it cannot back a new recorded class"
        )),
    }
}

/// Compares courseware versions: piece by piece (split at `-`, `.`, `/`, `_` and
/// spaces), numerically when both pieces are numbers, otherwise as text
/// (case-insensitive). `2026-09` < `2026-10`, `9` < `10`, `1.2` < `1.10`.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let pieces = |s: &str| -> Vec<String> {
        s.split(|c: char| matches!(c, '-' | '.' | '/' | '_') || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .map(|p| p.to_lowercase())
            .collect()
    };
    let (pa, pb) = (pieces(a), pieces(b));
    for (x, y) in pa.iter().zip(&pb) {
        let order = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    pa.len().cmp(&pb.len())
}

/// *Rule 4*: a recording made against an older courseware version than its course's
/// current one is outdated.
pub fn is_outdated(recording_version: &str, course_version: &str) -> bool {
    compare_versions(recording_version, course_version) == Ordering::Less
}

impl TakedownStatus {
    /// open → completed | disputed; disputed → open (Microsoft upheld it) | completed.
    pub fn apply(self, to: TakedownStatus) -> Result<TakedownStatus, String> {
        use TakedownStatus::*;
        match (self, to) {
            (Open, Completed | Disputed) | (Disputed, Open | Completed) => Ok(to),
            (Completed, _) => Err("the takedown is completed: it is closed".into()),
            (from, to) => Err(format!(
                "the takedown is already {}",
                if from == to { to.id() } else { from.id() }
            )),
        }
    }
}

/// *Rule 6*: an open takedown past its due date is overdue (on the day after `due_on`).
pub fn is_overdue(status: TakedownStatus, due_on: NaiveDate, today: NaiveDate) -> bool {
    status == TakedownStatus::Open && today > due_on
}

/// An open takedown due within this many days is "due soon" on the recordings page.
pub const TAKEDOWN_DUE_SOON_DAYS: i64 = 7;

/// An open takedown not overdue yet but due within [`TAKEDOWN_DUE_SOON_DAYS`].
pub fn is_due_soon(status: TakedownStatus, due_on: NaiveDate, today: NaiveDate) -> bool {
    status == TakedownStatus::Open
        && today <= due_on
        && (due_on - today).num_days() <= TAKEDOWN_DUE_SOON_DAYS
}

/// *Rule 5*: recorded deliveries never count toward a KPI figure (the KPI engine's
/// eligibility rule already excludes the `recorded` modality; this is what pages say).
pub const NO_KPI_CREDIT: &str = "Recorded deliveries never count toward any KPI figure: \
their achievement codes and surveys still go to learners, but earn no designation credit.";

impl fmt::Display for ConsentChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConsentChange::Grant => "grant",
            ConsentChange::Decline => "decline",
            ConsentChange::Revoke => "revoke",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn presenter(affiliated: bool, until: &str) -> Presenter<'static> {
        Presenter {
            name: "Ana",
            affiliated,
            mct_valid_until: d(until),
        }
    }

    fn granted(n: usize) -> Vec<Subject> {
        (0..n)
            .map(|i| Subject {
                label: format!("learner #{i}"),
                status: ConsentStatus::Granted,
            })
            .collect()
    }

    #[test]
    fn rule_2_official_content_is_published_only_by_an_affiliated_mct_in_good_standing() {
        let today = d("2026-11-22");
        assert!(
            check_presenter(Content::Official, &presenter(true, "2026-11-22"), today).is_empty()
        );
        let r = check_presenter(Content::Official, &presenter(false, "2027-01-01"), today);
        assert_eq!(r.len(), 1);
        assert!(r[0].contains("Ana is not affiliated"), "{r:?}");
        let r = check_presenter(Content::Official, &presenter(true, "2026-11-21"), today);
        assert_eq!(r.len(), 1);
        assert!(r[0].contains("ended on 2026-11-21"), "{r:?}");
        assert_eq!(
            check_presenter(Content::Official, &presenter(false, "2020-01-01"), today).len(),
            2
        );
        // Unofficial content: any trainer.
        assert!(
            check_presenter(Content::Unofficial, &presenter(false, "2020-01-01"), today).is_empty()
        );
    }

    #[test]
    fn rule_3_refusal_names_the_first_subjects_missing_consent_and_counts_the_rest() {
        let mut subjects = granted(1);
        subjects.extend((1..=25).map(|n| Subject {
            label: format!("learner #{n}"),
            status: ConsentStatus::Requested,
        }));
        let r = check_consents(&subjects);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].contains("learner #10 (requested), and 15 more"),
            "{r:?}"
        );
        assert!(!r[0].contains("learner #11"), "{r:?}");
        // Exactly as many as are named: no count.
        let r = check_consents(&subjects[..=NAMED_SUBJECTS]);
        assert!(r[0].ends_with("learner #10 (requested)"), "{r:?}");
    }

    #[test]
    fn rule_3_publishing_needs_every_consent_subject_granted() {
        let today = d("2026-11-22");
        let ok = presenter(true, "2027-01-01");
        assert!(
            publication_refusals(
                RecordingStatus::Draft,
                Content::Official,
                &ok,
                &granted(3),
                today
            )
            .is_empty()
        );
        let mut subjects = granted(2);
        subjects.push(Subject {
            label: "learner #7".into(),
            status: ConsentStatus::Requested,
        });
        subjects.push(Subject {
            label: "MCT Ana".into(),
            status: ConsentStatus::Declined,
        });
        let r = publication_refusals(
            RecordingStatus::Draft,
            Content::Official,
            &ok,
            &subjects,
            today,
        );
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].contains("learner #7 (requested)") && r[0].contains("MCT Ana (declined)"));
        assert!(!r[0].contains("learner #0"));
        // Every reason at once: presenter and consents.
        let r = publication_refusals(
            RecordingStatus::Draft,
            Content::Official,
            &presenter(false, "2027-01-01"),
            &subjects,
            today,
        );
        assert_eq!(r.len(), 2);
        assert!(
            !publication_refusals(
                RecordingStatus::Withdrawn,
                Content::Official,
                &ok,
                &granted(1),
                today
            )
            .is_empty()
        );
    }

    #[test]
    fn rule_3_a_revocation_after_publication_means_needs_action() {
        use ConsentStatus::*;
        assert!(!needs_action(
            RecordingStatus::Published,
            &[Granted, Granted]
        ));
        assert!(needs_action(
            RecordingStatus::Published,
            &[Granted, Revoked]
        ));
        assert!(needs_action(
            RecordingStatus::Published,
            &[Granted, Requested]
        ));
        assert!(!needs_action(RecordingStatus::Draft, &[Revoked]));
        assert!(!needs_action(RecordingStatus::Withdrawn, &[Revoked]));
    }

    #[test]
    fn rule_3_only_published_recordings_back_a_new_recorded_class() {
        assert!(check_backs_new_class("R", RecordingStatus::Published).is_ok());
        assert!(
            check_backs_new_class("R", RecordingStatus::Draft)
                .unwrap_err()
                .contains("draft")
        );
        assert!(
            check_backs_new_class("R", RecordingStatus::Withdrawn)
                .unwrap_err()
                .contains("withdrawn")
        );
    }

    #[test]
    fn consent_is_granted_or_declined_then_revoked_and_can_be_given_again() {
        use ConsentStatus::*;
        assert_eq!(Requested.apply(ConsentChange::Grant), Ok(Granted));
        assert_eq!(Requested.apply(ConsentChange::Decline), Ok(Declined));
        assert_eq!(Granted.apply(ConsentChange::Revoke), Ok(Revoked));
        assert_eq!(Revoked.apply(ConsentChange::Grant), Ok(Granted));
        assert_eq!(Declined.apply(ConsentChange::Grant), Ok(Granted));
        assert!(Granted.apply(ConsentChange::Grant).is_err());
        assert!(Requested.apply(ConsentChange::Revoke).is_err());
        assert!(Declined.apply(ConsentChange::Decline).is_err());
    }

    #[test]
    fn rule_4_a_recording_older_than_its_courses_courseware_version_is_outdated() {
        assert!(is_outdated("2026-09", "2026-10"));
        assert!(!is_outdated("2026-10", "2026-10"));
        assert!(!is_outdated("2026-11", "2026-10"));
        // Numeric when both pieces are numbers: 9 < 10 (text order would say otherwise).
        assert!(is_outdated("9", "10"));
        assert!(is_outdated("1.2", "1.10"));
        assert!(is_outdated("2026-9", "2026-10"));
        // Text otherwise, case-insensitive; a longer version with the same start is newer.
        assert!(is_outdated("v1-a", "V1-B"));
        assert!(is_outdated("2026", "2026.1"));
        assert!(!is_outdated("B", "a"));
    }

    #[test]
    fn rule_6_an_open_takedown_past_its_due_date_is_overdue() {
        let due = d("2026-11-20");
        assert!(!is_overdue(TakedownStatus::Open, due, d("2026-11-20")));
        assert!(is_overdue(TakedownStatus::Open, due, d("2026-11-21")));
        assert!(!is_overdue(TakedownStatus::Completed, due, d("2026-12-01")));
        assert!(!is_overdue(TakedownStatus::Disputed, due, d("2026-12-01")));
        assert!(is_due_soon(TakedownStatus::Open, due, d("2026-11-15")));
        assert!(!is_due_soon(TakedownStatus::Open, due, d("2026-11-01")));
    }

    #[test]
    fn takedowns_close_when_completed() {
        use TakedownStatus::*;
        assert_eq!(Open.apply(Completed), Ok(Completed));
        assert_eq!(Open.apply(Disputed), Ok(Disputed));
        assert_eq!(Disputed.apply(Open), Ok(Open));
        assert!(Completed.apply(Open).is_err());
        assert!(Open.apply(Open).is_err());
    }
}
