//! One module per command group. Each defines its clap arguments next to its handler.

pub mod api_key;
pub mod audit;
pub mod auth;
pub mod client;
pub mod client_args;
pub mod idp;
pub mod keys;
pub mod llm;
pub mod oauth2;
pub mod project;
pub mod resource;
pub mod room;
pub mod secret;
pub mod secret_data;
pub mod serve;
pub mod token;
pub mod user;
