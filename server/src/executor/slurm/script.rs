//! A job as a Slurm batch script: `#SBATCH` options made from the job's resources and the
//! system's partition and account, then one line that runs the job's command from its own
//! file. Nothing a user typed reaches the script: the job name is `ch-<job id>`, the command
//! lives in `command.sh` (run by `/bin/sh`, as the local executor runs it), and the settings'
//! partition, account and directory are checked at start-up ([`safe_word`], [`safe_path`]).

use std::fmt::Write as _;
use std::path::Path;

use ch_domain::{Job, Resources, SystemInfo};

/// The Slurm job name of our job `id` (`--job-name`, squeue's `%j`).
pub fn job_name(id: uuid::Uuid) -> String {
    format!("ch-{id}")
}

/// Whether `s` may stand in an `#SBATCH` line as a partition or account name: 1–64 ASCII
/// letters, digits, `_`, `-` or `.` (no white space, `%`, `#` or quotes).
pub fn safe_word(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Whether `p` may stand in an `#SBATCH` line as a directory: absolute, of ASCII letters,
/// digits and `/._-` only (Slurm expands `%` in file names; white space would end the option).
pub fn safe_path(p: &Path) -> bool {
    p.is_absolute()
        && p.to_str().is_some_and(|s| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'.'))
        })
}

/// Memory per node for `--mem`, in MiB (Slurm's default unit), rounded up; at least 1.
pub fn memory_mib(memory_gb: f64) -> u64 {
    // The domain bounds memory_gb to 0.001..=1e6, so the product fits.
    ((memory_gb * 1024.0).ceil() as u64).max(1)
}

/// The options that ask Slurm for resources `r` on `system`: nodes, one task per node with
/// `cpus` CPUs, memory per node, GPUs (`--gres=gpu:N`), the time limit, partition and account.
pub fn resource_options(r: &Resources, system: &SystemInfo) -> Vec<String> {
    let mut o = vec![
        format!("--nodes={}", r.nodes),
        "--ntasks-per-node=1".into(),
        format!("--cpus-per-task={}", r.cpus),
        format!("--mem={}M", memory_mib(r.memory_gb)),
    ];
    if r.gpus > 0 {
        o.push(format!("--gres=gpu:{}", r.gpus));
    }
    o.push(format!("--time={}", r.max_runtime_minutes));
    if let Some(p) = &system.partition {
        o.push(format!("--partition={p}"));
    }
    if let Some(a) = &system.account {
        o.push(format!("--account={a}"));
    }
    o
}

/// The batch script of `job` on `system`, whose directory is `dir` (checked by [`safe_path`]):
/// output to `dir/stdout.log` and `dir/stderr.log`, working directory `dir/work`, the command
/// in `dir/command.sh`.
pub fn batch_script(job: &Job, system: &SystemInfo, dir: &Path) -> String {
    let d = dir.display();
    let mut s = String::from("#!/bin/sh\n");
    let mut opt = |line: String| {
        let _ = writeln!(s, "#SBATCH {line}");
    };
    opt(format!("--job-name={}", job_name(job.id)));
    for o in resource_options(&job.resources, system) {
        opt(o);
    }
    opt(format!("--output={d}/stdout.log"));
    opt(format!("--error={d}/stderr.log"));
    opt(format!("--chdir={d}/work"));
    opt("--open-mode=truncate".into());
    // The first line that is not a comment ends Slurm's reading of #SBATCH options.
    let _ = writeln!(s, "exec /bin/sh {d}/command.sh");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use ch_domain::{JobStatus, Priority};

    fn job(command: &str, resources: Resources) -> Job {
        let now = chrono::Utc::now();
        Job {
            id: uuid::Uuid::nil(),
            name: "x\n#SBATCH --partition=evil".into(),
            owner: "u".into(),
            project: "p".into(),
            agent: "a".into(),
            executor: "slurm".into(),
            target_system: "hpc".into(),
            command: command.into(),
            resources,
            priority: Priority::Normal,
            estimated_cost_usd: 0.0,
            status: JobStatus::Queued,
            progress: 0,
            correlation_id: "c".into(),
            submitted_at: now,
            queued_at: None,
            started_at: None,
            finished_at: None,
            updated_at: now,
            exit_code: None,
            error_code: None,
            error_message: None,
            retry_count: 0,
            max_retries: 0,
            result_location: None,
            notify: None,
        }
    }

    #[test]
    fn resources_become_sbatch_options_and_nothing_of_the_user_does() {
        let system = SystemInfo {
            partition: Some("debug".into()),
            account: Some("testacct".into()),
            ..SystemInfo::default()
        };
        let r = Resources {
            nodes: 2,
            cpus: 4,
            memory_gb: 1.5,
            gpus: 2,
            max_runtime_minutes: 90,
        };
        let s = batch_script(&job("echo $(id)\n#SBATCH --nodes=99", r), &system, Path::new("/d/j"));
        for want in [
            "#SBATCH --job-name=ch-00000000-0000-0000-0000-000000000000\n",
            "#SBATCH --nodes=2\n",
            "#SBATCH --cpus-per-task=4\n",
            "#SBATCH --mem=1536M\n",
            "#SBATCH --gres=gpu:2\n",
            "#SBATCH --time=90\n",
            "#SBATCH --partition=debug\n",
            "#SBATCH --account=testacct\n",
            "#SBATCH --output=/d/j/stdout.log\n",
            "#SBATCH --chdir=/d/j/work\n",
        ] {
            assert!(s.contains(want), "{want:?} missing from\n{s}");
        }
        assert!(!s.contains("evil") && !s.contains("99") && !s.contains("id)"), "{s}");
        assert!(s.ends_with("exec /bin/sh /d/j/command.sh\n"), "{s}");
        let plain = batch_script(
            &job("true", Resources::default()),
            &SystemInfo::default(),
            Path::new("/d/j"),
        );
        assert!(!plain.contains("--gres") && !plain.contains("--partition") && !plain.contains("--account"));
    }

    #[test]
    fn only_plain_names_and_paths_may_enter_sbatch_lines() {
        assert!(safe_word("debug") && safe_word("gpu-a100_x.1"));
        for bad in ["", "a b", "a\n#SBATCH", "a%j", "a;rm", "'a'", &"x".repeat(65)] {
            assert!(!safe_word(bad), "{bad:?}");
        }
        assert!(safe_path(Path::new("/srv/ch/slurm-jobs")) && safe_path(Path::new("/tmp/.tmpAb3_x")));
        for bad in ["relative/dir", "/with space", "/pct%j", "/new\nline", "/quote'"] {
            assert!(!safe_path(Path::new(bad)), "{bad:?}");
        }
        assert_eq!(memory_mib(0.001), 2);
        assert_eq!(memory_mib(1.0), 1024);
    }
}
