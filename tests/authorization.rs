//! Every route × every role (and anonymous) → the expected status.
use axum::http::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tsp_ledger::domain::role::Role;

use crate::fixtures;
use crate::support::TestApp;
use tsp_ledger::domain::delivery::ClassStatus;
use tsp_ledger::domain::recording::ConsentStatus;
use tsp_ledger::domain::recording::RecordingStatus;
use tsp_ledger::domain::recording::TakedownStatus;

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
}

/// Expected status for anonymous, admin, coordinator, trainer, viewer.
struct Row {
    method: Method,
    path: &'static str,
    fields: &'static [(&'static str, &'static str)],
    expect: [u16; 5],
}

const SEE_OTHER: u16 = 303;

/// Records the class and catalog rows point at.
struct Ids {
    /// Another user's id (`{other}`).
    other_user: i64,
    /// A course (`{course}`), an MCT not linked to any of the clients (`{trainer}`).
    course: i64,
    trainer: i64,
    /// A confirmed class of that MCT (`{class}`) with one learner (`{enrollment}`): roster
    /// changes on it need a reason, so a request without one changes nothing.
    class: i64,
    enrollment: i64,
    /// An exam voucher purchase (`{voucher}`).
    voucher: i64,
    /// A courseware purchase (`{purchase}`).
    purchase: i64,
    /// An API token (`{token}`).
    token: i64,
    /// A draft recording of `{class}` (`{recording}`), one of its consent rows
    /// (`{consent}`, the learner's), that learner's consent-page token (`{consent_token}`)
    /// and an open takedown of it (`{takedown}`).
    recording: i64,
    consent: i64,
    consent_token: String,
    /// A live password reset link of `{other}` (`{reset_token}`).
    reset_token: String,
    takedown: i64,
    /// A stored ledger checkpoint (`{checkpoint}`).
    checkpoint: i64,
}

/// The rows, with `{other}`, `{course}`, `{trainer}`, `{class}` and `{enrollment}` in
/// paths replaced by the ids of [`Ids`].
fn matrix(ids: &Ids) -> Vec<(Row, String)> {
    use Method::*;
    let rows = [
        Row {
            method: Get,
            path: "/",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 200, 200],
        },
        Row {
            method: Get,
            path: "/healthz",
            fields: &[],
            expect: [200; 5],
        },
        Row {
            method: Get,
            path: "/static/app.css",
            fields: &[],
            expect: [200; 5],
        },
        Row {
            method: Get,
            path: "/login",
            fields: &[],
            expect: [200, SEE_OTHER, SEE_OTHER, SEE_OTHER, SEE_OTHER],
        },
        Row {
            method: Post,
            path: "/login",
            fields: &[
                ("email", "nobody@example.com"),
                ("password", "wrong password!"),
            ],
            expect: [422; 5],
        },
        // Reloading the address a refused form was shown at goes up to its page.
        Row {
            method: Get,
            path: "/account/password",
            fields: &[],
            expect: [SEE_OTHER; 5],
        },
        Row {
            method: Get,
            path: "/classes/{class}/roster",
            fields: &[],
            expect: [SEE_OTHER; 5],
        },
        Row {
            method: Get,
            path: "/codes/{class}/redeem",
            fields: &[],
            expect: [SEE_OTHER; 5],
        },
        Row {
            method: Get,
            path: "/recordings/{recording}/withdraw",
            fields: &[],
            expect: [SEE_OTHER; 5],
        },
        Row {
            method: Get,
            path: "/recordings/{recording}/consents/{consent}/paper",
            fields: &[],
            expect: [SEE_OTHER; 5],
        },
        Row {
            method: Get,
            path: "/recordings/{recording}/takedowns",
            fields: &[],
            expect: [SEE_OTHER; 5],
        },
        Row {
            method: Get,
            path: "/classes/{class}/roster/import",
            fields: &[],
            expect: [SEE_OTHER; 5],
        },
        // Single sign-on is open to anybody when configured (tests/oidc.rs), and absent
        // when not, as here.
        Row {
            method: Get,
            path: "/auth/oidc/start",
            fields: &[],
            expect: [404; 5],
        },
        Row {
            method: Get,
            path: "/auth/oidc/callback",
            fields: &[],
            expect: [404; 5],
        },
        Row {
            method: Get,
            path: "/setup/0000",
            fields: &[],
            expect: [404; 5],
        },
        Row {
            method: Post,
            path: "/setup/0000",
            fields: &[],
            expect: [404; 5],
        },
        Row {
            method: Get,
            path: "/account",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 200, 200],
        },
        Row {
            method: Post,
            path: "/account/password",
            fields: &[("current_password", "not it at all")],
            expect: [SEE_OTHER, 422, 422, 422, 422],
        },
        Row {
            method: Get,
            path: "/admin/users",
            fields: &[],
            expect: [SEE_OTHER, 200, 403, 403, 403],
        },
        Row {
            method: Get,
            path: "/admin/users/new",
            fields: &[],
            expect: [SEE_OTHER, 200, 403, 403, 403],
        },
        Row {
            method: Post,
            path: "/admin/users",
            fields: &[],
            expect: [SEE_OTHER, 422, 403, 403, 403],
        },
        Row {
            method: Post,
            path: "/admin/users/{other}/role",
            fields: &[("role", "viewer")],
            expect: [SEE_OTHER, SEE_OTHER, 403, 403, 403],
        },
        Row {
            method: Post,
            path: "/admin/users/{other}/active",
            fields: &[("active", "true")],
            expect: [SEE_OTHER, SEE_OTHER, 403, 403, 403],
        },
        // issue 13: password recovery. Public pages: the same answer for everyone; a
        // live link (`{reset_token}`, the other user's) opens its form for whoever holds
        // it, and a too-short password changes nothing. The admin row comes last: its
        // new link supersedes `{reset_token}`.
        Row {
            method: Get,
            path: "/password/forgot",
            fields: &[],
            expect: [200; 5],
        },
        Row {
            method: Post,
            path: "/password/forgot",
            fields: &[("email", "nobody@example.com")],
            expect: [200; 5],
        },
        Row {
            method: Get,
            path: "/password/reset/0000",
            fields: &[],
            expect: [404; 5],
        },
        Row {
            method: Post,
            path: "/password/reset/0000",
            fields: &[("new_password", "long enough password")],
            expect: [404; 5],
        },
        Row {
            method: Get,
            path: "/password/reset/{reset_token}",
            fields: &[],
            expect: [200; 5],
        },
        Row {
            method: Post,
            path: "/password/reset/{reset_token}",
            fields: &[
                ("new_password", "short"),
                ("new_password_confirmation", "short"),
            ],
            expect: [422; 5],
        },
        Row {
            method: Post,
            path: "/admin/users/{other}/reset-link",
            fields: &[],
            expect: [SEE_OTHER, SEE_OTHER, 403, 403, 403],
        },
        Row {
            method: Get,
            path: "/admin/ledger",
            fields: &[],
            expect: [SEE_OTHER, 200, 403, 403, 403],
        },
        // issue 16 item 7: the ledger's filters, and the same entries as CSV (admins only);
        // a bad filter names its field.
        Row {
            method: Get,
            path: "/admin/ledger?who=cli&entity=class&id={class}&action=import&from=2020-01-01&to=2099-12-31",
            fields: &[],
            expect: [SEE_OTHER, 200, 403, 403, 403],
        },
        Row {
            method: Get,
            path: "/admin/ledger?from=yesterday",
            fields: &[],
            expect: [SEE_OTHER, 400, 403, 403, 403],
        },
        Row {
            method: Get,
            path: "/admin/ledger.csv?who=cli",
            fields: &[],
            expect: [SEE_OTHER, 200, 403, 403, 403],
        },
        Row {
            method: Get,
            path: "/admin/ledger?verify=1",
            fields: &[],
            expect: [SEE_OTHER, 200, 403, 403, 403],
        },
        // issue 12 item 5: signed checkpoints, admins only.
        Row {
            method: Post,
            path: "/admin/ledger/checkpoints",
            fields: &[],
            expect: [SEE_OTHER, SEE_OTHER, 403, 403, 403],
        },
        Row {
            method: Get,
            path: "/admin/ledger/checkpoints/{checkpoint}",
            fields: &[],
            expect: [SEE_OTHER, 200, 403, 403, 403],
        },
        Row {
            method: Post,
            path: "/logout",
            fields: &[],
            expect: [SEE_OTHER; 5],
        },
        Row {
            method: Get,
            path: "/no/such/page",
            fields: &[],
            expect: [404; 5],
        },
        // Courses: readers see the list, editors change it; trainers get 403.
        Row {
            method: Get,
            path: "/courses",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        Row {
            method: Get,
            path: "/courses?q=az&retired=true",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        Row {
            method: Get,
            path: "/courses/new",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 403],
        },
        Row {
            method: Post,
            path: "/courses",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        Row {
            method: Get,
            path: "/courses/{course}",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 403],
        },
        Row {
            method: Post,
            path: "/courses/{course}",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        Row {
            method: Post,
            path: "/courses/{course}/retire",
            fields: &[("retired", "maybe")],
            expect: [SEE_OTHER, 400, 400, 403, 403],
        },
        // Trainers (MCTs): the same.
        Row {
            method: Get,
            path: "/trainers",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        Row {
            method: Get,
            path: "/trainers/new",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 403],
        },
        Row {
            method: Post,
            path: "/trainers",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        Row {
            method: Get,
            path: "/trainers/{trainer}",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 403],
        },
        Row {
            method: Post,
            path: "/trainers/{trainer}",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        // Classes: every signed-in role has a list and an export (a trainer's own
        // classes only); another MCT's class is a 404 to a trainer.
        Row {
            method: Get,
            path: "/classes",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 200, 200],
        },
        Row {
            method: Get,
            path: "/classes?status=confirmed&area=infrastructure",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 200, 200],
        },
        Row {
            method: Get,
            path: "/classes/export.csv",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 200, 200],
        },
        Row {
            method: Get,
            path: "/classes/export.csv?status=confirmed",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 200, 200],
        },
        Row {
            method: Get,
            path: "/classes/new",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 403],
        },
        Row {
            method: Post,
            path: "/classes",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        Row {
            method: Get,
            path: "/classes/{class}",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 404, 200],
        },
        Row {
            method: Post,
            path: "/classes/{class}",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        Row {
            method: Get,
            path: "/classes/{class}/edit",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 403],
        },
        Row {
            method: Post,
            path: "/classes/{class}/status",
            fields: &[("change", "nonsense")],
            expect: [SEE_OTHER, 400, 400, 403, 403],
        },
        // Only the class's own MCT, or an admin (with a reason: none given here).
        Row {
            method: Post,
            path: "/classes/{class}/confirm",
            fields: &[],
            expect: [SEE_OTHER, 422, 403, 404, 403],
        },
        Row {
            method: Post,
            path: "/classes/{class}/roster",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        Row {
            method: Get,
            path: "/classes/{class}/roster.csv",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 404, 200],
        },
        Row {
            method: Post,
            path: "/classes/{class}/attendance",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        Row {
            method: Post,
            path: "/classes/{class}/roster/{enrollment}/remove",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        // Uploads are multipart: a urlencoded body gets past the role check and is
        // then refused as a bad request.
        Row {
            method: Post,
            path: "/classes/{class}/roster/import",
            fields: &[],
            expect: [SEE_OTHER, 400, 400, 403, 403],
        },
        // issue 16 items 3-4: the class list's orders and learner search, and learners
        // across classes (a trainer sees their own classes' learners: {enrollment} is
        // on another MCT's class, so not found).
        Row {
            method: Get,
            path: "/classes?sort=learners&dir=asc&learner=matrix&location=x",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 200, 200],
        },
        Row {
            method: Get,
            path: "/learners?q=matrix",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 200, 200],
        },
        Row {
            method: Get,
            path: "/learners/{enrollment}",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 404, 200],
        },
        Row {
            method: Get,
            path: "/imports",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 403],
        },
        Row {
            method: Get,
            path: "/imports?kind=classes",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 403],
        },
        Row {
            method: Post,
            path: "/imports",
            fields: &[("kind", "classes")],
            expect: [SEE_OTHER, 400, 400, 403, 403],
        },
        Row {
            method: Get,
            path: "/api/v1/kpi?as_of=2026-11-22",
            fields: &[],
            expect: [401, 200, 200, 403, 200],
        },
        // issue 16 item 8: classes over the API (a trainer reads their own classes only:
        // C-M is another MCT's, so it is not found), and the public description
        Row {
            method: Get,
            path: "/api/v1/classes?status=confirmed",
            fields: &[],
            expect: [401, 200, 200, 200, 200],
        },
        Row {
            method: Get,
            path: "/api/v1/classes/C-M",
            fields: &[],
            expect: [401, 200, 200, 404, 200],
        },
        Row {
            method: Get,
            path: "/api/v1/openapi.json",
            fields: &[],
            expect: [200, 200, 200, 200, 200],
        },
        // issue 5: organisation settings (a valid form, so admins are redirected)
        Row {
            method: Get,
            path: "/admin/settings",
            fields: &[],
            expect: [SEE_OTHER, 200, 403, 403, 403],
        },
        Row {
            method: Post,
            path: "/admin/settings",
            fields: &[
                ("organization_name", "Contoso"),
                ("anniversary_month", "8"),
                ("anniversary_day", "1"),
            ],
            expect: [SEE_OTHER, SEE_OTHER, 403, 403, 403],
        },
        // issue 16 item 9: the administrator's pages behind one "Admin" entry; the logo's
        // upload (multipart: a urlencoded body is a bad request) and removal (admins
        // only), and the logo itself, public (none is set here: 404 for everybody).
        Row {
            method: Get,
            path: "/admin",
            fields: &[],
            expect: [SEE_OTHER, 200, 403, 403, 403],
        },
        Row {
            method: Get,
            path: "/admin/settings/logo",
            fields: &[],
            expect: [SEE_OTHER; 5],
        },
        Row {
            method: Post,
            path: "/admin/settings/logo",
            fields: &[],
            expect: [SEE_OTHER, 400, 403, 403, 403],
        },
        Row {
            method: Post,
            path: "/admin/settings/logo/remove",
            fields: &[],
            expect: [SEE_OTHER, SEE_OTHER, 403, 403, 403],
        },
        Row {
            method: Get,
            path: "/brand/logo",
            fields: &[],
            expect: [404; 5],
        },
        // issue 5: KPI line items
        Row {
            method: Get,
            path: "/kpi/lines?as_of=2026-11-22&figure=courseware",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        Row {
            method: Get,
            path: "/kpi/lines.csv?as_of=2026-11-22&figure=surveys&area=security",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        // issue 17 item 2: the forecast to the anniversary
        Row {
            method: Get,
            path: "/kpi/forecast?as_of=2026-11-22",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        Row {
            method: Get,
            path: "/api/v1/forecast?as_of=2026-11-22",
            fields: &[],
            expect: [401, 200, 200, 403, 200],
        },
        // issue 17 item 5: evidence packs, for whoever may see the page they come from
        Row {
            method: Get,
            path: "/kpi/evidence.zip?as_of=2026-11-22&figure=courseware",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        Row {
            method: Get,
            path: "/classes/{class}/evidence.zip",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 404, 200],
        },
        Row {
            method: Get,
            path: "/recordings/{recording}/evidence.zip",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 404, 200],
        },
        // issue 16 item 2: what needs doing
        Row {
            method: Get,
            path: "/todo",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        // issue 16 item 6: an MCT's calendar feed, only for a trainer (the matrix's is
        // linked to an MCT; the address is shown once, in the answer)
        Row {
            method: Get,
            path: "/calendar/feed",
            fields: &[],
            expect: [SEE_OTHER; 5],
        },
        Row {
            method: Post,
            path: "/calendar/feed",
            fields: &[],
            expect: [SEE_OTHER, 403, 403, 200, 403],
        },
        Row {
            method: Get,
            path: "/calendar/feed/revoke",
            fields: &[],
            expect: [SEE_OTHER; 5],
        },
        Row {
            method: Post,
            path: "/calendar/feed/revoke",
            fields: &[],
            expect: [SEE_OTHER, 403, 403, SEE_OTHER, 403],
        },
        Row {
            method: Get,
            path: "/calendar/0000.ics",
            fields: &[],
            expect: [404; 5],
        },
        // issue 17 item 6: the public schedule feed, open to everyone
        Row {
            method: Get,
            path: "/schedule.json",
            fields: &[],
            expect: [200; 5],
        },
        Row {
            method: Get,
            path: "/schedule.ics",
            fields: &[],
            expect: [200; 5],
        },
        // issue 16 item 5: quality reports. Readers see every group; a trainer sees the
        // page, and its exports, scoped to their own results; another MCT's class
        // comments are as unknown as the class.
        Row {
            method: Get,
            path: "/quality",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 200, 200],
        },
        Row {
            method: Get,
            path: "/quality?by=course&from=2026-01-01&to=2026-12-31",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 200, 200],
        },
        Row {
            method: Get,
            path: "/quality?from=2026-02-30",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 422, 422],
        },
        Row {
            method: Get,
            path: "/quality.csv?by=area&from=2026-01-01&to=2026-12-31",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 200, 200],
        },
        Row {
            method: Get,
            path: "/quality/comments.csv?by=trainer",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 200, 200],
        },
        Row {
            method: Get,
            path: "/classes/{class}/comments.csv",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 404, 200],
        },
        // issue 17 item 1: reconciliation with Partner Center. Readers compare; admins
        // and coordinators import (multipart: a urlencoded body is a bad request; an
        // unknown upload token is refused).
        Row {
            method: Get,
            path: "/reconciliation",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        Row {
            method: Get,
            path: "/reconciliation/upload",
            fields: &[],
            expect: [SEE_OTHER; 5],
        },
        Row {
            method: Post,
            path: "/reconciliation/upload",
            fields: &[],
            expect: [SEE_OTHER, 400, 400, 403, 403],
        },
        Row {
            method: Get,
            path: "/reconciliation/import",
            fields: &[],
            expect: [SEE_OTHER; 5],
        },
        Row {
            method: Post,
            path: "/reconciliation/import",
            fields: &[("token", "0000")],
            expect: [SEE_OTHER, 400, 400, 403, 403],
        },
        Row {
            method: Get,
            path: "/reconciliation/courseware/2026-03",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        Row {
            method: Get,
            path: "/reconciliation/vouchers/2026-13",
            fields: &[],
            expect: [SEE_OTHER, 400, 400, 403, 400],
        },
        Row {
            method: Get,
            path: "/reconciliation/surveys/2026-03/packet.txt",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        Row {
            method: Get,
            path: "/reconciliation/exams/2026-03/packet.csv",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        // issue 4: outbox
        Row {
            method: Get,
            path: "/outbox",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        Row {
            method: Get,
            path: "/outbox?status=failed",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        Row {
            method: Post,
            path: "/outbox/999999/retry",
            fields: &[],
            expect: [SEE_OTHER, 404, 404, 403, 403],
        },
        // issue 4: achievement codes
        // The pool is empty: issuing is refused (303 back to the class page with a
        // message), and nothing changes. Learner pages need no sign-in.
        Row {
            method: Post,
            path: "/classes/{class}/codes/issue",
            fields: &[],
            expect: [SEE_OTHER, SEE_OTHER, SEE_OTHER, 403, 403],
        },
        Row {
            method: Get,
            path: "/codes",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        Row {
            method: Get,
            path: "/codes?page=2",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        Row {
            method: Get,
            path: "/codes/0000",
            fields: &[],
            expect: [404; 5],
        },
        Row {
            method: Post,
            path: "/codes/999999/redeem",
            fields: &[("redeemed_on", "2026-03-10")],
            expect: [SEE_OTHER, 404, 404, 403, 403],
        },
        // issue 16 item 1: send a code again (no such code: 404 for those who may)
        Row {
            method: Post,
            path: "/codes/999999/resend",
            fields: &[],
            expect: [SEE_OTHER, 404, 404, 403, 403],
        },
        Row {
            method: Get,
            path: "/codes/{class}/resend",
            fields: &[],
            expect: [SEE_OTHER; 5],
        },
        Row {
            method: Get,
            path: "/codes?q=c-1",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        // issue 4: surveys
        // Sends to the one attending learner once; later cells find nobody left to invite.
        Row {
            method: Post,
            path: "/classes/{class}/surveys/send",
            fields: &[],
            expect: [SEE_OTHER, SEE_OTHER, SEE_OTHER, 403, 403],
        },
        // Public learner pages: a token that was never issued is not found, for everyone.
        Row {
            method: Get,
            path: "/survey/0000",
            fields: &[],
            expect: [404; 5],
        },
        Row {
            method: Post,
            path: "/survey/0000",
            fields: &[("q1", "5")],
            expect: [404; 5],
        },
        Row {
            method: Get,
            path: "/survey/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            fields: &[],
            expect: [404; 5],
        },
        // Exam vouchers: readers see the list and totals, editors record and edit.
        Row {
            method: Get,
            path: "/vouchers",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        Row {
            method: Get,
            path: "/vouchers/new",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 403],
        },
        Row {
            method: Post,
            path: "/vouchers",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        Row {
            method: Get,
            path: "/vouchers/{voucher}",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 403],
        },
        Row {
            method: Post,
            path: "/vouchers/{voucher}",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        // issue 17 item 3: courseware purchases (readers see them, editors record and
        // edit), the Learning Partner line items and CSV, and its API.
        Row {
            method: Get,
            path: "/courseware",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        Row {
            method: Get,
            path: "/courseware/new",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 403],
        },
        Row {
            method: Post,
            path: "/courseware",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        Row {
            method: Get,
            path: "/courseware/{purchase}",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 403],
        },
        Row {
            method: Post,
            path: "/courseware/{purchase}",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        Row {
            method: Get,
            path: "/learning-partner/lines?as_of=2026-11-22",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        Row {
            method: Get,
            path: "/learning-partner/lines.csv?as_of=2026-11-22",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 200],
        },
        Row {
            method: Get,
            path: "/api/v1/learning-partner?as_of=2026-11-22",
            fields: &[],
            expect: [401, 200, 200, 403, 200],
        },
        // issue 5: API tokens (admins only). The one admin cell revokes `{token}`.
        Row {
            method: Get,
            path: "/admin/tokens",
            fields: &[],
            expect: [SEE_OTHER, 200, 403, 403, 403],
        },
        Row {
            method: Post,
            path: "/admin/tokens",
            fields: &[],
            expect: [SEE_OTHER, 422, 403, 403, 403],
        },
        Row {
            method: Post,
            path: "/admin/tokens/{token}/revoke",
            fields: &[],
            expect: [SEE_OTHER, SEE_OTHER, 403, 403, 403],
        },
        // issue 6: erasure (admins only). The POST names no learner on any roster, so the
        // admin's cell is a refused form (422) and nothing is erased.
        Row {
            method: Get,
            path: "/admin/erasure",
            fields: &[],
            expect: [SEE_OTHER, 200, 403, 403, 403],
        },
        Row {
            method: Get,
            path: "/admin/erasure?email=learner%40example.com",
            fields: &[],
            expect: [SEE_OTHER, 200, 403, 403, 403],
        },
        Row {
            method: Post,
            path: "/admin/erasure",
            fields: &[
                ("email", "nobody@example.com"),
                ("reason", "REQ-1"),
                ("confirm", "true"),
            ],
            expect: [SEE_OTHER, 422, 403, 403, 403],
        },
        // issue 17 item 4: retention (admins only). The admin's run erases nothing here:
        // the test config keeps learners and consents, and nothing else is old yet.
        Row {
            method: Get,
            path: "/admin/retention",
            fields: &[],
            expect: [SEE_OTHER, 200, 403, 403, 403],
        },
        Row {
            method: Post,
            path: "/admin/retention/run",
            fields: &[],
            expect: [SEE_OTHER, SEE_OTHER, 403, 403, 403],
        },
        // issue 6: recordings. Readers read; a trainer lists only what they present (the
        // matrix trainer presents nothing: another's recording is a 404, as for classes);
        // editors change. The public consent page works by token alone.
        Row {
            method: Get,
            path: "/recordings",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 200, 200],
        },
        Row {
            method: Get,
            path: "/recordings?show=attention",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 200, 200],
        },
        Row {
            method: Get,
            path: "/recordings/new",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 403],
        },
        Row {
            method: Post,
            path: "/recordings",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        Row {
            method: Get,
            path: "/recordings/{recording}",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 404, 200],
        },
        Row {
            method: Get,
            path: "/recordings/{recording}/edit",
            fields: &[],
            expect: [SEE_OTHER, 200, 200, 403, 403],
        },
        Row {
            method: Post,
            path: "/recordings/{recording}",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        // Refused (nobody has granted): a redirect with the reasons, nothing changes.
        Row {
            method: Post,
            path: "/recordings/{recording}/publish",
            fields: &[],
            expect: [SEE_OTHER, SEE_OTHER, SEE_OTHER, 403, 403],
        },
        Row {
            method: Post,
            path: "/recordings/{recording}/withdraw",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        // Only the presenting MCT answers for themselves.
        Row {
            method: Post,
            path: "/recordings/{recording}/consent",
            fields: &[("change", "grant")],
            expect: [SEE_OTHER, 403, 403, 404, 403],
        },
        // Every learner was asked already: nothing to do.
        Row {
            method: Post,
            path: "/recordings/{recording}/consents/request",
            fields: &[],
            expect: [SEE_OTHER, SEE_OTHER, SEE_OTHER, 403, 403],
        },
        Row {
            method: Post,
            path: "/recordings/{recording}/consents/{consent}/paper",
            fields: &[("change", "grant")],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        Row {
            method: Post,
            path: "/recordings/{recording}/takedowns",
            fields: &[],
            expect: [SEE_OTHER, 422, 422, 403, 403],
        },
        Row {
            method: Post,
            path: "/takedowns/{takedown}/status",
            fields: &[("status", "gone")],
            expect: [SEE_OTHER, 400, 400, 403, 403],
        },
        Row {
            method: Get,
            path: "/consent/{consent_token}",
            fields: &[],
            expect: [200; 5],
        },
        Row {
            method: Post,
            path: "/consent/{consent_token}",
            fields: &[("change", "maybe")],
            expect: [422; 5],
        },
        Row {
            method: Get,
            path: "/consent/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            fields: &[],
            expect: [404; 5],
        },
        Row {
            method: Post,
            path: "/consent/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            fields: &[("change", "grant")],
            expect: [404; 5],
        },
        // issue 7: metrics. Admins scrape; anyone else without the configured bearer
        // token (none is configured here) gets 401 or 403 and no figures.
        Row {
            method: Get,
            path: "/metrics",
            fields: &[],
            expect: [401, 200, 403, 403, 403],
        },
    ];
    rows.into_iter()
        .map(|r| {
            let path = r
                .path
                .replace("{other}", &ids.other_user.to_string())
                .replace("{course}", &ids.course.to_string())
                .replace("{trainer}", &ids.trainer.to_string())
                .replace("{class}", &ids.class.to_string())
                .replace("{enrollment}", &ids.enrollment.to_string())
                .replace("{voucher}", &ids.voucher.to_string())
                .replace("{purchase}", &ids.purchase.to_string())
                .replace("{token}", &ids.token.to_string())
                .replace("{recording}", &ids.recording.to_string())
                .replace("{consent_token}", &ids.consent_token)
                .replace("{reset_token}", &ids.reset_token)
                .replace("{consent}", &ids.consent.to_string())
                .replace("{takedown}", &ids.takedown.to_string())
                .replace("{checkpoint}", &ids.checkpoint.to_string());
            (r, path)
        })
        .collect()
}

async fn every_route_admits_exactly_the_roles_spec_section_1_names(app: TestApp) {
    let other = app.create_user(Role::Viewer, "target@example.com").await;
    let course = fixtures::course(&app, "AZ-104", 4, "infrastructure").await;
    let trainer =
        fixtures::trainer(&app, "Matrix MCT", "MCT-M", fixtures::today_plus(365), None).await;
    let class = fixtures::class(
        &app,
        (
            "C-M",
            "AZ-104",
            "MCT-M",
            "2026-03-02",
            "2026-03-05",
            "in_person",
            "confirmed",
        ),
    )
    .await;
    fixtures::import(
        &app,
        tsp_ledger::services::imports::Kind::Roster,
        "class_ref,learner_name,learner_email,attended\nC-M,Matrix Learner,learner@example.com,true\n",
    )
    .await
    .unwrap();
    let enrollment = tsp_ledger::services::classes::roster(app.db(), class.id)
        .await
        .unwrap()[0]
        .id;
    fixtures::import(
        &app,
        tsp_ledger::services::imports::Kind::Vouchers,
        "purchased_on,exam_code,level,quantity,order_ref\n2026-03-02,AZ-104,advanced,10,PO-M\n",
    )
    .await
    .unwrap();
    let voucher = tsp_ledger::services::vouchers::list(app.db())
        .await
        .unwrap()[0]
        .id;
    fixtures::import(
        &app,
        tsp_ledger::services::imports::Kind::Courseware,
        "purchased_on,product_kind,product_code,quantity,revenue_usd,order_ref\n2026-03-02,moc,20742B,10,3500,CM-M\n",
    )
    .await
    .unwrap();
    let purchase = tsp_ledger::services::courseware::list(app.db())
        .await
        .unwrap()[0]
        .id;
    let token_owner = app.create_user(Role::Admin, "tokens@example.com").await;
    let token = tsp_ledger::services::api_tokens::create(app.db(), token_owner, "Matrix token")
        .await
        .unwrap()
        .token
        .id;
    let recording = tsp_ledger::services::recordings::create(
        app.db(),
        &tsp_ledger::ledger::Actor::Cli,
        &tsp_ledger::services::recordings::RecordingFields {
            title: "Matrix recording".into(),
            course_code: "AZ-104".into(),
            mct_id: "MCT-M".into(),
            source_class_ref: "C-M".into(),
            courseware_version: String::new(),
            location: "https://videos.example.com/m".into(),
        }
        .parse()
        .unwrap(),
        "http://ledger.example/consent",
    )
    .await
    .unwrap();
    let consent = entity::recording_consents::Entity::find()
        .filter(entity::recording_consents::Column::EnrollmentId.eq(enrollment))
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .id;
    let mail = entity::outbox_messages::Entity::find()
        .filter(entity::outbox_messages::Column::Kind.eq("recording_consent"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let start = mail.text_body.find("/consent/").unwrap() + "/consent/".len();
    let consent_token = mail.text_body[start..start + 64].to_string();
    let takedown = tsp_ledger::services::takedowns::record(
        app.db(),
        &tsp_ledger::ledger::Actor::Cli,
        recording.id,
        &tsp_ledger::services::takedowns::TakedownFields {
            reference: "CR-M".into(),
            reason: "other".into(),
            received_on: "2026-03-10".into(),
            due_on: "2026-04-10".into(),
            notes: String::new(),
        }
        .parse()
        .unwrap(),
    )
    .await
    .unwrap()
    .id;
    let key = tsp_ledger::ledger::checkpoint::key(&app.state.config).unwrap();
    let checkpoint = tsp_ledger::ledger::checkpoint::write(app.db(), &key)
        .await
        .unwrap()
        .id;
    tsp_ledger::services::password_resets::send_by_admin(&app.state.services(), token_owner, other)
        .await
        .unwrap();
    let mail = entity::outbox_messages::Entity::find()
        .filter(entity::outbox_messages::Column::Kind.eq("password_reset"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let start = mail.text_body.find("/password/reset/").unwrap() + "/password/reset/".len();
    let reset_token = mail.text_body[start..start + 64].to_string();
    let ids = Ids {
        reset_token,
        checkpoint,
        recording: recording.id,
        consent,
        consent_token,
        takedown,
        token,
        other_user: other,
        course: course.id,
        trainer: trainer.id,
        class: class.id,
        enrollment,
        voucher,
        purchase,
    };
    let mut linked_trainers = 0;
    let roles: [Option<Role>; 5] = [
        None,
        Some(Role::Admin),
        Some(Role::Coordinator),
        Some(Role::Trainer),
        Some(Role::Viewer),
    ];
    let mut failures = vec![];
    for (
        Row {
            method,
            fields,
            expect,
            ..
        },
        path,
    ) in matrix(&ids)
    {
        for (role, expected) in roles.iter().zip(expect) {
            // A fresh client per cell: one cell signing out must not affect the next.
            // The trainer is an MCT with a sign-in, linked to their own MCT record (not the
            // one whose class the rows use).
            let mut client = match role {
                Some(Role::Trainer) => {
                    linked_trainers += 1;
                    let user = app
                        .create_user(Role::Trainer, &format!("mct{linked_trainers}@example.com"))
                        .await;
                    fixtures::trainer(
                        &app,
                        "Another MCT",
                        &format!("MCT-T{linked_trainers}"),
                        fixtures::today_plus(365),
                        Some(user),
                    )
                    .await;
                    app.client_for(user).await
                }
                Some(role) => app.client_as(*role).await,
                None => app.anonymous(),
            };
            let response = match method {
                Method::Get => client.get(&path).await,
                Method::Post => client.post(&path, fields).await,
            };
            if response.status != StatusCode::from_u16(expected).unwrap() {
                failures.push(format!(
                    "{} {path} as {}: expected {expected}, got {}",
                    match method {
                        Method::Get => "GET",
                        Method::Post => "POST",
                    },
                    role.map(|r| r.id()).unwrap_or("anonymous"),
                    response.status
                ));
            }
            if expected == SEE_OTHER
                && role.is_none()
                && path != "/login"
                && !path.starts_with("/logout")
            {
                // To sign-in, or (the GET of a POST-only address) up to the page the
                // form is on, which asks for sign-in itself.
                let location = response.location().unwrap_or_default();
                assert!(
                    location.starts_with("/login")
                        || (matches!(method, Method::Get)
                            && !location.is_empty()
                            && path.starts_with(location)),
                    "{path}: anonymous goes to sign-in, got {location}"
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix mismatches:\n{}",
        failures.join("\n")
    );
    // No cell changed the records the rows share, so their order does not matter —
    // except the token, which only the admin cell could revoke.
    let revokes = entity::ledger_entries::Entity::find()
        .filter(entity::ledger_entries::Column::EntityType.eq("api_token"))
        .filter(entity::ledger_entries::Column::Action.eq("revoke"))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(revokes.len(), 1);
    assert_eq!(revokes[0].entity_id, ids.token.to_string());
    let class = tsp_ledger::services::classes::get(app.db(), ids.class)
        .await
        .unwrap();
    assert_eq!(class.status, ClassStatus::Confirmed);
    assert_eq!(class.location, None);
    let roster = tsp_ledger::services::classes::roster(app.db(), ids.class)
        .await
        .unwrap();
    assert_eq!(roster.len(), 1);
    assert!(roster[0].attended);
    assert!(
        !tsp_ledger::services::courses::get(app.db(), ids.course)
            .await
            .unwrap()
            .retired
    );
    // issue 6: the recording is still a draft, nobody's consent changed, the takedown is open.
    let recording = tsp_ledger::services::recordings::get(app.db(), ids.recording)
        .await
        .unwrap();
    assert_eq!(recording.status, RecordingStatus::Draft);
    let consents = entity::recording_consents::Entity::find()
        .filter(entity::recording_consents::Column::RecordingId.eq(ids.recording))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(consents.len(), 2);
    assert!(
        consents
            .iter()
            .all(|c| c.status == ConsentStatus::Requested)
    );
    let takedown = entity::takedowns::Entity::find_by_id(ids.takedown)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(takedown.status, TakedownStatus::Open);
}
db_test!(every_route_admits_exactly_the_roles_spec_section_1_names);

async fn forbidden_pages_are_styled_and_say_why(app: TestApp) {
    let mut viewer = app.client_as(Role::Viewer).await;
    let response = viewer.get("/admin/users").await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    response
        .assert_contains("Not allowed")
        .assert_contains("/static/app.css")
        .assert_contains("Sign out");
    let response = viewer.get("/nothing-here").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    response.assert_contains("Page not found");
}
db_test!(forbidden_pages_are_styled_and_say_why);

/// The router and the matrix are built from two lists; this keeps them one: every route
/// of `web::routes()` has a row (the most specific template a row's path fits is the one
/// it covers), and every row is a route.
#[test]
fn every_route_has_a_row_in_the_matrix() {
    let ids = Ids {
        other_user: 1,
        course: 1,
        trainer: 1,
        class: 1,
        enrollment: 1,
        voucher: 1,
        purchase: 1,
        token: 1,
        recording: 1,
        consent: 1,
        consent_token: "t".into(),
        reset_token: "t".into(),
        takedown: 1,
        checkpoint: 1,
    };
    let routes: Vec<(&'static str, &'static str)> = tsp_ledger::web::routes()
        .iter()
        .map(|r| {
            let method = if r.method == axum::http::Method::GET {
                "GET"
            } else {
                "POST"
            };
            assert!(
                matches!(r.method.as_str(), "GET" | "POST"),
                "{} {}",
                r.method,
                r.path
            );
            (method, r.path)
        })
        .collect();
    let segments = |path: &str| -> Vec<String> {
        let path = path.split('?').next().unwrap_or(path);
        path.split('/').map(str::to_string).collect()
    };
    let mut covered = std::collections::HashSet::new();
    let mut stale = vec![];
    for (row, _) in matrix(&ids) {
        let method = match row.method {
            Method::Get => "GET",
            Method::Post => "POST",
        };
        let row_segments = segments(row.path);
        let fits = |template: &str| -> Option<usize> {
            let t = segments(template);
            (t.len() == row_segments.len()
                && t.iter()
                    .zip(&row_segments)
                    .all(|(t, r)| t.starts_with('{') || t == r))
            .then(|| t.iter().filter(|t| !t.starts_with('{')).count())
        };
        let best = routes
            .iter()
            .filter(|(m, _)| *m == method)
            .filter_map(|(_, path)| fits(path).map(|literals| (literals, *path)))
            .max();
        match best {
            Some((_, path)) => {
                covered.insert((method, path));
            }
            // The fallback's own row: no route, a 404 for everyone.
            None if row.expect == [404; 5] => {}
            None => stale.push(format!("{method} {}", row.path)),
        }
    }
    let missing: Vec<String> = routes
        .iter()
        .filter(|route| !covered.contains(*route))
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a matrix row:\n{}",
        missing.join("\n")
    );
    assert!(
        stale.is_empty(),
        "matrix rows that are no route:\n{}",
        stale.join("\n")
    );
}
