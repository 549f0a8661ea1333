//! Tests of the response side as a whole: heads, framing, keep-alive, the
//! reader, one test per error variant, and byte splits.

use http::{Method, StatusCode, Version};

use super::framing::{body_decoder, can_keep_alive};
use super::reader::{HeadScan, NotStatusLine};
use super::{Parsed, ResponseHead, ResponseReader, parse_head};
use crate::h1::body::{BodyDecoder, ChunkedDecoder};
use crate::h1::{Limits, MAX_INTERIM_RESPONSES, ProtocolError};

#[test]
fn known_length_bodies_can_be_read_directly() {
    let mut reader = ResponseReader::new(Method::GET, Limits::default());
    let mut body = Vec::new();
    let used = reader
        .read(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            &mut body,
        )
        .unwrap();
    assert_eq!((used, body.as_slice()), (42, &b"abc"[..]));
    assert_eq!(reader.body_remaining(), Some(7));
    body.extend_from_slice(b"defg");
    reader.advance_body(4).unwrap();
    assert_eq!(reader.body_remaining(), Some(3));
    assert!(!reader.is_done());
    body.extend_from_slice(b"hij");
    reader.advance_body(3).unwrap();
    assert!(reader.is_done() && reader.can_keep_alive());
    assert_eq!(reader.body_remaining(), None);
    assert_eq!(body, b"abcdefghij");
}

const CL: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: t\r\n\r\nhello";
const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";

/// Parses a complete head with default limits.
#[track_caller]
fn head_of(input: &[u8]) -> ResponseHead {
    match parse_head(input, &Limits::default()) {
        Ok(Parsed::Complete { head, .. }) => head,
        other => panic!("not a complete head: {other:?}"),
    }
}

/// What a reader made of a response.
#[derive(Debug, PartialEq)]
struct Outcome {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    used: usize,
    keep_alive: bool,
}

/// Feeds `parts` in order, then EOF if the response is not done.
fn drive(method: &Method, parts: &[&[u8]], limits: Limits) -> Result<Outcome, ProtocolError> {
    let mut reader = ResponseReader::new(method.clone(), limits);
    let mut body = Vec::new();
    let mut used = 0;
    for part in parts {
        let n = reader.read(part, &mut body)?;
        assert!(
            n == part.len() || reader.is_done(),
            "input left before the end"
        );
        used += n;
    }
    if !reader.is_done() {
        reader.on_eof()?;
    }
    assert!(reader.is_done());
    let keep_alive = reader.can_keep_alive();
    let head = reader.take_head().expect("head");
    Ok(Outcome {
        status: head.status.as_u16(),
        headers: head
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect(),
        body,
        used,
        keep_alive,
    })
}

/// Reads `input` in one piece.
fn read_one(method: &Method, input: &[u8], limits: Limits) -> Result<Outcome, ProtocolError> {
    drive(method, &[input], limits)
}

/// Reads `input` in one piece with default limits, for a GET.
fn get(input: &[u8]) -> Result<Outcome, ProtocolError> {
    read_one(&Method::GET, input, Limits::default())
}

/// Limits with a body cap of `max_body_bytes`.
fn body_limit(max_body_bytes: u64) -> Limits {
    Limits {
        max_body_bytes,
        ..Limits::default()
    }
}

// ---- heads -----------------------------------------------------------

#[test]
fn heads() {
    type Expected = Result<Option<(u16, Version, usize, usize)>, ProtocolError>;
    let v10 = Version::HTTP_10;
    let v11 = Version::HTTP_11;
    let cases: &[(&[u8], Expected)] = &[
        (b"HTTP/1.1 200 OK\r\n\r\n", Ok(Some((200, v11, 0, 19)))),
        (
            b"HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\n",
            Ok(Some((404, v10, 1, 37))),
        ),
        (b"HTTP/1.1 200\r\n\r\n", Ok(Some((200, v11, 0, 16)))),
        (b"HTTP/1.1 200 \r\n\r\n", Ok(Some((200, v11, 0, 17)))),
        (b"HTTP/1.1  200  OK\r\n\r\n", Ok(Some((200, v11, 0, 21)))),
        (b"HTTP/1.1 200 OK\nA: b\n\n", Ok(Some((200, v11, 1, 22)))),
        (b"\r\nHTTP/1.1 200 OK\r\n\r\n", Ok(Some((200, v11, 0, 21)))),
        (
            b"HTTP/1.1 200 OK\r\nA: b\r\nA: c\r\n\r\nbody",
            Ok(Some((200, v11, 2, 31))),
        ),
        (
            b"HTTP/1.1 599 Whatever you like\r\n\r\n",
            Ok(Some((599, v11, 0, 34))),
        ),
        (
            b"HTTP/1.1 200 OK\r\nA:\r\n\r\n",
            Ok(Some((200, v11, 1, 23))),
        ),
        (b"", Ok(None)),
        (b"HTTP/1.1", Ok(None)),
        (b"HTTP/1.1 200 OK\r\n", Ok(None)),
        (b"HTTP/1.1 200 OK\r\nA: b\r\n\r", Ok(None)),
        (
            b"HTTP/2.0 200 OK\r\n\r\n",
            Err(ProtocolError::MalformedHead("invalid HTTP version")),
        ),
        (
            b"ICY 200 OK\r\n\r\n",
            Err(ProtocolError::MalformedHead("invalid HTTP version")),
        ),
        (
            b"HTTP/1.1 20 OK\r\n\r\n",
            Err(ProtocolError::MalformedHead("invalid response status")),
        ),
        (
            b"HTTP/1.1 abc OK\r\n\r\n",
            Err(ProtocolError::MalformedHead("invalid response status")),
        ),
        (
            b"HTTP/1.1 099 Low\r\n\r\n",
            Err(ProtocolError::MalformedHead("invalid response status")),
        ),
        (
            b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
            Err(ProtocolError::MalformedHead("invalid header name")),
        ),
        (
            b"HTTP/1.1 200 OK\r\nA: b\x01c\r\n\r\n",
            Err(ProtocolError::MalformedHead("invalid header value")),
        ),
        (
            b"HTTP/1.1 200 OK\r\n: x\r\n\r\n",
            Err(ProtocolError::MalformedHead("invalid header name")),
        ),
        (
            b"HTTP/1.1 200 OK\rX\r\n\r\n",
            Err(ProtocolError::MalformedHead("invalid response status")),
        ),
    ];
    for (input, expected) in cases {
        let got = parse_head(input, &Limits::default()).map(|p| match p {
            Parsed::Partial => None,
            Parsed::Complete { head, head_len } => Some((
                head.status.as_u16(),
                head.version,
                head.headers.len(),
                head_len,
            )),
        });
        assert_eq!(&got, expected, "{}", String::from_utf8_lossy(input));
    }
}

#[test]
fn header_values_kept() {
    let head =
        head_of(b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX: \xe9t\xe9\r\n\r\n");
    let cookies: Vec<_> = head.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert_eq!(head.headers["x"].as_bytes(), b"\xe9t\xe9");
}

#[test]
fn too_many_headers_at_limit() {
    let limits = Limits {
        max_headers: 3,
        ..Limits::default()
    };
    let three = b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    let four = b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    assert!(matches!(
        parse_head(three, &limits),
        Ok(Parsed::Complete { .. })
    ));
    assert_eq!(
        parse_head(four, &limits).unwrap_err(),
        ProtocolError::TooManyHeaders { limit: 3 }
    );
    let zero = Limits {
        max_headers: 0,
        ..Limits::default()
    };
    assert!(matches!(
        parse_head(b"HTTP/1.1 200 OK\r\n\r\n", &zero),
        Ok(Parsed::Complete { .. })
    ));
    assert_eq!(
        parse_head(three, &zero).unwrap_err(),
        ProtocolError::TooManyHeaders { limit: 0 }
    );
}

#[test]
fn too_many_headers_above_stack_slots() {
    let make = |n: usize| {
        let mut h = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..n {
            h.extend_from_slice(format!("h{i}: v\r\n").as_bytes());
        }
        h.extend_from_slice(b"\r\n");
        h
    };
    let limits = Limits {
        max_headers: 200,
        ..Limits::default()
    };
    match parse_head(&make(200), &limits) {
        Ok(Parsed::Complete { head, .. }) => assert_eq!(head.headers.len(), 200),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parse_head(&make(201), &limits).unwrap_err(),
        ProtocolError::TooManyHeaders { limit: 200 }
    );
    // A huge limit must not allocate the limit.
    let huge = Limits {
        max_headers: usize::MAX,
        ..Limits::default()
    };
    assert!(matches!(
        parse_head(&make(3), &huge),
        Ok(Parsed::Complete { .. })
    ));
    // Same through the reader, default limit.
    assert_eq!(get(&make(100)).unwrap().headers.len(), 100);
    assert_eq!(
        get(&make(101)).unwrap_err(),
        ProtocolError::TooManyHeaders { limit: 100 }
    );
}

#[test]
fn head_size_at_limit() {
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let len = head.len();
    let at = Limits {
        max_head_bytes: len,
        ..Limits::default()
    };
    let below = Limits {
        max_head_bytes: len - 1,
        ..Limits::default()
    };
    assert!(
        matches!(parse_head(head, &at), Ok(Parsed::Complete { head_len, .. }) if head_len == len)
    );
    let too_large = ProtocolError::HeadTooLarge { limit: len - 1 };
    assert_eq!(parse_head(head, &below).unwrap_err(), too_large);
    // Partial: the limit counts what has arrived so far.
    let partial = &head[..len - 1];
    assert!(matches!(parse_head(partial, &below), Ok(Parsed::Partial)));
    let shorter = Limits {
        max_head_bytes: len - 2,
        ..Limits::default()
    };
    assert_eq!(
        parse_head(partial, &shorter).unwrap_err(),
        ProtocolError::HeadTooLarge { limit: len - 2 }
    );

    // The reader, whole and dripped.
    let bytes: Vec<&[u8]> = head.chunks(1).collect();
    for limits in [at, below] {
        let expected = if limits == at {
            Ok(len)
        } else {
            Err(too_large.clone())
        };
        assert_eq!(
            read_one(&Method::GET, head, limits).map(|o| o.used),
            expected
        );
        assert_eq!(
            drive(&Method::GET, &bytes, limits).map(|o| o.used),
            expected
        );
    }
}

#[test]
fn head_without_end_is_cut_at_limit() {
    let limits = Limits {
        max_head_bytes: 100,
        ..Limits::default()
    };
    let mut garbage = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
    garbage.resize(100, b'a');
    let mut reader = ResponseReader::new(Method::GET, limits);
    assert_eq!(reader.read(&garbage, &mut Vec::new()), Ok(100));
    assert_eq!(
        reader.read(b"a", &mut Vec::new()),
        Err(ProtocolError::HeadTooLarge { limit: 100 })
    );
    // A megabyte in one read is rejected after looking at 101 bytes.
    let mut reader = ResponseReader::new(Method::GET, limits);
    let mut big = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
    big.resize(1 << 20, b'a');
    assert_eq!(
        reader.read(&big, &mut Vec::new()),
        Err(ProtocolError::HeadTooLarge { limit: 100 })
    );
    assert!(reader.buf.capacity() <= 101);
}

#[test]
fn dripped_head_parses_once() {
    let mut input = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..500 {
        input.extend_from_slice(format!("x-header-{i}: some value\n").as_bytes());
    }
    input.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    let limits = Limits {
        max_headers: 1000,
        ..Limits::default()
    };
    let mut reader = ResponseReader::new(Method::GET, limits);
    for b in input.chunks(1) {
        assert_eq!(reader.read(b, &mut Vec::new()), Ok(1));
    }
    assert!(reader.is_done());
    assert_eq!(reader.parse_calls, 1);
    assert_eq!(reader.head().unwrap().headers.len(), 501);
}

#[test]
fn interim_responses_skipped() {
    let input = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let out = get(input).unwrap();
    assert_eq!(
        (out.status, out.body.as_slice(), out.used),
        (200, &b"ok"[..], input.len())
    );
    assert_eq!(out.headers, [("content-length".to_owned(), b"2".to_vec())]);
}

#[test]
fn scanner_finds_head_end() {
    type Found = Result<Option<usize>, NotStatusLine>;
    let cases: &[(&[u8], Found)] = &[
        (b"HTTP/\r\n\r\n", Ok(Some(8))),
        (b"HTTP/\n\n", Ok(Some(6))),
        (b"HTTP/\n\r\n", Ok(Some(7))),
        (b"HTTP/\r\n\n", Ok(Some(7))),
        (b"\r\n\r\nHTTP/1.1 200\r\n\r\n", Ok(Some(19))),
        (b"\n\nHTTP/\n\n", Ok(Some(8))),
        (b"HTTP/\r\nB\r\n", Ok(None)),
        (b"HTTP/\n\rB\n", Ok(None)),
        (b"HTT", Ok(None)),
        (b"", Ok(None)),
        (b"A\r\n\r\n", Err(NotStatusLine)),
        (b"\r\nHTTPS/1.1", Err(NotStatusLine)),
        (b"HTTP\r\n\r\n", Err(NotStatusLine)),
        (b"http/1.1 200 OK\r\n\r\n", Err(NotStatusLine)),
        (b" HTTP/1.1 200 OK\r\n\r\n", Err(NotStatusLine)),
    ];
    for (input, expected) in cases {
        let mut whole = HeadScan::Start;
        assert_eq!(whole.find_end(input), *expected, "{input:?}");
        let mut dripped = HeadScan::Start;
        let found = input
            .iter()
            .enumerate()
            .find_map(|(i, b)| match dripped.find_end(std::slice::from_ref(b)) {
                Ok(None) => None,
                Ok(Some(_)) => Some(Ok(Some(i))),
                Err(e) => Some(Err(e)),
            })
            .unwrap_or(Ok(None));
        assert_eq!(found, *expected, "{input:?} dripped");
    }
}

/// Answers no HTTP/1.x server gives: each must fail as soon as the bytes
/// that prove it arrive, with no EOF and no wait for more.
const NOT_HTTP: &[&[u8]] = &[
    // A TLS record (a server on an https port answering in TLS).
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
    // A TLS alert (a TLS server refusing the plain-text request).
    b"\x15\x03\x01\x00\x02\x02\x0a",
    // An SSH server's banner.
    b"SSH-2.0-OpenSSH_9.2\r\n",
    // Binary garbage.
    b"\x00\xff\x13\x37\xde\xad\xbe\xef",
    // HTTP/0.9 style: a body with no head.
    b"hello, this is a body\n",
    // Empty lines, then no status line.
    b"\r\n\r\n<html>",
    // Almost: the version needs its slash and capitals.
    b"HTTP 200 OK\r\n\r\n",
    b"http/1.1 200 OK\r\n\r\n",
];

/// The `start` a [`ProtocolError::NotHttp`] keeps when `received` are the
/// bytes read up to the one that proved it.
fn excerpt(received: &[u8]) -> Vec<u8> {
    received
        .iter()
        .copied()
        .skip_while(|&b| b == b'\r' || b == b'\n')
        .take(crate::h1::NOT_HTTP_EXCERPT)
        .collect()
}

#[test]
fn error_not_http() {
    for input in NOT_HTTP {
        let mut reader = ResponseReader::new(Method::GET, Limits::default());
        let err = reader.read(input, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err,
            ProtocolError::NotHttp {
                start: excerpt(input)
            },
            "{input:?}"
        );
        assert!(!err.is_truncated() && !err.is_too_large(), "{input:?}");
        assert!(reader.has_received_bytes());
        assert_eq!(reader.on_eof(), Err(err), "{input:?}: sticky");
    }
    let tls = get(NOT_HTTP[0]).unwrap_err();
    assert_eq!(tls.to_string(), "the server answered in TLS: use https://");
    let ssh = get(NOT_HTTP[2]).unwrap_err();
    assert!(ssh.to_string().contains("`SSH-2.0-OpenSSH_9.2`"), "{ssh}");
    // After an interim response the final one must be HTTP too.
    let err = get(b"HTTP/1.1 100 Continue\r\n\r\nhello").unwrap_err();
    assert_eq!(
        err,
        ProtocolError::NotHttp {
            start: b"hello".to_vec()
        }
    );
}

#[test]
fn not_http_at_every_offset() {
    for input in NOT_HTTP {
        // The first byte that cannot continue `HTTP/` after the empty lines.
        let lead = input
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        let proof = lead
            + input[lead..]
                .iter()
                .zip(b"HTTP/")
                .take_while(|(a, b)| a == b)
                .count();
        for i in 0..=input.len() {
            let (a, b) = input.split_at(i);
            let mut reader = ResponseReader::new(Method::GET, Limits::default());
            let mut body = Vec::new();
            let first = reader.read(a, &mut body);
            if proof < i {
                // The first read holds the proof: it fails at once.
                assert_eq!(
                    first,
                    Err(ProtocolError::NotHttp { start: excerpt(a) }),
                    "{input:?} split at {i}"
                );
                continue;
            }
            assert_eq!(first, Ok(i), "{input:?} split at {i}: nothing proven yet");
            assert_eq!(
                reader.read(b, &mut body),
                Err(ProtocolError::NotHttp {
                    start: excerpt(input)
                }),
                "{input:?} split at {i}"
            );
        }
        // Dripped a byte at a time, the byte that proves it fails the read.
        let mut reader = ResponseReader::new(Method::GET, Limits::default());
        for (i, byte) in input.iter().enumerate() {
            let result = reader.read(std::slice::from_ref(byte), &mut Vec::new());
            if i < proof {
                assert_eq!(result, Ok(1), "{input:?} dripped, byte {i}");
            } else {
                assert_eq!(
                    result,
                    Err(ProtocolError::NotHttp {
                        start: excerpt(&input[..=proof])
                    }),
                    "{input:?} dripped, byte {i}"
                );
                break;
            }
        }
    }
}

// ---- framing (RFC 9112 §6.3) -----------------------------------------

#[test]
fn framing_rules() {
    use BodyDecoder::{CloseDelimited, Empty, Length};
    let chunked = BodyDecoder::Chunked(ChunkedDecoder::new());
    let get = Method::GET;
    let head = Method::HEAD;
    let cases: &[(&Method, &[u8], Result<BodyDecoder, ProtocolError>)] = &[
        // item 1
        (
            &head,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
            Ok(Empty),
        ),
        (
            &head,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            Ok(Empty),
        ),
        (&get, b"HTTP/1.1 100 Continue\r\n\r\n", Ok(Empty)),
        (
            &get,
            b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
            Ok(Empty),
        ),
        (
            &get,
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
            Ok(Empty),
        ),
        (
            &get,
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: x\r\n\r\n",
            Ok(Empty),
        ),
        // item 3
        (
            &get,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            Ok(chunked.clone()),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n",
            Ok(chunked.clone()),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity, chunked\r\n\r\n",
            Ok(chunked.clone()),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n",
            Ok(chunked.clone()),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: ,chunked,\r\n\r\n",
            Ok(chunked.clone()),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 10\r\n\r\n",
            Ok(chunked.clone()),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\nTransfer-Encoding: chunked\r\n\r\n",
            Ok(chunked.clone()),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            Err(ProtocolError::UnsupportedTransferCoding("gzip".into())),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
            Err(ProtocolError::UnsupportedTransferCoding("gzip".into())),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
            Err(ProtocolError::UnsupportedTransferCoding("chunked".into())),
        ),
        // item 4
        (
            &get,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            Ok(CloseDelimited),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            Ok(CloseDelimited),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n",
            Ok(CloseDelimited),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\nContent-Length: 3\r\n\r\n",
            Ok(CloseDelimited),
        ),
        // items 5 and 6
        (
            &get,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
            Ok(Length { remaining: 10 }),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            Ok(Length { remaining: 0 }),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n",
            Ok(Length { remaining: 7 }),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10, 10\r\n\r\n",
            Ok(Length { remaining: 10 }),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Length: 10\r\n\r\n",
            Ok(Length { remaining: 10 }),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n",
            Ok(Length {
                remaining: u64::MAX,
            }),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10, 11\r\n\r\n",
            Err(ProtocolError::ConflictingContentLength),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Length: 11\r\n\r\n",
            Err(ProtocolError::ConflictingContentLength),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
            Err(ProtocolError::InvalidContentLength),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
            Err(ProtocolError::InvalidContentLength),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            Err(ProtocolError::InvalidContentLength),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n",
            Err(ProtocolError::InvalidContentLength),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1 0\r\n\r\n",
            Err(ProtocolError::InvalidContentLength),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
            Err(ProtocolError::InvalidContentLength),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10,\r\n\r\n",
            Err(ProtocolError::InvalidContentLength),
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
            Err(ProtocolError::InvalidContentLength),
        ),
        // item 8
        (&get, b"HTTP/1.1 200 OK\r\n\r\n", Ok(CloseDelimited)),
        (
            &get,
            b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\n",
            Ok(CloseDelimited),
        ),
        (
            &Method::POST,
            b"HTTP/1.1 201 Created\r\n\r\n",
            Ok(CloseDelimited),
        ),
    ];
    for (method, input, expected) in cases {
        let head = head_of(input);
        assert_eq!(
            &body_decoder(method, &head),
            expected,
            "{method} {}",
            String::from_utf8_lossy(input)
        );
    }
}

// ---- keep-alive ------------------------------------------------------

#[test]
fn keep_alive_decisions() {
    let get = Method::GET;
    let cases: &[(&Method, &[u8], bool)] = &[
        (&get, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            true,
        ),
        (&get, b"HTTP/1.1 204 No Content\r\n\r\n", true),
        (&Method::HEAD, b"HTTP/1.1 200 OK\r\n\r\n", true),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nConnection: upgrade\r\nContent-Length: 0\r\n\r\n",
            true,
        ),
        (&get, b"HTTP/1.1 200 OK\r\n\r\n", false),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            false,
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            false,
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 0\r\n\r\n",
            false,
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nConnection: te\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            false,
        ),
        (
            &get,
            b"HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n",
            false,
        ),
        (
            &get,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            false,
        ),
        (&get, b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
        (
            &get,
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
            true,
        ),
        (
            &get,
            b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
            true,
        ),
        (
            &get,
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n",
            false,
        ),
        (
            &get,
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n",
            false,
        ),
        (&get, b"HTTP/1.0 204 No Content\r\n\r\n", false),
    ];
    for (method, input, expected) in cases {
        let head = head_of(input);
        let decoder = body_decoder(method, &head).unwrap();
        assert_eq!(
            can_keep_alive(&head, &decoder),
            *expected,
            "{method} {}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn reader_keep_alive() {
    let mut reader = ResponseReader::new(Method::GET, Limits::default());
    let mut body = Vec::new();
    reader.read(&CL[..CL.len() - 1], &mut body).unwrap();
    assert!(!reader.can_keep_alive(), "not before the end");
    reader.read(&CL[CL.len() - 1..], &mut body).unwrap();
    assert!(reader.can_keep_alive());

    let connect = read_one(&Method::CONNECT, CL, Limits::default()).unwrap();
    assert!(!connect.keep_alive);
    assert!(get(CHUNKED).unwrap().keep_alive);
    assert!(!get(b"HTTP/1.1 200 OK\r\n\r\nbody").unwrap().keep_alive);
}

// ---- one test per error variant --------------------------------------

#[test]
fn error_malformed_head() {
    assert_eq!(
        get(b"HTTP/1.1 200 OK\r\nA b\r\n\r\n").unwrap_err(),
        ProtocolError::MalformedHead("invalid header name")
    );
    assert_eq!(
        get(b"HTTP/1.1 200 OK\r\nA b\r\n\r\n").unwrap_err(),
        ProtocolError::MalformedHead("invalid header name")
    );
    assert_eq!(
        get(b"HTTP/x.1 200 OK\r\n\r\n").unwrap_err(),
        ProtocolError::MalformedHead("invalid HTTP version")
    );
}

#[test]
fn error_head_too_large() {
    let mut input = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
    input.resize(70_000, b'a');
    input.extend_from_slice(b"\r\n\r\n");
    let err = get(&input).unwrap_err();
    assert_eq!(err, ProtocolError::HeadTooLarge { limit: 64 * 1024 });
    assert!(err.is_too_large());
}

#[test]
fn error_too_many_headers() {
    let input = [
        b"HTTP/1.1 200 OK\r\n".as_slice(),
        &b"A: b\r\n".repeat(101),
        b"\r\n",
    ]
    .concat();
    assert_eq!(
        get(&input).unwrap_err(),
        ProtocolError::TooManyHeaders { limit: 100 }
    );
}

#[test]
fn error_body_too_large() {
    let too_large = ProtocolError::BodyTooLarge { limit: 5 };
    // Content-Length: rejected at the head, before any body byte.
    let at_limit = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    assert_eq!(
        read_one(&Method::GET, at_limit, body_limit(5))
            .unwrap()
            .body,
        b"hello"
    );
    let mut reader = ResponseReader::new(Method::GET, body_limit(5));
    assert_eq!(
        reader.read(
            b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n",
            &mut Vec::new()
        ),
        Err(too_large.clone())
    );
    // Chunked: counted as it arrives.
    let chunked5 =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    let chunked6 =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
    assert_eq!(
        read_one(&Method::GET, chunked5, body_limit(5))
            .unwrap()
            .body,
        b"abcde"
    );
    assert_eq!(
        read_one(&Method::GET, chunked6, body_limit(5)),
        Err(too_large.clone())
    );
    let dripped: Vec<&[u8]> = chunked6.chunks(1).collect();
    assert_eq!(
        drive(&Method::GET, &dripped, body_limit(5)),
        Err(too_large.clone())
    );
    // Close-delimited.
    let close5 = b"HTTP/1.1 200 OK\r\n\r\nabcde";
    assert_eq!(
        read_one(&Method::GET, close5, body_limit(5)).unwrap().body,
        b"abcde"
    );
    assert_eq!(
        read_one(
            &Method::GET,
            b"HTTP/1.1 200 OK\r\n\r\nabcdef",
            body_limit(5)
        ),
        Err(too_large)
    );
}

#[test]
fn error_invalid_content_length() {
    assert_eq!(
        get(b"HTTP/1.1 200 OK\r\nContent-Length: five\r\n\r\nhello").unwrap_err(),
        ProtocolError::InvalidContentLength
    );
}

#[test]
fn error_conflicting_content_length() {
    assert_eq!(
        get(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
            .unwrap_err(),
        ProtocolError::ConflictingContentLength
    );
}

#[test]
fn error_unsupported_transfer_coding() {
    assert_eq!(
        get(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: br, chunked\r\n\r\n").unwrap_err(),
        ProtocolError::UnsupportedTransferCoding("br".into())
    );
}

#[test]
fn error_invalid_chunk_size() {
    assert_eq!(
        get(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n").unwrap_err(),
        ProtocolError::InvalidChunkSize
    );
}

#[test]
fn error_chunk_size_overflow() {
    assert_eq!(
        get(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n")
            .unwrap_err(),
        ProtocolError::ChunkSizeOverflow
    );
}

#[test]
fn error_chunk_size_line_too_long() {
    let mut input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;".to_vec();
    input.resize(input.len() + 5000, b'e');
    let err = get(&input).unwrap_err();
    assert_eq!(err, ProtocolError::ChunkSizeLineTooLong { limit: 4096 });
    assert!(err.is_too_large());
}

#[test]
fn error_invalid_chunk_delimiter() {
    assert_eq!(
        get(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n").unwrap_err(),
        ProtocolError::InvalidChunkDelimiter
    );
}

#[test]
fn error_trailers_too_large() {
    let mut input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: ".to_vec();
    input.resize(input.len() + 20_000, b't');
    let err = get(&input).unwrap_err();
    assert_eq!(err, ProtocolError::TrailersTooLarge { limit: 16 * 1024 });
    assert!(err.is_too_large());
}

#[test]
fn error_invalid_trailer() {
    assert_eq!(
        get(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnot a field\r\n\r\n")
            .unwrap_err(),
        ProtocolError::InvalidTrailer
    );
}

#[test]
fn error_unexpected_upgrade() {
    assert_eq!(
        get(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n").unwrap_err(),
        ProtocolError::UnexpectedUpgrade
    );
    // Also after an interim response.
    assert_eq!(
        get(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n").unwrap_err(),
        ProtocolError::UnexpectedUpgrade
    );
}

#[test]
fn error_too_many_interim_responses() {
    let interim = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n";
    let at_limit = [
        interim.repeat(MAX_INTERIM_RESPONSES),
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
    ]
    .concat();
    assert_eq!(get(&at_limit).unwrap().body, b"ok");
    let over = interim.repeat(MAX_INTERIM_RESPONSES + 1);
    let err = get(&over).unwrap_err();
    assert_eq!(
        err,
        ProtocolError::TooManyInterimResponses {
            limit: MAX_INTERIM_RESPONSES
        }
    );
    assert_eq!(
        err.to_string(),
        "more than 32 interim (1xx) responses before the final one"
    );
    assert!(!err.is_too_large() && !err.is_truncated());
}

#[test]
fn error_incomplete_head() {
    let mut reader = ResponseReader::new(Method::GET, Limits::default());
    reader.read(b"HTTP/1.1 200", &mut Vec::new()).unwrap();
    let err = reader.on_abort().unwrap_err();
    assert_eq!(err, ProtocolError::IncompleteHead { received: 12 });

    let mut reader = ResponseReader::new(Method::GET, Limits::default());
    reader.read(b"HTTP/1.1 200", &mut Vec::new()).unwrap();
    let err = reader.on_eof().unwrap_err();
    assert_eq!(err, ProtocolError::IncompleteHead { received: 12 });
    assert!(err.is_truncated());

    // An interim response alone is not a response.
    let mut reader = ResponseReader::new(Method::GET, Limits::default());
    reader
        .read(b"HTTP/1.1 100 Continue\r\n\r\n", &mut Vec::new())
        .unwrap();
    assert_eq!(
        reader.on_eof(),
        Err(ProtocolError::IncompleteHead { received: 25 })
    );
}

#[test]
fn error_incomplete_body() {
    let mut reader = ResponseReader::new(Method::GET, Limits::default());
    reader.read(&CL[..CL.len() - 2], &mut Vec::new()).unwrap();
    let err = reader.on_eof().unwrap_err();
    assert_eq!(
        err,
        ProtocolError::IncompleteBody {
            received: 3,
            expected: Some(5)
        }
    );
    assert!(err.is_truncated());

    let mut reader = ResponseReader::new(Method::GET, Limits::default());
    reader
        .read(&CHUNKED[..CHUNKED.len() - 2], &mut Vec::new())
        .unwrap();
    assert_eq!(
        reader.on_eof(),
        Err(ProtocolError::IncompleteBody {
            received: 11,
            expected: None
        })
    );
}

#[test]
fn error_empty_reply() {
    for end in [ResponseReader::on_eof, ResponseReader::on_abort] {
        let mut reader = ResponseReader::new(Method::GET, Limits::default());
        reader.read(b"", &mut Vec::new()).unwrap();
        let err = end(&mut reader).unwrap_err();
        assert_eq!(err, ProtocolError::EmptyReply);
        assert!(!err.is_truncated() && !err.is_too_large());
        assert!(!reader.has_received_bytes());
        assert_eq!(reader.on_eof(), Err(ProtocolError::EmptyReply), "sticky");
    }
    // Empty lines are response bytes: the head was begun.
    let mut reader = ResponseReader::new(Method::GET, Limits::default());
    reader.read(b"\r\n", &mut Vec::new()).unwrap();
    assert_eq!(
        reader.on_eof(),
        Err(ProtocolError::IncompleteHead { received: 2 })
    );
}

/// A connection that breaks (a reset) ends every response that is not
/// complete, a close-delimited body included (RFC 9112 §8); a clean close
/// ends a close-delimited body.
#[test]
fn aborted_responses() {
    let until_close: &[u8] = b"HTTP/1.1 200 OK\r\n\r\nsome of it";
    let mut reader = ResponseReader::new(Method::GET, Limits::default());
    reader.read(until_close, &mut Vec::new()).unwrap();
    let err = reader.on_abort().unwrap_err();
    assert_eq!(
        err,
        ProtocolError::IncompleteBody {
            received: 10,
            expected: None
        }
    );
    assert!(err.is_truncated());
    assert_eq!(get(until_close).unwrap().body, b"some of it");

    let mut reader = ResponseReader::new(Method::GET, Limits::default());
    reader.read(&CL[..CL.len() - 2], &mut Vec::new()).unwrap();
    assert_eq!(
        reader.on_abort(),
        Err(ProtocolError::IncompleteBody {
            received: 3,
            expected: Some(5)
        })
    );

    // A complete response stays complete.
    for input in [CL, CHUNKED] {
        let mut reader = ResponseReader::new(Method::GET, Limits::default());
        reader.read(input, &mut Vec::new()).unwrap();
        assert_eq!(reader.on_abort(), Ok(()));
        assert!(reader.is_done());
    }
}

#[test]
fn errors_are_sticky() {
    let mut reader = ResponseReader::new(Method::GET, Limits::default());
    let err = reader
        .read(b"HTTP/1.1 999999\r\n\r\n", &mut Vec::new())
        .unwrap_err();
    assert_eq!(reader.read(CL, &mut Vec::new()), Err(err.clone()));
    assert_eq!(reader.on_eof(), Err(err));
    assert!(!reader.is_done());
}

// ---- byte splits -----------------------------------------------------

#[test]
fn shotgun() {
    let cases: &[(Method, &[u8], u16, &[u8])] = &[
        (Method::GET, CL, 200, b"hello"),
        (Method::GET, CHUNKED, 200, b"hello world"),
        (
            Method::GET,
            b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the end",
            200,
            b"until the end",
        ),
        (
            Method::POST,
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            200,
            b"ok",
        ),
        (
            Method::GET,
            b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
            204,
            b"",
        ),
        (
            Method::HEAD,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
            200,
            b"",
        ),
        (
            Method::GET,
            b"\r\nHTTP/1.1 200 OK\nContent-Length: 1\n\nx",
            200,
            b"x",
        ),
        (
            Method::GET,
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            200,
            b"",
        ),
    ];
    for (method, input, status, body) in cases {
        let name = String::from_utf8_lossy(input);
        let whole = read_one(method, input, Limits::default()).unwrap();
        assert_eq!(
            (whole.status, whole.body.as_slice()),
            (*status, *body),
            "{name}"
        );
        assert_eq!(whole.used, input.len(), "{name}");
        for i in 0..=input.len() {
            let (a, b) = input.split_at(i);
            let split = drive(method, &[a, b], Limits::default()).unwrap();
            assert_eq!(split, whole, "{name} split at {i}");
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(
            drive(method, &bytes, Limits::default()).unwrap(),
            whole,
            "{name} dripped"
        );
    }
}

#[test]
fn truncation_at_every_offset() {
    for input in [CL, CHUNKED] {
        let Ok(Parsed::Complete { head_len, .. }) = parse_head(input, &Limits::default()) else {
            panic!("head");
        };
        for i in 0..input.len() {
            let mut reader = ResponseReader::new(Method::GET, Limits::default());
            let mut body = Vec::new();
            assert_eq!(reader.read(&input[..i], &mut body), Ok(i));
            let err = reader.on_eof().unwrap_err();
            if i == 0 {
                assert_eq!(err, ProtocolError::EmptyReply);
                continue;
            }
            assert!(err.is_truncated(), "{err:?} at {i}");
            if i < head_len {
                assert_eq!(err, ProtocolError::IncompleteHead { received: i }, "at {i}");
            } else {
                assert!(
                    matches!(err, ProtocolError::IncompleteBody { .. }),
                    "{err:?} at {i}"
                );
            }
        }
        let mut reader = ResponseReader::new(Method::GET, Limits::default());
        reader.read(input, &mut Vec::new()).unwrap();
        assert_eq!(reader.on_eof(), Ok(()));
    }
}

#[test]
fn leftover_input_is_not_used() {
    let two = [CL, CHUNKED].concat();
    let mut reader = ResponseReader::new(Method::GET, Limits::default());
    let mut body = Vec::new();
    assert_eq!(reader.read(&two, &mut body), Ok(CL.len()));
    assert_eq!(body, b"hello");
    assert_eq!(reader.read(&two[CL.len()..], &mut body), Ok(0));
    assert_eq!(get(&two[CL.len()..]).unwrap().body, b"hello world");
}

// ---- accessors -------------------------------------------------------

#[test]
fn lengths_and_remaining() {
    let mut reader = ResponseReader::new(Method::GET, Limits::default());
    let mut body = Vec::new();
    assert_eq!(
        (reader.content_length(), reader.body_remaining()),
        (None, None)
    );
    let head_len = CL.len() - 5;
    reader.read(&CL[..head_len], &mut body).unwrap();
    assert_eq!(
        (reader.content_length(), reader.body_remaining()),
        (Some(5), Some(5))
    );
    reader.read(&CL[head_len..head_len + 2], &mut body).unwrap();
    assert_eq!(reader.body_remaining(), Some(3));
    reader.read(&CL[head_len + 2..], &mut body).unwrap();
    assert_eq!(
        (reader.content_length(), reader.body_remaining()),
        (Some(5), None)
    );

    let mut reader = ResponseReader::new(Method::GET, Limits::default());
    reader.read(&CHUNKED[..60], &mut body).unwrap();
    assert_eq!(
        (reader.content_length(), reader.body_remaining()),
        (None, None)
    );

    let mut reader = ResponseReader::new(Method::HEAD, Limits::default());
    reader
        .read(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", &mut body)
        .unwrap();
    assert!(reader.is_done());
    assert_eq!(
        (reader.content_length(), reader.body_remaining()),
        (Some(0), None)
    );
}

#[test]
fn head_and_received_bytes() {
    let mut reader = ResponseReader::new(Method::GET, Limits::default());
    assert!(!reader.has_received_bytes());
    reader.read(b"", &mut Vec::new()).unwrap();
    assert!(!reader.has_received_bytes());
    reader.read(b"H", &mut Vec::new()).unwrap();
    assert!(reader.has_received_bytes());
    assert!(reader.head().is_none());
    reader.read(&CL[1..], &mut Vec::new()).unwrap();
    assert_eq!(reader.head().map(|h| h.status), Some(StatusCode::OK));
    let head = reader.take_head().unwrap();
    assert_eq!(head.headers["server"], "t");
    assert!(reader.head().is_none());
    assert!(reader.can_keep_alive(), "decided before the head was taken");
}
