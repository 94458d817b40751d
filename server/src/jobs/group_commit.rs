//! Group commit for new jobs: concurrent submissions share one transaction.
//!
//! Every submission used to pay for its own commit (a WAL sync on SQLite, a WAL flush and the
//! outbox lock on PostgreSQL), which capped the write path near 1,000 jobs/s whatever the
//! hardware. Here submissions queue for one writer task; while it commits one group, the next
//! gathers, so under load a commit carries many jobs and at rest a lone submission commits at
//! once (no timer, no added latency). The technique is the database engines' own "group
//! commit" (PostgreSQL's `commit_delay`, InnoDB's binlog group commit) moved up one layer,
//! where it can also merge the rows into multi-row statements.
//!
//! A group is all or nothing only per submission: when a group's transaction fails, each
//! submission in it is written again in its own transaction, so one bad request never takes
//! the others with it.

use ch_domain::{Job, NewEvent};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::store::{Store, StoreError};

/// Most jobs one group's transaction carries.
pub const MAX_GROUP_JOBS: usize = 2048;

/// Submissions waiting for the writer before senders wait (back-pressure).
const QUEUE_DEPTH: usize = 4096;

type Rows = Vec<(Job, Vec<NewEvent>)>;

struct Pending {
    rows: Rows,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// Why a submission was not written.
#[derive(Debug, thiserror::Error)]
pub enum GroupCommitError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the job writer has stopped")]
    Stopped,
}

/// Handle to the writer task; cheap to clone. The task ends when every handle is dropped,
/// after writing what was queued.
#[derive(Debug, Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Pending>,
}

impl GroupCommit {
    /// Starts the writer task on the current Tokio runtime.
    pub fn start(store: Store) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(writer(store, rx));
        Self { queue }
    }

    /// Writes `rows` (jobs with their first events) atomically, in a transaction shared with
    /// whatever other submissions are waiting; returns once it is committed.
    ///
    /// # Errors
    /// The store's error for this submission's own rows, or [`GroupCommitError::Stopped`].
    pub async fn write(&self, rows: Rows) -> Result<(), GroupCommitError> {
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Pending { rows, done })
            .await
            .map_err(|_| GroupCommitError::Stopped)?;
        answer.await.map_err(|_| GroupCommitError::Stopped)?.map_err(Into::into)
    }
}

async fn writer(store: Store, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        let mut jobs = group[0].rows.len();
        while jobs < MAX_GROUP_JOBS {
            match rx.try_recv() {
                Ok(p) => {
                    jobs += p.rows.len();
                    group.push(p);
                }
                Err(_) => break,
            }
        }
        commit(&store, group, jobs).await;
    }
    debug!("job writer stopped");
}

async fn commit(store: &Store, group: Vec<Pending>, jobs: usize) {
    let submissions = group.len();
    let mut rows: Rows = Vec::with_capacity(jobs);
    let mut answers = Vec::with_capacity(submissions);
    for p in group {
        answers.push((p.rows.len(), p.done));
        rows.extend(p.rows);
    }
    let started = std::time::Instant::now();
    match store.create_jobs(&rows).await {
        Ok(_) => {
            debug!(
                submissions,
                jobs,
                elapsed_us = started.elapsed().as_micros(),
                "group committed"
            );
            for (_, done) in answers {
                let _ = done.send(Ok(()));
            }
        }
        Err(e) if submissions == 1 => {
            if let Some((_, done)) = answers.pop() {
                let _ = done.send(Err(e));
            }
        }
        Err(e) => {
            warn!(error = %e, submissions, "group commit failed; writing its submissions singly");
            let mut rest = rows.into_iter();
            for (n, done) in answers {
                let own: Rows = rest.by_ref().take(n).collect();
                let _ = done.send(store.create_jobs(&own).await.map(drop));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ch_domain::{SubmitJob, SystemCatalog};
    use uuid::Uuid;

    use super::*;

    fn rows(name: &str) -> Rows {
        let job = SubmitJob {
            name: name.into(),
            command: "true".into(),
            ..SubmitJob::default()
        }
        .validate(&SystemCatalog::default())
        .expect("valid")
        .into_job(Uuid::now_v7(), "ann".into(), "c".into(), chrono::Utc::now());
        let event = NewEvent::submitted(Uuid::now_v7(), &job, "ann");
        vec![(job, vec![event])]
    }

    async fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        (Store::connect(&url).await.expect("store"), dir)
    }

    #[tokio::test]
    async fn a_bad_submission_does_not_take_its_group_with_it() {
        let (store, _dir) = store().await;
        let existing = rows("existing");
        store.create_jobs(&existing).await.expect("first");
        let mut duplicate = rows("duplicate");
        duplicate[0].0.id = existing[0].0.id;
        let mut group = Vec::new();
        let mut answers = Vec::new();
        for r in [rows("a"), duplicate, rows("b")] {
            let (done, answer) = oneshot::channel();
            group.push(Pending { rows: r, done });
            answers.push(answer);
        }
        let kept = [group[0].rows[0].0.id, group[2].rows[0].0.id];
        commit(&store, group, 3).await;
        let results: Vec<bool> = futures::future::join_all(answers)
            .await
            .into_iter()
            .map(|r| r.expect("answered").is_ok())
            .collect();
        assert_eq!(results, [true, false, true]);
        for id in kept {
            store.get_job(id).await.expect("kept");
        }
        assert_eq!(store.latest_offset().await.expect("log"), 3);
    }

    #[tokio::test]
    async fn concurrent_submissions_are_all_committed() {
        let (store, _dir) = store().await;
        let writer = GroupCommit::start(store.clone());
        let submissions: Vec<Rows> = (0..300).map(|i| rows(&format!("j{i}"))).collect();
        let ids: Vec<Uuid> = submissions.iter().map(|r| r[0].0.id).collect();
        let results = futures::future::join_all(submissions.into_iter().map(|r| writer.write(r))).await;
        assert!(results.iter().all(Result::is_ok));
        for id in ids {
            store.get_job(id).await.expect("stored");
        }
        assert_eq!(store.latest_offset().await.expect("log"), 300);
    }
}
