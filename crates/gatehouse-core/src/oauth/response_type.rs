//! Response types of the authorization endpoint (RFC 6749 §3.1.1, OAuth 2.0 Multiple Response
//! Type Encoding Practices §3–§5, OIDC Core §3.2–§3.3): which of a code, an ID token and an access
//! token a request asks for, and what that means for the nonce and the response mode.

/// A parsed `response_type`: a set of `code`, `id_token` and `token`, in any order on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseType {
    code: bool,
    id_token: bool,
    token: bool,
}

impl ResponseType {
    /// `code`: the authorization code flow.
    pub const CODE: Self = Self {
        code: true,
        id_token: false,
        token: false,
    };

    /// Parses a space-separated value; the order of the parts does not matter (Multiple Response
    /// Types §2). `None` for an empty value, an unknown part or a part given twice.
    pub fn parse(raw: &str) -> Option<Self> {
        let mut t = Self {
            code: false,
            id_token: false,
            token: false,
        };
        for part in raw.split(' ') {
            let slot = match part {
                "code" => &mut t.code,
                "id_token" => &mut t.id_token,
                "token" => &mut t.token,
                _ => return None,
            };
            if *slot {
                return None;
            }
            *slot = true;
        }
        Some(t)
    }

    /// Whether an authorization code is returned.
    pub fn code(self) -> bool {
        self.code
    }

    /// Whether an ID token is returned from the authorization endpoint.
    pub fn id_token(self) -> bool {
        self.id_token
    }

    /// Whether an access token is returned from the authorization endpoint.
    pub fn token(self) -> bool {
        self.token
    }

    /// Whether tokens travel in the authorization response: then the default response mode is
    /// `fragment`, and `query` must not be used (Multiple Response Types §5, RFC 6749 §4.2.2).
    pub fn returns_tokens(self) -> bool {
        self.id_token || self.token
    }

    /// Whether the request must carry a `nonce`: whenever an ID token comes from the
    /// authorization endpoint (OIDC Core §3.2.2.1), and in every OpenID hybrid flow
    /// (§3.3.2.11), `openid` saying whether the request is an OpenID one.
    pub fn needs_nonce(self, openid: bool) -> bool {
        self.id_token || (openid && self.code && self.token)
    }

    /// The spelling a client registers (the order of the registry's list of response types).
    pub fn as_str(self) -> &'static str {
        match (self.code, self.id_token, self.token) {
            (true, false, false) => "code",
            (false, false, true) => "token",
            (false, true, false) => "id_token",
            (true, true, false) => "code id_token",
            (false, true, true) => "id_token token",
            (true, false, true) => "code token",
            (true, true, true) => "code id_token token",
            // `parse` never yields the empty set.
            (false, false, false) => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::RESPONSE_TYPES;

    #[test]
    fn every_registrable_type_parses_in_any_order_to_its_registered_spelling() {
        for registered in RESPONSE_TYPES {
            let parts: Vec<&str> = registered.split(' ').collect();
            assert_eq!(ResponseType::parse(registered).map(|t| t.as_str()), Some(*registered));
            let reversed = parts.iter().rev().copied().collect::<Vec<_>>().join(" ");
            assert_eq!(ResponseType::parse(&reversed).map(|t| t.as_str()), Some(*registered));
        }
        let t = ResponseType::parse("token code").unwrap();
        assert!(t.code() && t.token() && !t.id_token());
        assert_eq!(ResponseType::parse("code"), Some(ResponseType::CODE));
    }

    #[test]
    fn unknown_repeated_and_empty_parts_are_refused() {
        for bad in [
            "",
            " ",
            "none",
            "code code",
            "code  token",
            "code foo",
            "CODE",
            "id-token",
            "token ",
        ] {
            assert_eq!(ResponseType::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tokens_in_the_response_decide_the_mode_and_id_tokens_the_nonce() {
        let t = |s| ResponseType::parse(s).unwrap();
        assert!(!t("code").returns_tokens() && !t("code").needs_nonce(true));
        assert!(t("token").returns_tokens() && !t("token").needs_nonce(true));
        assert!(t("id_token").needs_nonce(false) && t("code id_token").needs_nonce(false));
        assert!(t("code token").needs_nonce(true) && !t("code token").needs_nonce(false));
        assert!(t("code token").returns_tokens());
    }
}
