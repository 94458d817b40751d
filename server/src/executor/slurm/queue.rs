//! Queue insight for the submit form: how busy a system's partition is (`squeue`, all users'
//! pending and running jobs) and when Slurm expects a job with the resources asked about to
//! start if submitted now (`sbatch --test-only`, which runs the scheduler's plan without
//! submitting). Answers are cached for [`FRESH_FOR`] per system and request, so a form being
//! filled in does not become a stream of queries to the controller.

use std::time::Duration;

use ch_domain::{QueueInsight, Resources};
use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};

use super::cli::SlurmError;
use super::{EXECUTOR_NAME, SlurmExecutor, script};
use crate::clock::now;
use crate::jobs::ExecutorError;

/// How long an answer is served from the cache.
pub const FRESH_FOR: Duration = Duration::from_secs(10);

/// The start time in `sbatch --test-only`'s answer (`… to start at 2026-12-07T19:54:20 using
/// …`), which Slurm writes in the local time of the host that asked; UTC.
pub fn start_time(answer: &str) -> Option<DateTime<Utc>> {
    let (_, rest) = answer.split_once(" to start at ")?;
    let stamp = rest.split_whitespace().next()?;
    let naive = NaiveDateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%S").ok()?;
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// Pending and running jobs among `squeue -o %T` lines.
pub fn counts(states: &str) -> (u32, u32) {
    states.lines().fold((0, 0), |(p, r), l| match l.trim() {
        "PENDING" => (p + 1, r),
        "RUNNING" => (p, r + 1),
        _ => (p, r),
    })
}

/// Slurm's refusal without its `sbatch: error:` prefixes, on one line.
fn refusal(msg: &str) -> String {
    msg.lines()
        .map(|l| l.trim().trim_start_matches("sbatch: error:").trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

impl SlurmExecutor {
    /// The queue of `system` (a system of this executor) for a job asking for `r`.
    ///
    /// # Errors
    /// [`ExecutorError::Unanswered`] when the controller does not answer.
    pub(super) async fn queue_insight(
        &self,
        system: &str,
        r: &Resources,
    ) -> Result<Option<QueueInsight>, ExecutorError> {
        let Some(info) = self.systems.get(system) else {
            return Ok(None);
        };
        let key = format!(
            "{system}|{}|{}|{}|{}|{}",
            r.nodes,
            r.cpus,
            script::memory_mib(r.memory_gb),
            r.gpus,
            r.max_runtime_minutes
        );
        if let Some(hit) = self.queue_cache.get(&key).await {
            return Ok(Some(hit));
        }
        let unanswered = |e: SlurmError| ExecutorError::Unanswered(e.to_string());
        let states = self
            .cli
            .partition_states(info.partition.as_deref())
            .await
            .map_err(unanswered)?;
        let (pending, running) = counts(&states);
        let (estimated_start, refusal) = match self.cli.test_only(script::resource_options(r, info)).await {
            Ok(answer) => (start_time(&answer), None),
            Err(SlurmError::Failed(_, msg)) => (None, Some(refusal(&msg))),
            Err(e) => return Err(unanswered(e)),
        };
        let insight = QueueInsight {
            system: system.to_owned(),
            scheduler: EXECUTOR_NAME.to_owned(),
            partition: info.partition.clone(),
            pending,
            running,
            estimated_start,
            refusal,
            read_at: now(),
        };
        self.queue_cache.insert(key, insight.clone()).await;
        Ok(Some(insight))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_only_answers_and_refusals() {
        let t = start_time(
            "sbatch: Job 1 to start at 2026-12-07T19:54:20 using 1 processors on nodes vm in partition debug",
        )
        .expect("a time");
        let local = Local.from_local_datetime(
            &NaiveDateTime::parse_from_str("2026-12-07T19:54:20", "%Y-%m-%dT%H:%M:%S").expect("naive"),
        );
        assert_eq!(Some(t), local.earliest().map(|l| l.with_timezone(&Utc)));
        assert_eq!(start_time("sbatch: error: Batch job submission failed"), None);
        assert_eq!(start_time("Job 1 to start at soon"), None);
        assert_eq!(
            refusal("sbatch: error: Batch job submission failed: Requested node configuration is not available\n"),
            "Batch job submission failed: Requested node configuration is not available"
        );
    }

    #[test]
    fn states_are_counted() {
        assert_eq!(counts("PENDING\nRUNNING\nRUNNING\nCOMPLETING\n\n"), (1, 2));
        assert_eq!(counts(""), (0, 0));
    }
}
