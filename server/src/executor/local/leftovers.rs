//! Processes a previous server left running: after a crash (kill -9, OOM) the jobs' process
//! groups survive, reparented to init, and keep writing. Before a restarted server declares
//! such a job lost it finds them — every process whose environment carries the job's
//! `CH_JOB_ID`, which each job process and its descendants inherit — and kills them with their
//! process groups, so a job the platform reports as failed is not still running.
//!
//! Linux (`/proc`); elsewhere nothing is found. A descendant that both cleared its environment
//! and left the job's process group (`setsid`) escapes this; confining jobs is what stops it.

use std::collections::BTreeSet;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::{Pid, getpgid, getpid};
use uuid::Uuid;

/// Pids of the processes whose environment holds `CH_JOB_ID=<job>`.
pub(crate) fn processes_of(job: Uuid) -> Vec<Pid> {
    let marker = format!("CH_JOB_ID={job}");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = getpid();
    entries
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .parse::<i32>()
                .ok()
                .map(|p| (Pid::from_raw(p), e.path()))
        })
        .filter(|(pid, _)| *pid != me)
        .filter(|(_, path)| {
            std::fs::read(path.join("environ")).is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == marker.as_bytes()))
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// Kills the job's leftover processes and their process groups (never the server's own);
/// returns how many processes were found.
pub(crate) fn kill_leftovers(job: Uuid) -> usize {
    let found = processes_of(job);
    let own_group = getpgid(None).ok();
    let groups: BTreeSet<Pid> = found
        .iter()
        .filter_map(|pid| getpgid(Some(*pid)).ok())
        .filter(|g| Some(*g) != own_group)
        .collect();
    for group in groups {
        let _ = killpg(group, Signal::SIGKILL);
    }
    for pid in &found {
        let _ = kill(*pid, Signal::SIGKILL);
    }
    found.len()
}
