//! The retry policy against real loopback servers: failures then success,
//! with the attempts and the waits between them read from the server's own
//! log (waits are checked as lower bounds: the client must not come back
//! early; an upper bound would only measure the machine).

mod support;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::{Duration, SystemTime};

use multifetch::{Client, ErrorKind, Request, RetryPolicy};
use support::{Arrivals, ScriptServer, closed_port, finish, read_request_head, reset, target_of};

const SECOND: Duration = Duration::from_secs(1);

fn client(policy: RetryPolicy) -> Client {
    Client::builder()
        .retry(policy)
        .timeout(30 * SECOND)
        .build()
        .expect("client")
}

/// `HTTP/1.1 {status}` with `headers`, a short body, and `Connection: close`.
fn response(status: &str, headers: &[(&str, String)]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: 4\r\n");
    for (name, value) in headers {
        out += &format!("{name}: {value}\r\n");
    }
    out += "\r\nbody";
    out.into_bytes()
}

#[test]
fn a_reset_a_503_and_a_429_are_retried_as_they_ask() {
    let log = Arrivals::default();
    let server = ScriptServer::start({
        let log = log.clone();
        move |conn| {
            // Each attempt is a new connection (every answer closes it).
            let Some(head) = (match log.len() {
                // The first is reset before anything is read.
                0 => {
                    log.record("reset");
                    reset(conn);
                    return;
                }
                _ => read_request_head(conn),
            }) else {
                return;
            };
            let reply = match log.record(target_of(&head)) {
                1 => response("503 Service Unavailable", &[("Retry-After", "1".into())]),
                2 => {
                    // An HTTP-date two seconds after the response's Date.
                    let now = SystemTime::now();
                    let date = httpdate::fmt_http_date(now);
                    let later = httpdate::fmt_http_date(now + 2 * SECOND);
                    let parsed = httpdate::parse_http_date(&date).expect("a date");
                    let later_parsed = httpdate::parse_http_date(&later).expect("a date");
                    assert_eq!(later_parsed.duration_since(parsed).unwrap(), 2 * SECOND);
                    response(
                        "429 Too Many Requests",
                        &[("Date", date), ("Retry-After", later)],
                    )
                }
                _ => response("200 OK", &[]),
            };
            let _ = conn.write_all(&reply);
            finish(conn);
        }
    });
    let client = client(
        RetryPolicy::new()
            .max_attempts(4)
            .backoff(Duration::from_millis(50), Duration::from_millis(50)),
    );
    let r = client
        .fetch(server.url("/flaky"))
        .expect("the fourth attempt works");
    assert_eq!(r.status(), 200);
    assert_eq!(r.body(), b"body");
    assert_eq!(r.timings().attempts, 4);

    let arrivals = log.all();
    let what: Vec<&str> = arrivals.iter().map(|(_, w)| w.as_str()).collect();
    assert_eq!(what, ["reset", "/flaky", "/flaky", "/flaky"]);
    let at = log.times();
    assert!(
        at[2] - at[1] >= SECOND,
        "Retry-After: 1 waited: {:?}",
        at[2] - at[1]
    );
    assert!(
        at[3] - at[2] >= 2 * SECOND,
        "the HTTP-date waited: {:?}",
        at[3] - at[2]
    );
}

#[test]
fn a_refused_connect_is_retried_until_a_listener_appears() {
    // Two requests in one batch: the first to a closed port, the second to a
    // server that opens the first one's port when it sees its own request.
    // Both connects are made in submission order from one thread, so by
    // then the first has been refused once.
    let port = closed_port();
    let late = Arrivals::default();
    let opener = ScriptServer::start({
        let late = late.clone();
        move |conn| {
            if read_request_head(conn).is_none() {
                return;
            }
            let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
                .expect("reuse the port");
            let late = late.clone();
            thread::spawn(move || {
                if let Ok((mut conn, _)) = listener.accept() {
                    let _ = conn.set_read_timeout(Some(support::SAFETY_TIMEOUT));
                    if let Some(head) = read_request_head(&mut conn) {
                        late.record(target_of(&head));
                        let _ = conn.write_all(&response("200 OK", &[]));
                        finish(&mut conn);
                    }
                }
            });
            let _ = conn.write_all(&response("200 OK", &[]));
            finish(conn);
        }
    });
    let client = client(
        RetryPolicy::new()
            .max_attempts(20)
            .backoff(Duration::from_millis(100), Duration::from_millis(100)),
    );
    let url = format!("http://127.0.0.1:{port}/late");
    let results = client.fetch_many([url.clone(), opener.url("/open")]);
    let late_response = results[0].as_ref().expect("the listener answered");
    assert!(
        late_response.timings().attempts >= 2,
        "refused first: {:?}",
        late_response.timings()
    );
    assert_eq!(late.all().len(), 1, "one request reached the listener");
    assert!(results[1].is_ok());
}

#[test]
fn a_refusal_that_stays_gives_up_and_says_how_often_it_tried() {
    let port = closed_port();
    let client = client(
        RetryPolicy::new()
            .max_attempts(3)
            .backoff(Duration::from_millis(20), Duration::from_millis(20)),
    );
    let url = format!("http://127.0.0.1:{port}/");
    let error = client.fetch(url.as_str()).expect_err("nothing listens");
    assert_eq!(error.kind(), ErrorKind::Connect);
    assert_eq!(error.attempts(), 3);
    let text = error.to_string();
    assert!(
        text.starts_with(&format!("connect to 127.0.0.1:{port} failed: ")),
        "{text}"
    );
    assert!(
        text.ends_with(&format!("; gave up after 3 attempts ({url})")),
        "{text}"
    );
}

#[test]
fn a_post_is_not_retried_unless_asked() {
    for opted_in in [false, true] {
        let log = Arrivals::default();
        let server = ScriptServer::start({
            let log = log.clone();
            move |conn| {
                if let Some(head) = read_request_head(conn) {
                    log.record(head.lines().next().unwrap_or_default());
                    let _ = conn.write_all(&response(
                        "503 Service Unavailable",
                        &[("Retry-After", "0".into())],
                    ));
                }
                finish(conn);
            }
        });
        let client = client(
            RetryPolicy::new()
                .max_attempts(3)
                .retry_non_idempotent(opted_in),
        );
        let post = Request::post(&server.url("/form")).unwrap().body("a=1");
        let r = client.fetch(post).expect("a response");
        assert_eq!(r.status(), 503);
        let expected = if opted_in { 3 } else { 1 };
        assert_eq!(r.timings().attempts, expected);
        assert_eq!(
            log.all()
                .iter()
                .filter(|(_, l)| l.starts_with("POST /form "))
                .count(),
            expected as usize,
            "opted in: {opted_in}"
        );
    }
}

#[test]
fn retry_after_over_the_cap_returns_the_response_at_once() {
    let log = Arrivals::default();
    let server = ScriptServer::start({
        let log = log.clone();
        move |conn| {
            if let Some(head) = read_request_head(conn) {
                log.record(target_of(&head));
                let _ = conn.write_all(&response(
                    "503 Service Unavailable",
                    &[("Retry-After", "120".into())],
                ));
            }
            finish(conn);
        }
    });
    let client = client(RetryPolicy::new().max_retry_after(30 * SECOND));
    let r = client.fetch(server.url("/later")).expect("the 503 itself");
    assert_eq!(r.status(), 503);
    assert_eq!(r.header("retry-after").unwrap(), "120");
    assert_eq!(r.timings().attempts, 1);
    assert_eq!(log.len(), 1);
}

#[test]
fn the_summary_counts_retries() {
    let log = Arrivals::default();
    let server = ScriptServer::start({
        let log = log.clone();
        move |conn| {
            if let Some(head) = read_request_head(conn) {
                // Every request's first attempt gets a 503; the second, a 200.
                let target = target_of(&head).to_owned();
                let seen_before = log.all().iter().any(|(_, t)| *t == target);
                log.record(target);
                let reply = if seen_before {
                    response("200 OK", &[])
                } else {
                    response("503 Service Unavailable", &[("Retry-After", "0".into())])
                };
                let _ = conn.write_all(&reply);
            }
            finish(conn);
        }
    });
    let client = client(RetryPolicy::new());
    let urls: Vec<String> = (0..5).map(|i| server.url(&format!("/{i}"))).collect();
    let mut statuses = Vec::new();
    let summary = client.fetch_each(urls, |_, result| {
        statuses.push(
            result
                .map(|r| (r.status().as_u16(), r.timings().attempts))
                .ok(),
        );
    });
    assert_eq!(statuses, vec![Some((200, 2)); 5]);
    assert_eq!((summary.ok, summary.retries), (5, 5));
    assert!(summary.to_string().contains(" retries=5 "), "{summary}");
    assert_eq!(log.len(), 10);
}
