//! [`Origin`]: the (scheme, host, port) key that connection limits and the
//! keep-alive pool are counted by, so `http://h` and `https://h` never share;
//! with a proxy, the route to it is part of the key too.

use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::{Arc, OnceLock};

use url::Url;

use crate::id_hash::IdMap;
use crate::proxy::{self, Proxy, Route};

/// A `HashMap` keyed by [`Origin`]: its hash is computed once, when the
/// origin is made, so the maps hash only that number.
pub(crate) type OriginMap<V> = IdMap<Origin, V>;

/// The (scheme, host, port) triple of a URL, and how it is reached.
///
/// The fields are read freely but never changed once made ([`Origin::new`]
/// computes the hash the maps use from them).
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub https: bool,
    /// As the URL gives it: lowercase domain, IPv6 in brackets. Shared, so
    /// the copies the dispatcher and the pool keep of a key cost no
    /// allocation.
    pub host: Arc<str>,
    pub port: u16,
    /// Direct, or through which proxy.
    pub route: Route,
    /// SipHash of the fields above with a key drawn once per process: host
    /// names come from the network (redirects), so the maps keep the
    /// flooding resistance of the standard hasher while hashing each
    /// origin once rather than on every lookup.
    hash: u64,
}

impl Origin {
    /// The origin of `host` and `port` over `https` or not, reached by
    /// `route`.
    pub(crate) fn new(https: bool, host: Arc<str>, port: u16, route: Route) -> Origin {
        static KEY: OnceLock<RandomState> = OnceLock::new();
        let hash = KEY
            .get_or_init(RandomState::new)
            .hash_one((https, &*host, port, &route));
        Origin {
            https,
            host,
            port,
            route,
            hash,
        }
    }

    /// The origin of an `http` or `https` URL (checked by `Request::new`).
    pub(crate) fn of(url: &Url) -> Origin {
        Origin::routed(url, &[])
    }

    /// The origin of `url`, reached through the first of `proxies` that
    /// applies to it.
    pub(crate) fn routed(url: &Url, proxies: &[Proxy]) -> Origin {
        let https = url.scheme() == "https";
        let port = url
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        let route = if proxies.is_empty() {
            Route::Direct
        } else {
            proxy::route(proxies, url)
        };
        Origin::new(
            https,
            url.host_str().unwrap_or_default().into(),
            port,
            route,
        )
    }

    /// The origin of `url` like [`routed`](Origin::routed), but a copy of
    /// `recent` (no hashing, no allocation) when that is the same origin
    /// reached directly and no proxy is configured: a batch usually sends
    /// request after request to one origin.
    pub(crate) fn routed_like(url: &Url, proxies: &[Proxy], recent: Option<&Origin>) -> Origin {
        match recent {
            Some(recent)
                if proxies.is_empty()
                    && recent.route == Route::Direct
                    && recent.https == (url.scheme() == "https")
                    && url.port_or_known_default() == Some(recent.port)
                    && url.host_str() == Some(&*recent.host) =>
            {
                recent.clone()
            }
            _ => Origin::routed(url, proxies),
        }
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

impl PartialEq for Origin {
    fn eq(&self, other: &Origin) -> bool {
        self.hash == other.hash
            && self.https == other.https
            && self.port == other.port
            && (Arc::ptr_eq(&self.host, &other.host) || self.host == other.host)
            && self.route == other.route
    }
}

impl Eq for Origin {}

impl Hash for Origin {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
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
    fn a_recent_origin_is_reused_only_when_it_is_the_same() {
        let url = |s: &str| Url::parse(s).unwrap();
        let recent = Origin::of(&url("https://h.example/a"));
        let same = Origin::routed_like(&url("https://h.example:443/b"), &[], Some(&recent));
        assert!(Arc::ptr_eq(&same.host, &recent.host));
        assert_eq!(same, recent);
        for other in [
            "http://h.example/",
            "https://h.example:8443/",
            "https://g.example/",
        ] {
            let made = Origin::routed_like(&url(other), &[], Some(&recent));
            assert_eq!(made, Origin::of(&url(other)), "{other}");
            assert_ne!(made, recent, "{other}");
        }
        let proxies = [Proxy::all("http://proxy.example:3128").unwrap()];
        let proxied = Origin::routed_like(&url("https://h.example/"), &proxies, Some(&recent));
        assert_ne!(proxied.route, Route::Direct);
    }

    #[test]
    fn scheme_host_and_port_make_the_key() {
        let o = |s: &str| Origin::of(&Url::parse(s).unwrap());
        assert_eq!(o("http://H.example/a"), o("http://h.example:80/b"));
        assert_ne!(o("http://h.example/"), o("https://h.example/"));
        assert_ne!(o("http://h.example/"), o("http://h.example:81/"));
        assert_eq!(o("https://[::1]/").to_string(), "https://[::1]:443");
    }
}
