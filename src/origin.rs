//! [`Origin`]: the (scheme, host, port) key that connection limits and the
//! keep-alive pool are counted by, so `http://h` and `https://h` never share;
//! with a proxy, the route to it is part of the key too.

use std::fmt;
use std::sync::Arc;

use url::Url;

use crate::proxy::{self, Proxy, Route};

/// The (scheme, host, port) triple of a URL, and how it is reached.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    pub https: bool,
    /// As the URL gives it: lowercase domain, IPv6 in brackets. Shared, so
    /// the copies the dispatcher and the pool keep of a key cost no
    /// allocation.
    pub host: Arc<str>,
    pub port: u16,
    /// Direct, or through which proxy.
    pub route: Route,
}

impl Origin {
    /// The origin of an `http` or `https` URL (checked by `Request::new`).
    pub(crate) fn of(url: &Url) -> Origin {
        let https = url.scheme() == "https";
        Origin {
            https,
            host: url.host_str().unwrap_or_default().into(),
            port: url
                .port_or_known_default()
                .unwrap_or(if https { 443 } else { 80 }),
            route: Route::Direct,
        }
    }

    /// The origin of `url`, reached through the first of `proxies` that
    /// applies to it.
    pub(crate) fn routed(url: &Url, proxies: &[Proxy]) -> Origin {
        let mut origin = Origin::of(url);
        if !proxies.is_empty() {
            origin.route = proxy::route(proxies, url);
        }
        origin
    }

    /// The host the TCP connection goes to: the proxy's, if there is one.
    pub(crate) fn connect_host(&self) -> &str {
        self.route.proxy().map_or(&self.host, |p| &p.host)
    }

    /// The port the TCP connection goes to.
    pub(crate) fn connect_port(&self) -> u16 {
        self.route.proxy().map_or(self.port, |p| p.port)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)?;
        match self.route.proxy() {
            Some(proxy) => write!(f, " via proxy {proxy}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_host_and_port_make_the_key() {
        let o = |s: &str| Origin::of(&Url::parse(s).unwrap());
        assert_eq!(o("http://H.example/a"), o("http://h.example:80/b"));
        assert_ne!(o("http://h.example/"), o("https://h.example/"));
        assert_ne!(o("http://h.example/"), o("http://h.example:81/"));
        assert_eq!(o("https://[::1]/").to_string(), "https://[::1]:443");
    }
}
