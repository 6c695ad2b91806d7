//! Settings from the environment: the parser every section uses, and the sections each
//! domain owns.
//!
//! The kernel's [`Config`](crate::Config) holds what every domain shares (bind address,
//! database, cache and bus, secret, mail, jobs). A domain's own settings (the forum's cache,
//! streaming limits, upload sizes, …) are a [`Section`]: a struct the domain crate defines and
//! parses from the same environment with [`Env`], which checks every value and collects every
//! problem, one line each, so a misconfigured deployment fails once with the whole list.
//!
//! ```
//! use std::time::Duration;
//! use plaza_kernel::settings::{Env, Section};
//!
//! /// `WIDGETS_*`.
//! #[derive(Clone, Debug)]
//! pub struct WidgetSettings {
//!     /// `WIDGETS_TTL`.
//!     pub ttl: Duration,
//! }
//!
//! impl Section for WidgetSettings {
//!     fn from_env(env: &mut Env<'_>) -> Self {
//!         Self { ttl: env.duration("WIDGETS_TTL", Duration::from_secs(60)) }
//!     }
//! }
//!
//! let vars = [("WIDGETS_TTL".to_owned(), "2m".to_owned())].into();
//! let mut env = Env::new(&vars);
//! assert_eq!(WidgetSettings::from_env(&mut env).ttl, Duration::from_secs(120));
//! assert!(env.finish().is_ok());
//! ```
//!
//! Parsed sections live in [`Sections`], which the server fills from every registered domain
//! and registers as app data: a handler takes `web::Data<WidgetSettings>`.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::{ready, Ready};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

/// Every problem found in the configuration, one line each.
#[derive(Debug)]
pub struct ConfigError(pub Vec<String>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for line in &self.0 {
            writeln!(f, "  - {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Reads variables from a snapshot of the environment, checking each one; every value that
/// does not parse is noted (with the default used meanwhile) and reported by
/// [`finish`](Env::finish).
pub struct Env<'a> {
    vars: &'a HashMap<String, String>,
    problems: Vec<String>,
}

impl<'a> Env<'a> {
    /// A parser over `vars`.
    pub fn new(vars: &'a HashMap<String, String>) -> Self {
        Self {
            vars,
            problems: Vec::new(),
        }
    }

    /// Notes a problem the caller found (a combination of values that does not work).
    pub fn problem(&mut self, line: String) {
        self.problems.push(line);
    }

    /// `Ok` when nothing was wrong; otherwise every problem noted.
    pub fn finish(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError(self.problems))
        }
    }

    /// The problems noted so far, leaving the parser empty of them.
    pub fn take_problems(&mut self) -> Vec<String> {
        std::mem::take(&mut self.problems)
    }

    /// The trimmed value of `key`; `None` when unset or blank.
    pub fn optional(&self, key: &str) -> Option<String> {
        self.vars
            .get(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The value of `key`, or `default`.
    pub fn string(&self, key: &str, default: &str) -> String {
        self.optional(key).unwrap_or_else(|| default.to_owned())
    }

    /// A comma-separated list (empty when unset).
    pub fn list(&self, key: &str) -> Vec<String> {
        self.optional(key)
            .map(|v| split_list(&v))
            .unwrap_or_default()
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
    pub fn bool(&mut self, key: &str, default: bool) -> bool {
        let Some(raw) = self.optional(key) else {
            return default;
        };
        match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" | "t" | "y" => true,
            "0" | "false" | "no" | "off" | "f" | "n" => false,
            _ => {
                self.problem(format!("{key}: \"{raw}\" is not a boolean (true or false)"));
                default
            }
        }
    }

    /// A number from `min` to `max`.
    pub fn number<T>(&mut self, key: &str, default: T, min: T, max: T) -> T
    where
        T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
    {
        let Some(raw) = self.optional(key) else {
            return default;
        };
        match raw.parse::<T>() {
            Ok(v) if v >= min && v <= max => v,
            _ => {
                self.problem(format!(
                    "{key}: \"{raw}\" is not a number from {min} to {max}"
                ));
                default
            }
        }
    }

    /// `15m`, `7d`, `90s`, `1h 30m`, or a bare number of seconds (`0` is zero).
    pub fn duration(&mut self, key: &str, default: Duration) -> Duration {
        let Some(raw) = self.optional(key) else {
            return default;
        };
        if let Ok(secs) = raw.parse::<u64>() {
            return Duration::from_secs(secs);
        }
        match humantime::parse_duration(&raw) {
            Ok(d) if !d.is_zero() => d,
            _ => {
                self.problem(format!(
                    "{key}: \"{raw}\" is not a duration (e.g. 90s, 15m, 7d)"
                ));
                default
            }
        }
    }
}

impl Env<'_> {
    /// An abuse limit for the action `name`: `N/s`, `N/m`, `N/h` or `N/d` (DRF's rate
    /// syntax), or `off` (also `0`) for none.
    pub fn limit(
        &mut self,
        key: &str,
        name: &'static str,
        default: &str,
    ) -> Option<crate::throttle::Limit> {
        let raw = self.optional(key);
        match crate::throttle::Limit::parse(name, raw.as_deref().unwrap_or(default)) {
            Ok(limit) => limit,
            Err(problem) => {
                self.problem(format!("{key}: {problem}"));
                crate::throttle::Limit::parse(name, default).ok().flatten()
            }
        }
    }
}

/// Splits a comma-separated value, dropping blanks.
pub(crate) fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A domain's settings: parsed from the environment, checked, and handed to its handlers as
/// `web::Data<Self>`.
pub trait Section: Sized + Send + Sync + 'static {
    /// Reads the section, noting every bad value in `env`.
    fn from_env(env: &mut Env<'_>) -> Self;

    /// The section with every variable unset: the defaults.
    fn defaults() -> Self {
        Self::from_env(&mut Env::new(&HashMap::new()))
    }
}

/// One parsed section, type-erased.
#[derive(Clone)]
struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    register: fn(&Arc<dyn Any + Send + Sync>, &mut web::ServiceConfig),
}

/// The parsed settings sections of every domain, by type. Cheap to clone (shared).
///
/// The server parses every registered domain's section at start ([`parse_settings`]), so a
/// bad value stops it with the whole list. A section nobody parsed up front (a domain mounted
/// alone, or in a test app) is parsed on first use from the variables the sections were made
/// with, and kept; with none, it has its defaults.
///
/// [`parse_settings`]: crate::domain::parse_settings
#[derive(Clone, Default)]
pub struct Sections {
    vars: Option<Arc<HashMap<String, String>>>,
    entries: Arc<RwLock<HashMap<TypeId, Entry>>>,
}

impl fmt::Debug for Sections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sections")
            .field("parsed", &read(&self.entries).len())
            .finish()
    }
}

impl Sections {
    /// No sections, and no variables: sections not inserted have their defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// No sections yet; those asked for are parsed from `vars` on first use.
    pub fn from_vars(vars: Arc<HashMap<String, String>>) -> Self {
        Self {
            vars: Some(vars),
            entries: Arc::default(),
        }
    }

    /// Parses `S` from `env` and keeps it (replacing an earlier `S`).
    pub fn parse<S: Section>(&mut self, env: &mut Env<'_>) {
        self.insert(S::from_env(env));
    }

    /// Keeps `section` (replacing an earlier one of its type).
    pub fn insert<S: Section>(&mut self, section: S) {
        self.keep(web::Data::new(section));
    }

    fn keep<S: Section>(&self, data: web::Data<S>) {
        let value: Arc<dyn Any + Send + Sync> = Arc::new(data);
        write(&self.entries).insert(
            TypeId::of::<S>(),
            Entry {
                value,
                register: register_entry::<S>,
            },
        );
    }

    /// The section `S`, if it was parsed or inserted.
    pub fn get<S: Section>(&self) -> Option<web::Data<S>> {
        read(&self.entries)
            .get(&TypeId::of::<S>())
            .and_then(|entry| entry.value.downcast_ref::<web::Data<S>>())
            .cloned()
    }

    /// The section `S`: as parsed, or parsed now from the variables (a bad value is logged and
    /// its default used), or its defaults.
    pub fn get_or_default<S: Section>(&self) -> web::Data<S> {
        if let Some(section) = self.get() {
            return section;
        }
        let section = match &self.vars {
            Some(vars) => {
                let mut env = Env::new(vars);
                let section = S::from_env(&mut env);
                for problem in env.take_problems() {
                    tracing::warn!(problem, "invalid setting; using its default");
                }
                section
            }
            None => S::defaults(),
        };
        let data = web::Data::new(section);
        self.keep(data.clone());
        data
    }

    /// Registers the sections as app data: each parsed one as `web::Data<S>`, and the
    /// collection itself, from which [`Settings`] reads those parsed later.
    pub fn register(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::new(self.clone()));
        for entry in read(&self.entries).values() {
            (entry.register)(&entry.value, cfg);
        }
    }
}

fn register_entry<S: Section>(value: &Arc<dyn Any + Send + Sync>, cfg: &mut web::ServiceConfig) {
    if let Some(data) = value.downcast_ref::<web::Data<S>>() {
        cfg.app_data(data.clone());
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// A handler's view of its domain's settings section `S`.
///
/// It reads `web::Data<S>` from app data, or asks the registered [`Sections`] (which parse it
/// from the environment on first use), or uses the defaults: a domain mounted in an app that
/// never heard of its section still works.
#[derive(Debug)]
pub struct Settings<S: Section>(pub web::Data<S>);

impl<S: Section> std::ops::Deref for Settings<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.0
    }
}

impl<S: Section> Settings<S> {
    /// The section `S` as `req`'s app sees it.
    pub fn of(req: &HttpRequest) -> Self {
        if let Some(section) = req.app_data::<web::Data<S>>() {
            return Self(section.clone());
        }
        Self(
            req.app_data::<web::Data<Sections>>()
                .map_or_else(|| web::Data::new(S::defaults()), |s| s.get_or_default()),
        )
    }
}

impl<S: Section> FromRequest for Settings<S> {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::of(req)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Limits {
        size: u32,
    }

    impl Section for Limits {
        fn from_env(env: &mut Env<'_>) -> Self {
            Self {
                size: env.number("LIMITS_SIZE", 10, 1, 100),
            }
        }
    }

    #[test]
    fn every_problem_is_reported_once_each() {
        let vars = HashMap::from([
            ("LIMITS_SIZE".to_owned(), "1000".to_owned()),
            ("FLAG".to_owned(), "maybe".to_owned()),
        ]);
        let mut env = Env::new(&vars);
        let limits = Limits::from_env(&mut env);
        assert_eq!(limits.size, 10, "the default stands in for a bad value");
        env.bool("FLAG", false);
        let err = env.finish().unwrap_err();
        assert_eq!(err.0.len(), 2, "{err}");
        assert!(err.0[0].starts_with("LIMITS_SIZE:"));
        assert!(err.0[1].starts_with("FLAG:"));
    }

    #[test]
    fn sections_not_parsed_up_front_are_parsed_from_the_variables() {
        let vars = Arc::new(HashMap::from([("LIMITS_SIZE".to_owned(), "7".to_owned())]));
        let sections = Sections::from_vars(vars);
        let shared = sections.clone();
        assert!(sections.get::<Limits>().is_none());
        assert_eq!(sections.get_or_default::<Limits>().size, 7);
        assert!(
            shared.get::<Limits>().is_some(),
            "kept, and shared by clones"
        );
    }

    #[test]
    fn sections_are_found_by_type() {
        let mut sections = Sections::new();
        assert!(sections.get::<Limits>().is_none());
        assert_eq!(sections.get_or_default::<Limits>().size, 10);
        sections.insert(Limits { size: 42 });
        assert_eq!(sections.get::<Limits>().unwrap().size, 42);
    }
}
