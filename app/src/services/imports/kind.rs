//! The eight import kinds: their ids, labels, tables and columns (SPEC §7).
tsp_domain::id_enum!(
    Kind {
        TitlePlan = "title-plan" / "Title Plan (courses)",
        Trainers = "trainers" / "Trainers (MCTs)",
        Classes = "classes" / "Classes",
        Roster = "roster" / "Rosters",
        CodePool = "code-pool" / "Achievement code pool",
        Codes = "codes" / "Issued achievement codes",
        SurveyResponses = "survey-responses" / "Survey responses (MTM)",
        Vouchers = "vouchers" / "Exam vouchers",
    }
);

impl Kind {
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
