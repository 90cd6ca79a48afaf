//! The TLS settings (`tls-*`): their values, checked as CONFIG SET checks
//! every parameter. The certificates themselves are read by `server::tls`.

use super::integer_in;

/// Whether TLS clients must present a certificate (`tls-auth-clients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsAuthClients {
    /// A certificate signed by `tls-ca-cert-file` is required (default).
    Yes,
    /// No certificate is asked for.
    No,
    /// A certificate is asked for; none is accepted, a bad one is not.
    Optional,
}

/// TLS 1.3 cipher suites `tls-ciphersuites` may name (OpenSSL's names),
/// which are the ones the rustls `ring` provider implements.
pub const TLS13_SUITES: &[&str] = &[
    "TLS_AES_256_GCM_SHA384",
    "TLS_AES_128_GCM_SHA256",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// TLS 1.2 cipher suites `tls-ciphers` may name: (OpenSSL's name, rustls's
/// name), the ones the rustls `ring` provider implements. OpenSSL's cipher
/// string syntax (`HIGH:!aNULL`, …) is not understood.
pub const TLS12_SUITES: &[(&str, &str)] = &[
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
];

/// The TLS settings (`tls-*`). The files are read when the TLS listener
/// starts and again on every CONFIG SET of a `tls-*` parameter (see
/// `server::tls`); here they are only names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// TLS port; 0 (default) means no TLS listener.
    pub port: u16,
    /// Listen for TLS on a port the OS picks even though `port` is 0 (tests:
    /// `tls-port 0` itself means "no TLS"); not a parameter.
    pub any_port: bool,
    /// The server's certificate chain, PEM.
    pub cert_file: String,
    /// The server's private key, PEM.
    pub key_file: String,
    /// CA certificates that client certificates must chain to, PEM.
    pub ca_cert_file: String,
    /// Whether clients must present a certificate.
    pub auth_clients: TlsAuthClients,
    /// Protocol versions allowed: (TLS 1.2, TLS 1.3). `tls-protocols` empty
    /// (the default) allows both.
    pub protocols: (bool, bool),
    /// `tls-protocols` as given (CONFIG GET shows it back).
    pub protocols_text: String,
    /// TLS 1.3 suites allowed, names from [`TLS13_SUITES`]; empty allows all.
    pub ciphersuites: Vec<String>,
    /// TLS 1.2 suites allowed, OpenSSL names from [`TLS12_SUITES`]; empty
    /// allows all.
    pub ciphers: Vec<String>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            port: 0,
            any_port: false,
            cert_file: String::new(),
            key_file: String::new(),
            ca_cert_file: String::new(),
            auth_clients: TlsAuthClients::Yes,
            protocols: (true, true),
            protocols_text: String::new(),
            ciphersuites: Vec::new(),
            ciphers: Vec::new(),
        }
    }
}

impl TlsConfig {
    /// Whether a TLS listener runs.
    pub fn enabled(&self) -> bool {
        self.port != 0 || self.any_port
    }
}

impl TlsConfig {
    /// Sets one `tls-*` parameter; the error is CONFIG SET's reason text.
    pub(super) fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let invalid = |reason: &str| reason.to_string();
        match name {
            "tls-port" => self.port = integer_in(value, 0, 65535).map_err(|e| invalid(&e))? as u16,
            "tls-cert-file" => self.cert_file = value.to_string(),
            "tls-key-file" => self.key_file = value.to_string(),
            "tls-ca-cert-file" => self.ca_cert_file = value.to_string(),
            "tls-auth-clients" => {
                self.auth_clients = match value.to_ascii_lowercase().as_str() {
                    "yes" => TlsAuthClients::Yes,
                    "no" => TlsAuthClients::No,
                    "optional" => TlsAuthClients::Optional,
                    _ => {
                        return Err(invalid(
                            "argument(s) must be one of the following: no, yes, optional",
                        ))
                    }
                }
            }
            "tls-protocols" => {
                let mut versions = (false, false);
                for word in value.split_whitespace() {
                    match word.to_ascii_lowercase().as_str() {
                        "tlsv1.2" => versions.0 = true,
                        "tlsv1.3" => versions.1 = true,
                        "tlsv1" | "tlsv1.1" => {
                            return Err(invalid(&format!(
                                "{word} is not supported (rustls speaks TLSv1.2 and TLSv1.3)"
                            )))
                        }
                        _ => return Err(invalid(&format!("invalid tls-protocols '{word}'"))),
                    }
                }
                self.protocols = if versions == (false, false) {
                    (true, true)
                } else {
                    versions
                };
                self.protocols_text = value.to_string();
            }
            "tls-ciphersuites" => {
                let mut suites = Vec::new();
                for name in value.split(':').map(str::trim).filter(|n| !n.is_empty()) {
                    let known = TLS13_SUITES
                        .iter()
                        .find(|s| s.eq_ignore_ascii_case(name))
                        .ok_or_else(|| {
                            invalid(&format!(
                                "unsupported TLS 1.3 cipher suite '{name}' (supported: {})",
                                TLS13_SUITES.join(":")
                            ))
                        })?;
                    suites.push(known.to_string());
                }
                self.ciphersuites = suites;
            }
            "tls-ciphers" => {
                let mut suites = Vec::new();
                for name in value.split(':').map(str::trim).filter(|n| !n.is_empty()) {
                    let (known, _) = TLS12_SUITES
                        .iter()
                        .find(|(s, _)| s.eq_ignore_ascii_case(name))
                        .ok_or_else(|| {
                            let names: Vec<&str> = TLS12_SUITES.iter().map(|(n, _)| *n).collect();
                            invalid(&format!(
                                "unsupported TLS 1.2 cipher '{name}' (supported: {})",
                                names.join(":")
                            ))
                        })?;
                    suites.push(known.to_string());
                }
                self.ciphers = suites;
            }
            _ => return Err(format!("unknown TLS parameter {name}")),
        }
        Ok(())
    }

    /// A `tls-*` parameter's text, as CONFIG GET shows it.
    pub(super) fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "tls-port" => self.port.to_string(),
            "tls-cert-file" => self.cert_file.clone(),
            "tls-key-file" => self.key_file.clone(),
            "tls-ca-cert-file" => self.ca_cert_file.clone(),
            "tls-auth-clients" => match self.auth_clients {
                TlsAuthClients::Yes => "yes",
                TlsAuthClients::No => "no",
                TlsAuthClients::Optional => "optional",
            }
            .into(),
            "tls-protocols" => self.protocols_text.clone(),
            "tls-ciphersuites" => self.ciphersuites.join(":"),
            "tls-ciphers" => self.ciphers.join(":"),
            _ => return None,
        })
    }
}
