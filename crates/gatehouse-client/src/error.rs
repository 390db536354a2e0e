//! The one error type of the client, and how a failed response body becomes one.

use gatehouse_types::{ErrorBody, OAuthErrorBody};

/// Longest excerpt of a non-JSON error body kept in [`Error::Api`]'s message.
const MAX_BODY_EXCERPT: usize = 200;

/// Why a request failed. `Display` is always a single line, e.g. `404 not_found: client not found`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with a non-success status. `error` is the stable code of the
    /// `{"error","message"}` body (SPEC §3), or `http_<status>` when the body was not that JSON.
    #[error("{status} {error}: {message}")]
    Api {
        status: u16,
        error: String,
        message: String,
    },
    /// The request never got an answer: connection refused, TLS failure, timeout, ….
    ///
    /// The message already carries the whole cause chain on one line, so the inner error is
    /// deliberately not exposed as `source()` (a chain printer would repeat it).
    #[error("request failed: {}", chain(.0))]
    Transport(reqwest::Error),
    /// A success response whose body was not the expected JSON.
    #[error("unexpected response body: {0}")]
    Decode(serde_json::Error),
    /// A caller-supplied argument cannot be sent, e.g. a path segment of `..` or an invalid base URL.
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

impl Error {
    /// The HTTP status of an [`Error::Api`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The stable error code of an [`Error::Api`] (`not_found`, `conflict`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Builds the error for a non-success response from its status and raw body.
    pub(crate) fn from_response(status: u16, body: &[u8]) -> Self {
        if let Ok(ErrorBody { error, message }) = serde_json::from_slice::<ErrorBody>(body) {
            return Self::Api {
                status,
                error: one_line(&error),
                message: one_line(&message),
            };
        }
        let text = String::from_utf8_lossy(body);
        let text = one_line(text.trim());
        let message = if text.is_empty() {
            reason_phrase(status).to_owned()
        } else if text.chars().count() > MAX_BODY_EXCERPT {
            let mut cut: String = text.chars().take(MAX_BODY_EXCERPT).collect();
            cut.push('…');
            cut
        } else {
            text
        };
        Self::Api {
            status,
            error: format!("http_{status}"),
            message,
        }
    }
}

impl Error {
    /// Builds the error for a non-success answer of an OAuth endpoint, whose body is
    /// `{"error", "error_description"}` (RFC 6749 §5.2): `error` becomes the code
    /// (`authorization_pending`, `invalid_grant`, …) and the description the message.
    pub(crate) fn from_oauth_response(status: u16, body: &[u8]) -> Self {
        if serde_json::from_slice::<ErrorBody>(body).is_ok() {
            return Self::from_response(status, body);
        }
        match serde_json::from_slice::<OAuthErrorBody>(body) {
            Ok(OAuthErrorBody {
                error,
                error_description,
            }) => Self::Api {
                status,
                error: one_line(&error),
                message: match error_description {
                    Some(text) if !text.trim().is_empty() => one_line(&text),
                    _ => reason_phrase(status).to_owned(),
                },
            },
            Err(_) => Self::from_response(status, body),
        }
    }
}

/// Collapses line breaks and other control characters so `Display` stays one line.
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_control())
        .filter(|part| !part.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

fn reason_phrase(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("no response body")
}

/// `error: cause: cause …` on one line.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // hyper and reqwest sometimes repeat their child's message verbatim.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    one_line(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_error_body_becomes_api_error() {
        let err = Error::from_response(404, br#"{"error":"not_found","message":"client not found"}"#);
        assert_eq!(err.to_string(), "404 not_found: client not found");
        assert_eq!(err.status(), Some(404));
        assert_eq!(err.code(), Some("not_found"));
    }

    #[test]
    fn non_json_body_becomes_http_status_code() {
        let err = Error::from_response(502, b"<html>\n<body>Bad gateway</body>\n</html>\n");
        match &err {
            Error::Api { status, error, message } => {
                assert_eq!(*status, 502);
                assert_eq!(error, "http_502");
                assert_eq!(message, "<html> <body>Bad gateway</body> </html>");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(!err.to_string().contains('\n'));
    }

    #[test]
    fn empty_body_uses_the_reason_phrase() {
        let err = Error::from_response(405, b"");
        assert_eq!(err.to_string(), "405 http_405: Method Not Allowed");
    }

    #[test]
    fn json_of_another_shape_is_treated_as_text() {
        let err = Error::from_response(400, br#"{"detail":"nope"}"#);
        assert_eq!(err.code(), Some("http_400"));
        assert_eq!(err.to_string(), r#"400 http_400: {"detail":"nope"}"#);
    }

    #[test]
    fn long_bodies_are_cut() {
        let body = "x".repeat(1000);
        let Error::Api { message, .. } = Error::from_response(500, body.as_bytes()) else {
            panic!("expected Api");
        };
        assert_eq!(message.chars().count(), MAX_BODY_EXCERPT + 1);
        assert!(message.ends_with('…'));
    }

    #[test]
    fn oauth_error_body_becomes_api_error_with_the_oauth_code() {
        let err = Error::from_oauth_response(
            400,
            br#"{"error":"authorization_pending","error_description":"the user has not answered yet"}"#,
        );
        assert_eq!(err.code(), Some("authorization_pending"));
        assert_eq!(
            err.to_string(),
            "400 authorization_pending: the user has not answered yet"
        );
        let bare = Error::from_oauth_response(400, br#"{"error":"slow_down"}"#);
        assert_eq!(bare.to_string(), "400 slow_down: Bad Request");
    }

    #[test]
    fn non_oauth_error_body_of_an_oauth_endpoint_is_read_as_usual() {
        let err = Error::from_oauth_response(502, b"bad gateway");
        assert_eq!(err.code(), Some("http_502"));
        let rest = Error::from_oauth_response(404, br#"{"error":"not_found","message":"no such route"}"#);
        assert_eq!(rest.to_string(), "404 not_found: no such route");
    }

    #[test]
    fn multi_line_messages_are_flattened() {
        let err = Error::from_response(
            400,
            br#"{"error":"invalid_request","message":"redirect_uris: bad\nsecond line"}"#,
        );
        assert_eq!(err.to_string(), "400 invalid_request: redirect_uris: bad second line");
    }
}
