//! Warns before a running job reaches its time limit (Slurm's `--mail-type=TIME_LIMIT_80`):
//! once a job has used [`TIME_LIMIT_WARN_PERCENT`] % of the limit its executor enforces, a
//! `job.time_limit.near` event is recorded — the job's page shows it and its owner's
//! notification rules may turn it into a message, in time to save a checkpoint.
//!
//! Executor-neutral: the limit is the executor's ([`super::Executor::time_limit`]), counted
//! from `Job::started_at`, so a job re-attached after a restart is warned on time too. Every
//! instance watches the running jobs of the executors it runs; the lifecycle writes the event
//! under the job's version and only when this run has none, so two instances (or a restart)
//! warn once.

use std::collections::HashSet;
use std::time::Duration;

use ch_domain::JobStatus;
use ch_domain::notification::TIME_LIMIT_WARN_PERCENT;
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use uuid::Uuid;

use super::{Change, Executors, Lifecycle};

/// Longest pause between looks at the running jobs (a job that starts is noticed within it).
const POLL: Duration = Duration::from_secs(2);

/// The actor recorded on `job.time_limit.near` events.
pub const ACTOR: &str = "time-limit-watch";

/// When a job started at `started` with `limit` is warned: after [`TIME_LIMIT_WARN_PERCENT`]
/// % of the limit (whole milliseconds).
pub fn warn_at(started: DateTime<Utc>, limit: Duration) -> DateTime<Utc> {
    let ms = limit.as_millis().saturating_mul(u128::from(TIME_LIMIT_WARN_PERCENT)) / 100;
    started + chrono::Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX / 2))
}

/// Watches running jobs until `shutdown`.
pub async fn run(lifecycle: Lifecycle, executors: Executors, shutdown: CancellationToken) {
    info!("time-limit warnings started");
    // Runs already warned (job, start): no second look at the log for them.
    let mut warned: HashSet<(Uuid, DateTime<Utc>)> = HashSet::new();
    loop {
        let pause = match look(&lifecycle, &executors, &mut warned).await {
            Ok(next) => next
                .and_then(|t| (t - crate::clock::now()).to_std().ok())
                .map_or(POLL, |d| d.min(POLL)),
            Err(e) => {
                warn!(error = %e, "reading the running jobs failed");
                POLL
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// Warns the running jobs that are due; returns when the next one is.
async fn look(
    lifecycle: &Lifecycle,
    executors: &Executors,
    warned: &mut HashSet<(Uuid, DateTime<Utc>)>,
) -> Result<Option<DateTime<Utc>>, crate::store::StoreError> {
    let running = lifecycle.store().jobs_in_status(JobStatus::Running).await?;
    let now = crate::clock::now();
    let mut next: Option<DateTime<Utc>> = None;
    let mut still = HashSet::new();
    for job in running.into_iter().map(|u| u.job) {
        let (Some(started), Some(executor)) = (job.started_at, executors.get(&job.executor)) else {
            continue;
        };
        let key = (job.id, started);
        still.insert(key);
        let limit = executor.time_limit(&job);
        if limit.is_zero() || warned.contains(&key) {
            continue;
        }
        let due = warn_at(started, limit);
        if due > now {
            next = Some(next.map_or(due, |n| n.min(due)));
            continue;
        }
        let elapsed = u64::try_from((now - started).num_seconds()).unwrap_or(0);
        let change = Change::TimeLimitNear {
            elapsed,
            limit: limit.as_secs(),
        };
        match lifecycle.apply(job.id, change, ACTOR).await {
            Ok((_, events)) => {
                if !events.is_empty() {
                    debug!(job = %job.id, elapsed, limit = limit.as_secs(), "time limit near");
                }
                warned.insert(key);
            }
            // The job ended meanwhile, or is gone: nothing to warn of.
            Err(e) => debug!(job = %job.id, error = %e, "no time-limit warning"),
        }
    }
    warned.retain(|k| still.contains(k));
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warning_comes_at_eighty_percent() {
        let t0 = DateTime::UNIX_EPOCH;
        assert_eq!(
            warn_at(t0, Duration::from_secs(3600)),
            t0 + chrono::Duration::seconds(2880)
        );
        assert_eq!(
            warn_at(t0, Duration::from_secs(5)),
            t0 + chrono::Duration::milliseconds(4000)
        );
    }
}
