//! The Title Plan's fixed vocabularies (SPEC §2) and the derived duration category.

id_enum!(
    /// The six solution areas, in the order SPEC §2 lists them (reports keep this order).
    SolutionArea {
        DataAi = "data_ai" / "Data & AI (Azure)",
        Infrastructure = "infrastructure" / "Infrastructure (Azure)",
        DigitalAppInnovation = "digital_app_innovation" / "Digital & App Innovation (Azure)",
        BusinessApplications = "business_applications" / "Business Applications",
        ModernWork = "modern_work" / "Modern Work",
        Security = "security" / "Security",
    }
);

id_enum!(
    /// *Rule — duration category*: derived from the Title Plan, never typed by hand.
    DurationCategory {
        Fundamentals = "fundamentals" / "Fundamentals",
        TwoDaysOrLess = "two_days_or_less" / "2 days or less",
        ThreeDaysOrMore = "three_days_or_more" / "3 days or more",
    }
);

impl DurationCategory {
    /// `fundamentals` if flagged; otherwise by official duration: ≤ 2 days or ≥ 3 days.
    pub fn of(fundamentals: bool, duration_days: u32) -> DurationCategory {
        if fundamentals {
            DurationCategory::Fundamentals
        } else if duration_days <= SHORT_COURSE_MAX_DAYS {
            DurationCategory::TwoDaysOrLess
        } else {
            DurationCategory::ThreeDaysOrMore
        }
    }
}

id_enum!(Content {
    Official = "official" / "Official Microsoft courseware",
    Unofficial = "unofficial" / "The partner's own content",
});

id_enum!(
    /// An exam voucher's level, which decides its points.
    Level {
        Fundamentals = "fundamentals" / "Fundamentals",
        Advanced = "advanced" / "Advanced (role-based, specialty)",
    }
);

impl Level {
    /// Exam points per voucher unit, in half-points, as the designation's rules profile
    /// weighs them (points are kept as integers).
    pub fn half_points_per_unit(self) -> i64 {
        self.half_points_under(&crate::kpi::DESIGNATION_2025)
    }

    pub fn half_points_under(self, rules: &crate::kpi::RulesProfile) -> i64 {
        match self {
            Level::Fundamentals => rules.exam_fundamentals_half_points,
            Level::Advanced => rules.exam_advanced_half_points,
        }
    }
}

/// The longest official duration, in days, of a "2 days or less" course.
pub const SHORT_COURSE_MAX_DAYS: u32 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_duration_category_is_derived_from_the_fundamentals_flag_and_duration() {
        let table = [
            (true, 1, DurationCategory::Fundamentals),
            (true, 5, DurationCategory::Fundamentals),
            (false, 0, DurationCategory::TwoDaysOrLess),
            (false, 1, DurationCategory::TwoDaysOrLess),
            (false, 2, DurationCategory::TwoDaysOrLess),
            (false, 3, DurationCategory::ThreeDaysOrMore),
            (false, 5, DurationCategory::ThreeDaysOrMore),
        ];
        for (fundamentals, days, expected) in table {
            assert_eq!(
                DurationCategory::of(fundamentals, days),
                expected,
                "{fundamentals} {days}"
            );
        }
    }

    #[test]
    fn solution_areas_have_stable_ids_in_spec_order() {
        let ids: Vec<_> = SolutionArea::ALL.iter().map(|a| a.id()).collect();
        assert_eq!(
            ids,
            [
                "data_ai",
                "infrastructure",
                "digital_app_innovation",
                "business_applications",
                "modern_work",
                "security"
            ]
        );
        for area in SolutionArea::ALL {
            assert_eq!(area.id().parse::<SolutionArea>().unwrap(), area);
        }
        assert!(
            "azure"
                .parse::<SolutionArea>()
                .unwrap_err()
                .contains("data_ai")
        );
        assert_eq!("official".parse::<Content>().unwrap(), Content::Official);
        assert!("free".parse::<Content>().is_err());
    }
}
