//! Time: UTC everywhere, microsecond precision (what MySQL `DATETIME(6)` keeps).

use chrono::{DateTime, NaiveDate, NaiveDateTime, SubsecRound, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::mysql::{Mysql, MysqlValue};
use diesel::sql_types::Timestamp;
use diesel::sqlite::{Sqlite, SqliteValue};

use crate::db::MultiBackend;

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

/// A stored time as a query reads it, for the rows a list reads by the page. SQLite keeps
/// times as text, and diesel reads each with chrono's format-string parser, trying formats in
/// turn: a sixth of a social timeline page's CPU went to its 42 timestamps. `Stamp` reads the
/// text Plaza writes (`YYYY-MM-DD HH:MM:SS[.fraction]`) directly and hands anything else to
/// diesel; MySQL's binary times always go to diesel. It dereferences to the `NaiveDateTime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, FromSqlRow)]
pub struct Stamp(pub NaiveDateTime);

impl std::ops::Deref for Stamp {
    type Target = NaiveDateTime;

    fn deref(&self) -> &NaiveDateTime {
        &self.0
    }
}

impl From<Stamp> for NaiveDateTime {
    fn from(stamp: Stamp) -> Self {
        stamp.0
    }
}

impl FromSql<Timestamp, Sqlite> for Stamp {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        if let Some(t) = parse_stored(value.read_text()) {
            return Ok(Self(t));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Self)
    }
}

impl FromSql<Timestamp, Mysql> for Stamp {
    fn from_sql(value: MysqlValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Mysql>>::from_sql(value).map(Self)
    }
}

impl FromSql<Timestamp, MultiBackend> for Stamp {
    fn from_sql(
        value: <MultiBackend as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional `.` and 1–9 digits of fraction, as diesel writes a
/// `NaiveDateTime` to SQLite; `None` for anything else (or an impossible date).
fn parse_stored(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0_u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let n = num(20..b.len())?;
            n * 10_u32.pow(9 - u32::try_from(digits.len()).ok()?)
        }
        _ => return None,
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, num(5..7)?, num(8..10)?)?.and_hms_nano_opt(
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
        nanos,
    )
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

    #[test]
    fn stored_times_read_as_chrono_reads_them() {
        for text in [
            "2026-12-03 21:02:23",
            "2026-12-03 21:02:23.222225",
            "2026-12-03 21:02:23.2",
            "1970-01-01 00:00:00.000000001",
            "9999-12-31 23:59:59.999999",
            "2024-02-29 12:00:00.5",
        ] {
            let chrono = NaiveDateTime::parse_from_str(text, "%F %T%.f").unwrap();
            assert_eq!(parse_stored(text), Some(chrono), "{text}");
        }
        // Anything else is left to diesel's own reading.
        for text in [
            "2026-12-03T21:02:23",
            "2026-12-03 21:02",
            "2026-02-30 00:00:00",
            "2026-12-03 24:00:00",
            "2026-12-03 21:02:23.",
            "2026-12-03 21:02:23.1234567890",
            "2026-12-03 21:02:23+01:00",
            "2026-1a-03 21:02:23",
            "",
        ] {
            assert_eq!(parse_stored(text), None, "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_time_now_writes_reads_back_the_same(secs in 0_i64..253_402_300_799, micros in 0_u32..1_000_000) {
            let t = DateTime::from_timestamp(secs, micros * 1000).unwrap().naive_utc();
            // As diesel writes it to SQLite.
            let text = t.format("%F %T%.f").to_string();
            proptest::prop_assert_eq!(parse_stored(&text), Some(t));
        }
    }
}
