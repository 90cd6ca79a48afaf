//! What happens to a socket as it is accepted: TCP keepalive
//! (`tcp-keepalive`) and the protected-mode check (`protected-mode`).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};
use tokio::net::TcpStream;

use crate::config::Config;

/// Turns on TCP keepalive with `idle_secs` of idle time before the first
/// probe, as Redis does for every accepted client: probes then go every
/// third of that (at least a second), and three unanswered ones drop the
/// connection. 0 leaves keepalive off.
pub fn set_keepalive(stream: &TcpStream, idle_secs: u64) -> std::io::Result<()> {
    if idle_secs == 0 {
        return Ok(());
    }
    let keepalive = TcpKeepalive::new()
        .with_time(Duration::from_secs(idle_secs))
        .with_interval(Duration::from_secs((idle_secs / 3).max(1)))
        .with_retries(3);
    SockRef::from(stream).set_tcp_keepalive(&keepalive)
}

/// Whether protected mode refuses a client from `peer`: it is on, the
/// default user has no password, and the peer is not on the loopback
/// interface. As in Redis 7, the addresses the server is bound to do not
/// matter: a loopback-only server never sees such a peer anyway.
/// `default_has_password`: the default user is not `nopass` (requirepass
/// or ACL SETUSER gave it a password).
pub fn refused_by_protected_mode(
    config: &Config,
    default_has_password: bool,
    peer: SocketAddr,
) -> bool {
    config.protected_mode && !default_has_password && !is_loopback(peer.ip())
}

/// Loopback, also as an IPv4 address mapped into IPv6 (a dual-stack
/// listener reports 127.0.0.1 as `::ffff:127.0.0.1`).
fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 40000)
    }

    #[test]
    fn protected_mode_refuses_only_remote_peers_without_a_password() {
        let mut config = Config::default();
        for local in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert!(
                !refused_by_protected_mode(&config, false, peer(local)),
                "{local}"
            );
        }
        for remote in [
            "192.0.2.7",
            "10.0.0.1",
            "fd00::2",
            "::ffff:192.0.2.7",
            "0.0.0.0",
        ] {
            assert!(
                refused_by_protected_mode(&config, false, peer(remote)),
                "{remote}"
            );
        }
        assert!(!refused_by_protected_mode(&config, true, peer("192.0.2.7")));
        config.protected_mode = false;
        assert!(!refused_by_protected_mode(
            &config,
            false,
            peer("192.0.2.7")
        ));
    }
}
