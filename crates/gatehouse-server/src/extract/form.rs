//! Form bodies: `application/x-www-form-urlencoded` decoding with RFC 6749's duplicate rule, and
//! the [`Buffered`] request the OAuth back-channel endpoints read whole. Shared by those endpoints
//! and the browser pages.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method, header};

/// Decoded `application/x-www-form-urlencoded` pairs, with duplicate detection for callers that
/// need RFC 6749 §3.1's "at most once" rule.
#[derive(Debug, Default, Clone)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    /// Parses a form body or query string.
    pub fn parse(raw: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(raw).into_owned().collect())
    }

    /// The parameters of a GET (its query) or a POST (its form body; `None` without the form
    /// content type).
    pub fn of_request(
        method: &axum::http::Method,
        headers: &HeaderMap,
        query: Option<&str>,
        body: &[u8],
    ) -> Option<Self> {
        if method == axum::http::Method::POST {
            is_form(headers).then(|| Self::parse(body))
        } else {
            Some(Self::parse(query.unwrap_or_default().as_bytes()))
        }
    }

    /// The value of `name`; `Err` when it appears more than once.
    pub fn single(&self, name: &str) -> Result<Option<&str>, String> {
        let mut found = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = found.next();
        if found.next().is_some() {
            return Err(format!("the parameter {name} is given more than once"));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    /// The first value of `name`, for forms of our own pages.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Borrowed pairs.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Whether a request body is a form (RFC 6749 §3.2 requires this content type at the token endpoint).
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// Whether the `charset` parameter of the request's `Content-Type`, if any, is UTF-8: the only
/// charset the JSON and form bodies are read in (RFC 8259 §8.1, RFC 6749 Appendix B).
pub fn charset_is_utf8(headers: &HeaderMap) -> bool {
    let Some(ctype) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    ctype.split(';').skip(1).all(|param| match param.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8")
        }
        _ => true,
    })
}

/// A request's method, headers and buffered body, for the endpoints that read all three. The
/// headers are moved out of the request: axum's `HeaderMap` extractor copies them.
#[derive(Debug)]
pub struct Buffered {
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Buffered {
    type Rejection = BytesRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let headers = std::mem::take(&mut parts.headers);
        let method = parts.method.clone();
        // The rest of the request stays together: the body limit travels in its extensions.
        let body = Bytes::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Self { method, headers, body })
    }
}
