//! Request header lists out (RFC 9113 §8.2, §8.3.1) and response header
//! lists in, validated (§8.1, §8.2, §8.3.2).

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use std::sync::OnceLock;

use super::super::error::Violation;
use super::super::hpack::Field;
use super::super::hpack::table::{ENTRY_OVERHEAD, STATIC_TABLE};

/// Connection-specific fields (§8.2.2): never sent, and malformed when
/// received.
const CONNECTION_SPECIFIC: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// What a request is made of: the pseudo-header values and the fields.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    /// `:method`.
    pub method: &'a Method,
    /// `:scheme`: `https` or `http`.
    pub scheme: &'a str,
    /// `:authority`: host and port as in the URL (a `host` field in
    /// `headers` replaces it, §8.3.1).
    pub authority: &'a str,
    /// `:path`: path and query, `/` at least.
    pub path: &'a str,
    /// The other fields. Connection-specific ones (`connection`,
    /// `keep-alive`, `proxy-connection`, `transfer-encoding`, `upgrade`, and
    /// any named in `connection`) are dropped, `host` becomes `:authority`,
    /// and `te` is sent only as `trailers` (§8.2.2).
    pub headers: &'a HeaderMap,
}

/// Fields sent after a request's own: a client's defaults (for names the
/// request does not set) and what the client adds itself.
#[derive(Debug, Clone, Copy)]
pub struct ExtraFields<'a> {
    /// Sent for names neither `RequestHead::headers` nor `added` set.
    pub defaults: &'a HeaderMap,
    /// Sent as they are (after the request's own fields).
    pub added: &'a [(HeaderName, HeaderValue)],
}

/// Fills `fields` with the header list for `head`, pseudo-headers first,
/// then `extra`, and returns its size in SETTINGS_MAX_HEADER_LIST_SIZE
/// terms (name + value + 32 per field, §6.5.2).
pub(crate) fn request_fields<'a>(
    head: &RequestHead<'a>,
    extra: Option<ExtraFields<'a>>,
    fields: &mut Vec<Field<'a>>,
) -> usize {
    let headers = head.headers;
    let empty: &'a [(HeaderName, HeaderValue)] = &[];
    let (defaults, added) = extra.map_or((None, empty), |e| (Some(e.defaults), e.added));
    let is_added = |name: &HeaderName| added.iter().any(|(n, _)| n == name);
    let authority = headers
        .get(http::header::HOST)
        .or_else(|| defaults.and_then(|d| d.get(http::header::HOST)))
        .map_or(head.authority.as_bytes(), HeaderValue::as_bytes);
    // The defaults the request and the added fields leave in place.
    let defaults = defaults
        .into_iter()
        .flat_map(|d| d.iter())
        .filter(move |(name, _)| !headers.contains_key(*name) && !is_added(name));
    let pseudo = [
        (&b":method"[..], head.method.as_str().as_bytes()),
        (b":scheme", head.scheme.as_bytes()),
        (b":authority", authority),
        (b":path", head.path.as_bytes()),
    ];
    for (name, value) in pseudo {
        fields.push(Field {
            name,
            value,
            sensitive: false,
            static_name: 0,
        });
    }
    // Fields the `connection` header names are connection-specific too.
    let has_connection = headers.contains_key(http::header::CONNECTION);
    let listed_in_connection = |name: &HeaderName| {
        has_connection
            && headers
                .get_all(http::header::CONNECTION)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|token| token.trim().eq_ignore_ascii_case(name.as_str()))
    };
    let all = headers
        .iter()
        .chain(defaults)
        .chain(added.iter().map(|(n, v)| (n, v)));
    for (name, value) in all {
        let n = name.as_str();
        if CONNECTION_SPECIFIC.contains(&n) || name == http::header::HOST {
            continue;
        }
        if name == http::header::TE {
            let has_trailers = value.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("trailers"))
            });
            if has_trailers {
                fields.push(Field {
                    name: b"te",
                    value: b"trailers",
                    sensitive: false,
                    static_name: 0,
                });
            }
            continue;
        }
        if listed_in_connection(name) {
            continue;
        }
        // `http` keeps names lower-case, as HTTP/2 requires (§8.2.1).
        fields.push(Field {
            name: n.as_bytes(),
            value: value.as_bytes(),
            sensitive: value.is_sensitive(),
            static_name: 0,
        });
    }
    fields
        .iter()
        .map(|f| f.name.len() + f.value.len() + ENTRY_OVERHEAD)
        .sum()
}

/// The first static table entry that is not a pseudo-header
/// (`accept-charset`, RFC 7541 Appendix A).
const FIRST_REGULAR: usize = 15;
const FIRST_REGULAR_U8: u8 = FIRST_REGULAR as u8;
/// The last static table entry (`www-authenticate`).
const LAST_STATIC: u8 = STATIC_TABLE.len() as u8;

/// Whether `name` is one of [`CONNECTION_SPECIFIC`], by one `match`.
fn is_connection_specific(name: &str) -> bool {
    matches!(
        name,
        "connection" | "keep-alive" | "proxy-connection" | "transfer-encoding" | "upgrade"
    )
}

/// The name of static table entry `index` (1–61) as a [`HeaderName`],
/// parsed once; `None` for 0 and the pseudo-headers.
fn known_name(index: u8) -> Option<HeaderName> {
    static NAMES: OnceLock<Vec<Option<HeaderName>>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        STATIC_TABLE
            .iter()
            .skip(FIRST_REGULAR - 1)
            .map(|(name, _)| HeaderName::from_bytes(name.as_bytes()).ok())
            .collect()
    });
    names
        .get(usize::from(index).checked_sub(FIRST_REGULAR)?)
        .cloned()
        .flatten()
}

/// Builds a response head (or trailers) from decoded fields, recording the
/// first rule broken. The values of a block share one buffer (no copy
/// per value); [`finish`](HeadBuilder::finish) makes the map.
#[derive(Debug)]
pub(crate) struct HeadBuilder {
    pub(crate) status: Option<StatusCode>,
    /// The fields, once [`finish`](HeadBuilder::finish) has run.
    pub(crate) headers: HeaderMap,
    /// The values of the fields taken so far, one after the other.
    values: Vec<u8>,
    /// Each field's name and the range of its value in `values`.
    fields: Vec<(HeaderName, usize, usize)>,
    /// Size so far in SETTINGS_MAX_HEADER_LIST_SIZE terms.
    size: usize,
    limit: usize,
    /// Regular fields so far, and the most allowed.
    count: usize,
    max_count: usize,
    seen_regular: bool,
    trailers: bool,
    pub(crate) error: Option<Violation>,
}

impl HeadBuilder {
    /// A builder for a head (`trailers` false) or trailers, allowing
    /// `limit` bytes of header list and `max_count` regular fields.
    /// `block_len` (the header block's size) sizes the buffer of values
    /// for the usual block, in one allocation; `fields` is an empty list
    /// to reuse (see [`take_scratch`](HeadBuilder::take_scratch)).
    pub(crate) fn new(
        trailers: bool,
        limit: usize,
        max_count: usize,
        block_len: usize,
        fields: Vec<(HeaderName, usize, usize)>,
    ) -> Self {
        // Huffman coding shrinks text by at most 8 bits to 5.
        let values = block_len.saturating_mul(8) / 5;
        HeadBuilder {
            status: None,
            headers: HeaderMap::new(),
            values: Vec::with_capacity(values.min(limit)),
            fields,
            size: 0,
            limit,
            count: 0,
            max_count,
            seen_regular: false,
            trailers,
            error: None,
        }
    }

    /// Takes one decoded field; `static_name` is the static table index
    /// its name came from, or 0 ([`Field::static_name`]).
    pub(crate) fn field(&mut self, name: &[u8], value: &[u8], static_name: u8) {
        self.size = self
            .size
            .saturating_add(name.len() + value.len() + ENTRY_OVERHEAD);
        if self.size > self.limit {
            // Keep counting for the message, but hold nothing more.
            self.error = Some(Violation::HeaderListTooLarge {
                size: self.size,
                limit: self.limit,
            });
            self.fields.clear();
            self.values.clear();
            return;
        }
        if self.error.is_some() {
            return;
        }
        if let Err(what) = self.take(name, value, static_name) {
            self.error = Some(what);
        }
    }

    fn take(&mut self, name: &[u8], value: &[u8], static_name: u8) -> Result<(), Violation> {
        let lossy = || String::from_utf8_lossy(name).into_owned();
        if name.first() == Some(&b':') {
            if self.trailers || name != b":status" {
                return Err(Violation::UnexpectedPseudo(lossy()));
            }
            if self.seen_regular {
                return Err(Violation::PseudoAfterRegular(lossy()));
            }
            if self.status.is_some() {
                return Err(Violation::DuplicatePseudo(lossy()));
            }
            let invalid = || Violation::InvalidStatus(String::from_utf8_lossy(value).into_owned());
            // Exactly three digits (§8.3.2, RFC 9110 §15).
            if value.len() != 3 || !value.iter().all(u8::is_ascii_digit) {
                return Err(invalid());
            }
            let status = StatusCode::from_bytes(value).map_err(|_| invalid())?;
            self.status = Some(status);
            return Ok(());
        }
        self.seen_regular = true;
        self.count += 1;
        if self.count > self.max_count {
            return Err(Violation::TooManyHeaders {
                limit: self.max_count,
            });
        }
        let header = match known_name(static_name) {
            Some(header) => header,
            None if name.iter().any(u8::is_ascii_uppercase) => {
                return Err(Violation::UppercaseHeaderName(lossy()));
            }
            None => HeaderName::from_bytes(name).map_err(|_| Violation::InvalidHeader(lossy()))?,
        };
        // Of the static table's names only `transfer-encoding` (57) is
        // connection-specific, and `te` is not there.
        let connection_specific = match static_name {
            57 => true,
            FIRST_REGULAR_U8..=LAST_STATIC => false,
            _ => {
                is_connection_specific(header.as_str())
                    || (header == http::header::TE && value != b"trailers")
            }
        };
        if connection_specific {
            return Err(Violation::ConnectionSpecificHeader(lossy()));
        }
        // §8.2.1: no leading or trailing whitespace. The other bytes (no
        // NUL, CR or LF, nor other controls but tab, as the `http` crate
        // wants) are checked once, by `http`, in `finish`.
        let padded = matches!(value.first(), Some(b' ' | b'\t'))
            || matches!(value.last(), Some(b' ' | b'\t'));
        if padded {
            return Err(Violation::InvalidHeader(lossy()));
        }
        let start = self.values.len();
        self.values.extend_from_slice(value);
        self.fields.push((header, start, self.values.len()));
        Ok(())
    }

    /// Makes the header map of the fields taken, their values sharing one
    /// buffer, and checks the values' bytes (§8.2.1: no NUL, CR or LF, nor
    /// other controls but tab) as `http` does in making each one.
    ///
    /// A bad value is the first rule the block broke: the fields taken
    /// all came before any rule [`field`](HeadBuilder::field) found broken
    /// (it takes none after one), so its `InvalidHeader` replaces that
    /// error.
    pub(crate) fn finish(&mut self) {
        if self.fields.is_empty() {
            return;
        }
        let values = bytes::Bytes::from(std::mem::take(&mut self.values));
        self.headers.reserve(self.fields.len());
        for (name, start, end) in self.fields.drain(..) {
            match HeaderValue::from_maybe_shared(values.slice(start..end)) {
                Ok(value) => {
                    self.headers.append(name, value);
                }
                Err(_) => {
                    let name = name.as_str().to_owned();
                    self.error = Some(Violation::InvalidHeader(name));
                    break;
                }
            }
        }
        self.fields.clear();
    }

    /// The list of fields, empty and with its capacity, for the next
    /// builder.
    pub(crate) fn take_scratch(&mut self) -> Vec<(HeaderName, usize, usize)> {
        self.fields.clear();
        std::mem::take(&mut self.fields)
    }

    /// The `content-length` value, if any; every value must be the same
    /// number.
    pub(crate) fn content_length(&self) -> Result<Option<u64>, Violation> {
        let mut length = None;
        for value in self.headers.get_all(http::header::CONTENT_LENGTH) {
            for part in value.as_bytes().split(|&b| b == b',') {
                let part = part.trim_ascii();
                let parsed = std::str::from_utf8(part)
                    .ok()
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or(Violation::InvalidContentLength)?;
                if length.is_some_and(|l| l != parsed) {
                    return Err(Violation::InvalidContentLength);
                }
                length = Some(parsed);
            }
        }
        Ok(length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(trailers: bool, fields: &[(&str, &str)]) -> HeadBuilder {
        let mut b = HeadBuilder::new(trailers, 16 * 1024, 100, 0, Vec::new());
        for (n, v) in fields {
            b.field(n.as_bytes(), v.as_bytes(), 0);
        }
        b.finish();
        b
    }

    #[test]
    fn valid_head() {
        let b = build(
            false,
            &[
                (":status", "200"),
                ("content-length", "5"),
                ("x-a", "1"),
                ("x-a", "2"),
                ("te", "trailers"),
            ],
        );
        assert_eq!(b.error, None);
        assert_eq!(b.status, Some(StatusCode::OK));
        assert_eq!(b.headers.get_all("x-a").iter().count(), 2);
        assert_eq!(b.content_length(), Ok(Some(5)));
    }

    #[test]
    fn each_rule() {
        type Case<'a> = (bool, &'a [(&'a str, &'a str)], Violation);
        let cases: &[Case<'_>] = &[
            (
                false,
                &[(":status", "200"), ("Foo", "x")],
                Violation::UppercaseHeaderName("Foo".into()),
            ),
            (
                false,
                &[(":status", "200"), ("connection", "close")],
                Violation::ConnectionSpecificHeader("connection".into()),
            ),
            (
                false,
                &[(":status", "200"), ("transfer-encoding", "chunked")],
                Violation::ConnectionSpecificHeader("transfer-encoding".into()),
            ),
            (
                false,
                &[(":status", "200"), ("te", "gzip")],
                Violation::ConnectionSpecificHeader("te".into()),
            ),
            (
                false,
                &[("x", "1"), (":status", "200")],
                Violation::PseudoAfterRegular(":status".into()),
            ),
            (
                false,
                &[(":status", "200"), (":status", "200")],
                Violation::DuplicatePseudo(":status".into()),
            ),
            (
                false,
                &[(":path", "/")],
                Violation::UnexpectedPseudo(":path".into()),
            ),
            (
                true,
                &[(":status", "200")],
                Violation::UnexpectedPseudo(":status".into()),
            ),
            (
                false,
                &[(":status", "20")],
                Violation::InvalidStatus("20".into()),
            ),
            (
                false,
                &[(":status", "abc")],
                Violation::InvalidStatus("abc".into()),
            ),
            (
                false,
                &[(":status", "200"), ("x", " padded")],
                Violation::InvalidHeader("x".into()),
            ),
            (
                false,
                &[(":status", "200"), ("x", "a\nb")],
                Violation::InvalidHeader("x".into()),
            ),
            (
                false,
                &[(":status", "200"), ("bad name", "1")],
                Violation::InvalidHeader("bad name".into()),
            ),
        ];
        for (trailers, fields, want) in cases {
            assert_eq!(
                build(*trailers, fields).error.as_ref(),
                Some(want),
                "{fields:?}"
            );
        }
    }

    #[test]
    fn static_names_are_the_tables() {
        for (i, (name, _)) in STATIC_TABLE.iter().enumerate() {
            let index = u8::try_from(i + 1).unwrap();
            match known_name(index) {
                Some(known) => assert_eq!(known.as_str(), *name, "entry {index}"),
                None => assert!(name.starts_with(':'), "entry {index} ({name}) has no name"),
            }
        }
        assert_eq!(known_name(0), None);
        assert_eq!(known_name(62), None);
        // A field named by the static table is taken like its literal twin,
        // connection-specific rules included (`transfer-encoding` is 57).
        let mut by_index = build(false, &[(":status", "200")]);
        by_index.field(b"content-type", b"text/plain", 31);
        by_index.finish();
        assert_eq!(by_index.error, None);
        assert_eq!(by_index.headers["content-type"], "text/plain");
        let mut banned = build(false, &[(":status", "200")]);
        banned.field(b"transfer-encoding", b"chunked", 57);
        assert!(matches!(
            banned.error,
            Some(Violation::ConnectionSpecificHeader(_))
        ));
    }

    /// The `match` for literal names and the shortcut for static ones
    /// agree with the list `request_fields` drops.
    #[test]
    fn connection_specific_names() {
        for name in CONNECTION_SPECIFIC {
            assert!(is_connection_specific(name), "{name}");
        }
        for (i, (name, _)) in STATIC_TABLE.iter().enumerate() {
            assert_eq!(
                is_connection_specific(name),
                i + 1 == 57,
                "static entry {} ({name})",
                i + 1
            );
            assert_ne!(*name, "te");
        }
        for name in ["te", "connections", "upgrade-insecure-requests", "keep", ""] {
            assert!(!is_connection_specific(name), "{name}");
        }
        let mut by_index = build(false, &[(":status", "200")]);
        by_index.field(b"content-type", b"text/plain", 31);
        by_index.field(b"etag", b"\"1\"", 34);
        by_index.finish();
        assert_eq!(by_index.error, None);
    }

    /// Value bytes are checked once, in `finish`, and still reported as
    /// the first rule the block broke.
    #[test]
    fn bad_value_bytes_are_the_first_rule_broken() {
        let ok = (":status", "200");
        // Alone, whether the name is literal or static.
        let b = build(false, &[ok, ("x", "a\0b")]);
        assert_eq!(b.error, Some(Violation::InvalidHeader("x".into())));
        assert!(!b.headers.contains_key("x"));
        let mut by_index = build(false, &[ok]);
        by_index.field(b"content-type", b"text\rplain", 31);
        by_index.finish();
        assert_eq!(
            by_index.error,
            Some(Violation::InvalidHeader("content-type".into()))
        );
        // Before another broken rule: the bad value is reported.
        let b = build(false, &[ok, ("a", "1"), ("x", "\x7f"), ("Upper", "1")]);
        assert_eq!(b.error, Some(Violation::InvalidHeader("x".into())));
        let b = build(false, &[ok, ("x", "a\nb"), ("connection", "close")]);
        assert_eq!(b.error, Some(Violation::InvalidHeader("x".into())));
        // After one: the earlier rule is.
        let b = build(false, &[ok, ("Upper", "1"), ("x", "a\nb")]);
        assert_eq!(
            b.error,
            Some(Violation::UppercaseHeaderName("Upper".into()))
        );
        // Tab is allowed inside a value, as are bytes above 127.
        let b = build(false, &[ok, ("x", "a\tb"), ("y", "caf\u{e9}")]);
        assert_eq!(b.error, None);
        assert_eq!(b.headers["x"].as_bytes(), b"a\tb");
    }

    #[test]
    fn list_size_limit() {
        let mut b = HeadBuilder::new(false, 100, 100, 10, Vec::new());
        b.field(b":status", b"200", 0); // 42
        b.field(b"x-a", b"12345", 0); // 40
        assert_eq!(b.error, None);
        b.field(b"x-b", b"1", 0); // 36: 118
        b.finish();
        assert_eq!(
            b.error,
            Some(Violation::HeaderListTooLarge {
                size: 118,
                limit: 100
            })
        );
        assert!(b.headers.is_empty());
    }

    #[test]
    fn content_lengths() {
        let cl = |values: &[&str]| {
            let fields: Vec<(&str, &str)> = values.iter().map(|v| ("content-length", *v)).collect();
            build(false, &fields).content_length()
        };
        assert_eq!(cl(&["7", "7"]), Ok(Some(7)));
        assert_eq!(cl(&["7, 7"]), Ok(Some(7)));
        assert_eq!(cl(&["7", "8"]), Err(Violation::InvalidContentLength));
        assert_eq!(cl(&["-1"]), Err(Violation::InvalidContentLength));
        assert_eq!(cl(&[""]), Err(Violation::InvalidContentLength));
        assert_eq!(cl(&[]), Ok(None));
    }

    #[test]
    fn request_fields_drop_connection_specific() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("example.org:8080"));
        headers.insert("connection", HeaderValue::from_static("keep-alive, x-hop"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("proxy-connection", HeaderValue::from_static("keep-alive"));
        headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        headers.insert("upgrade", HeaderValue::from_static("h2c"));
        headers.insert("x-hop", HeaderValue::from_static("1"));
        headers.insert("te", HeaderValue::from_static("gzip, trailers"));
        headers.insert("accept", HeaderValue::from_static("*/*"));
        let head = RequestHead {
            method: &Method::GET,
            scheme: "https",
            authority: "example.org",
            path: "/a?b",
            headers: &headers,
        };
        let mut fields = Vec::new();
        let size = request_fields(&head, None, &mut fields);
        let got: Vec<(&str, &str)> = fields
            .iter()
            .map(|f| {
                (
                    std::str::from_utf8(f.name).unwrap(),
                    std::str::from_utf8(f.value).unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (":method", "GET"),
                (":scheme", "https"),
                (":authority", "example.org:8080"),
                (":path", "/a?b"),
                ("te", "trailers"),
                ("accept", "*/*"),
            ]
        );
        assert_eq!(
            size,
            got.iter()
                .map(|(n, v)| n.len() + v.len() + 32)
                .sum::<usize>()
        );
    }
}
