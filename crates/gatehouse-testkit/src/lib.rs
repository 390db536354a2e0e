//! Test support shared by the integration tests of several crates, the examples and the
//! benchmarks: one way to get a test database ([`db`]), an in-process server on it ([`server`]),
//! a clock tests can move ([`clock`]), a second Gatehouse playing a third-party OAuth provider
//! ([`upstream`]) or an upstream OpenID Connect identity provider behind a rewriting proxy ([`idp`]),
//! a fake GitHub OAuth app and user API ([`github`]), a mock LLM upstream ([`llm_upstream`]), a
//! browser that signs in through the HTML forms ([`browser`]), real Chromium over WebDriver
//! ([`webdriver`]), and a real SMTP server that keeps what it receives ([`smtp`]).

mod browser;
pub mod clock;
pub mod db;
pub mod github;
pub mod idp;
pub mod llm_upstream;
pub mod server;
pub mod smtp;
pub mod upstream;
pub mod webdriver;

pub use browser::{Browser, Form, Page};
pub use clock::ShiftedClock;
pub use db::{Backend, backends};
pub use server::{TestServer, contains};
pub use smtp::SmtpServer;
pub use upstream::Provider;
pub use webdriver::WebBrowser;
