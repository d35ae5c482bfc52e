//! The import kinds: their ids and labels (SPEC §7); each one's columns, table,
//! check and write are its `importer::rows` type.
use super::importer::{Rows, with_rows};
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
        Redemptions = "redemptions" / "Microsoft's redemption report (codes redeemed)",
        Courseware = "courseware" / "Courseware purchases (Learning Partner)",
    }
);

impl Kind {
    /// The header SPEC §7 gives, in order.
    pub fn columns(self) -> &'static [&'static str] {
        with_rows!(self, R => R::COLUMNS)
    }

    /// Columns a file may leave out.
    pub fn optional_columns(self) -> &'static [&'static str] {
        with_rows!(self, R => R::OPTIONAL)
    }

    /// Whether columns beyond [`Kind::columns`] are ignored (a report exported by another
    /// system) rather than refused.
    pub fn ignores_other_columns(self) -> bool {
        with_rows!(self, R => R::IGNORES_OTHER_COLUMNS)
    }

    /// The table the kind fills (the one its own lookups read back while it runs).
    pub(super) fn table(self) -> &'static str {
        with_rows!(self, R => R::TABLE)
    }
}
