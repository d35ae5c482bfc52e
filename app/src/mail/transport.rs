//! Where messages go: an SMTP server (lettre's pooled async transport), `.eml` files
//! (the default, so a newcomer sees what would have been sent), or memory (tests).
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use entity::{org_logo, outbox_messages};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{MailConfig, MailTransport, SmtpTls};

#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(PathBuf),
    /// Keeps every sent message (the formatted RFC 5322 text) for tests to read.
    Stub(Arc<Mutex<Vec<String>>>),
}

impl Transport {
    pub fn from_config(config: &MailConfig) -> anyhow::Result<Transport> {
        Ok(match config.transport {
            MailTransport::Smtp => {
                let builder = match config.smtp_tls {
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.smtp_host)?,
                    SmtpTls::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.smtp_host)?
                    }
                    SmtpTls::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.smtp_host)
                    }
                };
                let mut builder =
                    builder
                        .port(config.smtp_port)
                        .timeout(Some(std::time::Duration::from_secs(
                            config.smtp_timeout_seconds,
                        )));
                if !config.smtp_username.is_empty() {
                    builder = builder.credentials(Credentials::new(
                        config.smtp_username.clone(),
                        config.smtp_password.clone(),
                    ));
                }
                Transport::Smtp(builder.build())
            }
            MailTransport::File => Transport::File(config.file_dir.clone()),
            MailTransport::Stub => Transport::Stub(Arc::default()),
        })
    }

    /// Sends one outbox message from `from`, with `logo` inside when its HTML shows it;
    /// the error says why (a line for the outbox page) and whether trying again could help.
    pub async fn send(
        &self,
        from: &Mailbox,
        message: &outbox_messages::Model,
        logo: Option<&org_logo::Model>,
    ) -> Result<(), SendError> {
        let email = build(from, message, logo).map_err(SendError::permanent)?;
        match self {
            Transport::Smtp(smtp) => smtp.send(email).await.map(|_| ()).map_err(|e| SendError {
                // A 5xx reply (no such recipient, refused): the same message will be
                // refused again, so it fails at once instead of retrying for a day.
                permanent: e.is_permanent(),
                message: format!("SMTP: {e}"),
            }),
            Transport::File(dir) => {
                let name = message
                    .message_id
                    .trim_matches(|c| c == '<' || c == '>')
                    .replace(['@', '/'], "_");
                let path = dir.join(format!("{:08}-{name}.eml", message.id));
                let bytes = email.formatted();
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| SendError::transient(format!("{}: {e}", dir.display())))?;
                tokio::fs::write(&path, bytes)
                    .await
                    .map_err(|e| SendError::transient(format!("{}: {e}", path.display())))
            }
            Transport::Stub(sent) => {
                let text = String::from_utf8_lossy(&email.formatted()).into_owned();
                sent.lock().expect("stub transport lock").push(text);
                Ok(())
            }
        }
    }

    /// The messages a stub transport has sent, in order.
    pub fn stub_messages(&self) -> Vec<String> {
        match self {
            Transport::Stub(sent) => sent.lock().expect("stub transport lock").clone(),
            _ => vec![],
        }
    }
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub message: String,
    /// Sending it again cannot succeed (a 5xx SMTP reply, an address that cannot be
    /// written as a recipient): the message is marked failed at once.
    pub permanent: bool,
}

impl SendError {
    fn permanent(message: String) -> SendError {
        SendError {
            message,
            permanent: true,
        }
    }

    fn transient(message: String) -> SendError {
        SendError {
            message,
            permanent: false,
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Whether a queued message's HTML shows the organisation's logo (`cid:` its Content-ID).
pub fn shows_logo(message: &outbox_messages::Model) -> bool {
    message
        .html_body
        .contains(&format!("cid:{}", super::brand::LOGO_CID))
}

/// The RFC 5322 message: a plain-text and an HTML alternative, with the Message-ID that
/// was fixed when the message was queued. When the HTML shows the logo and one is set, the
/// HTML and the logo travel together (`multipart/related`, the logo inline under its
/// Content-ID), so no mail program has to fetch an image from the app; a logo removed
/// since the message was queued is left out (its image shows nothing). A calendar, when
/// the message has one, rides along as an `invite.ics` attachment (`multipart/mixed`
/// around the rest).
fn build(
    from: &Mailbox,
    message: &outbox_messages::Model,
    logo: Option<&org_logo::Model>,
) -> Result<lettre::Message, String> {
    let to: Mailbox = message
        .to_address
        .parse()
        .map_err(|e| format!("recipient {:?}: {e}", message.to_address))?;
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(message.text_body.clone());
    let html = SinglePart::builder()
        .header(ContentType::TEXT_HTML)
        .body(message.html_body.clone());
    let alternative = MultiPart::alternative().singlepart(text);
    let body = match logo.filter(|_| shows_logo(message)) {
        Some(logo) => {
            let kind = ContentType::parse(logo.content_type.id())
                .map_err(|e| format!("the logo's type: {e}"))?;
            alternative.multipart(
                MultiPart::related().singlepart(html).singlepart(
                    Attachment::new_inline(super::brand::LOGO_CID.to_string())
                        .body(logo.bytes.clone(), kind),
                ),
            )
        }
        None => alternative.singlepart(html),
    };
    let body = match &message.calendar {
        None => body,
        Some(ics) => {
            let calendar = ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")
                .map_err(|e| format!("the calendar's content type: {e}"))?;
            MultiPart::mixed()
                .multipart(body)
                .singlepart(Attachment::new("invite.ics".to_string()).body(ics.clone(), calendar))
        }
    };
    lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(message.subject.clone())
        .message_id(Some(message.message_id.clone()))
        .multipart(body)
        .map_err(|e| format!("building the message: {e}"))
}
