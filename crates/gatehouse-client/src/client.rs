//! The HTTP core: base URL, authentication, URL building and response decoding.
//!
//! Endpoint methods live in [`crate::endpoints`]; they only name a method, the path segments and
//! the body, and this module does the rest.

use std::fmt;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, RequestBuilder, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Credential, Error};

/// Time allowed to open a connection to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a whole request; exports of large registries are the slowest calls.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// A client for one Gatehouse server, authenticated with one bearer credential.
///
/// Cheap to clone (the connection pool is shared). Redirects are never followed: a management
/// API that redirects is misconfigured, and following would carry the credential elsewhere.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    auth: Option<HeaderValue>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("auth", &self.auth.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl Client {
    /// A client for the server at `base_url` (`http(s)://host[:port][/prefix]`).
    ///
    /// Without a credential only the unauthenticated endpoints (`/healthz`, `/readyz`) succeed.
    pub fn new(base_url: &str, credential: Option<Credential>) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("gatehouse-client/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(Error::Transport)?;
        Self::with_http_client(http, base_url, credential)
    }

    /// Like [`Client::new`], over a caller-configured `reqwest::Client` (proxies, custom roots,
    /// timeouts). The caller is responsible for its redirect policy.
    pub fn with_http_client(
        http: reqwest::Client,
        base_url: &str,
        credential: Option<Credential>,
    ) -> Result<Self, Error> {
        let base = parse_base_url(base_url)?;
        let auth = credential
            .map(|c| {
                let mut value = HeaderValue::try_from(format!("Bearer {}", c.expose_secret())).map_err(|_| {
                    Error::InvalidInput("credential contains characters not allowed in an HTTP header".into())
                })?;
                value.set_sensitive(true);
                Ok::<_, Error>(value)
            })
            .transpose()?;
        Ok(Self { http, base, auth })
    }

    /// The server's base URL as given (normalised by URL parsing).
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Whether requests carry a credential.
    pub fn has_credential(&self) -> bool {
        self.auth.is_some()
    }

    /// The URL of `segments` under the base URL, each segment percent-encoded.
    pub(crate) fn url(&self, segments: &[&str]) -> Result<Url, Error> {
        build_url(&self.base, segments)
    }

    /// A request to `segments` with the credential attached.
    pub(crate) fn request(&self, method: Method, segments: &[&str]) -> Result<RequestBuilder, Error> {
        let url = self.url(segments)?;
        let mut request = self.http.request(method, url);
        if let Some(auth) = &self.auth {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        Ok(request)
    }

    /// Sends `request` and returns the raw body of a success response.
    pub(crate) async fn send_raw(
        &self,
        request: RequestBuilder,
    ) -> Result<(reqwest::header::HeaderMap, Vec<u8>), Error> {
        let response = request.send().await.map_err(Error::Transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(Error::Transport)?;
        if status.is_success() {
            Ok((headers, body.to_vec()))
        } else {
            Err(Error::from_response(status.as_u16(), &body))
        }
    }

    /// Sends `request` and decodes a JSON success body.
    pub(crate) async fn send_json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, Error> {
        let (_, body) = self.send_raw(request).await?;
        serde_json::from_slice(&body).map_err(Error::Decode)
    }

    /// Sends `request`, expecting a success with no meaningful body (`204`).
    pub(crate) async fn send_empty(&self, request: RequestBuilder) -> Result<(), Error> {
        self.send_raw(request).await.map(|_| ())
    }

    /// `GET segments` decoded as JSON.
    pub(crate) async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T, Error> {
        self.send_json(self.request(Method::GET, segments)?).await
    }

    /// `method segments` with a JSON body, decoded as JSON.
    pub(crate) async fn with_body<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: &B,
    ) -> Result<T, Error> {
        self.send_json(self.request(method, segments)?.json(body)).await
    }

    /// `POST segments` with a form body and **no** bearer credential, for the OAuth endpoints:
    /// they authenticate the client in the body (RFC 6749 §2.3.1), and an `Authorization`
    /// header would be read as client authentication. Error bodies are read in the RFC 6749
    /// §5.2 shape.
    pub(crate) async fn oauth_form(&self, segments: &[&str], form: &[(&str, &str)]) -> Result<Vec<u8>, Error> {
        let request = self.http.post(self.url(segments)?).form(form);
        let response = request.send().await.map_err(Error::Transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(Error::Transport)?;
        if status.is_success() {
            Ok(body.to_vec())
        } else {
            Err(Error::from_oauth_response(status.as_u16(), &body))
        }
    }

    /// `DELETE segments`, expecting `204`.
    pub(crate) async fn delete(&self, segments: &[&str]) -> Result<(), Error> {
        self.send_empty(self.request(Method::DELETE, segments)?).await
    }
}

/// Format of `GET …/oauth/clients/export` (SPEC §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
    Pdf,
}

impl ExportFormat {
    /// The `format` query value, also the usual file extension.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
            Self::Pdf => "pdf",
        }
    }
}

/// A downloaded export: the bytes and what the server said about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFile {
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The `filename` of the `Content-Disposition` header, if any. Server-chosen: sanitise it
    /// before using it as a path.
    pub filename: Option<String>,
    pub bytes: Vec<u8>,
}

impl ExportFile {
    pub(crate) fn from_parts(headers: &reqwest::header::HeaderMap, bytes: Vec<u8>) -> Self {
        let header = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        Self {
            content_type: header(CONTENT_TYPE),
            filename: header(CONTENT_DISPOSITION).and_then(|v| disposition_filename(&v)),
            bytes,
        }
    }
}

/// The `filename` parameter of a `Content-Disposition` value (RFC 6266 §4.1), quoted or not.
fn disposition_filename(value: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|param| {
        let (key, raw) = param.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("filename") {
            return None;
        }
        let raw = raw.trim();
        let name = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(quoted) => quoted.replace("\\\"", "\"").replace("\\\\", "\\"),
            None => raw.to_owned(),
        };
        (!name.is_empty()).then_some(name)
    })
}

fn parse_base_url(base_url: &str) -> Result<Url, Error> {
    let base = Url::parse(base_url.trim()).map_err(|e| Error::InvalidInput(format!("server URL {base_url:?}: {e}")))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(Error::InvalidInput(format!(
            "server URL {base_url:?}: scheme must be http or https"
        )));
    }
    if base.cannot_be_a_base() || base.query().is_some() || base.fragment().is_some() {
        return Err(Error::InvalidInput(format!(
            "server URL {base_url:?}: expected http(s)://host[:port][/path] without query or fragment"
        )));
    }
    Ok(base)
}

/// Appends `segments` to the base path, percent-encoding each one (`/`, `?`, `#`, `%`, spaces, …).
///
/// Empty, `.` and `..` segments are refused: URL parsers drop or resolve them, so the request
/// would reach a different resource than the one named.
fn build_url(base: &Url, segments: &[&str]) -> Result<Url, Error> {
    if let Some(bad) = segments.iter().find(|s| matches!(**s, "" | "." | "..")) {
        return Err(Error::InvalidInput(format!(
            "{bad:?} is not a valid identifier in a URL path"
        )));
    }
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| Error::InvalidInput("server URL cannot be a base".into()))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(s: &str) -> Url {
        parse_base_url(s).expect("valid base")
    }

    #[test]
    fn segments_are_appended_to_the_base() {
        let url = build_url(&base("http://127.0.0.1:8080"), &["accounts", "projects"]).expect("url");
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/accounts/projects");
    }

    #[test]
    fn base_path_prefix_is_kept_with_or_without_trailing_slash() {
        for b in ["https://example.com/gate", "https://example.com/gate/"] {
            let url = build_url(&base(b), &["healthz"]).expect("url");
            assert_eq!(url.as_str(), "https://example.com/gate/healthz");
        }
    }

    #[test]
    fn client_ids_keep_unreserved_characters() {
        let url = build_url(&base("http://h"), &["clients", "my.app~v2-x_y"]).expect("url");
        assert_eq!(url.path(), "/clients/my.app~v2-x_y");
    }

    #[test]
    fn reserved_characters_in_segments_are_percent_encoded() {
        let url = build_url(&base("http://h"), &["clients", "a/b?c#d%e f"]).expect("url");
        assert_eq!(url.path(), "/clients/a%2Fb%3Fc%23d%25e%20f");
        assert_eq!(url.query(), None);
        assert_eq!(url.fragment(), None);
    }

    #[test]
    fn dot_segments_and_empty_segments_are_refused() {
        for bad in ["", ".", ".."] {
            let err = build_url(&base("http://h"), &["clients", bad]).expect_err("refused");
            assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        }
        let url = build_url(&base("http://h"), &["clients", "..."]).expect("three dots are an id");
        assert_eq!(url.path(), "/clients/...");
    }

    #[test]
    fn base_url_must_be_http_without_query() {
        assert!(parse_base_url("ftp://h").is_err());
        assert!(parse_base_url("http://h/?x=1").is_err());
        assert!(parse_base_url("not a url").is_err());
        assert!(parse_base_url(" http://h ").is_ok());
    }

    #[test]
    fn debug_output_never_shows_the_credential() {
        let client = Client::new("http://h", Some(Credential::new("ma-top-secret"))).expect("client");
        let debug = format!("{client:?}");
        assert!(!debug.contains("top-secret"), "{debug}");
        assert!(debug.contains("[redacted]"));
    }

    #[test]
    fn credential_with_newline_is_refused() {
        let err = Client::new("http://h", Some(Credential::new("a\nb"))).expect_err("refused");
        assert!(matches!(err, Error::InvalidInput(_)));
    }

    #[test]
    fn content_disposition_filename_is_parsed() {
        assert_eq!(
            disposition_filename(r#"attachment; filename="clients.xlsx""#).as_deref(),
            Some("clients.xlsx")
        );
        assert_eq!(
            disposition_filename("attachment; filename=clients.csv; size=3").as_deref(),
            Some("clients.csv")
        );
        assert_eq!(disposition_filename("attachment").as_deref(), None);
        assert_eq!(disposition_filename("attachment; filename=\"\"").as_deref(), None);
    }
}
