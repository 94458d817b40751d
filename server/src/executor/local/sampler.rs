//! CPU and memory of a job's process tree, sampled with sysinfo.

use std::collections::HashSet;
use std::time::Duration;

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
use tokio_util::sync::CancellationToken;
use tracing::warn;
use uuid::Uuid;

use crate::clock::now;
use ch_domain::MetricSample;

use crate::store::Store;

/// Sums CPU% and resident memory over `root` and its descendants.
fn measure(sys: &mut System, root: Pid) -> Option<(f64, i64)> {
    sys.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing().with_cpu().with_memory(),
    );
    sys.process(root)?;
    let mut tree = HashSet::from([root]);
    // Parents come before children rarely in pid order; iterate to a fixed point.
    loop {
        let before = tree.len();
        for (pid, p) in sys.processes() {
            if p.parent().is_some_and(|pp| tree.contains(&pp)) {
                tree.insert(*pid);
            }
        }
        if tree.len() == before {
            break;
        }
    }
    let (cpu, mem) = tree
        .iter()
        .filter_map(|pid| sys.process(*pid))
        .fold((0.0, 0u64), |(c, m), p| (c + f64::from(p.cpu_usage()), m + p.memory()));
    Some((cpu, i64::try_from(mem).unwrap_or(i64::MAX)))
}

/// Samples job `job_id`'s process tree every `every` until `stop`, storing each reading.
/// The first sample is taken after one interval: a reading scans every process of the host
/// (`/proc`), and a job that ends sooner than that has nothing worth recording — sampling at
/// once made a burst of short jobs spend more CPU on `/proc` than on the jobs.
pub(super) async fn sample(store: Store, job_id: Uuid, pid: u32, every: Duration, stop: CancellationToken) {
    let root = Pid::from_u32(pid);
    let mut sys = System::new();
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = stop.cancelled() => return,
        }
        let (back, reading) = match tokio::task::spawn_blocking(move || {
            let r = measure(&mut sys, root);
            (sys, r)
        })
        .await
        {
            Ok(v) => v,
            Err(e) => {
                warn!(error = %e, "sampler task failed");
                return;
            }
        };
        sys = back;
        let Some((cpu_percent, memory_bytes)) = reading else {
            return;
        };
        let s = MetricSample {
            sampled_at: now(),
            cpu_percent,
            memory_bytes,
        };
        if let Err(e) = store.add_metric(job_id, &s).await {
            warn!(error = %e, "storing metric failed");
        }
    }
}
