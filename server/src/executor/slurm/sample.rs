//! CPU and memory of the jobs Slurm runs, as its nodes measure them (`sstat -a`, which
//! `JobAcctGatherType` feeds), into the same samples the local executor records
//! (`GET /api/jobs/{id}/metrics`): one `sstat` for every running job, at most every
//! `slurm.sample_interval_ms`. CPU is a share of one core over the time since the previous
//! reading (from the job's start for the first), as `top` counts it; memory is the resident
//! memory of all its steps together (`TresUsageInTot`'s `cpu` and `mem`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ch_domain::MetricSample;
use chrono::{DateTime, Utc};
use tracing::{debug, warn};
use uuid::Uuid;

use super::SlurmExecutor;
use super::units::{duration_secs, size_bytes};
use crate::clock::now;

/// What the nodes measured of one job (all its steps together).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// CPU time used so far, in seconds.
    pub cpu_secs: f64,
    /// Resident memory, in bytes.
    pub memory_bytes: u64,
}

/// The usage of each job in `sstat -n -P -a -o JobID,TresUsageInTot` lines
/// (`87.batch|cpu=00:00:03,energy=0,fs/disk=1690107,mem=63884K,pages=0,vmem=67992K`), summed
/// over its steps, by Slurm job id.
pub fn parse(out: &str) -> HashMap<u64, Usage> {
    let mut jobs: HashMap<u64, Usage> = HashMap::new();
    for line in out.lines() {
        let Some((step, tres)) = line.trim().split_once('|') else {
            continue;
        };
        let Ok(id) = step.split('.').next().unwrap_or("").parse::<u64>() else {
            continue;
        };
        let u = jobs.entry(id).or_default();
        for (key, value) in tres.split(',').filter_map(|kv| kv.split_once('=')) {
            match key {
                "cpu" => u.cpu_secs += duration_secs(value).unwrap_or(0.0),
                "mem" => u.memory_bytes += size_bytes(value).unwrap_or(0),
                _ => {}
            }
        }
    }
    jobs
}

/// CPU in percent of one core between two readings `wall_secs` apart.
pub fn cpu_percent(cpu_before: f64, cpu_now: f64, wall_secs: f64) -> f64 {
    if wall_secs <= 0.0 {
        return 0.0;
    }
    ((cpu_now - cpu_before).max(0.0) / wall_secs * 100.0 * 10.0).round() / 10.0
}

/// A running job as the sampler sees it: ours, Slurm's id, when it started.
pub type Running = (Uuid, u64, Option<DateTime<Utc>>);

impl SlurmExecutor {
    /// Reads and records the usage of `running` jobs, unless the last reading is more recent
    /// than `slurm.sample_interval_ms`.
    pub(super) async fn sample(&self, running: &[Running]) {
        if running.is_empty() {
            return;
        }
        let interval = Duration::from_millis(self.settings.sample_interval_ms);
        if let Ok(mut last) = self.last_sample.lock() {
            if last.is_some_and(|t: Instant| t.elapsed() < interval) {
                return;
            }
            *last = Some(Instant::now());
        }
        let ids: Vec<u64> = running.iter().map(|(_, sid, _)| *sid).collect();
        let usage = match self.cli.sstat(&ids).await {
            Ok(out) => parse(&out),
            // A job that ended since the poll makes sstat fail; the next reading has it no more.
            Err(e) => {
                debug!(error = %e, "sstat failed; no sample this round");
                return;
            }
        };
        let at = now();
        for (id, sid, started) in running {
            let Some(u) = usage.get(sid) else { continue };
            let previous = self
                .samples
                .lock()
                .ok()
                .and_then(|mut s| s.insert(*id, (at, u.cpu_secs)));
            let Some((since, cpu_before)) = previous.or_else(|| started.map(|s| (s, 0.0))) else {
                continue;
            };
            let wall = (at - since).num_milliseconds() as f64 / 1000.0;
            let sample = MetricSample {
                sampled_at: at,
                cpu_percent: cpu_percent(cpu_before, u.cpu_secs, wall),
                memory_bytes: i64::try_from(u.memory_bytes).unwrap_or(i64::MAX),
            };
            if let Err(e) = self.lifecycle.store().add_metric(*id, &sample).await {
                warn!(job_id = %id, error = %e, "recording a sample failed");
            }
        }
    }

    /// Forgets the readings of job `id` (it ended).
    pub(super) fn forget_samples(&self, id: Uuid) {
        if let Ok(mut s) = self.samples.lock() {
            s.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_summed_per_job() {
        let out = "\
87.batch|cpu=00:00:03,energy=0,fs/disk=1690107,mem=63884K,pages=0,vmem=67992K
87.0|cpu=00:01:00,mem=1M
88.batch|cpu=1-00:00:00,mem=2G
garbage
89.batch|
";
        let u = parse(out);
        assert_eq!(
            u[&87],
            Usage {
                cpu_secs: 63.0,
                memory_bytes: 63_884 * 1024 + (1 << 20)
            }
        );
        assert_eq!(u[&88].cpu_secs, 86_400.0);
        assert_eq!(u[&89], Usage::default());
        assert_eq!(u.len(), 3);
    }

    #[test]
    fn cpu_as_top_counts_it() {
        assert_eq!(cpu_percent(3.0, 5.0, 2.0), 100.0);
        assert_eq!(cpu_percent(0.0, 3.0, 2.0), 150.0);
        assert_eq!(cpu_percent(5.0, 4.0, 2.0), 0.0);
        assert_eq!(cpu_percent(0.0, 1.0, 0.0), 0.0);
    }
}
