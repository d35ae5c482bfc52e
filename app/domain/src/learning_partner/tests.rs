use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

const P: &LearningPartnerProfile = &LEARNING_PARTNER;

fn measured(mcts: i64, half_units: i64, revenue_cents: i64) -> Measured {
    Measured {
        mcts,
        half_units,
        revenue_cents,
    }
}

fn line(kind: ProductKind, kits: i64, revenue_cents: i64) -> KindTotal {
    KindTotal {
        kind,
        kits,
        revenue_cents,
    }
}

#[test]
fn rule_courseware_kits_are_one_unit_mccvl_half_and_exams_and_labs_revenue_only() {
    for kind in [
        ProductKind::Moc,
        ProductKind::MocOnDemand,
        ProductKind::CloudWorkshop,
        ProductKind::TrainingCourse,
        ProductKind::MtaCourseware,
    ] {
        assert_eq!(P.half_units(kind, 3), 6, "{kind}");
    }
    assert_eq!(P.half_units(ProductKind::Mccvl, 3), 3);
    assert_eq!(P.half_units(ProductKind::Exam, 3), 0);
    assert_eq!(P.half_units(ProductKind::Labs, 3), 0);
    // Revenue-only products add revenue and no units; every purchase adds its revenue.
    let m = measure(
        2,
        &[
            line(ProductKind::Moc, 10, 150_000),
            line(ProductKind::Mccvl, 3, 9_000),
            line(ProductKind::Exam, 40, 660_000),
            line(ProductKind::Labs, 5, 25_050),
        ],
        P,
    );
    assert_eq!(m, measured(2, 23, 844_050));
    assert_eq!(units_text(m.half_units), "11.5");
}

#[test]
fn rule_mccvl_halves_add_up_exactly() {
    // One MCCVL kit is half a unit: 399 kits are 199.5 units, 400 are 200.
    let at = |kits| measure(2, &[line(ProductKind::Mccvl, kits, 0)], P);
    assert_eq!(units_text(at(399).half_units), "199.5");
    assert_eq!(level(&at(399), P), PartnerLevel::ActionPack);
    assert_eq!(level(&at(400), P), PartnerLevel::Silver);
    // Mixed: 199 courseware kits and one MCCVL kit are 199.5; two MCCVL kits make 200.
    let mixed = |mccvl| {
        measure(
            2,
            &[
                line(ProductKind::Moc, 199, 0),
                line(ProductKind::Mccvl, mccvl, 0),
            ],
            P,
        )
    };
    assert_eq!(mixed(1).half_units, 399);
    assert_eq!(level(&mixed(1), P), PartnerLevel::ActionPack);
    assert_eq!(level(&mixed(2), P), PartnerLevel::Silver);
}

#[test]
fn rule_action_pack_needs_one_mct() {
    assert_eq!(
        level(&measured(0, 20_000, 90_000_000), P),
        PartnerLevel::NoLevel
    );
    assert_eq!(level(&measured(1, 0, 0), P), PartnerLevel::ActionPack);
    assert_eq!(
        missing(&measured(0, 0, 0), &P.needs(PartnerLevel::ActionPack)),
        measured(1, 0, 0)
    );
}

#[test]
fn rule_silver_needs_two_mcts_and_200_units() {
    assert_eq!(level(&measured(1, 400, 0), P), PartnerLevel::ActionPack);
    assert_eq!(level(&measured(2, 399, 0), P), PartnerLevel::ActionPack);
    assert_eq!(level(&measured(2, 400, 0), P), PartnerLevel::Silver);
    // Silver needs no revenue.
    assert_eq!(P.silver.revenue_cents, 0);
    assert_eq!(
        missing(&measured(1, 399, 0), &P.needs(PartnerLevel::Silver)),
        measured(1, 1, 0)
    );
}

#[test]
fn rule_gold_needs_four_mcts_5000_units_and_500k_revenue() {
    let gold = measured(4, 10_000, 50_000_000);
    assert_eq!(level(&gold, P), PartnerLevel::Gold);
    // 3 vs 4 MCTs.
    assert_eq!(
        level(&measured(3, 10_000, 50_000_000), P),
        PartnerLevel::Silver
    );
    // 4 999.5 vs 5 000 units.
    assert_eq!(
        level(&measured(4, 9_999, 50_000_000), P),
        PartnerLevel::Silver
    );
    // $499 999.99 vs $500 000.
    let short = measured(4, 10_000, 49_999_999);
    assert_eq!(level(&short, P), PartnerLevel::Silver);
    let gap = missing(&short, &P.needs(PartnerLevel::Gold));
    assert_eq!(gap, measured(0, 0, 1));
    assert_eq!(usd_text(gap.revenue_cents), "$0.01");
    assert_eq!(
        missing(
            &measured(3, 9_999, 49_999_999),
            &P.needs(PartnerLevel::Gold)
        ),
        measured(1, 1, 1)
    );
    assert_eq!(units_text(1), "0.5");
    // Beyond Gold nothing is missing.
    assert_eq!(PartnerLevel::Gold.next(), None);
    assert_eq!(
        missing(
            &measured(9, 20_000, 90_000_000),
            &P.needs(PartnerLevel::Gold)
        ),
        measured(0, 0, 0)
    );
}

#[test]
fn rule_levels_follow_one_another() {
    assert_eq!(PartnerLevel::NoLevel.next(), Some(PartnerLevel::ActionPack));
    assert_eq!(PartnerLevel::ActionPack.next(), Some(PartnerLevel::Silver));
    assert_eq!(PartnerLevel::Silver.next(), Some(PartnerLevel::Gold));
    assert!(PartnerLevel::NoLevel < PartnerLevel::ActionPack);
    assert!(PartnerLevel::Silver < PartnerLevel::Gold);
}

#[test]
fn rule_learning_partner_period_ends_with_the_month_before_the_anniversary() {
    let anniversary = Some((8, 15));
    // Before the end of the month before the anniversary: progress so far.
    let p = period(d("2026-03-10"), anniversary, P);
    assert_eq!((p.start, p.end), (d("2025-08-01"), d("2026-07-31")));
    assert_eq!(p.counted_to, d("2026-03-10"));
    assert_eq!(p.anniversary, Some(d("2026-08-15")));
    assert!(!p.closed);
    assert_eq!(p.mcts_on, d("2026-03-10"));
    // The day before the deadline still runs; on the deadline the period is complete.
    let p = period(d("2026-07-30"), anniversary, P);
    assert!(!p.closed);
    assert_eq!(p.counted_to, d("2026-07-30"));
    let p = period(d("2026-07-31"), anniversary, P);
    assert!(p.closed);
    assert_eq!(p.counted_to, d("2026-07-31"));
    // Between the deadline and the anniversary (inclusive): the same, closed period,
    // MCTs counted on its last day.
    for day in ["2026-08-01", "2026-08-15"] {
        let p = period(d(day), anniversary, P);
        assert_eq!(
            (p.start, p.end),
            (d("2025-08-01"), d("2026-07-31")),
            "{day}"
        );
        assert_eq!(p.counted_to, d("2026-07-31"));
        assert_eq!(p.mcts_on, d("2026-07-31"));
        assert_eq!(p.anniversary, Some(d("2026-08-15")));
        assert!(p.closed);
    }
    // The day after the anniversary: the next year's period has begun.
    let p = period(d("2026-08-16"), anniversary, P);
    assert_eq!((p.start, p.end), (d("2026-08-01"), d("2027-07-31")));
    assert_eq!(p.counted_to, d("2026-08-16"));
    assert_eq!(p.anniversary, Some(d("2027-08-15")));
    assert!(!p.closed);
    // An anniversary on the 1st: the deadline is the last day of the month before.
    let p = period(d("2026-12-31"), Some((1, 1)), P);
    assert_eq!((p.start, p.end), (d("2026-01-01"), d("2026-12-31")));
    assert!(p.closed);
    assert_eq!(p.anniversary, Some(d("2027-01-01")));
}

#[test]
fn rule_learning_partner_period_without_an_anniversary_is_the_twelve_months_before() {
    let p = period(d("2026-11-22"), None, P);
    assert_eq!((p.start, p.end), (d("2025-11-01"), d("2026-10-31")));
    assert_eq!(p.counted_to, d("2026-10-31"));
    assert_eq!(p.anniversary, None);
    assert!(p.closed);
    // MCTs are counted on the as-of date.
    assert_eq!(p.mcts_on, d("2026-11-22"));
}

#[test]
fn rule_revenue_is_read_exactly_into_cents() {
    assert_eq!(parse_usd("500000"), Ok(50_000_000));
    assert_eq!(parse_usd(" 499999.99 "), Ok(49_999_999));
    assert_eq!(parse_usd("0.1"), Ok(10));
    assert_eq!(parse_usd("0.01"), Ok(1));
    assert_eq!(parse_usd("0"), Ok(0));
    // 0.1 + 0.2 in floats is not 0.3; in cents it is.
    assert_eq!(parse_usd("0.1").unwrap() + parse_usd("0.2").unwrap(), 30);
    for bad in [
        "", "1.234", "$100", "1,000", "-5", "1e3", "12.", ".5", "abc", "1.2.3", " 1 000",
    ] {
        let e = parse_usd(bad).unwrap_err();
        assert!(e.contains("US dollars"), "{bad:?}: {e}");
    }
    assert_eq!(parse_usd("1000000000.00"), Ok(MAX_REVENUE_CENTS));
    assert!(parse_usd("1000000000.01").unwrap_err().contains("at most"));
    assert!(parse_usd("99999999999999").is_err());
    assert_eq!(cents_text(49_999_999), "499999.99");
    assert_eq!(cents_text(5), "0.05");
    assert_eq!(usd_text(50_000_000), "$500,000.00");
    assert_eq!(usd_text(123_456_789), "$1,234,567.89");
    assert_eq!(usd_text(99), "$0.99");
}

#[test]
fn rule_the_dashboard_shows_the_chosen_profiles() {
    use DashboardProfiles::*;
    assert!(Designation2025.shows_designation() && !Designation2025.shows_learning_partner());
    assert!(!LearningPartner.shows_designation() && LearningPartner.shows_learning_partner());
    assert!(Both.shows_designation() && Both.shows_learning_partner());
}
