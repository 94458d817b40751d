//! Builds the application from settings and serves it until the shutdown future resolves.

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::MatchedPath;
use axum::http::{HeaderName, HeaderValue, Request, header};
use ch_api::{SharedAccountService, SharedJobService};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeader;
use tower_http::trace::TraceLayer;
use tracing::{info, info_span, warn};

use crate::archive::Archive;
use crate::archive::audit::AuditLog;
use crate::auth::Auth;
use crate::bus::{CommitSignal, Cursor};
use crate::executor::local::LocalExecutor;
use crate::http::guard::Guard;
use crate::http::routes::RouteRules;
use crate::jobs::{Executors, Jobs, Lifecycle};
use crate::settings::Settings;
use crate::state::AppState;
use crate::store::Store;

/// The site root's files (the browser bundle, styles, public assets). `cargo xtask build`
/// writes Brotli and gzip copies beside the bundle (`x.wasm.br`, `x.wasm.gz`); a client that
/// accepts one gets it (the 10.4 MB release WASM is 1.7 MB in Brotli), and caches are
/// told the answer varies with `Accept-Encoding`.
fn static_files(site_root: &str) -> SetResponseHeader<ServeDir, HeaderValue> {
    let files = ServeDir::new(site_root).precompressed_br().precompressed_gzip();
    SetResponseHeader::appending(files, header::VARY, HeaderValue::from_static("accept-encoding"))
}

/// Reads the Leptos site file named in the settings (defaults when it is absent).
pub fn leptos_options(settings: &Settings) -> anyhow::Result<leptos::config::LeptosOptions> {
    let path = settings
        .leptos_toml
        .exists()
        .then(|| settings.leptos_toml.to_string_lossy().into_owned());
    let conf = leptos::config::get_configuration(path.as_deref()).context("reading the Leptos site file")?;
    Ok(conf.leptos_options)
}

/// Runs the server on `listener` until `shutdown` resolves, then stops accepting, stops the
/// executors (running jobs go on without the server), flushes the event bus and closes the
/// database.
pub async fn run(
    listener: TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let leptos_options = leptos_options(&settings)?;
    tokio::fs::create_dir_all(&settings.data_dir)
        .await
        .with_context(|| format!("creating data dir {}", settings.data_dir.display()))?;
    let store = Store::connect(&settings.database_url())
        .await
        .context("opening the database")?;

    let token = CancellationToken::new();
    let tasks = TaskTracker::new();
    let signal = CommitSignal::default();

    if store.backend() == crate::store::Backend::Postgres {
        tasks.spawn(crate::bus::listen_for_commits(
            settings.database_url(),
            signal.clone(),
            token.clone(),
        ));
    }

    let lifecycle = Lifecycle::new(store.clone(), signal.clone());
    let logs_dir = settings.data_dir.join("jobs");
    let (mut confinement, launcher) = job_confinement(&settings).await?;
    // Per-job process limits: a pids cgroup each, where this host lets the server make them.
    let pids_parent = launcher
        .as_ref()
        .and(settings.executor.max_processes)
        .and_then(|_| crate::executor::local::cgroup::parent());
    if let Some(parent) = &pids_parent {
        info!(parent = %parent.display(), "each job gets its own pids cgroup");
    }
    confinement.protections.insert(
        crate::executor::local::confine::PROCESS_COUNT_PER_JOB.into(),
        pids_parent.is_some(),
    );
    if confinement.is_active() {
        info!(status = %confinement.status, detail = %confinement.detail, "job processes are confined (Landlock)");
        let missing = confinement.missing();
        if !missing.is_empty() {
            warn!(missing = %missing.join(", "), detail = %confinement.detail, "this kernel does not enforce every job protection");
        }
    } else {
        warn!(status = %confinement.status, detail = %confinement.detail, "job processes are NOT confined");
    }
    let executor = Arc::new(LocalExecutor::new(
        lifecycle.clone(),
        settings.executor.clone(),
        logs_dir,
        launcher,
        pids_parent,
    ));
    let mut all: Vec<Arc<dyn crate::jobs::Executor>> = vec![executor];
    // Submissions are checked against these: a Slurm system's limits include its partition's.
    let mut catalog = settings.systems.clone();
    // The Slurm executor runs only where a system of the catalogue names it.
    let uses_slurm = settings
        .systems
        .0
        .values()
        .any(|s| s.executor.as_deref() == Some(crate::executor::slurm::EXECUTOR_NAME));
    if uses_slurm {
        let slurm = crate::executor::slurm::SlurmExecutor::start(
            lifecycle.clone(),
            settings.slurm.clone(),
            &settings.data_dir,
            &settings.systems,
        )
        .await
        .context("starting the Slurm executor")?;
        for (name, system) in &slurm.systems().0 {
            catalog.0.insert(name.clone(), system.clone());
        }
        all.push(Arc::new(slurm));
    }
    let executors = Executors::new(all);
    // The log's end before recovery: cancels recorded from here on reach the executors
    // through the log (those recorded earlier, recovery finds in the jobs' status), and a
    // broker relay's first run starts here.
    let log_at_start = store.latest_offset().await.context("reading the event log")?;
    let executor_stopped = CancellationToken::new();
    for executor in executors.iter() {
        executor
            .recover()
            .await
            .with_context(|| format!("recovering jobs of the previous run ({})", executor.name()))?;
        tasks.spawn(executor.clone().run(executor_stopped.clone()));
    }
    tasks.spawn(crate::jobs::time_limit::run(
        lifecycle.clone(),
        executors.clone(),
        executor_stopped.clone(),
    ));
    tasks.spawn(crate::bus::run_relay(
        store.clone(),
        Arc::new(crate::jobs::cancel::CancelSink::new(executors.clone())),
        signal.clone(),
        // A cancel recorded while no server ran, recovery finds in the job's status.
        Cursor::From(log_at_start),
        executor_stopped.clone(),
    ));
    if let Some(rabbitmq) = settings.brokers.rabbitmq.clone() {
        // The first time it runs, the broker gets what is committed from this start on
        // (recovery's events included); afterwards it resumes after its saved cursor, whatever
        // happened while it was off.
        info!("relaying the event log to RabbitMQ");
        tasks.spawn(crate::bus::run_relay(
            store.clone(),
            Arc::new(crate::bus::amqp::RabbitMqSink::new(rabbitmq)),
            signal.clone(),
            Cursor::Saved { first: log_at_start },
            token.clone(),
        ));
    }
    if let Some(kafka) = settings.brokers.kafka.clone() {
        info!(bootstrap = kafka.bootstrap_servers, "relaying the event log to Kafka");
        let sink = Arc::new(crate::bus::kafka::KafkaSink::new(kafka).context("configuring the Kafka producer")?);
        // Topics are created now when the broker answers; otherwise before the first batch
        // (the relay retries while the broker is away, and start-up does not wait for it).
        let (creating, stop) = (sink.clone(), token.clone());
        tasks.spawn(async move {
            tokio::select! {
                result = creating.create_topics() => if let Err(e) = result {
                    warn!(error = %e, "creating the Kafka topics failed; retried before the first batch");
                },
                () = stop.cancelled() => {}
            }
        });
        tasks.spawn(crate::bus::run_relay(
            store.clone(),
            sink,
            signal.clone(),
            Cursor::Saved { first: log_at_start },
            token.clone(),
        ));
    }

    let auth = Auth::open(store.clone(), &settings).await.context("opening accounts")?;
    // Notifications must not miss a job's end: a saved cursor, so what ended while the server
    // was down is notified after the restart (the first run starts at this start's log end).
    let delivery_wake = Arc::new(tokio::sync::Notify::new());
    tasks.spawn(crate::bus::run_relay(
        store.clone(),
        Arc::new(crate::notify::Notifier::new(
            store.clone(),
            signal.clone(),
            settings.notify.smtp.is_some(),
            delivery_wake.clone(),
            auth.clone(),
        )),
        signal.clone(),
        Cursor::Saved { first: log_at_start },
        token.clone(),
    ));

    let addr = listener.local_addr()?;
    if let Some(link) = auth.first_start().await.context("creating the first account")? {
        let host = match addr.ip() {
            ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        // Printed, not logged: the one-time link is a credential (as Jupyter's token URL).
        println!(
            "\n  First start: an 'admin' account was created. Sign in once with this link\n  (valid for {} h, single use; then set a password under Account):\n\n    http://{host}:{}{link}\n",
            settings.auth.login_link_ttl_secs / 3600,
            addr.port()
        );
    }
    let email = match settings.notify.smtp.clone() {
        Some(smtp) => {
            let public_url = settings
                .notify
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{addr}"));
            let mailer = crate::notify::email::Mailer::new(&smtp, &public_url, auth.clone())
                .context("configuring e-mail ([notify.smtp])")?;
            Some((Arc::new(mailer), smtp))
        }
        None => None,
    };
    tasks.spawn(
        crate::notify::Deliverer {
            store: store.clone(),
            email,
            webhooks: settings.notify.webhooks.clone(),
            wake: delivery_wake,
            executors: executors.clone(),
        }
        .run(token.clone()),
    );
    let templates = ch_api::TemplateCatalog {
        allow_commands: settings.executor.allow_commands,
        templates: settings.executor.templates.clone(),
    };
    let jobs = Jobs::new(
        lifecycle,
        catalog,
        executors.clone(),
        auth.site(),
        templates,
        auth.projects().clone(),
    );
    let audit_stopped = CancellationToken::new();
    let (audit, audit_task) = AuditLog::start(store.clone(), audit_stopped.clone());
    let archive = Archive::open(
        settings.archive.clone(),
        &settings.data_dir,
        store.clone(),
        audit,
        auth.site(),
        executors,
    )
    .await
    .context("opening the archive cache")?;
    let archive: crate::archive::service::SharedArchive = Arc::new(archive);
    let max_body = settings.max_body_bytes;
    let api = crate::http::router(max_body, &settings.archive);
    let gateway = crate::gateway::Gateway::start(
        store.clone(),
        jobs.clone(),
        auth.clone(),
        settings.gateway.clone(),
        signal.clone(),
        &tasks,
        token.clone(),
    )
    .await
    .context("opening the real-time gateway")?;
    let grace = Duration::from_millis(settings.shutdown_grace_ms);
    let state = AppState {
        leptos_options: leptos_options.clone(),
        gateway,
        store: store.clone(),
        jobs: jobs.clone(),
        regions: Arc::new(crate::regions::Regions::new(
            store.clone(),
            jobs.clone(),
            archive.clone(),
        )),
        notifications: Arc::new(crate::notify::Inbox::new(
            store.clone(),
            signal.clone(),
            auth.clone(),
            settings.notify.smtp.is_some(),
            settings.notify.webhooks.allow_private,
        )),
        confinement: Arc::new(confinement),
        archive,
        auth: auth.clone(),
        settings: Arc::new(settings),
        shutdown: token.clone(),
    };

    let service: SharedJobService = Arc::new(jobs);
    let accounts: SharedAccountService = Arc::new(auth.clone());
    let notifications = state.notifications.clone();
    let routes = generate_route_list(app::App);
    let rules = RouteRules::new(
        routes.iter().map(|r| r.path()),
        leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path),
    );
    let guard = Guard::new(auth, rules, addr);
    let site_root = leptos_options.site_root.to_string();
    let correlation = HeaderName::from_static(crate::http::CORRELATION_HEADER);
    let router = Router::new()
        .merge(api)
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(service.clone());
                provide_context(accounts.clone());
                provide_context(notifications.clone());
                // The nonce the guard put in this response's Content-Security-Policy.
                let nonce = leptos::prelude::use_context::<axum::http::request::Parts>()
                    .and_then(|p| p.extensions.get::<crate::http::guard::CspNonce>().cloned());
                if let Some(n) = nonce {
                    provide_context(leptos::nonce::Nonce::from_value(n.0));
                }
            },
            {
                let options = leptos_options.clone();
                move || app::shell(options.clone())
            },
        )
        .fallback_service(static_files(&site_root))
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(guard, crate::http::guard::guard))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or(req.uri().path(), |m| m.as_str());
            let correlation_id = req
                .headers()
                .get(crate::http::CORRELATION_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            info_span!("http", method = %req.method(), route, correlation_id)
        }))
        .layer(PropagateRequestIdLayer::new(correlation.clone()))
        .layer(SetRequestIdLayer::new(correlation, MakeRequestUuid));

    info!(%addr, "listening on http://{addr}");
    let server_token = token.clone();
    let (draining, drain_started) = tokio::sync::oneshot::channel::<()>();
    let serve = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        info!("shutting down");
        server_token.cancel();
        let _ = draining.send(());
    })
    .into_future();
    // Connections get `grace` to finish once shutdown starts; a client that holds one open
    // (a stream it never closes) is cut rather than keeping the process alive.
    let drain_deadline = async move {
        match drain_started.await {
            Ok(()) => tokio::time::sleep(grace).await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = serve => served?,
        () = drain_deadline => warn!(?grace, "connections still open at the shutdown deadline; cut"),
    }

    // In-flight requests are done; stop watching jobs (they go on running: the next start
    // re-attaches to them), then let the relays drain the event log.
    executor_stopped.cancel();
    token.cancel();
    tasks.close();
    if tokio::time::timeout(grace, tasks.wait()).await.is_err() {
        warn!(
            ?grace,
            "background tasks still running at the shutdown deadline; left behind"
        );
    }
    audit_stopped.cancel();
    if tokio::time::timeout(grace, audit_task).await.is_err() {
        warn!(?grace, "the audit writer did not finish by the shutdown deadline");
    }
    store.close().await;
    info!("stopped");
    Ok(())
}

/// What confinement jobs get, and the launcher that applies it (`None`: jobs run unconfined).
/// The launcher is `executor.launcher`, else this executable when it is `cosmic-horizons`.
/// Jobs run as `executor.run_as`, or `nobody` when this server is root. Fails when that user
/// does not exist, or when `executor.require_isolation` is set and a protection is missing.
async fn job_confinement(
    settings: &Settings,
) -> anyhow::Result<(
    crate::executor::local::confine::Confinement,
    Option<crate::executor::local::confine::Launcher>,
)> {
    use crate::executor::local::confine::{Confinement, Launcher, NETWORK, RunAs, probe};
    let x = &settings.executor;
    if !x.confine {
        anyhow::ensure!(
            !x.require_isolation,
            "executor.require_isolation is set but executor.confine is off"
        );
        return Ok((Confinement::disabled(), None));
    }
    let root = rustix::process::geteuid().is_root();
    let run_as = match &x.run_as {
        Some(name) => {
            anyhow::ensure!(
                root,
                "executor.run_as needs a server running as root; jobs already run as this server's unprivileged user"
            );
            Some(RunAs::resolve(name)?)
        }
        None if root => match RunAs::resolve("nobody") {
            Ok(user) => Some(user),
            Err(e) => {
                warn!(error = %e, "the server runs as root and no `nobody` user exists: jobs run as root (set executor.run_as)");
                None
            }
        },
        None => None,
    };
    let program = x.launcher.clone().or_else(|| {
        std::env::current_exe().ok().filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("cosmic-horizons"))
        })
    });
    let confinement_and_launcher = match program {
        None => (
            Confinement::none("no launcher: set executor.launcher to the cosmic-horizons binary".into()),
            None,
        ),
        Some(program) => {
            let launcher = Launcher::new(program, x, run_as);
            let scratch = settings.data_dir.join("jobs").join(".probe");
            let confinement = probe(&launcher.program, &launcher.template, &scratch).await;
            let active = confinement.is_active();
            (confinement, active.then_some(launcher))
        }
    };
    if x.require_isolation {
        let c = &confinement_and_launcher.0;
        // A site that allows ports chose the host's network for its jobs.
        let missing: Vec<&str> = c
            .missing()
            .into_iter()
            .filter(|p| *p != NETWORK || x.allow_connect_ports.is_empty())
            .collect();
        anyhow::ensure!(
            c.is_active() && missing.is_empty(),
            "executor.require_isolation: jobs would run without {} ({}; {})",
            if missing.is_empty() {
                "confinement".to_owned()
            } else {
                missing.join(", ")
            },
            c.status,
            c.detail
        );
    }
    Ok(confinement_and_launcher)
}
