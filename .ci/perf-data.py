#!/usr/bin/env python3
"""Writes the CSV files the README's import and class-list figures were measured with.

usage: perf-data.py DIR   (writes tp.csv, tr.csv, cl.csv, ro.csv, ro-bad.csv, cl1m.csv,
       cp.csv, co.csv, sr.csv, vo.csv, tr-big.csv, tp-big.csv)
"""
import os
import random
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out, exist_ok=True)
random.seed(1)
AREAS = ["data_ai", "infrastructure", "digital_app_innovation", "business_applications",
         "modern_work", "security", ""]
MODALITIES = ["in_person", "virtual", "recorded"]
STATUSES = ["scheduled", "delivered", "confirmed", "cancelled"]
CLASSES = 20_000


def write(name, header, rows):
    with open(os.path.join(out, name), "w") as f:
        f.write(header + "\n")
        for row in rows:
            f.write(row + "\n")


write("tp.csv", "course_code,title,duration_days,fundamentals,solution_area,content,courseware_version",
      (f"CRS-{i:03d},Course number {i},{random.choice([1, 2, 3, 4, 5])},"
       f"{'true' if i % 7 == 0 else 'false'},{AREAS[i % 7]},"
       f"{'official' if i % 5 else 'unofficial'},2026-0{1 + i % 9}" for i in range(200)))
write("tr.csv", "name,email,mct_id,mct_valid_until,affiliated",
      (f"Trainer {i},t{i}@example.com,MCT-{i:04d},2030-12-31,true" for i in range(500)))


def classes(prefix, count, spread):
    for i in range(count):
        y, m, d = spread(i)
        yield (f"{prefix}-{i:07d},CRS-{i % 200:03d},MCT-{(i * 7 if prefix == 'K' else i) % 500:04d},"
               f"{y}-{m:02d}-{d:02d},{y}-{m:02d}-{d + 1:02d},{MODALITIES[i % 3]},"
               f"{STATUSES[(i // 3) % 4] if prefix == 'K' else STATUSES[i % 4]}")


CLASS_HEADER = "class_ref,course_code,mct_id,start_date,end_date,modality,status"
write("cl.csv", CLASS_HEADER, classes("C", CLASSES, lambda i: (2024 + i % 3, 1 + i % 12, 1 + i % 27)))
write("cl1m.csv", CLASS_HEADER,
      classes("K", 1_000_000, lambda i: (2020 + i % 7, 1 + (i // 7) % 12, 1 + (i // 84) % 27)))


def roster(bad_line=None):
    n = 0
    for i in range(CLASSES):
        for j in range(50):
            domain = "example" if n + 2 == bad_line else "example.com"
            # Attendance is ticked only for a class that took place (not a cancelled one).
            ticked = j % 3 and STATUSES[i % 4] != "cancelled"
            yield (f'C-{i:07d},"Learner {n}, Jr.",learner{n}@{domain},'
                   f"{'true' if ticked else 'false'}")
            n += 1


ROSTER_HEADER = "class_ref,learner_name,learner_email,attended"
write("ro.csv", ROSTER_HEADER, roster())
write("ro-bad.csv", ROSTER_HEADER, roster(bad_line=999_990))


def class_dates(i):
    y, m, d = 2024 + i % 3, 1 + i % 12, 1 + i % 27
    return f"{y}-{m:02d}-{d:02d}", f"{y}-{m:02d}-{d + 1:02d}"


def taught_learners(count):
    """(class_ref, e-mail, n, end date) of learners of delivered and confirmed classes."""
    made = 0
    for i in range(CLASSES):
        if STATUSES[i % 4] not in ("delivered", "confirmed"):
            continue
        _, end = class_dates(i)
        for j in range(50):
            if made == count:
                return
            n = i * 50 + j
            yield f"C-{i:07d}", f"learner{n}@example.com", n, end
            made += 1


ROWS = 200_000
write("cp.csv", "achievement_code", (f"POOL-{n:08d}" for n in range(ROWS)))
write("co.csv", "class_ref,learner_email,achievement_code,issued_on,redeemed_on",
      (f"{ref},{email},MS-{n:08d},{end},{end if n % 2 else ''}"
       for ref, email, n, end in taught_learners(ROWS)))
write("sr.csv", "class_ref,learner_email,submitted_on,q1,q2,q3,q4,q5",
      (f"{ref},{email},{end},{1 + n % 5},{1 + n % 4},{2 + n % 4},5,{'' if n % 3 else 4}"
       for ref, email, n, end in taught_learners(ROWS)))
write("vo.csv", "purchased_on,exam_code,level,quantity,order_ref",
      (f"2026-{1 + n % 11:02d}-{1 + n % 28:02d},EX-{n % 300:03d},"
       f"{'fundamentals' if n % 3 else 'advanced'},{1 + n % 9},ORD-{n:08d}" for n in range(ROWS)))
write("tr-big.csv", "name,email,mct_id,mct_valid_until,affiliated",
      (f"Trainer {i},big{i}@example.com,MCT-{i:06d},2030-12-31,true" for i in range(20_000)))
write("tp-big.csv", "course_code,title,duration_days,fundamentals,solution_area,content,courseware_version",
      (f"BIG-{i:06d},Course number {i},{1 + i % 5},{'true' if i % 7 == 0 else 'false'},"
       f"{AREAS[i % 7]},{'official' if i % 5 else 'unofficial'},2026-01" for i in range(20_000)))
