//! Process logging: `RUST_LOG` filters (default `info`), `LOG_FORMAT=json` for one JSON
//! object per line, and `ACCESS_LOG` for the line every request writes ([`AccessLog`]).

use std::io::IsTerminal;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use plaza_kernel::config::LogFormat;
use plaza_kernel::settings::{Env, Section};
use tracing::subscriber::Interest;
use tracing::{Level, Metadata};
use tracing_subscriber::filter::{dynamic_filter_fn, EnvFilter};
use tracing_subscriber::layer::{Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Where the kernel's request middleware logs each request's line (`INFO`, message
/// `request`); its failures (`WARN`, `ERROR`) are not access lines and are always kept.
const ACCESS_TARGET: &str = "plaza_kernel::http";

/// `ACCESS_LOG`: what becomes of the `INFO` line each answered request writes (method,
/// target, status, duration, request id). Failed requests (5xx) log at `WARN`/`ERROR`
/// whatever this says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AccessLog {
    /// `on` (the default): every request.
    #[default]
    On,
    /// `off`: none.
    Off,
    /// `sampled` with `ACCESS_LOG_SAMPLE=N` (default 100): one request in N.
    Sampled(NonZeroU64),
}

/// The sampling rate when `ACCESS_LOG=sampled` and `ACCESS_LOG_SAMPLE` is unset.
const DEFAULT_SAMPLE: u64 = 100;

impl Section for AccessLog {
    fn from_env(env: &mut Env<'_>) -> Self {
        let mode = env.string("ACCESS_LOG", "on").to_ascii_lowercase();
        let sample = env.number("ACCESS_LOG_SAMPLE", DEFAULT_SAMPLE, 1, 1_000_000_000);
        match mode.as_str() {
            "on" | "true" | "1" | "yes" => Self::On,
            "off" | "false" | "0" | "no" => Self::Off,
            "sampled" => NonZeroU64::new(sample).map_or(Self::On, Self::Sampled),
            other => {
                env.problem(format!(
                    "ACCESS_LOG: \"{other}\" is not on, off or sampled (with ACCESS_LOG_SAMPLE=N)"
                ));
                Self::On
            }
        }
    }
}

impl AccessLog {
    /// The setting in `vars` (the configuration's variables); problems are reported by the
    /// settings check at load, so this falls back to the default.
    pub fn from_vars(vars: &std::collections::HashMap<String, String>) -> Self {
        Self::from_env(&mut Env::new(vars))
    }

    /// Whether the next access line is kept; `seen` counts them for sampling.
    fn keeps(self, seen: &AtomicU64) -> bool {
        match self {
            Self::On => true,
            Self::Off => false,
            Self::Sampled(n) => seen.fetch_add(1, Ordering::Relaxed) % n.get() == 0,
        }
    }
}

/// The per-layer filter that applies `access` to the access lines and lets everything else
/// through (`RUST_LOG` decides about it).
fn access_filter<S>(access: AccessLog) -> impl Filter<S> {
    let seen = Arc::new(AtomicU64::new(0));
    dynamic_filter_fn(move |meta, _| !is_access_line(meta) || access.keeps(&seen))
        // Sampling decides per event, so only a sampled access line asks every time.
        .with_callsite_filter(move |meta| {
            if !is_access_line(meta) {
                return Interest::always();
            }
            match access {
                AccessLog::On => Interest::always(),
                AccessLog::Off => Interest::never(),
                AccessLog::Sampled(_) => Interest::sometimes(),
            }
        })
}

fn is_access_line(meta: &Metadata<'_>) -> bool {
    meta.is_event() && *meta.level() == Level::INFO && meta.target() == ACCESS_TARGET
}

/// Installs the global subscriber once; later calls do nothing.
pub fn init(format: LogFormat, access: AccessLog) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn,actix_web=warn"));
    let access = access_filter(access);
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let layer = match format {
        LogFormat::Json => layer.json().flatten_event(true).boxed(),
        LogFormat::Text => layer.compact().boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter).with_filter(access))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> (AccessLog, Vec<String>) {
        let vars = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut env = Env::new(&vars);
        let access = AccessLog::from_env(&mut env);
        (access, env.take_problems())
    }

    #[test]
    fn access_log_settings() {
        assert_eq!(parse(&[]), (AccessLog::On, vec![]));
        assert_eq!(parse(&[("ACCESS_LOG", "OFF")]).0, AccessLog::Off);
        let hundred = NonZeroU64::new(100).unwrap();
        assert_eq!(
            parse(&[("ACCESS_LOG", "sampled")]).0,
            AccessLog::Sampled(hundred)
        );
        let ten = NonZeroU64::new(10).unwrap();
        assert_eq!(
            parse(&[("ACCESS_LOG", "sampled"), ("ACCESS_LOG_SAMPLE", "10")]).0,
            AccessLog::Sampled(ten)
        );
        let (_, problems) = parse(&[("ACCESS_LOG", "loud")]);
        assert!(problems[0].contains("ACCESS_LOG"), "{problems:?}");
        let (_, problems) = parse(&[("ACCESS_LOG", "sampled"), ("ACCESS_LOG_SAMPLE", "0")]);
        assert!(problems[0].contains("ACCESS_LOG_SAMPLE"), "{problems:?}");
    }

    /// Access lines (and other events) that reach a layer behind `access_filter(access)`.
    fn delivered(access: AccessLog, lines: usize) -> (usize, usize) {
        use std::sync::Mutex;
        use tracing_subscriber::layer::Context;

        /// (access lines, other events) seen.
        #[derive(Clone, Default)]
        struct Count(Arc<Mutex<(usize, usize)>>);
        impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Count {
            fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
                let mut count = self.0.lock().unwrap();
                if is_access_line(event.metadata()) {
                    count.0 += 1;
                } else {
                    count.1 += 1;
                }
            }
        }
        let count = Count::default();
        let subscriber =
            tracing_subscriber::registry().with(count.clone().with_filter(access_filter(access)));
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..lines {
                tracing::info!(target: "plaza_kernel::http", status = 200, "request");
                tracing::info!(target: "plaza_kernel::jobs", "something else");
            }
        });
        let seen = *count.0.lock().unwrap();
        seen
    }

    #[test]
    fn the_access_filter_keeps_every_line_none_or_one_in_n() {
        let every = NonZeroU64::new(4).unwrap();
        assert_eq!(delivered(AccessLog::On, 12), (12, 12));
        assert_eq!(delivered(AccessLog::Off, 12), (0, 12));
        assert_eq!(delivered(AccessLog::Sampled(every), 12), (3, 12));
    }

    #[test]
    fn sampling_keeps_one_access_line_in_n() {
        let sampled = AccessLog::Sampled(NonZeroU64::new(4).unwrap());
        let seen = AtomicU64::new(0);
        assert_eq!((0..12).filter(|_| sampled.keeps(&seen)).count(), 3);
        assert!(!AccessLog::Off.keeps(&seen));
        assert!(AccessLog::On.keeps(&seen));
    }
}
