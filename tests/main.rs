//! The one integration test binary: every test runs on SQLite and, when
//! TEST_DATABASE_URL is set, again on PostgreSQL.
#[macro_use]
mod support;
mod fixtures;
mod smtp;

mod accounts;
mod api_tokens;
mod authorization;
mod ledger;
mod mail;
mod real_server;
mod security;
// delivery record (issue 3): catalog and classes
mod catalog;
mod classes;
mod codes;
// delivery record (issue 3): rosters, imports, exports
mod exports;
mod imports;
mod kpi;
mod kpi_aggregates;
mod recordings;
mod rosters;
mod surveys;
mod vouchers;
// issue 5: demo data
mod demo;
// issue 6: learner erasure
mod erasure;
// issue 7: metrics and bad input
mod bad_input;
mod ops;
// issue 7: browser journeys in headless Chromium
mod browser;
// issue 7: fault tests and scale-out (child processes)
mod child;
mod faults;
mod scale_out;
// issue 13: password recovery
mod password_recovery;
// issue 13: single sign-on against a real OpenID provider
mod oidc;
// issue 13 items 5-7: bad input, sessions and tokens, small things
mod input;
// issue 14: the structure a newcomer can change safely
mod structure;
// issue 15 item 5: classes of any size
mod large_class;
// issue 15 item 3: imports at scale
mod bulk_imports;
// issue 16 item 8: the classes API and its OpenAPI description
mod api;
// issue 16 item 1: Microsoft's redemption report
mod redemptions;
// issue 16 item 2: what needs doing
mod todo;
// issue 16 item 6: an MCT's home and calendar
mod home;
// issue 16 item 5: quality reports
mod quality;
// issue 16 items 7 and 9: the ledger's filters and CSV, the partner's brand, layout
mod brand;
mod browser_layout;
mod ledger_filters;
// issue 16 items 3-4: the class list's orders, counts and search; learners
mod class_list;
mod learners;
// issue 17 item 6: the public schedule feed
mod schedule;
// issue 17 item 1: reconciliation with Partner Center
mod reconciliation;
// issue 17 item 4: retention
mod retention;
// issue 17 item 2: the forecast to the anniversary
mod forecast;
// issue 17 item 5: evidence packs
mod evidence;
// issue 17 item 3: the Learning Partner program as a second rules profile
mod learning_partner;
