//! Tests of project secret data parsing.

use super::*;

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn env_file_lines_become_variables() {
    let text = "\
# database
DB_HOST=db.internal
export DB_PORT = 5432
EMPTY=
URL=https://x.example/#anchor   # comment
SINGLE='literal $HOME \\n'
DOUBLE=\"two\\nlines \\\"quoted\\\"\" # trailing comment
WINDOWS=crlf\r
";
    assert_eq!(
        parse_env_file(text).expect("valid"),
        vars(&[
            ("DB_HOST", "db.internal"),
            ("DB_PORT", "5432"),
            ("EMPTY", ""),
            ("URL", "https://x.example/#anchor"),
            ("SINGLE", "literal $HOME \\n"),
            ("DOUBLE", "two\nlines \"quoted\""),
            ("WINDOWS", "crlf"),
        ])
    );
}

#[test]
fn later_assignments_win() {
    assert_eq!(parse_env_file("A=1\nA=2\n").expect("valid"), vars(&[("A", "2")]));
}

#[test]
fn env_file_errors_name_the_line_but_not_the_value() {
    let err = parse_env_file("A=1\nnot an assignment\n").expect_err("invalid");
    assert!(format!("{err:#}").contains("line 2"), "{err:#}");

    let err = parse_env_file("TOKEN=\"s3cret-value\n").expect_err("unterminated");
    let text = format!("{err:#}");
    assert!(text.contains("line 1") && text.contains("TOKEN"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");

    let err = parse_env_file("1BAD=x\n").expect_err("bad name");
    assert!(format!("{err:#}").contains("1BAD"));

    assert!(parse_env_file("A='x' junk\n").is_err());
    assert!(parse_env_file("# only comments\n\n").is_err());
}

#[test]
fn json_map_must_hold_string_values() {
    assert_eq!(
        parse_json_map(r#"{"A":"1","B_2":""}"#).expect("valid"),
        vars(&[("A", "1"), ("B_2", "")])
    );
    let err = parse_json_map(r#"{"PORT":5432}"#).expect_err("number");
    assert!(format!("{err:#}").contains("PORT"));
    assert!(!format!("{err:#}").contains("5432"));
    assert!(parse_json_map(r#"["A"]"#).is_err());
    assert!(parse_json_map(r#"{"bad name":"x"}"#).is_err());
    assert!(parse_json_map("{}").is_err());
    assert!(parse_json_map("not json").is_err());
}

#[test]
fn kind_is_implied_by_the_data_flags() {
    let keys = SecretDataArgs {
        data: Some("{}".into()),
        ..Default::default()
    };
    let docker = SecretDataArgs {
        registry: Some("ghcr.io".into()),
        ..Default::default()
    };
    assert_eq!(resolve_kind(None, &keys), Ok(Some(SecretKind::Keys)));
    assert_eq!(resolve_kind(None, &docker), Ok(Some(SecretKind::Docker)));
    assert_eq!(
        resolve_kind(Some(SecretKind::Docker), &SecretDataArgs::default()),
        Ok(Some(SecretKind::Docker))
    );
    assert_eq!(resolve_kind(None, &SecretDataArgs::default()), Ok(None));
    assert!(resolve_kind(Some(SecretKind::Docker), &keys).is_err());
}

#[test]
fn inline_json_data_is_encoded_as_base64_json() {
    let args = SecretDataArgs {
        data: Some(r#"{"B":"2","A":"1"}"#.into()),
        ..Default::default()
    };
    let bytes = load_data(SecretKind::Keys, &args).expect("valid");
    assert_eq!(bytes, br#"{"A":"1","B":"2"}"#);
    let encoded = encode(&bytes);
    assert_eq!(encoded, "eyJBIjoiMSIsIkIiOiIyIn0=");
    assert_eq!(decode(&encoded).expect("decodes"), bytes);
}

#[test]
fn docker_data_reads_the_password_file() {
    let path = std::env::temp_dir().join(format!(
        "gatehouse-cli-docker-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::write(&path, "hunter2hunter2\n").expect("write");
    let args = SecretDataArgs {
        registry: Some("ghcr.io".into()),
        username: Some("bot".into()),
        password_file: Some(path.clone()),
        ..Default::default()
    };
    let bytes = load_data(SecretKind::Docker, &args);
    let _ = std::fs::remove_file(&path);
    let credential: DockerCredential = serde_json::from_slice(&bytes.expect("valid")).expect("docker json");
    assert_eq!(credential.server, "ghcr.io");
    assert_eq!(credential.username, "bot");
    assert_eq!(credential.password.expose_secret(), "hunter2hunter2");
    assert_eq!(credential.email, "");
    assert!(!format!("{credential:?}").contains("hunter2"));
}

#[test]
fn missing_data_flags_are_usage_errors() {
    let err = load_data(SecretKind::Keys, &SecretDataArgs::default()).expect_err("missing");
    assert_eq!(crate::exit_code(&err), 2);
    let args = SecretDataArgs {
        registry: Some("ghcr.io".into()),
        ..Default::default()
    };
    let err = load_data(SecretKind::Docker, &args).expect_err("missing");
    assert_eq!(crate::exit_code(&err), 2);
}

#[test]
fn decode_accepts_both_alphabets() {
    assert_eq!(decode("+/8=").expect("standard"), vec![0xfb, 0xff]);
    assert_eq!(decode("-_8").expect("url-safe"), vec![0xfb, 0xff]);
    assert!(decode("***").is_err());
}
