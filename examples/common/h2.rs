//! For the demo's HTTP/2 part: an HTTPS server that speaks HTTP/2 or
//! HTTP/1.1 as the client's ALPN asks (hyper, the test suite's independent
//! server, on a tokio runtime in its own thread), and a relay in front of
//! it that holds every byte for half a round trip each way, so a local
//! link behaves like a long one. Both are for the demo only.

use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::ServerConfig;

/// Starts an HTTPS server on 127.0.0.1 answering `/item/{i}` with `body(i)`
/// (404 otherwise), HTTP/2 for clients that offer `h2`, at most
/// `max_streams` streams per connection. It runs until the process ends.
pub fn spawn_server(
    config: ServerConfig,
    max_streams: u32,
    body: fn(usize) -> String,
) -> io::Result<SocketAddr> {
    let mut config = config;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    thread::Builder::new()
        .name("demo-h2-server".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                while let Ok((stream, _)) = listener.accept().await {
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        let Ok(tls) = acceptor.accept(stream).await else {
                            return;
                        };
                        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                        let service = service_fn(move |req: hyper::Request<_>| {
                            let item = req
                                .uri()
                                .path()
                                .strip_prefix("/item/")
                                .and_then(|i| i.parse::<usize>().ok());
                            let mut response = hyper::Response::new(Full::new(Bytes::from(
                                item.map(body).unwrap_or_else(|| "not found".into()),
                            )));
                            if item.is_none() {
                                *response.status_mut() = hyper::StatusCode::NOT_FOUND;
                            }
                            async move { Ok::<_, Infallible>(response) }
                        });
                        let io = TokioIo::new(tls);
                        if h2 {
                            let _ = http2::Builder::new(TokioExecutor::new())
                                .max_concurrent_streams(max_streams)
                                .serve_connection(io, service)
                                .await;
                        } else {
                            let _ = http1::Builder::new().serve_connection(io, service).await;
                        }
                    });
                }
            });
        })?;
    Ok(addr)
}

/// Starts a relay on 127.0.0.1 to `target` that delays every byte by
/// `rtt / 2` in each direction (so a request and its answer take one `rtt`
/// more), with one pair of threads per direction of each connection.
pub fn spawn_relay(target: SocketAddr, rtt: Duration) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    thread::Builder::new()
        .name("demo-relay".into())
        .spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                delayed_pipe(client, server, rtt / 2);
                delayed_pipe(server2, client2, rtt / 2);
            }
        })?;
    Ok(addr)
}

/// Copies `from` to `to`, each chunk `delay` after it was read; at the end
/// of `from`, ends `to`'s write side.
fn delayed_pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let _ = thread::Builder::new()
        .name("demo-relay-read".into())
        .spawn(move || {
            let mut buf = vec![0; 64 * 1024];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 || tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                    break;
                }
            }
        });
    let _ = thread::Builder::new()
        .name("demo-relay-write".into())
        .spawn(move || {
            for (read_at, chunk) in rx {
                let due = read_at + delay;
                let now = Instant::now();
                if due > now {
                    thread::sleep(due - now);
                }
                if to.write_all(&chunk).is_err() {
                    return;
                }
            }
            let _ = to.shutdown(Shutdown::Write);
        });
}
