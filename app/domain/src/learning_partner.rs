//! The older Learning Partner program (issue 17 item 3; seed
//! `learning-partner-performance-guidelines.md`), a second rules profile beside the 2025
//! designation: Courseware Marketplace purchases earn KPI units (courseware kits 1,
//! MCCVL kits 0.5, exams and labs revenue only), every purchase adds its revenue (USD),
//! and MCTs in good standing count. Units are integer half-units, revenue integer cents:
//! every comparison is exact.
use chrono::NaiveDate;
use serde::Serialize;

use super::kpi::{next_anniversary, window};

id_enum!(
    /// What one purchase line bought on the Courseware Marketplace (a packaged set is
    /// recorded as one line per component, each worth what its component is).
    ProductKind {
        Moc = "moc" / "MOC, DMOC or Custom MOC",
        MocOnDemand = "moc_on_demand" / "MOC On-Demand",
        CloudWorkshop = "cloud_workshop" / "Microsoft Cloud Workshop (405XXX)",
        TrainingCourse = "training_course" / "Microsoft Training Course (40XXX)",
        MtaCourseware = "mta_courseware" / "MTA courseware",
        Mccvl = "mccvl" / "Course Certificate Voucher (MCCVL)",
        Exam = "exam" / "Exam voucher or bundle (revenue only)",
        Labs = "labs" / "Microsoft Authorized Labs (revenue only)",
    }
);

id_enum!(
    /// Which rules profiles the dashboard shows: the administrator's choice in Settings.
    DashboardProfiles {
        Designation2025 = "designation_2025" / "Solutions Partner for Training Services (2025 rules)",
        LearningPartner = "learning_partner" / "Learning Partner program",
        Both = "both" / "Both",
    }
);

/// A new installation shows the 2025 designation only.
impl Default for DashboardProfiles {
    fn default() -> Self {
        DashboardProfiles::Designation2025
    }
}

impl DashboardProfiles {
    pub fn shows_designation(self) -> bool {
        self != DashboardProfiles::LearningPartner
    }

    pub fn shows_learning_partner(self) -> bool {
        self != DashboardProfiles::Designation2025
    }
}

/// What a product kind's kits are worth in KPI units (the numbers are the profile's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worth {
    Courseware,
    Mccvl,
    RevenueOnly,
}

impl ProductKind {
    pub fn worth(self) -> Worth {
        match self {
            ProductKind::Moc
            | ProductKind::MocOnDemand
            | ProductKind::CloudWorkshop
            | ProductKind::TrainingCourse
            | ProductKind::MtaCourseware => Worth::Courseware,
            ProductKind::Mccvl => Worth::Mccvl,
            ProductKind::Exam | ProductKind::Labs => Worth::RevenueOnly,
        }
    }
}

id_enum!(
    /// The membership levels, lowest first.
    PartnerLevel {
        NoLevel = "none" / "No level",
        ActionPack = "learning_action_pack" / "Learning Action Pack",
        Silver = "silver" / "Silver",
        Gold = "gold" / "Gold",
    }
);

impl PartnerLevel {
    /// The level above this one (none above Gold).
    pub fn next(self) -> Option<PartnerLevel> {
        match self {
            PartnerLevel::NoLevel => Some(PartnerLevel::ActionPack),
            PartnerLevel::ActionPack => Some(PartnerLevel::Silver),
            PartnerLevel::Silver => Some(PartnerLevel::Gold),
            PartnerLevel::Gold => None,
        }
    }
}

/// What one level needs (0: nothing of that).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelNeeds {
    pub mcts: i64,
    pub half_units: i64,
    pub revenue_cents: i64,
}

/// Every number of the program, in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearningPartnerProfile {
    /// Performance is measured over this many months before the anniversary.
    pub window_months: u32,
    /// Half-units per kit.
    pub courseware_half_units: i64,
    pub mccvl_half_units: i64,
    pub gold: LevelNeeds,
    pub silver: LevelNeeds,
    pub action_pack: LevelNeeds,
}

/// The Learning Partner program's performance guidelines.
pub const LEARNING_PARTNER: LearningPartnerProfile = LearningPartnerProfile {
    window_months: 12,
    courseware_half_units: 2,
    mccvl_half_units: 1,
    gold: LevelNeeds {
        mcts: 4,
        half_units: 10_000,
        revenue_cents: 50_000_000,
    },
    silver: LevelNeeds {
        mcts: 2,
        half_units: 400,
        revenue_cents: 0,
    },
    action_pack: LevelNeeds {
        mcts: 1,
        half_units: 0,
        revenue_cents: 0,
    },
};

impl LearningPartnerProfile {
    /// Half-units of `kits` kits of `kind`.
    pub fn half_units(&self, kind: ProductKind, kits: i64) -> i64 {
        kits * match kind.worth() {
            Worth::Courseware => self.courseware_half_units,
            Worth::Mccvl => self.mccvl_half_units,
            Worth::RevenueOnly => 0,
        }
    }

    /// What `level` needs (`NoLevel` needs nothing).
    pub fn needs(&self, level: PartnerLevel) -> LevelNeeds {
        match level {
            PartnerLevel::NoLevel => LevelNeeds {
                mcts: 0,
                half_units: 0,
                revenue_cents: 0,
            },
            PartnerLevel::ActionPack => self.action_pack,
            PartnerLevel::Silver => self.silver,
            PartnerLevel::Gold => self.gold,
        }
    }
}

/// The months measured for one as-of date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// The first and last day measured: the twelve complete months before the month of
    /// the anniversary (KPIs are met by the end of the month before it).
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Purchases count up to this day: the as-of date while the period runs, else `end`.
    pub counted_to: NaiveDate,
    /// The anniversary the period leads to (the next one on or after the as-of date);
    /// `None` when none is set: then the period is the twelve complete months before the
    /// month of the as-of date.
    pub anniversary: Option<NaiveDate>,
    /// Whether the period is over (the as-of date is its last day or later).
    pub closed: bool,
    /// The day MCTs are counted in good standing: `counted_to`, or the as-of date when no
    /// anniversary is set.
    pub mcts_on: NaiveDate,
}

/// *Rule — Learning Partner period*: measured over the twelve months before the
/// anniversary, met by the end of the month before it; before that day, the progress so
/// far. Without an anniversary, the twelve complete months before the as-of date.
pub fn period(
    as_of: NaiveDate,
    anniversary: Option<(u32, u32)>,
    profile: &LearningPartnerProfile,
) -> Period {
    match anniversary {
        Some(a) => {
            let on = next_anniversary(as_of, a);
            let (start, end) = window(on, profile.window_months);
            let counted_to = as_of.min(end);
            Period {
                start,
                end,
                counted_to,
                anniversary: Some(on),
                closed: as_of >= end,
                mcts_on: counted_to,
            }
        }
        None => {
            let (start, end) = window(as_of, profile.window_months);
            Period {
                start,
                end,
                counted_to: end,
                anniversary: None,
                closed: true,
                mcts_on: as_of,
            }
        }
    }
}

/// One product kind's purchases in the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindTotal {
    pub kind: ProductKind,
    pub kits: i64,
    pub revenue_cents: i64,
}

/// What the period's purchases and the MCTs add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Measured {
    pub mcts: i64,
    pub half_units: i64,
    pub revenue_cents: i64,
}

/// Units and revenue of `purchases` (revenue-only kinds add revenue and no units).
pub fn measure(mcts: i64, purchases: &[KindTotal], profile: &LearningPartnerProfile) -> Measured {
    Measured {
        mcts,
        half_units: purchases
            .iter()
            .map(|p| profile.half_units(p.kind, p.kits))
            .sum(),
        revenue_cents: purchases.iter().map(|p| p.revenue_cents).sum(),
    }
}

/// Whether `measured` meets every tracked need of `level`.
pub fn meets(measured: &Measured, needs: &LevelNeeds) -> bool {
    measured.mcts >= needs.mcts
        && measured.half_units >= needs.half_units
        && measured.revenue_cents >= needs.revenue_cents
}

/// *Rule — Learning Partner level*: the highest level whose MCTs, units and revenue are
/// all met (the competency exam requirements are not in the record: not tracked).
pub fn level(measured: &Measured, profile: &LearningPartnerProfile) -> PartnerLevel {
    [
        PartnerLevel::Gold,
        PartnerLevel::Silver,
        PartnerLevel::ActionPack,
    ]
    .into_iter()
    .find(|l| meets(measured, &profile.needs(*l)))
    .unwrap_or(PartnerLevel::NoLevel)
}

/// What is missing for `level`: each need less what is measured, never below zero.
pub fn missing(measured: &Measured, needs: &LevelNeeds) -> Measured {
    Measured {
        mcts: (needs.mcts - measured.mcts).max(0),
        half_units: (needs.half_units - measured.half_units).max(0),
        revenue_cents: (needs.revenue_cents - measured.revenue_cents).max(0),
    }
}

/// Half-units as text: `5000`, `4999.5`.
pub fn units_text(half_units: i64) -> String {
    let sign = if half_units < 0 { "-" } else { "" };
    let h = half_units.abs();
    if h % 2 == 0 {
        format!("{sign}{}", h / 2)
    } else {
        format!("{sign}{}.5", h / 2)
    }
}

/// Cents as plain decimal dollars, as the import reads them: `499999.99`.
pub fn cents_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}

/// Cents as a page shows them: `$499,999.99`.
pub fn usd_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.abs();
    let dollars = (c / 100).to_string();
    let mut grouped = String::new();
    for (i, d) in dollars.chars().enumerate() {
        if i > 0 && (dollars.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(d);
    }
    format!("{sign}${grouped}.{:02}", c % 100)
}

/// The largest revenue one purchase line may carry, in cents (a billion dollars).
pub const MAX_REVENUE_CENTS: i64 = 100_000_000_000;

/// *Rule — revenue in USD*: decimal dollars with at most two decimals (`1234`, `1234.5`,
/// `1234.56`), read exactly into cents; no sign, currency symbol or grouping.
pub fn parse_usd(raw: &str) -> Result<i64, String> {
    let raw = raw.trim();
    let refuse = || {
        format!(
            "must be an amount in US dollars such as 1234.50 (digits, at most 2 decimals, no $ or commas), not {}",
            super::fields::shown(raw)
        )
    };
    let (whole, fraction) = match raw.split_once('.') {
        Some((w, f)) => (w, f),
        None => (raw, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 2
        || (raw.contains('.') && fraction.is_empty())
        || whole.len() > 12
    {
        return Err(refuse());
    }
    let dollars: i64 = whole.parse().map_err(|_| refuse())?;
    let cents: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().map_err(|_| refuse())? * 10,
        _ => fraction.parse().map_err(|_| refuse())?,
    };
    let total = dollars * 100 + cents;
    if total > MAX_REVENUE_CENTS {
        return Err(format!(
            "must be at most {} per line, not {}",
            usd_text(MAX_REVENUE_CENTS),
            super::fields::shown(raw)
        ));
    }
    Ok(total)
}

#[cfg(test)]
mod tests;
