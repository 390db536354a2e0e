//! Upstream identity providers ("Continue with …" on the sign-in page), for server admins.

use reqwest::Method;

use gatehouse_types::{IdentityProvider, IdentityProviderInput, IdentityProviderList, IdentityProviderPatch};

use crate::{Client, Error};

const BASE: [&str; 2] = ["accounts", "identity-providers"];

impl Client {
    /// `GET /accounts/identity-providers`: the config file's providers and those added over REST.
    pub async fn list_identity_providers(&self) -> Result<IdentityProviderList, Error> {
        self.get(&BASE).await
    }

    /// `GET /accounts/identity-providers/{id}`.
    pub async fn get_identity_provider(&self, id: &str) -> Result<IdentityProvider, Error> {
        self.get(&[BASE[0], BASE[1], id]).await
    }

    /// `POST /accounts/identity-providers` → 201.
    pub async fn create_identity_provider(&self, input: &IdentityProviderInput) -> Result<IdentityProvider, Error> {
        self.with_body(Method::POST, &BASE, input).await
    }

    /// `PATCH /accounts/identity-providers/{id}`: absent fields keep their value.
    pub async fn update_identity_provider(
        &self,
        id: &str,
        patch: &IdentityProviderPatch,
    ) -> Result<IdentityProvider, Error> {
        self.with_body(Method::PATCH, &[BASE[0], BASE[1], id], patch).await
    }

    /// `DELETE /accounts/identity-providers/{id}`, with the identities linked through it.
    pub async fn delete_identity_provider(&self, id: &str) -> Result<(), Error> {
        self.delete(&[BASE[0], BASE[1], id]).await
    }
}
