//! Gatehouse core: domain types, policy, crypto, use cases and the ports they need.
//!
//! Knows nothing of HTTP or SQL: the server crate adapts HTTP to these use cases and the store
//! crate implements the storage ports.

pub mod access;
pub mod api_key;
pub mod broker;
pub mod cache;
pub mod clients;
pub mod crypto;
pub mod error;
pub mod export;
pub mod factors;
pub mod idp;
pub mod ids;
pub mod jose;
pub mod keyring;
pub mod llm;
pub mod model;
pub mod oauth;
pub mod outbound;
pub mod participant;
pub mod passkeys;
pub mod password;
pub mod people;
pub mod ports;
pub mod resources;
pub mod rng;
pub mod rooms;
pub mod secret;
pub mod service;
pub mod text;
pub mod time;

pub use error::{Error, Result};
pub use service::{Deps, Gatehouse};

/// One file of the MeshAgent SDK's test vectors in `testdata/meshagent` (see its README).
#[cfg(test)]
pub(crate) fn meshagent_fixture(file: &str) -> serde_json::Value {
    let path = format!("{}/testdata/meshagent/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
