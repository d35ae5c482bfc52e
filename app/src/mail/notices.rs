//! The nudges of the To do page (issue 16 item 2) and the class assignment: e-mails of one
//! shape (a greeting, what happened, the records as lines, one link), sharing
//! `emails/notice.{txt,html}`. Each kind is its own type, so the outbox tells them apart;
//! each has one constructor here that writes its words.
use super::messages::message;

/// Declares a notice: `message!` with the shared fields and templates.
macro_rules! notice {
    ($(#[$doc:meta])* $name:ident, $module:ident, kind = $kind:ident,
     $(personal_link = $personal:literal,)? subject = |$s:ident| $subject:expr) => {
        message!(
            $(#[$doc])*
            $name, $module,
            kind = $kind,
            $(personal_link = $personal,)?
            text = "emails/notice.txt",
            html = "emails/notice.html",
            subject = |$s| $subject,
            {
                /// Who is greeted.
                name: String,
                /// What the subject line names (a class, a count, an MCT).
                topic: String,
                intro: String,
                /// One line per record concerned.
                lines: Vec<String>,
                /// The button's words and where it leads.
                action: String,
                link: String,
                outro: String,
            }
        );
    };
}

notice!(
    /// Reminds a class's MCT that a delivery is still waiting for their confirmation.
    ConfirmationReminder, confirmation_reminder,
    kind = ConfirmationReminder,
    subject = |m| format!("Reminder: please confirm your delivery of {}", m.topic)
);

notice!(
    /// Tells a coordinator which deliveries their MCTs have still not confirmed.
    ConfirmationOverdue, confirmation_overdue,
    kind = ConfirmationOverdue,
    subject = |m| format!("{} still unconfirmed", m.topic)
);

notice!(
    /// Reminds a learner of their unredeemed achievement code (the code is in the body).
    CodeReminder, code_reminder,
    kind = CodeReminder,
    personal_link = true,
    subject = |m| format!("Reminder: redeem your Microsoft achievement code for {}", m.topic)
);

notice!(
    /// Warns that an MCT's good standing ends soon (to the MCT, and to coordinators).
    StandingEnding, standing_ending,
    kind = StandingEnding,
    subject = |m| format!("MCT good standing ending: {}", m.topic)
);

notice!(
    /// Tells a coordinator that consent was revoked on a published recording (rule 3).
    ConsentRevoked, consent_revoked,
    kind = ConsentRevoked,
    subject = |m| format!("Consent revoked: {} needs action", m.topic)
);

notice!(
    /// Tells an MCT they were assigned a class; the class rides along as `invite.ics`.
    ClassAssignment, class_assignment,
    kind = ClassAssignment,
    subject = |m| format!("You are teaching {}", m.topic)
);

/// A class as a notice names it: `C-2026-0001 — AZ-104 Azure Administrator, 2026-03-02 → 2026-03-05`.
pub fn class_line(class_ref: &str, course_code: &str, course_title: &str, dates: &str) -> String {
    format!("{class_ref} — {course_code} {course_title}, {dates}")
}

impl ConfirmationReminder {
    pub fn new(trainer_name: &str, class_ref: &str, line: String, days: i64, link: String) -> Self {
        ConfirmationReminder {
            name: trainer_name.to_string(),
            topic: class_ref.to_string(),
            intro: format!(
                "This class was marked as delivered and ended {days} day{} ago; it still waits for your confirmation:",
                if days == 1 { "" } else { "s" }
            ),
            lines: vec![line],
            action: "Sign in and confirm".into(),
            link,
            outro: "Until you confirm it, the delivery earns no credit toward the designation."
                .into(),
        }
    }
}

impl ConfirmationOverdue {
    pub fn new(coordinator_name: &str, lines: Vec<String>, days: i64, link: String) -> Self {
        let n = lines.len();
        ConfirmationOverdue {
            name: coordinator_name.to_string(),
            topic: format!("{n} deliver{}", if n == 1 { "y" } else { "ies" }),
            intro: format!(
                "These classes ended {days} or more days ago and their MCTs, already reminded, have not confirmed them:"
            ),
            lines,
            action: "Open the To do page".into(),
            link,
            outro: "An unconfirmed delivery earns no credit. An administrator may confirm it with a reason.".into(),
        }
    }
}

impl CodeReminder {
    pub fn new(
        learner_name: &str,
        code: &str,
        course_code: &str,
        course_title: &str,
        expires_on: Option<chrono::NaiveDate>,
        redeem_url: String,
    ) -> Self {
        CodeReminder {
            name: learner_name.to_string(),
            topic: course_code.to_string(),
            intro: format!(
                "Your achievement code for {course_code} {course_title} has not been redeemed yet. Redeem it on Microsoft Learn to add the achievement to your profile{}:",
                expires_on
                    .map(|d| format!(" before it expires on {d}"))
                    .unwrap_or_default()
            ),
            lines: vec![format!("Your code: {code}")],
            action: "Redeem on Microsoft Learn".into(),
            link: redeem_url,
            outro: "This is the only reminder we send about this code.".into(),
        }
    }
}

impl StandingEnding {
    /// To the MCT whose standing ends.
    pub fn to_trainer(
        trainer_name: &str,
        valid_until: chrono::NaiveDate,
        days_left: i64,
        link: String,
    ) -> Self {
        StandingEnding {
            name: trainer_name.to_string(),
            topic: format!("{trainer_name}, {days_left} days left"),
            intro: format!(
                "Your MCT good standing is recorded as ending on {valid_until}, in {days_left} day{}. \
                 Renew it with Microsoft and tell your coordinator the new date: classes of official \
                 content after it cannot be scheduled or confirmed with you as their MCT.",
                if days_left == 1 { "" } else { "s" }
            ),
            lines: vec![],
            action: "See your classes".into(),
            link,
            outro: String::new(),
        }
    }

    /// To a coordinator, one line per MCT.
    pub fn to_coordinator(coordinator_name: &str, lines: Vec<String>, link: String) -> Self {
        let n = lines.len();
        StandingEnding {
            name: coordinator_name.to_string(),
            topic: format!("{n} MCT{}", if n == 1 { "" } else { "s" }),
            intro: "The MCT good standing of these trainers ends soon:".into(),
            lines,
            action: "Open the To do page".into(),
            link,
            outro: "Official content needs an MCT in good standing on every day of the class."
                .into(),
        }
    }
}

impl ConsentRevoked {
    pub fn new(coordinator_name: &str, recording_title: &str, who: &str, link: String) -> Self {
        ConsentRevoked {
            name: coordinator_name.to_string(),
            topic: format!("\"{recording_title}\""),
            intro: format!(
                "{who} revoked their consent to the published recording \"{recording_title}\". \
                 The recording needs action: edit the person out, or withdraw it."
            ),
            lines: vec![],
            action: "Open the recording".into(),
            link,
            outro: String::new(),
        }
    }
}

impl ClassAssignment {
    pub fn new(
        trainer_name: &str,
        class_ref: &str,
        line: String,
        location: Option<&str>,
        link: String,
    ) -> Self {
        ClassAssignment {
            name: trainer_name.to_string(),
            topic: class_ref.to_string(),
            intro:
                "You are the MCT of this class; it is attached as a calendar entry (invite.ics):"
                    .into(),
            lines: std::iter::once(line)
                .chain(location.map(|l| format!("Location: {l}")))
                .collect(),
            action: "Open the class".into(),
            link,
            outro: "Your classes are also in your calendar feed: see your home page in tsp-ledger."
                .into(),
        }
    }
}
