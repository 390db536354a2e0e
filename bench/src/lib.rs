//! Shared helpers of the Gatehouse benchmarks: timing, the HTTP load generator, CPU accounting,
//! servers as pinned child processes, the setup of the authorization-server scenarios, a project
//! seeded with many clients (registry and console), and the crash soak.

pub mod cpu;
pub mod load;
pub mod oauth;
pub mod registry;
pub mod server;
pub mod soak;

use std::time::{Duration, Instant};

use gatehouse_core::api_key::ApiKeyValue;
use gatehouse_core::participant::ParticipantClaims;
use gatehouse_core::time::{Clock as _, SystemClock};
use gatehouse_types::CreateParticipantToken;

/// Runs `f` `iterations` times and returns the elapsed time.
pub fn time<F: FnMut()>(iterations: u64, mut f: F) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed()
}

/// Operations per second.
pub fn rate(iterations: u64, elapsed: Duration) -> f64 {
    iterations as f64 / elapsed.as_secs_f64()
}

/// The `p`-quantile (0–1) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A duration in milliseconds, for reports.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// The claims of an RFC 9068 access token as the token endpoint signs them for a client, with
/// fixed values: the same fields, about the same size (a few bytes either way per field).
pub fn sample_access_claims() -> serde_json::Value {
    serde_json::json!({
        "iss": "https://gatehouse.example.com",
        "sub": "bench-client-0001",
        "aud": "https://gatehouse.example.com",
        "client_id": "bench-client-0001",
        "scope": "gatehouse_api",
        "exp": 1_700_003_600,
        "iat": 1_700_000_000,
        "jti": "q8Zr3m0bXyT1uVw2kLp9Ag",
        "project_id": "0192f0c4-6c1e-7a3b-9d2e-4f5a6b7c8d9e",
    })
}

/// Resident memory of a process, in MiB.
pub fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    use anyhow::Context as _;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .context("no VmRSS")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib / 1024.0)
}

/// A new project of the server `gh` (created with its bootstrap admin key) and a [`Minter`] for
/// a new API key of it.
pub async fn project_minter(gh: &server::Gatehouse, name: &str) -> anyhow::Result<Minter> {
    use anyhow::Context as _;
    let http = reqwest::Client::new();
    let admin = &gh.bootstrap.api_key;
    let body = serde_json::json!({ "name": name });
    let project = server::post(&http, &gh.base, admin, "/accounts/projects", body).await?;
    let p = project["id"].as_str().context("project id")?;
    let path = format!("/accounts/projects/{p}/api-keys");
    let key = server::post(&http, &gh.base, admin, &path, serde_json::json!({ "name": "bench" })).await?;
    Ok(Minter {
        key: ApiKeyValue::parse(key["value"].as_str().context("key value")?)?,
    })
}

/// Signs participant tokens with one API key, as an SDK does.
pub struct Minter {
    pub key: ApiKeyValue,
}

impl Minter {
    /// A token of `name` for `room`, with the ApiScope `api` when given.
    pub fn token_with(&self, name: &str, room: &str, api: Option<serde_json::Value>) -> anyhow::Result<String> {
        let req = CreateParticipantToken {
            name: name.into(),
            room_name: Some(room.into()),
            api,
            ..Default::default()
        };
        let claims = ParticipantClaims::from_request(req, SystemClock.now())?;
        Ok(claims.sign(
            self.key.id,
            self.key.project_id,
            self.key.secret.expose_secret().as_bytes(),
        )?)
    }

    /// A token of `name` for `room` with no api grant.
    pub fn token(&self, name: &str, room: &str) -> anyhow::Result<String> {
        self.token_with(name, room, None)
    }
}
