//! The eight import kinds: their ids, labels, tables and columns (SPEC §7).
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    TitlePlan,
    Trainers,
    Classes,
    Roster,
    CodePool,
    Codes,
    SurveyResponses,
    Vouchers,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::TitlePlan,
        Kind::Trainers,
        Kind::Classes,
        Kind::Roster,
        Kind::CodePool,
        Kind::Codes,
        Kind::SurveyResponses,
        Kind::Vouchers,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Kind::TitlePlan => "title-plan",
            Kind::Trainers => "trainers",
            Kind::Classes => "classes",
            Kind::Roster => "roster",
            Kind::CodePool => "code-pool",
            Kind::Codes => "codes",
            Kind::SurveyResponses => "survey-responses",
            Kind::Vouchers => "vouchers",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::TitlePlan => "Title Plan (courses)",
            Kind::Trainers => "Trainers (MCTs)",
            Kind::Classes => "Classes",
            Kind::Roster => "Rosters",
            Kind::CodePool => "Achievement code pool",
            Kind::Codes => "Issued achievement codes",
            Kind::SurveyResponses => "Survey responses (MTM)",
            Kind::Vouchers => "Exam vouchers",
        }
    }

    /// The header SPEC §7 gives, in order.
    /// The table the kind fills (the one its own lookups read back while it runs).
    pub(super) fn table(self) -> &'static str {
        match self {
            Kind::TitlePlan => "courses",
            Kind::Trainers => "trainers",
            Kind::Classes => "classes",
            Kind::Roster => "enrollments",
            Kind::CodePool | Kind::Codes => "achievement_codes",
            Kind::SurveyResponses => "survey_responses",
            Kind::Vouchers => "exam_vouchers",
        }
    }

    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::TitlePlan => &[
                "course_code",
                "title",
                "duration_days",
                "fundamentals",
                "solution_area",
                "content",
                "courseware_version",
            ],
            Kind::Trainers => &["name", "email", "mct_id", "mct_valid_until", "affiliated"],
            Kind::Classes => &[
                "class_ref",
                "course_code",
                "mct_id",
                "start_date",
                "end_date",
                "modality",
                "status",
            ],
            Kind::Roster => &["class_ref", "learner_name", "learner_email", "attended"],
            Kind::CodePool => &["achievement_code"],
            Kind::Codes => &[
                "class_ref",
                "learner_email",
                "achievement_code",
                "issued_on",
                "redeemed_on",
            ],
            Kind::SurveyResponses => &[
                "class_ref",
                "learner_email",
                "submitted_on",
                "q1",
                "q2",
                "q3",
                "q4",
                "q5",
            ],
            Kind::Vouchers => &[
                "purchased_on",
                "exam_code",
                "level",
                "quantity",
                "order_ref",
            ],
        }
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Kind, String> {
        Kind::ALL.into_iter().find(|k| k.id() == s).ok_or_else(|| {
            let ids: Vec<_> = Kind::ALL.iter().map(|k| k.id()).collect();
            format!(
                "unknown import kind {s:?}: expected one of {}",
                ids.join(", ")
            )
        })
    }
}
