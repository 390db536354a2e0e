//! Room secrets (SPEC §7): the `secrets.*` operations over REST. The client's credential must be
//! a participant token of the room.

use std::time::Duration;

use reqwest::Method;

use gatehouse_types::{
    DeleteRoomSecret, GetOfflineOAuthToken, OAuthToken, OfflineOAuthToken, RequestOAuthToken, RoomSecretList,
};

use crate::{Client, Error};

/// Longer than the longest consent wait the server allows (900 s, and 65 s for an exchange under
/// way), so the server answers first.
const CONSENT_WAIT_LIMIT: Duration = Duration::from_secs(900 + 120);

impl Client {
    /// `GET /rooms/{room}/secrets`: the caller's own and delegated secrets.
    pub async fn list_room_secrets(&self, room: &str) -> Result<RoomSecretList, Error> {
        self.get(&["rooms", room, "secrets"]).await
    }

    /// `secrets.delete`; revokes at the provider when it can.
    pub async fn delete_room_secret(&self, room: &str, input: &DeleteRoomSecret) -> Result<(), Error> {
        let _: serde_json::Value = self
            .with_body(Method::POST, &["rooms", room, "secrets", "delete"], input)
            .await?;
        Ok(())
    }

    /// `secrets.request_oauth_token`: waits until the participant asked has answered (up to the
    /// request's timeout) unless a stored credential serves.
    pub async fn request_oauth_token(&self, room: &str, input: &RequestOAuthToken) -> Result<OAuthToken, Error> {
        let request = self
            .request(Method::POST, &["rooms", room, "secrets", "request_oauth_token"])?
            .timeout(CONSENT_WAIT_LIMIT)
            .json(input);
        self.send_json(request).await
    }

    /// `secrets.get_offline_oauth_token`: a stored token or `null`; never prompts.
    pub async fn get_offline_oauth_token(
        &self,
        room: &str,
        input: &GetOfflineOAuthToken,
    ) -> Result<OfflineOAuthToken, Error> {
        self.with_body(
            Method::POST,
            &["rooms", room, "secrets", "get_offline_oauth_token"],
            input,
        )
        .await
    }
}
