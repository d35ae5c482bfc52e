#!/usr/bin/env bash
# Reconciliation at the demo year and at 200 000 lines (release build first: cargo build --release).
# Run from anywhere; works in /tmp/m. Prints each timing.
set -e
B=${CARGO_TARGET_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/target}/release/tsp-ledger
rm -rf /tmp/m && mkdir /tmp/m && cd /tmp/m
/usr/bin/time -f "demo: %e s" $B demo > /dev/null
TODAY=$(date +%F)
$B export kpi-lines --as-of $TODAY --figure courseware --output lines.csv
python3 - <<'PY'
import csv, random
rows=list(csv.DictReader(open('lines.csv')))
out=open('ms.csv','w'); w=csv.writer(out)
w.writerow(["Completion Date","Achievement Code","Course Number","Points"])
kept=0
for i,r in enumerate(rows):
    if i%50==0: continue
    y,m,d=r['date'].split('-'); w.writerow([f"{int(m)}/{int(d)}/{y}", r['item'], r['course_code'], r['points']]); kept+=1
for i in range(20):
    w.writerow([f"{rows[i]['date'][5:7]}/{rows[i]['date'][8:10]}/{rows[i]['date'][:4]}", f"ZZ-{i:05}", "AZ-104", "1"])
out.close()
print("app lines", len(rows), "microsoft lines", kept+20)
big=open('big.csv','w'); w=csv.writer(big)
w.writerow(["Completion Date","Achievement Code","Course Number","Points"])
random.seed(1)
for i in range(200000):
    m=random.randint(1,12); d=random.randint(1,28)
    w.writerow([f"{m}/{d}/2026", f"MS-{i:07}", "AZ-104", "1"])
big.close()
PY
/usr/bin/time -f "reconcile import (demo-sized): %e s, %M KiB max RSS" $B reconcile import --figure courseware --mapping "Partner Center: courseware completions" ms.csv
/usr/bin/time -f "reconcile status: %e s" $B reconcile status > status.txt || true
head -20 status.txt
/usr/bin/time -f "reconcile import (200 000 lines): %e s, %M KiB max RSS" $B reconcile import --figure courseware --mapping "Partner Center: courseware completions" big.csv
/usr/bin/time -f "reconcile status after 200k: %e s" $B reconcile status > /dev/null || true
/usr/bin/time -f "retention plan: %e s" $B retention plan | head -20
