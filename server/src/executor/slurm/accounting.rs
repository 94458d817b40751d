//! Slurm's accounting of jobs that ended, read from the same `sacct` query that tells how they
//! ended ([`SACCT_FORMAT`], allocations and their steps): elapsed time (`ElapsedRaw`), CPU time
//! (`TotalCPU`), allocated TRES (`AllocTRES`) from the allocation's line, and the peak resident
//! memory (`MaxRSS`) of its steps (`<id>.batch`, `<id>.extern`, `<id>.0`, …), where the job's
//! processes were measured. Formats as `sacct(1)` documents them (Slurm 22.05; [`super::units`]).

use std::collections::HashMap;

use ch_domain::{Accounting, Allocation};

use super::units::{duration_secs, size_bytes, size_in};

/// The fields `sacct -n -P` prints for [`parse`] and `state::parse_sacct` (which reads the
/// first four).
pub const SACCT_FORMAT: &str = "JobIDRaw,State,ExitCode,Reason,ElapsedRaw,TotalCPU,AllocTRES,MaxRSS";

/// The accounting of each allocation in `out` (lines of [`SACCT_FORMAT`]), by Slurm job id.
/// An allocation's CPU time is its own `TotalCPU` when Slurm summed it there, else the sum
/// over its steps; its peak memory the largest `MaxRSS` of its steps.
pub fn parse(out: &str) -> HashMap<u64, Accounting> {
    let mut jobs: HashMap<u64, Accounting> = HashMap::new();
    let mut steps_cpu: HashMap<u64, f64> = HashMap::new();
    for line in out.lines() {
        let f: Vec<&str> = line.trim().split('|').collect();
        let [id, _, _, _, elapsed, cpu, tres, rss] = f[..] else {
            continue;
        };
        match id.split_once('.') {
            None => {
                let Ok(id) = id.parse::<u64>() else { continue };
                let a = jobs.entry(id).or_default();
                a.elapsed_secs = elapsed.trim().parse().unwrap_or(0);
                a.cpu_time_secs = duration_secs(cpu).unwrap_or(0.0);
                a.allocated = allocation(tres);
                a.max_rss_bytes = max(a.max_rss_bytes, size_bytes(rss));
            }
            Some((id, _step)) => {
                let Ok(id) = id.parse::<u64>() else { continue };
                *steps_cpu.entry(id).or_default() += duration_secs(cpu).unwrap_or(0.0);
                let a = jobs.entry(id).or_default();
                a.max_rss_bytes = max(a.max_rss_bytes, size_bytes(rss));
            }
        }
    }
    for (id, a) in &mut jobs {
        if a.cpu_time_secs == 0.0 {
            a.cpu_time_secs = steps_cpu.get(id).copied().unwrap_or(0.0);
        }
    }
    jobs
}

fn max(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// `AllocTRES` (`billing=2,cpu=2,gres/gpu=1,gres/gpu:a100=1,mem=4G,node=1`): a bare `mem`
/// is in MiB, Slurm's unit for memory. Typed GPUs (`gres/gpu:a100`) repeat the untyped
/// count, which is the one read.
pub fn allocation(tres: &str) -> Allocation {
    let mut a = Allocation::default();
    let mut typed_gpus = 0;
    for (key, value) in tres.split(',').filter_map(|kv| kv.split_once('=')) {
        let count = || value.trim().parse::<u32>().unwrap_or(0);
        match key.trim() {
            "node" => a.nodes = count(),
            "cpu" => a.cpus = count(),
            "mem" => a.memory_bytes = size_in(value, 1 << 20).unwrap_or(0),
            "gres/gpu" => a.gpus = count(),
            k if k.starts_with("gres/gpu:") => typed_gpus += count(),
            _ => {}
        }
    }
    if a.gpus == 0 {
        a.gpus = typed_gpus;
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_tres() {
        let a = allocation("billing=2,cpu=2,gres/gpu=1,mem=100M,node=1");
        assert_eq!(
            a,
            Allocation {
                nodes: 1,
                cpus: 2,
                memory_bytes: 100 << 20,
                gpus: 1
            }
        );
        assert_eq!(allocation("cpu=4,mem=2048,node=2").memory_bytes, 2 << 30);
        assert_eq!(allocation("cpu=1,gres/gpu:a100=2,mem=1G,node=1").gpus, 2);
        assert_eq!(allocation("gres/gpu=2,gres/gpu:a100=2").gpus, 2);
        assert_eq!(allocation(""), Allocation::default());
    }

    #[test]
    fn an_allocation_with_its_steps() {
        let out = "\
41|COMPLETED|0:0|None|65|00:30.250|billing=1,cpu=2,mem=1G,node=1|
41.batch|COMPLETED|0:0||65|00:30.200||204800K
41.extern|COMPLETED|0:0||65|00:00.050||1024K
42|CANCELLED by 0|0:15|None|7|00:00:00|cpu=1,mem=100M,node=1,gres/gpu=1|
42.batch|CANCELLED|0:15||7|00:01.500||
not|a|line
";
        let acct = parse(out);
        let a = acct[&41];
        assert_eq!((a.elapsed_secs, a.cpu_time_secs), (65, 30.25));
        assert_eq!(a.max_rss_bytes, Some(204_800 * 1024));
        assert_eq!(a.allocated.memory_bytes, 1 << 30);
        // No total on the allocation's line: the steps' sum.
        let b = acct[&42];
        assert_eq!((b.cpu_time_secs, b.max_rss_bytes, b.allocated.gpus), (1.5, None, 1));
        assert_eq!(acct.len(), 2);
    }
}
