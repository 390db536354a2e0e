//! What the browser-facing parts share: cookies, CSRF, sign-in redirects, and HTML pages with the
//! security headers of SPEC §9.4 (CSP, `frame-ancestors 'none'`, `X-Frame-Options: DENY`).

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::clients::{AppBrand, Client};
use gatehouse_core::model::User;
use gatehouse_core::oauth::Session;
use gatehouse_core::rng::{SystemRng, random_token};

use crate::error::ApiError;
use crate::extract::{Form, is_form};
use crate::state::AppState;

/// Pages may load only the server's own stylesheet and script (and an app's logo, see
/// [`with_logo`]); nothing may frame them.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";
/// What every CSP of the pages allows images from.
const IMG_SRC: &str = "img-src 'self'";
/// The session cookie.
pub const SESSION_COOKIE: &str = "gh_session";
/// The CSRF cookie (signed double submit).
pub const CSRF_COOKIE: &str = "gh_csrf";
/// Submits a `form_post` response when JavaScript runs (a button does it otherwise).
pub const FORM_POST_SCRIPT: &str = "document.forms[0].submit();\n";

/// A cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure on https issuers (SPEC §5.2).
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(secs) = max_age {
        c.push_str(&format!("; Max-Age={secs}"));
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// HTML-escapes text for element content and quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A hidden form field.
pub fn hidden(name: &str, value: &str) -> String {
    format!(r#"<input type="hidden" name="{}" value="{}">"#, esc(name), esc(value))
}

/// The browser making a request: its session (if signed in), its CSRF cookie, and where it is.
pub struct Browser {
    pub session: Option<(Session, User)>,
    csrf_cookie: String,
    new_csrf: bool,
    pub ip: String,
    pub user_agent: String,
    pub secure: bool,
}

impl FromRequestParts<Arc<AppState>> for Browser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let session = match cookie(&parts.headers, SESSION_COOKIE) {
            Some(c) => state.gh.session_from_cookie(c).await?,
            None => None,
        };
        let existing = cookie(&parts.headers, CSRF_COOKIE)
            .filter(|c| c.len() == 43)
            .map(str::to_owned);
        let new_csrf = existing.is_none();
        let csrf_cookie = existing.unwrap_or_else(|| random_token(&SystemRng::default()).into_secret());
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        Ok(Self {
            session,
            csrf_cookie,
            new_csrf,
            ip,
            user_agent,
            secure: state.gh.provider_config().issuer.starts_with("https://"),
        })
    }
}

impl Browser {
    /// The hidden CSRF field for a form.
    pub fn csrf_field(&self, state: &AppState) -> String {
        hidden("csrf", &self.csrf_token(state))
    }

    /// The CSRF token of this browser's forms (the value of the `csrf` field).
    pub fn csrf_token(&self, state: &AppState) -> String {
        state.gh.csrf_token(&self.csrf_cookie)
    }

    /// Whether a submitted form carries this browser's CSRF token.
    pub fn check_csrf(&self, state: &AppState, form: &Form) -> bool {
        !self.new_csrf
            && form
                .get("csrf")
                .is_some_and(|t| state.gh.check_csrf(&self.csrf_cookie, t))
    }

    /// A form posted by this signed-in browser with its CSRF token; otherwise the response to
    /// send instead (sign in first, returning to `login_next`, or the form has expired).
    pub fn signed_in_form(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        body: &[u8],
        login_next: &str,
    ) -> Result<(Form, &Session, &User), Box<Response>> {
        let Some((session, user)) = &self.session else {
            return Err(Box::new(self.finish(to_login(login_next))));
        };
        let form = Form::parse(body);
        if !is_form(headers) || !self.check_csrf(state, &form) {
            return Err(Box::new(self.finish(error_page(
                StatusCode::FORBIDDEN,
                "The form expired; go back and try again.",
            ))));
        }
        Ok((form, session, user))
    }

    /// Adds the CSRF cookie to a response when this browser had none.
    pub fn finish(&self, mut res: Response) -> Response {
        if self.new_csrf {
            res.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(CSRF_COOKIE, &self.csrf_cookie, None, self.secure),
            );
        }
        res
    }
}

/// The shell of every page (`templates/pages/base.html`) around content composed here.
#[derive(Template)]
#[template(path = "pages/page.html")]
struct ShellPage<'a> {
    title: &'a str,
    brand: Option<&'a AppBrand>,
    /// Markup whose every piece of text was escaped with [`esc`].
    body: &'a str,
}

/// An HTML page with the security headers.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    branded_page(status, title, None, body)
}

/// [`page`] showing the app an authorization request comes from: its logo, name, project and
/// links to its privacy policy and terms (SPEC §5.4).
pub fn branded_page(status: StatusCode, title: &str, brand: Option<&AppBrand>, body: &str) -> Response {
    match (ShellPage { title, brand, body }).render() {
        Ok(html) => with_logo(
            secured((status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()),
            brand,
        ),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            secured((StatusCode::INTERNAL_SERVER_ERROR, "The page could not be shown.").into_response())
        }
    }
}

/// Lets a page show `brand`'s logo: its CSP `img-src` names the logo's exact origin besides
/// `'self'`, nothing wider; a page without a logo keeps `img-src 'self'`.
pub fn with_logo(mut res: Response, brand: Option<&AppBrand>) -> Response {
    let Some(origin) = brand.and_then(AppBrand::logo_origin) else {
        return res;
    };
    let h = res.headers_mut();
    let csp = h
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .map(|csp| csp.replacen(IMG_SRC, &format!("{IMG_SRC} {origin}"), 1));
    if let Some(v) = csp.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// The app whose authorization request `next` returns to, for the brand of its pages; `None`
/// for any other `next` or an unknown or disabled client.
pub async fn brand_of_next(state: &AppState, next: &str) -> Option<AppBrand> {
    let query = next.strip_prefix("/oauth/authorize?")?;
    let client_id = Form::parse(query.as_bytes()).get("client_id")?.to_owned();
    state
        .gh
        .app_brand(&client_id)
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "loading the app of a page failed"))
        .ok()
        .flatten()
}

/// The brand of `client`'s pages; `None` (an unbranded page) if it cannot be loaded.
pub async fn brand_of(state: &AppState, client: &Client) -> Option<AppBrand> {
    state
        .gh
        .brand_of(client)
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "loading the app of a page failed"))
        .ok()
}

/// Adds the page security headers to any browser-facing response; a CSP the response already
/// has (the console's, or one allowing a logo) is kept.
pub fn secured(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    res
}

/// An error page (never a redirect).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Something is wrong",
        &format!("<p class=\"error\">{}</p>", esc(message)),
    )
}

/// `303 See Other` to `location`.
pub fn see_other(location: &str) -> Response {
    let value = HeaderValue::from_str(location).unwrap_or_else(|_| HeaderValue::from_static("/"));
    secured((StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response())
}

/// Redirects to the sign-in page, returning to `next` afterwards.
pub fn to_login(next: &str) -> Response {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    see_other(&format!("/login?{q}"))
}

/// A same-origin path to return to after signing in, or `None` (no open redirects).
pub fn local_path(next: &str) -> Option<&str> {
    // Browsers drop tabs and newlines from URLs and read `\\` as `/`, so `/\t/evil` would become
    // `//evil`: any control character, space or backslash disqualifies the path.
    let clean = next.bytes().all(|b| b > 0x20 && b != 0x7f && b != b'\\');
    let ok = clean && next.starts_with('/') && !next.starts_with("//") && next.len() <= 8192;
    ok.then_some(next)
}

/// The `form_post` script.
pub async fn form_post_script() -> Response {
    asset("text/javascript; charset=utf-8", FORM_POST_SCRIPT)
}

/// A static asset of the binary, cacheable for an hour.
pub fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn every_page_template_links_the_one_stylesheet() {
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates"
        ))];
        let mut pages = 0;
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let html = std::fs::read_to_string(&path).unwrap();
                let links: Vec<&str> = html
                    .match_indices("rel=\"stylesheet\"")
                    .map(|(i, _)| &html[i..])
                    .collect();
                if html.contains("<html") {
                    pages += 1;
                    assert_eq!(links.len(), 1, "{}", path.display());
                    assert!(
                        links[0].starts_with("rel=\"stylesheet\" href=\"/assets/console.css\">"),
                        "{}",
                        path.display()
                    );
                } else {
                    assert!(
                        links.is_empty(),
                        "{}: only a page's head links the stylesheet",
                        path.display()
                    );
                }
            }
        }
        assert!(pages >= 3, "the console's, the pages' and the continue page's shells");
    }

    #[test]
    fn only_same_origin_paths_are_followed_after_sign_in() {
        assert_eq!(local_path("/oauth/authorize?x=1"), Some("/oauth/authorize?x=1"));
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\\/evil.example",
            "https://evil.example",
            "evil",
            "/ /x",
            "/\u{7f}",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }
}
