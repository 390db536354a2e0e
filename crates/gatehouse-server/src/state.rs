//! Shared state of every handler: the application and the metrics registry. No globals.

use std::sync::Arc;

use gatehouse_core::Gatehouse;

use crate::metrics::Metrics;

/// What handlers share.
pub struct AppState {
    pub gh: Arc<Gatehouse>,
    pub metrics: Arc<Metrics>,
    /// Period of keep-alive pings on room sockets; a socket silent for two periods is dropped.
    pub room_keepalive: std::time::Duration,
    /// The LLM proxy gate's outbound client and bounds.
    pub llm: crate::routes::llm::proxy::Gate,
}
