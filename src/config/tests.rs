//! Unit tests of parameter parsing, the flags and CONFIG GET formatting.

use clap::Parser;

use super::*;

#[test]
fn file_then_flags() {
    let cli = Cli::parse_from(["sluice-server", "--port", "7001", "--save", ""]);
    let (config, warnings) = cli.into_config().unwrap();
    assert_eq!(config.port, 7001);
    assert_eq!(warnings.len(), 1);

    let mut config = Config::default();
    let warnings = config
        .apply_file(
            "# comment\nport 7000\nappendfsync always\ndaemonize no\nbind \"127.0.0.1 ::1\"\n",
            "t.conf",
        )
        .unwrap();
    assert_eq!(config.port, 7000);
    assert_eq!(config.appendfsync, FsyncPolicy::Always);
    assert_eq!(config.bind, vec!["127.0.0.1", "::1"]);
    assert_eq!(warnings.len(), 1);
    assert!(config.apply_file("nosuchthing 1\n", "t.conf").is_err());
}

#[test]
fn validation_matches_redis_texts() {
    let mut c = Config::default();
    assert_eq!(
        c.set("databases", "3", true),
        Err(ConfigError::Immutable("databases".into()))
    );
    assert!(
        matches!(c.set("appendfsync", "maybe", true), Err(ConfigError::Invalid(_, r)) if r.contains("everysec, always, no"))
    );
    assert_eq!(c.set("proto-max-bulk-len", "2mb", true), Ok(()));
    assert_eq!(c.proto_max_bulk_len, 2 * 1024 * 1024);
    assert_eq!(parse_memory("1k"), Some(1000));
}

#[test]
fn tls_parameters() {
    let cli = Cli::parse_from([
        "sluice-server",
        "--tls-port",
        "6380",
        "--tls-auth-clients",
        "optional",
        "--tls-protocols",
        "TLSv1.3",
    ]);
    let (config, _) = cli.into_config().unwrap();
    assert_eq!(config.tls.port, 6380);
    assert_eq!(config.tls.auth_clients, TlsAuthClients::Optional);
    assert_eq!(config.tls.protocols, (false, true));
    assert_eq!(config.get("tls-protocols").unwrap(), "TLSv1.3");

    let mut c = Config::default();
    assert_eq!(c.get("tls-port").unwrap(), "0");
    assert_eq!(c.get("tls-auth-clients").unwrap(), "yes");
    assert_eq!(
        c.set("tls-port", "6380", true),
        Err(ConfigError::Immutable("tls-port".into()))
    );
    assert!(
        matches!(c.set("tls-protocols", "TLSv1.1", true), Err(ConfigError::Invalid(_, r)) if r.contains("not supported"))
    );
    assert!(
        matches!(c.set("tls-auth-clients", "maybe", true), Err(ConfigError::Invalid(_, r)) if r.contains("no, yes, optional"))
    );
    assert_eq!(
        c.set(
            "tls-ciphersuites",
            "tls_aes_128_gcm_sha256:TLS_CHACHA20_POLY1305_SHA256",
            true
        ),
        Ok(())
    );
    assert_eq!(
        c.get("tls-ciphersuites").unwrap(),
        "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"
    );
    assert!(c
        .set("tls-ciphersuites", "TLS_AES_128_CCM_SHA256", true)
        .is_err());
    assert_eq!(
        c.set("tls-ciphers", "ecdhe-rsa-aes128-gcm-sha256", true),
        Ok(())
    );
    assert_eq!(c.get("tls-ciphers").unwrap(), "ECDHE-RSA-AES128-GCM-SHA256");
    assert!(c.set("tls-ciphers", "HIGH:!aNULL", true).is_err());
}

#[test]
fn connection_hygiene_parameters() {
    let cli = Cli::parse_from([
        "sluice-server",
        "--timeout",
        "5",
        "--tcp-keepalive",
        "0",
        "--protected-mode",
        "no",
        "--client-query-buffer-limit",
        "2mb",
    ]);
    let (c, warnings) = cli.into_config().unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!((c.timeout, c.tcp_keepalive), (5, 0));
    assert!(!c.protected_mode);
    assert_eq!(c.client_query_buffer_limit, 2 * 1024 * 1024);

    let mut c = Config::default();
    assert_eq!(c.get("protected-mode").as_deref(), Some("yes"));
    assert_eq!(c.get("tcp-keepalive").as_deref(), Some("300"));
    assert_eq!(
        c.get("client-query-buffer-limit").as_deref(),
        Some("1073741824")
    );
    let reason = |r: Result<(), ConfigError>| match r {
        Err(ConfigError::Invalid(_, reason)) => reason,
        other => panic!("expected Invalid, got {other:?}"),
    };
    assert_eq!(
        reason(c.set("timeout", "-1", true)),
        "argument must be between 0 and 2147483647 inclusive"
    );
    assert_eq!(
        reason(c.set("tcp-keepalive", "x", true)),
        "argument couldn't be parsed into an integer"
    );
    assert_eq!(
        reason(c.set("protected-mode", "maybe", true)),
        "argument must be 'yes' or 'no'"
    );
    assert_eq!(
        reason(c.set("client-query-buffer-limit", "1", true)),
        "argument must be between 1048576 and 9223372036854775807 inclusive"
    );
    assert_eq!(
        reason(c.set("client-query-buffer-limit", "1x", true)),
        "argument must be a memory value"
    );
    assert_eq!(c.set("protected-mode", "NO", true), Ok(()));
    assert_eq!(c.set("timeout", "7", true), Ok(()));
    assert_eq!(c.get("timeout").as_deref(), Some("7"));
}
