//! Group commit for survey submissions (issue 15 item 2). A survey wave sends thousands
//! of answers a minute; one transaction each pays a commit, the chain head's lock and its
//! update for every answer. Here answers that arrive while a commit is running wait for
//! the next one, which takes them all (up to [`MOST_PER_COMMIT`]): each still gets its own
//! response row and its own ledger entries on the one chain, and each is answered only
//! after the commit that holds it — a thank-you page always means "stored".
use std::sync::{Arc, Mutex};

use sea_orm::DatabaseConnection;
use tokio::sync::oneshot;

use super::{Answers, SurveyLink, submit, submit_on};
use crate::clock;
use crate::db::begin_write;
use crate::ledger::{Actor, Recorder};
use crate::services::ServiceError;

/// The most answers one transaction takes; the rest wait for the next.
pub const MOST_PER_COMMIT: usize = 128;

struct Pending {
    token: String,
    answers: Answers,
    comment: Option<String>,
    reply: oneshot::Sender<Result<SurveyLink, ServiceError>>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Pending>,
    /// A drain task is running: it takes what is waiting before it stops.
    draining: bool,
    /// Transactions committed with answers in them (for the tests and the bench).
    commits: u64,
}

/// The queue of answers waiting for their commit; one per app.
#[derive(Default, Clone)]
pub struct Submissions {
    queue: Arc<Mutex<Queue>>,
}

impl Submissions {
    /// [`submit`], committed together with the answers that arrive meanwhile.
    pub async fn submit(
        &self,
        db: &DatabaseConnection,
        token: &str,
        answers: Answers,
        comment: Option<String>,
    ) -> Result<SurveyLink, ServiceError> {
        let (reply, outcome) = oneshot::channel();
        let start = {
            let mut queue = self.queue.lock().expect("queue lock");
            queue.waiting.push(Pending {
                token: token.to_string(),
                answers,
                comment,
                reply,
            });
            !std::mem::replace(&mut queue.draining, true)
        };
        if start {
            // A task of its own: a request whose client goes away must not take the
            // others' commit with it.
            tokio::spawn(drain(self.queue.clone(), db.clone()));
        }
        outcome
            .await
            .map_err(|_| ServiceError::Other(anyhow::anyhow!("the survey submission was lost")))?
    }

    /// How many transactions have committed answers so far.
    pub fn commits(&self) -> u64 {
        self.queue.lock().expect("queue lock").commits
    }
}

/// Marks the drain finished if it panics (it does so itself when the queue is empty), so
/// the next answer starts a new one.
struct Draining(Arc<Mutex<Queue>>);

impl Drop for Draining {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Ok(mut queue) = self.0.lock()
        {
            queue.draining = false;
        }
    }
}

async fn drain(queue: Arc<Mutex<Queue>>, db: DatabaseConnection) {
    let _draining = Draining(queue.clone());
    loop {
        let batch: Vec<Pending> = {
            let mut q = queue.lock().expect("queue lock");
            if q.waiting.is_empty() {
                q.draining = false;
                return;
            }
            let n = q.waiting.len().min(MOST_PER_COMMIT);
            q.waiting.drain(..n).collect()
        };
        match commit_together(&db, &batch).await {
            Ok(outcomes) => {
                queue.lock().expect("queue lock").commits += 1;
                for (pending, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = pending.reply.send(outcome);
                }
            }
            // The shared transaction is gone (nothing of it is stored): each answer on
            // its own, so one that fails fails alone and gets its own error.
            Err(_) => {
                for p in batch {
                    let outcome = submit(&db, &p.token, p.answers, p.comment).await;
                    let _ = p.reply.send(outcome);
                }
            }
        }
    }
}

/// One transaction for the whole batch: each answer's outcome, or the database error that
/// ended it. A refusal (an unknown, answered or expired link) writes nothing and does not
/// touch the others.
async fn commit_together(
    db: &DatabaseConnection,
    batch: &[Pending],
) -> Result<Vec<Result<SurveyLink, ServiceError>>, ServiceError> {
    let tx = Recorder::lock(begin_write(db).await?, &Actor::System).await?;
    let now = clock::now();
    let mut outcomes = Vec::with_capacity(batch.len());
    for p in batch {
        match submit_on(&tx, &p.token, p.answers, p.comment.clone(), now).await {
            Err(e @ (ServiceError::Db(_) | ServiceError::Other(_))) => return Err(e),
            outcome => outcomes.push(outcome),
        }
    }
    tx.commit().await?;
    Ok(outcomes)
}
