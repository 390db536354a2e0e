//! Real Chromium for the browser tests, driven over WebDriver: a `chromedriver` on a free port,
//! headless Chromium with a fresh profile and download directory per browser, and the steps tests
//! take as a person would (fill a field by its label, click a button by its text, press keys),
//! plus screenshots and axe-core accessibility checks.
//!
//! When Chromium, chromedriver or axe-core is missing the test skips with the reason printed,
//! unless `GATEHOUSE_TEST_BROWSER=1` says a browser test must run (then it fails with the reason).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

pub use fantoccini::Locator;
use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::elements::Element;
pub use fantoccini::key::Key;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A desktop window.
pub const WIDE: (u32, u32) = (1280, 900);
/// A phone held upright.
pub const NARROW: (u32, u32) = (390, 844);
/// How long a step waits for the page before failing.
const PATIENCE: Duration = Duration::from_secs(30);
/// At most this many browsers run at once in a test process: more only slow each other down.
const AT_ONCE: usize = 3;

/// The turns to run a browser, shared by every test of the process.
fn turns() -> Arc<Semaphore> {
    static TURNS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    TURNS.get_or_init(|| Arc::new(Semaphore::new(AT_ONCE))).clone()
}

/// Whether browser tests must run (CI) rather than skip.
fn required() -> bool {
    std::env::var("GATEHOUSE_TEST_BROWSER").is_ok_and(|v| v == "1")
}

fn program(var: &str, default: &str) -> Result<PathBuf, String> {
    let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{} not found (set {var} or install it)", path.display()))
    }
}

/// Where axe-core's `axe.min.js` is: `GATEHOUSE_AXE_JS`, or where `.ci/run` installs it.
fn axe_path() -> Result<PathBuf, String> {
    let default = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join(".cache/gatehouse/node/node_modules/axe-core/axe.min.js");
    program("GATEHOUSE_AXE_JS", &default.to_string_lossy())
}

/// A running `chromedriver`, killed (with the Chromium it started) when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Result<Self, String> {
        let path = program("GATEHOUSE_CHROMEDRIVER", "/usr/bin/chromedriver")?;
        let mut child = Command::new(&path)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Its own process group, so dropping it also ends every Chromium process it started.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("{} does not start: {e}", path.display()))?;
        let stdout = child.stdout.take().ok_or("chromedriver has no stdout")?;
        let mut driver = Self { child, port: 0 };
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading chromedriver's output: {e}"))?;
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                driver.port = rest.trim_end_matches('.').parse().map_err(|_| line.clone())?;
                return Ok(driver);
            }
        }
        Err(format!("{} exited without listening", path.display()))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// WebDriver's Set Permission (W3C Permissions §10): grants `0` to the current page's origin.
#[derive(Debug)]
struct Grant(&'static str);

impl WebDriverCompatibleCommand for Grant {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/permissions", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (reqwest::Method, Option<String>) {
        let body = json!({ "descriptor": { "name": self.0 }, "state": "granted" });
        (reqwest::Method::POST, Some(body.to_string()))
    }
}

/// A command of WebDriver's WebAuthn extension (W3C WebAuthn §11): `path` below the session.
#[derive(Debug)]
struct WebAuthnCmd {
    path: String,
    body: Option<Value>,
}

impl WebDriverCompatibleCommand for WebAuthnCmd {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/webauthn/{}",
            session.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (reqwest::Method, Option<String>) {
        match &self.body {
            Some(body) => (reqwest::Method::POST, Some(body.to_string())),
            None => (reqwest::Method::GET, None),
        }
    }
}

/// One axe-core finding.
#[derive(Debug, Clone)]
pub struct Violation {
    pub rule: String,
    pub impact: String,
    pub help: String,
    pub help_url: String,
    /// The CSS selectors of the offending elements.
    pub targets: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {} at {} — {}",
            self.rule,
            self.impact,
            self.help,
            self.targets.join(", "),
            self.help_url
        )
    }
}

/// A headless Chromium on a fresh profile, looking at one Gatehouse server.
pub struct WebBrowser {
    client: Client,
    base: String,
    downloads: PathBuf,
    profile: PathBuf,
    screenshots: PathBuf,
    axe: String,
    taken: std::sync::Mutex<BTreeSet<String>>,
    /// Ends Chromium even when a test panics before closing the session.
    driver: Option<Driver>,
    _turn: OwnedSemaphorePermit,
}

impl WebBrowser {
    /// A browser for the server at `base`, saving screenshots under `screenshots`; `None` (with
    /// the reason printed) when no browser is installed and none is required.
    pub async fn start(base: &str, screenshots: &Path) -> Option<Self> {
        match Self::try_start(base, screenshots).await {
            Ok(b) => Some(b),
            Err(reason) if required() => panic!("GATEHOUSE_TEST_BROWSER=1 but the browser cannot start: {reason}"),
            Err(reason) => {
                eprintln!("skipped: no browser for this test: {reason}");
                None
            }
        }
    }

    async fn try_start(base: &str, screenshots: &Path) -> Result<Self, String> {
        let chromium = program("GATEHOUSE_CHROMIUM", "/usr/bin/chromium")?;
        let turn = turns().acquire_owned().await.map_err(|e| e.to_string())?;
        let axe = std::fs::read_to_string(axe_path()?).map_err(|e| format!("axe-core: {e}"))?;
        let driver = Driver::start()?;
        let scratch = std::env::temp_dir().join(format!("gatehouse-browser-{}", uuid::Uuid::new_v4()));
        let (profile, downloads) = (scratch.join("profile"), scratch.join("downloads"));
        std::fs::create_dir_all(&downloads).map_err(|e| e.to_string())?;
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--no-first-run", "--hide-scrollbars", "--force-device-scale-factor=1", "--lang=en-US",
                    format!("--user-data-dir={}", profile.display()),
                    format!("--window-size={},{}", WIDE.0, WIDE.1),
                ],
                "prefs": {
                    "download.default_directory": downloads,
                    "download.prompt_for_download": false,
                },
            },
        });
        let Value::Object(caps) = caps else { unreachable!() };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .map_err(|e| format!("no WebDriver session: {e}"))?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            downloads,
            profile: scratch,
            screenshots: screenshots.to_path_buf(),
            axe,
            taken: std::sync::Mutex::default(),
            driver: Some(driver),
            _turn: turn,
        })
    }

    /// Ends the session (Chromium exits) and removes the profile and downloads.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// The WebDriver client, for what the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `path` on the server, or any other URL.
    pub async fn goto(&self, path: &str) {
        let url = if path.starts_with('/') {
            format!("{}{path}", self.base)
        } else {
            path.to_owned()
        };
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The current URL's path and query, e.g. `/console/projects/…/clients?q=x`.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("the current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Asks `probe` every 50 ms until it answers; fails after a while, saying it was waiting for
    /// `what` and where the browser is.
    async fn until<T>(&self, what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(v) = probe().await {
                return v;
            }
            if start.elapsed() > PATIENCE {
                let path = self.path().await;
                panic!("waited for {what}, in vain, at {path}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The first displayed element matching `locator`.
    async fn displayed(&self, locator: Locator<'_>) -> Option<Element> {
        for e in self.client.find_all(locator).await.unwrap_or_default() {
            if e.is_displayed().await.unwrap_or(false) {
                return Some(e);
            }
        }
        None
    }

    /// Waits until the current path (with query) satisfies `ok`; returns it.
    pub async fn wait_for_path(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.until(what, async || Some(self.path().await).filter(|p| ok(p)))
            .await
    }

    /// Waits for an element matching the CSS `selector` to be displayed.
    pub async fn wait_for(&self, selector: &str) -> Element {
        let what = format!("a visible {selector}");
        self.until(&what, async || self.displayed(Locator::Css(selector)).await)
            .await
    }

    /// Waits until `selector` matches no displayed element.
    pub async fn wait_gone(&self, selector: &str) {
        let what = format!("{selector} to go");
        let gone = async || self.displayed(Locator::Css(selector)).await.is_none().then_some(());
        self.until(&what, gone).await;
    }

    /// The page's visible text.
    /// (Empty while a new page is loading.)
    pub async fn text(&self) -> String {
        let script = "return document.body ? document.body.innerText : '';";
        let v = self.client.execute(script, vec![]).await.unwrap_or_default();
        v.as_str().unwrap_or_default().to_owned()
    }

    /// The page's HTML as the browser holds it now.
    pub async fn html(&self) -> String {
        self.client.source().await.expect("the page source")
    }

    /// Waits until the page's visible text contains `needle`.
    pub async fn wait_for_text(&self, needle: &str) {
        let what = format!("the text {needle:?}");
        self.until(&what, async || self.text().await.contains(needle).then_some(()))
            .await;
    }

    /// Waits until the page's visible text no longer contains `needle`.
    /// (A page still loading, without text yet, does not count.)
    pub async fn wait_gone_text(&self, needle: &str) {
        let what = format!("the text {needle:?} to go");
        let gone = async || {
            let text = self.text().await;
            (!text.is_empty() && !text.contains(needle)).then_some(())
        };
        self.until(&what, gone).await;
    }

    /// The form control a `<label for>` with exactly this text names (a label without `for`, or
    /// pointing nowhere, fails the test: every input must have a real label), or else the input
    /// with this `aria-label`.
    pub async fn field(&self, label: &str) -> Element {
        assert!(!label.contains('"'), "label text with a double quote: {label}");
        let xpath = format!("//label[normalize-space()=\"{label}\"]");
        // A visible label first; a visually hidden one (a search box's) names its field too.
        let labels = self.client.find_all(Locator::XPath(&xpath)).await.unwrap_or_default();
        let mut found = None;
        for l in labels {
            if l.is_displayed().await.unwrap_or(false) {
                found = Some(l);
                break;
            }
            found.get_or_insert(l);
        }
        let Some(l) = found else {
            // A control made by script may be named by `aria-label` alone.
            let css = format!("input[aria-label=\"{label}\"], textarea[aria-label=\"{label}\"]");
            let path = self.path().await;
            let named = self.client.find(Locator::Css(&css)).await;
            return named.unwrap_or_else(|_| panic!("no field labelled {label:?} at {path}"));
        };
        let id = l.attr("for").await.ok().flatten();
        let id = id.unwrap_or_else(|| panic!("the label {label:?} has no `for`"));
        let field = self.client.find(Locator::Id(&id)).await;
        field.unwrap_or_else(|_| panic!("the label {label:?} names #{id}, which does not exist"))
    }

    /// Replaces the text of the field labelled `label` with `value`, as typed keys.
    pub async fn fill(&self, label: &str, value: &str) {
        let f = self.field(label).await;
        f.clear().await.unwrap_or_else(|e| panic!("clear {label:?}: {e}"));
        f.send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("type into {label:?}: {e}"));
    }

    /// Ticks or unticks the checkbox labelled `label` by clicking it.
    pub async fn check(&self, label: &str, on: bool) {
        let f = self.field(label).await;
        if f.is_selected().await.expect("checkbox state") != on {
            f.click().await.unwrap_or_else(|e| panic!("click {label:?}: {e}"));
        }
    }

    /// The displayed button or link whose text (or `aria-label`) is exactly `text`.
    pub async fn button(&self, text: &str) -> Element {
        assert!(!text.contains('"'), "button text with a double quote: {text}");
        let xpath = format!(
            "//*[(self::button or self::a or self::summary) and (normalize-space()=\"{text}\" or @aria-label=\"{text}\")] \
             | //input[(@type='submit' or @type='button') and @value=\"{text}\"]"
        );
        let what = format!("a visible button {text:?}");
        self.until(&what, async || self.displayed(Locator::XPath(&xpath)).await)
            .await
    }

    /// Clicks the button or link `text`.
    pub async fn click(&self, text: &str) {
        let b = self.button(text).await;
        b.click().await.unwrap_or_else(|e| panic!("click {text:?}: {e}"));
    }

    /// Clicks the element with this `id` (one of several buttons with the same text).
    pub async fn click_id(&self, id: &str) {
        let e = self.client.find(Locator::Id(id)).await;
        let e = e.unwrap_or_else(|_| panic!("no #{id}"));
        e.click().await.unwrap_or_else(|err| panic!("click #{id}: {err}"));
    }

    /// Presses and releases `key` on whatever has the focus.
    pub async fn press(&self, key: Key) {
        self.keys(&[char::from(key)]).await;
    }

    /// Types `text` key by key on whatever has the focus.
    pub async fn type_keys(&self, text: &str) {
        self.keys(&text.chars().collect::<Vec<_>>()).await;
    }

    async fn keys(&self, keys: &[char]) {
        let mut actions = KeyActions::new("keyboard".into());
        for &k in keys {
            actions = actions
                .then(KeyAction::Down { value: k })
                .then(KeyAction::Up { value: k });
        }
        self.client.perform_actions(actions).await.expect("key actions");
    }

    /// The focused element as a person would name it: `tag "accessible name"`.
    pub async fn focused(&self) -> String {
        let script = "const e = document.activeElement; if (!e || e === document.body) return 'nothing';\
            const name = e.getAttribute('aria-label') || (e.labels && e.labels[0] && e.labels[0].textContent)\
              || e.textContent || e.value || '';\
            return e.tagName.toLowerCase() + ' \"' + name.trim().replace(/\\s+/g, ' ') + '\"';";
        let v = self.client.execute(script, vec![]).await.expect("the focused element");
        v.as_str().unwrap_or_default().to_owned()
    }

    /// Presses Tab until the focused element is `wanted` (as [`WebBrowser::focused`] names it);
    /// fails after `limit` presses, listing what had the focus on the way.
    pub async fn tab_to(&self, wanted: &str, limit: usize) {
        let mut seen = Vec::new();
        for _ in 0..limit {
            self.press(Key::Tab).await;
            let now = self.focused().await;
            if now == wanted {
                return;
            }
            seen.push(now);
        }
        panic!(
            "Tab never reached {wanted}; the focus went through: {}",
            seen.join(", ")
        );
    }

    /// Lets the current page's origin write and read the clipboard (a headless browser would
    /// otherwise refuse without asking).
    pub async fn allow_clipboard(&self) {
        for name in ["clipboard-read", "clipboard-write"] {
            self.client
                .issue_cmd(Grant(name))
                .await
                .expect("the clipboard permission");
        }
    }

    /// Adds a virtual authenticator (WebAuthn §11.3): a platform authenticator with resident keys
    /// that verifies its user (a PIN or biometric always given). Returns its id.
    pub async fn add_virtual_authenticator(&self) -> String {
        let body = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
        });
        let cmd = WebAuthnCmd {
            path: "authenticator".into(),
            body: Some(body),
        };
        let id = self.client.issue_cmd(cmd).await.expect("a virtual authenticator");
        id.as_str().expect("the authenticator's id").to_owned()
    }

    /// The credentials the virtual authenticator `id` holds (WebAuthn §11.7).
    pub async fn virtual_credentials(&self, id: &str) -> Vec<Value> {
        let cmd = WebAuthnCmd {
            path: format!("authenticator/{id}/credentials"),
            body: None,
        };
        match self.client.issue_cmd(cmd).await.expect("the credentials") {
            Value::Array(list) => list,
            other => panic!("credentials: {other}"),
        }
    }

    /// The clipboard's text (after [`WebBrowser::allow_clipboard`] on this origin).
    pub async fn clipboard(&self) -> String {
        let script = "const done = arguments[arguments.length - 1];\
            navigator.clipboard.readText().then(done, e => done('clipboard refused: ' + e));";
        let v = self.client.execute_async(script, vec![]).await.expect("the clipboard");
        v.as_str().unwrap_or_default().to_owned()
    }

    /// Waits for the next file Chromium finishes downloading; returns its name and bytes.
    pub async fn download(&self) -> (String, Vec<u8>) {
        let next = async || {
            let entries = std::fs::read_dir(&self.downloads).expect("the download directory");
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let partial = name.ends_with(".crdownload") || name.starts_with('.');
                if partial || !self.taken.lock().unwrap().insert(name.clone()) {
                    continue;
                }
                return Some((name, std::fs::read(e.path()).expect("the downloaded file")));
            }
            None
        };
        self.until("a finished download", next).await
    }

    /// Resizes the window to `(width, height)` CSS pixels of viewport.
    pub async fn resize(&self, (width, height): (u32, u32)) {
        self.client.set_window_size(width, height).await.expect("window size");
        // Headless windows have no frame, but be exact: correct by what the page sees.
        let inner = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .expect("the viewport");
        let dim = |i: usize| inner[i].as_u64().unwrap_or(0) as i64;
        let (dw, dh) = (width as i64 - dim(0), height as i64 - dim(1));
        if dw != 0 || dh != 0 {
            let (w, h) = ((width as i64 + dw) as u32, (height as i64 + dh) as u32);
            self.client.set_window_size(w, h).await.expect("window size");
        }
    }

    /// Saves the whole page as `<screenshots>/<name>-<width>.png` at the current width, the
    /// window stretched to the page's height; returns the file.
    pub async fn screenshot(&self, name: &str, size: (u32, u32)) -> PathBuf {
        self.resize(size).await;
        let height = self
            .client
            .execute("return document.documentElement.scrollHeight;", vec![])
            .await
            .expect("the page height");
        let height = (height.as_u64().unwrap_or(0) as u32).clamp(size.1, 4000);
        self.resize((size.0, height)).await;
        let png = self.client.screenshot().await.expect("a screenshot");
        self.resize(size).await;
        std::fs::create_dir_all(&self.screenshots).expect("the screenshot directory");
        let file = self.screenshots.join(format!("{name}-{}.png", size.0));
        std::fs::write(&file, png).expect("the screenshot is saved");
        file
    }

    /// [`WebBrowser::screenshot`] at both [`WIDE`] and [`NARROW`], back at [`WIDE`] after.
    pub async fn screenshots(&self, name: &str) {
        self.screenshot(name, NARROW).await;
        self.screenshot(name, WIDE).await;
    }

    /// Runs axe-core on the page (injected through WebDriver, so the page's CSP does not apply);
    /// returns the serious and critical violations.
    pub async fn axe(&self) -> Vec<Violation> {
        let injected = self
            .client
            .execute(&format!("{}\n;return typeof window.axe;", self.axe), vec![])
            .await
            .expect("axe-core is injected");
        assert_eq!(injected, "object", "axe-core did not load");
        let run = "const done = arguments[arguments.length - 1];\
            axe.run(document, { resultTypes: ['violations'] })\
              .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,\
                 targets: v.nodes.map(n => n.target.join(' ')) }))))\
              .catch(e => done({ error: String(e) }));";
        let result = self.client.execute_async(run, vec![]).await.expect("axe.run");
        if let Some(e) = result.get("error") {
            panic!("axe.run failed: {e}");
        }
        let s = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
        result
            .as_array()
            .expect("a list of violations")
            .iter()
            .map(|v| Violation {
                rule: s(v, "id"),
                impact: s(v, "impact"),
                help: s(v, "help"),
                help_url: s(v, "helpUrl"),
                targets: v["targets"]
                    .as_array()
                    .map(|t| t.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default(),
            })
            .filter(|v| v.impact == "serious" || v.impact == "critical")
            .collect()
    }

    /// The serious and critical axe-core violations of the page at both widths, each a line
    /// naming `page`, the width, the rule, its impact, the elements and the help page.
    pub async fn violations(&self, page: &str) -> Vec<String> {
        let mut found = Vec::new();
        for size in [NARROW, WIDE] {
            self.resize(size).await;
            found.extend(
                self.axe()
                    .await
                    .into_iter()
                    .map(|v| format!("{page} at {} px: {v}", size.0)),
            );
        }
        found
    }

    /// Fails on any serious or critical axe-core violation of the page, at both widths.
    pub async fn assert_accessible(&self, page: &str) {
        let found = self.violations(page).await;
        assert!(found.is_empty(), "accessibility violations:\n{}", found.join("\n"));
    }

    /// Whether the focused element shows a focus indicator (an outline or a box shadow).
    pub async fn focus_visible(&self) -> bool {
        let script = "const s = getComputedStyle(document.activeElement);\
            return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';";
        let v = self.client.execute(script, vec![]).await.expect("the focus style");
        v.as_bool().unwrap_or(false)
    }

    /// The elements reaching past the window's right edge (a sideways scroll bar), each as
    /// `tag.class#id right-edge`; empty when the page fits.
    pub async fn sticking_out(&self) -> Vec<String> {
        let script = "if (document.documentElement.scrollWidth <= window.innerWidth) return [];\
            return [...document.querySelectorAll('body *')]\
              .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)\
              .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + (e.id ? '#' + e.id : '')\
                 + ' ' + Math.round(e.getBoundingClientRect().right) + ' px').slice(0, 12);";
        let v = self.client.execute(script, vec![]).await.expect("the page width");
        let all = v.as_array().cloned().unwrap_or_default();
        all.iter().filter_map(|e| e.as_str().map(str::to_owned)).collect()
    }

    /// Signs in through `/login`: opens `start` (which must lead to the sign-in page), fills the
    /// form and waits until the browser has left `/login`.
    pub async fn sign_in(&self, start: &str, email: &str, password: &str) {
        self.goto(start).await;
        self.wait_for_path("the sign-in page", |p| p.starts_with("/login"))
            .await;
        self.fill("Email", email).await;
        self.fill("Password", password).await;
        self.click("Sign in").await;
        self.wait_for_path("signed in", |p| !p.starts_with("/login")).await;
    }
}

impl Drop for WebBrowser {
    fn drop(&mut self) {
        drop(self.driver.take());
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
