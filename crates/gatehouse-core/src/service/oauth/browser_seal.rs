//! What a first-party browser client of this server (the console, SPEC §10) keeps in cookies:
//! values sealed under a key derived from the server key, so that a cookie holds nothing readable
//! and any node opens it; and the checks of the ID tokens it receives (OIDC Core §3.1.3.7).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::Gatehouse;
use crate::crypto::{DataKey, RowAad};
use crate::jose;

impl Gatehouse {
    fn browser_key(&self) -> DataKey {
        DataKey::from_bytes(&self.keys.hasher().derive_key("browser-seal"))
    }

    /// `plaintext` sealed for a cookie named by `purpose` (base64url).
    pub fn seal_for_browser(&self, purpose: &str, plaintext: &[u8]) -> String {
        let aad = RowAad::new("browser", "", "", "", purpose, 1);
        URL_SAFE_NO_PAD.encode(self.browser_key().seal(self.rng.as_ref(), &aad, plaintext))
    }

    /// What [`Gatehouse::seal_for_browser`] sealed for the same `purpose`, or `None`.
    pub fn open_from_browser(&self, purpose: &str, sealed: &str) -> Option<Vec<u8>> {
        let aad = RowAad::new("browser", "", "", "", purpose, 1);
        let raw = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        self.browser_key().open(&aad, &raw).ok()
    }

    /// The claims of an ID token this server issued to `client_id` for `nonce`: our signature,
    /// issuer, audience, nonce and expiry all checked; `None` otherwise.
    pub fn verify_id_token(&self, token: &str, client_id: &str, nonce: &str) -> Option<Map<String, Value>> {
        let header = jose::decode_header(token).ok()?;
        if header.typ.is_some_and(|t| t.eq_ignore_ascii_case("at+jwt")) {
            return None;
        }
        let claims = self.verify_own_jwt(token)?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let exp = claims.get("exp").and_then(Value::as_i64)?;
        let fresh = exp * 1000 > self.clock.now().millis();
        let ok = text("iss") == Some(self.provider.config.issuer.as_str())
            && text("aud") == Some(client_id)
            && text("nonce").is_some_and(|n| crate::secret::ct_eq(n.as_bytes(), nonce.as_bytes()))
            && fresh;
        ok.then_some(claims)
    }
}
