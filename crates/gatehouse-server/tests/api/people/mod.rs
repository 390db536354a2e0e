//! Sign-up, password reset and project invitations through a real SMTP server (aiosmtpd, see
//! `gatehouse_testkit::smtp`): the mail arrives, its link works once, unknown addresses get the
//! same answers as known ones, the forms are CSRF-protected and rate-limited, and no link secret
//! is stored in plaintext; what the tokens then say of the address.

pub(crate) mod invitations;
mod project_policy;
mod reset;
mod signup;
mod verified;

use gatehouse_testkit::{Browser, Page, SmtpServer};

use crate::{Backend, TestServer};

/// A server of `backend` mailing through a fresh SMTP server, with sign-up `policy` (and
/// `domains`); `None` when the SMTP server is not installed (the reason is printed).
pub async fn mailing(backend: Backend, policy: &str, domains: &[&str]) -> Option<(TestServer, SmtpServer)> {
    let smtp = SmtpServer::start().await?;
    let url = smtp.url();
    let s = TestServer::spawn_fresh(backend, |c| {
        c.smtp_url = Some(url);
        c.signup = policy.into();
        c.signup_domains = domains.iter().map(|d| (*d).to_owned()).collect();
    })
    .await;
    Some((s, smtp))
}

/// Fills and submits the sign-up form of `page`.
pub async fn submit_sign_up(b: &Browser, page: &Page, email: &str, password: &str) -> Page {
    let form = page
        .forms()
        .into_iter()
        .find(|f| f.action == "/signup")
        .unwrap_or_else(|| panic!("no sign-up form: {}", page.body));
    b.submit(
        &form,
        &[("email", email), ("name", "Grace Hopper"), ("password", password)],
        None,
    )
    .await
}

/// The page's one message (`id="message"`), to compare answers.
pub fn message(page: &Page) -> String {
    let start = page.body.find("id=\"message\">").map(|i| i + 13).unwrap_or(0);
    let end = page.body[start..].find("</p>").map_or(page.body.len(), |e| start + e);
    page.body[start..end].to_owned()
}

/// The `token` of a mailed link.
pub fn token_of(link: &str) -> String {
    let url = url::Url::parse(link).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "token" || k == "invitation")
        .map(|(_, v)| v.into_owned())
        .expect("the link carries a token")
}

/// The path and query of a mailed link, for the test's browser.
pub fn path_of(link: &str) -> String {
    let url = url::Url::parse(link).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

/// Confirms a sign-up link in `b` (the page's button) and returns the answer.
pub async fn confirm_sign_up(b: &Browser, link: &str) -> Page {
    let page = b.get(&path_of(link)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    b.submit(&page.form(), &[], None).await
}

/// Signs `email` in and answers the first invitation on the account page (`accept` or
/// `decline`); the answer's status.
pub async fn answer(base: &str, email: &str, password: &str, answer: &str) -> u16 {
    let b = Browser::new(base);
    let page = b.follow(b.authorize("/account", email, password).await).await;
    let form = page
        .forms()
        .into_iter()
        .find(|f| f.action.ends_with(&format!("/{answer}")))
        .unwrap_or_else(|| panic!("no invitation to {answer}: {}", page.body));
    b.submit(&form, &[], None).await.status
}

/// A sign-up and a password reset through mail (when the SMTP server is installed); returns
/// the link tokens and passwords involved, for the log search.
pub async fn logged_flow() -> Vec<(&'static str, String)> {
    let Some((s, smtp)) = mailing(Backend::Sqlite, "open", &[]).await else {
        return Vec::new();
    };
    let b = Browser::new(&s.base);
    let password = "a sign-up password 1";
    submit_sign_up(&b, &b.get("/signup").await, "logged@example.com", password).await;
    let verify = smtp.wait_for("logged@example.com", 1).await[0]
        .link("/signup/verify")
        .unwrap();
    confirm_sign_up(&b, &verify).await;
    let page = b.get("/reset").await;
    b.submit(&page.form(), &[("email", "logged@example.com")], None).await;
    let reset = smtp.wait_for("logged@example.com", 2).await[1]
        .link("/reset/confirm")
        .unwrap();
    let form = b.get(&path_of(&reset)).await;
    let new = "a reset password 22";
    b.submit(&form.form(), &[("new_password", new)], None).await;
    s.stop().await;
    vec![
        ("sign-up password", password.to_owned()),
        ("sign-up link", token_of(&verify)),
        ("reset link", token_of(&reset)),
        ("new password", new.to_owned()),
    ]
}
