//! A form-following browser for the sign-in pages and the console: a cookie jar, manual
//! redirects, and a small HTML form reader (inputs, ticked checkboxes, text areas, selects). The
//! pages are plain forms by design (SPEC §5.1), so this is all a client needs without JavaScript.

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

/// One browser: its own cookies, optionally its own source address (127.0.0.x).
pub struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: Mutex<BTreeMap<String, String>>,
}

/// A response as the browser saw it.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub url: String,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

/// A form on a page.
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub method: String,
    pub fields: Vec<(String, String)>,
    /// Named submit buttons: `(name, value)`.
    pub buttons: Vec<(String, String)>,
}

impl Browser {
    /// A browser for the server at `base`.
    pub fn new(base: &str) -> Self {
        Self::from_address(base, None)
    }

    /// A browser whose connections come from `ip` (any 127.0.0.0/8 address works on Linux).
    pub fn from_address(base: &str, ip: Option<std::net::IpAddr>) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .local_address(ip)
            .build()
            .unwrap();
        Self {
            http,
            base: base.to_owned(),
            cookies: Mutex::default(),
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with("http://") || url.starts_with("https://") {
            url.to_owned()
        } else {
            format!("{}{url}", self.base)
        }
    }

    /// The value of a cookie the server set.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    /// Forgets every cookie (a new browser profile).
    pub fn clear_cookies(&self) {
        self.cookies.lock().unwrap().clear();
    }

    async fn send(&self, req: reqwest::RequestBuilder, url: String) -> Page {
        let cookie: String = self
            .cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let req = if cookie.is_empty() {
            req
        } else {
            req.header(COOKIE, cookie)
        };
        let res = req.send().await.unwrap();
        for c in res.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (kv, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            let mut jar = self.cookies.lock().unwrap();
            if v.is_empty() || attrs.contains("Max-Age=0") {
                jar.remove(k.trim());
            } else {
                jar.insert(k.trim().to_owned(), v.to_owned());
            }
        }
        Page {
            status: res.status().as_u16(),
            url,
            location: res.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_owned()),
            headers: res.headers().clone(),
            body: res.text().await.unwrap(),
        }
    }

    /// `GET url` (absolute, or a path on the server).
    pub async fn get(&self, url: &str) -> Page {
        let url = self.absolute(url);
        self.send(self.http.get(&url), url.clone()).await
    }

    /// `POST url` with a form body.
    pub async fn post(&self, url: &str, fields: &[(String, String)]) -> Page {
        let url = self.absolute(url);
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .finish();
        let req = self
            .http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(req, url.clone()).await
    }

    /// Follows redirects on the server; stops at a page, or at a redirect leaving the server
    /// (returned with its `location`).
    pub async fn follow(&self, mut page: Page) -> Page {
        for _ in 0..10 {
            match &page.location {
                Some(l) if (300..400).contains(&page.status) && (l.starts_with('/') || l.starts_with(&self.base)) => {
                    page = self.get(&l.clone()).await;
                }
                _ => return page,
            }
        }
        panic!("too many redirects");
    }

    /// Submits `form` with `changes` applied and the named button pressed.
    pub async fn submit(&self, form: &Form, changes: &[(&str, &str)], button: Option<(&str, &str)>) -> Page {
        let mut fields = form.fields.clone();
        for (k, v) in changes {
            match fields.iter_mut().find(|(n, _)| n == k) {
                Some(f) => f.1 = (*v).to_owned(),
                None => fields.push(((*k).to_owned(), (*v).to_owned())),
            }
        }
        if let Some((k, v)) = button {
            fields.push((k.to_owned(), v.to_owned()));
        }
        assert_eq!(form.method, "post", "the pages only post forms");
        self.post(&form.action, &fields).await
    }

    /// Runs an authorization request through sign-in and consent (allowing) and returns the
    /// redirect back to the client.
    pub async fn authorize(&self, url: &str, email: &str, password: &str) -> Page {
        let mut page = self.follow(self.get(url).await).await;
        for _ in 0..4 {
            if page.location.is_some() {
                return page;
            }
            let form = page.form();
            page = if form.action == "/login" {
                self.submit(&form, &[("email", email), ("password", password)], None)
                    .await
            } else if form.action == "/consent" {
                self.submit(&form, &[], Some(("decision", "allow"))).await
            } else {
                return page;
            };
            page = self.follow(page).await;
        }
        page
    }
}

impl Page {
    /// The forms on the page.
    pub fn forms(&self) -> Vec<Form> {
        let mut out = Vec::new();
        let mut rest = self.body.as_str();
        while let Some(start) = rest.find("<form") {
            let after = &rest[start..];
            let end = after.find("</form>").unwrap_or(after.len());
            let html = &after[..end];
            let tag = &html[..html.find('>').unwrap_or(html.len())];
            let mut form = Form {
                action: unescape(&attr(tag, "action").unwrap_or_default()),
                method: attr(tag, "method").unwrap_or_else(|| "get".into()).to_lowercase(),
                fields: Vec::new(),
                buttons: Vec::new(),
            };
            for (kind, list) in [("<input", false), ("<button", true)] {
                let mut r = html;
                while let Some(i) = r.find(kind) {
                    let t = &r[i..];
                    let t = &t[..t.find('>').unwrap_or(t.len())];
                    let unticked =
                        matches!(attr(t, "type").as_deref(), Some("checkbox" | "radio")) && !t.contains(" checked");
                    if let Some(name) = attr(t, "name").filter(|_| !unticked) {
                        let pair = (unescape(&name), unescape(&attr(t, "value").unwrap_or_default()));
                        if list {
                            form.buttons.push(pair)
                        } else {
                            form.fields.push(pair)
                        }
                    }
                    r = &r[i + kind.len()..];
                }
            }
            form.fields.extend(textareas(html));
            form.fields.extend(selects(html));
            out.push(form);
            rest = &after[end.min(after.len())..];
            if end == after.len() {
                break;
            }
        }
        out
    }

    /// The only (or first) form on the page.
    pub fn form(&self) -> Form {
        self.forms()
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no form on {} ({}): {}", self.url, self.status, self.body))
    }

    /// Query parameters of the redirect this page carries.
    pub fn redirect_params(&self) -> BTreeMap<String, String> {
        let loc = self.location.as_deref().expect("a redirect");
        let url = url::Url::parse(loc).unwrap();
        let raw = url.query().or(url.fragment()).unwrap_or("");
        url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect()
    }
}

/// `(name, text)` of each `<textarea>` in `html`.
fn textareas(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut r = html;
    while let Some(i) = r.find("<textarea") {
        let t = &r[i..];
        let open = t.find('>').unwrap_or(t.len());
        let close = t.find("</textarea>").unwrap_or(t.len());
        if let Some(name) = attr(&t[..open], "name") {
            out.push((unescape(&name), unescape(&t[(open + 1).min(close)..close])));
        }
        r = &t[close.min(t.len())..];
        if close == t.len() {
            break;
        }
    }
    out
}

/// `(name, value)` of each `<select>` in `html`: its selected option, or its first.
fn selects(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut r = html;
    while let Some(i) = r.find("<select") {
        let t = &r[i..];
        let close = t.find("</select>").unwrap_or(t.len());
        let body = &t[..close];
        let name = attr(&body[..body.find('>').unwrap_or(body.len())], "name");
        let options: Vec<&str> = body.split("<option").skip(1).collect();
        let chosen = options
            .iter()
            .find(|o| o[..o.find('>').unwrap_or(o.len())].contains(" selected"))
            .or(options.first());
        if let (Some(name), Some(option)) = (name, chosen) {
            let tag = &option[..option.find('>').unwrap_or(option.len())];
            out.push((unescape(&name), unescape(&attr(tag, "value").unwrap_or_default())));
        }
        r = &t[close.min(t.len())..];
        if close == t.len() {
            break;
        }
    }
    out
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let pat = format!(" {name}=\"");
    let i = tag.find(&pat)? + pat.len();
    let j = tag[i..].find('"')?;
    Some(tag[i..i + j].to_owned())
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}
