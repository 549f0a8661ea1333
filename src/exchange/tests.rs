//! The exchange on its own, without a connection: what a response or a
//! failure means for the request.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::{HeaderMap, Method, StatusCode, Version};

use super::{ConnInfo, Exchange, Outcome, Replay, is_idempotent};
use crate::builder::ClientBuilder;
use crate::completion::RequestId;
use crate::config::Config;
use crate::error::Reason;
use crate::h1::{ProtocolError, ResponseHead};
use crate::handle::ConnId;
use crate::request::Request;
use crate::retry::Clock;

fn config() -> Config {
    ClientBuilder::new().finish().config.as_ref().clone()
}

fn clock() -> Clock {
    Clock::seeded(1)
}

fn head(status: u16, headers: &[(&str, &str)]) -> ResponseHead {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    ResponseHead {
        version: Version::HTTP_11,
        status: StatusCode::from_u16(status).unwrap(),
        headers: map,
    }
}

fn peer() -> SocketAddr {
    "10.0.0.1:80".parse().unwrap()
}

/// An exchange for `request`, attached and begun on a connection.
fn begun(request: Request, reused: bool, t0: Instant, config: &Config) -> Exchange {
    let mut ex = Exchange::new(RequestId(7), request, t0, config, None).unwrap();
    ex.attach(ConnId::from_parts(0, 1), t0, config);
    ex.begin(ConnInfo {
        peer: Some(peer()),
        reused,
        ..ConnInfo::default()
    });
    ex
}

fn closed_early() -> Reason {
    Reason::Protocol {
        peer: Some(peer()),
        source: ProtocolError::EmptyReply,
    }
}

#[test]
fn only_idempotent_methods_are_retried() {
    assert!(
        is_idempotent(&Method::GET)
            && is_idempotent(&Method::PUT)
            && is_idempotent(&Method::DELETE)
    );
    assert!(!is_idempotent(&Method::POST) && !is_idempotent(&Method::PATCH));
}

#[test]
fn a_response_is_built_with_its_timings() {
    let config = config();
    let t0 = Instant::now();
    let mut ex = begun(Request::get("http://a.test/x").unwrap(), true, t0, &config);
    ex.on_first_byte(t0 + Duration::from_millis(5));
    ex.body_input().extend_from_slice(b"body");
    let Outcome::Done(id, Ok(r)) = ex.complete(
        head(200, &[]),
        t0 + Duration::from_millis(9),
        &config,
        &mut clock(),
    ) else {
        panic!("not a response");
    };
    assert_eq!(id, RequestId(7));
    assert_eq!(r.body(), b"body");
    assert_eq!(r.remote_addr(), Some(peer()));
    assert_eq!(r.timings().first_byte, Duration::from_millis(5));
    assert_eq!(r.timings().total, Duration::from_millis(9));
    assert!(r.timings().reused);
}

#[test]
fn retry_needs_a_reused_connection_an_idempotent_method_and_no_response_byte() {
    let config = config();
    let t0 = Instant::now();
    let get = || Request::get("http://a.test/").unwrap();
    let post = || Request::post("http://a.test/").unwrap();
    let cases = [
        (get(), true, true, true),
        (get(), false, true, false),
        (get(), true, false, false),
        (post(), true, true, false),
    ];
    for (request, reused, replayable, retried) in cases {
        let ex = begun(request, reused, t0, &config);
        let outcome = ex.fail(
            closed_early(),
            Replay::if_stale(replayable),
            t0,
            &config,
            &mut clock(),
        );
        match outcome {
            Outcome::Retry(again) => {
                assert!(retried);
                assert!(again.is_retry());
                // Once retried, never again.
                let again = {
                    let mut again = again;
                    again.begin(ConnInfo {
                        reused: true,
                        ..ConnInfo::default()
                    });
                    again
                };
                assert!(matches!(
                    again.fail(closed_early(), Replay::IfStale, t0, &config, &mut clock()),
                    Outcome::Done(_, Err(_))
                ));
            }
            Outcome::Done(_, Err(error)) => {
                assert!(!retried);
                assert_eq!(error.url(), Some("http://a.test/"));
            }
            _ => panic!("unexpected outcome"),
        }
    }
}

#[test]
fn a_redirect_becomes_the_next_hop_and_errors_name_the_first_url() {
    let config = config();
    let t0 = Instant::now();
    let ex = begun(Request::get("http://a.test/1").unwrap(), false, t0, &config);
    let Outcome::Redirect(mut ex) =
        ex.complete(head(302, &[("location", "/2")]), t0, &config, &mut clock())
    else {
        panic!("not followed");
    };
    assert_eq!(ex.request().url().as_str(), "http://a.test/2");
    assert_eq!(ex.first_url().as_str(), "http://a.test/1");
    ex.attach(ConnId::from_parts(0, 1), t0, &config);
    ex.begin(ConnInfo::default());
    let Outcome::Done(_, Err(error)) =
        ex.fail(closed_early(), Replay::Never, t0, &config, &mut clock())
    else {
        panic!("not failed");
    };
    assert_eq!(error.url(), Some("http://a.test/1"));
}

#[cfg(feature = "gzip")]
#[test]
fn coded_bytes_that_came_with_the_head_go_to_the_decoder() {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(b"decoded").unwrap();
    let coded = encoder.finish().unwrap();
    let config = config();
    let t0 = Instant::now();
    let mut ex = Exchange::new(
        RequestId(1),
        Request::get("http://a.test/").unwrap(),
        t0,
        &config,
        None,
    )
    .unwrap();
    ex.attach(ConnId::from_parts(0, 1), t0, &config);
    ex.begin(ConnInfo::default());
    ex.write_h1_head(&mut Vec::new(), &config);
    assert!(ex.direct_body().is_none(), "not before the head says how");
    let (first, rest) = coded.split_at(5);
    ex.body_input().extend_from_slice(first);
    let h = head(200, &[("content-encoding", "gzip")]);
    ex.on_head(&h, &config).unwrap();
    ex.on_body().unwrap();
    assert!(
        ex.direct_body().is_none(),
        "a coded body goes through the decoder"
    );
    ex.body_input().extend_from_slice(rest);
    ex.on_body().unwrap();
    let Outcome::Done(_, Ok(r)) = ex.complete(h, t0, &config, &mut clock()) else {
        panic!("not decoded");
    };
    assert_eq!(r.body(), b"decoded");
    assert!(r.header("content-encoding").is_none());
}
