//! The worker: claims due jobs under a lease, runs their handlers, records how each attempt
//! ended, takes back jobs whose worker died, and (its beat) enqueues periodic jobs.
//!
//! One worker runs up to `WORKER_CONCURRENCY` jobs at once on the current tokio runtime; any
//! number of workers, in any number of processes, share one queue. A job runs at least once:
//! a worker that dies mid-job leaves a lease that expires, and the job runs again — so
//! handlers should be idempotent (or check what they already did).
//!
//! Shutdown ([`WorkerHandle::shutdown`]) stops claiming, lets running jobs finish within
//! `WORKER_SHUTDOWN_GRACE`, then cancels the rest and puts them back in the queue, as if they
//! had not started.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, TimeDelta};
use rand::Rng;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::context::{JobContext, JobInfo, JobServices};
use super::error::{truncate, JobError, MAX_ERROR_LEN};
use super::registry::JobRegistry;
use super::schedule::Scheduler;
use super::store::{self, JobRecord};
use super::DEFAULT_MAX_ATTEMPTS;
use crate::config::JobsConfig;
use crate::error::ApiResult;
use crate::metrics::JobLabels;

/// Expired leases taken back per pass.
const RECOVERY_BATCH: i64 = 100;

/// How a worker behaves (from `WORKER_*`).
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// Jobs run at once.
    pub concurrency: usize,
    /// How often an idle worker looks for due jobs.
    pub poll_interval: Duration,
    /// How long a claim holds without a heartbeat.
    pub lease: Duration,
    /// Attempts before a job is dead when neither the job nor its handler says.
    pub max_attempts: u32,
    /// How long running jobs may finish at shutdown.
    pub shutdown_grace: Duration,
    /// The delay before the first retry; doubled for each further one.
    pub retry_base: Duration,
    /// The longest delay between attempts.
    pub retry_max: Duration,
    /// Whether this worker's beat enqueues periodic jobs.
    pub beat: bool,
}

impl WorkerSettings {
    /// The settings `WORKER_*` describe.
    pub fn from_config(config: &JobsConfig) -> Self {
        Self {
            concurrency: config.concurrency.max(1),
            poll_interval: config.poll_interval,
            lease: config.lease,
            max_attempts: config.max_attempts.max(1),
            shutdown_grace: config.shutdown_grace,
            retry_base: config.retry_base,
            retry_max: config.retry_max,
            beat: config.beat,
        }
    }
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(300),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            shutdown_grace: Duration::from_secs(20),
            retry_base: Duration::from_secs(10),
            retry_max: Duration::from_secs(3600),
            beat: true,
        }
    }
}

/// How attempts ended, counted by [`Worker::run_until_idle`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Attempts that succeeded.
    pub succeeded: usize,
    /// Attempts that failed and will be retried.
    pub retried: usize,
    /// Attempts that failed for good.
    pub dead: usize,
    /// Attempts whose claim was lost before their end could be recorded.
    pub lost: usize,
}

impl RunSummary {
    /// Attempts run.
    pub fn total(&self) -> usize {
        self.succeeded + self.retried + self.dead + self.lost
    }

    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Succeeded => self.succeeded += 1,
            Outcome::Retried => self.retried += 1,
            Outcome::Dead => self.dead += 1,
            Outcome::Lost => self.lost += 1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Succeeded,
    Retried,
    Dead,
    Lost,
}

struct Inner {
    id: String,
    services: JobServices,
    registry: Arc<JobRegistry>,
    settings: WorkerSettings,
    kinds: Vec<&'static str>,
    /// Claims being run, to put back in the queue if shutdown cancels them.
    running: Mutex<HashMap<i64, JobRecord>>,
}

/// Runs jobs. Cheap to clone; every clone is the same worker (one id, one set of claims).
#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.inner.id)
            .field("kinds", &self.inner.kinds)
            .finish_non_exhaustive()
    }
}

/// A name for this worker: host, process and a random suffix (≤ 64 characters).
fn worker_id() -> String {
    let host = hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "host".to_owned());
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let tail = format!(":{}:{suffix}", std::process::id());
    let room = 64usize.saturating_sub(tail.len());
    let host: String = host.chars().take(room).collect();
    format!("{host}{tail}")
}

impl Worker {
    /// A worker running `registry`'s handlers with `services`.
    pub fn new(
        services: JobServices,
        registry: Arc<JobRegistry>,
        settings: WorkerSettings,
    ) -> Self {
        let kinds = registry.kinds();
        Self {
            inner: Arc::new(Inner {
                id: worker_id(),
                services,
                registry,
                settings,
                kinds,
                running: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// This worker's id, stored in `jobs.locked_by` of the jobs it claims.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// Starts the worker (and its beat, if enabled) on the current tokio runtime.
    pub fn spawn(&self) -> WorkerHandle {
        let (stop, stopped) = watch::channel(false);
        let main = tokio::spawn(self.clone().run(stopped.clone()));
        let beat = self
            .inner
            .settings
            .beat
            .then(|| tokio::spawn(self.clone().beat(stopped)));
        tracing::info!(
            worker = %self.inner.id,
            concurrency = self.inner.settings.concurrency,
            kinds = ?self.inner.kinds,
            beat = self.inner.settings.beat,
            "job worker started"
        );
        WorkerHandle {
            stop: Stopper(stop),
            main: Some(main),
            beat,
        }
    }

    /// Claims and runs due jobs, batch after batch, until none is due (tests, tools). Does
    /// not take back expired leases ([`Worker::recover_expired`]) or run the beat. A job
    /// that fails may run again in the same call once its retry is due.
    pub async fn run_until_idle(&self) -> ApiResult<RunSummary> {
        let mut summary = RunSummary::default();
        loop {
            let batch = self.run_batch().await?;
            if batch.total() == 0 {
                return Ok(summary);
            }
            summary.succeeded += batch.succeeded;
            summary.retried += batch.retried;
            summary.dead += batch.dead;
            summary.lost += batch.lost;
        }
    }

    /// Claims one batch of due jobs (up to the concurrency) and runs it to the end: each due
    /// job runs at most once.
    pub async fn run_batch(&self) -> ApiResult<RunSummary> {
        let mut summary = RunSummary::default();
        let mut set = JoinSet::new();
        for job in self.claim(self.inner.settings.concurrency).await? {
            set.spawn(self.clone().execute(job));
        }
        while let Some(outcome) = set.join_next().await {
            summary.add(outcome.unwrap_or(Outcome::Lost));
        }
        Ok(summary)
    }

    /// Takes back jobs whose lease expired: queued to run again, or dead when out of
    /// attempts. Returns how many were taken back.
    pub async fn recover_expired(&self) -> ApiResult<usize> {
        let worker = self.clone();
        self.inner
            .services
            .db
            .run(move |conn| {
                let now = crate::time::now();
                let mut recovered = 0;
                for job in store::expired_leases(conn, now, RECOVERY_BATCH)? {
                    let dead = job.attempts
                        >= i32::try_from(worker.max_attempts(&job)).unwrap_or(i32::MAX);
                    if store::recover(conn, &job, dead, now)? {
                        recovered += 1;
                        tracing::warn!(
                            job = job.id,
                            kind = %job.kind,
                            attempt = job.attempts,
                            lost_worker = job.locked_by.as_deref().unwrap_or(""),
                            dead,
                            "took back a job whose lease expired"
                        );
                        if dead {
                            worker
                                .inner
                                .services
                                .metrics
                                .jobs_dead
                                .get_or_create(&JobLabels {
                                    kind: job.kind.clone(),
                                })
                                .inc();
                        }
                    }
                }
                Ok(recovered)
            })
            .await
    }

    /// The attempt limit of `job`: its own, else its handler's, else the worker's.
    fn max_attempts(&self, job: &JobRecord) -> u32 {
        job.max_attempts
            .and_then(|n| u32::try_from(n).ok())
            .or_else(|| self.inner.registry.max_attempts(&job.kind))
            .unwrap_or(self.inner.settings.max_attempts)
            .max(1)
    }

    /// The delay before the next attempt after failed attempt number `attempt` (from 1):
    /// `retry_base × 2^(attempt − 1)`, plus up to 20 % jitter so failures of many jobs at
    /// once do not retry in lockstep, at most `retry_max`.
    fn backoff(&self, attempt: u32) -> Duration {
        let settings = &self.inner.settings;
        let exponent = attempt.saturating_sub(1).min(30);
        let base = settings
            .retry_base
            .saturating_mul(1u32 << exponent)
            .min(settings.retry_max);
        let jitter = rand::rng().random_range(0.0..0.2);
        base.mul_f64(1.0 + jitter).min(settings.retry_max)
    }

    async fn claim(&self, limit: usize) -> ApiResult<Vec<JobRecord>> {
        if self.inner.kinds.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let inner = self.inner.clone();
        let jobs = self
            .inner
            .services
            .db
            .run(move |conn| {
                Ok(store::claim(
                    conn,
                    &inner.id,
                    &inner.kinds,
                    limit,
                    inner.settings.lease,
                    crate::time::now(),
                )?)
            })
            .await?;
        let mut running = self
            .inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for job in &jobs {
            running.insert(job.id, job.clone());
        }
        Ok(jobs)
    }

    /// Runs one claimed job and records how the attempt ended.
    async fn execute(self, job: JobRecord) -> Outcome {
        let labels = JobLabels {
            kind: job.kind.clone(),
        };
        let attempt = u32::try_from(job.attempts).unwrap_or(1).max(1);
        let max_attempts = self.max_attempts(&job);
        let started = Instant::now();
        let result = self.call_handler(&job, attempt, max_attempts).await;
        let metrics = &self.inner.services.metrics;
        metrics
            .jobs_duration
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());

        let outcome = match result {
            Ok(()) => {
                metrics.jobs_succeeded.get_or_create(&labels).inc();
                let recorded = self.record(&job, None).await;
                tracing::info!(
                    job = job.id,
                    kind = %job.kind,
                    attempt,
                    ms = started.elapsed().as_millis(),
                    "job succeeded"
                );
                if recorded {
                    Outcome::Succeeded
                } else {
                    Outcome::Lost
                }
            }
            Err(err) => {
                metrics.jobs_failed.get_or_create(&labels).inc();
                let message = truncate(err.message(), MAX_ERROR_LEN);
                let retry_at = (!err.is_permanent() && attempt < max_attempts).then(|| {
                    let delay = err
                        .requested_delay()
                        .unwrap_or_else(|| self.backoff(attempt));
                    crate::time::now() + TimeDelta::from_std(delay).unwrap_or(TimeDelta::days(1))
                });
                let recorded = self.record(&job, Some((&message, retry_at))).await;
                match retry_at {
                    Some(at) => {
                        tracing::warn!(
                            job = job.id,
                            kind = %job.kind,
                            attempt,
                            max_attempts,
                            retry_at = %crate::time::utc(at),
                            error = %message,
                            "job failed; will retry"
                        );
                        if recorded {
                            Outcome::Retried
                        } else {
                            Outcome::Lost
                        }
                    }
                    None => {
                        metrics.jobs_dead.get_or_create(&labels).inc();
                        tracing::error!(
                            job = job.id,
                            kind = %job.kind,
                            attempt,
                            max_attempts,
                            permanent = err.is_permanent(),
                            error = %message,
                            "job failed for good (dead)"
                        );
                        if recorded {
                            Outcome::Dead
                        } else {
                            Outcome::Lost
                        }
                    }
                }
            }
        };
        self.inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&job.id);
        outcome
    }

    /// Runs the handler in its own task (so a panic is a failed attempt, not a dead
    /// worker), within its timeout.
    async fn call_handler(
        &self,
        job: &JobRecord,
        attempt: u32,
        max_attempts: u32,
    ) -> Result<(), JobError> {
        let Some(handler) = self.inner.registry.handler(&job.kind) else {
            return Err(JobError::permanent(format!(
                "no handler for kind \"{}\"",
                job.kind
            )));
        };
        let info = JobInfo {
            id: job.id,
            kind: job.kind.clone(),
            attempt,
            max_attempts,
            created_at: job.created_at,
            run_at: job.run_at,
            worker: self.inner.id.clone(),
        };
        let ctx = JobContext::new(&self.inner.services, self.inner.registry.clone(), info);
        let future = (handler.run)(ctx, &job.payload)?;
        let mut task = AbortOnDrop(tokio::spawn(future));
        match tokio::time::timeout(handler.timeout, &mut task.0).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) if join.is_panic() => Err(JobError::retry(format!(
                "the handler panicked: {}",
                panic_message(&*join.into_panic())
            ))),
            Ok(Err(join)) => Err(JobError::retry(format!(
                "the handler was cancelled: {join}"
            ))),
            Err(_) => Err(JobError::retry(format!(
                "timed out after {}",
                humantime::format_duration(handler.timeout)
            ))),
        }
    }

    /// Records the end of an attempt (`failure` = message and retry time, or success),
    /// trying a few times through a database blip. `false` when the claim was lost or the
    /// database stayed unreachable (the lease then expires and the job runs again).
    async fn record(
        &self,
        job: &JobRecord,
        failure: Option<(&str, Option<NaiveDateTime>)>,
    ) -> bool {
        let failure = failure.map(|(message, at)| (message.to_owned(), at));
        for attempt in 1..=3u32 {
            let claim = job.clone();
            let failure = failure.clone();
            let worker = self.inner.id.clone();
            let result = self
                .inner
                .services
                .db
                .run(move |conn| {
                    let now = crate::time::now();
                    Ok(match &failure {
                        None => store::complete(conn, &claim, &worker, now)?,
                        Some((message, at)) => {
                            store::fail(conn, &claim, &worker, message, *at, now)?
                        }
                    })
                })
                .await;
            match result {
                Ok(true) => return true,
                Ok(false) => {
                    tracing::warn!(
                        job = job.id,
                        kind = %job.kind,
                        "the job's lease was lost before its end could be recorded; another worker took it back"
                    );
                    return false;
                }
                Err(err) if attempt < 3 => {
                    tracing::warn!(job = job.id, error = %err, "recording a job's end failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500) * attempt).await;
                }
                Err(err) => {
                    tracing::error!(job = job.id, error = %err, "could not record a job's end; it will run again when its lease expires");
                }
            }
        }
        false
    }

    /// The main loop: recover, claim, run, wait; then the graceful part of shutdown.
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let settings = self.inner.settings.clone();
        let recovery_every =
            (settings.lease / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
        let (heartbeat_done, heartbeat_stop) = watch::channel(false);
        let heartbeat = tokio::spawn(self.clone().heartbeat(heartbeat_stop));
        let mut tasks: JoinSet<Outcome> = JoinSet::new();
        let mut failures = 0u32;
        let mut next_recovery = Instant::now();
        let mut stopping = *stop.borrow();

        while !stopping {
            while tasks.try_join_next().is_some() {}
            if Instant::now() >= next_recovery {
                if let Err(err) = self.recover_expired().await {
                    tracing::warn!(error = %err, "taking back expired job leases failed");
                }
                next_recovery = Instant::now() + recovery_every;
            }
            let free = settings.concurrency.saturating_sub(tasks.len());
            let mut busy = false;
            if free > 0 {
                match self.claim(free).await {
                    Ok(jobs) => {
                        failures = 0;
                        busy = jobs.len() == free;
                        for job in jobs {
                            tasks.spawn(self.clone().execute(job));
                        }
                    }
                    Err(err) => {
                        failures = failures.saturating_add(1);
                        tracing::warn!(error = %err, "claiming jobs failed");
                    }
                }
            }
            if busy {
                // A full batch: more may be due; claim again as soon as a slot frees.
                if tasks.len() < settings.concurrency {
                    continue;
                }
            }
            // Back off while the database fails, up to 30 s.
            let pause = settings
                .poll_interval
                .saturating_mul(1 << failures.min(5))
                .min(Duration::from_secs(30).max(settings.poll_interval));
            tokio::select! {
                changed = stop.changed() => {
                    stopping = changed.is_err() || *stop.borrow();
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }

        self.drain(tasks).await;
        let _ = heartbeat_done.send(true);
        let _ = heartbeat.await;
        tracing::info!(worker = %self.inner.id, "job worker stopped");
    }

    /// Lets running jobs finish within the grace period, then cancels the rest and puts
    /// them back in the queue.
    async fn drain(&self, mut tasks: JoinSet<Outcome>) {
        if tasks.is_empty() {
            return;
        }
        let grace = self.inner.settings.shutdown_grace;
        tracing::info!(running = tasks.len(), grace = %humantime::format_duration(grace), "waiting for running jobs to finish");
        let finished =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} })
                .await
                .is_ok();
        if finished {
            return;
        }
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        let unfinished: Vec<JobRecord> = self
            .inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .map(|(_, job)| job)
            .collect();
        let worker = self.inner.id.clone();
        let released = self
            .inner
            .services
            .db
            .run(move |conn| {
                let now = crate::time::now();
                let mut released = Vec::new();
                for job in &unfinished {
                    if store::release(conn, job, &worker, now)? {
                        released.push(job.id);
                    }
                }
                Ok(released)
            })
            .await;
        match released {
            Ok(ids) => {
                tracing::warn!(
                    jobs = ?ids,
                    "shutdown grace ran out; put unfinished jobs back in the queue"
                );
            }
            Err(err) => {
                tracing::error!(
                    error = %err,
                    "could not put unfinished jobs back; they run again when their lease expires"
                );
            }
        }
    }

    /// Extends the leases of this worker's running jobs every third of a lease.
    async fn heartbeat(self, mut done: watch::Receiver<bool>) {
        let lease = self.inner.settings.lease;
        let mut every = tokio::time::interval((lease / 3).max(Duration::from_millis(100)));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            tokio::select! {
                _ = every.tick() => {}
                changed = done.changed() => {
                    if changed.is_err() || *done.borrow() {
                        return;
                    }
                }
            }
            let ids: Vec<i64> = self
                .inner
                .running
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .keys()
                .copied()
                .collect();
            if ids.is_empty() {
                continue;
            }
            let worker = self.inner.id.clone();
            let result = self
                .inner
                .services
                .db
                .run(move |conn| {
                    Ok(store::extend_leases(
                        conn,
                        &worker,
                        &ids,
                        lease,
                        crate::time::now(),
                    )?)
                })
                .await;
            if let Err(err) = result {
                tracing::warn!(error = %err, "extending job leases failed");
            }
        }
    }

    /// The beat: enqueues each periodic job once per period, checking every second (or every
    /// poll interval, if shorter).
    async fn beat(self, mut stop: watch::Receiver<bool>) {
        if self.inner.registry.periodic_jobs().is_empty() {
            return;
        }
        let scheduler = Arc::new(Mutex::new(Scheduler::new(self.inner.registry.clone())));
        let mut every = tokio::time::interval(
            self.inner
                .settings
                .poll_interval
                .min(Duration::from_secs(1)),
        );
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return;
                    }
                }
            }
            let scheduler = scheduler.clone();
            let result = self
                .inner
                .services
                .db
                .run(move |conn| {
                    let mut scheduler = scheduler.lock().unwrap_or_else(PoisonError::into_inner);
                    Ok(scheduler.tick(conn, crate::time::now())?)
                })
                .await;
            match result {
                Ok(done) => {
                    for (name, enqueued) in done {
                        if let super::Enqueued::Created(id) = enqueued {
                            tracing::info!(periodic = %name, job = id, "enqueued a periodic job");
                        }
                    }
                }
                Err(err) => tracing::warn!(error = %err, "enqueueing periodic jobs failed"),
            }
        }
    }
}

/// Aborts a spawned handler when the attempt is dropped (timeout, shutdown).
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

/// Tells a running worker to stop; cheap to clone (hand one to a signal listener).
#[derive(Clone, Debug)]
pub struct Stopper(watch::Sender<bool>);

impl Stopper {
    /// Starts the graceful shutdown. Idempotent.
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

/// A running worker. Dropping it stops the worker too (gracefully, without waiting).
#[derive(Debug)]
pub struct WorkerHandle {
    stop: Stopper,
    main: Option<JoinHandle<()>>,
    beat: Option<JoinHandle<()>>,
}

impl WorkerHandle {
    /// Something that can start the shutdown from elsewhere (a signal handler).
    pub fn stopper(&self) -> Stopper {
        self.stop.clone()
    }

    /// Stops claiming, lets running jobs finish within the grace period, puts the rest back
    /// in the queue, and returns when the worker is done.
    pub async fn shutdown(self) {
        self.stop.stop();
        self.join().await;
    }

    /// Waits until the worker is done (after [`Stopper::stop`]).
    pub async fn join(mut self) {
        if let Some(beat) = self.beat.take() {
            let _ = beat.await;
        }
        if let Some(main) = self.main.take() {
            if let Err(err) = main.await {
                tracing::error!(error = %err, "the job worker ended abnormally");
            }
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.stop.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_ids_fit_the_column() {
        let id = worker_id();
        assert!(id.len() <= 64, "{id}");
        assert_eq!(id.matches(':').count(), 2, "{id}");
    }
}
