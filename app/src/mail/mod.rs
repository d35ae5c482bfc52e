//! E-mail (SPEC §5): messages are rendered and written to the outbox inside the
//! transaction of the change that causes them; a worker sends them later.
pub mod brand;
pub mod messages;
pub mod notices;
pub mod survey_messages;
pub mod transport;
pub mod worker;

use chrono::{DateTime, Utc};
use entity::outbox_messages;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};

use crate::clock;
use crate::domain::outbox::{MessageKind, OutboxStatus};

pub use brand::Brand;

/// What a sent message's body becomes when it carried a personal link.
pub const REMOVED_BODY: &str = "(sent; removed because it carried the learner's personal link)";

/// What a sent message's body (and a personal subject) becomes when its learner is
/// erased (SPEC §6).
pub const ERASED_BODY: &str = "(sent; removed because the learner was erased)";

/// A message ready to queue: what it is, to whom, and both rendered parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub kind: MessageKind,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The record it is about (`class:42`), for the outbox page.
    pub related: Option<String>,
    /// An iCalendar file attached as `invite.ics` (the class assignment).
    pub calendar: Option<String>,
}

impl Email {
    /// The same e-mail with `ics` attached.
    pub fn with_calendar(self, ics: String) -> Email {
        Email {
            calendar: Some(ics),
            ..self
        }
    }
}

/// Every message's HTML part inside the frame that carries the organisation's name and
/// logo (`templates/emails/frame.html`).
#[derive(askama::Template)]
#[template(path = "emails/frame.html")]
struct Frame<'a> {
    title: &'a str,
    /// The message's own HTML, already escaped by its template.
    content: &'a str,
    brand: &'a Brand,
    logo_cid: &'a str,
}

impl Email {
    /// The message as it is queued: its HTML in the frame with `brand`'s name (and logo),
    /// and its text signed with the name when one is set (unsigned, as before, when not).
    pub fn framed(self, brand: &Brand) -> Result<Email, askama::Error> {
        use askama::Template;
        let html = Frame {
            title: &self.subject,
            content: &self.html,
            brand,
            logo_cid: brand::LOGO_CID,
        }
        .render()?;
        let text = if brand.name.is_empty() {
            self.text
        } else {
            format!("{}\n\n-- \n{}\n", self.text.trim_end(), brand.name)
        };
        Ok(Email { html, text, ..self })
    }
}

/// One kind of e-mail: its subject and its two askama parts (see `messages`).
pub trait Message {
    const KIND: MessageKind;
    /// Its body carries a personal link (a learner's, or a password reset: a token that
    /// is otherwise stored only as a hash): once sent, the worker empties the stored
    /// body, keeping the token out of the database (see `messages::carries_personal_link`).
    const PERSONAL_LINK: bool = false;
    fn subject(&self) -> String;
    fn render(&self) -> Result<(String, String), askama::Error>;

    /// The rendered e-mail to `to`.
    fn to(&self, to: &str, related: Option<String>) -> Result<Email, askama::Error> {
        let (text, html) = self.render()?;
        Ok(Email {
            kind: Self::KIND,
            to: to.to_string(),
            subject: self.subject(),
            text,
            html,
            related,
            calendar: None,
        })
    }
}

/// Writes `email` to the outbox in the caller's transaction: it exists exactly when
/// the change that caused it commits. It is framed with the organisation's name and logo
/// as the settings hold them now ([`Email::framed`]).
pub async fn enqueue(
    tx: &impl ConnectionTrait,
    email: Email,
) -> Result<outbox_messages::Model, DbErr> {
    enqueue_at(tx, email, clock::now()).await
}

/// Like [`enqueue`], not to be sent before `due` (reminders).
pub async fn enqueue_at(
    tx: &impl ConnectionTrait,
    email: Email,
    due: DateTime<Utc>,
) -> Result<outbox_messages::Model, DbErr> {
    let email = email
        .framed(&Brand::load(tx).await?)
        .map_err(render_error)?;
    queued_row(email, due, clock::now()).insert(tx).await
}

/// The outbox row of `email`, queued at `now` and due at `due`.
fn queued_row(
    email: Email,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> outbox_messages::ActiveModel {
    outbox_messages::ActiveModel {
        kind: Set(email.kind),
        to_address: Set(email.to),
        subject: Set(email.subject),
        text_body: Set(email.text),
        html_body: Set(email.html),
        message_id: Set(message_id()),
        status: Set(OutboxStatus::Queued),
        attempts: Set(0),
        next_attempt_at: Set(due),
        lease_until: Set(None),
        last_error: Set(None),
        related: Set(email.related),
        created_at: Set(now),
        sent_at: Set(None),
        calendar: Set(email.calendar),
        ..Default::default()
    }
}

/// Rows per multi-row outbox insert (14 columns: well under every backend's limit on
/// bound parameters).
const OUTBOX_BATCH: usize = 128;

/// E-mails written to the outbox in multi-row inserts, for a use case that queues one per
/// learner (a class of 100 000 issues 100 000 codes): at most [`OUTBOX_BATCH`] rendered
/// messages are held at once. Like [`enqueue`], every row lands in the caller's
/// transaction; [`Outbox::finish`] writes the last batch and must be called before it
/// commits.
#[must_use = "call finish before the transaction commits, or the last e-mails are lost"]
#[derive(Default)]
pub struct Outbox {
    pending: Vec<outbox_messages::ActiveModel>,
    queued: u64,
    /// The organisation's brand, read on the first push (in the same transaction).
    brand: Option<Brand>,
}

impl Outbox {
    pub fn new() -> Outbox {
        Outbox::default()
    }

    /// Queues `email`, due now, framed like [`enqueue`]'s.
    pub async fn push(&mut self, tx: &impl ConnectionTrait, email: Email) -> Result<(), DbErr> {
        let brand = match &self.brand {
            Some(brand) => brand,
            None => self.brand.insert(Brand::load(tx).await?),
        };
        let email = email.framed(brand).map_err(render_error)?;
        let now = clock::now();
        self.pending.push(queued_row(email, now, now));
        self.queued += 1;
        if self.pending.len() >= OUTBOX_BATCH {
            self.flush(tx).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, tx: &impl ConnectionTrait) -> Result<(), DbErr> {
        if self.pending.is_empty() {
            return Ok(());
        }
        outbox_messages::Entity::insert_many(self.pending.drain(..))
            .exec_without_returning(tx)
            .await?;
        Ok(())
    }

    /// Writes what is still held; returns how many e-mails were queued in all.
    pub async fn finish(mut self, tx: &impl ConnectionTrait) -> Result<u64, DbErr> {
        self.flush(tx).await?;
        Ok(self.queued)
    }
}

/// A globally unique Message-ID, fixed when the message is queued.
fn message_id() -> String {
    format!("<{}@tsp-ledger>", &crate::auth::random_token()[..32])
}

/// Maps a template error into the database error type the services already carry.
pub fn render_error(e: askama::Error) -> DbErr {
    DbErr::Custom(format!("rendering an e-mail: {e}"))
}

/// The outbox's unsent messages, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depth {
    pub queued: u64,
    /// Queued messages that have failed at least once (waiting for their next attempt).
    pub retrying: u64,
    pub failed: u64,
}

/// Counts unsent messages: each count is a range of the `(status, next_attempt_at)`
/// index, so a scrape costs the same however many messages were sent before.
pub async fn depth(db: &impl ConnectionTrait) -> Result<Depth, DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let count = |status: OutboxStatus, retried_only: bool| {
        let mut q =
            outbox_messages::Entity::find().filter(outbox_messages::Column::Status.eq(status));
        if retried_only {
            q = q.filter(outbox_messages::Column::Attempts.gt(0));
        }
        q.count(db)
    };
    Ok(Depth {
        queued: count(OutboxStatus::Queued, false).await?,
        retrying: count(OutboxStatus::Queued, true).await?,
        failed: count(OutboxStatus::Failed, false).await?,
    })
}
