//! The crash soak: mixed REST writes against a real `gatehouse serve` process that is killed with
//! SIGKILL at random moments and restarted on the same data, checking after every restart that
//! every acknowledged write is there, intact ([`ledger`], [`probe`]).

pub mod ledger;
pub mod probe;
pub mod run;
pub mod writer;

use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

/// A seeded pseudo-random sequence (SplitMix64): the same seed gives the same kill moments,
/// load durations and write mixes (the server's answers still vary with timing).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// An independent sequence derived from this one's seed and `stream`.
    pub fn fork(&self, stream: u64) -> Self {
        let mut r = Self(self.0 ^ stream.wrapping_mul(0xA24B_AED4_963E_E407));
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// A duration drawn uniformly from `lo..=hi`.
    pub fn duration(&mut self, lo: Duration, hi: Duration) -> Duration {
        let span = hi.saturating_sub(lo).as_millis() as u64;
        lo + Duration::from_millis(self.below(span + 1))
    }

    /// 16 random hex digits.
    pub fn hex(&mut self) -> String {
        format!("{:016x}", self.next_u64())
    }
}

/// The REST API of one running server, as the bootstrap server-admin key.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub key: String,
    /// The soak's project.
    pub project: String,
}

/// How a request ended: an answer (any status), or none (the connection failed: the server was
/// killed, or is not up).
pub type Answer = Result<(u16, Value), reqwest::Error>;

impl Api {
    /// `method base+path` as `key`, with a JSON body if given.
    pub async fn send_as(&self, key: &str, method: reqwest::Method, path: &str, body: Option<&Value>) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key);
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let bytes = res.bytes().await?;
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }

    /// [`Self::send_as`] as the soak's key.
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Answer {
        self.send_as(&self.key, method, path, body).await
    }

    /// A path under the soak's project.
    pub fn path(&self, rest: &str) -> String {
        format!("/accounts/projects/{}{rest}", self.project)
    }

    /// `GET` of a path under the project that must answer 200 (or 404 when `absent_ok`);
    /// `None` for a 404.
    pub async fn read(&self, rest: &str, absent_ok: bool) -> anyhow::Result<Option<Value>> {
        let (status, body) = self
            .send(reqwest::Method::GET, &self.path(rest), None)
            .await
            .with_context(|| format!("GET {rest}"))?;
        match status {
            200 => Ok(Some(body)),
            404 if absent_ok => Ok(None),
            _ => anyhow::bail!("GET {rest}: {status}: {body}"),
        }
    }
}

/// The string at a JSON pointer.
pub fn str_at(v: &Value, pointer: &str) -> anyhow::Result<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("no {pointer} in the answer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        assert_eq!(
            (0..5).map(|_| a.next_u64()).collect::<Vec<_>>(),
            (0..5).map(|_| b.next_u64()).collect::<Vec<_>>()
        );
        assert_ne!(Rng::new(7).fork(1).next_u64(), Rng::new(7).fork(2).next_u64());
        let mut r = Rng::new(3);
        let d = r.duration(Duration::from_millis(5), Duration::from_millis(9));
        assert!((5..=9).contains(&(d.as_millis() as u64)));
    }
}
