//! What the browser-facing parts share: cookies, CSRF, sign-in redirects, and HTML pages with the
//! security headers of SPEC §9.4 (CSP, `frame-ancestors 'none'`, `X-Frame-Options: DENY`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::model::User;
use gatehouse_core::oauth::Session;
use gatehouse_core::rng::{SystemRng, random_token};

use crate::error::ApiError;
use crate::extract::{Form, is_form};
use crate::state::AppState;

/// Pages may load only the server's own stylesheet and script; nothing may frame them.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";
/// The session cookie.
pub const SESSION_COOKIE: &str = "gh_session";
/// The CSRF cookie (signed double submit).
pub const CSRF_COOKIE: &str = "gh_csrf";
/// The stylesheet of every page.
pub const STYLESHEET: &str = include_str!("assets/gatehouse.css");
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

/// An HTML page with the security headers.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} · Gatehouse</title><link rel=\"stylesheet\" href=\"/assets/gatehouse.css\"></head>\n<body><header><span class=\"brand\">Gatehouse</span></header>\n<main>\n<h1>{}</h1>\n{body}\n</main></body></html>\n",
        esc(title),
        esc(title)
    );
    secured((status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}

/// Adds the page security headers to any browser-facing response.
pub fn secured(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
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

/// The static assets: the stylesheet and the `form_post` script.
pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

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
