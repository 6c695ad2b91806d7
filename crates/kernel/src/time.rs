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

/// Whether both backends store `t` as it is: from 1970 (the MySQL driver refuses earlier
/// times) to the end of year 9999 (`DATETIME`'s last). A time a client sends is checked with
/// this before it is written, so a far date is a 400 naming its field, not a database error.
pub fn storable(t: NaiveDateTime) -> bool {
    let first = DateTime::UNIX_EPOCH.naive_utc();
    let last = NaiveDateTime::parse_from_str("9999-12-31 23:59:59", "%Y-%m-%d %H:%M:%S")
        .unwrap_or(NaiveDateTime::MAX);
    (first..=last).contains(&t)
}

/// The message for a time that is not [`storable`].
pub const UNSTORABLE: &str = "Enter a date and time between 1970-01-01 and 9999-12-31.";

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
    fn storable_times_are_those_both_backends_keep() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        assert!(storable(at("1970-01-01 00:00:00")));
        assert!(storable(at("9999-12-31 23:59:59")));
        assert!(storable(now()));
        assert!(!storable(at("1969-12-31 23:59:59")));
        assert!(!storable(at("0001-01-01 00:00:00")));
        assert!(!storable(at("+10000-01-01 00:00:00")));
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
