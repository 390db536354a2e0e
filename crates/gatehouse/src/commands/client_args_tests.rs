//! Tests of the `client create`/`client update` argument mapping.

use clap::Parser;
use clap::error::ErrorKind;

use super::*;
use crate::cli::{Cli, Command};
use crate::commands::client::ClientCommand;

fn parse(args: &[&str]) -> Result<ClientCommand, clap::Error> {
    let mut argv = vec!["gatehouse", "client"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv)?;
    match cli.command {
        Command::Client(cmd) => Ok(cmd),
        other => panic!("unexpected {other:?}"),
    }
}

fn create(args: &[&str]) -> CreateArgs {
    let mut argv = vec!["create"];
    argv.extend_from_slice(args);
    match parse(&argv).expect("parses") {
        ClientCommand::Create(args) => args,
        other => panic!("unexpected {other:?}"),
    }
}

fn update(args: &[&str]) -> UpdateArgs {
    let mut argv = vec!["update", "web"];
    argv.extend_from_slice(args);
    match parse(&argv).expect("parses") {
        ClientCommand::Update(args) => args,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn every_flag_maps_to_its_client_input_field() {
    let input = create_input(&create(&[
        "--client-id=web.app",
        "--name=Web app",
        "--client-uri=https://app.example",
        "--logo-uri=https://app.example/logo.png",
        "--policy-uri=https://app.example/privacy",
        "--tos-uri=https://app.example/terms",
        "--disabled",
        "--public",
        "--token-endpoint-auth-method=none",
        "--grant-type=authorization_code",
        "--grant-type=refresh_token",
        "--response-type=code",
        "--redirect-uri=https://app.example/cb",
        "--redirect-uri=http://127.0.0.1/cb",
        "--post-logout-redirect-uri=https://app.example/bye",
        "--cors-origin=https://app.example",
        "--scope=openid profile",
        "--scope=email",
        "--offline-access",
        "--no-pkce",
        "--access-token-ttl=1h",
        "--refresh-token-ttl=30d",
        "--id-token-ttl=600",
        "--default-resource=https://api.app.example",
        "--token-exchange-resource=https://api.app.example",
        "--token-exchange-resource=https://billing.app.example",
        "--refresh-grace-seconds=5",
        "--id-token-alg=RS256",
        "--no-revoke-on-logout",
        "--metadata=team=web",
        "--metadata=tier=gold",
    ]))
    .expect("valid");
    let expected = ClientInput {
        client_id: Some("web.app".into()),
        name: Some("Web app".into()),
        enabled: Some(false),
        client_uri: Some(Some("https://app.example".into())),
        logo_uri: Some(Some("https://app.example/logo.png".into())),
        policy_uri: Some(Some("https://app.example/privacy".into())),
        tos_uri: Some(Some("https://app.example/terms".into())),
        require_client_secret: Some(false),
        token_endpoint_auth_method: Some("none".into()),
        grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
        response_types: Some(vec!["code".into()]),
        redirect_uris: Some(vec!["https://app.example/cb".into(), "http://127.0.0.1/cb".into()]),
        post_logout_redirect_uris: Some(vec!["https://app.example/bye".into()]),
        allowed_cors_origins: Some(vec!["https://app.example".into()]),
        scope: Some("openid profile email".into()),
        offline_access: Some(true),
        require_pkce: Some(false),
        access_token_ttl: Some(3600),
        refresh_token_ttl: Some(2_592_000),
        id_token_ttl: Some(600),
        refresh_grace_seconds: Some(5),
        id_token_signed_response_alg: Some("RS256".into()),
        revoke_on_logout: Some(false),
        metadata: Some(BTreeMap::from([
            ("team".into(), "web".into()),
            ("tier".into(), "gold".into()),
        ])),
        default_resource: Some("https://api.app.example".into()),
        token_exchange_resources: Some(vec![
            "https://api.app.example".into(),
            "https://billing.app.example".into(),
        ]),
    };
    assert_eq!(input, expected);
}

#[test]
fn positive_flags_map_to_true() {
    let input = create_input(&create(&[
        "--name=x",
        "--enabled",
        "--confidential",
        "--require-pkce",
        "--no-offline-access",
        "--revoke-on-logout",
    ]))
    .expect("valid");
    assert_eq!(input.enabled, Some(true));
    assert_eq!(input.require_client_secret, Some(true));
    assert_eq!(input.require_pkce, Some(true));
    assert_eq!(input.offline_access, Some(false));
    assert_eq!(input.revoke_on_logout, Some(true));
}

#[test]
fn absent_flags_leave_fields_out_of_the_body() {
    let input = create_input(&create(&["--name=Only a name"])).expect("valid");
    assert_eq!(
        serde_json::to_value(&input).expect("json"),
        serde_json::json!({"name": "Only a name"})
    );
}

#[test]
fn create_requires_a_name() {
    let err = create_input(&create(&["--public"])).expect_err("no name");
    assert!(err.to_string().contains("--name"));
}

#[test]
fn update_without_changes_is_refused() {
    let err = update_input(&update(&[])).expect_err("empty");
    assert!(err.to_string().contains("nothing to update"));
}

#[test]
fn clear_empties_lists_and_nulls_the_uri() {
    let input = update_input(&update(&[
        "--clear=redirect-uris",
        "--clear=client-uri",
        "--clear=logo-uri",
        "--clear=policy-uri",
        "--clear=tos-uri",
        "--clear=metadata",
    ]))
    .expect("valid");
    assert_eq!(
        serde_json::to_value(&input).expect("json"),
        serde_json::json!({"client_uri": null, "logo_uri": null, "policy_uri": null, "tos_uri": null, "redirect_uris": [], "metadata": {}})
    );
}

#[test]
fn clearing_a_field_that_is_also_set_is_refused() {
    let err = update_input(&update(&["--redirect-uri=https://a/cb", "--clear=redirect-uris"])).expect_err("conflict");
    assert!(err.to_string().contains("redirect-uris"), "{err}");
}

#[test]
fn contradictory_flags_are_usage_errors() {
    for pair in [
        ["--enabled", "--disabled"],
        ["--public", "--confidential"],
        ["--offline-access", "--no-offline-access"],
        ["--require-pkce", "--no-pkce"],
    ] {
        let err = parse(&["create", "--name=x", pair[0], pair[1]]).expect_err("conflict");
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict, "{pair:?}");
        assert_eq!(err.exit_code(), 2);
    }
}

#[test]
fn from_json_excludes_field_flags() {
    let err = parse(&["create", "--from-json=c.json", "--name=x"]).expect_err("conflict");
    assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
    let err = parse(&["update", "web", "--from-json=-", "--clear=scope"]).expect_err("conflict");
    assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
    assert!(parse(&["create", "--from-json=c.json"]).is_ok());
}

#[test]
fn scopes_are_split_joined_and_deduplicated() {
    assert_eq!(
        join_scopes(&["openid  profile".into(), "profile email".into()]),
        "openid profile email"
    );
    let input = update_input(&update(&["--scope="])).expect("clearing via empty scope");
    assert_eq!(input.scope.as_deref(), Some(""));
}

#[test]
fn device_code_and_token_exchange_are_expanded_to_their_urns() {
    assert_eq!(parse_grant_type("device_code").as_deref(), Ok(DEVICE_CODE_GRANT));
    assert_eq!(parse_grant_type("token_exchange").as_deref(), Ok(TOKEN_EXCHANGE_GRANT));
    assert_eq!(parse_grant_type("implicit").as_deref(), Ok("implicit"));
    assert!(parse_grant_type(" ").is_err());
}

#[test]
fn metadata_entries_split_on_the_first_equals_sign() {
    assert_eq!(parse_key_value("a=b=c"), Ok(("a".into(), "b=c".into())));
    assert_eq!(parse_key_value("a="), Ok(("a".into(), String::new())));
    assert!(parse_key_value("=b").is_err());
    assert!(parse_key_value("novalue").is_err());
}

#[test]
fn durations_accept_seconds_and_units() {
    assert_eq!(parse_duration("3600"), Ok(3600));
    assert_eq!(parse_duration("90s"), Ok(90));
    assert_eq!(parse_duration("15m"), Ok(900));
    assert_eq!(parse_duration("1h"), Ok(3600));
    assert_eq!(parse_duration("30d"), Ok(2_592_000));
    assert!(parse_duration("").is_err());
    assert!(parse_duration("1w").is_err());
    assert!(parse_duration("-5").is_err());
    assert!(parse_duration("1.5h").is_err());
    assert!(parse_duration("99999999d").is_err());
}

#[test]
fn json_bodies_keep_explicit_nulls_and_refuse_unknown_fields() {
    let input = parse_client_json(r#"{"name":"x","client_uri":null}"#).expect("valid");
    assert_eq!(input.client_uri, Some(None));
    let err = parse_client_json(r#"{"nmae":"x"}"#).expect_err("typo");
    assert!(err.to_string().contains("nmae"));
}

#[test]
fn help_says_implicit_stays_off_and_what_needs_it() {
    let help = match parse(&["create", "--help"]) {
        Err(e) if e.kind() == ErrorKind::DisplayHelp => e.to_string(),
        other => panic!("expected the help, got {other:?}"),
    };
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("Leave implicit off unless an application cannot use authorization_code with PKCE")
            && flat.contains("RFC 9700 §2.1.2 discourages"),
        "{help}"
    );
    assert!(flat.contains("need `--grant-type implicit`"), "{help}");
}
