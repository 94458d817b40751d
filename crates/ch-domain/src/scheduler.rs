//! What a batch scheduler (Slurm) says about a job it runs for us: the job's id there, its
//! state and the reason it waits, and once it has ended its accounting — elapsed time, CPU
//! time, peak memory and the trackable resources (TRES) it was allocated. From the accounting
//! follow the actual cost (the system's rates applied to what was allocated, for as long as it
//! ran) and the efficiency (used against allocated), computed as Slurm's `seff` does.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cost::{SystemRates, cents};

/// Bytes in the GB of a request (Slurm's `G`).
const GIB: f64 = 1_073_741_824.0;

/// Resources a scheduler allocated to a job, over all its nodes (Slurm's `AllocTRES`,
/// e.g. `billing=2,cpu=2,gres/gpu=1,mem=4G,node=1`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Allocation {
    /// Nodes (`node=`).
    pub nodes: u32,
    /// CPUs on all nodes together (`cpu=`).
    pub cpus: u32,
    /// Memory on all nodes together, in bytes (`mem=`).
    pub memory_bytes: u64,
    /// GPUs on all nodes together (`gres/gpu=`, any type).
    pub gpus: u32,
}

/// What accounting recorded of a job that ended (Slurm: `sacct`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Accounting {
    /// Wall-clock time from start to end, in seconds (`ElapsedRaw`).
    pub elapsed_secs: u64,
    /// CPU time of all its processes, user + system, in seconds (`TotalCPU`).
    pub cpu_time_secs: f64,
    /// The largest resident memory of any of its steps, in bytes (`MaxRSS`); `None` when
    /// the scheduler gathered none (a job that ran too briefly to be sampled, or a cluster
    /// without `JobAcctGatherType`).
    pub max_rss_bytes: Option<u64>,
    /// What it was allocated.
    pub allocated: Allocation,
}

impl Accounting {
    /// CPU efficiency in 0–1: CPU time over the CPU time allocated
    /// (`elapsed × allocated CPUs`), as Slurm's `seff` reports it; `None` when nothing was
    /// allocated or no time elapsed.
    pub fn cpu_efficiency(&self) -> Option<f64> {
        let allocated = self.elapsed_secs as f64 * f64::from(self.allocated.cpus);
        (allocated > 0.0).then(|| (self.cpu_time_secs / allocated).clamp(0.0, 1.0))
    }

    /// Memory efficiency in 0–1: peak resident memory over the memory allocated, as `seff`
    /// reports it; `None` without a peak or an allocation. (Above 1 is possible where a
    /// cluster does not enforce memory; it is kept, not clamped.)
    pub fn memory_efficiency(&self) -> Option<f64> {
        let rss = self.max_rss_bytes?;
        (self.allocated.memory_bytes > 0).then(|| rss as f64 / self.allocated.memory_bytes as f64)
    }

    /// What the job cost at `rates`: `hours × (nodes × node_hour + cpus × cpu_core_hour +
    /// gpus × gpu_hour + memory_GB × memory_gb_hour)` over what was allocated and for as long
    /// as it ran — the estimate's formula ([`SystemRates::estimate`]) with actual figures in
    /// place of requested ones. USD, rounded to cents. A GB here is 2³⁰ bytes, what a request's
    /// `memory_gb` becomes at the scheduler (Slurm's `G`), so a job that used all it asked
    /// for costs its estimate.
    pub fn cost_usd(&self, rates: &SystemRates) -> f64 {
        let a = &self.allocated;
        let hours = self.elapsed_secs as f64 / 3600.0;
        let rate = rates.hourly(
            f64::from(a.nodes),
            f64::from(a.cpus),
            f64::from(a.gpus),
            a.memory_bytes as f64 / GIB,
        );
        cents(hours * rate)
    }
}

/// A job's record at its batch scheduler (`GET /api/jobs/{id}/scheduler`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SchedulerRecord {
    /// The scheduler (`slurm`).
    pub scheduler: String,
    /// The job's id there (Slurm's job id); `None` until the scheduler has accepted it.
    pub scheduler_job_id: Option<String>,
    /// The scheduler's last word on its state, in its own terms (`PENDING`, `RUNNING`,
    /// `COMPLETED`, `TIMEOUT`, …; `REFUSED` when submission was refused).
    pub state: String,
    /// Why it is in that state, in the scheduler's terms (Slurm's pending reasons such as
    /// `Priority`, `Resources`, `QOSMaxJobsPerUserLimit`); empty when there is none.
    pub reason: String,
    /// Accounting, once the job has ended and the scheduler has recorded it.
    pub accounting: Option<Accounting>,
    /// [`Accounting::cost_usd`] at the system's rates; beside the job's estimate.
    pub actual_cost_usd: Option<f64>,
    /// [`Accounting::cpu_efficiency`].
    pub cpu_efficiency: Option<f64>,
    /// [`Accounting::memory_efficiency`].
    pub memory_efficiency: Option<f64>,
}

impl SchedulerRecord {
    /// A record with the figures that follow from `accounting` at `rates` filled in.
    pub fn new(
        scheduler: &str,
        scheduler_job_id: Option<String>,
        state: String,
        reason: String,
        accounting: Option<Accounting>,
        rates: &SystemRates,
    ) -> Self {
        Self {
            scheduler: scheduler.to_owned(),
            scheduler_job_id,
            state,
            reason,
            actual_cost_usd: accounting.map(|a| a.cost_usd(rates)),
            cpu_efficiency: accounting.and_then(|a| a.cpu_efficiency()),
            memory_efficiency: accounting.and_then(|a| a.memory_efficiency()),
            accounting,
        }
    }

    /// The reason in words for people, when the scheduler gave one that means something
    /// (Slurm writes `None` for no reason).
    pub fn reason_text(&self) -> Option<&str> {
        let r = self.reason.trim();
        (!r.is_empty() && r != "None").then_some(r)
    }
}

/// A system's queue at its batch scheduler, as the submit form shows it before a user submits
/// (`GET /api/systems/{name}/queue`): how busy the partition is, and when the scheduler
/// expects a job with the resources asked about to start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueInsight {
    /// The system asked about.
    pub system: String,
    /// Its scheduler (`slurm`).
    pub scheduler: String,
    /// The partition its jobs go to; `None`: the cluster's default.
    pub partition: Option<String>,
    /// Jobs of all users waiting in that partition (Slurm `PENDING`).
    pub pending: u32,
    /// Jobs of all users running there (Slurm `RUNNING`).
    pub running: u32,
    /// When the scheduler expects a job with these resources, submitted now, to start (UTC;
    /// Slurm: `sbatch --test-only`, from its current plan, which later submissions of higher
    /// priority can change).
    pub estimated_start: Option<DateTime<Utc>>,
    /// The scheduler's refusal of such a job, in its words, when it would refuse it.
    pub refusal: Option<String>,
    /// When the scheduler was asked (UTC).
    pub read_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(elapsed: u64, cpu: f64, rss: Option<u64>) -> Accounting {
        Accounting {
            elapsed_secs: elapsed,
            cpu_time_secs: cpu,
            max_rss_bytes: rss,
            allocated: Allocation {
                nodes: 1,
                cpus: 4,
                memory_bytes: 8 << 30,
                gpus: 1,
            },
        }
    }

    #[test]
    fn efficiency_as_seff_computes_it() {
        // 1 h on 4 CPUs = 4 CPU-hours allocated; 1 CPU-hour used.
        let a = acct(3600, 3600.0, Some(2 << 30));
        assert_eq!(a.cpu_efficiency(), Some(0.25));
        assert_eq!(a.memory_efficiency(), Some(0.25));
        assert_eq!(acct(0, 0.0, None).cpu_efficiency(), None);
        assert_eq!(acct(10, 1.0, None).memory_efficiency(), None);
        // Measurement noise cannot report more than all of the CPUs.
        assert_eq!(acct(10, 41.0, None).cpu_efficiency(), Some(1.0));
    }

    #[test]
    fn cost_is_the_estimates_formula_over_what_was_used() {
        let rates = SystemRates {
            node_hour_usd: 1.0,
            cpu_core_hour_usd: 0.5,
            gpu_hour_usd: 2.0,
            memory_gb_hour_usd: 0.25,
        };
        // Half an hour of 1 node + 4 CPUs + 1 GPU + 8 GB: 0.5 × (1 + 2 + 2 + 2) = 3.5.
        assert_eq!(acct(1800, 0.0, None).cost_usd(&rates), 3.5);
        // The same request's estimate for 30 min is the same figure.
        let r = crate::Resources {
            nodes: 1,
            cpus: 4,
            memory_gb: 8.0,
            gpus: 1,
            max_runtime_minutes: 30,
        };
        assert_eq!(rates.estimate(&r), 3.5);
        assert_eq!(acct(1, 0.0, None).cost_usd(&SystemRates::default()), 0.0);
    }

    #[test]
    fn a_record_carries_the_derived_figures() {
        let rates = SystemRates {
            cpu_core_hour_usd: 1.0,
            ..SystemRates::default()
        };
        let r = SchedulerRecord::new(
            "slurm",
            Some("42".into()),
            "COMPLETED".into(),
            "None".into(),
            Some(acct(3600, 3600.0, None)),
            &rates,
        );
        assert_eq!(r.actual_cost_usd, Some(4.0));
        assert_eq!(r.cpu_efficiency, Some(0.25));
        assert_eq!(r.memory_efficiency, None);
        assert_eq!(r.reason_text(), None);
        let pending = SchedulerRecord::new("slurm", None, "PENDING".into(), "Priority".into(), None, &rates);
        assert_eq!(pending.reason_text(), Some("Priority"));
        assert_eq!(pending.actual_cost_usd, None);
    }
}
