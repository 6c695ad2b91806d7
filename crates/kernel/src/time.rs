//! Time: UTC everywhere, microsecond precision (what MySQL `DATETIME(6)` keeps).

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

/// Now, in UTC, truncated to microseconds so a value read back from either backend equals
/// the value written.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A stored UTC time as an API value (serialised as RFC 3339 with `Z`).
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// An optional stored UTC time as an API value.
pub fn utc_opt(t: Option<NaiveDateTime>) -> Option<DateTime<Utc>> {
    t.map(utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_has_microsecond_precision() {
        let t = now();
        assert_eq!(t.and_utc().timestamp_subsec_nanos() % 1000, 0);
    }

    #[test]
    fn renders_rfc3339_utc() {
        let t = NaiveDateTime::parse_from_str("2026-11-20 08:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(
            serde_json::to_string(&utc(t)).unwrap(),
            "\"2026-11-20T08:00:00Z\""
        );
    }
}
