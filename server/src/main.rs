use anyhow::Context;
use clap::{Parser, Subcommand};
use server::settings::Settings;
use tracing_subscriber::EnvFilter;

/// Cosmic Horizons: real-time job tracking and FITS tools for radio astronomy.
#[derive(Parser)]
#[command(name = "cosmic-horizons", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (the default).
    Serve,
    /// Print the effective settings (secrets redacted) and exit.
    Config,
    /// Inspect FITS files: statistics, pixel ↔ world coordinates.
    #[command(subcommand)]
    Fits(server::cli::FitsCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    User(server::admin_cli::UserCommand),
    /// Manage projects and their members.
    #[command(subcommand)]
    Project(server::admin_cli::ProjectCommand),
    /// Create and revoke API tokens.
    #[command(subcommand)]
    Token(server::admin_cli::TokenCommand),
    /// Internal: how the server starts a confined job (namespaces and Landlock, then exec).
    #[command(hide = true)]
    JobExec(JobArgs),
    /// Internal: PID 1 of a job's namespace (started by `job-exec`).
    #[command(hide = true)]
    JobInit(JobArgs),
}

/// The arguments of `job-exec` and `job-init` (see `server::executor::local::confine::JobExec`).
#[derive(Debug, clap::Args)]
struct JobArgs {
    /// The job's working directory (read/write).
    #[arg(long)]
    work: std::path::PathBuf,
    /// Directories the job may read and execute.
    #[arg(long)]
    read: Vec<std::path::PathBuf>,
    /// TCP ports the job may connect to (none when absent).
    #[arg(long)]
    connect_port: Vec<u16>,
    /// Nice increment for the job (0 = none).
    #[arg(long, default_value_t = 0)]
    nice: i32,
    /// Address-space limit of the job in KiB.
    #[arg(long)]
    memory_kib: Option<u64>,
    /// Largest file the job may write, in bytes.
    #[arg(long)]
    file_bytes: Option<u64>,
    /// Open files per process.
    #[arg(long)]
    open_files: Option<u64>,
    /// CPU seconds per process.
    #[arg(long)]
    cpu_seconds: Option<u64>,
    /// Processes and threads of the job's user.
    #[arg(long)]
    processes: Option<u64>,
    /// Run the job as this uid (with `--gid`).
    #[arg(long, requires = "gid")]
    uid: Option<u32>,
    /// Run the job with this group (with `--uid`).
    #[arg(long, requires = "uid")]
    gid: Option<u32>,
    /// Start the job in its own PID and mount namespace.
    #[arg(long)]
    pid_namespace: bool,
    /// (job-init) The launcher made a network namespace for the job.
    #[arg(long)]
    network_namespace: bool,
    /// (job-init) The job's namespaces are owned by a new user namespace.
    #[arg(long)]
    user_namespace: bool,
    /// The job's pids cgroup, joined first.
    #[arg(long)]
    pids_cgroup: Option<std::path::PathBuf>,
    /// Print what the kernel enforces and exit.
    #[arg(long)]
    probe: bool,
    #[arg(last = true)]
    command: Vec<String>,
}

impl JobArgs {
    fn job(&self) -> server::executor::local::confine::JobExec {
        server::executor::local::confine::JobExec {
            work: self.work.clone(),
            read_paths: self.read.clone(),
            connect_ports: self.connect_port.clone(),
            limits: server::executor::local::confine::Limits {
                nice: self.nice,
                memory_kib: self.memory_kib,
                file_bytes: self.file_bytes,
                open_files: self.open_files,
                cpu_seconds: self.cpu_seconds,
                processes: self.processes,
                run_as: self
                    .uid
                    .zip(self.gid)
                    .map(|(uid, gid)| server::executor::local::confine::RunAs { uid, gid }),
            },
            pid_namespace: self.pid_namespace,
            unshared: server::executor::local::launch::Unshared {
                network: self.network_namespace,
                user: self.user_namespace,
            },
            pids_cgroup: self.pids_cgroup.clone(),
            probe: self.probe,
            command: self.command.clone(),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

fn main() -> anyhow::Result<()> {
    let command = Cli::parse().command.unwrap_or(Command::Serve);
    // Every job starts through `job-exec`: it execs at once, without a Tokio runtime or a
    // log subscriber (both cost more than the exec itself on a burst of short jobs).
    if let Command::JobExec(args) | Command::JobInit(args) = &command {
        let job = args.job();
        let e = if matches!(command, Command::JobInit(_)) {
            server::executor::local::namespace::init(&job)
        } else {
            server::executor::local::namespace::exec(&job)
        };
        eprintln!("cosmic-horizons job-exec: {e}");
        std::process::exit(127);
    }
    // Logs go to stderr: stdout is the answer of CLI commands (`export CH_TOKEN=$(… token create …)`).
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("CH_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the Tokio runtime")?
        .block_on(run(command))
}

async fn run(command: Command) -> anyhow::Result<()> {
    if let Command::Fits(cmd) = command {
        if let Err(e) = server::cli::run(cmd) {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
        return Ok(());
    }
    let settings = Settings::load().context("loading settings")?;
    match command {
        Command::Config => {
            println!("{settings:#?}");
            Ok(())
        }
        Command::Fits(_) | Command::JobExec(_) | Command::JobInit(_) => Ok(()),
        Command::User(cmd) => server::admin_cli::user(&settings, cmd).await,
        Command::Project(cmd) => server::admin_cli::project(&settings, cmd).await,
        Command::Token(cmd) => server::admin_cli::token(&settings, cmd).await,
        Command::Serve => {
            let addr = match settings.listen {
                Some(a) => a,
                None => server::startup::leptos_options(&settings)?.site_addr,
            };
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            server::startup::run(listener, settings, shutdown_signal()).await
        }
    }
}
