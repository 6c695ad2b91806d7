//! Periodic jobs (the beat): schedules declared in code, enqueued once per period.
//!
//! Time is cut into periods — multiples of the interval since the Unix epoch for
//! [`Schedule::every`], UTC days starting at the given time for [`Schedule::daily_at`]. The
//! job of a period gets the unique key `periodic:<name>:<period start>`, so however many
//! [`Scheduler`]s (one per worker) try to enqueue it, one row exists. A period with no worker
//! running is skipped, not caught up; a period that started before the first worker saw it
//! (a deployment at 15:00 for a job daily at 03:00) runs as soon as a worker sees it.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, NaiveTime, TimeDelta};
use diesel::QueryResult;

use super::registry::JobRegistry;
use super::{enqueue_raw, Enqueued, JobOptions};
use crate::db::DbConn;

const DAY_SECS: i64 = 86_400;

/// When a periodic job runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Every interval (whole seconds, at least one), aligned on the Unix epoch: every 15
    /// minutes runs at :00, :15, :30 and :45.
    Every(Duration),
    /// Once a day at this UTC time.
    DailyAt(NaiveTime),
}

impl Schedule {
    /// Every `interval` (rounded down to whole seconds).
    pub fn every(interval: Duration) -> Self {
        Self::Every(Duration::from_secs(interval.as_secs()))
    }

    /// Every `minutes` minutes.
    pub fn every_minutes(minutes: u64) -> Self {
        Self::every(Duration::from_secs(minutes.saturating_mul(60)))
    }

    /// Every hour, on the hour.
    pub fn hourly() -> Self {
        Self::every(Duration::from_secs(3600))
    }

    /// Daily at `hour:minute` UTC. An impossible time is reported by
    /// [`JobRegistry::check`](super::JobRegistry::check).
    pub fn daily_at(hour: u32, minute: u32) -> Self {
        match NaiveTime::from_hms_opt(hour, minute, 0) {
            Some(time) => Self::DailyAt(time),
            // Kept invalid on purpose so the registry reports it.
            None => Self::Every(Duration::ZERO),
        }
    }

    /// The length of a period.
    pub fn period(&self) -> Duration {
        match self {
            Self::Every(interval) => *interval,
            Self::DailyAt(_) => Duration::from_secs(DAY_SECS.unsigned_abs()),
        }
    }

    /// Why this schedule cannot run, if it cannot.
    pub(crate) fn problem(&self) -> Option<String> {
        match self {
            Self::Every(interval) if interval.as_secs() == 0 => Some(
                "the interval must be at least one second (or the time of day is invalid)".into(),
            ),
            _ => None,
        }
    }

    /// The start of the period `now` falls in.
    pub fn period_start(&self, now: NaiveDateTime) -> NaiveDateTime {
        match self {
            Self::Every(interval) => {
                let step = i64::try_from(interval.as_secs()).unwrap_or(i64::MAX).max(1);
                let secs = now.and_utc().timestamp();
                let start = secs - secs.rem_euclid(step);
                chrono::DateTime::from_timestamp(start, 0).map_or(now, |t| t.naive_utc())
            }
            Self::DailyAt(time) => {
                let today = now.date().and_time(*time);
                if today <= now {
                    today
                } else {
                    today - TimeDelta::days(1)
                }
            }
        }
    }

    /// When the next period starts after `now`.
    pub fn next_after(&self, now: NaiveDateTime) -> NaiveDateTime {
        let period = TimeDelta::from_std(self.period()).unwrap_or(TimeDelta::days(1));
        self.period_start(now) + period
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Every(interval) => {
                write!(f, "every {}", humantime::format_duration(*interval))
            }
            Self::DailyAt(time) => write!(f, "daily at {} UTC", time.format("%H:%M")),
        }
    }
}

/// The unique key of `name`'s job for the period starting at `start`.
pub(crate) fn period_key(name: &str, start: NaiveDateTime) -> String {
    format!("periodic:{name}:{}", start.and_utc().timestamp())
}

/// Enqueues the periodic jobs of a registry once per period. Each worker's beat owns one and
/// calls [`Scheduler::tick`] every second or so; it remembers the periods it has seen, so a
/// tick costs one insert per job and period at most.
pub struct Scheduler {
    registry: Arc<JobRegistry>,
    seen: HashMap<String, NaiveDateTime>,
}

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler")
            .field("periodic", &self.registry.periodic_jobs().len())
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    /// A scheduler for `registry`'s periodic jobs.
    pub fn new(registry: Arc<JobRegistry>) -> Self {
        Self {
            registry,
            seen: HashMap::new(),
        }
    }

    /// Enqueues every periodic job whose current period (at `now`) this scheduler has not
    /// handled yet; returns what each attempt did. `Duplicate` means another scheduler got
    /// there first.
    pub fn tick(
        &mut self,
        conn: &mut DbConn,
        now: NaiveDateTime,
    ) -> QueryResult<Vec<(String, Enqueued)>> {
        let mut done = Vec::new();
        for job in self.registry.periodic_jobs() {
            let start = job.schedule.period_start(now);
            if self.seen.get(&job.name) == Some(&start) {
                continue;
            }
            let options = JobOptions {
                run_at: Some(start),
                priority: job.priority,
                unique_key: Some(period_key(&job.name, start)),
                max_attempts: None,
            };
            let result = enqueue_raw(conn, job.kind, &job.payload, options)?;
            self.seen.insert(job.name.clone(), start);
            done.push((job.name.clone(), result));
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn intervals_align_on_the_epoch() {
        let every_15 = Schedule::every_minutes(15);
        assert_eq!(
            every_15.period_start(at("2026-11-20 08:44:59")),
            at("2026-11-20 08:30:00")
        );
        assert_eq!(
            every_15.period_start(at("2026-11-20 08:45:00")),
            at("2026-11-20 08:45:00")
        );
        assert_eq!(
            every_15.next_after(at("2026-11-20 08:44:59")),
            at("2026-11-20 08:45:00")
        );
        assert_eq!(every_15.to_string(), "every 15m");
    }

    #[test]
    fn daily_periods_start_at_the_time_of_day() {
        let daily = Schedule::daily_at(3, 0);
        assert_eq!(
            daily.period_start(at("2026-11-20 15:00:00")),
            at("2026-11-20 03:00:00")
        );
        assert_eq!(
            daily.period_start(at("2026-11-20 02:59:59")),
            at("2026-11-19 03:00:00")
        );
        assert_eq!(
            daily.next_after(at("2026-11-20 03:00:00")),
            at("2026-11-21 03:00:00")
        );
        assert_eq!(daily.to_string(), "daily at 03:00 UTC");
    }

    #[test]
    fn impossible_schedules_are_reported() {
        assert!(Schedule::daily_at(24, 0).problem().is_some());
        assert!(Schedule::every(Duration::from_millis(500))
            .problem()
            .is_some());
        assert!(Schedule::hourly().problem().is_none());
    }

    #[test]
    fn period_keys_name_the_job_and_the_period() {
        assert_eq!(
            period_key("kernel.prune_jobs", at("1970-01-01 01:00:00")),
            "periodic:kernel.prune_jobs:3600"
        );
    }
}
