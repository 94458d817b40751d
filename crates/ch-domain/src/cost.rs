//! Cost estimates from a per-system rate table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::job::Resources;

/// USD rates for one system. A job's estimate is
/// `hours × nodes × (node_hour + cpus × cpu_core_hour + gpus × gpu_hour + memory_gb × memory_gb_hour)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SystemRates {
    pub node_hour_usd: f64,
    pub cpu_core_hour_usd: f64,
    pub gpu_hour_usd: f64,
    pub memory_gb_hour_usd: f64,
}

impl SystemRates {
    /// Upper-bound estimate for the full requested runtime, rounded to cents.
    pub fn estimate(&self, r: &Resources) -> f64 {
        let hours = f64::from(r.max_runtime_minutes) / 60.0;
        let per_node = self.hourly(1.0, f64::from(r.cpus), f64::from(r.gpus), r.memory_gb);
        cents(hours * f64::from(r.nodes) * per_node)
    }

    /// USD per hour for `nodes` nodes, `cpus` CPUs, `gpus` GPUs and `memory_gb` GB of memory
    /// (the estimate's and the accounted cost's rate: `node_hour + cpus × cpu_core_hour +
    /// gpus × gpu_hour + memory_gb × memory_gb_hour`, per node or for a whole allocation).
    pub fn hourly(&self, nodes: f64, cpus: f64, gpus: f64, memory_gb: f64) -> f64 {
        nodes * self.node_hour_usd
            + cpus * self.cpu_core_hour_usd
            + gpus * self.gpu_hour_usd
            + memory_gb * self.memory_gb_hour_usd
    }
}

/// `usd` rounded to cents.
pub fn cents(usd: f64) -> f64 {
    (usd * 100.0).round() / 100.0
}

/// One compute system a job can target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemInfo {
    #[serde(default)]
    pub description: String,
    /// Executor that runs jobs for this system here (`local`); `None` means cost estimates
    /// only: submissions are refused.
    #[serde(default)]
    pub executor: Option<String>,
    #[serde(default)]
    pub rates: SystemRates,
    /// The Slurm partition (`sbatch --partition`) jobs of this system go to, for executor
    /// `slurm`; unset: the cluster's default partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// The Slurm account (`sbatch --account`, the allocation charged), for executor `slurm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The largest request a job of this system may make; beyond it a submission is refused
    /// (422 naming the field) instead of waiting in a queue that can never run it.
    #[serde(default)]
    pub limits: SystemLimits,
}

/// Per-job limits of a system (a Slurm partition's `MaxTime`, its nodes' CPUs, memory and
/// GPUs). `None`: no limit beyond the submit form's own bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SystemLimits {
    /// Nodes per job.
    pub max_nodes: Option<u32>,
    /// CPUs per node.
    pub max_cpus: Option<u32>,
    /// Memory per node, in GB.
    pub max_memory_gb: Option<f64>,
    /// GPUs per node (Slurm GRES `gpu`).
    pub max_gpus: Option<u32>,
    /// Wall-clock limit per job, in minutes (a partition's `MaxTime`).
    pub max_runtime_minutes: Option<u32>,
}

impl SystemLimits {
    /// The first request of `r` beyond these limits, as (field, message) naming `system`.
    pub fn check(&self, system: &str, r: &Resources) -> Result<(), crate::error::FieldError> {
        let over = |field: &str, got: String, max: String, unit: &str| {
            Err(crate::error::FieldError::new(
                field,
                format!("at most {max}{unit} on system '{system}', got {got}{unit}"),
            ))
        };
        let checks: [(&str, Option<u32>, u32, &str); 4] = [
            ("resources.nodes", self.max_nodes, r.nodes, ""),
            ("resources.cpus", self.max_cpus, r.cpus, " per node"),
            ("resources.gpus", self.max_gpus, r.gpus, " per node"),
            (
                "resources.max_runtime_minutes",
                self.max_runtime_minutes,
                r.max_runtime_minutes,
                " min",
            ),
        ];
        for (field, max, got, unit) in checks {
            if let Some(max) = max
                && got > max
            {
                return over(field, got.to_string(), max.to_string(), unit);
            }
        }
        if let Some(max) = self.max_memory_gb
            && r.memory_gb > max
        {
            return over(
                "resources.memory_gb",
                r.memory_gb.to_string(),
                max.to_string(),
                " GB per node",
            );
        }
        Ok(())
    }
}

/// Systems known to this server, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SystemCatalog(pub BTreeMap<String, SystemInfo>);

impl SystemCatalog {
    pub fn get(&self, name: &str) -> Option<&SystemInfo> {
        self.0.get(name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }

    pub fn runnable_names(&self) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(_, s)| s.executor.is_some())
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

impl Default for SystemCatalog {
    /// `local` runs on this machine; the TACC systems carry illustrative rates for estimates
    /// until a site configures its own table and executors.
    fn default() -> Self {
        let sys = |description: &str, executor: Option<&str>, node, core, gpu, mem| SystemInfo {
            description: description.to_owned(),
            executor: executor.map(str::to_owned),
            rates: SystemRates {
                node_hour_usd: node,
                cpu_core_hour_usd: core,
                gpu_hour_usd: gpu,
                memory_gb_hour_usd: mem,
            },
            ..SystemInfo::default()
        };
        SystemCatalog(BTreeMap::from([
            (
                "local".to_owned(),
                sys("This server's own CPUs", Some("local"), 0.0, 0.0, 0.0, 0.0),
            ),
            (
                "frontera".to_owned(),
                sys("TACC Frontera (CPU)", None, 0.80, 0.0, 0.0, 0.0),
            ),
            ("stampede3".to_owned(), sys("TACC Stampede3", None, 1.00, 0.0, 0.0, 0.0)),
            (
                "lonestar6".to_owned(),
                sys("TACC Lonestar6", None, 0.90, 0.0, 2.50, 0.0),
            ),
            (
                "vista".to_owned(),
                sys("TACC Vista (Grace Hopper)", None, 1.20, 0.0, 3.00, 0.0),
            ),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_beyond_a_systems_limits_name_the_field() {
        let limits = SystemLimits {
            max_gpus: Some(2),
            max_runtime_minutes: Some(60),
            max_memory_gb: Some(4.0),
            ..SystemLimits::default()
        };
        let r = Resources::default();
        assert!(limits.check("hpc", &r).is_ok());
        let field = |r: Resources| limits.check("hpc", &r).map_err(|e| e.field);
        assert_eq!(field(Resources { gpus: 3, ..r }), Err("resources.gpus".into()));
        assert_eq!(
            field(Resources {
                max_runtime_minutes: 61,
                ..r
            }),
            Err("resources.max_runtime_minutes".into())
        );
        assert_eq!(
            field(Resources { memory_gb: 4.5, ..r }),
            Err("resources.memory_gb".into())
        );
        assert_eq!(SystemLimits::default().check("x", &Resources { nodes: 9, ..r }), Ok(()));
    }

    #[test]
    fn estimate_scales_with_nodes_and_hours() {
        let rates = SystemRates {
            node_hour_usd: 1.0,
            cpu_core_hour_usd: 0.01,
            gpu_hour_usd: 2.0,
            memory_gb_hour_usd: 0.0,
        };
        let r = Resources {
            nodes: 2,
            cpus: 10,
            memory_gb: 4.0,
            gpus: 1,
            max_runtime_minutes: 90,
        };
        // 1.5 h × 2 nodes × (1 + 0.1 + 2) = 9.30
        assert!((rates.estimate(&r) - 9.30).abs() < 1e-9);
    }
}
