//! The server's pages in real Chromium over WebDriver, on every backend: sign-in, consent,
//! device and account pages, then the console. Each test checks axe-core finds no serious or
//! critical violation, and saves screenshots at 1280 and 390 px under
//! `$CARGO_TARGET_TMPDIR/screenshots` for a reviewer to look at.
//!
//! Without Chromium, chromedriver or axe-core the tests skip with the reason printed; with
//! `GATEHOUSE_TEST_BROWSER=1` (as CI sets it) they fail instead.

mod branding;
mod client_form;
mod clients;
mod console;
mod factors;
mod form_post;
mod keyboard;
mod pages;
mod passkeys;
mod people;
mod project_pages;
mod resources;
mod upstream;

use std::path::Path;

use gatehouse_testkit::webdriver::Locator;
use gatehouse_testkit::{TestServer, WebBrowser};

/// Where screenshots go.
pub const SCREENSHOTS: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/screenshots");

pub const EMAIL: &str = "ada@example.com";
pub const PASSWORD: &str = "correct horse battery staple";

/// A browser on `s` (whose user `EMAIL` exists), or `None` when the test skips.
pub async fn browser(s: &TestServer) -> Option<WebBrowser> {
    s.user(EMAIL, PASSWORD).await;
    WebBrowser::start(&s.base, Path::new(SCREENSHOTS)).await
}

/// Runs the body once per backend, each on a fresh server `$s` with the user [`EMAIL`] and a
/// fresh browser `$b`; skips (printing why) when no browser can start and none is required.
#[macro_export]
macro_rules! browser_test {
    ($name:ident, |$s:ident, $b:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in gatehouse_testkit::backends() {
                let $s = gatehouse_testkit::TestServer::spawn(backend).await;
                let Some($b) = $crate::browser(&$s).await else {
                    return;
                };
                $body
                $b.close().await;
                $s.stop().await;
            }
        }
    };
}

/// The checks every page gets: screenshots named `name` at both widths, and no serious or
/// critical axe-core violation.
pub async fn inspect(b: &WebBrowser, name: &str) {
    b.screenshots(name).await;
    b.assert_accessible(name).await;
}

/// What of the page `name` reaches past a 390 px phone's screen, as a line naming the elements;
/// `None` when it fits.
pub async fn too_wide(b: &WebBrowser, name: &str) -> Option<String> {
    b.resize(gatehouse_testkit::webdriver::NARROW).await;
    let out = b.sticking_out().await;
    b.resize(gatehouse_testkit::webdriver::WIDE).await;
    (!out.is_empty()).then(|| format!("{name}: {}", out.join(", ")))
}

/// Fails when the page is wider than a 390 px phone.
pub async fn fits_a_phone(b: &WebBrowser, name: &str) {
    if let Some(wide) = too_wide(b, name).await {
        panic!("wider than a 390 px phone: {wide}");
    }
}

/// On a page showing a value once: the value, and the clipboard's text after its Copy button is
/// clicked (and has said "Copied").
pub async fn copy_shown(b: &WebBrowser) -> (String, String) {
    b.allow_clipboard().await;
    let copy = b.button("Copy").await;
    let target = copy
        .attr("data-copy")
        .await
        .unwrap()
        .expect("Copy names what it copies");
    let shown = b
        .client()
        .find(Locator::Id(&target))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    copy.click().await.unwrap();
    b.wait_for_text("Copied").await;
    (shown.trim().to_owned(), b.clipboard().await)
}
