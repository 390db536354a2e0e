//! The polling side of the device authorization grant (RFC 8628 §3.4–3.5): wait the interval,
//! ask the token endpoint, and react to its answer, until the user approves or denies or the
//! code expires.
//!
//! The waiting goes through a [`Sleeper`], so the state machine is tested without real sleeps.

use std::future::Future;
use std::time::Duration;

use gatehouse_client::types::TokenResponse;

/// RFC 8628 §3.5: `slow_down` adds 5 seconds to the polling interval, for good.
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// RFC 8628 §3.2: the interval when the server gives none.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Longest interval reached by backing off after network failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Waits between polls. The real one is [`TokioSleeper`]; tests record the waits instead.
pub trait Sleeper {
    /// Waits for `duration`.
    fn sleep(&mut self, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// Sleeps on the tokio timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&mut self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

/// Why a device sign-in ended without tokens.
#[derive(Debug, thiserror::Error)]
pub enum DeviceFlowError {
    /// RFC 8628 §3.5 `access_denied`.
    #[error("the sign-in was denied in the browser")]
    Denied,
    /// RFC 8628 §3.5 `expired_token`, or the code's lifetime passed while waiting.
    #[error("the code expired before it was approved; run `gatehouse auth login` again")]
    Expired,
    /// Any other answer of the token endpoint.
    #[error("the sign-in failed: {0}")]
    Failed(gatehouse_client::Error),
}

/// The poller's state: the current interval and how long the code has left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePoll {
    interval: Duration,
    remaining: Duration,
}

impl DevicePoll {
    /// The state after the device authorization response's `interval` and `expires_in`.
    pub fn new(interval_secs: u64, expires_in_secs: u64) -> Self {
        let interval = match interval_secs {
            0 => DEFAULT_INTERVAL,
            secs => Duration::from_secs(secs),
        };
        Self {
            interval,
            remaining: Duration::from_secs(expires_in_secs),
        }
    }

    /// How long to wait before the next poll.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Reacts to one answer of the token endpoint: `Ok(Some)` is the end, `Ok(None)` means poll
    /// again after [`DevicePoll::interval`].
    pub fn answer(
        &mut self,
        answer: Result<TokenResponse, gatehouse_client::Error>,
    ) -> Result<Option<TokenResponse>, DeviceFlowError> {
        let error = match answer {
            Ok(tokens) => return Ok(Some(tokens)),
            Err(error) => error,
        };
        match error.code() {
            Some("authorization_pending") => Ok(None),
            Some("slow_down") => {
                self.interval += SLOW_DOWN_STEP;
                Ok(None)
            }
            Some("access_denied") => Err(DeviceFlowError::Denied),
            Some("expired_token") => Err(DeviceFlowError::Expired),
            // RFC 8628 §3.5: after a connection failure, poll less often (doubling is recommended).
            None if matches!(error, gatehouse_client::Error::Transport(_)) => {
                self.interval = (self.interval * 2).min(MAX_BACKOFF.max(self.interval));
                Ok(None)
            }
            _ => Err(DeviceFlowError::Failed(error)),
        }
    }
}

/// Polls with `request` until the user answers: waits the interval before every request, the
/// first one included (nobody can have approved sooner), and gives up once the code's lifetime
/// has been spent waiting.
pub async fn poll<S, F, Fut>(
    mut state: DevicePoll,
    sleeper: &mut S,
    mut request: F,
) -> Result<TokenResponse, DeviceFlowError>
where
    S: Sleeper,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<TokenResponse, gatehouse_client::Error>>,
{
    loop {
        if state.remaining.is_zero() {
            return Err(DeviceFlowError::Expired);
        }
        let wait = state.interval.min(state.remaining);
        sleeper.sleep(wait).await;
        state.remaining -= wait;
        if let Some(tokens) = state.answer(request().await)? {
            return Ok(tokens);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    /// Records the waits and returns at once.
    #[derive(Default)]
    struct Recorder(Vec<u64>);

    impl Sleeper for Recorder {
        fn sleep(&mut self, duration: Duration) -> impl Future<Output = ()> + Send {
            self.0.push(duration.as_secs());
            std::future::ready(())
        }
    }

    fn oauth(code: &str) -> Result<TokenResponse, gatehouse_client::Error> {
        Err(gatehouse_client::Error::Api {
            status: 400,
            error: code.into(),
            message: "m".into(),
        })
    }

    fn tokens() -> Result<TokenResponse, gatehouse_client::Error> {
        Ok(TokenResponse {
            access_token: "a".into(),
            token_type: "Bearer".into(),
            expires_in: 900,
            refresh_token: Some("r".into()),
            id_token: None,
            scope: "openid".into(),
            issued_token_type: None,
        })
    }

    /// Runs the poller over scripted answers; returns the outcome, the waits, and the number
    /// of requests made.
    async fn run(
        state: DevicePoll,
        answers: Vec<Result<TokenResponse, gatehouse_client::Error>>,
    ) -> (Result<TokenResponse, DeviceFlowError>, Vec<u64>, usize) {
        let mut script: VecDeque<_> = answers.into();
        let mut sleeper = Recorder::default();
        let mut requests = 0;
        let outcome = poll(state, &mut sleeper, || {
            requests += 1;
            std::future::ready(script.pop_front().unwrap_or_else(|| oauth("authorization_pending")))
        })
        .await;
        (outcome, sleeper.0, requests)
    }

    #[tokio::test]
    async fn pending_answers_are_polled_at_the_servers_interval_until_approval() {
        let answers = vec![oauth("authorization_pending"), oauth("authorization_pending"), tokens()];
        let (outcome, waits, requests) = run(DevicePoll::new(5, 600), answers).await;
        assert_eq!(
            outcome
                .expect("tokens")
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret()),
            Some("r")
        );
        assert_eq!(waits, [5, 5, 5], "the first poll waits too");
        assert_eq!(requests, 3);
    }

    #[tokio::test]
    async fn slow_down_adds_five_seconds_to_every_later_wait() {
        let answers = vec![
            oauth("slow_down"),
            oauth("authorization_pending"),
            oauth("slow_down"),
            oauth("authorization_pending"),
            tokens(),
        ];
        let (outcome, waits, _) = run(DevicePoll::new(5, 600), answers).await;
        outcome.expect("tokens");
        assert_eq!(waits, [5, 10, 10, 15, 15]);
    }

    #[tokio::test]
    async fn a_denial_ends_the_flow_at_once() {
        let answers = vec![oauth("authorization_pending"), oauth("access_denied"), tokens()];
        let (outcome, _, requests) = run(DevicePoll::new(5, 600), answers).await;
        assert!(matches!(outcome, Err(DeviceFlowError::Denied)), "{outcome:?}");
        assert_eq!(requests, 2);
    }

    #[tokio::test]
    async fn an_expired_code_ends_the_flow() {
        let (outcome, _, requests) = run(DevicePoll::new(5, 600), vec![oauth("expired_token")]).await;
        assert!(matches!(outcome, Err(DeviceFlowError::Expired)), "{outcome:?}");
        assert_eq!(requests, 1);
    }

    #[tokio::test]
    async fn polling_stops_when_the_codes_lifetime_has_been_waited_out() {
        let (outcome, waits, requests) = run(DevicePoll::new(5, 12), vec![]).await;
        assert!(matches!(outcome, Err(DeviceFlowError::Expired)), "{outcome:?}");
        assert_eq!(waits, [5, 5, 2], "the last wait is cut to the code's lifetime");
        assert_eq!(requests, 3);
    }

    #[tokio::test]
    async fn other_oauth_errors_fail_with_the_servers_message() {
        let (outcome, _, _) = run(DevicePoll::new(5, 600), vec![oauth("invalid_client")]).await;
        let err = outcome.expect_err("fails");
        assert!(matches!(err, DeviceFlowError::Failed(_)), "{err:?}");
        assert_eq!(err.to_string(), "the sign-in failed: 400 invalid_client: m");
    }

    #[test]
    fn a_missing_interval_means_five_seconds() {
        assert_eq!(DevicePoll::new(0, 600).interval(), DEFAULT_INTERVAL);
        assert_eq!(DevicePoll::new(7, 600).interval(), Duration::from_secs(7));
    }

    #[tokio::test]
    async fn network_failures_double_the_interval_up_to_a_minute() {
        // A real transport error: nothing listens on port 9.
        let client = gatehouse_client::Client::new("http://127.0.0.1:9", None).expect("client");
        let failure = client.device_token("gatehouse-cli", "x").await.expect_err("refused");
        assert!(matches!(failure, gatehouse_client::Error::Transport(_)));
        let mut state = DevicePoll::new(20, 600);
        state.answer(Err(failure)).expect("keeps polling");
        assert_eq!(state.interval(), Duration::from_secs(40));
        let failure = client.device_token("gatehouse-cli", "x").await.expect_err("refused");
        state.answer(Err(failure)).expect("keeps polling");
        assert_eq!(state.interval(), MAX_BACKOFF);
    }
}
