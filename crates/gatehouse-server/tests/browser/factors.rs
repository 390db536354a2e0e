//! Two-step sign-in in a real browser: the account page's section, setting up an authenticator
//! app, the recovery codes, and the second step of signing in with its error.

use gatehouse_core::factors::{totp_code, totp_step};
use gatehouse_core::time::{Clock as _, SystemClock};

use crate::{EMAIL, PASSWORD, browser_test, fits_a_phone, inspect};

browser_test!(an_authenticator_is_set_up_and_asked_for_after_the_password, |s, b| {
    b.sign_in("/account", EMAIL, PASSWORD).await;
    b.wait_for_text("Two-step sign-in").await;
    inspect(&b, "account-two-step").await;
    b.click("Set up an authenticator app").await;
    b.wait_for_text("Enter the code the app shows now.").await;
    inspect(&b, "totp-setup").await;
    fits_a_phone(&b, "totp-setup").await;
    let html = b.html().await;
    let from = html.find("<code>").unwrap() + "<code>".len();
    let key = &html[from..from + html[from..].find("</code>").unwrap()];
    let secret = data_encoding::BASE32_NOPAD.decode(key.as_bytes()).unwrap();
    b.fill("Code from the app", &totp_code(&secret, totp_step(SystemClock.now())))
        .await;
    b.click("Turn on two-step sign-in").await;
    b.wait_for_text("Recovery codes").await;
    inspect(&b, "totp-recovery-codes").await;
    fits_a_phone(&b, "totp-recovery-codes").await;
    let html = b.html().await;
    let from = html.find("<li><code>").unwrap() + "<li><code>".len();
    let recovery = html[from..from + html[from..].find("</code>").unwrap()].to_owned();

    b.goto("/logout").await;
    b.click("Sign out").await;
    b.wait_for_text("You are signed out").await;
    b.goto("/login?next=/account").await;
    b.fill("Email", EMAIL).await;
    b.fill("Password", PASSWORD).await;
    b.click("Sign in").await;
    b.wait_for_text("Enter the 6-digit code").await;
    inspect(&b, "login-second-step").await;
    fits_a_phone(&b, "login-second-step").await;
    b.fill("Code", "abcde-fghij").await;
    b.click("Continue").await;
    b.wait_for_text("The code is not correct.").await;
    inspect(&b, "login-second-step-error").await;
    b.fill("Code", &recovery).await;
    b.click("Continue").await;
    b.wait_for_path("the account page", |p| p == "/account").await;
    b.wait_for_text("9 unused recovery codes are left").await;
});

browser_test!(
    the_page_a_project_requiring_two_steps_sends_people_to_returns_them,
    |s, b| {
        b.sign_in("/account", EMAIL, PASSWORD).await;
        b.wait_for_text("Two-step sign-in").await;
        b.goto("/account/two-step?next=%2Faccount%3Fback%3D1").await;
        b.wait_for_text("Set one up to continue.").await;
        inspect(&b, "two-step-required").await;
        fits_a_phone(&b, "two-step-required").await;
        b.click("Set up an authenticator app").await;
        b.wait_for_text("Enter the code the app shows now.").await;
        let html = b.html().await;
        let from = html.find("<code>").unwrap() + "<code>".len();
        let key = &html[from..from + html[from..].find("</code>").unwrap()];
        let secret = data_encoding::BASE32_NOPAD.decode(key.as_bytes()).unwrap();
        b.fill("Code from the app", &totp_code(&secret, totp_step(SystemClock.now())))
            .await;
        b.click("Turn on two-step sign-in").await;
        b.wait_for_text("Recovery codes").await;
        inspect(&b, "two-step-required-done").await;
        b.click("Continue to the application").await;
        b.wait_for_path("the page it came from", |p| p == "/account?back=1")
            .await;
    }
);
