//! The AI domain's settings section (`AI_*`), parsed and checked at start with the
//! kernel's [`Env`]; docs/configuration.md lists every variable.
//!
//! OpenAI-compatible providers are named in `AI_PROVIDERS` (`openai,deepseek,ollama`); each
//! name `N` then reads `AI_N_BASE_URL` (required), `AI_N_API_KEY`, `AI_N_MODELS` (the models
//! registered at start: `gpt-4o-mini` or `alias=upstream-name`) and `AI_N_CONTEXT_WINDOW`.
//! Spark's WebSocket API is configured by `AI_SPARK_APP_ID`, `AI_SPARK_API_KEY` and
//! `AI_SPARK_API_SECRET` (all three), with `AI_SPARK_URL` and `AI_SPARK_DOMAIN`; it is model `spark`.

use std::time::Duration;

use plaza_kernel::settings::{Env, Section};
use plaza_kernel::throttle::Limit;

/// One OpenAI-compatible upstream.
#[derive(Clone, Debug)]
pub struct HttpProviderSettings {
    /// Its name (`openai`), as models refer to it.
    pub name: String,
    /// `AI_N_BASE_URL`, e.g. `https://api.openai.com/v1` (`/chat/completions` is appended).
    pub base_url: String,
    /// `AI_N_API_KEY`, sent as `Authorization: Bearer`; none for Ollama and the like.
    pub api_key: Option<String>,
    /// `AI_N_MODELS`: (Plaza name, upstream name) pairs registered at start.
    pub models: Vec<(String, String)>,
    /// `AI_N_CONTEXT_WINDOW`: the context window of the models registered at start.
    pub context_window: i32,
}

/// iFlytek Spark's WebSocket API.
#[derive(Clone, Debug)]
pub struct SparkSettings {
    /// `AI_SPARK_APP_ID`.
    pub app_id: String,
    /// `AI_SPARK_API_KEY`.
    pub api_key: String,
    /// `AI_SPARK_API_SECRET`.
    pub api_secret: String,
    /// `AI_SPARK_URL` (`wss://spark-api.xf-yun.com/v3.5/chat`).
    pub url: String,
    /// `AI_SPARK_DOMAIN` (`generalv3.5`), the `parameter.chat.domain` of that URL.
    pub domain: String,
}

/// The AI domain's settings.
#[derive(Clone, Debug)]
pub struct AiSettings {
    /// OpenAI-compatible upstreams (`AI_PROVIDERS`).
    pub providers: Vec<HttpProviderSettings>,
    /// Spark, when configured.
    pub spark: Option<SparkSettings>,
    /// `AI_DEFAULT_MODEL`: the model used when a request names none (`spark` when Spark is
    /// configured, else the first model registered).
    pub default_model: Option<String>,
    /// `AI_CONNECT_TIMEOUT` (5 s): connecting to an upstream; one retry follows a failure.
    pub connect_timeout: Duration,
    /// `AI_FIRST_TOKEN_TIMEOUT` (60 s): from the request to the first answer byte or token.
    pub first_token_timeout: Duration,
    /// `AI_IDLE_TIMEOUT` (30 s): the longest silence between two chunks of a stream.
    pub idle_timeout: Duration,
    /// `AI_DAILY_TOKEN_QUOTA` (200000; 0 = none): tokens a user may spend per UTC day.
    pub daily_token_quota: i64,
    /// `AI_PREMIUM_DAILY_TOKEN_QUOTA` (2000000; 0 = none): the same for premium users.
    pub premium_daily_token_quota: i64,
    /// `AI_MAX_CONCURRENT_STREAMS` (4; 0 = none): streams one user may have open at once.
    pub max_concurrent_streams: i64,
    /// `THROTTLE_AI_CALL` (default `300/m`): calls one user may make, across instances, on
    /// top of the token quota.
    pub call_limit: Option<Limit>,
    /// `AI_ACCOUNTING_QUEUE` (50000): request rows waiting to be written, at most.
    pub accounting_queue: usize,
    /// `AI_ACCOUNTING_BATCH` (500): rows per insert.
    pub accounting_batch: usize,
    /// `AI_ACCOUNTING_FLUSH_INTERVAL` (1 s): the longest a row waits to be written.
    pub accounting_flush_interval: Duration,
}

/// The Spark endpoint used when `SPARK_URL` is unset.
pub const DEFAULT_SPARK_URL: &str = "wss://spark-api.xf-yun.com/v3.5/chat";

impl Section for AiSettings {
    fn from_env(env: &mut Env<'_>) -> Self {
        let mut providers = Vec::new();
        let mut names = env.list("AI_PROVIDERS");
        if env.optional("AI_OPENAI_BASE_URL").is_some()
            && !names.iter().any(|n| n.eq_ignore_ascii_case("openai"))
        {
            names.insert(0, "openai".to_owned());
        }
        for name in names {
            let name = name.to_ascii_lowercase();
            let upper = name.to_ascii_uppercase().replace('-', "_");
            if name == "spark" {
                env.problem("AI_PROVIDERS: `spark` is configured by AI_SPARK_* instead".to_owned());
                continue;
            }
            let Some(base_url) = env.optional(&format!("AI_{upper}_BASE_URL")) else {
                env.problem(format!(
                    "AI_{upper}_BASE_URL: required for provider `{name}`"
                ));
                continue;
            };
            if url::Url::parse(&base_url).map_or(true, |u| !matches!(u.scheme(), "http" | "https"))
            {
                env.problem(format!("AI_{upper}_BASE_URL: not an http(s) URL"));
            }
            let models = env
                .list(&format!("AI_{upper}_MODELS"))
                .into_iter()
                .map(|entry| match entry.split_once('=') {
                    Some((alias, upstream)) => {
                        (alias.trim().to_owned(), upstream.trim().to_owned())
                    }
                    None => (entry.clone(), entry),
                })
                .collect();
            providers.push(HttpProviderSettings {
                base_url: base_url.trim_end_matches('/').to_owned(),
                api_key: env.optional(&format!("AI_{upper}_API_KEY")),
                models,
                context_window: env.number(
                    &format!("AI_{upper}_CONTEXT_WINDOW"),
                    8192,
                    256,
                    10_000_000,
                ),
                name,
            });
        }
        let spark_parts = (
            env.optional("AI_SPARK_APP_ID"),
            env.optional("AI_SPARK_API_KEY"),
            env.optional("AI_SPARK_API_SECRET"),
        );
        let spark = match spark_parts {
            (Some(app_id), Some(api_key), Some(api_secret)) => Some(SparkSettings {
                app_id,
                api_key,
                api_secret,
                url: env.string("AI_SPARK_URL", DEFAULT_SPARK_URL),
                domain: env.string("AI_SPARK_DOMAIN", "generalv3.5"),
            }),
            (None, None, None) => None,
            _ => {
                env.problem(
                    "AI_SPARK_APP_ID, AI_SPARK_API_KEY, AI_SPARK_API_SECRET: set all three or none"
                        .to_owned(),
                );
                None
            }
        };
        Self {
            providers,
            spark,
            default_model: env.optional("AI_DEFAULT_MODEL"),
            connect_timeout: env.duration("AI_CONNECT_TIMEOUT", Duration::from_secs(5)),
            first_token_timeout: env.duration("AI_FIRST_TOKEN_TIMEOUT", Duration::from_secs(60)),
            idle_timeout: env.duration("AI_IDLE_TIMEOUT", Duration::from_secs(30)),
            daily_token_quota: env.number("AI_DAILY_TOKEN_QUOTA", 200_000, 0, i64::MAX),
            premium_daily_token_quota: env.number(
                "AI_PREMIUM_DAILY_TOKEN_QUOTA",
                2_000_000,
                0,
                i64::MAX,
            ),
            max_concurrent_streams: env.number("AI_MAX_CONCURRENT_STREAMS", 4, 0, 10_000),
            call_limit: env.limit("THROTTLE_AI_CALL", "ai_call", "300/m"),
            accounting_queue: env.number("AI_ACCOUNTING_QUEUE", 50_000, 16, 10_000_000),
            accounting_batch: env.number("AI_ACCOUNTING_BATCH", 500, 1, 10_000),
            accounting_flush_interval: env
                .duration("AI_ACCOUNTING_FLUSH_INTERVAL", Duration::from_secs(1)),
        }
    }
}

impl AiSettings {
    /// Every variable unset: the defaults.
    pub fn defaults() -> Self {
        <Self as Section>::defaults()
    }

    /// The daily token quota of a user (0: none).
    pub fn quota_for(&self, premium: bool) -> i64 {
        if premium {
            self.premium_daily_token_quota
        } else {
            self.daily_token_quota
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> (AiSettings, Vec<String>) {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut env = Env::new(&vars);
        let settings = AiSettings::from_env(&mut env);
        (settings, env.take_problems())
    }

    #[test]
    fn providers_models_and_problems() {
        let (s, problems) = parse(&[
            ("AI_PROVIDERS", "deepseek"),
            ("AI_OPENAI_BASE_URL", "https://api.openai.com/v1/"),
            ("AI_OPENAI_API_KEY", "sk-test"),
            ("AI_OPENAI_MODELS", "gpt-4o-mini,fast=gpt-4o"),
        ]);
        assert_eq!(s.providers.len(), 1);
        assert_eq!(s.providers[0].base_url, "https://api.openai.com/v1");
        assert_eq!(
            s.providers[0].models,
            [
                ("gpt-4o-mini".to_owned(), "gpt-4o-mini".to_owned()),
                ("fast".to_owned(), "gpt-4o".to_owned())
            ]
        );
        assert_eq!(
            problems,
            ["AI_DEEPSEEK_BASE_URL: required for provider `deepseek`"]
        );

        let (s, problems) = parse(&[("AI_SPARK_APP_ID", "a"), ("AI_SPARK_API_KEY", "k")]);
        assert!(s.spark.is_none());
        assert_eq!(problems.len(), 1, "{problems:?}");
        let (s, problems) = parse(&[]);
        assert!(problems.is_empty() && s.providers.is_empty() && s.spark.is_none());
        assert_eq!(s.daily_token_quota, 200_000);
    }
}
