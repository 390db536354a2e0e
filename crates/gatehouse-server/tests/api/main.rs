//! Black-box tests of the REST API: the real server on port 0 with a fresh database, against
//! SQLite always and PostgreSQL when `GATEHOUSE_TEST_POSTGRES_URL` is set (and then it must be
//! reachable: an unreachable database fails the run instead of skipping it).

mod accounts;
mod branding;
mod broker;
mod clients;
mod connections;
mod console;
mod console_pages;
mod exports;
mod headers;
mod idp;
mod input;
mod llm;
mod logs;
mod nodes;
mod oauth_flows;
mod oidc_interop;
mod openapi;
mod participants;
mod people;
mod project_settings;
mod resources;
mod rooms;
mod sdk;
mod secrets;
mod text_input;

pub use gatehouse_testkit::{Backend, TestServer, api_test, backends, contains};
