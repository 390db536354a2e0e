//! One method per REST endpoint, grouped by resource.

mod accounts;
mod oauth_clients;
mod project_data;
