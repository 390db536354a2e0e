//! Test support shared by the integration tests of several crates and by the examples.

mod browser;

pub use browser::{Browser, Form, Page};
