//! Risky but valid client configurations, each with the field it concerns and why it is risky
//! (shown by the console in the list and next to the field in the form).

use url::Url;

use super::ClientSettings;

/// One risk of a client's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Risk {
    /// The wire name of the field to change.
    pub field: &'static str,
    pub reason: String,
}

/// The risks of `s`, most serious first.
pub fn risks(s: &ClientSettings) -> Vec<Risk> {
    let mut out = Vec::new();
    let mut risk = |field, reason: String| out.push(Risk { field, reason });
    if s.has_grant("implicit") {
        risk(
            "grant_types",
            "The implicit grant puts tokens in the redirect URL, where browser history, logs and \
             referrers can leak them; use authorization_code with PKCE instead."
                .into(),
        );
    }
    for uri in s.redirect_uris.iter().chain(&s.post_logout_redirect_uris) {
        if plain_http_off_loopback(uri) {
            let field = if s.redirect_uris.contains(uri) {
                "redirect_uris"
            } else {
                "post_logout_redirect_uris"
            };
            risk(
                field,
                format!(
                    "{uri} is plain http on a host other than this machine: codes and tokens sent to it can be read on the way; use https."
                ),
            );
        }
    }
    if !s.require_pkce {
        risk(
            "require_pkce",
            "PKCE is not required: an authorization code intercepted on its way back can be \
             redeemed by whoever also holds the client secret; require PKCE unless an old client cannot send it."
                .into(),
        );
    }
    if !s.require_client_secret && s.offline_access() && s.refresh_grace_seconds == 0 {
        risk(
            "refresh_grace_seconds",
            "A public client's refresh token rotates on every use; with no grace period, a retry \
             after a lost response or two tabs refreshing at once sign the person out. Allow a few seconds."
                .into(),
        );
    }
    out
}

fn plain_http_off_loopback(uri: &str) -> bool {
    Url::parse(uri)
        .is_ok_and(|u| u.scheme() == "http" && !matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public_spa() -> ClientSettings {
        let mut s = ClientSettings::defaults("SPA".into(), false);
        s.redirect_uris = vec!["https://app.example/cb".into()];
        s
    }

    #[test]
    fn a_safe_client_has_no_risk() {
        assert_eq!(risks(&public_spa()), Vec::new());
        assert_eq!(risks(&ClientSettings::defaults("Web".into(), true)), Vec::new());
    }

    #[test]
    fn each_risky_setting_is_named_with_its_field() {
        let mut s = public_spa();
        s.grant_types = vec!["authorization_code".into(), "implicit".into(), "refresh_token".into()];
        s.redirect_uris.push("http://app.example/cb".into());
        s.redirect_uris.push("http://127.0.0.1:8080/cb".into());
        s.require_pkce = false;
        s.refresh_grace_seconds = 0;
        let fields: Vec<&str> = risks(&s).iter().map(|r| r.field).collect();
        assert_eq!(
            fields,
            ["grant_types", "redirect_uris", "require_pkce", "refresh_grace_seconds"]
        );
        assert!(risks(&s)[1].reason.starts_with("http://app.example/cb "));
    }

    #[test]
    fn a_confidential_client_may_refresh_without_grace() {
        let mut s = ClientSettings::defaults("Web".into(), true);
        s.grant_types.push("refresh_token".into());
        s.refresh_grace_seconds = 0;
        assert_eq!(risks(&s), Vec::new());
    }
}
