//! Background job workers: in-process beside `plaza serve`, or alone as `plaza worker`.

use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::HttpServer;
use anyhow::Context;
use plaza_kernel::jobs::{JobRegistry, JobServices, Worker, WorkerHandle, WorkerSettings};
use plaza_kernel::{Config, Services};

/// Starts a worker (and its beat) for `services` on the current runtime.
pub(crate) fn start(
    services: &Services,
    registry: Arc<JobRegistry>,
) -> anyhow::Result<WorkerHandle> {
    let job_services = JobServices::from_services(services)?;
    let settings = WorkerSettings::from_config(&services.config.jobs);
    tracing::info!(
        mailer = job_services.mailer.backend_name(),
        "starting the job worker"
    );
    Ok(Worker::new(job_services, registry, settings).spawn())
}

/// What `plaza worker` was given on the command line.
#[derive(Clone, Debug, Default)]
pub struct WorkerArgs {
    /// `--concurrency`, overriding `WORKER_CONCURRENCY`.
    pub concurrency: Option<usize>,
    /// `--no-beat`: leave periodic jobs to other workers.
    pub no_beat: bool,
    /// `--metrics-bind`, overriding `WORKER_METRICS_BIND`.
    pub metrics_bind: Option<String>,
}

/// `plaza worker`: connects (applying pending migrations like `serve`), runs a job worker
/// until SIGINT or SIGTERM, then shuts it down gracefully. With `WORKER_METRICS_BIND` it also
/// serves `/metrics` and `/health` there. Blocks; builds its own multi-threaded runtime so
/// handlers' async work uses every core.
pub fn worker(mut config: Config, args: WorkerArgs) -> anyhow::Result<()> {
    if let Some(concurrency) = args.concurrency {
        config.jobs.concurrency = concurrency.max(1);
    }
    if args.no_beat {
        config.jobs.beat = false;
    }
    if args.metrics_bind.is_some() {
        config.jobs.metrics_bind = args.metrics_bind;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("plaza-worker")
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let services = crate::prepare(config).await?;
        let registry = Arc::new(crate::job_registry());
        registry.check()?;
        let metrics = match &services.config.jobs.metrics_bind {
            Some(bind) => Some(serve_metrics(&services, bind)?),
            None => None,
        };
        let handle = start(&services, registry)?;
        shutdown_signal().await;
        tracing::info!("shutting down the job worker");
        handle.shutdown().await;
        if let Some(metrics) = metrics {
            metrics.stop(true).await;
        }
        tracing::info!("stopped");
        Ok(())
    })
}

/// Serves `/metrics` and `/health` for a worker that serves nothing else, on a thread of its
/// own (actix runs its own system).
fn serve_metrics(services: &Services, bind: &str) -> anyhow::Result<ServerHandle> {
    let listener = std::net::TcpListener::bind(bind)
        .with_context(|| format!("WORKER_METRICS_BIND: cannot listen on {bind}"))?;
    let addr = listener.local_addr()?;
    let services = services.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("plaza-worker-metrics".into())
        .spawn(move || {
            actix_rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    plaza_kernel::http::app(&services, |cfg| {
                        plaza_core::configure_ops(cfg);
                        crate::ops::configure(cfg);
                    })
                })
                .workers(1)
                .disable_signals()
                .shutdown_timeout(1)
                .listen(listener);
                match server {
                    Ok(server) => {
                        let running = server.run();
                        let _ = tx.send(Ok(running.handle()));
                        let _ = running.await;
                    }
                    Err(err) => {
                        let _ = tx.send(Err(err));
                    }
                }
            });
        })
        .context("starting the metrics thread")?;
    let handle = rx
        .recv()
        .context("the metrics server did not start")?
        .context("serving worker metrics")?;
    tracing::info!("worker metrics on http://{addr}/metrics");
    Ok(handle)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM; only Ctrl-C stops the worker");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
