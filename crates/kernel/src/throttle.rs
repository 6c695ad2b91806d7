//! Abuse limits shared across instances: a fixed-window counter per action and client in the
//! [`Cache`] (Redis when configured, so every instance counts the same attempts).
//!
//! ```ignore
//! const REGISTER: Limit = Limit::new("register", 20, Duration::from_secs(3600));
//! REGISTER.hit(&cache, client_ip.as_deref().unwrap_or("unknown")).await?; // 429 when over
//! ```

use std::time::Duration;

use crate::cache::Cache;
use crate::error::{ApiError, ApiResult};

/// At most `max` attempts of one action by one client in each `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// The action's name in the counter's key (`register`, `stream_create`, …).
    pub name: &'static str,
    /// Attempts allowed in a window.
    pub max: u32,
    /// The window, which starts with its first attempt.
    pub window: Duration,
}

impl Limit {
    /// A limit of `max` attempts per `window` for the action `name`.
    pub const fn new(name: &'static str, max: u32, window: Duration) -> Self {
        Self { name, max, window }
    }

    /// Parses DRF's rate syntax: `20/h` (also `/s`, `/m`, `/d`, or the words `second`,
    /// `minute`, `hour`, `day`), or `off` / `0` for no limit.
    pub fn parse(name: &'static str, spec: &str) -> Result<Option<Self>, String> {
        let spec = spec.trim();
        if spec.eq_ignore_ascii_case("off") || spec == "0" {
            return Ok(None);
        }
        let problem = || format!("\"{spec}\" is not a rate (e.g. 20/h, 5/m, or off)");
        let (count, period) = spec.split_once('/').ok_or_else(problem)?;
        let max: u32 = count.trim().parse().map_err(|_| problem())?;
        let window = match period.trim().chars().next() {
            Some('s') => Duration::from_secs(1),
            Some('m') => Duration::from_secs(60),
            Some('h') => Duration::from_secs(3600),
            Some('d') => Duration::from_secs(86_400),
            _ => return Err(problem()),
        };
        Ok((max > 0).then_some(Self { name, max, window }))
    }

    /// Counts one attempt by `who` (an address, a user id): `Ok` while within the limit,
    /// else 429 `throttled` with `Retry-After` set to the rest of the window. A Cache that
    /// cannot be reached is 503: a limit that cannot be counted is not waived.
    pub async fn hit(&self, cache: &Cache, who: &str) -> ApiResult<()> {
        let key = format!("throttle:{}:{who}", self.name);
        let count = cache.incr(&key, self.window).await?;
        if count <= i64::from(self.max) {
            return Ok(());
        }
        let left = cache.ttl(&key).await?.unwrap_or(self.window);
        Err(ApiError::throttled(left.as_secs().max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_as_drf_writes_them() {
        let hour = Limit::parse("x", "20/h").unwrap().unwrap();
        assert_eq!((hour.max, hour.window), (20, Duration::from_secs(3600)));
        let minute = Limit::parse("x", "5/minute").unwrap().unwrap();
        assert_eq!(minute.window, Duration::from_secs(60));
        assert_eq!(Limit::parse("x", "off").unwrap(), None);
        assert_eq!(Limit::parse("x", "0").unwrap(), None);
        for bad in ["20", "x/h", "20/w", "-1/h", ""] {
            assert!(Limit::parse("x", bad).is_err(), "{bad}");
        }
    }

    #[actix_web::test]
    async fn the_attempt_past_the_limit_is_throttled_with_the_time_left() {
        let cache = Cache::in_memory();
        let limit = Limit::new("test", 2, Duration::from_secs(60));
        limit.hit(&cache, "1.2.3.4").await.unwrap();
        limit.hit(&cache, "1.2.3.4").await.unwrap();
        let err = limit.hit(&cache, "1.2.3.4").await.unwrap_err();
        assert_eq!((err.status().as_u16(), err.code()), (429, "throttled"));
        let retry = err.retry_after().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        // Another client and another action count apart.
        limit.hit(&cache, "5.6.7.8").await.unwrap();
        Limit::new("other", 1, Duration::from_secs(60))
            .hit(&cache, "1.2.3.4")
            .await
            .unwrap();
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_rate_setting_parses_or_is_a_problem(spec in ".{0,16}") {
            if let Ok(Some(limit)) = Limit::parse("x", &spec) {
                prop_assert!(limit.max > 0 && !limit.window.is_zero());
            }
        }
    }
}
