//! Every e-mail the app sends: one struct each, rendered from
//! `templates/emails/<name>.txt` (plain text, not escaped) and `.html` (escaped).
use super::Message;
use crate::domain::outbox::MessageKind;

/// Declares an e-mail: its fields, kind, subject and the two template files (which see
/// the message as `m`); `personal_link = true` when its body carries a personal link.
macro_rules! message {
    (
        $(#[$doc:meta])*
        $name:ident, $module:ident, kind = $kind:ident, $(personal_link = $personal:literal,)?
        text = $text:literal, html = $html:literal,
        subject = |$s:ident| $subject:expr,
        { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            $($(#[$fdoc])* pub $field: $ty),*
        }

        mod $module {
            use askama::Template;

            #[derive(Template)]
            #[template(path = $text)]
            pub struct Text<'a> {
                pub m: &'a super::$name,
            }

            #[derive(Template)]
            #[template(path = $html)]
            pub struct Html<'a> {
                pub m: &'a super::$name,
            }
        }

        impl $crate::mail::Message for $name {
            const KIND: $crate::domain::outbox::MessageKind = $crate::domain::outbox::MessageKind::$kind;
            $(const PERSONAL_LINK: bool = $personal;)?

            fn subject(&self) -> String {
                let $s = self;
                $subject
            }

            fn render(&self) -> Result<(String, String), askama::Error> {
                use askama::Template;
                Ok(($module::Text { m: self }.render()?, $module::Html { m: self }.render()?))
            }
        }
    };
}

pub(crate) use message;

message!(
    /// Asks a class's MCT to confirm the delivery they taught (sign-in required).
    DeliveryConfirmationRequest, delivery_confirmation,
    kind = DeliveryConfirmation,
    text = "emails/delivery_confirmation.txt",
    html = "emails/delivery_confirmation.html",
    subject = |m| format!("Please confirm your delivery of {} ({})", m.course_code, m.class_ref),
    {
        trainer_name: String,
        class_ref: String,
        course_code: String,
        course_title: String,
        dates: String,
        /// The class page, where the MCT signs in and confirms.
        link: String,
    }
);

message!(
    /// A password reset link for a staff account: asked for on the sign-in page or sent
    /// by an administrator.
    PasswordReset, password_reset,
    kind = PasswordReset,
    personal_link = true,
    text = "emails/password_reset.txt",
    html = "emails/password_reset.html",
    subject = |_m| "Reset your tsp-ledger password".to_string(),
    {
        name: String,
        /// `/password/reset/<token>`: single use.
        link: String,
        valid_minutes: i64,
        /// An administrator sent it (rather than the user asking on the sign-in page).
        by_admin: bool,
    }
);

message!(
    /// Asks a learner of a recorded class for their consent, with a link to their own
    /// consent page (grant, decline, later revoke).
    RecordingConsentRequest, recording_consent_request,
    kind = RecordingConsent,
    personal_link = true,
    text = "emails/recording_consent.txt",
    html = "emails/recording_consent.html",
    subject = |m| format!("Your consent: recording of {} ({})", m.course_code, m.dates),
    {
        learner_name: String,
        recording_title: String,
        course_code: String,
        course_title: String,
        dates: String,
        presenter: String,
        /// The learner's consent page (`/consent/<token>`), no sign-in needed.
        link: String,
    }
);

message!(
    /// Gives a learner their achievement code, with a link to their own code page.
    AchievementCodeEmail, achievement_code_email,
    kind = AchievementCode,
    personal_link = true,
    text = "emails/achievement_code.txt",
    html = "emails/achievement_code.html",
    subject = |m| format!("Your Microsoft achievement code for {}", m.course_code),
    {
        learner_name: String,
        code: String,
        course_code: String,
        course_title: String,
        dates: String,
        /// The learner's code page (`/codes/<token>`), no sign-in needed.
        link: String,
        /// Microsoft Learn's redemption page (`codes.redeem_url`).
        redeem_url: String,
    }
);

message!(
    /// Tells a coordinator which takedowns are past their due date (rule 6), once a day.
    TakedownOverdueNotice, takedown_overdue_notice,
    kind = TakedownOverdue,
    text = "emails/takedown_overdue.txt",
    html = "emails/takedown_overdue.html",
    subject = |m| format!(
        "{} takedown{} overdue",
        m.lines.len(),
        if m.lines.len() == 1 { " is" } else { "s are" }
    ),
    {
        coordinator_name: String,
        /// One line per overdue takedown: reference, recording, due date.
        lines: Vec<String>,
        /// The recordings page.
        link: String,
    }
);

/// Whether a queued message of `kind` carries a personal link: each message type says
/// so itself (`personal_link = true` in its declaration), and the match names every kind,
/// so a new kind does not compile until its message type is named here.
pub fn carries_personal_link(kind: MessageKind) -> bool {
    use super::notices;
    use super::survey_messages::{SurveyInvitation, SurveyReminder};
    match kind {
        MessageKind::DeliveryConfirmation => DeliveryConfirmationRequest::PERSONAL_LINK,
        MessageKind::PasswordReset => PasswordReset::PERSONAL_LINK,
        MessageKind::RecordingConsent => RecordingConsentRequest::PERSONAL_LINK,
        MessageKind::AchievementCode => AchievementCodeEmail::PERSONAL_LINK,
        MessageKind::TakedownOverdue => TakedownOverdueNotice::PERSONAL_LINK,
        MessageKind::SurveyInvitation => SurveyInvitation::PERSONAL_LINK,
        MessageKind::SurveyReminder => SurveyReminder::PERSONAL_LINK,
        MessageKind::ConfirmationReminder => notices::ConfirmationReminder::PERSONAL_LINK,
        MessageKind::ConfirmationOverdue => notices::ConfirmationOverdue::PERSONAL_LINK,
        MessageKind::CodeReminder => notices::CodeReminder::PERSONAL_LINK,
        MessageKind::StandingEnding => notices::StandingEnding::PERSONAL_LINK,
        MessageKind::ConsentRevoked => notices::ConsentRevoked::PERSONAL_LINK,
        MessageKind::ClassAssignment => notices::ClassAssignment::PERSONAL_LINK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_have_a_plain_and_an_escaped_html_part() {
        let m = DeliveryConfirmationRequest {
            trainer_name: "Zoë O'Brien <MCT>".into(),
            class_ref: "C-1".into(),
            course_code: "AZ-104".into(),
            course_title: "Azure Administrator".into(),
            dates: "2026-03-02 → 2026-03-05".into(),
            link: "https://ledger.example/classes/1".into(),
        };
        let email = m.to("zoe@example.com", Some("class:1".into())).unwrap();
        assert_eq!(email.kind, MessageKind::DeliveryConfirmation);
        assert_eq!(
            email.subject,
            "Please confirm your delivery of AZ-104 (C-1)"
        );
        assert!(email.text.contains("Zoë O'Brien <MCT>"), "{}", email.text);
        assert!(email.text.contains("https://ledger.example/classes/1"));
        assert!(
            email.html.contains("Zoë O&#39;Brien &#60;MCT&#62;")
                || email.html.contains("Zoë O&#x27;Brien &lt;MCT&gt;"),
            "{}",
            email.html
        );
        assert!(
            email
                .html
                .contains(r#"href="https://ledger.example/classes/1""#)
        );
    }

    #[test]
    fn password_reset_mails_carry_the_link_and_say_who_sent_them() {
        let m = PasswordReset {
            name: "Zoë <Admin>".into(),
            link: "https://ledger.example/password/reset/abc".into(),
            valid_minutes: 30,
            by_admin: false,
        };
        let email = m.to("zoe@example.com", Some("user:1".into())).unwrap();
        assert_eq!(email.kind, MessageKind::PasswordReset);
        assert!(carries_personal_link(email.kind));
        assert!(
            email
                .text
                .contains("https://ledger.example/password/reset/abc")
        );
        assert!(email.text.contains("30 minutes"));
        assert!(email.text.contains("asked to reset"));
        assert!(
            email
                .html
                .contains(r#"href="https://ledger.example/password/reset/abc""#)
        );
        assert!(!email.html.contains("<Admin>"), "escaped: {}", email.html);
        let by_admin = PasswordReset {
            by_admin: true,
            ..m
        }
        .to("zoe@example.com", None)
        .unwrap();
        assert!(by_admin.text.contains("An administrator sent you"));
        assert!(by_admin.html.contains("An administrator sent you"));
    }
}
