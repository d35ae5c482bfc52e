#!/bin/bash
# Times every import kind through `tsp-ledger import`, each file into the database the
# previous ones filled, and prints rows/s and the process's peak heap (largest RssAnon).
#
# usage: .ci/perf-import.sh BIN [POSTGRES_URL]
#   BIN           the release binary (target/release/tsp-ledger)
#   POSTGRES_URL  e.g. postgres://postgres@127.0.0.1:5432/test (schema "perf", recreated);
#                 without it, a fresh SQLite database under $PERF_DIR/db
# The files are written by .ci/perf-data.py into $PERF_DIR (default /tmp/perf) if missing.
set -euo pipefail
bin=$(realpath "$1")
dir=${PERF_DIR:-/tmp/perf}
here=$(dirname "$(realpath "$0")")
[ -f "$dir/sr.csv" ] || python3 "$here/perf-data.py" "$dir"
[ -f "$dir/cl200k.csv" ] || head -200001 "$dir/cl1m.csv" > "$dir/cl200k.csv"
cd "$dir"
rm -rf db && mkdir db
if [ -n "${2:-}" ]; then
  psql -q "$2" -c "DROP SCHEMA IF EXISTS perf CASCADE" -c "CREATE SCHEMA perf" >/dev/null
  export DATABASE_URL="$2?options%5Bsearch_path%5D=perf"
else
  export DATABASE_URL="sqlite://$PWD/db/perf.db?mode=rwc"
fi
export TSP_LEDGER__DATA__DIR=$PWD/db

run() {
  local kind=$1 file=$2 rows start peak=0 pid heap
  rows=$(($(wc -l < "$file") - 1))
  start=$(date +%s.%N)
  "$bin" import "$kind" "$file" > db/out 2>&1 &
  pid=$!
  while kill -0 $pid 2>/dev/null; do
    heap=$(awk '/RssAnon/ {print $2}' /proc/$pid/status 2>/dev/null || true)
    [ -n "$heap" ] && [ "$heap" -gt "$peak" ] && peak=$heap
    sleep 0.05
  done
  if ! wait $pid; then echo "FAILED $kind"; tail -5 db/out; exit 1; fi
  python3 -c 'import sys,time; k,f,r,s,p=sys.argv[1:]; d=time.time()-float(s); print(f"{k:18} {f:12} {int(r):>8} rows {d:7.1f} s {int(r)/d:9.0f} rows/s  peak heap {int(p)//1024} MiB")' \
    "$kind" "$file" "$rows" "$start" "$peak"
}

run title-plan tp.csv
run trainers tr.csv
run classes cl.csv
run roster ro.csv
run classes cl200k.csv
run code-pool cp.csv
run codes co.csv
run survey-responses sr.csv
run vouchers vo.csv
run trainers tr-big.csv
run title-plan tp-big.csv
