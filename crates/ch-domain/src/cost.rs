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
        let per_node = self.node_hour_usd
            + f64::from(r.cpus) * self.cpu_core_hour_usd
            + f64::from(r.gpus) * self.gpu_hour_usd
            + r.memory_gb * self.memory_gb_hour_usd;
        (hours * f64::from(r.nodes) * per_node * 100.0).round() / 100.0
    }
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
