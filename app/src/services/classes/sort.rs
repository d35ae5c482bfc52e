//! The class list's order — the column it is sorted by and the direction — and where a
//! page starts in that order (the keyset cursor).
//!
//! Every order ends in a unique column, so it is total and a page boundary never skips
//! or repeats a class, and each one is read off an index a page at a time:
//!
//! | sort | order | index |
//! |---|---|---|
//! | dates | start date, id | `idx_classes_start` (or the filter's own, all end in it) |
//! | ref | class ref | the unique index on `class_ref` |
//! | status | status, start date, id | `idx_classes_status_start` |
//! | course | course code, start date, id | courses by code, then `idx_classes_course_start` |
//! | MCT | MCT name, MCT id, start date, id | `idx_trainers_name`, then `idx_classes_trainer_start` |
//! | learners | roster size, class id | `idx_roster_counts_learners` |
//!
//! The direction applies to every column of the order (a descending list walks the same
//! index backwards). The page after a cursor is a row-value comparison, `(a, b) < (?, ?)`,
//! which both databases read as an index range; for course and MCT, whose first column is
//! in another table, the first column is compared on its own (`code >= ?`, an index range
//! on that table) and the rest only within the cursor's course or MCT. SQLite reads those
//! two orders straight off the indexes; PostgreSQL orders each course's (MCT's) class ids
//! after reading them from `idx_classes_course_start` (`…_trainer_start`), so a page there
//! costs up to one course's (MCT's) matching ids more than the page itself.
use chrono::NaiveDate;
use entity::{classes, courses, roster_counts, trainers};
use sea_orm::sea_query::{Expr, IntoColumnRef, SimpleExpr};
use sea_orm::{Condition, ExprTrait, Order};

use super::list::ClassRow;
use crate::domain::delivery::ClassStatus;

tsp_domain::id_enum!(
    /// A column the class list can be sorted by.
    SortKey {
        Date = "date" / "Dates",
        Ref = "ref" / "Class",
        Course = "course" / "Course",
        Mct = "mct" / "MCT",
        Status = "status" / "Status",
        Learners = "learners" / "Learners",
    }
);

tsp_domain::id_enum!(
    /// Which way a sort runs.
    Direction {
        Asc = "asc" / "ascending",
        Desc = "desc" / "descending",
    }
);

impl SortKey {
    /// The direction a column sorts in when first chosen: newest and largest first for
    /// dates and learners, A to Z for the others.
    pub fn first_direction(self) -> Direction {
        match self {
            SortKey::Date | SortKey::Learners => Direction::Desc,
            _ => Direction::Asc,
        }
    }
}

impl Direction {
    pub fn reversed(self) -> Direction {
        match self {
            Direction::Asc => Direction::Desc,
            Direction::Desc => Direction::Asc,
        }
    }
}

/// The list's order; the default is newest start first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sort {
    pub key: SortKey,
    pub dir: Direction,
}

impl Default for Sort {
    fn default() -> Self {
        Sort {
            key: SortKey::Date,
            dir: Direction::Desc,
        }
    }
}

/// Where a page starts: the sort values of the last row of the previous page. Each sort
/// has its own shape; [`Cursor::decode`] reads one for the sort it is given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cursor {
    Date {
        start_date: NaiveDate,
        id: i64,
    },
    Ref {
        class_ref: String,
    },
    Status {
        status: ClassStatus,
        start_date: NaiveDate,
        id: i64,
    },
    Course {
        course_code: String,
        start_date: NaiveDate,
        id: i64,
    },
    Mct {
        name: String,
        trainer_id: i64,
        start_date: NaiveDate,
        id: i64,
    },
    Learners {
        learners: i64,
        id: i64,
    },
}

impl Cursor {
    /// The cursor just past `row` in the order of `key`.
    pub fn after(key: SortKey, row: &ClassRow) -> Cursor {
        let c = &row.class;
        let (start_date, id) = (c.start_date, c.id);
        match key {
            SortKey::Date => Cursor::Date { start_date, id },
            SortKey::Ref => Cursor::Ref {
                class_ref: c.class_ref.clone(),
            },
            SortKey::Status => Cursor::Status {
                status: c.status,
                start_date,
                id,
            },
            SortKey::Course => Cursor::Course {
                course_code: row.course.course_code.clone(),
                start_date,
                id,
            },
            SortKey::Mct => Cursor::Mct {
                name: row.trainer.name.clone(),
                trainer_id: row.trainer.id,
                start_date,
                id,
            },
            SortKey::Learners => Cursor::Learners {
                learners: row.learners as i64,
                id,
            },
        }
    }

    pub fn key(&self) -> SortKey {
        match self {
            Cursor::Date { .. } => SortKey::Date,
            Cursor::Ref { .. } => SortKey::Ref,
            Cursor::Status { .. } => SortKey::Status,
            Cursor::Course { .. } => SortKey::Course,
            Cursor::Mct { .. } => SortKey::Mct,
            Cursor::Learners { .. } => SortKey::Learners,
        }
    }

    /// As text for a link: the fixed-format values first, joined by `_`, and the one
    /// free text (ref, course code, MCT name) last, so `_` inside it needs no escaping.
    pub fn encode(&self) -> String {
        match self {
            Cursor::Date { start_date, id } => format!("{start_date}_{id}"),
            Cursor::Ref { class_ref } => class_ref.clone(),
            Cursor::Status {
                status,
                start_date,
                id,
            } => format!("{start_date}_{id}_{status}"),
            Cursor::Course {
                course_code,
                start_date,
                id,
            } => format!("{start_date}_{id}_{course_code}"),
            Cursor::Mct {
                name,
                trainer_id,
                start_date,
                id,
            } => format!("{start_date}_{id}_{trainer_id}_{name}"),
            Cursor::Learners { learners, id } => format!("{learners}_{id}"),
        }
    }

    /// The cursor `raw` names for the list sorted by `key`, or `None` when it is not one.
    pub fn decode(key: SortKey, raw: &str) -> Option<Cursor> {
        let date_id = |date: &str, id: &str| -> Option<(NaiveDate, i64)> {
            Some((date.parse().ok()?, id.parse().ok()?))
        };
        let cursor = match key {
            SortKey::Date => {
                let (date, id) = raw.split_once('_')?;
                let (start_date, id) = date_id(date, id)?;
                Cursor::Date { start_date, id }
            }
            SortKey::Ref => Cursor::Ref {
                class_ref: raw.to_string(),
            },
            SortKey::Status => {
                let mut parts = raw.splitn(3, '_');
                let (start_date, id) = date_id(parts.next()?, parts.next()?)?;
                Cursor::Status {
                    status: parts.next()?.parse().ok()?,
                    start_date,
                    id,
                }
            }
            SortKey::Course => {
                let mut parts = raw.splitn(3, '_');
                let (start_date, id) = date_id(parts.next()?, parts.next()?)?;
                Cursor::Course {
                    course_code: parts.next()?.to_string(),
                    start_date,
                    id,
                }
            }
            SortKey::Mct => {
                let mut parts = raw.splitn(4, '_');
                let (start_date, id) = date_id(parts.next()?, parts.next()?)?;
                Cursor::Mct {
                    trainer_id: parts.next()?.parse().ok()?,
                    name: parts.next()?.to_string(),
                    start_date,
                    id,
                }
            }
            SortKey::Learners => {
                let (learners, id) = raw.split_once('_')?;
                Cursor::Learners {
                    learners: learners.parse().ok()?,
                    id: id.parse().ok()?,
                }
            }
        };
        (!raw.is_empty()).then_some(cursor)
    }
}

fn col(column: impl IntoColumnRef) -> Expr {
    Expr::col(column)
}

fn start_and_id() -> [Expr; 2] {
    [
        col((classes::Entity, classes::Column::StartDate)),
        col((classes::Entity, classes::Column::Id)),
    ]
}

impl Sort {
    /// The columns of the order, first to last.
    fn columns(self) -> Vec<Expr> {
        let [start, id] = start_and_id();
        match self.key {
            SortKey::Date => vec![start, id],
            SortKey::Ref => vec![col((classes::Entity, classes::Column::ClassRef))],
            SortKey::Status => vec![col((classes::Entity, classes::Column::Status)), start, id],
            SortKey::Course => vec![
                col((courses::Entity, courses::Column::CourseCode)),
                start,
                id,
            ],
            SortKey::Mct => vec![
                col((trainers::Entity, trainers::Column::Name)),
                col((trainers::Entity, trainers::Column::Id)),
                start,
                id,
            ],
            SortKey::Learners => vec![
                col((roster_counts::Entity, roster_counts::Column::Learners)),
                col((roster_counts::Entity, roster_counts::Column::ClassId)),
            ],
        }
    }

    /// `ORDER BY` terms, in this direction.
    pub(super) fn order(self) -> Vec<(Expr, Order)> {
        let order = match self.dir {
            Direction::Asc => Order::Asc,
            Direction::Desc => Order::Desc,
        };
        self.columns()
            .into_iter()
            .map(|c| (c, order.clone()))
            .collect()
    }

    /// The rows after `cursor` in this order.
    pub(super) fn after(self, cursor: &Cursor) -> Condition {
        let beyond = |left: Vec<Expr>, right: Vec<Expr>| -> SimpleExpr {
            let (left, right) = (Expr::tuple(left), Expr::tuple(right));
            match self.dir {
                Direction::Asc => left.gt(right),
                Direction::Desc => left.lt(right),
            }
        };
        let reached = |left: Vec<Expr>, right: Vec<Expr>| -> SimpleExpr {
            let (left, right) = (Expr::tuple(left), Expr::tuple(right));
            match self.dir {
                Direction::Asc => left.gte(right),
                Direction::Desc => left.lte(right),
            }
        };
        let val = |v: sea_orm::Value| Expr::val(v);
        let date_id = |d: NaiveDate, id: i64| vec![val(d.into()), val(id.into())];
        let [start, id_col] = start_and_id();
        let condition = |e: SimpleExpr| Condition::all().add(e);
        match cursor {
            Cursor::Date { start_date, id } => {
                condition(beyond(vec![start, id_col], date_id(*start_date, *id)))
            }
            Cursor::Ref { class_ref } => condition(beyond(
                vec![col((classes::Entity, classes::Column::ClassRef))],
                vec![val(class_ref.clone().into())],
            )),
            Cursor::Status {
                status,
                start_date,
                id,
            } => {
                let mut right = vec![val(status.id().into())];
                right.extend(date_id(*start_date, *id));
                condition(beyond(
                    vec![
                        col((classes::Entity, classes::Column::Status)),
                        start,
                        id_col,
                    ],
                    right,
                ))
            }
            Cursor::Learners { learners, id } => condition(beyond(
                vec![
                    col((roster_counts::Entity, roster_counts::Column::Learners)),
                    col((roster_counts::Entity, roster_counts::Column::ClassId)),
                ],
                vec![val((*learners).into()), val((*id).into())],
            )),
            // The leading column alone first (an index range on the other table), then
            // the rest within the cursor's own course or MCT.
            Cursor::Course {
                course_code,
                start_date,
                id,
            } => {
                let code = || vec![col((courses::Entity, courses::Column::CourseCode))];
                let value = || vec![val(course_code.clone().into())];
                Condition::all().add(reached(code(), value())).add(
                    Condition::any()
                        .add(beyond(code(), value()))
                        .add(beyond(vec![start, id_col], date_id(*start_date, *id))),
                )
            }
            Cursor::Mct {
                name,
                trainer_id,
                start_date,
                id,
            } => {
                let mct = || {
                    vec![
                        col((trainers::Entity, trainers::Column::Name)),
                        col((trainers::Entity, trainers::Column::Id)),
                    ]
                };
                let value = || vec![val(name.clone().into()), val((*trainer_id).into())];
                Condition::all().add(reached(mct(), value())).add(
                    Condition::any()
                        .add(beyond(mct(), value()))
                        .add(beyond(vec![start, id_col], date_id(*start_date, *id))),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn every_cursor_reads_back_as_written_whatever_its_text_holds() {
        let cursors = [
            Cursor::Date {
                start_date: date("2026-03-02"),
                id: 42,
            },
            Cursor::Ref {
                class_ref: "C_2026_0001".into(),
            },
            Cursor::Status {
                status: ClassStatus::Cancelled,
                start_date: date("2026-03-02"),
                id: 7,
            },
            Cursor::Course {
                course_code: "AZ_104-X".into(),
                start_date: date("2025-12-31"),
                id: 1,
            },
            Cursor::Mct {
                name: "Zoë O'Brien_2 & co".into(),
                trainer_id: 9,
                start_date: date("2026-01-01"),
                id: 1_000_000,
            },
            Cursor::Learners { learners: 0, id: 3 },
        ];
        for cursor in cursors {
            let text = cursor.encode();
            assert_eq!(Cursor::decode(cursor.key(), &text), Some(cursor), "{text}");
        }
    }

    #[test]
    fn a_cursor_of_another_shape_or_garbage_is_no_cursor() {
        for (key, raw) in [
            (SortKey::Date, ""),
            (SortKey::Date, "2026-03-02"),
            (SortKey::Date, "2026-13-02_1"),
            (SortKey::Ref, ""),
            (SortKey::Status, "2026-03-02_1_done"),
            (SortKey::Course, "2026-03-02_x_AZ-104"),
            (SortKey::Mct, "2026-03-02_1_Ana"),
            (SortKey::Learners, "many_1"),
            (SortKey::Learners, "2026-03-02_1"),
        ] {
            assert_eq!(Cursor::decode(key, raw), None, "{key} {raw:?}");
        }
    }

    #[test]
    fn dates_and_learners_first_sort_largest_first_the_others_a_to_z() {
        for key in SortKey::ALL {
            let expected = match key {
                SortKey::Date | SortKey::Learners => Direction::Desc,
                _ => Direction::Asc,
            };
            assert_eq!(key.first_direction(), expected, "{key}");
            assert_eq!(expected.reversed().reversed(), expected);
        }
        assert_eq!(
            Sort::default(),
            Sort {
                key: SortKey::Date,
                dir: Direction::Desc
            }
        );
    }
}
