//! Prometheus metrics, kept in one registry that the server exposes at `/metrics`.
//!
//! The registry is an ordinary value in app data (no global recorder): every metric a domain
//! records is a field here, so `/metrics` lists them all even before the first event.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of an HTTP request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// `GET`, `POST`, …
    pub method: String,
    /// The route pattern (`/api/v1/posts/{id}/`), never the raw path.
    pub route: String,
    /// Status code.
    pub status: u16,
}

/// Labels of a latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// `GET`, `POST`, …
    pub method: String,
    /// The route pattern.
    pub route: String,
}

/// Labels naming a realtime endpoint (`webrtc`, `notifications`, …).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    /// The endpoint.
    pub endpoint: String,
}

/// Labels naming a job kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    /// The job kind.
    pub kind: String,
}

/// Labels naming a job status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobStatusLabels {
    /// `queued`, `running`, `succeeded` or `dead`.
    pub status: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;
type JobHistogramFamily = Family<JobLabels, Histogram, fn() -> Histogram>;

fn job_histogram() -> Histogram {
    // 1 ms … ~9 min
    Histogram::new(exponential_buckets(0.001, 2.0, 20))
}

fn latency_histogram() -> Histogram {
    // 0.25 ms … ~8 s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// Every metric Plaza records.
pub struct Metrics {
    registry: Registry,
    /// Registries domains added ([`Metrics::add_registry`]), encoded after the kernel's.
    extra: std::sync::Mutex<Vec<Registry>>,
    /// HTTP requests by method, route and status.
    pub http_requests: Family<HttpLabels, Counter>,
    /// HTTP latency by method and route, in seconds.
    pub http_duration: HistogramFamily,
    /// Database connections open.
    pub db_connections: Gauge,
    /// Database connections idle.
    pub db_idle_connections: Gauge,
    /// SQL statements run (the pool's own counter, see [`Metrics::with_db_statements`]).
    pub db_statements: Counter,
    /// WebSocket connections open, by endpoint.
    pub ws_connections: Family<EndpointLabels, Gauge>,
    /// Realtime messages delivered to clients, by endpoint.
    pub ws_messages_relayed: Family<EndpointLabels, Counter>,
    /// Realtime messages dropped for slow clients, by endpoint.
    pub ws_messages_dropped: Family<EndpointLabels, Counter>,
    /// Jobs enqueued, by kind.
    pub jobs_enqueued: Family<JobLabels, Counter>,
    /// Jobs run to success, by kind.
    pub jobs_succeeded: Family<JobLabels, Counter>,
    /// Job attempts that failed, by kind.
    pub jobs_failed: Family<JobLabels, Counter>,
    /// Jobs that failed for good (dead), by kind.
    pub jobs_dead: Family<JobLabels, Counter>,
    /// How long job attempts ran, by kind, in seconds.
    pub jobs_duration: JobHistogramFamily,
    /// Jobs waiting to run (sampled at scrape).
    pub jobs_queue_depth: Gauge,
    /// Jobs in the table by status (sampled at scrape).
    pub jobs_by_status: Family<JobStatusLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new() -> Self {
        Self::with_db_statements(Counter::default())
    }

    /// A registry whose `plaza_db_statements_total` is `statements`, the counter a
    /// [`Db`](crate::db::Db) increments (see [`Db::statement_counter`](crate::db::Db::statement_counter)).
    pub fn with_db_statements(statements: Counter) -> Self {
        let mut registry = Registry::with_prefix("plaza");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_duration: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let db_connections = Gauge::default();
        let db_idle_connections = Gauge::default();
        let ws_connections = Family::<EndpointLabels, Gauge>::default();
        let ws_messages_relayed = Family::<EndpointLabels, Counter>::default();
        let ws_messages_dropped = Family::<EndpointLabels, Counter>::default();
        let jobs_enqueued = Family::<JobLabels, Counter>::default();
        let jobs_succeeded = Family::<JobLabels, Counter>::default();
        let jobs_failed = Family::<JobLabels, Counter>::default();
        let jobs_dead = Family::<JobLabels, Counter>::default();
        let jobs_duration: JobHistogramFamily = Family::new_with_constructor(job_histogram);
        let jobs_queue_depth = Gauge::default();
        let jobs_by_status = Family::<JobStatusLabels, Gauge>::default();

        registry.register("http_requests", "HTTP requests", http_requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP latency",
            http_duration.clone(),
        );
        registry.register(
            "db_connections",
            "Database connections open",
            db_connections.clone(),
        );
        registry.register(
            "db_idle_connections",
            "Database connections idle",
            db_idle_connections.clone(),
        );
        registry.register("db_statements", "SQL statements run", statements.clone());
        registry.register(
            "ws_connections",
            "WebSocket connections open",
            ws_connections.clone(),
        );
        registry.register(
            "ws_messages_relayed",
            "Realtime messages delivered",
            ws_messages_relayed.clone(),
        );
        registry.register(
            "ws_messages_dropped",
            "Realtime messages dropped for slow clients",
            ws_messages_dropped.clone(),
        );
        registry.register("jobs_enqueued", "Jobs enqueued", jobs_enqueued.clone());
        registry.register(
            "jobs_succeeded",
            "Jobs run to success",
            jobs_succeeded.clone(),
        );
        registry.register(
            "jobs_failed",
            "Job attempts that failed",
            jobs_failed.clone(),
        );
        registry.register("jobs_dead", "Jobs that failed for good", jobs_dead.clone());
        registry.register(
            "job_duration_seconds",
            "How long job attempts ran",
            jobs_duration.clone(),
        );
        registry.register(
            "jobs_queue_depth",
            "Jobs waiting to run",
            jobs_queue_depth.clone(),
        );
        registry.register(
            "jobs",
            "Jobs in the queue table by status",
            jobs_by_status.clone(),
        );

        Self {
            registry,
            extra: std::sync::Mutex::default(),
            http_requests,
            http_duration,
            db_connections,
            db_idle_connections,
            db_statements: statements,
            ws_connections,
            ws_messages_relayed,
            ws_messages_dropped,
            jobs_enqueued,
            jobs_succeeded,
            jobs_failed,
            jobs_dead,
            jobs_duration,
            jobs_queue_depth,
            jobs_by_status,
        }
    }

    /// Records one finished HTTP request.
    pub fn observe_http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.http_requests
            .get_or_create(&HttpLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// Adds a domain's own registry (metrics with its own prefix), served at `/metrics`
    /// after the kernel's.
    pub fn add_registry(&self, registry: Registry) {
        crate::sync::lock(&self.extra).push(registry);
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode_registry(&mut out, &self.registry);
        for registry in crate::sync::lock(&self.extra).iter() {
            let _ = encode_registry(&mut out, registry);
        }
        let _ = encode_eof(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_recorded_requests() {
        let metrics = Metrics::new();
        metrics.observe_http("GET", "/health/", 200, 0.001);
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"plaza_http_requests_total{method="GET",route="/health/",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains("plaza_jobs_queue_depth"));
    }

    #[test]
    fn encodes_added_registries_before_one_eof() {
        let metrics = Metrics::new();
        let mut registry = Registry::with_prefix("plaza_widgets");
        let made = Counter::<u64>::default();
        registry.register("made", "Widgets made", made.clone());
        made.inc();
        metrics.add_registry(registry);
        let text = metrics.encode();
        assert!(text.contains("plaza_widgets_made_total 1"), "{text}");
        assert_eq!(text.matches("# EOF").count(), 1);
        assert!(text.ends_with("# EOF\n"));
    }
}
