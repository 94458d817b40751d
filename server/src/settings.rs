//! Typed settings: built-in defaults, then an optional TOML file, then `CH_*` environment
//! variables (nested keys with `__`, e.g. `CH_EXECUTOR__SLOTS=4`).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use ch_domain::SystemCatalog;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

mod notify;

pub use notify::{NotifySettings, SmtpSecurity, SmtpSettings, WebhookSettings};

/// A value that never shows up in logs or `Debug` output.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The directories a job may read and execute when nothing is configured.
pub const DEFAULT_READ_PATHS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/opt", "/proc", "/sys",
];

/// Gateway settings (`[gateway]`, `CH_GATEWAY__*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewaySettings {
    /// Seconds between heartbeats; a connection silent for two of them is dropped.
    pub heartbeat_secs: u64,
    /// Seconds between checks that a connection's credential still holds (revocation,
    /// sign-out, lost membership); expiry is acted on at the moment it happens.
    pub recheck_secs: u64,
    /// Largest inbound frame (control messages only).
    pub max_frame_bytes: usize,
    /// Messages queued per connection before it counts as a slow consumer and is cut.
    pub queue_messages: usize,
    /// Channels one connection may subscribe to.
    pub max_subscriptions: usize,
    /// Open connections on this instance (keep below the process's open-file limit).
    pub max_connections: usize,
    /// Open connections per user's sessions (all of them) or per API token.
    pub max_connections_per_credential: usize,
    /// Open connections per user, all their sessions and tokens together.
    pub max_connections_per_user: usize,
    /// Open connections per client address.
    pub max_connections_per_address: usize,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            heartbeat_secs: 25,
            recheck_secs: 60,
            max_frame_bytes: 4096,
            queue_messages: 1024,
            max_subscriptions: 256,
            max_connections: 15_000,
            max_connections_per_credential: 500,
            max_connections_per_user: 1_000,
            max_connections_per_address: 5_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExecutorSettings {
    /// Jobs run at the same time by the local executor.
    pub slots: usize,
    /// How often CPU and memory of a running job are sampled.
    pub sample_interval_ms: u64,
    /// Grace period between SIGTERM and SIGKILL on cancel or timeout.
    pub kill_grace_ms: u64,
    /// Site-wide cap on any job's runtime in seconds, on top of its own
    /// `max_runtime_minutes` (e.g. a short cap on a demo server).
    pub max_runtime_cap_secs: Option<u64>,
    /// Whether users with the `scientist` role may submit arbitrary command lines. Off:
    /// only `templates` can be submitted (the hosted demo runs this way).
    pub allow_commands: bool,
    /// Named job templates with typed parameters; the defaults are labelled demos.
    pub templates: std::collections::BTreeMap<String, ch_domain::JobTemplate>,
    /// Confine job processes with Landlock where the kernel has it: they may read the system
    /// directories below and their own working directory only (see `executor::local::confine`).
    pub confine: bool,
    /// Directories a confined job may read and execute.
    pub confine_read_paths: Vec<PathBuf>,
    /// TCP ports a confined job may connect to, on any address (Landlock filters by port).
    /// Default: none — no TCP connection at all, so the database, brokers, caches and this
    /// server are out of a job's reach; a site that lets jobs fetch over HTTPS adds 443.
    pub allow_connect_ports: Vec<u16>,
    /// Start each confined job in its own PID, mount and (without `allow_connect_ports`)
    /// network namespace, with a root file system of its own: the job sees only its own
    /// processes and files, and none of its processes outlives it (`setsid` and double forks
    /// included). A server that is not root makes them inside a user namespace. Where the
    /// kernel refuses, jobs run without and `/readyz` reports `processes: false`.
    pub isolate_processes: bool,
    /// Largest file a confined job may write, in bytes (`RLIMIT_FSIZE`); a larger write ends
    /// the job as failed with `file_size_limit`. Default 16 GiB; `None` in a file: no limit.
    pub max_file_bytes: Option<u64>,
    /// Disk a job may use in total, in bytes: its working directory and its captured output,
    /// measured every `sample_interval_ms` (see `executor::local::disk`); beyond it the job fails as
    /// `disk_quota`. Also caps the per-file limit. Default 64 GiB; `None` in a file: no quota.
    pub max_job_disk_bytes: Option<u64>,
    /// Open files per job process (`RLIMIT_NOFILE`). Default 4096.
    pub max_open_files: Option<u64>,
    /// CPU seconds per job process (`RLIMIT_CPU`); beyond it the job fails as
    /// `cpu_time_limit`. Default: none (a job's wall-clock `max_runtime_minutes` applies).
    pub max_cpu_seconds: Option<u64>,
    /// Processes and threads per job: a fork bomb stops there and fails as `process_limit`.
    /// Counted in a `pids` cgroup of the job's own where the host lets the server make one
    /// (see `executor::local::cgroup`), else as `RLIMIT_NPROC` of the run-as user (shared by the jobs
    /// running as it; not applied to root). Default 4096.
    pub max_processes: Option<u64>,
    /// The unprivileged user jobs run as (a name or a uid; never root). Unset: `nobody` when
    /// the server runs as root, else the server's own user. Start-up fails if it does not exist.
    pub run_as: Option<String>,
    /// Refuse to start when jobs would lack any protection `/readyz` lists (Landlock files,
    /// TCP, signals, abstract sockets; processes, private root, network, unprivileged): for
    /// multi-user sites, where a weaker sandbox must not go unnoticed. Default off, with a
    /// warning naming what is missing.
    pub require_isolation: bool,
    /// The program that starts confined jobs (`job-exec`); default: this server's executable.
    pub launcher: Option<PathBuf>,
    /// Nice increment of job processes (0–19; more counts as 19), applied by the launcher: jobs get the CPU the
    /// server leaves, so a burst of jobs on the server's own host cannot starve the API that
    /// accepts them (HTCondor's `JOB_RENICE_INCREMENT`, Slurm's `--nice`).
    pub nice: u8,
}

impl ExecutorSettings {
    /// The largest file a job may write: `max_file_bytes`, and never more than the whole
    /// `max_job_disk_bytes`.
    pub fn file_limit(&self) -> Option<u64> {
        match (self.max_file_bytes, self.max_job_disk_bytes) {
            (Some(f), Some(d)) => Some(f.min(d)),
            (f, d) => f.or(d),
        }
    }
}

impl Default for ExecutorSettings {
    fn default() -> Self {
        Self {
            slots: 2,
            sample_interval_ms: 1000,
            kill_grace_ms: 5000,
            max_runtime_cap_secs: None,
            allow_commands: true,
            templates: ch_domain::template::demo_templates(),
            confine: true,
            confine_read_paths: DEFAULT_READ_PATHS.iter().map(PathBuf::from).collect(),
            allow_connect_ports: Vec::new(),
            isolate_processes: true,
            max_file_bytes: Some(16 << 30),
            max_job_disk_bytes: Some(64 << 30),
            max_open_files: Some(4096),
            max_cpu_seconds: None,
            max_processes: Some(4096),
            run_as: None,
            require_isolation: false,
            launcher: None,
            nice: 10,
        }
    }
}

/// How the Slurm executor reaches a cluster (CLI path: `sbatch`, `squeue`, `sacct`, `scancel`
/// on a login node; slurmrestd is not implemented yet). Used only when a system of the
/// catalogue names `executor = "slurm"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlurmSettings {
    /// Where each job's directory (`<jobs_dir>/<job id>/`: batch script, command, `stdout.log`,
    /// `stderr.log`, working directory `work/`) is made: a file system the compute nodes
    /// share with this server. Unset: `<data_dir>/slurm-jobs` (a single-node cluster). Must
    /// be an absolute path of letters, digits and `/._-` only (it is written into `#SBATCH`
    /// lines, where Slurm also expands `%`).
    pub jobs_dir: Option<PathBuf>,
    /// Directory of the Slurm commands; unset: found on `PATH`.
    pub bin_dir: Option<PathBuf>,
    /// Shortest pause between two polls of the cluster, in milliseconds; the pause doubles
    /// while nothing changes, up to `max_poll_interval_ms`, and drops back on a change.
    pub poll_interval_ms: u64,
    /// Longest pause between two polls, in milliseconds.
    pub max_poll_interval_ms: u64,
    /// Longest one Slurm command may take, in seconds, before it counts as failed.
    pub command_timeout_secs: u64,
    /// Minutes a job may be unknown to both `squeue` and `sacct` (accounting trails the
    /// controller) before it is failed as lost.
    pub lost_after_minutes: u64,
    /// Shortest pause between two `sstat` readings of the running jobs' CPU and memory
    /// (`GET /api/jobs/{id}/metrics`), in milliseconds; a reading happens with a poll, so
    /// never more often than the polls.
    pub sample_interval_ms: u64,
}

impl Default for SlurmSettings {
    fn default() -> Self {
        Self {
            jobs_dir: None,
            bin_dir: None,
            poll_interval_ms: 2_000,
            max_poll_interval_ms: 30_000,
            command_timeout_secs: 30,
            lost_after_minutes: 10,
            sample_interval_ms: 10_000,
        }
    }
}

/// One upstream archive the FITS proxy may fetch from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSource {
    /// Files are fetched from `base_url` + `/` + the requested path.
    pub base_url: String,
    /// Whole-request timeout for one fetch.
    #[serde(default = "default_upstream_timeout")]
    pub timeout_secs: u64,
    /// Projects whose members may read this source; unset = public (every signed-in user,
    /// and anonymous visitors under `auth.public_read`).
    #[serde(default)]
    pub projects: Option<Vec<String>>,
}

fn default_upstream_timeout() -> u64 {
    300
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArchiveSettings {
    /// Upstream archives by name, used in `/api/fits/{source}/{path}`; `jobs` is reserved for
    /// job results on this server.
    pub sources: std::collections::BTreeMap<String, UpstreamSource>,
    /// Where cached files live; `data_dir/cache` when unset.
    pub cache_dir: Option<PathBuf>,
    /// Size cap of the disk cache; least recently used files go first.
    pub cache_max_bytes: u64,
    /// A cached file is fetched again after this long.
    pub cache_ttl_secs: u64,
    /// Largest file the proxy will fetch.
    pub max_file_bytes: u64,
    /// Memory for hot small files, served without touching the disk.
    pub memory_cache_bytes: u64,
    /// Files up to this size are eligible for the memory tier.
    pub memory_max_file_bytes: u64,
    /// Sustained requests per second per client on the FITS endpoints.
    pub rate_limit_per_second: u64,
    /// Burst allowance per client.
    pub rate_limit_burst: u32,
}

impl Default for ArchiveSettings {
    fn default() -> Self {
        Self {
            sources: std::collections::BTreeMap::new(),
            cache_dir: None,
            cache_max_bytes: 10 * 1024 * 1024 * 1024,
            cache_ttl_secs: 7 * 24 * 3600,
            max_file_bytes: 8 * 1024 * 1024 * 1024,
            memory_cache_bytes: 256 * 1024 * 1024,
            memory_max_file_bytes: 8 * 1024 * 1024,
            rate_limit_per_second: 100,
            rate_limit_burst: 200,
        }
    }
}

/// Accounts, sessions and request guards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// HS256 key for access tokens; when unset, `data_dir/auth/jwt.key` (created on first
    /// start). Several server instances must share one.
    pub jwt_secret: Option<Secret>,
    /// Lifetime of an access token (cookie `ch_access`), seconds.
    pub access_ttl_secs: u64,
    /// Lifetime of a browser session (refresh cookie `ch_refresh`), seconds.
    pub session_ttl_secs: u64,
    /// Lifetime of a one-time sign-in link, seconds.
    pub login_link_ttl_secs: u64,
    /// Anonymous visitors may read projects marked public (never write).
    pub public_read: bool,
    /// Host names the server answers to (DNS-rebinding protection); `*` allows any. Empty:
    /// the listen address, `localhost`, `127.0.0.1` and `[::1]`.
    pub allowed_hosts: Vec<String>,
    /// Mark cookies `Secure`. Unset: when the request came over TLS (`X-Forwarded-Proto:
    /// https` from a proxy).
    pub secure_cookies: Option<bool>,
    /// Writes (submit, cancel, saves) per user or token per minute, with bursts of
    /// `write_burst`; more answer 429 with `Retry-After`.
    pub writes_per_minute: u32,
    pub write_burst: u32,
    /// Sign-in attempts per client address per minute (on top of the per-name lockout).
    pub logins_per_minute: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            access_ttl_secs: 15 * 60,
            session_ttl_secs: 30 * 24 * 3600,
            login_link_ttl_secs: 24 * 3600,
            public_read: false,
            allowed_hosts: Vec::new(),
            secure_cookies: None,
            writes_per_minute: 600,
            write_burst: 120,
            logins_per_minute: 30,
        }
    }
}

/// Message brokers (`[brokers]`): each one configured gets every event of the log, through a
/// relay whose position is saved in the database (`bus::run_relay`, `Cursor::Saved`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrokerSettings {
    /// RabbitMQ (`[brokers.rabbitmq]`); off when absent.
    pub rabbitmq: Option<RabbitMqSettings>,
    /// Kafka (`[brokers.kafka]`); off when absent.
    pub kafka: Option<KafkaSettings>,
}

/// Kafka as the event log's partitioned, replayable stream: the server creates its topics at
/// start-up and relays each event to one of them (`bus::kafka`) with an idempotent producer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaSettings {
    /// `host:port[,host:port…]` of the brokers the client first asks for the cluster's
    /// metadata (librdkafka's `bootstrap.servers`). Default `127.0.0.1:9092`.
    pub bootstrap_servers: String,
    /// The producer's `client.id`, as brokers log it and quotas key it. Default
    /// `cosmic-horizons`.
    pub client_id: String,
    /// Put before every topic name (`job-lifecycle` → `<prefix>job-lifecycle`), so several
    /// deployments or tests share a cluster. Default empty.
    pub topic_prefix: String,
    /// How long the producer keeps trying to deliver a message before the batch counts as
    /// failed (librdkafka's `delivery.timeout.ms`); the relay then offers the batch again.
    /// Milliseconds, default 30,000.
    pub delivery_timeout_ms: u32,
    /// Replication factor of the topics the server creates (1 for a single broker; 3 is usual
    /// on a production cluster). Topics that exist are left as they are. Default 1.
    pub replication_factor: i32,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            bootstrap_servers: "127.0.0.1:9092".into(),
            client_id: "cosmic-horizons".into(),
            topic_prefix: String::new(),
            delivery_timeout_ms: 30_000,
            replication_factor: 1,
        }
    }
}

/// RabbitMQ (AMQP 0-9-1) as the event log's fan-out: the server declares its exchanges and
/// queues at start-up (`bus::amqp`) and publishes each event with publisher confirms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RabbitMqSettings {
    /// `amqp://user:password@host:5672/<vhost, %2f for />`.
    pub url: Secret,
    /// Longest each of the event queues may grow, in messages; a full queue refuses new
    /// messages (`x-overflow = reject-publish`), the relay holds them back and retries, so
    /// nothing is dropped while a consumer is away. Default 1,000,000.
    pub queue_max_messages: u32,
    /// How long a dead letter stays in `job-dlq`, in seconds. Default 14 days.
    pub dead_letter_ttl_secs: u32,
}

impl Default for RabbitMqSettings {
    fn default() -> Self {
        Self {
            url: Secret::new("amqp://guest:guest@127.0.0.1:5672/%2f"),
            queue_max_messages: 1_000_000,
            dead_letter_ttl_secs: 14 * 24 * 3600,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Listen address; when unset, `site-addr` from the Leptos site file.
    pub listen: Option<SocketAddr>,
    /// Where SQLite, job logs and caches live.
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL, `sqlite://…` for a specific SQLite file; when unset,
    /// SQLite in `data_dir`.
    pub database_url: Option<Secret>,
    /// The Leptos site file (output name, site root, package dir).
    pub leptos_toml: PathBuf,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    pub executor: ExecutorSettings,
    /// The Slurm executor's cluster access (systems with `executor = "slurm"`).
    pub slurm: SlurmSettings,
    pub systems: SystemCatalog,
    pub archive: ArchiveSettings,
    pub auth: AuthSettings,
    pub gateway: GatewaySettings,
    /// Message brokers the event log is relayed to (none by default).
    pub brokers: BrokerSettings,
    /// How notifications leave the server (e-mail through `[notify.smtp]`).
    pub notify: NotifySettings,
    /// Milliseconds a shutdown waits for open connections, then for the executor and the
    /// relays, before it drops what is left (a client holding a connection open must not keep
    /// the process alive). Default 30,000.
    pub shutdown_grace_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: None,
            data_dir: PathBuf::from("data"),
            database_url: None,
            leptos_toml: PathBuf::from("Leptos.toml"),
            max_body_bytes: 1024 * 1024,
            executor: ExecutorSettings::default(),
            slurm: SlurmSettings::default(),
            systems: SystemCatalog::default(),
            archive: ArchiveSettings::default(),
            auth: AuthSettings::default(),
            gateway: GatewaySettings::default(),
            brokers: BrokerSettings::default(),
            notify: NotifySettings::default(),
            shutdown_grace_ms: 30_000,
        }
    }
}

/// Top-level settings keys; other `CH_*` variables (`CH_LOG`, `CH_CONFIG`, test harness
/// variables) are not settings.
const SETTING_KEYS: [&str; 14] = [
    "listen",
    "data_dir",
    "database_url",
    "leptos_toml",
    "max_body_bytes",
    "executor",
    "slurm",
    "systems",
    "archive",
    "auth",
    "gateway",
    "brokers",
    "notify",
    "shutdown_grace_ms",
];

impl Settings {
    /// Reads `CH_CONFIG` (default `cosmic-horizons.toml`, if present) and `CH_*` overrides.
    pub fn load() -> Result<Self, Box<figment::Error>> {
        let file = std::env::var("CH_CONFIG").unwrap_or_else(|_| "cosmic-horizons.toml".into());
        Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            .merge(
                Env::prefixed("CH_")
                    .filter(|key| {
                        let top = key.as_str().split("__").next().unwrap_or_default();
                        SETTING_KEYS.iter().any(|k| k.eq_ignore_ascii_case(top))
                    })
                    .split("__"),
            )
            .extract()
            .map_err(Box::new)
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("cosmic-horizons.db").display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_redacted() {
        let s = Settings {
            database_url: Some(Secret::new("postgres://u:pw@h/db")),
            ..Settings::default()
        };
        assert!(!format!("{s:?}").contains("pw"));
    }

    #[test]
    // figment::Jail's closure signature is figment's, not ours.
    #[allow(clippy::result_large_err)]
    fn env_overrides_file_and_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "cosmic-horizons.toml",
                "data_dir = \"/srv/ch\"\n[executor]\nslots = 3\n",
            )?;
            jail.set_env("CH_EXECUTOR__SLOTS", "5");
            jail.set_env("CH_LOG", "debug");
            jail.set_env("CH_BROKERS__KAFKA__TOPIC_PREFIX", "site-a.");
            let s = Settings::load().map_err(|e| e.to_string())?;
            assert_eq!(s.data_dir, PathBuf::from("/srv/ch"));
            let kafka = s.brokers.kafka.clone().unwrap_or_default();
            assert_eq!(kafka.topic_prefix, "site-a.");
            assert_eq!(kafka.bootstrap_servers, "127.0.0.1:9092", "the rest from defaults");
            assert_eq!(s.executor.slots, 5);
            assert!(s.systems.get("local").is_some());
            Ok(())
        });
    }
}
