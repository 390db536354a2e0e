//! Every rule of SPEC §4.2 with a rejected and an accepted case.

use super::*;

fn web_app() -> ClientInput {
    ClientInput {
        name: Some("Web app".into()),
        redirect_uris: Some(vec!["https://app.example.com/cb".into()]),
        ..Default::default()
    }
}

fn field_of(input: &ClientInput) -> String {
    match ClientSettings::create(input) {
        Err(Error::Invalid { field, .. }) => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn a_minimal_confidential_web_client_gets_the_documented_defaults() {
    let s = ClientSettings::create(&web_app()).unwrap();
    assert!(s.require_client_secret && s.enabled && s.require_pkce && s.revoke_on_logout);
    assert_eq!(s.token_endpoint_auth_method, "client_secret_basic");
    assert_eq!(s.grant_types, ["authorization_code"]);
    assert_eq!(s.response_types, ["code"]);
    assert_eq!(
        (s.access_token_ttl, s.refresh_token_ttl, s.id_token_ttl),
        (3600, 2_592_000, 3600)
    );
    assert_eq!(s.refresh_grace_seconds, 10);
    assert_eq!(s.id_token_signed_response_alg, "ES256");
}

#[test]
fn name_is_required_and_bounded() {
    assert_eq!(
        field_of(&ClientInput {
            name: None,
            ..web_app()
        }),
        "name"
    );
    assert_eq!(
        field_of(&ClientInput {
            name: Some("  ".into()),
            ..web_app()
        }),
        "name"
    );
    assert_eq!(
        field_of(&ClientInput {
            name: Some("x".repeat(201)),
            ..web_app()
        }),
        "name"
    );
    assert!(
        ClientSettings::create(&ClientInput {
            name: Some("é".repeat(200)),
            ..web_app()
        })
        .is_ok()
    );
}

#[test]
fn authorization_code_needs_a_redirect_uri() {
    assert_eq!(
        field_of(&ClientInput {
            redirect_uris: Some(vec![]),
            ..web_app()
        }),
        "redirect_uris"
    );
    assert!(ClientSettings::create(&web_app()).is_ok());
}

#[test]
fn code_response_types_need_the_authorization_code_grant() {
    let input = ClientInput {
        grant_types: Some(vec!["client_credentials".into()]),
        response_types: Some(vec!["code".into()]),
        ..web_app()
    };
    assert_eq!(field_of(&input), "response_types");
    let ok = ClientInput {
        response_types: Some(vec![]),
        ..input
    };
    assert!(ClientSettings::create(&ok).is_ok());
}

#[test]
fn token_and_id_token_response_types_need_the_implicit_grant() {
    for rt in [
        "token",
        "id_token",
        "code id_token",
        "id_token token",
        "code token",
        "code id_token token",
    ] {
        let input = ClientInput {
            response_types: Some(vec![rt.into()]),
            ..web_app()
        };
        assert_eq!(field_of(&input), "response_types", "{rt}");
        let ok = ClientInput {
            grant_types: Some(vec!["authorization_code".into(), "implicit".into()]),
            ..input
        };
        assert!(ClientSettings::create(&ok).is_ok(), "{rt}");
    }
}

#[test]
fn id_token_response_types_need_the_openid_scope() {
    let input = ClientInput {
        grant_types: Some(vec!["implicit".into()]),
        response_types: Some(vec!["id_token".into()]),
        scope: Some("profile".into()),
        ..web_app()
    };
    assert_eq!(field_of(&input), "response_types");
    assert!(
        ClientSettings::create(&ClientInput {
            scope: Some("openid profile".into()),
            ..input
        })
        .is_ok()
    );
}

#[test]
fn unknown_grant_and_response_types_are_rejected() {
    assert_eq!(
        field_of(&ClientInput {
            grant_types: Some(vec!["password".into()]),
            ..web_app()
        }),
        "grant_types"
    );
    assert_eq!(
        field_of(&ClientInput {
            response_types: Some(vec!["code id".into()]),
            ..web_app()
        }),
        "response_types"
    );
}

#[test]
fn redirect_uris_must_be_safe_absolute_uris() {
    for bad in [
        "https://app.example.com/cb#x",
        "https://*.example.com/cb",
        "http://app.example.com/cb",
        "https://u@app.example.com/cb",
        "cb",
    ] {
        let input = ClientInput {
            redirect_uris: Some(vec![bad.into()]),
            ..web_app()
        };
        assert_eq!(field_of(&input), "redirect_uris", "{bad}");
    }
    let ok = ClientInput {
        redirect_uris: Some(vec![
            "https://app.example.com/cb?tenant=1".into(),
            "http://127.0.0.1:9/cb".into(),
        ]),
        ..web_app()
    };
    assert!(ClientSettings::create(&ok).is_ok());
}

#[test]
fn private_use_scheme_redirects_need_a_public_client() {
    let native = ClientInput {
        redirect_uris: Some(vec!["com.example.app:/oauth".into()]),
        ..web_app()
    };
    assert_eq!(field_of(&native), "redirect_uris");
    assert!(
        ClientSettings::create(&ClientInput {
            require_client_secret: Some(false),
            ..native
        })
        .is_ok()
    );
}

#[test]
fn post_logout_redirect_uris_follow_the_redirect_rules() {
    let bad = ClientInput {
        post_logout_redirect_uris: Some(vec!["http://evil.example/".into()]),
        ..web_app()
    };
    assert_eq!(field_of(&bad), "post_logout_redirect_uris");
    let ok = ClientInput {
        post_logout_redirect_uris: Some(vec!["https://app.example.com/bye".into()]),
        ..web_app()
    };
    assert!(ClientSettings::create(&ok).is_ok());
}

#[test]
fn cors_origins_with_a_path_or_trailing_slash_are_rejected_clearly() {
    let slash = ClientInput {
        allowed_cors_origins: Some(vec!["https://app.example.com/".into()]),
        ..web_app()
    };
    match ClientSettings::create(&slash) {
        Err(Error::Invalid { field, reason }) => {
            assert_eq!(field, "allowed_cors_origins");
            assert!(reason.contains("slash"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let path = ClientInput {
        allowed_cors_origins: Some(vec!["https://app.example.com/x".into()]),
        ..web_app()
    };
    assert_eq!(field_of(&path), "allowed_cors_origins");
    let ok = ClientInput {
        allowed_cors_origins: Some(vec!["https://app.example.com".into()]),
        ..web_app()
    };
    assert!(ClientSettings::create(&ok).is_ok());
}

#[test]
fn client_credentials_requires_a_confidential_client() {
    let input = ClientInput {
        require_client_secret: Some(false),
        grant_types: Some(vec!["client_credentials".into()]),
        response_types: Some(vec![]),
        ..web_app()
    };
    assert_eq!(field_of(&input), "grant_types");
    assert!(
        ClientSettings::create(&ClientInput {
            require_client_secret: Some(true),
            ..input
        })
        .is_ok()
    );
}

#[test]
fn device_code_is_allowed_for_public_clients() {
    let input = ClientInput {
        require_client_secret: Some(false),
        grant_types: Some(vec![
            "urn:ietf:params:oauth:grant-type:device_code".into(),
            "refresh_token".into(),
        ]),
        response_types: Some(vec![]),
        redirect_uris: Some(vec![]),
        ..web_app()
    };
    let s = ClientSettings::create(&input).unwrap();
    assert_eq!(s.token_endpoint_auth_method, "none");
    assert!(s.offline_access());
}

#[test]
fn public_clients_must_use_pkce_and_no_secret_auth() {
    let public = ClientInput {
        require_client_secret: Some(false),
        ..web_app()
    };
    assert_eq!(
        field_of(&ClientInput {
            require_pkce: Some(false),
            ..public.clone()
        }),
        "require_pkce"
    );
    assert_eq!(
        field_of(&ClientInput {
            token_endpoint_auth_method: Some("client_secret_post".into()),
            ..public.clone()
        }),
        "token_endpoint_auth_method"
    );
    assert!(ClientSettings::create(&public).is_ok());
    assert!(
        ClientSettings::create(&ClientInput {
            require_pkce: Some(false),
            ..web_app()
        })
        .is_ok()
    );
}

#[test]
fn confidential_clients_cannot_use_auth_method_none() {
    let input = ClientInput {
        token_endpoint_auth_method: Some("none".into()),
        ..web_app()
    };
    assert_eq!(field_of(&input), "token_endpoint_auth_method");
    let post = ClientInput {
        token_endpoint_auth_method: Some("client_secret_post".into()),
        ..web_app()
    };
    assert!(ClientSettings::create(&post).is_ok());
    let jwt = ClientInput {
        token_endpoint_auth_method: Some("private_key_jwt".into()),
        ..web_app()
    };
    assert_eq!(field_of(&jwt), "token_endpoint_auth_method");
}

#[test]
fn scopes_must_be_known() {
    assert_eq!(
        field_of(&ClientInput {
            scope: Some("openid ad\\min".into()),
            ..web_app()
        }),
        "scope"
    );
    let all = KNOWN_SCOPES.join(" ");
    assert!(
        ClientSettings::create(&ClientInput {
            scope: Some(all),
            ..web_app()
        })
        .is_ok()
    );
}

#[test]
fn offline_access_and_the_refresh_token_grant_are_one_setting() {
    let on = ClientSettings::create(&ClientInput {
        offline_access: Some(true),
        ..web_app()
    })
    .unwrap();
    assert!(on.offline_access() && on.has_grant("refresh_token"));
    let off = on
        .update(&ClientInput {
            offline_access: Some(false),
            ..Default::default()
        })
        .unwrap();
    assert!(!off.offline_access() && !off.has_grant("refresh_token"));
    let contradiction = ClientInput {
        offline_access: Some(false),
        grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
        ..web_app()
    };
    assert_eq!(field_of(&contradiction), "offline_access");
}

#[test]
fn lifetimes_and_grace_are_bounded() {
    assert_eq!(
        field_of(&ClientInput {
            access_token_ttl: Some(10),
            ..web_app()
        }),
        "access_token_ttl"
    );
    assert_eq!(
        field_of(&ClientInput {
            refresh_token_ttl: Some(u32::MAX),
            ..web_app()
        }),
        "refresh_token_ttl"
    );
    assert_eq!(
        field_of(&ClientInput {
            id_token_ttl: Some(0),
            ..web_app()
        }),
        "id_token_ttl"
    );
    assert_eq!(
        field_of(&ClientInput {
            refresh_grace_seconds: Some(301),
            ..web_app()
        }),
        "refresh_grace_seconds"
    );
    assert!(
        ClientSettings::create(&ClientInput {
            refresh_grace_seconds: Some(300),
            ..web_app()
        })
        .is_ok()
    );
}

#[test]
fn id_token_algorithm_is_one_we_sign_with() {
    assert_eq!(
        field_of(&ClientInput {
            id_token_signed_response_alg: Some("HS256".into()),
            ..web_app()
        }),
        "id_token_signed_response_alg"
    );
    for alg in ["ES256", "RS256", "EdDSA"] {
        let input = ClientInput {
            id_token_signed_response_alg: Some(alg.into()),
            ..web_app()
        };
        assert!(ClientSettings::create(&input).is_ok());
    }
}

#[test]
fn client_uri_must_be_https() {
    assert_eq!(
        field_of(&ClientInput {
            client_uri: Some(Some("http://app.example.com".into())),
            ..web_app()
        }),
        "client_uri"
    );
    assert!(
        ClientSettings::create(&ClientInput {
            client_uri: Some(Some("https://app.example.com".into())),
            ..web_app()
        })
        .is_ok()
    );
}

#[test]
fn logo_policy_and_terms_uris_are_web_urls_named_in_the_error() {
    let with = |logo: &str, policy: &str, tos: &str| ClientInput {
        logo_uri: Some(Some(logo.into())),
        policy_uri: Some(Some(policy.into())),
        tos_uri: Some(Some(tos.into())),
        ..web_app()
    };
    let (logo, policy, tos) = (
        "https://cdn.example.com/logo.png",
        "https://app.example.com/privacy",
        "https://app.example.com/terms",
    );
    let ok = ClientSettings::create(&with(logo, policy, tos)).unwrap();
    assert_eq!(
        (ok.logo_uri.as_deref(), ok.policy_uri.as_deref(), ok.tos_uri.as_deref()),
        (Some(logo), Some(policy), Some(tos))
    );
    let long = format!("https://app.example.com/{}", "a".repeat(2000));
    for bad in [
        "javascript:alert(1)",
        "http://app.example.com/x",
        "/privacy",
        "data:text/html,x",
        &long,
    ] {
        assert_eq!(field_of(&with(bad, policy, tos)), "logo_uri", "{bad}");
        assert_eq!(field_of(&with(logo, bad, tos)), "policy_uri", "{bad}");
        assert_eq!(field_of(&with(logo, policy, bad)), "tos_uri", "{bad}");
    }
    let cleared = ok
        .update(&ClientInput {
            logo_uri: Some(None),
            ..Default::default()
        })
        .unwrap();
    assert_eq!((cleared.logo_uri, cleared.policy_uri.as_deref()), (None, Some(policy)));
}

#[test]
fn lists_are_bounded_and_free_of_duplicates() {
    let dup = ClientInput {
        redirect_uris: Some(vec!["https://a.example/cb".into(), "https://a.example/cb".into()]),
        ..web_app()
    };
    assert_eq!(field_of(&dup), "redirect_uris");
    let many = ClientInput {
        redirect_uris: Some((0..101).map(|i| format!("https://a.example/{i}")).collect()),
        ..web_app()
    };
    assert_eq!(field_of(&many), "redirect_uris");
}

#[test]
fn metadata_is_bounded() {
    let big = ClientInput {
        metadata: Some([("k".to_string(), "v".repeat(1001))].into()),
        ..web_app()
    };
    assert_eq!(field_of(&big), "metadata");
    let ok = ClientInput {
        metadata: Some([("team".to_string(), "core".to_string())].into()),
        ..web_app()
    };
    assert!(ClientSettings::create(&ok).is_ok());
}

#[test]
fn update_keeps_absent_fields_and_clears_nulled_ones() {
    let s = ClientSettings::create(&ClientInput {
        client_uri: Some(Some("https://app.example.com".into())),
        ..web_app()
    })
    .unwrap();
    let renamed = s
        .update(&ClientInput {
            name: Some("New".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(renamed.client_uri.as_deref(), Some("https://app.example.com"));
    assert_eq!(renamed.redirect_uris, s.redirect_uris);
    let cleared = s
        .update(&ClientInput {
            client_uri: Some(None),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(cleared.client_uri, None);
}

#[test]
fn switching_to_public_moves_the_auth_method() {
    let s = ClientSettings::create(&web_app()).unwrap();
    let public = s
        .update(&ClientInput {
            require_client_secret: Some(false),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(public.token_endpoint_auth_method, "none");
    let back = public
        .update(&ClientInput {
            require_client_secret: Some(true),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(back.token_endpoint_auth_method, "client_secret_basic");
}

#[test]
fn response_types_follow_a_change_of_grants() {
    let s = ClientSettings::create(&web_app()).unwrap();
    let machine = s
        .update(&ClientInput {
            grant_types: Some(vec!["client_credentials".into()]),
            redirect_uris: Some(vec![]),
            ..Default::default()
        })
        .unwrap();
    assert!(
        machine.response_types.is_empty(),
        "code went with the authorization_code grant"
    );
    let back = machine
        .update(&ClientInput {
            grant_types: Some(vec!["authorization_code".into()]),
            redirect_uris: Some(vec!["https://a.example/cb".into()]),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(back.response_types, ["code"]);
}

#[test]
fn token_exchange_needs_a_confidential_client_and_a_policy_of_resource_identifiers() {
    let agent = ClientInput {
        name: Some("Agent".into()),
        grant_types: Some(vec![TOKEN_EXCHANGE.into()]),
        token_exchange_resources: Some(vec!["https://billing.acme.example".into()]),
        ..Default::default()
    };
    let s = ClientSettings::create(&agent).unwrap();
    assert!(s.has_grant(TOKEN_EXCHANGE) && s.response_types.is_empty());
    assert_eq!(s.token_exchange_resources, ["https://billing.acme.example"]);
    assert_eq!(
        field_of(&ClientInput {
            require_client_secret: Some(false),
            ..agent.clone()
        }),
        "grant_types"
    );
    for bad in [
        vec!["billing"],
        vec!["https://a.example/#x"],
        vec!["https://a.example", "https://a.example"],
    ] {
        assert_eq!(
            field_of(&ClientInput {
                token_exchange_resources: Some(bad.iter().map(|b| (*b).to_owned()).collect()),
                ..agent.clone()
            }),
            "token_exchange_resources",
            "{bad:?}"
        );
    }
    // An update leaves the policy alone unless it is given; `[]` empties it.
    let kept = s.update(&ClientInput::default()).unwrap();
    assert_eq!(kept.token_exchange_resources, s.token_exchange_resources);
    let emptied = s
        .update(&ClientInput {
            token_exchange_resources: Some(Vec::new()),
            ..Default::default()
        })
        .unwrap();
    assert!(emptied.token_exchange_resources.is_empty());
}
