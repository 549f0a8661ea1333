//! The session against scripted server bytes: each test writes what a
//! server sends with the frame encoders and an HPACK encoder, feeds it, and
//! checks the events and what the session queued in answer.

use http::HeaderValue;

use super::*;
use crate::h2::frame::{
    FLAG_END_HEADERS, FLAG_END_STREAM, encode_continuation, encode_data, encode_goaway,
    encode_head, encode_headers, encode_padded, encode_ping, encode_push_promise,
    encode_rst_stream, encode_settings, encode_settings_ack, encode_window_update,
};

fn id(n: u32) -> StreamId {
    StreamId::new(n)
}

/// What a server sends, built frame by frame.
#[derive(Default)]
struct Server {
    encoder: Encoder,
    out: Vec<u8>,
}

impl Server {
    fn new() -> Self {
        Self::default()
    }
    fn settings(mut self, params: &[(SettingId, u32)]) -> Self {
        encode_settings(&mut self.out, params);
        self
    }
    fn ack(mut self) -> Self {
        encode_settings_ack(&mut self.out);
        self
    }
    fn block(&mut self, fields: &[(&str, &str)]) -> Vec<u8> {
        let mut block = Vec::new();
        self.encoder.encode(
            fields.iter().map(|(n, v)| Field {
                name: n.as_bytes(),
                value: v.as_bytes(),
                sensitive: false,
                static_name: 0,
            }),
            &mut block,
        );
        block
    }
    fn headers(mut self, stream: u32, fields: &[(&str, &str)], end_stream: bool) -> Self {
        let block = self.block(fields);
        encode_headers(&mut self.out, id(stream), &block, end_stream, 16_384);
        self
    }
    /// A header block split into HEADERS plus CONTINUATIONs of `size`.
    fn headers_split(mut self, stream: u32, fields: &[(&str, &str)], size: u32) -> Self {
        let block = self.block(fields);
        encode_headers(&mut self.out, id(stream), &block, true, size);
        self
    }
    fn data(mut self, stream: u32, data: &[u8], end_stream: bool) -> Self {
        encode_data(&mut self.out, id(stream), data, end_stream);
        self
    }
    fn padded_data(mut self, stream: u32, data: &[u8], pad: u8, end_stream: bool) -> Self {
        let flags = if end_stream { FLAG_END_STREAM } else { 0 };
        encode_padded(&mut self.out, FrameType::Data, flags, id(stream), data, pad);
        self
    }
    fn rst(mut self, stream: u32, code: ErrorCode) -> Self {
        encode_rst_stream(&mut self.out, id(stream), code);
        self
    }
    fn ping(mut self, payload: [u8; 8]) -> Self {
        encode_ping(&mut self.out, false, payload);
        self
    }
    fn goaway(mut self, last: u32, code: ErrorCode) -> Self {
        encode_goaway(&mut self.out, id(last), code, b"bye");
        self
    }
    fn window(mut self, stream: u32, increment: u32) -> Self {
        encode_window_update(&mut self.out, id(stream), increment);
        self
    }
    fn raw(mut self, bytes: &[u8]) -> Self {
        self.out.extend_from_slice(bytes);
        self
    }
}

/// The usual server preface: SETTINGS and the ACK of ours.
fn hello() -> Server {
    Server::new()
        .settings(&[(SettingId::MaxConcurrentStreams, 100)])
        .ack()
}

fn get(path: &str) -> (Method, String, HeaderMap) {
    (Method::GET, path.to_owned(), HeaderMap::new())
}

/// A client session with its preface already taken.
struct Client {
    session: Session,
    sent: Vec<u8>,
}

impl Client {
    fn new() -> Self {
        Self::with(Settings::default())
    }
    fn with(settings: Settings) -> Self {
        let mut session = Session::new(settings);
        let mut sent = Vec::new();
        session.data_to_send(&mut sent);
        Client { session, sent }
    }
    fn request(&mut self, path: &str, end_stream: bool) -> StreamId {
        let (method, path, headers) = get(path);
        self.request_with(&method, &path, &headers, end_stream)
            .unwrap()
    }
    fn request_with(
        &mut self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        end_stream: bool,
    ) -> Result<StreamId, SendError> {
        self.session.send_request(
            &RequestHead {
                method,
                scheme: "https",
                authority: "example.com",
                path,
                headers,
            },
            end_stream,
        )
    }
    /// Feeds bytes; returns the events as text and the outcome.
    fn feed(&mut self, bytes: &[u8]) -> (Vec<String>, Result<(), H2Error>) {
        let mut events = Vec::new();
        let result = self.session.recv(bytes, |e| {
            events.push(match &e {
                Event::StreamError { stream, error } => format!("StreamError({stream}): {error}"),
                other => format!("{other:?}"),
            });
        });
        (events, result)
    }
    fn ok(&mut self, bytes: &[u8]) -> Vec<String> {
        let (events, result) = self.feed(bytes);
        result.unwrap();
        events
    }
    /// What the session queued since the last call, as frames.
    fn output(&mut self) -> Vec<String> {
        self.sent.clear();
        self.session.data_to_send(&mut self.sent);
        frames(&self.sent)
    }
}

fn frames(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match frame::decode(&bytes[at..], MAX_MAX_FRAME_SIZE) {
            Ok(frame::Decoded::Complete(f, used)) => {
                out.push(match f {
                    Frame::Headers { stream, .. } => format!("HEADERS {stream}"),
                    Frame::Data {
                        stream,
                        data,
                        end_stream,
                        ..
                    } => format!("DATA {stream} {} {end_stream}", data.len()),
                    other => format!("{other:?}"),
                });
                at += used;
            }
            other => panic!("{other:?}"),
        }
    }
    out
}

fn has(events: &[String], needle: &str) -> bool {
    events.iter().any(|e| e.contains(needle))
}

#[test]
fn preface_settings_and_connection_window() {
    let mut session = Session::new(Settings::default());
    assert!(session.wants_write());
    let mut out = Vec::new();
    session.data_to_send(&mut out);
    assert!(!session.wants_write());
    assert_eq!(&out[..24], frame::PREFACE);
    let got = frames(&out[24..]);
    assert_eq!(got.len(), 2);
    let Ok(frame::Decoded::Complete(Frame::Settings { ack, params }, _)) =
        frame::decode(&out[24..], 16_384)
    else {
        panic!()
    };
    assert!(!ack);
    let params: Vec<_> = params.iter().collect();
    assert_eq!(
        params,
        [
            (SettingId::EnablePush, 0),
            (SettingId::MaxConcurrentStreams, 0),
            (SettingId::InitialWindowSize, DEFAULT_STREAM_WINDOW),
            (SettingId::MaxHeaderListSize, DEFAULT_MAX_HEADER_LIST_SIZE),
        ]
    );
    assert_eq!(
        got[1],
        format!(
            "WindowUpdate {{ stream: StreamId(0), increment: {} }}",
            DEFAULT_CONNECTION_WINDOW - 65_535
        )
    );
    // Values outside the RFC's ranges are clamped.
    let s = Session::new(Settings {
        stream_window: u32::MAX,
        connection_window: 0,
        max_frame_size: 1,
        ..Settings::default()
    });
    assert_eq!(s.settings().stream_window, MAX_WINDOW as u32);
    assert_eq!(s.settings().connection_window, 65_535);
    assert_eq!(s.settings().max_frame_size, 16_384);
}

/// A whole conversation: two streams, an informational head, padding,
/// trailers, a PING, a reset; then the same bytes split at every offset
/// and byte by byte give the same events.
#[test]
fn scripted_conversation_split_anywhere() {
    let server = hello()
        .headers(1, &[(":status", "103"), ("link", "</a.css>")], false)
        .headers(1, &[(":status", "200"), ("content-length", "11")], false)
        .data(1, b"hello ", false)
        .padded_data(1, b"world", 10, false)
        .headers(3, &[(":status", "404")], false)
        .ping(*b"pingpong")
        .headers(1, &[("x-checksum", "abc")], true)
        .data(3, b"", true)
        .headers_split(5, &[(":status", "200"), ("x-long", &"v".repeat(100))], 30)
        .rst(7, ErrorCode::INTERNAL_ERROR)
        .raw(&{
            // An unknown frame type and a PRIORITY: ignored.
            let mut b = Vec::new();
            encode_head(&mut b, 2, FrameType::Unknown(0xbb), 0, id(1));
            b.extend_from_slice(b"??");
            frame::encode_priority(&mut b, id(9), id(0), 16);
            b
        });
    let input = server.out;
    let run = |pieces: &mut dyn Iterator<Item = &[u8]>| {
        let mut client = Client::new();
        for path in ["/a", "/b", "/c", "/d"] {
            client.request(path, true);
        }
        let mut events = Vec::new();
        for piece in pieces {
            events.extend(client.ok(piece));
        }
        // Release what was delivered so the windows come back.
        client.session.release(id(1), 11);
        (events, client.output(), client.session.open_streams())
    };
    let (events, output, open) = run(&mut std::iter::once(&input[..]));
    let want = [
        "Settings(PeerSettings { max_concurrent_streams: 100",
        "Informational { stream: StreamId(1), status: 103",
        "Response { stream: StreamId(1), status: 200",
        "Data { stream: StreamId(1), data: [104, 101, 108, 108, 111, 32], end_stream: false }",
        "Data { stream: StreamId(1), data: [119, 111, 114, 108, 100], end_stream: false }",
        "Response { stream: StreamId(3), status: 404",
        "Trailers { stream: StreamId(1), headers: {\"x-checksum\": \"abc\"} }",
        "Data { stream: StreamId(3), data: [], end_stream: true }",
        "Response { stream: StreamId(5), status: 200",
        "Reset { stream: StreamId(7), code: INTERNAL_ERROR }",
    ];
    assert_eq!(events.len(), want.len(), "{events:#?}");
    for (event, want) in events.iter().zip(want) {
        assert!(event.starts_with(want), "{event} should start with {want}");
    }
    assert!(
        output
            .contains(&"Settings { ack: true, params: SettingsParams { payload: [] } }".to_owned())
    );
    assert!(output.contains(
        &"Ping { ack: true, payload: [112, 105, 110, 103, 112, 111, 110, 103] }".to_owned()
    ));
    assert_eq!(open, 0);
    for cut in 0..=input.len() {
        let (left, right) = input.split_at(cut);
        let split = run(&mut [left, right].into_iter());
        assert_eq!(split.0, events, "split at {cut}");
        assert_eq!(split.1, output, "split at {cut}");
    }
    let bytewise = run(&mut input.chunks(1));
    assert_eq!(bytewise.0, events);
}

#[test]
fn request_head_on_the_wire() {
    let mut client = Client::new();
    let mut headers = HeaderMap::new();
    headers.insert("user-agent", HeaderValue::from_static("multifetch"));
    headers.insert("connection", HeaderValue::from_static("keep-alive"));
    let mut secret = HeaderValue::from_static("Bearer x");
    secret.set_sensitive(true);
    headers.insert("x-api-key", secret);
    let stream = client
        .request_with(&Method::POST, "/upload?x=1", &headers, false)
        .unwrap();
    assert_eq!(stream, id(1));
    client.sent.clear();
    client.session.data_to_send(&mut client.sent);
    let Ok(frame::Decoded::Complete(
        Frame::Headers {
            fragment,
            end_stream,
            end_headers,
            ..
        },
        _,
    )) = frame::decode(&client.sent, 16_384)
    else {
        panic!()
    };
    assert!(!end_stream && end_headers);
    let mut decoder = Decoder::new();
    let mut fields = Vec::new();
    decoder
        .decode(fragment, |f| {
            fields.push(format!(
                "{}: {}{}",
                String::from_utf8_lossy(f.name),
                String::from_utf8_lossy(f.value),
                if f.sensitive { " (never indexed)" } else { "" }
            ));
        })
        .unwrap();
    assert_eq!(
        fields,
        [
            ":method: POST",
            ":scheme: https",
            ":authority: example.com",
            ":path: /upload?x=1",
            "user-agent: multifetch",
            "x-api-key: Bearer x (never indexed)",
        ]
    );
    // The body, then the end.
    assert_eq!(client.session.send_data(stream, b"abc", false), Ok(3));
    assert_eq!(client.session.send_data(stream, b"", true), Ok(0));
    assert_eq!(client.output(), ["DATA 1 3 false", "DATA 1 0 true"]);
    assert_eq!(
        client.session.send_data(stream, b"x", false),
        Err(SendError::StreamNotWritable(stream))
    );
}

#[test]
fn send_windows_and_capacity_events() {
    let mut client = Client::new();
    client.ok(&hello()
        .settings(&[
            (SettingId::InitialWindowSize, 10),
            (SettingId::MaxFrameSize, 16_384),
        ])
        .out);
    let s = client.request("/", false);
    assert_eq!(client.session.send_capacity(s), 10);
    assert_eq!(client.session.send_data(s, &[7; 25], true), Ok(10));
    assert_eq!(client.session.send_capacity(s), 0);
    client.output();
    // A stream WINDOW_UPDATE opens it again.
    let events = client.ok(&Server::new().window(1, 5).out);
    assert_eq!(events, ["SendCapacity { stream: StreamId(1) }"]);
    assert_eq!(client.session.send_data(s, &[7; 15], true), Ok(5));
    // SETTINGS_INITIAL_WINDOW_SIZE lowered: the window goes negative (§6.9.2).
    let events = client.ok(&Server::new()
        .settings(&[(SettingId::InitialWindowSize, 0)])
        .out);
    assert_eq!(events.len(), 1);
    assert_eq!(client.session.send_capacity(s), 0);
    let events = client.ok(&Server::new().window(1, 5).out);
    assert!(events.is_empty(), "window still at -5: {events:?}");
    // Raised again: the delta brings it above zero and capacity is news.
    let events = client.ok(&Server::new()
        .settings(&[(SettingId::InitialWindowSize, 20)])
        .out);
    assert_eq!(events[1], "SendCapacity { stream: StreamId(1) }");
    // -5 + (20 - 0) = 15.
    assert_eq!(client.session.send_capacity(s), 15);
    // The connection window (65,535 at start) bounds every stream.
    let s2 = client.request("/2", false);
    let events = client.ok(&Server::new().window(s2.get(), 1 << 20).out);
    assert!(events.is_empty());
    assert_eq!(client.session.send_capacity(s2), 65_535 - 15);
    let big = vec![0; 70_000];
    assert_eq!(client.session.send_data(s2, &big, false), Ok(65_520));
    let data: Vec<String> = client
        .output()
        .into_iter()
        .filter(|f| f.starts_with("DATA 3"))
        .collect();
    assert_eq!(
        data,
        [
            "DATA 3 16384 false",
            "DATA 3 16384 false",
            "DATA 3 16384 false",
            "DATA 3 16368 false"
        ]
    );
    let events = client.ok(&Server::new().window(0, 100).out);
    // Only stream 3 was held back since its last capacity news.
    assert_eq!(events, ["SendCapacity { stream: StreamId(3) }"]);
    // Overflow past 2^31-1: on a stream a stream error, on the connection
    // a connection error.
    let events = client.ok(&Server::new().window(1, i32::MAX as u32).out);
    assert!(has(&events, "FLOW_CONTROL_ERROR on stream 1"), "{events:?}");
    let (_, result) = client.feed(&Server::new().window(0, i32::MAX as u32).out);
    assert_eq!(result.unwrap_err().code(), ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn receive_windows_and_release() {
    let mut client = Client::with(Settings {
        stream_window: 1000,
        connection_window: 70_000,
        ..Settings::default()
    });
    client.ok(&hello().out);
    let s = client.request("/", true);
    client.output();
    let events = client.ok(&hello_less_head(1).data(1, &[1; 600], false).out);
    assert_eq!(events.len(), 2);
    // Nothing released yet: no WINDOW_UPDATE.
    assert!(client.output().is_empty());
    client.session.release(s, 400);
    assert!(client.output().is_empty(), "400 < half of 1000");
    client.session.release(s, 200);
    assert_eq!(
        client.output(),
        ["WindowUpdate { stream: StreamId(1), increment: 600 }"]
    );
    // Beyond the stream window: a stream error, the bytes credited back to
    // the connection.
    let events = client.ok(&Server::new().data(1, &[1; 1001], false).out);
    assert!(
        has(
            &events,
            "1001 bytes of DATA with only 1000 bytes of window left (FLOW_CONTROL_ERROR on stream 1)"
        ),
        "{events:?}"
    );
    assert_eq!(
        client.output(),
        ["RstStream { stream: StreamId(1), code: FLOW_CONTROL_ERROR }"]
    );
    // Beyond the connection window: a connection error.
    let mut client = Client::with(Settings {
        stream_window: 200_000,
        connection_window: 70_000,
        ..Settings::default()
    });
    client.ok(&hello().out);
    let s = client.request("/2", true);
    let mut server = Server::new().headers(s.get(), &[(":status", "200")], false);
    for _ in 0..5 {
        server = server.data(s.get(), &[0; 16_000], false);
    }
    let (_, result) = client.feed(&server.out);
    assert_eq!(result.unwrap_err().code(), ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn window_updates_never_grant_more_than_the_body_limit() {
    // The body may hold 1,500 bytes: the stream starts with 1,000 of
    // window and may be granted at most 501 more (1,500 plus the byte that
    // tells a body too large from one that fits).
    let mut client = Client::with(Settings {
        stream_window: 1000,
        connection_window: 65_535,
        max_body_size: 1500,
        ..Settings::default()
    });
    client.ok(&hello().out);
    let s = client.request("/", true);
    client.output();
    client.ok(&hello_less_head(1).data(1, &[1; 1000], false).out);
    client.session.release(s, 1000);
    assert_eq!(
        client.output(),
        ["WindowUpdate { stream: StreamId(1), increment: 501 }"]
    );
    client.ok(&Server::new().data(1, &[1; 400], false).out);
    client.session.release(s, 400);
    assert!(client.output().is_empty(), "the budget is spent");
    // The byte past the limit still fits the window and ends the stream.
    let events = client.ok(&Server::new().data(1, &[1; 101], false).out);
    assert!(has(&events, "StreamError(1)"), "{events:?}");
    assert_eq!(
        client.output(),
        ["RstStream { stream: StreamId(1), code: CANCEL }"]
    );

    // With a limit below the window, the initial window itself shrinks.
    let client = Client::with(Settings {
        max_body_size: 100,
        ..Settings::default()
    });
    let Ok(frame::Decoded::Complete(Frame::Settings { params, .. }, _)) =
        frame::decode(&client.sent[24..], 16_384)
    else {
        panic!("no SETTINGS after the preface")
    };
    assert!(
        params
            .iter()
            .any(|p| p == (SettingId::InitialWindowSize, 101)),
        "{:?}",
        params.iter().collect::<Vec<_>>()
    );
}

#[test]
fn a_stream_whose_limit_is_lifted_takes_more_than_the_session_limit() {
    // The session's limit is 1,500 bytes; stream 1 lifts it (its body goes
    // to a sink), stream 3 keeps it.
    let mut client = Client::with(Settings {
        stream_window: 1000,
        connection_window: 65_535,
        max_body_size: 1500,
        ..Settings::default()
    });
    client.ok(&hello().out);
    let lifted = client.request("/big", true);
    let kept = client.request("/small", true);
    client.session.set_max_body_size(lifted, u64::MAX);
    client.output();
    let first = hello_less_head(1)
        .headers(3, &[(":status", "200")], false)
        .data(1, &[1; 1000], false)
        .data(3, &[1; 1000], false);
    client.ok(&first.out);
    client.session.release(lifted, 1000);
    client.session.release(kept, 1000);
    assert_eq!(
        client.output(),
        [
            "WindowUpdate { stream: StreamId(1), increment: 1000 }",
            "WindowUpdate { stream: StreamId(3), increment: 501 }"
        ]
    );
    // Past 1,500 bytes: stream 3 fails, stream 1 goes on.
    let second = Server::new()
        .data(1, &[1; 1000], false)
        .data(3, &[1; 501], false);
    let events = client.ok(&second.out);
    assert!(has(&events, "StreamError(3)"), "{events:?}");
    assert!(!has(&events, "StreamError(1)"), "{events:?}");
    client.session.release(lifted, 1000);
    let out = client.output();
    assert!(
        out.contains(&"RstStream { stream: StreamId(3), code: CANCEL }".to_string()),
        "{out:?}"
    );
    assert!(
        out.contains(&"WindowUpdate { stream: StreamId(1), increment: 1000 }".to_string()),
        "{out:?}"
    );
    assert!(
        !out.iter()
            .any(|f| f.starts_with("RstStream { stream: StreamId(1)")),
        "{out:?}"
    );
}

/// A response head for stream `s` after the usual preface... without the
/// preface (the client already has it).
fn hello_less_head(s: u32) -> Server {
    Server::new().headers(s, &[(":status", "200")], false)
}

#[test]
fn reset_streams_keep_hpack_and_windows_in_step() {
    let mut client = Client::with(Settings {
        stream_window: 1000,
        connection_window: 65_535,
        ..Settings::default()
    });
    client.ok(&hello().out);
    let a = client.request("/a", true);
    let b = client.request("/b", true);
    client.session.reset(a, ErrorCode::CANCEL);
    assert_eq!(client.session.open_streams(), 1);
    let out = client.output();
    assert_eq!(
        out.last().unwrap(),
        "RstStream { stream: StreamId(1), code: CANCEL }"
    );
    // Frames in flight for the reset stream: ignored, its header block
    // still decoded (the server indexed `x-shared`), its DATA given back to
    // the connection window.
    let mut server = Server::new().headers(1, &[(":status", "200"), ("x-shared", "1")], false);
    for _ in 0..40 {
        server = server.data(1, &[0; 1000], false);
    }
    let server = server.headers(3, &[(":status", "200"), ("x-shared", "1")], true);
    let events = client.ok(&server.out);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].contains("\"x-shared\": \"1\""));
    assert!(has(&client.output(), "WindowUpdate { stream: StreamId(0)"));
    assert_eq!(client.session.open_streams(), 0);
    let _ = b;
}

#[test]
fn stream_ids_run_out() {
    let mut client = Client::new();
    client.session.set_next_stream_id(MAX_STREAM_ID - 2);
    assert_eq!(client.session.streams_left(), 2);
    assert_eq!(client.request("/", true), id(MAX_STREAM_ID - 2));
    assert_eq!(client.request("/", true), id(MAX_STREAM_ID));
    assert_eq!(client.session.streams_left(), 0);
    assert!(!client.session.can_open_stream());
    let (m, p, h) = get("/");
    assert_eq!(
        client.request_with(&m, &p, &h, true),
        Err(SendError::StreamIdsExhausted)
    );
}

#[test]
fn concurrency_limit() {
    let mut client = Client::new();
    assert_eq!(client.session.max_concurrent_streams(), 100);
    for _ in 0..100 {
        client.request("/", true);
    }
    let (m, p, h) = get("/");
    assert_eq!(
        client.request_with(&m, &p, &h, true),
        Err(SendError::ConcurrencyLimit { limit: 100 })
    );
    let events = client.ok(&Server::new()
        .settings(&[(SettingId::MaxConcurrentStreams, 1)])
        .out);
    assert!(events[0].contains("max_concurrent_streams: 1,"));
    assert_eq!(client.session.open_streams(), 100);
    // Servers that name no limit allow any number.
    let mut client = Client::new();
    client.ok(&Server::new().settings(&[]).out);
    assert_eq!(client.session.max_concurrent_streams(), u32::MAX);
    // One at a time: the next opens once the first closes.
    let mut client = Client::new();
    client.ok(&Server::new()
        .settings(&[(SettingId::MaxConcurrentStreams, 1)])
        .out);
    let s = client.request("/", true);
    assert!(!client.session.can_open_stream());
    client.ok(&Server::new()
        .headers(s.get(), &[(":status", "204")], true)
        .out);
    assert!(client.session.can_open_stream());
}

#[test]
fn goaway_refuses_streams_above_last() {
    let mut client = Client::new();
    client.ok(&hello().out);
    for _ in 0..3 {
        client.request("/", true);
    }
    let events = client.ok(&Server::new().goaway(1, ErrorCode::NO_ERROR).out);
    assert_eq!(
        events,
        [
            "GoAway { last_stream_id: StreamId(1), code: NO_ERROR, debug_data: [98, 121, 101] }",
            "Refused { stream: StreamId(3) }",
            "Refused { stream: StreamId(5) }",
        ]
    );
    assert_eq!(client.session.open_streams(), 1);
    assert_eq!(
        client.session.goaway_received(),
        Some((id(1), ErrorCode::NO_ERROR))
    );
    let (m, p, h) = get("/");
    assert_eq!(
        client.request_with(&m, &p, &h, true),
        Err(SendError::GoingAway)
    );
    // Stream 1 still completes.
    let events = client.ok(&Server::new().headers(1, &[(":status", "200")], true).out);
    assert_eq!(events.len(), 1);
    // RST_STREAM with REFUSED_STREAM is a refusal too.
    let mut client = Client::new();
    client.ok(&hello().out);
    let s = client.request("/", true);
    let events = client.ok(&Server::new().rst(s.get(), ErrorCode::REFUSED_STREAM).out);
    assert_eq!(events, ["Refused { stream: StreamId(1) }"]);
    // Our own GOAWAY.
    client.session.goaway(ErrorCode::NO_ERROR);
    assert!(has(
        &client.output(),
        "GoAway { last_stream_id: StreamId(0), code: NO_ERROR"
    ));
    assert_eq!(
        client.request_with(&m, &p, &h, true),
        Err(SendError::GoingAway)
    );
}

#[test]
fn ping_and_ping_ack() {
    let mut client = Client::new();
    client.ok(&hello().out);
    client.session.ping(*b"12345678");
    assert_eq!(
        client.output(),
        [
            "Settings { ack: true, params: SettingsParams { payload: [] } }",
            "Ping { ack: false, payload: [49, 50, 51, 52, 53, 54, 55, 56] }"
        ]
    );
    let mut pong = Vec::new();
    encode_ping(&mut pong, true, *b"12345678");
    assert_eq!(
        client.ok(&pong),
        ["PingAck { payload: [49, 50, 51, 52, 53, 54, 55, 56] }"]
    );
    assert!(client.session.settings_acknowledged());
}

/// Each malformed response is a stream error: RST_STREAM with the code,
/// the other streams unharmed.
#[test]
fn malformed_responses_are_stream_errors() {
    let cases: Vec<(Server, &str)> = vec![
        (
            Server::new().headers(1, &[(":status", "200"), ("Bad", "x")], true),
            "uppercase letters (PROTOCOL_ERROR on stream 1)",
        ),
        (
            Server::new().headers(1, &[(":status", "200"), ("connection", "close")], true),
            "connection-specific header `connection`",
        ),
        (
            Server::new().headers(1, &[("x", "1"), (":status", "200")], true),
            "after a regular header",
        ),
        (
            Server::new().headers(1, &[("x", "1")], true),
            "without :status",
        ),
        (
            Server::new().headers(1, &[(":status", "101")], true),
            ":status `101`",
        ),
        (
            Server::new().headers(1, &[(":status", "100")], true),
            "informational (1xx) head",
        ),
        (
            Server::new().data(1, b"x", true),
            "DATA before the response head",
        ),
        (
            Server::new()
                .headers(1, &[(":status", "200")], false)
                .headers(1, &[("x", "1")], false),
            "trailers that do not end the stream",
        ),
        (
            Server::new()
                .headers(1, &[(":status", "200"), ("content-length", "3")], false)
                .data(1, b"ab", true),
            "2 bytes of body with content-length 3",
        ),
        (
            Server::new()
                .headers(1, &[(":status", "200"), ("content-length", "3")], false)
                .data(1, b"abcd", false),
            "4 bytes of body with content-length 3",
        ),
        (
            Server::new().headers(1, &[(":status", "200"), ("content-length", "3")], true),
            "0 bytes of body with content-length 3",
        ),
        (
            Server::new().headers(1, &[(":status", "200"), ("content-length", "x")], true),
            "invalid content-length",
        ),
        (
            Server::new()
                .headers(1, &[(":status", "200")], true)
                .data(1, b"late", true),
            "DATA frame after ending the stream",
        ),
    ];
    for (server, message) in cases {
        let mut client = Client::new();
        client.ok(&hello().out);
        client.request("/1", false);
        let s3 = client.request("/3", true);
        client.output();
        let events = client.ok(&server.headers(s3.get(), &[(":status", "200")], true).out);
        assert!(
            events
                .iter()
                .any(|e| e.starts_with("StreamError(1): ") && e.contains(message)),
            "{message}: {events:?}"
        );
        assert!(
            has(&events, "Response { stream: StreamId(3)"),
            "{message}: {events:?}"
        );
        let rst = client.output();
        assert!(
            rst.iter()
                .any(|f| f.starts_with("RstStream { stream: StreamId(1)")),
            "{message}: {rst:?}"
        );
        assert_eq!(client.session.open_streams(), 0, "{message}");
    }
}

/// A response head too large for our limit fails its stream (CANCEL); the
/// header block is still decoded, so the next stream's HPACK references
/// work.
#[test]
fn oversize_header_list_fails_only_its_stream() {
    let mut client = Client::with(Settings {
        max_header_list_size: 1000,
        ..Settings::default()
    });
    client.ok(&hello().out);
    client.request("/1", true);
    client.request("/3", true);
    let big = "x".repeat(600);
    let events = client.ok(&Server::new()
        .headers(1, &[(":status", "200"), ("x-a", &big), ("x-b", &big)], true)
        .headers(3, &[(":status", "200"), ("x-a", &big)], true)
        .out);
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[0].starts_with("StreamError(1): server sent a header list of at least"));
    assert!(events[0].ends_with("above the 1000-byte limit (CANCEL on stream 1)"));
    assert!(events[1].contains(&big));
}

fn conn_error(client: &mut Client, bytes: &[u8]) -> H2Error {
    let (_, result) = client.feed(bytes);
    let error = result.unwrap_err();
    // GOAWAY with the code is queued, and the session stays closed.
    let goaway = format!(
        "GoAway {{ last_stream_id: StreamId(0), code: {}",
        error.code()
    );
    assert!(has(&client.output(), &goaway), "{error}");
    assert!(client.session.is_closed());
    assert_eq!(client.feed(&hello().out).1, Err(error.clone()));
    let (m, p, h) = get("/");
    assert_eq!(
        client.request_with(&m, &p, &h, true),
        Err(SendError::Closed)
    );
    error
}

#[test]
fn connection_errors() {
    let cases: Vec<(Vec<u8>, ErrorCode, &str)> = vec![
        (
            Server::new().ping(*b"12345678").out,
            ErrorCode::PROTOCOL_ERROR,
            "server's first frame was PING, not SETTINGS",
        ),
        (
            hello()
                .raw(&{
                    let mut b = Vec::new();
                    encode_push_promise(&mut b, id(1), id(2), b"\x82");
                    b
                })
                .out,
            ErrorCode::PROTOCOL_ERROR,
            "PUSH_PROMISE although we disabled push",
        ),
        (
            hello().settings(&[(SettingId::EnablePush, 1)]).out,
            ErrorCode::PROTOCOL_ERROR,
            "SETTINGS_ENABLE_PUSH = 1",
        ),
        (
            hello().data(9, b"x", false).out,
            ErrorCode::PROTOCOL_ERROR,
            "DATA frame on stream 9, which we never opened",
        ),
        (
            hello().headers(2, &[(":status", "200")], true).out,
            ErrorCode::PROTOCOL_ERROR,
            "HEADERS frame on stream 2, which we never opened",
        ),
        (
            hello().rst(11, ErrorCode::CANCEL).out,
            ErrorCode::PROTOCOL_ERROR,
            "RST_STREAM frame on stream 11",
        ),
        (
            hello().window(13, 1).out,
            ErrorCode::PROTOCOL_ERROR,
            "WINDOW_UPDATE frame on stream 13",
        ),
        (
            hello()
                .raw(&{
                    let mut b = Vec::new();
                    encode_head(&mut b, 1, FrameType::Headers, 0, id(1));
                    b.push(0x88);
                    b
                })
                .ping(*b"12345678")
                .out,
            ErrorCode::PROTOCOL_ERROR,
            "PING frame on stream 0 in the middle of a header block",
        ),
        (
            hello()
                .raw(&{
                    let mut b = Vec::new();
                    encode_continuation(&mut b, id(1), b"\x88", true);
                    b
                })
                .out,
            ErrorCode::PROTOCOL_ERROR,
            "CONTINUATION frame that continues nothing",
        ),
        (
            hello()
                .raw(&{
                    let mut b = Vec::new();
                    encode_headers(&mut b, id(1), &[0xbf], true, 16_384);
                    b
                })
                .out,
            ErrorCode::COMPRESSION_ERROR,
            "index 63",
        ),
        (
            hello()
                .raw(&{
                    let mut b = Vec::new();
                    encode_head(&mut b, 16_385, FrameType::Data, 0, id(1));
                    b
                })
                .out,
            ErrorCode::FRAME_SIZE_ERROR,
            "DATA frame of 16385 bytes",
        ),
    ];
    for (bytes, code, message) in cases {
        let mut client = Client::new();
        client.request("/", true);
        client.output();
        let error = conn_error(&mut client, &bytes);
        assert_eq!(error.code(), code, "{error}");
        assert!(error.to_string().contains(message), "{error} / {message}");
        assert!(error.to_string().ends_with("on the connection)"), "{error}");
        // Split anywhere: the same error.
        for cut in 0..bytes.len() {
            let mut client = Client::new();
            client.request("/", true);
            let (_, first) = client.feed(&bytes[..cut]);
            let second = first.and_then(|()| client.feed(&bytes[cut..]).1);
            assert_eq!(second, Err(error.clone()), "cut at {cut}");
        }
    }
}

#[test]
fn an_http1_answer_where_settings_were_due_is_named_split_anywhere() {
    let answer = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nbad request";
    let mut client = Client::new();
    client.request("/", true);
    let error = conn_error(&mut client, answer);
    assert_eq!(error.code(), ErrorCode::PROTOCOL_ERROR);
    let text = error.to_string();
    assert!(text.contains("did not answer in HTTP/2"), "{text}");
    assert!(text.contains("`HTTP/1.1…`"), "{text}");
    // Split anywhere: the same error.
    for cut in 0..answer.len() {
        let mut client = Client::new();
        client.request("/", true);
        let (_, first) = client.feed(&answer[..cut]);
        let second = first.and_then(|()| client.feed(&answer[cut..]).1);
        assert_eq!(second, Err(error.clone()), "cut at {cut}");
    }
    // Binary bytes that are no SETTINGS frame: the frame is named.
    let error = conn_error(&mut Client::new(), &Server::new().ping(*b"12345678").out);
    assert!(
        matches!(error.violation(), Violation::PrefaceNotSettings { .. }),
        "{error}"
    );
}

#[test]
fn floods_are_bounded() {
    // PING flood without the caller taking the answers.
    let mut server = hello();
    for _ in 0..(MAX_QUEUED_CONTROL_BYTES / 17 + 1) {
        server = server.ping(*b"flooding");
    }
    let error = conn_error(&mut Client::new(), &server.out);
    assert_eq!(
        error.violation(),
        &Violation::ControlFlood {
            limit: MAX_QUEUED_CONTROL_BYTES
        }
    );
    // The same PINGs with the answers taken between reads are fine.
    let mut client = Client::new();
    for chunk in server.out.chunks(4096) {
        client.ok(chunk);
        client.output();
    }
    // SETTINGS flood.
    let mut server = hello();
    for _ in 0..(MAX_QUEUED_CONTROL_BYTES / 9 + 1) {
        server = server.settings(&[]);
    }
    let error = conn_error(&mut Client::new(), &server.out);
    assert_eq!(error.code(), ErrorCode::ENHANCE_YOUR_CALM);
    // Endless empty DATA frames.
    let mut client = Client::new();
    let s = client.request("/", true);
    let mut server = hello().headers(s.get(), &[(":status", "200")], false);
    for _ in 0..=MAX_EMPTY_FRAMES {
        server = server.data(s.get(), b"", false);
    }
    let error = conn_error(&mut client, &server.out);
    assert_eq!(
        error.violation(),
        &Violation::EmptyFrameFlood {
            limit: MAX_EMPTY_FRAMES
        }
    );
    // CONTINUATION without end.
    let mut client = Client::new();
    let s = client.request("/", true);
    let mut b = Vec::new();
    encode_head(&mut b, 1, FrameType::Headers, 0, s);
    b.push(0x88);
    for _ in 0..MAX_HEADER_BLOCK_FRAMES {
        encode_continuation(&mut b, s, b"\x88", false);
    }
    let error = conn_error(&mut client, &hello().raw(&b).out);
    assert_eq!(error.code(), ErrorCode::ENHANCE_YOUR_CALM);
    assert!(error.to_string().contains("CONTINUATION frames"));
    // A header block beyond what we buffer.
    let mut client = Client::with(Settings {
        max_header_list_size: 100,
        ..Settings::default()
    });
    let s = client.request("/", true);
    let mut b = Vec::new();
    encode_head(&mut b, 10_000, FrameType::Headers, 0, s);
    b.extend_from_slice(&[0x88; 10_000]);
    encode_continuation(&mut b, s, &[0x88; 10_000], false);
    let error = conn_error(&mut client, &hello().raw(&b).out);
    assert_eq!(
        error.violation(),
        &Violation::HeaderBlockTooLarge {
            limit: 200 + HEADER_BLOCK_SLACK
        }
    );
}

#[test]
fn settings_ack_applies_our_table_size() {
    let mut client = Client::with(Settings {
        header_table_size: 0,
        ..Settings::default()
    });
    let s = client.request("/", true);
    // Before the ACK, the server may still use the 4,096-byte table.
    let events = client.ok(&Server::new().settings(&[]).out);
    assert_eq!(events.len(), 1);
    assert!(!client.session.settings_acknowledged());
    // After it, a block must start by shrinking the table to 0.
    let mut server = Server::new().ack();
    let block = server.block(&[(":status", "200")]);
    let mut b = Vec::new();
    encode_headers(&mut b, s, &block, true, 16_384);
    let error = conn_error(&mut client, &server.raw(&b).out);
    assert_eq!(error.code(), ErrorCode::COMPRESSION_ERROR);
    let mut client = Client::with(Settings {
        header_table_size: 0,
        ..Settings::default()
    });
    let s = client.request("/", true);
    let mut b = Vec::new();
    encode_headers(&mut b, s, &[0x20, 0x88], true, 16_384);
    let events = client.ok(&Server::new().settings(&[]).ack().raw(&b).out);
    assert!(events[1].starts_with("Response { stream: StreamId(1), status: 200"));
}

#[test]
fn continuation_split_header_blocks_and_flags() {
    let mut client = Client::new();
    client.ok(&hello().out);
    let s = client.request("/", true);
    let mut server = Server::new();
    let block = server.block(&[(":status", "200"), ("x-a", "1")]);
    let mut b = Vec::new();
    encode_head(&mut b, 1, FrameType::Headers, FLAG_END_STREAM, s);
    b.push(block[0]);
    encode_continuation(&mut b, s, &[], false);
    encode_continuation(&mut b, s, &block[1..], true);
    let events = client.ok(&server.raw(&b).out);
    assert_eq!(events.len(), 1);
    assert!(events[0].contains("end_stream: true"), "{events:?}");
    assert_eq!(client.session.open_streams(), 0);
    let _ = FLAG_END_HEADERS;
}

/// One header block cut into HEADERS + CONTINUATION at every offset (and
/// into three frames at every pair of offsets near the ends) gives the same
/// response head.
#[test]
fn header_block_split_at_every_offset() {
    let mut server = Server::new();
    let block = server.block(&[
        (":status", "200"),
        ("content-type", "text/html; charset=utf-8"),
        ("x-request-id", "0123456789abcdef"),
        ("cache-control", "max-age=3600"),
    ]);
    let expect = |frames: &[u8]| {
        let mut client = Client::new();
        client.ok(&hello().out);
        let s = client.request("/", true);
        assert_eq!(s, id(1));
        client.ok(frames)
    };
    let mut whole = Vec::new();
    encode_headers(&mut whole, id(1), &block, true, 16_384);
    let want = expect(&whole);
    assert_eq!(want.len(), 1);
    assert!(want[0].contains("x-request-id"));
    for cut in 0..=block.len() {
        let mut frames = Vec::new();
        encode_head(&mut frames, cut, FrameType::Headers, FLAG_END_STREAM, id(1));
        frames.extend_from_slice(&block[..cut]);
        encode_continuation(&mut frames, id(1), &block[cut..], true);
        assert_eq!(expect(&frames), want, "cut at {cut}");
        if cut > 0 && cut < block.len() {
            let mut frames = Vec::new();
            encode_head(&mut frames, 1, FrameType::Headers, FLAG_END_STREAM, id(1));
            frames.push(block[0]);
            encode_continuation(&mut frames, id(1), &block[1..cut], false);
            encode_continuation(&mut frames, id(1), &block[cut..], true);
            assert_eq!(expect(&frames), want, "cuts at 1 and {cut}");
        }
    }
}

/// Only HEADERS that end their streams count as requests alone in the
/// output; anything else queued (an acknowledgement, a PING answer, a
/// request with a body) makes it 0 until the output is taken.
#[test]
fn requests_alone_in_the_output_are_counted() {
    let mut c = Client::new();
    c.ok(&hello().out);
    c.output();
    assert_eq!(c.session.queued_requests_alone(), 0, "nothing queued");
    c.request("/a", true);
    c.request("/b", true);
    assert_eq!(c.session.queued_requests_alone(), 2);
    assert_eq!(c.output(), ["HEADERS 1", "HEADERS 3"]);
    assert_eq!(c.session.queued_requests_alone(), 0, "taken");

    c.request("/c", true);
    c.ok(&Server::new().ping([7; 8]).out);
    assert_eq!(
        c.session.queued_requests_alone(),
        0,
        "a PING answer waits too"
    );
    c.output();

    c.request("/d", false);
    assert_eq!(c.session.queued_requests_alone(), 0, "a body follows");
    c.output();
    c.request("/e", true);
    assert_eq!(c.session.queued_requests_alone(), 1);
}
