//! The host allow-list: a request for a host name this server is not configured for is
//! refused (DNS rebinding: a page of a foreign site whose name resolves here).

use std::net::SocketAddr;
use std::sync::Arc;

/// The host names answered (`auth.allowed_hosts`; by default the local names and the bound
/// address). `*` answers any.
#[derive(Debug, Clone)]
pub(super) struct Hosts(Arc<Vec<String>>);

impl Hosts {
    /// `allowed` from the settings; `listen` is the bound address, allowed when none is set.
    pub(super) fn new(allowed: &[String], listen: SocketAddr) -> Hosts {
        let mut hosts: Vec<String> = allowed.iter().map(|h| host_name(h)).collect();
        if hosts.is_empty() {
            hosts = vec![
                "localhost".into(),
                "127.0.0.1".into(),
                "::1".into(),
                listen.ip().to_string(),
            ];
        }
        Hosts(Arc::new(hosts))
    }

    /// Whether `host` (a `Host` header or authority) is answered.
    pub(super) fn allows(&self, host: &str) -> bool {
        let name = host_name(host);
        self.0.iter().any(|h| h == "*" || *h == name)
    }
}

/// The host part of a `Host` value or an authority, lower-cased, without port or brackets.
fn host_name(authority: &str) -> String {
    let a = authority.trim().to_ascii_lowercase();
    if let Some(rest) = a.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default().to_owned();
    }
    a.rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(a.clone(), |(h, _)| h.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_drop_ports_and_brackets() {
        assert_eq!(host_name("LocalHost:3000"), "localhost");
        assert_eq!(host_name("[::1]:8080"), "::1");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
        assert_eq!(host_name("evil.example"), "evil.example");
    }

    #[test]
    fn only_configured_names_are_answered() {
        let listen: SocketAddr = "10.0.0.5:3000".parse().expect("addr");
        let local = Hosts::new(&[], listen);
        assert!(local.allows("localhost:3000") && local.allows("10.0.0.5") && local.allows("[::1]:1"));
        assert!(!local.allows("evil.example"));
        let named = Hosts::new(&["CH.example".into()], listen);
        assert!(named.allows("ch.example:443") && !named.allows("localhost"));
        assert!(Hosts::new(&["*".into()], listen).allows("anything"));
    }
}
