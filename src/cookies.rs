//! [`CookieJar`]: the cookies of a client (the `cookies` feature), kept by
//! the `cookie_store` crate (the store reqwest and ureq use): RFC 6265
//! parsing of `Set-Cookie`, the domain, path, `Secure` and expiry rules,
//! and JSON for saving and loading. It is shared by every request and
//! redirect hop of a client, behind a mutex, as clients are shared across
//! threads.
//!
//! ```text
//!  response head (every hop, retried ones too) ──Set-Cookie──▶ public-suffix check ──▶ store
//!  request head (every attempt, every hop)     ◀──Cookie──────  the cookies for that URL
//! ```
//!
//! Public suffixes: `cookie_store`'s own `public_suffix` feature brings the
//! `publicsuffix` crate but no list (the caller must supply Mozilla's list
//! as text, which neither reqwest nor ureq does, so neither rejects a
//! `Domain=co.uk` cookie). Here the list comes compiled in, from the `psl`
//! crate (updated with each Public Suffix List release; about 0.5 MB of
//! code), and a cookie whose `Domain` is a public suffix is refused unless
//! it is the request's own host, where it becomes host-only (RFC 6265
//! §5.3, step 5).

use std::fmt;
use std::io::{self, BufRead, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cookie_store::{Cookie, CookieDomain, CookieStore};
use http::HeaderValue;
use http::header::{HeaderMap, SET_COOKIE};
use url::Url;

/// A cookie jar: filled from the `Set-Cookie` headers of every response
/// (redirects and retried responses included) and sent back in a `Cookie`
/// header with every request it matches (RFC 6265: domain, path, `Secure`
/// only over https, expiry). A request that sets its own `Cookie` header
/// (or a client with a default one) gets no cookies from the jar.
///
/// Clones share the same cookies. Turn it on with
/// [`ClientBuilder::cookie_store`](crate::ClientBuilder::cookie_store), or
/// hand one over with [`ClientBuilder::cookie_jar`](crate::ClientBuilder::cookie_jar);
/// [`Client::cookie_jar`](crate::Client::cookie_jar) gives it back.
///
/// # Examples
///
/// Keep a crawl's cookies across runs:
///
/// ```no_run
/// use std::fs::File;
/// use std::io::{BufReader, BufWriter};
/// use multifetch::{Client, CookieJar};
///
/// let jar = match File::open("cookies.json") {
///     Ok(file) => CookieJar::load_json(BufReader::new(file))?,
///     Err(_) => CookieJar::new(),
/// };
/// let client = Client::builder().cookie_jar(jar.clone()).build()?;
/// client.fetch("https://example.com/login")?;
/// jar.save_json(&mut BufWriter::new(File::create("cookies.json")?), true)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct CookieJar {
    store: Arc<Mutex<CookieStore>>,
}

impl fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieJar")
            .field("cookies", &self.len())
            .finish_non_exhaustive()
    }
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> CookieJar {
        CookieJar::default()
    }

    /// A jar with the cookies of `reader`, JSON as written by
    /// [`save_json`](Self::save_json); expired cookies are left out.
    ///
    /// # Errors
    ///
    /// `InvalidData` when the text is not such JSON, or any error reading.
    pub fn load_json(reader: impl BufRead) -> io::Result<CookieJar> {
        let store = cookie_store::serde::json::load(reader).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("could not load cookies: {e}"),
            )
        })?;
        Ok(CookieJar {
            store: Arc::new(Mutex::new(store)),
        })
    }

    /// Writes the cookies as JSON: the persistent ones that have not expired,
    /// and with `session_cookies` also those without an expiry (which a
    /// browser forgets when it closes; a crawl resumed later may want them).
    ///
    /// # Errors
    ///
    /// Any error writing.
    pub fn save_json(&self, writer: &mut impl Write, session_cookies: bool) -> io::Result<()> {
        let store = self.lock();
        let saved = if session_cookies {
            cookie_store::serde::json::save_incl_expired_and_nonpersistent(&store, writer)
        } else {
            cookie_store::serde::json::save(&store, writer)
        };
        saved.map_err(|e| io::Error::other(format!("could not save cookies: {e}")))
    }

    /// Stores a cookie as if `url` had answered with this `Set-Cookie` value;
    /// false when it is refused (malformed, for another domain, a public
    /// suffix, or already expired).
    pub fn set_cookie(&self, set_cookie: &str, url: &Url) -> bool {
        store_one(&mut self.lock(), set_cookie, url)
    }

    /// The `Cookie` header value a request to `url` would carry
    /// (`name=value; name2=value2`), or `None` when no cookie matches.
    ///
    /// Cookies with longer paths come first, then older ones first (RFC 6265
    /// §5.4, step 2; the store keeps insertion order).
    pub fn cookies_for(&self, url: &Url) -> Option<String> {
        let store = self.lock();
        let mut cookies = store.matches(url);
        cookies.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let mut header = String::new();
        for cookie in cookies {
            if !header.is_empty() {
                header.push_str("; ");
            }
            header.push_str(cookie.name());
            header.push('=');
            header.push_str(cookie.value());
        }
        (!header.is_empty()).then_some(header)
    }

    /// Every unexpired cookie as `(domain, path, name, value)`.
    pub fn cookies(&self) -> Vec<(String, String, String, String)> {
        let store = self.lock();
        store
            .iter_unexpired()
            .map(|c| {
                let domain = c
                    .domain
                    .as_cow()
                    .map(|d| d.into_owned())
                    .unwrap_or_default();
                let path = String::from(&c.path);
                (domain, path, c.name().to_owned(), c.value().to_owned())
            })
            .collect()
    }

    /// Removes the cookie `name` of `domain` and `path`; false if there was none.
    pub fn remove(&self, domain: &str, path: &str, name: &str) -> bool {
        self.lock().remove(domain, path, name).is_some()
    }

    /// Removes every cookie.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// How many unexpired cookies the jar holds.
    pub fn len(&self) -> usize {
        self.lock().iter_unexpired().count()
    }

    /// True when the jar holds no unexpired cookie.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `Cookie` header for a request to `url`, if any cookie matches.
    pub(crate) fn header_for(&self, url: &Url) -> Option<HeaderValue> {
        // Values came from valid Set-Cookie header values; a pair that would
        // not make a valid header value is left out rather than sent broken.
        self.cookies_for(url)
            .and_then(|text| HeaderValue::from_str(&text).ok())
    }

    /// Stores the `Set-Cookie` headers of a response from `url`.
    pub(crate) fn store_from(&self, headers: &HeaderMap, url: &Url) {
        let mut values = headers.get_all(SET_COOKIE).iter().peekable();
        if values.peek().is_none() {
            return;
        }
        let mut store = self.lock();
        for value in values {
            // RFC 6265 cookies are ASCII; other bytes make the header unusable.
            if let Ok(text) = value.to_str() {
                store_one(&mut store, text, url);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, CookieStore> {
        // A panic elsewhere while holding the lock leaves a usable store.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Parses and stores one `Set-Cookie` value from `url`, refusing a `Domain`
/// that is a public suffix other than the host itself (RFC 6265 §5.3, step 5).
fn store_one(store: &mut CookieStore, set_cookie: &str, url: &Url) -> bool {
    let Ok(mut cookie) = Cookie::parse(set_cookie, url) else {
        return false;
    };
    if let CookieDomain::Suffix(domain) = &cookie.domain {
        if is_public_suffix(domain) {
            if url.host_str() != Some(domain.as_str()) {
                return false;
            }
            cookie.domain = CookieDomain::HostOnly(domain.clone());
        }
    }
    matches!(
        store.insert(cookie.into_owned(), url),
        Ok(cookie_store::StoreAction::Inserted | cookie_store::StoreAction::UpdatedExisting)
    )
}

/// True when `domain` is listed in the Public Suffix List as a suffix under
/// which anyone may register names (`com`, `co.uk`, `github.io`).
fn is_public_suffix(domain: &str) -> bool {
    psl::suffix(domain.as_bytes()).is_some_and(|s| s.is_known() && s == domain.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn cookies_follow_domain_path_secure_and_expiry() {
        let jar = CookieJar::new();
        let site = url("http://www.shop.example/account/login");
        assert!(jar.set_cookie("sid=1; Path=/", &site));
        assert!(jar.set_cookie("pref=dark; Domain=shop.example; Path=/", &site));
        assert!(jar.set_cookie("acct=7", &site), "default path /account");
        assert!(jar.set_cookie(
            "tls=only; Secure; Path=/",
            &url("https://www.shop.example/")
        ));
        let header = |u: &str| jar.cookies_for(&url(u)).unwrap_or_default();
        let mut names: Vec<&str> = Vec::new();
        let account = header("http://www.shop.example/account/x");
        for pair in account.split("; ") {
            names.push(pair.split('=').next().unwrap());
        }
        names.sort_unstable();
        assert_eq!(names, ["acct", "pref", "sid"], "{account}");
        assert_eq!(header("http://static.shop.example/"), "pref=dark");
        assert!(!header("http://www.shop.example/").contains("acct"));
        assert!(header("https://www.shop.example/").contains("tls=only"));
        assert!(
            !header("http://www.shop.example/").contains("tls"),
            "Secure"
        );
        assert_eq!(header("http://other.example/"), "");
        // An expired Set-Cookie removes the cookie.
        assert!(!jar.set_cookie("sid=gone; Path=/; Max-Age=0", &site));
        assert!(!header("http://www.shop.example/").contains("sid"));
        assert!(
            !jar.set_cookie("x=1; Domain=other.example", &site),
            "another domain"
        );
        assert!(!jar.set_cookie("\u{1}", &site), "malformed");
    }

    #[test]
    fn longer_paths_then_older_cookies_come_first() {
        let jar = CookieJar::new();
        let site = url("http://a.example/");
        for set in [
            "z=1; Path=/",
            "a=2; Path=/",
            "deep=3; Path=/x/y",
            "mid=4; Path=/x",
        ] {
            assert!(jar.set_cookie(set, &site));
        }
        assert_eq!(
            jar.cookies_for(&url("http://a.example/x/y/z")).as_deref(),
            Some("deep=3; mid=4; z=1; a=2")
        );
    }

    #[test]
    fn public_suffixes_are_refused_unless_they_are_the_host() {
        let jar = CookieJar::new();
        for (domain, host) in [
            ("co.uk", "shop.co.uk"),
            ("com", "evil.com"),
            ("github.io", "me.github.io"),
        ] {
            let from = url(&format!("http://{host}/"));
            assert!(
                !jar.set_cookie(&format!("a=1; Domain={domain}"), &from),
                "Domain={domain} from {host}"
            );
        }
        assert!(jar.is_empty());
        assert!(jar.set_cookie("a=1; Domain=shop.co.uk", &url("http://www.shop.co.uk/")));
        assert!(is_public_suffix("co.uk") && !is_public_suffix("shop.co.uk"));
        // The host itself may be a public suffix: the cookie becomes host-only.
        assert!(jar.set_cookie("b=2; Domain=github.io", &url("http://github.io/")));
        assert_eq!(
            jar.cookies_for(&url("http://github.io/")).as_deref(),
            Some("b=2")
        );
        assert_eq!(jar.cookies_for(&url("http://me.github.io/")), None);
    }

    #[test]
    fn a_jar_saves_and_loads_as_json() {
        let jar = CookieJar::new();
        let site = url("https://shop.example/");
        assert!(jar.set_cookie("keep=1; Max-Age=3600", &site));
        assert!(jar.set_cookie("session=2", &site));
        let mut persistent = Vec::new();
        jar.save_json(&mut persistent, false).unwrap();
        let loaded = CookieJar::load_json(&persistent[..]).unwrap();
        assert_eq!(loaded.cookies_for(&site).as_deref(), Some("keep=1"));
        let mut all = Vec::new();
        jar.save_json(&mut all, true).unwrap();
        let loaded = CookieJar::load_json(&all[..]).unwrap();
        assert_eq!(loaded.len(), 2);
        let error = CookieJar::load_json(&b"not json"[..]).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(
            error.to_string().starts_with("could not load cookies: "),
            "{error}"
        );
        assert!(loaded.remove("shop.example", "/", "keep"));
        assert_eq!(loaded.cookies().len(), 1);
        loaded.clear();
        assert!(loaded.is_empty());
    }

    #[test]
    fn response_headers_fill_the_jar() {
        let jar = CookieJar::new();
        let mut headers = HeaderMap::new();
        headers.append(SET_COOKIE, HeaderValue::from_static("a=1; Path=/"));
        headers.append(SET_COOKIE, HeaderValue::from_static("b=2; Path=/"));
        headers.append(SET_COOKIE, HeaderValue::from_bytes(b"c=\xff").unwrap());
        let site = url("http://a.example/");
        jar.store_from(&headers, &site);
        assert_eq!(jar.header_for(&site).unwrap(), "a=1; b=2");
    }
}
