//! Sign-up and password reset in real Chromium, with the mail read from a real SMTP server:
//! every page of both flows is screenshot at 1280 and 390 px and checked with axe-core.

use gatehouse_testkit::webdriver::Key;
use gatehouse_testkit::{SmtpServer, TestServer, backends};

use crate::{browser, fits_a_phone, inspect};

const CHOSEN: &str = "a long chosen password 1";
const NEW: &str = "a long new password 22";

/// The path and query of a mailed link.
fn path_of(link: &str) -> String {
    let url = url::Url::parse(link).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_up_and_resets_their_password_in_a_browser() {
    for backend in backends() {
        let Some(smtp) = SmtpServer::start().await else { return };
        let url = smtp.url();
        let s = TestServer::spawn_fresh(backend, |c| {
            c.smtp_url = Some(url);
            c.signup = "open".into();
        })
        .await;
        let Some(b) = browser(&s).await else { return };

        b.goto("/login").await;
        b.click("Create an account").await;
        b.wait_for_text("Create your account").await;
        inspect(&b, "signup").await;
        fits_a_phone(&b, "signup").await;
        b.fill("Email", "grace@example.com").await;
        b.fill("Your name", "Grace Hopper").await;
        b.fill("Password", "short").await;
        b.click("Create account").await;
        b.wait_for_text("must be 12-1024 characters").await;
        inspect(&b, "signup-refused").await;
        b.fill("Password", CHOSEN).await;
        b.click("Create account").await;
        b.wait_for_text("Check your email").await;
        inspect(&b, "signup-sent").await;

        let mail = smtp.wait_for("grace@example.com", 1).await;
        b.goto(&path_of(&mail[0].link("/signup/verify").unwrap())).await;
        b.wait_for_text("Press the button to confirm").await;
        inspect(&b, "signup-verify").await;
        b.click("Confirm and create my account").await;
        b.wait_for_text("Your account is ready").await;
        inspect(&b, "signup-done").await;
        b.click("Sign in and continue").await;
        b.fill("Email", "grace@example.com").await;
        b.fill("Password", CHOSEN).await;
        b.press(Key::Enter).await;
        b.wait_for_text("Signed in as").await;

        b.goto("/login").await;
        b.click("Forgot your password?").await;
        b.wait_for_text("Give the address of your account").await;
        inspect(&b, "reset").await;
        fits_a_phone(&b, "reset").await;
        b.fill("Email", "grace@example.com").await;
        b.click("Send the link").await;
        b.wait_for_text("If an account has this address").await;
        inspect(&b, "reset-sent").await;
        let mail = smtp.wait_for("grace@example.com", 2).await;
        let link = path_of(&mail[1].link("/reset/confirm").unwrap());
        b.goto(&link).await;
        b.wait_for_text("Choose a new password").await;
        inspect(&b, "reset-confirm").await;
        b.fill("New password", NEW).await;
        b.click("Set password").await;
        b.wait_for_text("Your new password is set").await;
        inspect(&b, "reset-done").await;
        b.goto(&link).await;
        b.wait_for_text("This link does not work").await;
        inspect(&b, "reset-used").await;
        b.close().await;
        s.stop().await;
    }
}
