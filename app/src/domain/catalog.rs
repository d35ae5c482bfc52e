//! The Title Plan's fixed vocabularies (SPEC §2) and the derived duration category.
use std::fmt;
use std::str::FromStr;

/// The six solution areas, in the order SPEC §2 lists them (reports keep this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SolutionArea {
    DataAi,
    Infrastructure,
    DigitalAppInnovation,
    BusinessApplications,
    ModernWork,
    Security,
}

impl SolutionArea {
    pub const ALL: [SolutionArea; 6] = [
        SolutionArea::DataAi,
        SolutionArea::Infrastructure,
        SolutionArea::DigitalAppInnovation,
        SolutionArea::BusinessApplications,
        SolutionArea::ModernWork,
        SolutionArea::Security,
    ];

    pub fn id(self) -> &'static str {
        match self {
            SolutionArea::DataAi => "data_ai",
            SolutionArea::Infrastructure => "infrastructure",
            SolutionArea::DigitalAppInnovation => "digital_app_innovation",
            SolutionArea::BusinessApplications => "business_applications",
            SolutionArea::ModernWork => "modern_work",
            SolutionArea::Security => "security",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SolutionArea::DataAi => "Data & AI (Azure)",
            SolutionArea::Infrastructure => "Infrastructure (Azure)",
            SolutionArea::DigitalAppInnovation => "Digital & App Innovation (Azure)",
            SolutionArea::BusinessApplications => "Business Applications",
            SolutionArea::ModernWork => "Modern Work",
            SolutionArea::Security => "Security",
        }
    }
}

impl FromStr for SolutionArea {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SolutionArea::ALL
            .into_iter()
            .find(|a| a.id() == s)
            .ok_or_else(|| {
                let ids: Vec<_> = SolutionArea::ALL.iter().map(|a| a.id()).collect();
                format!(
                    "unknown solution area {s:?}: expected one of {}",
                    ids.join(", ")
                )
            })
    }
}

impl fmt::Display for SolutionArea {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// *Rule — duration category*: derived from the Title Plan, never typed by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DurationCategory {
    Fundamentals,
    TwoDaysOrLess,
    ThreeDaysOrMore,
}

impl DurationCategory {
    pub const ALL: [DurationCategory; 3] = [
        DurationCategory::Fundamentals,
        DurationCategory::TwoDaysOrLess,
        DurationCategory::ThreeDaysOrMore,
    ];

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

    pub fn id(self) -> &'static str {
        match self {
            DurationCategory::Fundamentals => "fundamentals",
            DurationCategory::TwoDaysOrLess => "two_days_or_less",
            DurationCategory::ThreeDaysOrMore => "three_days_or_more",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DurationCategory::Fundamentals => "Fundamentals",
            DurationCategory::TwoDaysOrLess => "2 days or less",
            DurationCategory::ThreeDaysOrMore => "3 days or more",
        }
    }
}

id_enum!(Content {
    Official = "official" / "Official Microsoft courseware",
    Unofficial = "unofficial" / "The partner's own content",
});

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
