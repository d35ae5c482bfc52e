#!/usr/bin/env bash
# KPI benchmark (SQLite): 1 000 000 redeemed codes and 1 000 000 survey responses, then
# the time of `tsp-ledger kpi` next to the time of the same four aggregate queries run
# by the sqlite3 CLI on the same file, as a ratio.
#   usage: .ci/kpi-bench.sh TSP_LEDGER_BINARY WORK_DIR
set -euo pipefail
bin=$1; dir=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir" && cd "$dir"
python3 "$here/perf-data.py" . >/dev/null
rm -f kpi.db*; export DATABASE_URL="sqlite://$PWD/kpi.db?mode=rwc" TSP_LEDGER__DATA__DIR=$PWD/data
"$bin" import title-plan tp.csv >/dev/null && "$bin" import trainers tr.csv >/dev/null
sed 's/,scheduled$/,confirmed/; s/,delivered$/,confirmed/' cl.csv > cl-confirmed.csv
"$bin" import classes cl-confirmed.csv >/dev/null && "$bin" import roster ro.csv >/dev/null
# One code and one response per enrollment, dated across 14 months.
sqlite3 kpi.db <<'SQL'
INSERT INTO achievement_codes (code, enrollment_id, issued_on, redeemed_on, created_at, updated_at)
  SELECT 'AC-' || id, id, '2025-10-01', date('2025-10-01', '+' || (id % 420) || ' days'),
         '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00' FROM enrollments;
INSERT INTO survey_responses (enrollment_id, q1, q2, q3, q4, q5, submitted_on, source, created_at)
  SELECT id, 1 + id % 5, 1 + (id / 5) % 5, CASE WHEN id % 7 = 0 THEN NULL ELSE 4 END, 5, NULL,
         date('2025-10-01', '+' || (id % 420) || ' days'), 'import', '2026-01-01 00:00:00+00:00' FROM enrollments;
ANALYZE;
SQL
echo "rows: $(sqlite3 kpi.db 'select count(*) from achievement_codes') codes, $(sqlite3 kpi.db 'select count(*) from survey_responses') responses"

best() { # best of 3 wall-clock seconds of "$@"
  local b=999
  for _ in 1 2 3; do
    local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N)
    b=$(python3 -c "print(min($b, $e - $s))")
  done
  echo "$b"
}
CAT="CASE WHEN co.fundamentals THEN 'fundamentals' WHEN co.duration_days <= 2 THEN 'two_days_or_less' ELSE 'three_days_or_more' END"
WHY="CASE WHEN cl.status = 'cancelled' THEN 'cancelled' WHEN co.content <> 'official' THEN 'unofficial' WHEN cl.modality = 'recorded' THEN 'recorded' WHEN cl.status <> 'confirmed' THEN 'unconfirmed' ELSE 'eligible' END"
W="'2025-11-01' AND '2026-10-31'"
# The four queries of services::kpi::scan, as the app sends them.
cat > queries.sql <<SQL
SELECT SUBSTR(CAST(ac.redeemed_on AS TEXT), 1, 7), $CAT, $WHY, COUNT(*) FROM achievement_codes ac JOIN enrollments e ON e.id = ac.enrollment_id JOIN classes cl ON cl.id = e.class_id JOIN courses co ON co.id = cl.course_id WHERE ac.redeemed_on BETWEEN $W GROUP BY 1, 2, 3;
SELECT SUBSTR(CAST(purchased_on AS TEXT), 1, 7), level, SUM(quantity) FROM exam_vouchers WHERE purchased_on BETWEEN $W GROUP BY 1, 2;
SELECT SUBSTR(CAST(r.submitted_on AS TEXT), 1, 7), $CAT, co.solution_area, $WHY, COUNT(*), SUM((CASE WHEN r.q1 IS NULL THEN 0 ELSE 1 END + CASE WHEN r.q2 IS NULL THEN 0 ELSE 1 END + CASE WHEN r.q3 IS NULL THEN 0 ELSE 1 END + CASE WHEN r.q4 IS NULL THEN 0 ELSE 1 END + CASE WHEN r.q5 IS NULL THEN 0 ELSE 1 END)), SUM(COALESCE(r.q1, 0) + COALESCE(r.q2, 0) + COALESCE(r.q3, 0) + COALESCE(r.q4, 0) + COALESCE(r.q5, 0)) FROM survey_responses r JOIN enrollments e ON e.id = r.enrollment_id JOIN classes cl ON cl.id = e.class_id JOIN courses co ON co.id = cl.course_id WHERE r.submitted_on BETWEEN $W GROUP BY 1, 2, 3, 4;
SELECT $WHY, COUNT(*) FROM classes cl JOIN courses co ON co.id = cl.course_id WHERE cl.end_date BETWEEN $W GROUP BY 1;
SQL
app=$(best "$bin" kpi --as-of 2026-11-22 --format json)
# The app maps the database file (PRAGMA mmap_size, see app/src/db.rs); so does the CLI here.
raw=$(best sqlite3 -cmd "PRAGMA mmap_size = 1073741824" kpi.db ".read queries.sql")
python3 -c "print(f'tsp-ledger kpi: {$app:.3f} s   sqlite3, same queries: {$raw:.3f} s   ratio {$app / $raw:.2f}')"
