use super::*;

fn no_env() -> std::iter::Empty<(String, String)> {
    std::iter::empty()
}

#[test]
fn the_sample_config_parses_and_matches_the_defaults() {
    let sample = include_str!("../../../deploy/sluss.toml");
    let config = Config::parse(sample, no_env()).expect("deploy/sluss.toml parses");
    let defaults = Config::default();
    assert_eq!(config.server.listen, defaults.server.listen);
    assert_eq!(config.media.port, defaults.media.port);
    assert_eq!(
        config.meetings.reconnect_grace_secs,
        defaults.meetings.reconnect_grace_secs
    );
    assert_eq!(config.store.sqlite_path, defaults.store.sqlite_path);
    assert_eq!(
        toml::Table::try_from(&config.limits).unwrap(),
        toml::Table::try_from(&defaults.limits).unwrap(),
        "[limits] in the sample shows the defaults"
    );
}

#[test]
fn every_key_in_the_code_is_in_the_sample() {
    let sample: toml::Table = include_str!("../../../deploy/sluss.toml").parse().unwrap();
    let defaults = toml::Table::try_from(Config::default()).unwrap();
    for (section, keys) in defaults {
        let keys = keys.as_table().unwrap();
        let in_sample = sample.get(&section).and_then(|s| s.as_table());
        for key in keys.keys() {
            assert!(
                in_sample.is_some_and(|s| s.contains_key(key)),
                "deploy/sluss.toml lacks [{section}] {key}"
            );
        }
    }
}

#[test]
fn environment_overrides_the_file() {
    let env = vec![
        ("SLUSS_MEDIA__PORT".to_string(), "41000".to_string()),
        (
            "SLUSS_SERVER__PUBLIC_URL".to_string(),
            "https://meet.example.se/".to_string(),
        ),
        (
            "SLUSS_MEDIA__ANNOUNCE_IP".to_string(),
            "10.0.0.5".to_string(),
        ),
        ("UNRELATED".to_string(), "x".to_string()),
    ];
    let config = Config::parse("[media]\nport = 40000\n", env.into_iter()).unwrap();
    assert_eq!(config.media.port, 41000);
    assert_eq!(config.public_url(), "https://meet.example.se");
    assert_eq!(config.announce_ip(), Some(IpAddr::from([10, 0, 0, 5])));
}

#[test]
fn a_public_deployment_without_https_or_a_real_certificate_is_warned_of() {
    let quiet = Config::parse("[server]\nlisten = \"127.0.0.1:8443\"\n", no_env()).unwrap();
    assert!(quiet.start_warnings().is_empty(), "loopback: trying it out");
    let bare = Config::parse("[server]\nlisten = \"0.0.0.0:443\"\n", no_env()).unwrap();
    let said = bare.start_warnings().join("\n");
    assert!(
        said.contains("public_url is empty") && said.contains("self-signed"),
        "{said}"
    );
    let plain = Config::parse(
        "[server]\nlisten = \"0.0.0.0:443\"\npublic_url = \"http://meet.example.se\"\n\
         tls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n",
        no_env(),
    )
    .unwrap();
    let said = plain.start_warnings();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains("not https"), "{said:?}");
}

#[test]
fn secrets_come_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("sip-password");
    std::fs::write(&secret, "från en fil\n").unwrap();
    let env = vec![(
        "SLUSS_SIP__PASSWORD_FILE".to_string(),
        secret.display().to_string(),
    )];
    let config = Config::parse("", env.into_iter()).unwrap();
    assert_eq!(config.sip.password, "från en fil", "without the newline");
    // A credential path that is all digits is still a path, not a number.
    let relative = vec![("SLUSS_SIP__PASSWORD_FILE".to_string(), "4711".to_string())];
    let err = Config::parse("", relative.into_iter())
        .unwrap_err()
        .to_string();
    assert!(err.contains("sip.password_file: cannot read 4711"), "{err}");
    let text = format!("[turn]\nshared_secret_file = \"{}\"\n", secret.display());
    let config = Config::parse(&text, no_env()).unwrap();
    assert_eq!(config.turn.shared_secret, "från en fil");
    let missing = Config::parse("[sip]\npassword_file = \"/nowhere/x\"\n", no_env())
        .unwrap_err()
        .to_string();
    assert!(missing.contains("sip.password_file"), "{missing}");
    assert!(
        Config::parse("[media]\nport_file = \"/etc/hostname\"\n", no_env()).is_err(),
        "only string keys take a file"
    );
}

#[test]
fn check_config_prints_every_secret_redacted() {
    let env = vec![
        (
            "SLUSS_TURN__SHARED_SECRET".to_string(),
            "turnhemlis".to_string(),
        ),
        (
            "SLUSS_STAFF_OIDC__CLIENT_SECRET".to_string(),
            "oidchemlis".to_string(),
        ),
        (
            "SLUSS_CITIZEN_EID__CLIENT_SECRET".to_string(),
            "eidhemlis".to_string(),
        ),
        ("SLUSS_SIP__PASSWORD".to_string(), "siphemlis".to_string()),
    ];
    let config = Config::parse("", env.into_iter()).unwrap();
    let printed = toml::to_string_pretty(&config).unwrap();
    assert!(!printed.contains("hemlis"), "{printed}");
    assert_eq!(printed.matches("[redacted]").count(), 4, "{printed}");
}

#[test]
fn environment_values_for_string_keys_stay_strings() {
    let env = vec![
        ("SLUSS_SIP__PASSWORD".to_string(), "12345".to_string()),
        ("SLUSS_SIP__USERNAME".to_string(), "0101234567".to_string()),
        ("SLUSS_SIP__PIN_DIGITS".to_string(), "12".to_string()),
    ];
    let config = Config::parse("", env.into_iter()).unwrap();
    assert_eq!(config.sip.password, "12345");
    assert_eq!(config.sip.username, "0101234567", "the leading zero kept");
    assert_eq!(
        config.sip.pin_digits, 12,
        "a number key still takes a number"
    );
}

#[test]
fn mistakes_are_named() {
    let err = Config::parse("[media]\nprot = 1\n", no_env())
        .unwrap_err()
        .to_string();
    assert!(err.contains("prot"), "{err}");
    let err = Config::parse("[server]\ntls_cert = \"a.pem\"\n", no_env())
        .unwrap_err()
        .to_string();
    assert!(err.contains("tls_key"), "{err}");
    assert!(Config::parse("[media]\nannounce_ip = \"nope\"\n", no_env()).is_err());
    let err = Config::parse("[limits]\nhash_concurrency = 0\n", no_env())
        .unwrap_err()
        .to_string();
    assert!(err.contains("limits.hash_concurrency"), "{err}");
    assert!(Config::parse("not toml at all [", no_env()).is_err());
    let err = Config::parse("[ops]\nlisten = \"everywhere\"\n", no_env())
        .unwrap_err()
        .to_string();
    assert!(err.contains("ops.listen"), "{err}");
    assert!(Config::parse("[ops]\nlisten = \"\"\n", no_env()).is_ok());
}

#[test]
fn an_identity_providers_ca_bundle_is_read_or_the_start_stops() {
    let dir = tempfile::tempdir().unwrap();
    let provider = |bundle: &str| {
        format!(
            "[staff_oidc]\nissuer = \"https://idp.region.example\"\nclient_id = \"sluss\"\n\
             ca_bundle = {bundle:?}\n"
        )
    };
    let missing = dir.path().join("missing.pem");
    let err = Config::parse(&provider(&missing.display().to_string()), no_env())
        .unwrap_err()
        .to_string();
    assert!(err.contains("staff_oidc.ca_bundle"), "{err}");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "no certificate here\n").unwrap();
    let err = Config::parse(&provider(&empty.display().to_string()), no_env())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no certificate"), "{err}");
    let ca = rcgen::generate_simple_self_signed(vec!["Region CA".to_owned()]).unwrap();
    let good = dir.path().join("ca.pem");
    std::fs::write(&good, ca.cert.pem()).unwrap();
    let config = Config::parse(&provider(&good.display().to_string()), no_env()).unwrap();
    let provider = config.staff_oidc.provider().unwrap();
    assert_eq!(provider.ca_certs, vec![ca.cert.der().to_vec()]);
}

#[test]
fn webhook_endpoints_are_checked_and_their_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("hook");
    std::fs::write(&secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n").unwrap();
    let endpoint = |fields: &str| format!("[[webhooks.endpoints]]\n{fields}\n");
    let good = endpoint(&format!(
        "name = \"booking\"\nurl = \"https://booking.region.example/sluss\"\nsecret_file = \"{}\"\nevents = [\"meeting.started\"]",
        secret.display()
    ));
    let config = Config::parse(&good, no_env()).unwrap();
    let endpoints = config.webhooks.endpoints().unwrap();
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0].secret.len(), 24);
    let inline = endpoint(
        "name = \"j\"\nurl = \"http://127.0.0.1:9/x\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"",
    );
    let config = Config::parse(&inline, no_env()).unwrap();
    assert_eq!(
        config.webhooks.endpoints().unwrap()[0].events.len(),
        5,
        "all types"
    );
    let printed = toml::to_string_pretty(&config).unwrap();
    assert!(
        !printed.contains("MfKQ9r8G") && printed.contains("[redacted]"),
        "{printed}"
    );
    for (bad, says) in [
        (endpoint("name = \"b\"\nurl = \"http://booking.region.example/\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\""), "https"),
        (endpoint("name = \"b\"\nurl = \"https://b.example/\""), "secret"),
        (endpoint("name = \"b\"\nurl = \"https://b.example/\"\nsecret = \"hemligt\""), "whsec_"),
        (endpoint("name = \"b c\"\nurl = \"https://b.example/\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\""), "name"),
        (endpoint("name = \"b\"\nurl = \"https://b.example/\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\nevents = [\"chat.message\"]"), "events"),
    ] {
        let err = Config::parse(&bad, no_env()).unwrap_err().to_string();
        assert!(err.contains("webhooks") && err.contains(says), "{says}: {err}");
    }
}
