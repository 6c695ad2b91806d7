//! Accounting: every call becomes an `ai_requests` row, also when the upstream fails or the
//! client goes away mid-stream. A call's tokens (the upstream's, or counted with the
//! tokenizer), cost, metrics and quota charge are settled when it ends ([`Accountant::finish`]:
//! no database work); its row goes into a bounded queue that one flusher task per process
//! writes in multi-row inserts, at most `AI_ACCOUNTING_BATCH` rows at a time and at least every
//! `AI_ACCOUNTING_FLUSH_INTERVAL`, so a completion never waits on the database. The flusher
//! drains the queue at shutdown. A full queue drops the row and counts it
//! (`plaza_ai_accounting_rows_dropped_total`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use plaza_kernel::{Cache, Db};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::{AiMetrics, ModelLabels, StatusLabels, TokenLabels};
use crate::model::{self, ModelRow, NewRequestRow};
use crate::provider::{ChatMessage, Usage};
use crate::{quota, tokens};

/// What a finished call reports.
#[derive(Debug)]
pub struct Call {
    /// Caller.
    pub user_id: i64,
    /// The model called.
    pub model: Arc<ModelRow>,
    /// `gateway`, `chat`, `forum`.
    pub endpoint: &'static str,
    /// Streamed.
    pub stream: bool,
    /// The prompt sent (counted when the upstream gives no usage).
    pub prompt: Vec<ChatMessage>,
    /// The answer received (all of it, or what arrived before the end).
    pub completion: String,
    /// The upstream's counts, if it gave them.
    pub usage: Option<Usage>,
    /// When the call started (wall clock).
    pub started_at: chrono::NaiveDateTime,
    /// When the call started.
    pub started: Instant,
    /// Time spent waiting on the upstream.
    pub upstream: Duration,
    /// Time to the first token (streams).
    pub ttft: Option<Duration>,
    /// `ok`, `upstream_error`, `timeout`, `client_disconnect`.
    pub status: &'static str,
    /// What went wrong, safe to show.
    pub error: Option<String>,
}

/// The settled counts of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settled {
    /// Counts (the upstream's, or counted here).
    pub usage: Usage,
    /// Counted here.
    pub estimated: bool,
    /// Micro-USD.
    pub cost: i64,
}

/// The cost of `usage` at a model's prices (micro-USD per 1000 tokens), rounded to the
/// nearest micro-USD.
pub fn cost(model: &ModelRow, usage: Usage) -> i64 {
    let micro_thousandths = i128::from(usage.prompt_tokens) * i128::from(model.input_price)
        + i128::from(usage.completion_tokens) * i128::from(model.output_price);
    i64::try_from((micro_thousandths + 500) / 1000).unwrap_or(i64::MAX)
}

/// Settles calls and queues their rows for the flusher.
pub struct Accountant {
    rows: mpsc::Sender<NewRequestRow>,
    flushes: mpsc::Sender<oneshot::Sender<()>>,
    cache: web::Data<Cache>,
    metrics: Arc<AiMetrics>,
}

impl std::fmt::Debug for Accountant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accountant").finish_non_exhaustive()
    }
}

impl Accountant {
    /// Starts the flusher (a Tokio task) over `db`.
    pub fn start(
        db: Db,
        cache: web::Data<Cache>,
        metrics: Arc<AiMetrics>,
        queue: usize,
        batch: usize,
        interval: Duration,
    ) -> Self {
        let (rows, rx) = mpsc::channel(queue);
        let (flushes, flush_rx) = mpsc::channel(16);
        tokio::spawn(flush_loop(db, rx, flush_rx, batch, interval));
        Self {
            rows,
            flushes,
            cache,
            metrics,
        }
    }

    /// Settles `call` (tokens, cost, metrics, quota) and queues its row.
    pub async fn finish(&self, call: Call) -> Settled {
        let (usage, estimated) = match call.usage {
            Some(usage) => (usage, false),
            None => (
                Usage {
                    prompt_tokens: tokens::count_messages(&call.prompt),
                    completion_tokens: tokens::count(&call.completion),
                },
                true,
            ),
        };
        let cost = cost(&call.model, usage);
        let elapsed = call.started.elapsed();
        let model = call.model.name.clone();
        let labels = ModelLabels {
            model: model.clone(),
        };
        self.metrics
            .tokens
            .get_or_create(&TokenLabels {
                model: model.clone(),
                kind: "prompt",
            })
            .inc_by(u64::from(usage.prompt_tokens));
        self.metrics
            .tokens
            .get_or_create(&TokenLabels {
                model: model.clone(),
                kind: "completion",
            })
            .inc_by(u64::from(usage.completion_tokens));
        self.metrics
            .cost
            .get_or_create(&labels)
            .inc_by(u64::try_from(cost).unwrap_or(0));
        self.metrics
            .requests
            .get_or_create(&StatusLabels {
                model: model.clone(),
                status: call.status,
            })
            .inc();
        self.metrics
            .upstream_seconds
            .get_or_create(&labels)
            .observe(call.upstream.as_secs_f64());
        self.metrics
            .overhead_seconds
            .get_or_create(&labels)
            .observe(elapsed.saturating_sub(call.upstream).as_secs_f64());
        let total = i64::from(usage.prompt_tokens) + i64::from(usage.completion_tokens);
        quota::charge(&self.cache, call.user_id, total).await;

        let ms = |d: Duration| i32::try_from(d.as_millis()).unwrap_or(i32::MAX);
        let row = NewRequestRow {
            user_id: call.user_id,
            model,
            provider: call.model.provider.clone(),
            endpoint: call.endpoint,
            stream: call.stream,
            prompt_tokens: i32::try_from(usage.prompt_tokens).unwrap_or(i32::MAX),
            completion_tokens: i32::try_from(usage.completion_tokens).unwrap_or(i32::MAX),
            tokens_estimated: estimated,
            cost,
            latency_ms: ms(elapsed),
            ttft_ms: call.ttft.map(ms),
            status: call.status,
            error: call.error.map(|e| e.chars().take(255).collect()),
            created_at: call.started_at,
        };
        // The flusher drains the queue on its own ticks: a row never wakes it.
        if self.rows.try_send(row).is_err() {
            self.metrics.rows_dropped.inc();
            tracing::warn!("AI accounting queue full; a request row was dropped");
        }
        Settled {
            usage,
            estimated,
            cost,
        }
    }

    /// Writes every row queued so far; returns when they are written (or failed).
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.flushes.send(ack).await.is_ok() {
            let _ = done.await;
        }
    }
}

async fn flush_loop(
    db: Db,
    mut rows: mpsc::Receiver<NewRequestRow>,
    mut flushes: mpsc::Receiver<oneshot::Sender<()>>,
    batch: usize,
    interval: Duration,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let ack = tokio::select! {
            _ = ticker.tick() => None,
            ack = flushes.recv() => match ack {
                Some(ack) => Some(ack),
                // The accountant is gone: write what is left and stop.
                None => {
                    drain(&db, &mut rows, batch).await;
                    return;
                }
            },
        };
        drain(&db, &mut rows, batch).await;
        if let Some(ack) = ack {
            let _ = ack.send(());
        }
    }
}

/// Writes every row queued now, `batch` rows per insert.
async fn drain(db: &Db, rows: &mut mpsc::Receiver<NewRequestRow>, batch: usize) {
    loop {
        let mut buffer = Vec::with_capacity(batch.min(rows.len()).max(1));
        while buffer.len() < batch {
            match rows.try_recv() {
                Ok(row) => buffer.push(row),
                Err(_) => break,
            }
        }
        if buffer.is_empty() {
            return;
        }
        let full = buffer.len() == batch;
        write(db, buffer).await;
        if !full {
            return;
        }
    }
}

async fn write(db: &Db, rows: Vec<NewRequestRow>) {
    let count = rows.len();
    if let Err(error) = db
        .write(move |conn| Ok(model::insert_requests(conn, &rows)?))
        .await
    {
        tracing::error!(%error, rows = count, "could not write AI request rows");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_rounds_micro_usd() {
        let model = ModelRow {
            id: 1,
            name: "m".to_owned(),
            provider: "p".to_owned(),
            upstream_model: "m".to_owned(),
            kind: "text".to_owned(),
            context_window: 8192,
            input_price: 150,
            output_price: 600,
            is_active: true,
            default_params: "{}".to_owned(),
            created_at: chrono::NaiveDateTime::default(),
            updated_at: chrono::NaiveDateTime::default(),
        };
        // 1000 * 150/1000 + 500 * 600/1000 = 150 + 300
        assert_eq!(
            cost(
                &model,
                Usage {
                    prompt_tokens: 1000,
                    completion_tokens: 500
                }
            ),
            450
        );
        // 3 * 0.15 = 0.45 → 0; 7 * 0.15 + 1 * 0.6 = 1.65 → 2
        assert_eq!(
            cost(
                &model,
                Usage {
                    prompt_tokens: 3,
                    completion_tokens: 0
                }
            ),
            0
        );
        assert_eq!(
            cost(
                &model,
                Usage {
                    prompt_tokens: 7,
                    completion_tokens: 1
                }
            ),
            2
        );
    }
}
