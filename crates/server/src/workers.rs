//! Background job workers: in-process beside `plaza serve`, or alone as `plaza worker`.

use std::sync::Arc;

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
#[derive(Clone, Copy, Debug, Default)]
pub struct WorkerArgs {
    /// `--concurrency`, overriding `WORKER_CONCURRENCY`.
    pub concurrency: Option<usize>,
    /// `--no-beat`: leave periodic jobs to other workers.
    pub no_beat: bool,
}

/// `plaza worker`: connects (applying pending migrations like `serve`), runs a job worker
/// until SIGINT or SIGTERM, then shuts it down gracefully. Blocks; builds its own
/// multi-threaded runtime so handlers' async work uses every core.
pub fn worker(mut config: Config, args: WorkerArgs) -> anyhow::Result<()> {
    if let Some(concurrency) = args.concurrency {
        config.jobs.concurrency = concurrency.max(1);
    }
    if args.no_beat {
        config.jobs.beat = false;
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
        let handle = start(&services, registry)?;
        shutdown_signal().await;
        tracing::info!("shutting down the job worker");
        handle.shutdown().await;
        tracing::info!("stopped");
        Ok(())
    })
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
