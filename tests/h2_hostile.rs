//! The client against scripted HTTP/2 servers on Python's `h2` library
//! (`tests/h2/hostile_server.py`, h2c with prior knowledge): GOAWAY
//! mid-batch, REFUSED_STREAM, RST_STREAM mid-body, a concurrency limit of
//! one, DATA beyond the window, CONTINUATION splits, HPACK table size
//! updates, PUSH_PROMISE, PING, no SETTINGS, invalid SETTINGS, a silent
//! stream, a connection error mid-batch, and floods. Each failure must be an error that says what
//! happened (with the HTTP/2 error code) and for which URL, ending only
//! what RFC 9113 says it ends: the rest of the batch completes.
//!
//! Needs `python3` with the `h2` package (`.ci/run` installs it).

mod support;

use std::time::Duration;

use multifetch::{ErrorKind, Phase, Request, Response};
use support::python::PythonServer;
use support::{assert_h2_ok as assert_ok, h2c_client};

/// `tests/h2/hostile_server.py` running `scenario`.
fn hostile(scenario: &str) -> PythonServer {
    PythonServer::start("hostile_server.py", &[scenario])
}

#[track_caller]
fn assert_h2_error(
    result: &multifetch::Result<Response>,
    kind: ErrorKind,
    code: &str,
    url: &str,
) -> String {
    let error = result.as_ref().expect_err("an error");
    let text = error.to_string();
    assert_eq!(error.kind(), kind, "{text}");
    assert!(text.contains(code), "the message names {code}: {text}");
    assert!(text.contains(url), "the message names the URL: {text}");
    text
}

#[test]
fn goaway_mid_batch_retries_the_unprocessed_requests_on_new_connections() {
    let server = hostile("goaway");
    let client = h2c_client().build().unwrap();
    let requests: Vec<Request> = (0..40)
        .map(|i| {
            let url = server.url(&format!("/p{i}"));
            if i % 5 == 0 {
                Request::post(&url).unwrap().body(format!("posted {i}"))
            } else {
                Request::get(&url).unwrap()
            }
        })
        .collect();
    let mut results: Vec<Option<_>> = (0..40).map(|_| None).collect();
    let summary = client.fetch_each(requests, |i, r| results[i] = Some(r));
    for (i, result) in results.into_iter().enumerate() {
        let result = result.unwrap();
        if i % 5 == 0 {
            assert_eq!(result.unwrap().text(), format!("posted {i}"), "POST too");
        } else {
            assert_ok(&result, &format!("/p{i}"));
        }
    }
    // Ten requests per connection.
    assert!(summary.connections_opened >= 4, "{summary}");
    assert_eq!(summary.failed, 0, "{summary}");
}

#[test]
fn refused_streams_are_retried_whatever_the_method() {
    let server = hostile("refused");
    let client = h2c_client().build().unwrap();
    let requests: Vec<Request> = (0..20)
        .map(|i| {
            let url = server.url(&format!("/r{i}"));
            if i % 2 == 0 {
                Request::post(&url).unwrap().body(format!("body of /r{i}"))
            } else {
                Request::get(&url).unwrap()
            }
        })
        .collect();
    let mut reactor = multifetch::Reactor::new(&client).unwrap();
    let ids: Vec<_> = requests.into_iter().map(|r| reactor.submit(r)).collect();
    let mut results = std::collections::HashMap::new();
    while let Some(done) = reactor.next_completion().unwrap() {
        results.insert(done.id, done.result);
    }
    for (i, id) in ids.iter().enumerate() {
        assert_ok(&results[id], &format!("/r{i}"));
    }
    // Replays of requests the server did not process, not retries of a
    // retry policy (there is none).
    let counters = reactor.counters();
    assert!(counters.replays >= 20, "{counters:?}");
    assert_eq!(counters.retries, 0, "{counters:?}");
}

#[test]
fn rst_stream_mid_body_fails_that_request_only() {
    let server = hostile("rst-mid-body");
    let client = h2c_client().build().unwrap();
    let urls = [server.url("/a"), server.url("/reset"), server.url("/b")];
    let results = client.fetch_many(&urls);
    assert_ok(&results[0], "/a");
    let text = assert_h2_error(
        &results[1],
        ErrorKind::Truncated,
        "INTERNAL_ERROR",
        &urls[1],
    );
    assert!(text.contains("reset stream"), "{text}");
    assert_ok(&results[2], "/b");
}

#[test]
fn max_concurrent_streams_of_one_with_200_urls() {
    let server = hostile("max1");
    let client = h2c_client().build().unwrap();
    let urls: Vec<String> = (0..200).map(|i| server.url(&format!("/m{i}"))).collect();
    let mut reactor = multifetch::Reactor::new(&client).unwrap();
    for url in &urls {
        reactor.submit(url.as_str());
    }
    let mut n = 0;
    while let Some(done) = reactor.next_completion().unwrap() {
        let response = done.result.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.header("x-violations").unwrap(),
            "0",
            "no stream beyond the limit once SETTINGS were acknowledged"
        );
        n += 1;
    }
    assert_eq!(n, 200);
    assert_eq!(reactor.counters().connections_opened, 1);
}

#[test]
fn data_beyond_the_stream_window_is_a_flow_control_error_for_that_stream() {
    let server = hostile("beyond-window");
    let client = h2c_client()
        .http2_initial_stream_window_size(16_384)
        .build()
        .unwrap();
    let urls = [server.url("/a"), server.url("/flood"), server.url("/b")];
    let results = client.fetch_many(&urls);
    assert_ok(&results[0], "/a");
    assert_h2_error(
        &results[1],
        ErrorKind::Protocol,
        "FLOW_CONTROL_ERROR",
        &urls[1],
    );
    assert_ok(&results[2], "/b");
}

#[test]
fn header_blocks_split_over_many_continuation_frames() {
    let server = hostile("continuation");
    let client = h2c_client().build().unwrap();
    let urls = [server.url("/cont"), server.url("/a"), server.url("/cont")];
    for result in client.fetch_many(&urls) {
        let response = result.unwrap();
        let path = response
            .header("x-path")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(response.text(), format!("body of {path}"));
        if path == "/cont" {
            assert_eq!(response.header("x-long-19").unwrap(), &"v".repeat(40));
        }
    }
}

#[test]
fn hpack_table_size_updates_between_responses() {
    let server = hostile("table-size");
    let client = h2c_client().build().unwrap();
    let urls: Vec<String> = (0..30).map(|i| server.url(&format!("/t{i}"))).collect();
    for (i, result) in client.fetch_many(&urls).iter().enumerate() {
        let path = format!("/t{i}");
        assert_ok(result, &path);
        assert_eq!(result.as_ref().unwrap().header("x-path").unwrap(), &path);
    }
}

#[test]
fn push_promise_is_a_connection_error() {
    let server = hostile("push");
    let client = h2c_client().build().unwrap();
    let url = server.url("/a");
    let result = client.fetch(url.as_str());
    let text = assert_h2_error(&result, ErrorKind::Protocol, "PROTOCOL_ERROR", &url);
    assert!(text.contains("PUSH_PROMISE"), "{text}");
}

#[test]
fn a_servers_ping_is_answered() {
    let server = hostile("ping");
    let client = h2c_client().build().unwrap();
    let results = client.fetch_many([server.url("/a"), server.url("/b")]);
    assert_ok(&results[0], "/a");
    assert_ok(&results[1], "/b");
}

#[test]
fn a_server_that_never_sends_settings_is_cut_off_by_the_connect_timeout() {
    let server = hostile("no-settings");
    let client = h2c_client()
        .connect_timeout(Duration::from_millis(500))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let url = server.url("/a");
    let error = client.fetch(url.as_str()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert_eq!(error.timeout_phase(), Some(Phase::Connect), "{error}");
    let text = error.to_string();
    assert!(text.contains("no HTTP/2 SETTINGS"), "{text}");
    assert!(text.contains(&url), "{text}");
}

#[test]
fn invalid_settings_are_connection_errors() {
    for (scenario, code, what) in [
        ("invalid-settings", "PROTOCOL_ERROR", "SETTINGS_ENABLE_PUSH"),
        (
            "window-overflow",
            "FLOW_CONTROL_ERROR",
            "SETTINGS_INITIAL_WINDOW_SIZE",
        ),
    ] {
        let server = hostile(scenario);
        let client = h2c_client().build().unwrap();
        let url = server.url("/a");
        let result = client.fetch(url.as_str());
        let text = assert_h2_error(&result, ErrorKind::Protocol, code, &url);
        assert!(text.contains(what), "{scenario}: {text}");
    }
}

#[test]
fn a_silent_stream_times_out_alone() {
    let server = hostile("silent");
    let client = h2c_client()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let urls = [server.url("/a"), server.url("/silent"), server.url("/b")];
    let results = client.fetch_many(&urls);
    assert_ok(&results[0], "/a");
    let error = results[1].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert_eq!(error.timeout_phase(), Some(Phase::ReadHead), "{error}");
    assert!(error.to_string().contains(&urls[1]), "{error}");
    assert_ok(&results[2], "/b");
}

#[test]
fn a_connection_error_ends_the_answered_requests_and_retries_the_rest() {
    let server = hostile("conn-error");
    let client = h2c_client().build().unwrap();
    let paths = ["/a", "/x", "/b", "/c", "/d", "/e", "/post"];
    let requests: Vec<Request> = paths
        .iter()
        .map(|path| {
            let url = server.url(path);
            if *path == "/post" {
                Request::post(&url).unwrap().body("posted")
            } else {
                Request::get(&url).unwrap()
            }
        })
        .collect();
    let mut results: Vec<Option<_>> = paths.iter().map(|_| None).collect();
    let summary = client.fetch_each(requests, |i, r| results[i] = Some(r));
    let results: Vec<_> = results.into_iter().map(Option::unwrap).collect();
    // Answered before the error: complete.
    assert_ok(&results[0], "/a");
    // Its head arrived, so the server processed it: it ends with the error.
    let url = server.url("/x");
    let text = assert_h2_error(&results[1], ErrorKind::Protocol, "PROTOCOL_ERROR", &url);
    assert!(text.contains("WINDOW_UPDATE"), "{text}");
    // Not answered, idempotent: run again on a new connection.
    for (i, path) in paths.iter().enumerate().take(6).skip(2) {
        assert_ok(&results[i], path);
    }
    // Not answered, but a POST may have been processed: it fails, named.
    let error = results[6].as_ref().unwrap_err();
    assert!(error.to_string().contains(&server.url("/post")), "{error}");
    assert!(summary.connections_opened >= 2, "{summary}");
}

#[test]
fn floods_are_bounded() {
    for (scenario, path) in [
        ("ping-flood", "/a"),
        ("empty-data-flood", "/x"),
        ("continuation-flood", "/x"),
    ] {
        let server = hostile(scenario);
        let client = h2c_client().build().unwrap();
        let url = server.url(path);
        let result = client.fetch(url.as_str());
        assert_h2_error(&result, ErrorKind::Protocol, "ENHANCE_YOUR_CALM", &url);
    }
}
