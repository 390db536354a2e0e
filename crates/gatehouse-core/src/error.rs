//! Outcomes of core use cases, named for what happened rather than which library failed.

/// The error type of every core use case and port.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input broke a rule; `field` names the offending field for the caller.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// No credential, or one that does not verify.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller is known but lacks the right.
    #[error("{0}")]
    Forbidden(String),
    /// Unknown, or not visible to the caller (never distinguished, so existence does not leak).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness or state conflict.
    #[error("{0}")]
    Conflict(String),
    /// The service cannot take this now (e.g. the node is shutting down); worth retrying elsewhere.
    #[error("{0}")]
    Unavailable(&'static str),
    /// A third-party provider refused or failed (SPEC §7): its answer, without secrets.
    #[error("{0}")]
    Upstream(String),
    /// Nobody answered in time (a consent prompt, SPEC §7.2 step 4).
    #[error("{0}")]
    Timeout(String),
    /// The participant asked for consent said no; the message carries its reason.
    #[error("{0}")]
    Rejected(String),
    /// Anything else: storage down, a library failure. Detail is logged, never sent to clients.
    #[error("unexpected failure")]
    Unexpected(#[source] anyhow::Error),
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Wraps any library failure as [`Error::Unexpected`].
    pub fn unexpected(e: impl Into<anyhow::Error>) -> Self {
        Self::Unexpected(e.into())
    }
}

/// The one-line log text of an unexpected failure: its chain of causes (`outer: inner`), never
/// the backtrace anyhow's `{:?}` adds when `RUST_BACKTRACE` is set, so that a request that fails
/// cannot write more than a line to the log.
pub fn log_chain(e: &anyhow::Error) -> String {
    format!("{e:#}")
}

/// Result of core operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use std::backtrace::Backtrace;

    use super::log_chain;

    /// A failure that carries a captured backtrace, as library errors do.
    #[derive(Debug)]
    struct Gone {
        backtrace: Backtrace,
    }

    impl std::fmt::Display for Gone {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("the database is gone")
        }
    }

    impl std::error::Error for Gone {}

    #[test]
    fn a_logged_failure_is_its_chain_on_one_line_without_a_backtrace() {
        let gone = Gone {
            backtrace: Backtrace::force_capture(),
        };
        let frames = gone.backtrace.to_string();
        let e = anyhow::Error::from(gone).context("listing clients");
        assert!(
            format!("{e:?}").contains("Caused by"),
            "the debug form is several lines"
        );
        let line = log_chain(&e);
        assert_eq!(line, "listing clients: the database is gone");
        assert!(!frames.is_empty() && !line.contains(frames.lines().next().unwrap()));
    }
}
