//! Survey e-mails to learners: the invitation and its reminders (SPEC §5).
use super::messages::message;

message!(
    /// Invites a learner to the class survey: the token link, or the class's MTM link.
    SurveyInvitation, survey_invitation,
    kind = SurveyInvitation,
    personal_link = true,
    text = "emails/survey_invitation.txt",
    html = "emails/survey_invitation.html",
    subject = |m| format!("How was {}? Five quick questions", m.course_title),
    {
        learner_name: String,
        course_title: String,
        dates: String,
        /// The learner's survey page, or the MTM survey when `external`.
        link: String,
        /// The link is the class's MTM survey (Microsoft's Metrics that Matter).
        external: bool,
        /// The last day the token link works (not shown for MTM links).
        valid_until: String,
    }
);

message!(
    /// Reminds a learner who has not answered yet (same link kind as the invitation).
    SurveyReminder, survey_reminder,
    kind = SurveyReminder,
    personal_link = true,
    text = "emails/survey_reminder.txt",
    html = "emails/survey_reminder.html",
    subject = |m| format!("Reminder: your feedback on {}", m.course_title),
    {
        learner_name: String,
        course_title: String,
        dates: String,
        link: String,
        external: bool,
        valid_until: String,
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::Message;

    #[test]
    fn survey_emails_carry_the_link_in_both_parts() {
        let m = SurveyInvitation {
            learner_name: "Zoë <O'Brien>".into(),
            course_title: "Azure Administrator".into(),
            dates: "2026-03-02 → 2026-03-05".into(),
            link: "https://ledger.example/survey/abc".into(),
            external: false,
            valid_until: "2026-05-01".into(),
        };
        let email = m.to("zoe@example.com", None).unwrap();
        assert_eq!(
            email.kind,
            crate::domain::outbox::MessageKind::SurveyInvitation
        );
        assert!(email.text.contains("https://ledger.example/survey/abc"));
        assert!(email.text.contains("Zoë <O'Brien>"));
        assert!(
            email
                .html
                .contains(r#"href="https://ledger.example/survey/abc""#)
        );
        assert!(!email.html.contains("<O'Brien>"));
        let r = SurveyReminder {
            learner_name: m.learner_name,
            course_title: m.course_title,
            dates: m.dates,
            link: "https://mtm.example/s/1".into(),
            external: true,
            valid_until: m.valid_until,
        };
        let email = r.to("zoe@example.com", None).unwrap();
        assert_eq!(
            email.kind,
            crate::domain::outbox::MessageKind::SurveyReminder
        );
        assert!(email.text.contains("https://mtm.example/s/1"));
        assert!(email.text.contains("Metrics that Matter"));
    }
}
