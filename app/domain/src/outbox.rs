//! The outbox's vocabularies: what kind of e-mail a queued message is, and where it stands.

id_enum!(
    /// Every kind of e-mail the app sends; each message type in the app's `mail/` is one.
    MessageKind {
        AchievementCode = "achievement_code" / "Achievement code",
        DeliveryConfirmation = "delivery_confirmation" / "Delivery confirmation request",
        PasswordReset = "password_reset" / "Password reset",
        RecordingConsent = "recording_consent" / "Recording consent request",
        SurveyInvitation = "survey_invitation" / "Survey invitation",
        SurveyReminder = "survey_reminder" / "Survey reminder",
        TakedownOverdue = "takedown_overdue" / "Takedown overdue notice",
        ConfirmationReminder = "confirmation_reminder" / "Confirmation reminder",
        ConfirmationOverdue = "confirmation_overdue" / "Unconfirmed deliveries notice",
        CodeReminder = "code_reminder" / "Achievement code reminder",
        StandingEnding = "standing_ending" / "MCT standing ending notice",
        ConsentRevoked = "consent_revoked" / "Consent revoked notice",
        ClassAssignment = "class_assignment" / "Class assignment",
    }
);

id_enum!(
    /// A queued message is sent or failed by the worker, and failed ones may be queued again.
    OutboxStatus {
        Queued = "queued" / "Queued",
        Sent = "sent" / "Sent",
        Failed = "failed" / "Failed",
    }
);
