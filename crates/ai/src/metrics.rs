//! The AI domain's Prometheus metrics, served at `/metrics` with the kernel's: tokens, cost,
//! upstream latency and errors per model, and the gateway's own overhead per request (total
//! time minus the time spent waiting on the upstream), as TensorZero exports it.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of a per-model metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    /// The model's Plaza name.
    pub model: String,
}

/// Labels of a token counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    /// The model's Plaza name.
    pub model: String,
    /// `prompt` or `completion`.
    pub kind: &'static str,
}

/// Labels of a request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    /// The model's Plaza name.
    pub model: String,
    /// `ok`, `upstream_error`, `timeout`, `client_disconnect`.
    pub status: &'static str,
}

type Histograms = Family<ModelLabels, Histogram, fn() -> Histogram>;

fn upstream_histogram() -> Histogram {
    // 1 ms … ~65 s
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

fn overhead_histogram() -> Histogram {
    // 20 µs … ~0.6 s
    Histogram::new(exponential_buckets(0.000_02, 2.0, 15))
}

/// The AI metrics.
pub struct AiMetrics {
    /// Tokens by model and kind.
    pub tokens: Family<TokenLabels, Counter>,
    /// Cost in micro-USD by model.
    pub cost: Family<ModelLabels, Counter>,
    /// Calls by model and status.
    pub requests: Family<StatusLabels, Counter>,
    /// Time spent waiting on the upstream, by model.
    pub upstream_seconds: Histograms,
    /// The gateway's own time per call (total minus upstream), by model.
    pub overhead_seconds: Histograms,
    /// Request rows dropped because the accounting queue was full.
    pub rows_dropped: Counter,
}

impl std::fmt::Debug for AiMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AiMetrics")
    }
}

impl AiMetrics {
    /// The metrics and the registry that encodes them (prefix `plaza_ai`).
    pub fn new() -> (Self, Registry) {
        let mut registry = Registry::with_prefix("plaza_ai");
        let metrics = Self {
            tokens: Family::default(),
            cost: Family::default(),
            requests: Family::default(),
            upstream_seconds: Family::new_with_constructor(upstream_histogram),
            overhead_seconds: Family::new_with_constructor(overhead_histogram),
            rows_dropped: Counter::default(),
        };
        registry.register("tokens", "Tokens by model and kind", metrics.tokens.clone());
        registry.register(
            "cost_micro_usd",
            "Cost in micro-USD by model",
            metrics.cost.clone(),
        );
        registry.register(
            "requests",
            "AI calls by model and status",
            metrics.requests.clone(),
        );
        registry.register(
            "upstream_seconds",
            "Time spent waiting on the upstream",
            metrics.upstream_seconds.clone(),
        );
        registry.register(
            "gateway_overhead_seconds",
            "The gateway's own time per call (total minus upstream)",
            metrics.overhead_seconds.clone(),
        );
        registry.register(
            "accounting_rows_dropped",
            "Request rows dropped because the accounting queue was full",
            metrics.rows_dropped.clone(),
        );
        (metrics, registry)
    }
}
