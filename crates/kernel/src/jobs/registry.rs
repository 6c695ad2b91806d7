//! What workers know how to run: a typed handler per job kind and the periodic jobs, filled
//! by each domain at start without the kernel knowing the domains.
//!
//! ```ignore
//! let mut jobs = JobRegistry::new();          // the kernel's own jobs: send_email, pruning
//! plaza_authentication::register_jobs(&mut jobs);
//! plaza_streaming::register_jobs(&mut jobs);
//! jobs.check()?;                              // duplicate kinds, periodic jobs without handler, …
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::context::JobContext;
use super::error::JobError;
use super::schedule::Schedule;
use super::{Job, MAX_KIND_LEN};

/// How long one attempt may run unless its handler says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The longest name of a periodic job (its unique key must fit in 191 bytes).
const MAX_PERIODIC_NAME_LEN: usize = 150;

pub(crate) type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
type RunFn = Arc<dyn Fn(JobContext, &str) -> Result<JobFuture, JobError> + Send + Sync>;
type RedactFn = fn(&mut serde_json::Value);

/// A registered handler.
#[derive(Clone)]
pub(crate) struct Handler {
    /// Decodes the payload (a permanent failure when it does not fit the type) and starts
    /// the handler.
    pub(crate) run: RunFn,
    pub(crate) max_attempts: Option<u32>,
    pub(crate) timeout: Duration,
    pub(crate) redact: RedactFn,
}

/// A job enqueued by the beat once per period.
#[derive(Clone, Debug)]
pub struct PeriodicJob {
    /// Unique name, part of each period's unique key (`periodic:<name>:<period start>`).
    pub name: String,
    /// When it runs.
    pub schedule: Schedule,
    /// The job kind.
    pub kind: &'static str,
    /// The JSON payload every period's job carries.
    pub payload: String,
    /// Its priority.
    pub priority: i32,
}

/// The handlers and periodic jobs a worker runs. [`JobRegistry::new`] holds the kernel's
/// own: `send_email` and the hourly pruning of finished jobs.
#[derive(Clone)]
pub struct JobRegistry {
    handlers: BTreeMap<&'static str, Handler>,
    periodic: Vec<PeriodicJob>,
    problems: Vec<String>,
}

impl fmt::Debug for JobRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobRegistry")
            .field("kinds", &self.handlers.keys().collect::<Vec<_>>())
            .field(
                "periodic",
                &self.periodic.iter().map(|p| &p.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for JobRegistry {
    fn default() -> Self {
        Self::new()
    }
}

/// The problems [`JobRegistry::check`] found, one per line.
#[derive(Debug, thiserror::Error)]
#[error("invalid job registry: {}", .0.join("; "))]
pub struct RegistryError(pub Vec<String>);

/// Options of a registered handler, returned by [`JobRegistry::handle`].
pub struct HandlerSettings<'a> {
    handler: Option<&'a mut Handler>,
}

impl HandlerSettings<'_> {
    /// Attempts before a job of this kind is dead, unless the job itself says otherwise
    /// (default `WORKER_MAX_ATTEMPTS`).
    pub fn max_attempts(&mut self, attempts: u32) -> &mut Self {
        if let Some(handler) = self.handler.as_deref_mut() {
            handler.max_attempts = Some(attempts.max(1));
        }
        self
    }

    /// How long one attempt may run before it counts as failed (default 15 minutes).
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        if let Some(handler) = self.handler.as_deref_mut() {
            handler.timeout = timeout.max(Duration::from_millis(1));
        }
        self
    }
}

impl JobRegistry {
    /// A registry with the kernel's jobs.
    pub fn new() -> Self {
        let mut registry = Self::empty();
        crate::mail::register_jobs(&mut registry);
        super::housekeeping::register_jobs(&mut registry);
        registry
    }

    /// A registry with nothing in it (tests that want only their own kinds).
    pub fn empty() -> Self {
        Self {
            handlers: BTreeMap::new(),
            periodic: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Registers the handler of `J`'s kind: an async function of the job's context and its
    /// decoded payload. A payload that does not decode as `J` makes the job dead at once.
    pub fn handle<J, F, Fut>(&mut self, handler: F) -> HandlerSettings<'_>
    where
        J: Job,
        F: Fn(JobContext, J) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        let kind = J::KIND;
        if kind.is_empty() || kind.len() > MAX_KIND_LEN {
            self.problems.push(format!(
                "job kind \"{kind}\" must have 1 to {MAX_KIND_LEN} bytes"
            ));
            return HandlerSettings { handler: None };
        }
        if self.handlers.contains_key(kind) {
            self.problems
                .push(format!("job kind \"{kind}\" has two handlers"));
            return HandlerSettings { handler: None };
        }
        let handler = Arc::new(handler);
        let run: RunFn = Arc::new(move |ctx, payload| {
            let job: J = serde_json::from_str(payload).map_err(|e| {
                JobError::permanent(format!("the payload is not a valid \"{kind}\" job: {e}"))
            })?;
            Ok(Box::pin(handler(ctx, job)) as JobFuture)
        });
        let entry = self.handlers.entry(kind).or_insert(Handler {
            run,
            max_attempts: None,
            timeout: DEFAULT_TIMEOUT,
            redact: J::redact,
        });
        HandlerSettings {
            handler: Some(entry),
        }
    }

    /// Declares a periodic job: `job` is enqueued once per period of `schedule`, under
    /// `name` (unique, ≤ 150 bytes, e.g. `"authentication.cleanup_expired_tokens"`). Its kind
    /// needs a handler.
    pub fn periodic<J: Job>(&mut self, name: &str, schedule: Schedule, job: &J) -> &mut Self {
        self.periodic_with_priority(name, schedule, job, 0)
    }

    /// [`JobRegistry::periodic`] with a priority.
    pub fn periodic_with_priority<J: Job>(
        &mut self,
        name: &str,
        schedule: Schedule,
        job: &J,
        priority: i32,
    ) -> &mut Self {
        if name.is_empty() || name.len() > MAX_PERIODIC_NAME_LEN {
            self.problems.push(format!(
                "periodic job \"{name}\": the name must have 1 to {MAX_PERIODIC_NAME_LEN} bytes"
            ));
            return self;
        }
        if self.periodic.iter().any(|p| p.name == name) {
            self.problems
                .push(format!("periodic job \"{name}\" is declared twice"));
            return self;
        }
        if let Some(problem) = schedule.problem() {
            self.problems
                .push(format!("periodic job \"{name}\": {problem}"));
            return self;
        }
        match serde_json::to_string(job) {
            Ok(payload) => self.periodic.push(PeriodicJob {
                name: name.to_owned(),
                schedule,
                kind: J::KIND,
                payload,
                priority,
            }),
            Err(e) => self.problems.push(format!(
                "periodic job \"{name}\": the payload does not serialise: {e}"
            )),
        }
        self
    }

    /// Everything wrong with the registrations: duplicate kinds or names, impossible
    /// schedules, periodic jobs whose kind has no handler.
    pub fn check(&self) -> Result<(), RegistryError> {
        let mut problems = self.problems.clone();
        for job in &self.periodic {
            if !self.handlers.contains_key(job.kind) {
                problems.push(format!(
                    "periodic job \"{}\" runs kind \"{}\", which has no handler",
                    job.name, job.kind
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(RegistryError(problems))
        }
    }

    /// The kinds that have a handler, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.handlers.keys().copied().collect()
    }

    /// Whether `kind` has a handler.
    pub fn handles(&self, kind: &str) -> bool {
        self.handlers.contains_key(kind)
    }

    /// The periodic jobs, in declaration order.
    pub fn periodic_jobs(&self) -> &[PeriodicJob] {
        &self.periodic
    }

    /// The longest period of any periodic job (zero without any): finished jobs are kept at
    /// least twice as long, so a period's unique key outlives the period.
    pub fn longest_period(&self) -> Duration {
        self.periodic
            .iter()
            .map(|p| p.schedule.period())
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// The handler's own attempt limit for `kind`, if it set one.
    pub fn max_attempts(&self, kind: &str) -> Option<u32> {
        self.handlers.get(kind).and_then(|h| h.max_attempts)
    }

    /// A stored payload as staff may see it: parsed, with the kind's secrets hidden. Kinds
    /// without a handler here are shown as stored.
    pub fn redacted_payload(&self, kind: &str, payload: &str) -> serde_json::Value {
        let mut value = serde_json::from_str(payload)
            .unwrap_or_else(|_| serde_json::Value::String(payload.to_owned()));
        if let Some(handler) = self.handlers.get(kind) {
            (handler.redact)(&mut value);
        }
        value
    }

    pub(crate) fn handler(&self, kind: &str) -> Option<&Handler> {
        self.handlers.get(kind)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Tick;

    impl Job for Tick {
        const KIND: &'static str = "tick";
    }

    #[derive(Serialize, Deserialize)]
    struct Orphan;

    impl Job for Orphan {
        const KIND: &'static str = "orphan";
    }

    async fn nothing(_: JobContext, _: Tick) -> Result<(), JobError> {
        Ok(())
    }

    #[test]
    fn the_kernel_registers_mail_and_pruning() {
        let registry = JobRegistry::new();
        assert!(registry.handles("send_email"));
        assert!(registry.handles("prune_jobs"));
        assert!(registry
            .periodic_jobs()
            .iter()
            .any(|p| p.name == "kernel.prune_jobs"));
        registry.check().unwrap();
    }

    #[test]
    fn check_reports_every_problem() {
        let mut registry = JobRegistry::empty();
        registry.handle(nothing).max_attempts(3);
        registry.handle(nothing);
        registry.periodic("tick.hourly", Schedule::hourly(), &Tick);
        registry.periodic("tick.hourly", Schedule::hourly(), &Tick);
        registry.periodic("orphan.daily", Schedule::daily_at(4, 30), &Orphan);
        registry.periodic("tick.bad", Schedule::daily_at(25, 0), &Tick);
        let err = registry.check().unwrap_err();
        let text = err.to_string();
        for expected in [
            "\"tick\" has two handlers",
            "\"tick.hourly\" is declared twice",
            "\"orphan.daily\" runs kind \"orphan\", which has no handler",
            "\"tick.bad\"",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
        assert_eq!(registry.max_attempts("tick"), Some(3));
        assert_eq!(registry.kinds(), vec!["tick"]);
        assert_eq!(registry.longest_period(), Duration::from_secs(86_400));
    }

    #[test]
    fn payloads_are_redacted_for_staff() {
        let registry = JobRegistry::new();
        let shown = registry.redacted_payload(
            "send_email",
            r#"{"to":"a@example.com","subject":"Reset","text":"token=secret","html":"<a>secret</a>"}"#,
        );
        assert_eq!(shown["to"], "a@example.com");
        assert_eq!(shown["subject"], "Reset");
        assert!(!shown.to_string().contains("secret"), "{shown}");
        assert_eq!(
            registry.redacted_payload("unknown", "not json"),
            serde_json::Value::String("not json".into())
        );
    }
}
