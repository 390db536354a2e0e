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

/// Result of core operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
