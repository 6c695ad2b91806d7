//! The worker on both backends: transactions, retries with backoff, dead jobs, expired
//! leases, heartbeats, racing workers, the beat, shutdown, metrics and pruning.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use plaza_kernel::db::{self, Db, DbConn, PoolOptions};
use plaza_kernel::db_test;
use plaza_kernel::jobs::{
    self, enqueue, enqueue_raw, store, Enqueued, Job, JobContext, JobError, JobOptions,
    JobRegistry, JobServices, JobStatus, Schedule, Scheduler, Worker, WorkerSettings,
};
use plaza_kernel::schema::jobs as jobs_table;
use plaza_kernel::testing::{TestBackend, TestDb};
use plaza_kernel::{Bus, Cache, Config, Services};
use serde::{Deserialize, Serialize};

/// A fresh database with the services a worker needs (file mailer in a temporary dir).
struct Harness {
    test_db: TestDb,
    services: Services,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn new(backend: TestBackend) -> Self {
        let test_db = tokio::task::spawn_blocking(move || TestDb::create(&backend))
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let vars = HashMap::from([
            ("DATA_DIR".to_owned(), dir.path().display().to_string()),
            ("EMAIL_BACKEND".to_owned(), "file".to_owned()),
            ("DATABASE_URL".to_owned(), test_db.url.clone()),
        ]);
        let config = Config::from_vars(&vars).unwrap();
        let services = Services::from_parts(
            config,
            test_db.db.clone(),
            Cache::in_memory(),
            Bus::in_memory(),
        );
        Self {
            test_db,
            services,
            _dir: dir,
        }
    }

    fn db(&self) -> &Db {
        &self.services.db
    }

    fn worker(&self, registry: JobRegistry, settings: WorkerSettings) -> Worker {
        let services = JobServices::from_services(&self.services).unwrap();
        Worker::new(services, Arc::new(registry), settings)
    }

    /// A worker with its own pool, as on another machine.
    fn remote_worker(&self, registry: JobRegistry, settings: WorkerSettings) -> Worker {
        let options = PoolOptions {
            max_size: 6,
            timeout: Duration::from_secs(10),
        };
        let db = Db::connect(&self.test_db.url, options).unwrap();
        let mut services = self.services.clone();
        services.db = actix_web::web::Data::new(db);
        Worker::new(
            JobServices::from_services(&services).unwrap(),
            Arc::new(registry),
            settings,
        )
    }

    async fn conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConn) -> QueryResult<T> + Send + 'static,
    ) -> T {
        self.db().run(move |conn| Ok(f(conn)?)).await.unwrap()
    }

    async fn job(&self, id: i64) -> store::JobRecord {
        self.conn(move |conn| store::find(conn, id)).await
    }
}

fn quick() -> WorkerSettings {
    WorkerSettings {
        concurrency: 4,
        poll_interval: Duration::from_millis(50),
        lease: Duration::from_secs(30),
        max_attempts: 5,
        shutdown_grace: Duration::from_secs(5),
        retry_base: Duration::from_millis(200),
        retry_max: Duration::from_secs(10),
        beat: false,
    }
}

/// A job whose handler records each run and fails its first `fail_times` attempts.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Flaky {
    n: u32,
    fail_times: u32,
}

impl Job for Flaky {
    const KIND: &'static str = "test_flaky";
}

type Runs = Arc<Mutex<Vec<(u32, u32)>>>;

fn flaky_registry(runs: &Runs) -> JobRegistry {
    let mut registry = JobRegistry::empty();
    let runs = runs.clone();
    registry.handle(move |ctx: JobContext, job: Flaky| {
        let runs = runs.clone();
        async move {
            runs.lock().unwrap().push((job.n, ctx.job.attempt));
            if ctx.job.attempt <= job.fail_times {
                return Err(JobError::retry(format!("failure {}", ctx.job.attempt)));
            }
            Ok(())
        }
    });
    registry
}

fn id_of(enqueued: Enqueued) -> i64 {
    match enqueued {
        Enqueued::Created(id) => id,
        Enqueued::Duplicate => panic!("unexpected duplicate"),
    }
}

/// Waits (polling the database) until `run_at` of job `id` has passed.
async fn wait_until_due(h: &Harness, id: i64) {
    let run_at = h.job(id).await.run_at;
    loop {
        let now = plaza_kernel::time::now();
        if now >= run_at {
            return;
        }
        let left = (run_at - now).to_std().unwrap_or_default();
        tokio::time::sleep(left + Duration::from_millis(5)).await;
    }
}

db_test!(async fn a_job_enqueued_in_a_rolled_back_transaction_never_runs(backend) {
    let h = Harness::new(backend).await;
    let runs = Runs::default();
    h.conn(|conn| {
        let rolled: QueryResult<()> = db::transaction(conn, |c| {
            enqueue(c, &Flaky { n: 1, fail_times: 0 }, JobOptions::default())?;
            Err(diesel::result::Error::RollbackTransaction)
        });
        assert!(rolled.is_err());
        db::transaction(conn, |c| {
            enqueue(c, &Flaky { n: 2, fail_times: 0 }, JobOptions::default())
        })
    })
    .await;

    let summary = h
        .worker(flaky_registry(&runs), quick())
        .run_until_idle()
        .await
        .unwrap();

    assert_eq!(summary.succeeded, 1);
    assert_eq!(*runs.lock().unwrap(), vec![(2, 1)]);
    // Only the committed job was counted as enqueued.
    let metrics = h.services.metrics.encode();
    assert!(
        metrics.contains(r#"plaza_jobs_enqueued_total{kind="test_flaky"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"plaza_jobs_succeeded_total{kind="test_flaky"} 1"#),
        "{metrics}"
    );
});

db_test!(async fn a_job_failing_twice_runs_three_times_with_growing_delays(backend) {
    let h = Harness::new(backend).await;
    let runs = Runs::default();
    let id = h
        .conn(|conn| enqueue(conn, &Flaky { n: 7, fail_times: 2 }, JobOptions::default()))
        .await;
    let id = id_of(id);
    let worker = h.worker(flaky_registry(&runs), quick());

    let mut delays = Vec::new();
    for attempt in 1..=2 {
        let summary = worker.run_batch().await.unwrap();
        assert_eq!(summary.retried, 1, "attempt {attempt}");
        let job = h.job(id).await;
        assert_eq!(job.status(), JobStatus::Queued);
        assert_eq!(job.attempts, attempt);
        assert_eq!(job.last_error.as_deref(), Some(format!("failure {attempt}").as_str()));
        // The failure set run_at = updated_at + backoff in one statement.
        delays.push(job.run_at - job.updated_at);
        wait_until_due(&h, id).await;
    }
    let summary = worker.run_batch().await.unwrap();
    assert_eq!(summary.succeeded, 1);

    let job = h.job(id).await;
    assert_eq!(job.status(), JobStatus::Succeeded);
    assert_eq!(job.attempts, 3);
    assert!(job.finished_at.is_some());
    assert_eq!(*runs.lock().unwrap(), vec![(7, 1), (7, 2), (7, 3)]);
    // Exponential backoff from a 200 ms base with up to 20 % jitter.
    let base = TimeDelta::milliseconds(200);
    assert!(delays[0] >= base && delays[0] < base * 2, "{delays:?}");
    assert!(delays[1] >= base * 2, "{delays:?}");
    assert!(delays[1] > delays[0], "{delays:?}");
});

db_test!(async fn failures_end_dead_with_the_last_error_and_staff_can_retry(backend) {
    let h = Harness::new(backend).await;
    let runs = Runs::default();
    let (limited, permanent, garbage) = h
        .conn(|conn| {
            let limited = enqueue(
                conn,
                &Flaky { n: 1, fail_times: 99 },
                JobOptions::default().max_attempts(2),
            )?;
            let permanent = enqueue(conn, &Permanent, JobOptions::default())?;
            let garbage = enqueue_raw(conn, Flaky::KIND, r#"{"n":"not a number"}"#, JobOptions::default())?;
            Ok((limited, permanent, garbage))
        })
        .await;
    let (limited, permanent, garbage) = (id_of(limited), id_of(permanent), id_of(garbage));
    let mut registry = flaky_registry(&runs);
    registry.handle(|_: JobContext, _: Permanent| async {
        Err(JobError::permanent("this can never work"))
    });
    let settings = WorkerSettings {
        retry_base: Duration::from_millis(1),
        retry_max: Duration::from_millis(1),
        ..quick()
    };
    let worker = h.worker(registry, settings);

    worker.run_until_idle().await.unwrap();
    wait_until_due(&h, limited).await;
    worker.run_until_idle().await.unwrap();

    let job = h.job(limited).await;
    assert_eq!((job.status(), job.attempts), (JobStatus::Dead, 2));
    assert_eq!(job.last_error.as_deref(), Some("failure 2"));
    assert!(job.finished_at.is_some());
    let job = h.job(permanent).await;
    assert_eq!((job.status(), job.attempts), (JobStatus::Dead, 1));
    assert_eq!(job.last_error.as_deref(), Some("this can never work"));
    let job = h.job(garbage).await;
    assert_eq!((job.status(), job.attempts), (JobStatus::Dead, 1));
    assert!(
        job.last_error.as_deref().unwrap().contains("not a valid \"test_flaky\" job"),
        "{:?}",
        job.last_error
    );

    let metrics = h.services.metrics.encode();
    assert!(
        metrics.contains(r#"plaza_jobs_dead_total{kind="test_flaky"} 2"#),
        "{metrics}"
    );

    // Staff retry: a fresh set of attempts; only dead jobs qualify.
    let now = plaza_kernel::time::now();
    assert!(h.conn(move |conn| store::retry_dead(conn, limited, now)).await);
    assert!(!h.conn(move |conn| store::retry_dead(conn, limited, now)).await);
    let job = h.job(limited).await;
    assert_eq!((job.status(), job.attempts, job.finished_at), (JobStatus::Queued, 0, None));
    // It runs again (and, failing, dies again after its two attempts).
    assert!(worker.run_until_idle().await.unwrap().total() >= 1);
    assert!(h.job(limited).await.attempts >= 1);
});

#[derive(Serialize, Deserialize)]
struct Permanent;

impl Job for Permanent {
    const KIND: &'static str = "test_permanent";
}

db_test!(async fn a_job_whose_worker_died_runs_again_after_its_lease(backend) {
    let h = Harness::new(backend).await;
    let runs = Runs::default();
    let (id, last_chance) = h
        .conn(|conn| {
            let id = enqueue(conn, &Flaky { n: 1, fail_times: 0 }, JobOptions::default())?;
            let last = enqueue(
                conn,
                &Flaky { n: 2, fail_times: 0 },
                JobOptions::default().max_attempts(1),
            )?;
            Ok((id, last))
        })
        .await;
    let (id, last_chance) = (id_of(id), id_of(last_chance));

    // A worker claims both with a short lease, then dies without a word.
    let claimed = h
        .conn(|conn| {
            store::claim(
                conn,
                "dead-worker",
                &[Flaky::KIND],
                10,
                Duration::from_millis(1500),
                plaza_kernel::time::now(),
            )
        })
        .await;
    assert_eq!(claimed.len(), 2);
    let worker = h.worker(flaky_registry(&runs), quick());
    // While the lease holds, nobody else takes the jobs.
    assert_eq!(worker.recover_expired().await.unwrap(), 0);
    assert_eq!(worker.run_until_idle().await.unwrap().total(), 0);

    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(worker.recover_expired().await.unwrap(), 2);
    let summary = worker.run_until_idle().await.unwrap();
    assert_eq!(summary.succeeded, 1);

    let job = h.job(id).await;
    assert_eq!((job.status(), job.attempts), (JobStatus::Succeeded, 2));
    assert!(job.last_error.unwrap().contains("dead-worker"));
    assert_eq!(job.locked_by.as_deref(), Some(worker.id()));
    // Out of attempts when its lease expired: dead, not run again.
    let job = h.job(last_chance).await;
    assert_eq!((job.status(), job.attempts), (JobStatus::Dead, 1));
    assert_eq!(*runs.lock().unwrap(), vec![(1, 2)]);

    // The dead worker's late report changes nothing.
    let late = claimed.into_iter().find(|j| j.id == id).unwrap();
    let now = plaza_kernel::time::now();
    assert!(!h.conn(move |conn| store::complete(conn, &late, "dead-worker", now)).await);
});

#[derive(Serialize, Deserialize)]
struct Slow {
    millis: u64,
}

impl Job for Slow {
    const KIND: &'static str = "test_slow";
}

fn slow_registry(started: &Arc<tokio::sync::Notify>, runs: &Arc<Mutex<u32>>) -> JobRegistry {
    let mut registry = JobRegistry::empty();
    let (started, runs) = (started.clone(), runs.clone());
    registry.handle(move |_: JobContext, job: Slow| {
        let (started, runs) = (started.clone(), runs.clone());
        async move {
            *runs.lock().unwrap() += 1;
            started.notify_one();
            tokio::time::sleep(Duration::from_millis(job.millis)).await;
            Ok(())
        }
    });
    registry
}

db_test!(async fn a_live_worker_keeps_its_lease_on_a_long_job(backend) {
    let h = Harness::new(backend).await;
    let started = Arc::new(tokio::sync::Notify::new());
    let runs = Arc::new(Mutex::new(0));
    let id = id_of(
        h.conn(|conn| enqueue(conn, &Slow { millis: 4500 }, JobOptions::default()))
            .await,
    );
    // Heartbeats every ~670 ms keep a 2 s lease alive through a 4.5 s job.
    let settings = WorkerSettings {
        lease: Duration::from_secs(2),
        ..quick()
    };
    let handle = h.worker(slow_registry(&started, &runs), settings.clone()).spawn();
    started.notified().await;

    // Another worker keeps looking for expired leases while the job runs past its lease.
    let other = h.remote_worker(slow_registry(&started, &runs), settings);
    let mut recovered = 0;
    while h.job(id).await.status() == JobStatus::Running {
        recovered += other.recover_expired().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    handle.shutdown().await;

    assert_eq!(recovered, 0);
    assert_eq!(*runs.lock().unwrap(), 1);
    let job = h.job(id).await;
    assert_eq!((job.status(), job.attempts), (JobStatus::Succeeded, 1));
});

#[derive(Serialize, Deserialize)]
struct Count {
    n: u32,
}

impl Job for Count {
    const KIND: &'static str = "test_count";
}

db_test!(async fn two_workers_racing_run_each_of_200_jobs_exactly_once(backend) {
    let h = Harness::new(backend).await;
    h.conn(|conn| {
        db::transaction(conn, |c| {
            for n in 0..200 {
                enqueue(c, &Count { n }, JobOptions::default())?;
            }
            Ok(())
        })
    })
    .await;
    let seen: Arc<Mutex<HashMap<u32, Vec<String>>>> = Arc::default();
    let registry = || {
        let mut registry = JobRegistry::empty();
        let seen = seen.clone();
        registry.handle(move |ctx: JobContext, job: Count| {
            let seen = seen.clone();
            async move {
                // Keep claims overlapping: a little work per job.
                tokio::time::sleep(Duration::from_millis(u64::from(job.n % 3))).await;
                seen.lock().unwrap().entry(job.n).or_default().push(ctx.job.worker);
                Ok(())
            }
        });
        registry
    };
    let settings = WorkerSettings {
        poll_interval: Duration::from_millis(20),
        ..quick()
    };
    let a = h.worker(registry(), settings.clone()).spawn();
    let b = h.remote_worker(registry(), settings).spawn();

    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let done: i64 = h
            .conn(|conn| {
                jobs_table::table
                    .filter(jobs_table::status.eq("succeeded"))
                    .count()
                    .get_result(conn)
            })
            .await;
        if done == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "only {done} of 200 jobs ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.shutdown().await;
    b.shutdown().await;

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 200);
    let mut per_worker: HashMap<&str, usize> = HashMap::new();
    for runs in seen.values() {
        for w in runs {
            *per_worker.entry(w.as_str()).or_default() += 1;
        }
    }
    eprintln!("jobs per worker: {per_worker:?}");
    for (n, runs) in seen.iter() {
        assert_eq!(runs.len(), 1, "job {n} ran {} times", runs.len());
    }
    let attempts: Vec<i32> = h
        .conn(|conn| jobs_table::table.select(jobs_table::attempts).load(conn))
        .await;
    assert!(attempts.iter().all(|a| *a == 1));
    let workers: Vec<Option<String>> = h
        .conn(|conn| {
            jobs_table::table
                .select(jobs_table::locked_by)
                .distinct()
                .load(conn)
        })
        .await;
    assert!(!workers.is_empty() && workers.len() <= 2, "{workers:?}");
});

#[derive(Clone, Serialize, Deserialize)]
struct Beat {
    tag: String,
}

impl Job for Beat {
    const KIND: &'static str = "test_beat";
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

db_test!(async fn a_periodic_job_with_two_schedulers_is_enqueued_once_per_period(backend) {
    let h = Harness::new(backend).await;
    let mut registry = JobRegistry::empty();
    registry.handle(|_: JobContext, _: Beat| async { Ok(()) });
    registry.periodic("test.every_five_minutes", Schedule::every_minutes(5), &Beat { tag: "five".into() });
    registry.periodic("test.daily", Schedule::daily_at(3, 30), &Beat { tag: "daily".into() });
    registry.check().unwrap();
    let registry = Arc::new(registry);

    // Two schedulers (two worker processes) tick at the same instants, concurrently.
    let ticks = [
        "2026-11-20 10:00:01", "2026-11-20 10:02:00", "2026-11-20 10:04:59",
        "2026-11-20 10:05:00", "2026-11-20 10:09:00", "2026-11-21 03:30:00",
    ];
    let mut threads = Vec::new();
    for _ in 0..2 {
        let (db, registry) = (h.db().clone(), registry.clone());
        threads.push(std::thread::spawn(move || {
            let mut scheduler = Scheduler::new(registry);
            let mut conn = db.get().unwrap();
            let mut created = 0;
            for tick in ticks {
                for (_, result) in scheduler.tick(&mut conn, at(tick)).unwrap() {
                    if matches!(result, Enqueued::Created(_)) {
                        created += 1;
                    }
                }
            }
            created
        }));
    }
    let created: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();

    let mut keys: Vec<(String, String)> = h
        .conn(|conn| {
            jobs_table::table
                .select((jobs_table::unique_key.assume_not_null(), jobs_table::payload))
                .load(conn)
        })
        .await;
    keys.sort();
    let expected = [
        // every five minutes: 10:00, 10:05, and 03:30 the next day
        (format!("periodic:test.every_five_minutes:{}", at("2026-11-20 10:00:00").and_utc().timestamp()), "five"),
        (format!("periodic:test.every_five_minutes:{}", at("2026-11-20 10:05:00").and_utc().timestamp()), "five"),
        (format!("periodic:test.every_five_minutes:{}", at("2026-11-21 03:30:00").and_utc().timestamp()), "five"),
        // daily at 03:30: the period that began on the 20th, then the 21st's
        (format!("periodic:test.daily:{}", at("2026-11-20 03:30:00").and_utc().timestamp()), "daily"),
        (format!("periodic:test.daily:{}", at("2026-11-21 03:30:00").and_utc().timestamp()), "daily"),
    ];
    let mut expected: Vec<(String, String)> = expected
        .into_iter()
        .map(|(k, tag)| (k, format!(r#"{{"tag":"{tag}"}}"#)))
        .collect();
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(created, 5, "exactly one scheduler created each period's job");
});

db_test!(async fn unique_keys_deduplicate_until_the_job_is_pruned(backend) {
    let h = Harness::new(backend).await;
    let runs = Runs::default();
    let key = JobOptions::default().unique("flaky:1");
    let first = h
        .conn({
            let key = key.clone();
            move |conn| enqueue(conn, &Flaky { n: 1, fail_times: 0 }, key)
        })
        .await;
    let id = id_of(first);
    let again = h
        .conn({
            let key = key.clone();
            move |conn| enqueue(conn, &Flaky { n: 1, fail_times: 0 }, key)
        })
        .await;
    assert_eq!(again, Enqueued::Duplicate);
    h.worker(flaky_registry(&runs), quick()).run_until_idle().await.unwrap();
    // Still de-duplicated once it succeeded…
    let after_run = h
        .conn({
            let key = key.clone();
            move |conn| enqueue(conn, &Flaky { n: 1, fail_times: 0 }, key)
        })
        .await;
    assert_eq!(after_run, Enqueued::Duplicate);
    // …until the row is pruned.
    let later = plaza_kernel::time::now() + TimeDelta::seconds(1);
    let pruned = h
        .conn(move |conn| store::prune(conn, JobStatus::Succeeded, later, 100))
        .await;
    assert_eq!(pruned, 1);
    let gone = h.conn(move |conn| store::find(conn, id).optional()).await;
    assert!(gone.is_none());
    let fresh = h
        .conn(move |conn| enqueue(conn, &Flaky { n: 1, fail_times: 0 }, key))
        .await;
    assert!(matches!(fresh, Enqueued::Created(new) if new != id));
    assert_eq!(runs.lock().unwrap().len(), 1);
});

db_test!(async fn higher_priority_runs_first_then_oldest(backend) {
    let h = Harness::new(backend).await;
    let ids = h
        .conn(|conn| {
            let low = enqueue(conn, &Count { n: 1 }, JobOptions::default())?;
            let high = enqueue(conn, &Count { n: 2 }, JobOptions::default().priority(5))?;
            let later = enqueue(
                conn,
                &Count { n: 3 },
                JobOptions::default().delay(Duration::from_secs(3600)).priority(9),
            )?;
            let low2 = enqueue(conn, &Count { n: 4 }, JobOptions::default())?;
            Ok([low, high, later, low2])
        })
        .await
        .map(id_of);
    let claimed = h
        .conn(|conn| store::claim(conn, "w", &[Count::KIND], 10, Duration::from_secs(60), plaza_kernel::time::now()))
        .await;
    let order: Vec<i64> = claimed.iter().map(|j| j.id).collect();
    assert_eq!(order, vec![ids[1], ids[0], ids[3]], "the delayed job is not due");
    // Kinds without a handler here are left alone.
    let other = h
        .conn(|conn| store::claim(conn, "w", &["nobody_handles_this"], 10, Duration::from_secs(60), plaza_kernel::time::now()))
        .await;
    assert!(other.is_empty());
});

db_test!(async fn shutdown_lets_short_jobs_finish_and_returns_the_rest(backend) {
    let h = Harness::new(backend).await;
    let started = Arc::new(tokio::sync::Notify::new());
    let runs = Arc::new(Mutex::new(0));
    let (quick_id, stuck_id) = h
        .conn(|conn| {
            let q = enqueue(conn, &Slow { millis: 200 }, JobOptions::default().priority(1))?;
            let s = enqueue(conn, &Slow { millis: 600_000 }, JobOptions::default())?;
            Ok((q, s))
        })
        .await;
    let (quick_id, stuck_id) = (id_of(quick_id), id_of(stuck_id));
    let settings = WorkerSettings {
        shutdown_grace: Duration::from_secs(3),
        ..quick()
    };
    let handle = h.worker(slow_registry(&started, &runs), settings).spawn();
    while *runs.lock().unwrap() < 2 {
        started.notified().await;
    }

    handle.shutdown().await;

    let job = h.job(quick_id).await;
    assert_eq!(job.status(), JobStatus::Succeeded);
    let job = h.job(stuck_id).await;
    assert_eq!((job.status(), job.attempts), (JobStatus::Queued, 0), "back in the queue as if never started");
    assert!(job.run_at <= plaza_kernel::time::now());
});

#[derive(Serialize, Deserialize)]
struct Explode;

impl Job for Explode {
    const KIND: &'static str = "test_explode";
}

db_test!(async fn a_panicking_or_hanging_handler_is_a_failed_attempt(backend) {
    let h = Harness::new(backend).await;
    let (boom, hang) = h
        .conn(|conn| {
            let boom = enqueue(conn, &Explode, JobOptions::default())?;
            let hang = enqueue(conn, &Slow { millis: 600_000 }, JobOptions::default())?;
            Ok((boom, hang))
        })
        .await;
    let (boom, hang) = (id_of(boom), id_of(hang));
    let mut registry = JobRegistry::empty();
    registry.handle(|_: JobContext, _: Explode| async {
        if true {
            panic!("kaboom");
        }
        Ok(())
    });
    registry
        .handle(|_: JobContext, job: Slow| async move {
            tokio::time::sleep(Duration::from_millis(job.millis)).await;
            Ok(())
        })
        .timeout(Duration::from_millis(100));

    let summary = h.worker(registry, quick()).run_batch().await.unwrap();

    assert_eq!(summary.retried, 2);
    let job = h.job(boom).await;
    assert_eq!(job.status(), JobStatus::Queued);
    assert!(job.last_error.unwrap().contains("panicked: kaboom"));
    let job = h.job(hang).await;
    assert!(job.last_error.unwrap().contains("timed out after 100ms"));
});

db_test!(async fn pruning_keeps_recent_and_periodic_jobs(backend) {
    let h = Harness::new(backend).await;
    let now = plaza_kernel::time::now();
    let days = move |n: i64| now - TimeDelta::days(n);
    // (status, finished days ago, unique key)
    let rows = [
        ("succeeded", 8, None),          // past the 7-day retention: pruned
        ("succeeded", 2, None),          // kept
        ("dead", 8, None),               // dead jobs are kept 30 days
        ("dead", 31, None),              // pruned
        ("queued", 100, None),           // never pruned
    ];
    h.conn(move |conn| {
        for (status, ago, key) in rows {
            let key: Option<&str> = key;
            diesel::insert_into(jobs_table::table)
                .values((
                    jobs_table::kind.eq("test_count"),
                    jobs_table::payload.eq("{}"),
                    jobs_table::status.eq(status),
                    jobs_table::run_at.eq(days(ago)),
                    jobs_table::unique_key.eq(key),
                    jobs_table::created_at.eq(days(ago)),
                    jobs_table::updated_at.eq(days(ago)),
                    jobs_table::finished_at.eq((status != "queued").then(|| days(ago))),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
    .await;
    h.conn(|conn| enqueue(conn, &jobs::PruneJobs {}, JobOptions::default())).await;

    let summary = h.worker(JobRegistry::new(), quick()).run_until_idle().await.unwrap();

    assert_eq!(summary.succeeded, 1);
    let left: Vec<(String, NaiveDateTime)> = h
        .conn(|conn| {
            jobs_table::table
                .filter(jobs_table::kind.eq("test_count"))
                .select((jobs_table::status, jobs_table::run_at))
                .order(jobs_table::run_at.asc())
                .load(conn)
        })
        .await;
    let left: Vec<(&str, i64)> = left
        .iter()
        .map(|(s, at)| (s.as_str(), (now - *at).num_days()))
        .collect();
    assert_eq!(left, vec![("queued", 100), ("dead", 8), ("succeeded", 2)]);
});

db_test!(async fn the_spawned_worker_runs_the_beat_and_reports_depth(backend) {
    let h = Harness::new(backend).await;
    let mut settings = quick();
    settings.beat = true;
    // The kernel's registry: its hourly pruning is enqueued at once (this hour's period).
    let handle = h.worker(JobRegistry::new(), settings).spawn();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let done: Vec<String> = h
            .conn(|conn| {
                jobs_table::table
                    .filter(jobs_table::kind.eq("prune_jobs"))
                    .select(jobs_table::status)
                    .load(conn)
            })
            .await;
        if done == ["succeeded"] {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the beat did not run: {done:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    handle.shutdown().await;

    let depth = jobs::sample_depth(h.db(), &h.services.metrics).await.unwrap();
    assert_eq!((depth.queued, depth.running, depth.succeeded, depth.dead), (0, 0, 1, 0));
    let metrics = h.services.metrics.encode();
    assert!(metrics.contains(r#"plaza_jobs{status="succeeded"} 1"#), "{metrics}");
    assert!(metrics.contains("plaza_jobs_queue_depth 0"), "{metrics}");
});
