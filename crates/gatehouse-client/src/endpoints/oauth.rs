//! The OAuth endpoints a native client calls (SPEC §5.1): device authorization (RFC 8628), the
//! token endpoint's device-code and refresh grants (RFC 6749 §6), and revocation (RFC 7009).
//!
//! These calls never carry the client's bearer credential: a public client such as
//! `gatehouse-cli` names itself with `client_id` in the form body (auth method `none`).

use gatehouse_types::{DeviceAuthorizationResponse, TokenResponse};

use crate::{Client, Error};

/// `grant_type` of the device authorization grant (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

impl Client {
    /// `POST /oauth/device_authorization` (RFC 8628 §3.1): starts a device sign-in.
    pub async fn device_authorization(
        &self,
        client_id: &str,
        scope: &str,
    ) -> Result<DeviceAuthorizationResponse, Error> {
        let body = self
            .oauth_form(
                &["oauth", "device_authorization"],
                &[("client_id", client_id), ("scope", scope)],
            )
            .await?;
        serde_json::from_slice(&body).map_err(Error::Decode)
    }

    /// `POST /oauth/token` with the device-code grant (RFC 8628 §3.4). While the user has not
    /// answered this fails with [`Error::Api`] whose code is `authorization_pending` or
    /// `slow_down`; `access_denied` and `expired_token` end the flow (RFC 8628 §3.5).
    pub async fn device_token(&self, client_id: &str, device_code: &str) -> Result<TokenResponse, Error> {
        self.token(&[
            ("grant_type", DEVICE_CODE_GRANT),
            ("device_code", device_code),
            ("client_id", client_id),
        ])
        .await
    }

    /// `POST /oauth/token` with the refresh-token grant (RFC 6749 §6). Refresh tokens rotate:
    /// keep the one in the answer, the one sent is spent.
    pub async fn refresh_token(&self, client_id: &str, refresh_token: &str) -> Result<TokenResponse, Error> {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ])
        .await
    }

    /// `POST /oauth/revoke` for a refresh token (RFC 7009 §2.1); Gatehouse revokes its whole
    /// family. Succeeds also for a token the server no longer knows (RFC 7009 §2.2).
    pub async fn revoke_refresh_token(&self, client_id: &str, refresh_token: &str) -> Result<(), Error> {
        self.oauth_form(
            &["oauth", "revoke"],
            &[
                ("token", refresh_token),
                ("token_type_hint", "refresh_token"),
                ("client_id", client_id),
            ],
        )
        .await
        .map(|_| ())
    }

    async fn token(&self, form: &[(&str, &str)]) -> Result<TokenResponse, Error> {
        let body = self.oauth_form(&["oauth", "token"], form).await?;
        serde_json::from_slice(&body).map_err(Error::Decode)
    }
}
