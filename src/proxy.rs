//! [`Proxy`]: sending requests through an HTTP proxy, and the `no_proxy`
//! rules that exempt hosts from it.
//!
//! ```text
//! http URL:   client ──TCP──▶ proxy        GET http://host/path HTTP/1.1   (absolute-form, RFC 9112 §3.2.2)
//! https URL:  client ──TCP──▶ proxy        CONNECT host:443 HTTP/1.1       (RFC 9110 §9.3.6)
//!                              ◀── 200 ──  then TLS to host through the tunnel
//! ```
//!
//! Only `http://` proxies are supported (the link to the proxy is plain
//! TCP); the traffic inside a `CONNECT` tunnel is whatever the URL's scheme
//! says.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use http::HeaderValue;
use url::Url;

use crate::error::{Error, Reason, Result};
use crate::request::basic_auth_value;

/// Which request URLs a proxy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Http,
    Https,
    All,
}

/// An HTTP proxy for a [`Client`](crate::Client), set with
/// [`ClientBuilder::proxy`](crate::ClientBuilder::proxy).
///
/// Requests for `http` URLs go to the proxy in absolute form
/// (`GET http://host/path`); requests for `https` URLs (and, with
/// [`tunnel`](Self::tunnel), `http` ones too) go through a `CONNECT`
/// tunnel, so the proxy sees only the host and port.
///
/// # Examples
///
/// ```
/// use multifetch::{Client, Proxy};
///
/// let client = Client::builder()
///     .proxy(
///         Proxy::all("http://127.0.0.1:3128")?
///             .basic_auth("user", "secret")
///             .no_proxy("localhost, .internal.example"),
///     )
///     .build()?;
/// # let _ = client;
/// # Ok::<(), multifetch::Error>(())
/// ```
#[derive(Clone)]
pub struct Proxy {
    scope: Scope,
    endpoint: ProxyEndpoint,
    tunnel_http: bool,
    no_proxy: NoProxy,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The credentials stay out of logs.
        f.debug_struct("Proxy")
            .field("scope", &self.scope)
            .field("host", &self.endpoint.host)
            .field("port", &self.endpoint.port)
            .field("auth", &self.endpoint.auth.is_some())
            .field("tunnel_http", &self.tunnel_http)
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl Proxy {
    /// A proxy for `http` URLs only.
    ///
    /// `url` is `http://host:port` (or just `host:port`; the port defaults
    /// to 80); credentials in it (`http://user:pass@host:port`) become proxy
    /// basic auth.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`](crate::ErrorKind::InvalidUrl) when `url`
    /// does not parse, has no host, or names a scheme other than `http`.
    pub fn http(url: &str) -> Result<Proxy> {
        Proxy::new(Scope::Http, url)
    }

    /// A proxy for `https` URLs only (through `CONNECT`). See
    /// [`Proxy::http`] for `url` and the errors.
    pub fn https(url: &str) -> Result<Proxy> {
        Proxy::new(Scope::Https, url)
    }

    /// A proxy for every URL. See [`Proxy::http`] for `url` and the errors.
    pub fn all(url: &str) -> Result<Proxy> {
        Proxy::new(Scope::All, url)
    }

    fn new(scope: Scope, input: &str) -> Result<Proxy> {
        let invalid = |message: &str| {
            Error::new(Reason::InvalidUrl {
                input: input.to_owned(),
                message: format!("bad proxy URL: {message}"),
            })
            .with_url(input)
        };
        let text = input.trim();
        let parsed = if text.contains("://") {
            Url::parse(text)
        } else {
            Url::parse(&format!("http://{text}"))
        }
        .map_err(|e| invalid(&e.to_string()))?;
        if parsed.scheme() != "http" {
            return Err(invalid("only http:// proxies are supported"));
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("no host"))?;
        let auth = (!parsed.username().is_empty()).then(|| {
            let user = crate::request::percent_decode(parsed.username());
            let password = parsed.password().map(crate::request::percent_decode);
            basic_auth_value(&user, password.as_deref())
        });
        Ok(Proxy {
            scope,
            endpoint: ProxyEndpoint {
                host: host.into(),
                port: parsed.port_or_known_default().unwrap_or(80),
                auth,
            },
            tunnel_http: false,
            no_proxy: NoProxy::default(),
        })
    }

    /// Sends `Proxy-Authorization: Basic …` to the proxy (RFC 9110 §11.7.2),
    /// replacing credentials given in the proxy URL.
    pub fn basic_auth(mut self, user: &str, password: &str) -> Proxy {
        self.endpoint.auth = Some(basic_auth_value(user, Some(password)));
        self
    }

    /// Hosts that bypass this proxy: a comma- (or space-) separated list in
    /// the `no_proxy` syntax curl uses.
    ///
    /// - `example.com` and `.example.com` both match `example.com` and every
    ///   subdomain of it (`a.example.com`), but not `badexample.com`;
    /// - an IP address matches that address, and `10.0.0.0/8` or
    ///   `fd00::/8` a range of them;
    /// - `*` alone matches every host (the proxy is never used);
    /// - a `:port` suffix is dropped before the rest is read as a name, an
    ///   address or a range (`localhost:8080`, `127.0.0.1:8080`,
    ///   `[::1]:8080`); matching ignores case.
    pub fn no_proxy(mut self, list: &str) -> Proxy {
        self.no_proxy = NoProxy::parse(list);
        self
    }

    /// Also tunnels `http` URLs with `CONNECT` instead of sending them in
    /// absolute form, like curl's `--proxytunnel` (some proxies only
    /// allow `CONNECT`). Off by default.
    pub fn tunnel(mut self, yes: bool) -> Proxy {
        self.tunnel_http = yes;
        self
    }

    /// The route for `url` if this proxy applies to it.
    fn route_for(&self, url: &Url) -> Option<Route> {
        let https = url.scheme() == "https";
        let applies = match self.scope {
            Scope::All => true,
            Scope::Http => !https,
            Scope::Https => https,
        };
        if !applies || self.no_proxy.matches(url.host_str().unwrap_or_default()) {
            return None;
        }
        let endpoint = Arc::new(self.endpoint.clone());
        Some(if https || self.tunnel_http {
            Route::Tunnel(endpoint)
        } else {
            Route::Forward(endpoint)
        })
    }
}

/// Where a proxy listens and how to authenticate to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ProxyEndpoint {
    /// As the URL gives it: lowercase domain, IPv6 in brackets.
    pub host: Box<str>,
    pub port: u16,
    /// The `Proxy-Authorization` value, if any.
    pub auth: Option<HeaderValue>,
}

impl fmt::Display for ProxyEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// How a connection reaches its origin.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) enum Route {
    /// Straight to the origin.
    #[default]
    Direct,
    /// To the proxy, which forwards absolute-form requests.
    Forward(Arc<ProxyEndpoint>),
    /// To the proxy, then `CONNECT` to the origin.
    Tunnel(Arc<ProxyEndpoint>),
}

impl Route {
    /// The proxy, if the route has one.
    pub(crate) fn proxy(&self) -> Option<&ProxyEndpoint> {
        match self {
            Route::Direct => None,
            Route::Forward(p) | Route::Tunnel(p) => Some(p),
        }
    }
}

/// The route for `url` under `proxies`: the first proxy that applies.
pub(crate) fn route(proxies: &[Proxy], url: &Url) -> Route {
    proxies
        .iter()
        .find_map(|p| p.route_for(url))
        .unwrap_or_default()
}

/// The proxies the environment asks for, in the curl convention:
/// `http_proxy` for http URLs, `https_proxy` for https URLs, `all_proxy`
/// for both where the specific one is unset; `no_proxy` exempts hosts. The
/// lowercase name wins over the uppercase one, and uppercase `HTTP_PROXY`
/// is ignored (as curl does, since CGI servers set `HTTP_PROXY` from a
/// request's `Proxy:` header). Unusable values are skipped.
pub(crate) fn from_env(get: impl Fn(&str) -> Option<String>) -> Vec<Proxy> {
    let var = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| get(name).filter(|v| !v.trim().is_empty()))
    };
    let no_proxy = var(&["no_proxy", "NO_PROXY"]).unwrap_or_default();
    let mut proxies = Vec::new();
    for (scope, names) in [
        (Scope::Http, &["http_proxy"][..]),
        (Scope::Https, &["https_proxy", "HTTPS_PROXY"][..]),
        (Scope::All, &["all_proxy", "ALL_PROXY"][..]),
    ] {
        if let Some(url) = var(names) {
            if let Ok(proxy) = Proxy::new(scope, &url) {
                proxies.push(proxy.no_proxy(&no_proxy));
            }
        }
    }
    proxies
}

/// The hosts a proxy is not used for.
#[derive(Debug, Clone, Default)]
struct NoProxy {
    all: bool,
    /// Domain suffixes, lowercase, without a leading dot.
    domains: Vec<String>,
    /// Addresses and prefix lengths.
    networks: Vec<(IpAddr, u8)>,
}

impl NoProxy {
    fn parse(list: &str) -> NoProxy {
        let mut rules = NoProxy::default();
        for entry in list
            .split([',', ' ', '\t'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            if entry == "*" {
                rules.all = true;
                continue;
            }
            // A bare IPv6 address is full of colons: try the whole entry as
            // an address or range first, then without a `:port`.
            let host = strip_port(entry);
            if let Some(net) = parse_network(entry).or_else(|| parse_network(host)) {
                rules.networks.push(net);
                continue;
            }
            let host = host.trim_start_matches('.').to_ascii_lowercase();
            if !host.is_empty() {
                rules.domains.push(host);
            }
        }
        rules
    }

    /// Whether `host` (as a URL gives it: IPv6 in brackets) is exempt.
    fn matches(&self, host: &str) -> bool {
        if self.all {
            return true;
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return self
                .networks
                .iter()
                .any(|&(net, bits)| in_network(ip, net, bits));
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.domains.iter().any(|domain| {
            host == *domain
                || host
                    .strip_suffix(domain.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }
}

/// `entry` without a `:port` suffix: `127.0.0.1:8080` → `127.0.0.1`,
/// `[::1]:8080` → `[::1]`, `localhost:80` → `localhost`. An entry with more
/// than one colon outside brackets (a bare IPv6 address) has no port.
fn strip_port(entry: &str) -> &str {
    let Some((host, port)) = entry.rsplit_once(':') else {
        return entry;
    };
    let bracketed = host.starts_with('[') && host.ends_with(']');
    if port.is_empty()
        || !port.bytes().all(|b| b.is_ascii_digit())
        || (host.contains(':') && !bracketed)
    {
        return entry;
    }
    host
}

/// `1.2.3.4`, `::1`, `[::1]`, `10.0.0.0/8`, `fd00::/8`, `[fd00::]/8`.
fn parse_network(entry: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = match entry.split_once('/') {
        Some((addr, bits)) => (addr, Some(bits.parse::<u8>().ok()?)),
        None => (entry, None),
    };
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    Some((ip, bits.unwrap_or(max).min(max)))
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (a, b, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            (u128::from(u32::from(a)), u128::from(u32::from(b)), 32u32)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let bits = u32::from(bits);
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (a >> shift) == (b >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn no_proxy_follows_curl() {
        let rules =
            NoProxy::parse("example.com, .internal.test,localhost:8080 10.0.0.0/8 ::1 192.168.1.5");
        for host in [
            "example.com",
            "a.example.com",
            "EXAMPLE.com",
            "x.internal.test",
            "internal.test",
            "localhost",
            "10.1.2.3",
            "[::1]",
            "192.168.1.5",
        ] {
            assert!(rules.matches(host), "{host}");
        }
        for host in [
            "badexample.com",
            "example.org",
            "11.0.0.1",
            "[::2]",
            "192.168.1.6",
            "localhost.evil",
        ] {
            assert!(!rules.matches(host), "{host}");
        }
        assert!(NoProxy::parse("*").matches("anything"));
        assert!(!NoProxy::parse("").matches("anything"));
    }

    #[test]
    fn addresses_with_a_port_are_addresses() {
        let rules = NoProxy::parse("127.0.0.1:28080, [::1]:8443, [fd00::]/8, 10.0.0.0/8:80, ::2");
        for host in ["127.0.0.1", "[::1]", "[fd00::5]", "10.9.9.9", "[::2]"] {
            assert!(rules.matches(host), "{host}");
        }
        for host in ["127.0.0.2", "[::3]", "11.0.0.1"] {
            assert!(!rules.matches(host), "{host}");
        }
        assert!(rules.domains.is_empty(), "{:?}", rules.domains);
        assert_eq!(strip_port("localhost:28443"), "localhost");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_port("fd00::1:80"), "fd00::1:80");
        assert_eq!(strip_port("host:"), "host:");
        // The example from the report: the port-suffixed IP exempts its URL.
        let proxy = [Proxy::all("127.0.0.1:3128")
            .unwrap()
            .no_proxy("127.0.0.1:28080")];
        assert_eq!(
            route(&proxy, &url("http://127.0.0.1:28080/")),
            Route::Direct
        );
    }

    #[test]
    fn scopes_pick_the_route() {
        let proxies = [
            Proxy::http("127.0.0.1:3128").unwrap(),
            Proxy::https("http://u:p@127.0.0.1:3129")
                .unwrap()
                .no_proxy("skip.test"),
        ];
        let Route::Forward(p) = route(&proxies, &url("http://a.test/")) else {
            panic!("http goes through the forward proxy");
        };
        assert_eq!((p.port, p.auth.is_none()), (3128, true));
        let Route::Tunnel(p) = route(&proxies, &url("https://a.test/")) else {
            panic!("https is tunnelled");
        };
        assert_eq!(p.auth.as_ref().unwrap(), "Basic dTpw");
        assert_eq!(route(&proxies, &url("https://skip.test/")), Route::Direct);
        let tunnel = [Proxy::all("127.0.0.1:1").unwrap().tunnel(true)];
        assert!(matches!(
            route(&tunnel, &url("http://a.test/")),
            Route::Tunnel(_)
        ));
    }

    #[test]
    fn bad_proxy_urls_are_refused() {
        for bad in [
            "https://p.test:443",
            "socks5://p.test",
            "http://",
            "http://a b",
        ] {
            assert!(Proxy::all(bad).is_err(), "{bad}");
        }
        assert_eq!(Proxy::all("p.test").unwrap().endpoint.port, 80);
    }

    #[test]
    fn environment_is_read_as_curl_does() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let proxies = from_env(env(&[
            ("http_proxy", "http://h:1"),
            ("HTTPS_PROXY", "http://s:2"),
            ("no_proxy", "local.test"),
        ]));
        assert_eq!(proxies.len(), 2);
        assert!(matches!(route(&proxies, &url("http://x/")), Route::Forward(p) if p.port == 1));
        assert!(matches!(route(&proxies, &url("https://x/")), Route::Tunnel(p) if p.port == 2));
        assert_eq!(route(&proxies, &url("http://a.local.test/")), Route::Direct);
        // Uppercase HTTP_PROXY is ignored; all_proxy covers both schemes.
        let proxies = from_env(env(&[("HTTP_PROXY", "http://h:1"), ("ALL_PROXY", "a:3")]));
        assert!(matches!(route(&proxies, &url("http://x/")), Route::Forward(p) if p.port == 3));
        assert!(from_env(env(&[])).is_empty());
    }
}
