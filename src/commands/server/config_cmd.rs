//! CONFIG GET, SET, RESETSTAT and HELP.

use super::*;

/// CONFIG GET pattern [pattern ...]
pub(super) struct ConfigGet(Vec<Bytes>);

impl ConfigGet {
    pub(super) fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(ConfigGet(args.rest()))
    }
}

impl Execute for ConfigGet {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let config = ctx.shared.config.read().expect("config lock");
        // (name shown, canonical name); a parameter is listed once.
        let mut found: Vec<(String, &'static str)> = Vec::new();
        for pattern in &self.0 {
            let is_glob = pattern.iter().any(|c| b"*?[".contains(c));
            if is_glob {
                for &param in config::PARAMS {
                    if glob::matches_nocase(pattern, param.as_bytes(), true)
                        && !found.iter().any(|(_, p)| *p == param)
                    {
                        found.push((param.to_string(), param));
                    }
                }
            } else {
                // An exact name is looked up ignoring case and echoed as
                // given, as Redis does.
                let given = String::from_utf8_lossy(pattern).into_owned();
                let lower = given.to_ascii_lowercase();
                if let Some(&param) = config::PARAMS.iter().find(|p| **p == lower) {
                    if !found.iter().any(|(_, p)| *p == param) {
                        found.push((given, param));
                    }
                }
            }
        }
        Reply::Map(
            found
                .into_iter()
                .map(|(shown, param)| {
                    (
                        Reply::bulk(shown),
                        Reply::Bulk(config.get_bytes(param).unwrap_or_default()),
                    )
                })
                .collect(),
        )
    }
}

/// CONFIG SET parameter value [parameter value ...]
pub(super) struct ConfigSet(Vec<(Bytes, Bytes)>);

impl ConfigSet {
    pub(super) fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let args = args.rest();
        if !args.len().is_multiple_of(2) {
            return Err(error::SYNTAX);
        }
        let pairs = args
            .chunks(2)
            .map(|pair| (pair[0].clone(), pair[1].clone()))
            .collect();
        boxed(ConfigSet(pairs))
    }
}

impl Execute for ConfigSet {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        // First pass, as in Redis: the first unknown, immutable or repeated
        // name is the error, before any value is looked at.
        let mut seen: Vec<String> = Vec::new();
        for (name, _) in &self.0 {
            let given = String::from_utf8_lossy(name).into_owned();
            let lower = given.to_ascii_lowercase();
            if !config::is_known(&lower) {
                return error::config_unknown_option(&given).into();
            }
            if config::is_immutable(&lower) {
                return error::config_set_failed(&given, "can't set immutable config").into();
            }
            if seen.contains(&lower) {
                return error::config_set_failed(&given, "duplicate parameter").into();
            }
            seen.push(lower);
        }
        // Second pass on a copy: either every value is valid and the copy
        // replaces the configuration, or nothing changes.
        let mut config = ctx.shared.config.write().expect("config lock");
        let mut updated = config.clone();
        for (name, value) in &self.0 {
            let name = String::from_utf8_lossy(name);
            if let Err(e) = updated.set_bytes(&name, value, true) {
                return match e {
                    ConfigError::Invalid(param, reason) => {
                        error::config_set_failed(&param, &reason)
                    }
                    ConfigError::Immutable(param) => {
                        error::config_set_failed(&param, "can't set immutable config")
                    }
                    ConfigError::Unknown(param) => error::config_unknown_option(&param),
                }
                .into();
            }
        }
        // Setting any tls-* parameter reloads the certificates from their
        // files (the same path again picks up a renewed file); if that
        // fails, nothing changes, as a refused value.
        let tls_param = self.0.iter().find_map(|(name, _)| {
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            name.starts_with("tls-").then_some(name)
        });
        if let Some(param) = tls_param {
            if let Err(e) = ctx.shared.tls.reload(&updated.tls) {
                tracing::warn!("CONFIG SET {param}: TLS configuration not updated: {e}");
                return error::config_set_failed(&param, error::TLS_UPDATE_FAILED).into();
            }
        }
        if updated.loglevel != config.loglevel {
            config::apply_loglevel(updated.loglevel);
        }
        ctx.shared.storage.journal.set_policy(updated.appendfsync);
        ctx.shared
            .acl
            .set_pubsub_default(updated.acl_pubsub_default_all);
        ctx.shared.acl.set_log_max_len(updated.acllog_max_len);
        ctx.keyspace
            .set_notify_flags(updated.notify_keyspace_events);
        if updated.requirepass != config.requirepass {
            ctx.shared
                .acl
                .set_requirepass(updated.requirepass.as_deref());
        }
        *config = updated;
        OK
    }
}

pub(super) fn parse_config_resetstat(_args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(Simple(|ctx| {
        ctx.shared.stats.reset();
        ctx.shared.acl.reset_counters();
        ctx.keyspace.stats = KeyspaceStats::default();
        OK
    }))
}

pub(super) fn parse_config_help(_args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(Simple(|_| {
        help_reply(&[
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern> [<pattern> ...]",
            "    Show every parameter whose name matches a glob <pattern>, with its value.",
            "SET <parameter> <value> [<parameter> <value> ...]",
            "    Change parameters while the server runs; if one value is refused, none changes.",
            "RESETSTAT",
            "    Zero the counters that INFO shows.",
            "HELP",
            "    Show this text.",
        ])
    }))
}

// ---------------------------------------------------------------- keyspace-wide
