//! Why a job attempt failed, and whether trying again can help.

use std::fmt;
use std::time::Duration;

/// The longest error kept in `jobs.last_error`.
pub const MAX_ERROR_LEN: usize = 4000;

/// A failed attempt. By default the job is retried with exponential backoff until it runs out
/// of attempts; [`JobError::permanent`] makes it dead at once (a payload that can never work),
/// and [`JobError::retry_after`] picks the delay (an upstream's `Retry-After`).
///
/// Any `std::error::Error` converts with `?` into a retryable failure, so handlers read like
/// ordinary async functions.
pub struct JobError {
    message: String,
    permanent: bool,
    retry_after: Option<Duration>,
}

impl JobError {
    /// A failure worth retrying.
    pub fn retry(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            permanent: false,
            retry_after: None,
        }
    }

    /// A failure worth retrying after `delay` (instead of the backoff).
    pub fn retry_after(message: impl fmt::Display, delay: Duration) -> Self {
        Self {
            retry_after: Some(delay),
            ..Self::retry(message)
        }
    }

    /// A failure no retry can fix: the job is dead at once.
    pub fn permanent(message: impl fmt::Display) -> Self {
        Self {
            permanent: true,
            ..Self::retry(message)
        }
    }

    /// Whether retrying is pointless.
    pub fn is_permanent(&self) -> bool {
        self.permanent
    }

    /// The delay the handler asked for, if any.
    pub fn requested_delay(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The message kept in `last_error`.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: std::error::Error> From<E> for JobError {
    fn from(err: E) -> Self {
        // Keep the causes: "sending failed: connection refused".
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            let cause = cause.to_string();
            if !message.contains(&cause) {
                message.push_str(": ");
                message.push_str(&cause);
            }
            source = cause_of(source);
        }
        Self::retry(message)
    }
}

fn cause_of<'a>(
    err: Option<&'a (dyn std::error::Error + 'static)>,
) -> Option<&'a (dyn std::error::Error + 'static)> {
    err.and_then(std::error::Error::source)
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobError")
            .field("message", &self.message)
            .field("permanent", &self.permanent)
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

/// `message` cut to at most `max` bytes on a character boundary.
pub(crate) fn truncate(message: &str, max: usize) -> String {
    if message.len() <= max {
        return message.to_owned();
    }
    let mut end = max;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("sending failed")
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn errors_convert_with_their_causes_and_are_retryable() {
        let err: JobError = Outer(std::io::Error::other("connection refused")).into();
        assert_eq!(err.message(), "sending failed: connection refused");
        assert!(!err.is_permanent());
        assert!(JobError::permanent("bad payload").is_permanent());
        assert_eq!(
            JobError::retry_after("busy", Duration::from_secs(3)).requested_delay(),
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn truncates_on_a_character_boundary() {
        assert_eq!(truncate("héllo", 2), "h…");
        assert_eq!(truncate("short", 10), "short");
    }
}
