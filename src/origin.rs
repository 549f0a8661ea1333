//! [`Origin`]: the (scheme, host, port) key that connection limits and the
//! keep-alive pool are counted by, so `http://h` and `https://h` never share.

use std::fmt;

use url::Url;

/// The (scheme, host, port) triple of a URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    pub https: bool,
    /// As the URL gives it: lowercase domain, IPv6 in brackets.
    pub host: Box<str>,
    pub port: u16,
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
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
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
