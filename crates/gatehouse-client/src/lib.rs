//! Typed client for the Gatehouse REST management API (SPEC §3, §4, §7.6, §9.7) and the OAuth
//! endpoints a native client needs (device sign-in, refresh, revocation; SPEC §5.1).
//!
//! Every endpoint is one async method on [`Client`], typed with the wire shapes of
//! [`gatehouse_types`] (re-exported as [`types`]). The CLI talks to servers only through this
//! crate, and the server's black-box tests use it as their REST peer.
//!
//! ```no_run
//! # async fn demo() -> Result<(), gatehouse_client::Error> {
//! use gatehouse_client::{Client, Credential};
//!
//! let client = Client::new("http://127.0.0.1:8080", Some(Credential::new("ma-…")))?;
//! for project in client.list_projects().await?.projects {
//!     println!("{} {}", project.id, project.name);
//! }
//! # Ok(()) }
//! ```
//!
//! Failures are one [`Error`] enum: the server's `{"error","message"}` body as [`Error::Api`],
//! network trouble as [`Error::Transport`], an unreadable success body as [`Error::Decode`].

mod client;
mod credential;
mod endpoints;
mod error;

pub use client::{Client, ExportFile, ExportFormat};
pub use credential::Credential;
pub use endpoints::DEVICE_CODE_GRANT;
pub use error::Error;
/// The wire types every method takes and returns.
pub use gatehouse_types as types;
