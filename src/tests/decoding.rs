//! Content decoding through the exchange: streamed as the body arrives,
//! and its errors.
#![cfg(feature = "gzip")]

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::Scenario;
use crate::ErrorKind;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn coded(body: &[u8], framing: &str) -> Vec<u8> {
    let head = format!("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n{framing}\r\n");
    [head.as_bytes(), body].concat()
}

#[test]
fn a_gzip_body_is_decoded_at_every_split() {
    let text = b"hello gzip ".repeat(100);
    let body = gzip(&text);
    let response = coded(&body, &format!("Content-Length: {}\r\n", body.len()));
    for i in (0..response.len()).step_by(7) {
        let mut s = Scenario::default_client();
        s.submit("http://10.0.0.1/");
        s.step();
        let peer = s.peer();
        assert!(
            String::from_utf8_lossy(&peer.take_written())
                .contains("accept-encoding: gzip, deflate\r\n")
        );
        peer.send(&response[..i]);
        s.step();
        peer.send(&response[i..]);
        s.run();
        let r = s.response();
        assert_eq!(r.body(), text, "split at {i}");
        assert!(r.header("content-encoding").is_none());
        assert!(r.header("content-length").is_none());
    }
}

#[test]
fn corrupt_and_cut_short_streams_are_decode_errors() {
    let good = gzip(b"some text to compress");
    let mut corrupt = good.clone();
    corrupt[12] ^= 0xff;
    let short = good[..good.len() - 6].to_vec();
    for body in [corrupt, short] {
        let mut s = Scenario::default_client();
        s.submit("http://10.0.0.1/");
        s.step();
        let peer = s.peer();
        peer.send(coded(&body, &format!("Content-Length: {}\r\n", body.len())));
        s.run();
        let error = s.error();
        assert_eq!(error.kind(), ErrorKind::Decode, "{error}");
        assert!(
            error
                .to_string()
                .starts_with("could not decode gzip body: "),
            "{error}"
        );
    }
}

#[test]
fn a_bomb_stops_at_the_body_limit() {
    let body = gzip(&vec![0u8; 1 << 20]);
    let mut s = Scenario::new(|b| b.max_body_size(1000));
    s.submit("http://10.0.0.1/");
    s.step();
    s.peer().send(coded(&[], "Transfer-Encoding: chunked\r\n"));
    s.peer().send(format!("{:x}\r\n", body.len()));
    s.peer().send(&body);
    s.peer().send("\r\n0\r\n\r\n");
    s.run();
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::TooLarge, "{error}");
    assert!(
        error.to_string().starts_with("body larger than 1000 bytes"),
        "{error}"
    );
}
