//! The AI domain's per-process state ([`Ai`]): its settings, the configured providers, the
//! models registry cached in memory, the accountant and its flusher, the metrics.
//!
//! [`DOMAIN`](crate::DOMAIN)'s `start` creates it with the server, registers it as app data
//! and, at shutdown, flushes the accounting queue. Handlers take it as [`AiState`], which in
//! an app that mounts [`configure`](crate::configure) alone starts one on first use.

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use plaza_kernel::domain::{Running, StopFuture};
use plaza_kernel::metrics::Metrics;
use plaza_kernel::settings::Settings;
use plaza_kernel::sync::lock;
use plaza_kernel::{ApiError, ApiResult, Cache, Db, Realtime, Services};

use crate::accounting::Accountant;
use crate::metrics::AiMetrics;
use crate::model::{self, ModelFields, ModelRow};
use crate::provider::{spark, Providers};
use crate::settings::AiSettings;

/// How long this process trusts its copy of the models registry (another instance's staff
/// edit shows here within this time; this instance's own edits at once).
pub const MODELS_TTL: Duration = Duration::from_secs(2);

/// How long a user's premium flag is trusted.
const PREMIUM_TTL: Duration = Duration::from_secs(60);

#[derive(Default)]
struct ModelCache {
    loaded: Option<Instant>,
    by_name: HashMap<String, Arc<ModelRow>>,
    ordered: Vec<Arc<ModelRow>>,
}

/// The AI domain's per-process state.
pub struct Ai {
    /// Settings.
    pub settings: web::Data<AiSettings>,
    /// Configured providers.
    pub providers: Providers,
    /// Settles calls and writes their rows.
    pub accountant: Accountant,
    /// Metrics.
    pub metrics: Arc<AiMetrics>,
    /// The database.
    pub db: Db,
    /// The cache (quotas, stream slots).
    pub cache: web::Data<Cache>,
    models: RwLock<ModelCache>,
    registered: tokio::sync::OnceCell<()>,
    premium: Mutex<HashMap<i64, (bool, Instant)>>,
}

impl std::fmt::Debug for Ai {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ai")
            .field("providers", &self.providers)
            .finish_non_exhaustive()
    }
}

impl Ai {
    /// This process's state for `realtime` (one per server), started now if it is not yet:
    /// the accountant's flusher task, the metrics registered in `metrics`. Needs a Tokio
    /// runtime.
    pub fn start(
        realtime: &Realtime,
        db: &Db,
        cache: &web::Data<Cache>,
        metrics: &Metrics,
        settings: web::Data<AiSettings>,
    ) -> Arc<Self> {
        let mut fresh = false;
        let ai = realtime.state(|| {
            fresh = true;
            let (ai_metrics, registry) = AiMetrics::new();
            metrics.add_registry(registry);
            let ai_metrics = Arc::new(ai_metrics);
            // The tokenizer takes a moment to load: not on a request's time.
            tokio::task::spawn_blocking(crate::tokens::warm_up);
            Self {
                providers: Providers::from_settings(&settings),
                accountant: Accountant::start(
                    db.clone(),
                    cache.clone(),
                    ai_metrics.clone(),
                    settings.accounting_queue,
                    settings.accounting_batch,
                    settings.accounting_flush_interval,
                ),
                metrics: ai_metrics,
                db: db.clone(),
                cache: cache.clone(),
                settings,
                models: RwLock::default(),
                registered: tokio::sync::OnceCell::new(),
                premium: Mutex::default(),
            }
        });
        if fresh {
            // Register the configured models now rather than at the first request (which
            // still waits for it if it comes first).
            let starting = ai.clone();
            tokio::spawn(async move {
                if let Err(error) = starting.ensure_registered().await {
                    tracing::warn!(%error, "could not register the configured AI models yet");
                }
            });
        }
        ai
    }

    /// The models the settings configure, as registered at start.
    pub fn configured_models(&self) -> Vec<ModelFields> {
        let now = plaza_kernel::time::now();
        let mut models: Vec<ModelFields> = self
            .settings
            .providers
            .iter()
            .flat_map(|p| {
                p.models.iter().map(move |(name, upstream)| ModelFields {
                    name: name.clone(),
                    provider: p.name.clone(),
                    upstream_model: upstream.clone(),
                    kind: "text".to_owned(),
                    context_window: p.context_window,
                    input_price: 0,
                    output_price: 0,
                    is_active: true,
                    default_params: "{}".to_owned(),
                    updated_at: now,
                })
            })
            .collect();
        if let Some(spark) = &self.settings.spark {
            models.push(ModelFields {
                name: spark::NAME.to_owned(),
                provider: spark::NAME.to_owned(),
                upstream_model: spark.domain.clone(),
                kind: "text".to_owned(),
                context_window: 8192,
                input_price: 0,
                output_price: 0,
                is_active: true,
                default_params: "{}".to_owned(),
                updated_at: now,
            });
        }
        models
    }

    /// Registers the configured models once per process (before the first lookup).
    async fn ensure_registered(&self) -> ApiResult<()> {
        self.registered
            .get_or_try_init(|| async {
                let models = self.configured_models();
                if !models.is_empty() {
                    let added = self
                        .db
                        .write(move |conn| {
                            Ok(model::register_models(
                                conn,
                                &models,
                                plaza_kernel::time::now(),
                            )?)
                        })
                        .await?;
                    if added > 0 {
                        tracing::info!(added, "registered the configured AI models");
                    }
                }
                Ok::<(), ApiError>(())
            })
            .await
            .map(|_| ())
    }

    async fn refresh(&self) -> ApiResult<()> {
        let fresh = read(&self.models)
            .loaded
            .is_some_and(|at| at.elapsed() < MODELS_TTL);
        if fresh {
            return Ok(());
        }
        self.ensure_registered().await?;
        let rows = self.db.run(|conn| Ok(model::all_models(conn)?)).await?;
        let ordered: Vec<Arc<ModelRow>> = rows.into_iter().map(Arc::new).collect();
        let by_name = ordered
            .iter()
            .map(|m| (m.name.clone(), m.clone()))
            .collect();
        *write(&self.models) = ModelCache {
            loaded: Some(Instant::now()),
            by_name,
            ordered,
        };
        Ok(())
    }

    /// The model named `name` (active or not).
    pub async fn model(&self, name: &str) -> ApiResult<Option<Arc<ModelRow>>> {
        self.refresh().await?;
        Ok(read(&self.models).by_name.get(name).cloned())
    }

    /// Every model, by name.
    pub async fn models(&self) -> ApiResult<Vec<Arc<ModelRow>>> {
        self.refresh().await?;
        Ok(read(&self.models).ordered.clone())
    }

    /// Forgets the cached registry (after a staff edit).
    pub fn invalidate_models(&self) {
        write(&self.models).loaded = None;
    }

    /// The model used when a request names none: `AI_DEFAULT_MODEL`, else `spark` when
    /// configured, else the first active text model.
    pub async fn default_model(&self) -> ApiResult<Option<Arc<ModelRow>>> {
        if let Some(name) = &self.settings.default_model {
            return self.model(name).await;
        }
        if self.settings.spark.is_some() {
            return self.model(spark::NAME).await;
        }
        Ok(self
            .models()
            .await?
            .into_iter()
            .find(|m| m.is_active && m.kind == "text"))
    }

    /// Whether `user_id` is premium (cached a minute).
    pub async fn is_premium(&self, user_id: i64) -> ApiResult<bool> {
        if let Some((premium, at)) = lock(&self.premium).get(&user_id) {
            if at.elapsed() < PREMIUM_TTL {
                return Ok(*premium);
            }
        }
        let premium = self
            .db
            .run(move |conn| Ok(plaza_users::is_premium(conn, user_id)?))
            .await?;
        let mut cache = lock(&self.premium);
        if cache.len() > 100_000 {
            cache.clear();
        }
        cache.insert(user_id, (premium, Instant::now()));
        Ok(premium)
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The AI domain's `start`: this process's [`Ai`], registered as app data and flushed at
/// shutdown.
pub fn start(services: &Services) -> Option<Box<dyn Running>> {
    // A bad credential on the gateway's paths is answered by the kernel before any handler
    // runs: in OpenAI's shape there too, so the SDKs raise their own exception.
    for prefix in ["/v1/", "/api/v1/ai/chat/completions"] {
        services
            .error_shapes
            .add(prefix, crate::gateway::openai_error);
    }
    let settings = services.sections.get_or_default::<AiSettings>();
    let ai = Ai::start(
        &services.realtime,
        &services.db,
        &services.cache,
        &services.metrics,
        settings,
    );
    Some(Box::new(Started(ai)))
}

struct Started(Arc<Ai>);

impl Running for Started {
    fn register(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::from(self.0.clone()));
    }

    fn stop<'a>(&'a self, _: &'a Services) -> StopFuture<'a> {
        Box::pin(self.0.accountant.flush())
    }
}

/// This process's [`Ai`], as a handler argument.
#[derive(Clone, Debug)]
pub struct AiState(pub Arc<Ai>);

impl std::ops::Deref for AiState {
    type Target = Ai;

    fn deref(&self) -> &Ai {
        &self.0
    }
}

impl FromRequest for AiState {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(ai) = req.app_data::<web::Data<Ai>>() {
            return ready(Ok(Self(ai.clone().into_inner())));
        }
        let (Some(realtime), Some(db), Some(cache), Some(metrics)) = (
            req.app_data::<web::Data<Realtime>>(),
            req.app_data::<web::Data<Db>>(),
            req.app_data::<web::Data<Cache>>(),
            req.app_data::<web::Data<Metrics>>(),
        ) else {
            return ready(Err(ApiError::internal(
                "plaza-ai needs Realtime, Db, Cache and Metrics in app data",
            )));
        };
        let settings = Settings::<AiSettings>::of(req).0;
        ready(Ok(Self(Ai::start(realtime, db, cache, metrics, settings))))
    }
}
