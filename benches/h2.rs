//! Benchmarks of the sans-IO HTTP/2 core on fixed bytes: HPACK decoding of
//! a typical response head, frame parsing of a run of 16 KiB DATA frames
//! (alone and through the session), and encoding a request.
//!
//! `cargo bench --bench h2`

#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use multifetch::__private::h2::frame::{self, Decoded, FrameType, SettingId};
use multifetch::__private::h2::hpack::{Decoder, Encoder, Field};
use multifetch::__private::h2::{Event, RequestHead, Session, Settings, StreamId};
use multifetch::{HeaderMap, HeaderValue, Method};

/// The fields of a response as nginx sends them for a static file.
const RESPONSE: &[(&str, &str)] = &[
    (":status", "200"),
    ("server", "nginx/1.24.0"),
    ("date", "Sun, 23 Nov 2025 09:28:00 GMT"),
    ("content-type", "text/html; charset=utf-8"),
    ("content-length", "615"),
    ("last-modified", "Tue, 11 Apr 2023 01:45:34 GMT"),
    ("etag", "\"6434bbbe-267\""),
    ("cache-control", "max-age=3600"),
    ("x-content-type-options", "nosniff"),
    ("accept-ranges", "bytes"),
];

fn encode(encoder: &mut Encoder, fields: &[(&str, &str)]) -> Vec<u8> {
    let mut block = Vec::new();
    encoder.encode(
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

/// A first response head (all literals, Huffman) and a later one on the
/// same connection (mostly indexed).
fn bench_hpack(c: &mut Criterion) {
    let mut encoder = Encoder::new();
    let first = encode(&mut encoder, RESPONSE);
    let later = encode(&mut encoder, RESPONSE);
    let mut group = c.benchmark_group("hpack_decode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("first_response", |b| {
        b.iter(|| {
            let mut decoder = Decoder::new();
            let mut n = 0;
            decoder
                .decode(black_box(&first), |f| n += f.value.len())
                .unwrap();
            n
        });
    });
    let mut decoder = Decoder::new();
    decoder.decode(&first, |_| {}).unwrap();
    group.bench_function("indexed_response", |b| {
        b.iter(|| {
            // The block is fully indexed: decoding it leaves the table as is.
            let mut n = 0;
            decoder
                .decode(black_box(&later), |f| n += f.value.len())
                .unwrap();
            n
        });
    });
    group.finish();
}

/// 100 response heads as nginx sends them for a small file, through a
/// session: HPACK (nginx adds `date`, `content-type` and the like to the
/// table with new values each time, so every value is a Huffman-coded
/// literal), the checks of each field, and the header map of each head.
fn bench_response_heads(c: &mut Criterion) {
    let mut server = Vec::new();
    frame::encode_settings(&mut server, &[(SettingId::MaxConcurrentStreams, 128)]);
    for i in 0..100u32 {
        let date = format!("Mon, 30 Nov 2026 03:{:02}:{:02} GMT", i / 60, i % 60);
        let etag = format!("\"6b0cdb0d-{i:x}\"");
        let fields = [
            (":status", "200"),
            ("server", "nginx"),
            ("date", date.as_str()),
            ("content-type", "application/octet-stream"),
            ("content-length", "100"),
            ("last-modified", date.as_str()),
            ("etag", etag.as_str()),
            ("accept-ranges", "bytes"),
        ];
        // A fresh encoder each time: literals, as nginx's new values are.
        let block = encode(&mut Encoder::new(), &fields);
        frame::encode_headers(&mut server, StreamId::new(1 + 2 * i), &block, false, 16_384);
    }
    let mut group = c.benchmark_group("session");
    group.throughput(Throughput::Elements(100));
    group.bench_function("recv_100_nginx_response_heads", |b| {
        let headers = HeaderMap::new();
        b.iter(|| {
            let mut session = Session::new(Settings::default());
            for _ in 0..100 {
                let request = RequestHead {
                    method: &Method::GET,
                    scheme: "https",
                    authority: "example.com",
                    path: "/small",
                    headers: &headers,
                };
                session.send_request(&request, true).unwrap();
            }
            let mut n = 0;
            session
                .recv(black_box(&server), |event| {
                    if let Event::Response { headers, .. } = event {
                        n += headers.len();
                    }
                })
                .unwrap();
            n
        });
    });
    group.finish();
}

/// 64 DATA frames of 16 KiB on stream 1 (1 MiB).
fn data_run() -> Vec<u8> {
    let chunk = vec![b'x'; 16_384];
    let mut out = Vec::new();
    for i in 0..64 {
        frame::encode_data(&mut out, StreamId::new(1), &chunk, i == 63);
    }
    out
}

fn bench_frames(c: &mut Criterion) {
    let run = data_run();
    let mut group = c.benchmark_group("frames");
    group.throughput(Throughput::Bytes(run.len() as u64));
    group.bench_function("decode_16KiB_data_run", |b| {
        b.iter(|| {
            let mut at = 0;
            let mut bytes = 0;
            while let Ok(Decoded::Complete(frame::Frame::Data { data, .. }, used)) =
                frame::decode(black_box(&run[at..]), 16_384)
            {
                bytes += data.len();
                at += used;
            }
            bytes
        });
    });
    // The same run through a session: flow control, stream state, events,
    // and the release that sends WINDOW_UPDATE.
    let mut server = Vec::new();
    frame::encode_settings(&mut server, &[(SettingId::MaxConcurrentStreams, 100)]);
    let mut encoder = Encoder::new();
    let head = encode(&mut encoder, &[(":status", "200")]);
    frame::encode_headers(&mut server, StreamId::new(1), &head, false, 16_384);
    let _ = FrameType::Data;
    group.bench_function("session_recv_16KiB_data_run", |b| {
        b.iter(|| {
            let mut session = Session::new(Settings::default());
            let headers = HeaderMap::new();
            let request = RequestHead {
                method: &Method::GET,
                scheme: "https",
                authority: "example.com",
                path: "/",
                headers: &headers,
            };
            let stream = session.send_request(&request, true).unwrap();
            session.recv(&server, |_| {}).unwrap();
            let mut bytes = 0;
            session
                .recv(black_box(&run), |event| {
                    if let Event::Data { data, .. } = event {
                        bytes += data.len();
                    }
                })
                .unwrap();
            session.release(stream, bytes);
            bytes
        });
    });
    group.finish();
}

fn bench_request(c: &mut Criterion) {
    let mut headers = HeaderMap::new();
    headers.insert("user-agent", HeaderValue::from_static("multifetch/0.1"));
    headers.insert("accept", HeaderValue::from_static("*/*"));
    headers.insert("accept-encoding", HeaderValue::from_static("gzip, deflate"));
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(100));
    group.bench_function("100_requests", |b| {
        b.iter(|| {
            let mut session = Session::new(Settings::default());
            let mut out = Vec::new();
            for i in 0..100 {
                let path = format!("/item/{i}");
                let request = RequestHead {
                    method: &Method::GET,
                    scheme: "https",
                    authority: "example.com",
                    path: &path,
                    headers: &headers,
                };
                session.send_request(black_box(&request), true).unwrap();
            }
            session.data_to_send(&mut out);
            out.len()
        });
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_hpack,
    bench_response_heads,
    bench_frames,
    bench_request
);
criterion_main!(benches);
