//! The HTTP client `openidconnect` calls through: a small adapter over the workspace's
//! `reqwest`, so the crate's own `reqwest` feature (an older `reqwest`) stays off.

use std::future::Future;
use std::pin::Pin;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// Sends `openidconnect`'s requests. Redirects are not followed, as the `openidconnect` docs
/// advise: a redirect from the provider's back channel would send the code or the client's
/// credentials somewhere else (SSRF).
#[derive(Debug, Clone)]
pub struct Http(reqwest::Client);

impl Http {
    /// A client with no redirects and a request timeout.
    pub fn new() -> reqwest::Result<Self> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map(Self)
    }

    /// Performs one request.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, reqwest::Error> {
        let response = self.0.execute(reqwest::Request::try_from(request)?).await?;
        let (status, headers) = (response.status(), response.headers().clone());
        let mut out = HttpResponse::new(response.bytes().await?.to_vec());
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        Ok(out)
    }
}

/// `openidconnect`'s client trait, with a boxed `Send` future: a closure returning `send`'s
/// future would tie it to one borrow of `self`, which an axum handler (whose future must be
/// `Send` for every lifetime) cannot hold.
impl<'c> AsyncHttpClient<'c> for Http {
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, reqwest::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
