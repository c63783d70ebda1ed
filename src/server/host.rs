//! The `Host` header, checked as Django checks it (`ALLOWED_HOSTS`) before anything else
//! happens to a request: the hosted service builds its paging links from it, so a host
//! that is malformed or not allowed is a 400 (Django's "Bad Request (400)" page), never a
//! link to somewhere else.

use std::net::SocketAddr;

/// Django's production 400 page (`django.views.defaults.bad_request` without a template).
pub(super) const BAD_REQUEST_PAGE: &str = "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Bad Request (400)</title>\n</head>\n<body>\n  <h1>Bad Request (400)</h1><p></p>\n</body>\n</html>\n";

/// The host patterns requests may name, as Django's `ALLOWED_HOSTS`: an exact name, a
/// name with a leading `.` for it and all its subdomains, or `*` for any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    /// These patterns (compared without regard to case).
    pub fn new(patterns: impl IntoIterator<Item = String>) -> AllowedHosts {
        AllowedHosts(
            patterns
                .into_iter()
                .map(|pattern| pattern.trim().to_ascii_lowercase())
                .filter(|pattern| !pattern.is_empty())
                .collect(),
        )
    }

    /// The default for a server bound to `bind`: `localhost` and the bound address (for
    /// a wildcard address, the loopback ones), so that only names that reach this server
    /// are answered.
    pub fn for_bind(bind: &SocketAddr) -> AllowedHosts {
        let mut patterns = vec!["localhost".to_string()];
        let ip = bind.ip();
        if ip.is_unspecified() {
            patterns.extend(["127.0.0.1".to_string(), "[::1]".to_string()]);
        } else if ip.is_ipv6() {
            patterns.push(format!("[{ip}]"));
        } else {
            patterns.push(ip.to_string());
        }
        AllowedHosts::new(patterns)
    }

    /// Whether `host` (a `Host` header's value, port included) is well formed and
    /// allowed, as Django's `HttpRequest.get_host` decides.
    pub(super) fn allows(&self, host: &str) -> bool {
        let Some(domain) = domain(host) else {
            return false;
        };
        self.0.iter().any(|pattern| {
            pattern == "*"
                || pattern == &domain
                || pattern
                    .strip_prefix('.')
                    .is_some_and(|parent| domain == parent || domain.ends_with(pattern.as_str()))
        })
    }
}

/// The host part of `host` lowercased and without a trailing dot, when `host` matches
/// Django's `host_validation_re` (`^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::([0-9]+))?$`
/// after lowercasing); `None` otherwise.
fn domain(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    if !host.is_ascii() {
        return None;
    }
    let (domain, port) = if host.starts_with('[') {
        let end = host.find(']')?;
        let (inside, rest) = (&host[1..end], &host[end + 1..]);
        let colon = inside.find(':')?;
        let valid = inside[..colon].bytes().all(|b| b.is_ascii_hexdigit())
            && inside.len() > colon + 1
            && inside[colon + 1..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':');
        if !valid {
            return None;
        }
        (&host[..=end], rest)
    } else {
        let end = host.find(':').unwrap_or(host.len());
        let domain = &host[..end];
        let valid = !domain.is_empty()
            && domain
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !valid {
            return None;
        }
        (domain, &host[end..])
    };
    if !port.is_empty() {
        let digits = port.strip_prefix(':')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    (!domain.is_empty()).then(|| domain.to_string())
}

/// The host a request without a `Host` header names, rebuilt from the address it came in
/// on as Django does (PEP 333: the server's name, and its port unless it is 80).
pub(super) fn host_of_local(local: &SocketAddr) -> String {
    let name = match local.ip() {
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    if local.port() == 80 {
        name
    } else {
        format!("{name}:{}", local.port())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_as_django_validates_them() {
        let allowed = AllowedHosts::new(
            ["localhost", "127.0.0.1", ".example.org", "[::1]"].map(String::from),
        );
        for good in [
            "localhost",
            "LOCALHOST:8080",
            "localhost.",
            "127.0.0.1:8080",
            "example.org",
            "api.example.org:443",
            "[::1]:8080",
        ] {
            assert!(allowed.allows(good), "{good}");
        }
        for bad in [
            "",
            ":8080",
            "evil.example",
            "evil.example/phish?x=",
            "user@localhost",
            "localhost:80a",
            "localhost:",
            "local host",
            "\"localhost\"",
            "localhost\n",
            "xexample.org",
            "[::1",
            "[::g]",
            "lócalhost",
        ] {
            assert!(!allowed.allows(bad), "{bad:?}");
        }
        assert!(AllowedHosts::new(["*".to_string()]).allows("anything.at.all:1"));
        assert!(!AllowedHosts::new(["*".to_string()]).allows("bad/host"));
    }

    #[test]
    fn defaults_from_the_bind_address() {
        let loopback = AllowedHosts::for_bind(&"127.0.0.1:8080".parse().unwrap());
        assert!(loopback.allows("127.0.0.1:8080") && loopback.allows("localhost:8080"));
        assert!(!loopback.allows("10.0.0.1:8080"));
        let any = AllowedHosts::for_bind(&"0.0.0.0:8080".parse().unwrap());
        assert!(any.allows("[::1]:8080") && !any.allows("0.0.0.0:8080"));
        assert_eq!(
            host_of_local(&"127.0.0.1:8080".parse().unwrap()),
            "127.0.0.1:8080"
        );
        assert_eq!(host_of_local(&"[::1]:80".parse().unwrap()), "[::1]");
    }
}
