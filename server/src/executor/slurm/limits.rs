//! The cluster's own limits per partition, from `sinfo -h -o %P|%l|%c|%m|%G|%D` (one line per
//! group of like nodes): `MaxTime`, CPUs, memory (MB) and GPUs (GRES `gpu`) per node, and the
//! node count. A submission beyond them is refused at submit (422 naming the field) rather than
//! left PENDING forever or refused by `sbatch` later.

use std::collections::BTreeMap;

use ch_domain::SystemLimits;

use super::units::duration_secs;

/// The sinfo format this module reads.
pub const SINFO_FORMAT: &str = "%P|%l|%c|%m|%G|%D";

/// What `sinfo` says of each partition; the default partition (`debug*`) is also under `""`.
pub fn parse_sinfo(out: &str) -> BTreeMap<String, SystemLimits> {
    let mut all: BTreeMap<String, SystemLimits> = BTreeMap::new();
    for line in out.lines() {
        let f: Vec<&str> = line.trim().split('|').collect();
        let [name, time, cpus, mem, gres, nodes] = f[..] else {
            continue;
        };
        let default = name.ends_with('*');
        let name = name.trim_end_matches('*').to_owned();
        let group = SystemLimits {
            max_nodes: number(nodes),
            max_cpus: number(cpus),
            max_memory_gb: number(mem).map(|mb| f64::from(mb) / 1024.0),
            max_gpus: Some(gpus(gres)),
            max_runtime_minutes: minutes(time),
        };
        let mut names = vec![name];
        if default {
            names.push(String::new());
        }
        for n in names {
            let entry = all.entry(n).or_insert(SystemLimits {
                max_nodes: Some(0),
                ..group
            });
            // Groups of one partition: the largest node decides, the nodes add up.
            entry.max_nodes = Some(entry.max_nodes.unwrap_or(0) + group.max_nodes.unwrap_or(0));
            entry.max_cpus = entry.max_cpus.max(group.max_cpus);
            entry.max_gpus = entry.max_gpus.max(group.max_gpus);
            entry.max_memory_gb = match (entry.max_memory_gb, group.max_memory_gb) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
    }
    all
}

/// `23081`, `2+` (a range's low end is what every node has: the `+` is dropped).
fn number(s: &str) -> Option<u32> {
    s.trim().trim_end_matches('+').parse().ok()
}

/// GPUs per node in a GRES list such as `gpu:2`, `gpu:a100:4(S:0-1)` or `(null)`.
fn gpus(gres: &str) -> u32 {
    gres.split(',')
        .filter_map(|g| {
            let g = g.split('(').next()?;
            let mut parts = g.split(':');
            (parts.next()? == "gpu").then(|| parts.next_back()?.parse::<u32>().ok())?
        })
        .sum()
}

/// A Slurm time limit (`infinite`, `[days-]hours:minutes:seconds`, `minutes:seconds`,
/// `minutes`) in whole minutes; `None` for no limit.
fn minutes(s: &str) -> Option<u32> {
    let s = s.trim();
    if s == "infinite" || s == "UNLIMITED" || s.is_empty() {
        return None;
    }
    // A bare number is minutes here; every other form is Slurm's duration.
    if let Ok(m) = s.parse::<u32>() {
        return Some(m);
    }
    u32::try_from(duration_secs(s)? as u64 / 60).ok()
}

/// `configured` where the site set a limit, the cluster's where not, and never more than the
/// cluster's.
pub fn merge(configured: SystemLimits, cluster: SystemLimits) -> SystemLimits {
    fn lower<T: PartialOrd + Copy>(a: Option<T>, b: Option<T>) -> Option<T> {
        match (a, b) {
            (Some(a), Some(b)) => Some(if b < a { b } else { a }),
            (a, b) => a.or(b),
        }
    }
    SystemLimits {
        max_nodes: lower(configured.max_nodes, cluster.max_nodes),
        max_cpus: lower(configured.max_cpus, cluster.max_cpus),
        max_memory_gb: lower(configured.max_memory_gb, cluster.max_memory_gb),
        max_gpus: lower(configured.max_gpus, cluster.max_gpus),
        max_runtime_minutes: lower(configured.max_runtime_minutes, cluster.max_runtime_minutes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinfo_lines_read_as_limits() {
        let all = parse_sinfo(
            "debug*|infinite|2|23081|gpu:2|1\nlong|2-00:00:00|48+|192000|gpu:a100:4(S:0-1)|10\nlong|2-00:00:00|64|256000|(null)|6\n",
        );
        let debug = all.get("debug").expect("debug");
        assert_eq!(
            (
                debug.max_nodes,
                debug.max_cpus,
                debug.max_gpus,
                debug.max_runtime_minutes
            ),
            (Some(1), Some(2), Some(2), None)
        );
        assert!(debug.max_memory_gb.is_some_and(|g| (g - 22.54).abs() < 0.01));
        assert_eq!(all.get(""), Some(debug), "the default partition");
        let long = all.get("long").expect("long");
        assert_eq!(
            (long.max_nodes, long.max_cpus, long.max_gpus, long.max_runtime_minutes),
            (Some(16), Some(64), Some(4), Some(2880))
        );
    }

    #[test]
    fn time_limits_in_minutes() {
        assert_eq!(minutes("infinite"), None);
        assert_eq!(minutes("30:00"), Some(30));
        assert_eq!(minutes("2:00:00"), Some(120));
        assert_eq!(minutes("1-12:30:00"), Some(2190));
        assert_eq!(minutes("45"), Some(45));
        assert_eq!(minutes("x"), None);
    }

    #[test]
    fn a_site_may_lower_the_clusters_limits_not_raise_them() {
        let cluster = SystemLimits {
            max_gpus: Some(2),
            max_cpus: Some(2),
            ..SystemLimits::default()
        };
        let site = SystemLimits {
            max_gpus: Some(8),
            max_runtime_minutes: Some(60),
            max_cpus: Some(1),
            ..SystemLimits::default()
        };
        let m = merge(site, cluster);
        assert_eq!(
            (m.max_gpus, m.max_cpus, m.max_runtime_minutes),
            (Some(2), Some(1), Some(60))
        );
    }
}
