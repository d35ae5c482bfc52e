use super::*;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[test]
fn the_same_seed_and_day_give_the_same_files() {
    let today = day("2026-11-22");
    assert_eq!(generate(7, today), generate(7, today));
    assert_ne!(
        generate(7, today).file(Kind::Classes),
        generate(8, today).file(Kind::Classes)
    );
}

#[test]
fn every_date_is_within_thirteen_months_and_one_ahead() {
    let today = day("2026-11-22");
    let data = generate(DEFAULT_SEED, today);
    let mut reader = csv::Reader::from_reader(data.file(Kind::Classes).as_bytes());
    for row in reader.records() {
        let row = row.unwrap();
        let start = day(&row[3]);
        assert!(start >= day("2025-10-01"), "{start}");
        assert!(start <= day("2026-12-22"), "{start}");
        if &row[6] != "scheduled" && &row[6] != "cancelled" {
            assert!(day(&row[4]) < today, "{row:?} took place in the future");
        }
    }
    let mut reader = csv::Reader::from_reader(data.file(Kind::Codes).as_bytes());
    for row in reader.records() {
        let row = row.unwrap();
        if !row[4].is_empty() {
            assert!(day(&row[4]) <= today && day(&row[4]) >= day(&row[3]));
        }
    }
}

#[test]
fn the_rng_is_uniform_enough() {
    let mut rng = Rng::new(1);
    let mut buckets = [0u32; 10];
    for _ in 0..10_000 {
        buckets[rng.range(0, 9) as usize] += 1;
    }
    assert!(
        buckets.iter().all(|&n| (900..1100).contains(&n)),
        "{buckets:?}"
    );
}
