//! From options to the library: the `Client` (timeouts, concurrency,
//! redirects, decoding, proxy, TLS) and the `Request` made for each URL
//! (method, headers, body), checked once before anything is fetched.

use std::io::Read;

use http::{HeaderName, HeaderValue, Method};
use multifetch::{Client, ClientBuilder, Proxy, Request, RetryPolicy};

use crate::args::{Args, ConnectionOptions, Seconds};

/// Everything the options decided, ready to build the client and the
/// requests.
#[derive(Debug)]
pub struct Plan {
    builder: ClientBuilder,
    method: Method,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<Vec<u8>>,
}

impl Plan {
    /// Checks every option; the error is a usage error's message.
    pub fn new(args: &Args) -> Result<Plan, String> {
        if let Some(format) = &args.output.write_out {
            crate::output::parse_write_out(format)?;
        }
        let body = body(args)?;
        let method = match &args.request.method {
            Some(name) => Method::from_bytes(name.as_bytes())
                .map_err(|_| format!("-X {name}: not a valid method name"))?,
            None if body.is_some() => Method::POST,
            None => Method::GET,
        };
        let mut headers = args
            .request
            .headers
            .iter()
            .map(|line| header(line))
            .collect::<Result<Vec<_>, _>>()?;
        let has = |name: &str| headers.iter().any(|(n, _)| n == name);
        if !args.request.data.is_empty() && !has("content-type") {
            headers.push((
                HeaderName::from_static("content-type"),
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            ));
        }
        Ok(Plan {
            builder: builder(args)?,
            method,
            headers,
            body,
        })
    }

    /// The client the options describe.
    pub fn client(&self) -> Result<Client, multifetch::Error> {
        self.builder.clone().build()
    }

    /// The request for `url`; an error when `url` is not a valid http(s) URL.
    pub fn request(&self, url: &str) -> multifetch::Result<Request> {
        let mut request = Request::parse(self.method.clone(), url)?;
        for (name, value) in &self.headers {
            request.headers_mut().append(name.clone(), value.clone());
        }
        if let Some(body) = &self.body {
            request = request.body(body.clone());
        }
        Ok(request)
    }
}

/// A `-H` line: `Name: value`, or `Name;` for an empty value (as curl).
fn header(line: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = match line.split_once(':') {
        Some((name, value)) if !value.trim().is_empty() => (name, value.trim()),
        Some((name, _)) => {
            return Err(format!(
                "-H '{line}': fetch cannot remove a header; send `{}:` with a value, or `{};` to send it empty",
                name.trim(),
                name.trim()
            ));
        }
        None => match line.strip_suffix(';') {
            Some(name) => (name, ""),
            None => return Err(format!("-H '{line}': expected `Name: value`")),
        },
    };
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("-H '{line}': `{}` is not a valid header name", name.trim()))?;
    let value = HeaderValue::from_str(value)
        .map_err(|_| format!("-H '{line}': the value holds a character a header cannot carry"))?;
    Ok((name, value))
}

/// The body of `-d` and `--data-binary`, joined by `&` as curl does.
fn body(args: &Args) -> Result<Option<Vec<u8>>, String> {
    let mut parts = Vec::new();
    for data in &args.request.data {
        let mut bytes = data_bytes(data)?;
        // curl -d @FILE drops carriage returns and newlines.
        if data.starts_with('@') {
            bytes.retain(|b| *b != b'\r' && *b != b'\n');
        }
        parts.push(bytes);
    }
    for data in &args.request.data_binary {
        parts.push(data_bytes(data)?);
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(parts.join(&b'&')))
}

/// `DATA` as given, or the contents of `@FILE` (`@-`: stdin).
fn data_bytes(data: &str) -> Result<Vec<u8>, String> {
    let Some(file) = data.strip_prefix('@') else {
        return Ok(data.as_bytes().to_vec());
    };
    let mut bytes = Vec::new();
    let read = if file == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(file).and_then(|mut f| f.read_to_end(&mut bytes).map(|_| ()))
    };
    read.map_err(|e| format!("-d @{file}: cannot read it: {e}"))?;
    Ok(bytes)
}

/// The client builder the options describe.
fn builder(args: &Args) -> Result<ClientBuilder, String> {
    let mut builder = Client::builder();
    if let Some(n) = args.connection.parallel_max {
        builder = builder.max_connections(n);
    }
    if let Some(n) = args.connection.per_host {
        builder = builder.max_connections_per_host(n);
    }
    // --retry-max-time bounds every attempt and wait together, as the
    // whole-request deadline does under a retry policy: the smaller wins.
    let deadline = match (args.connection.max_time, args.connection.retry_max_time) {
        (Some(Seconds(Some(a))), Some(Seconds(Some(b)))) => Some(Some(a.min(b))),
        (None, Some(Seconds(Some(b)))) => Some(Some(b)),
        (Some(Seconds(a)), _) => Some(a),
        (None, _) => None,
    };
    if let Some(timeout) = deadline {
        builder = builder.timeout(timeout);
    }
    if let Some(Seconds(timeout)) = args.connection.connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    // curl follows redirects only with -L.
    builder = builder.max_redirects(if args.request.location {
        args.request.max_redirs.unwrap_or(10)
    } else {
        0
    });
    builder = builder.decompress(!args.request.no_compressed);
    if let Some(agent) = &args.request.user_agent {
        builder = builder
            .default_header("user-agent", agent.as_str())
            .map_err(|_| format!("-A '{agent}': not a valid header value"))?;
    }
    if let Some(url) = &args.connection.proxy {
        let mut proxy = Proxy::all(url).map_err(|e| format!("-x {url}: {e}"))?;
        if let Some(list) = &args.connection.noproxy {
            proxy = proxy.no_proxy(list);
        }
        builder = builder.proxy(proxy);
    } else if args.connection.noproxy.is_some() {
        return Err("--noproxy applies to the proxy of -x, and none is given \
                    (fetch reads no proxy variables from the environment)"
            .into());
    }
    builder = tls(builder, &args.connection)?;
    builder = http_version(builder, &args.connection)?;
    builder = retries(builder, &args.connection);
    Ok(builder)
}

/// `-k` and `--cacert`.
#[cfg(feature = "tls")]
fn tls(
    mut builder: ClientBuilder,
    connection: &ConnectionOptions,
) -> Result<ClientBuilder, String> {
    if connection.insecure {
        builder = builder.danger_accept_invalid_certs(true);
    }
    if !connection.cacert.is_empty() {
        // As curl: the given CAs instead of the built-in ones.
        builder = builder.tls_built_in_roots(false);
    }
    for file in &connection.cacert {
        let pem = std::fs::read(file)
            .map_err(|e| format!("--cacert {}: cannot read it: {e}", file.display()))?;
        builder = builder
            .add_root_certificate_pem(&pem)
            .map_err(|e| format!("--cacert {}: {e}", file.display()))?;
    }
    Ok(builder)
}

/// Without TLS there is no certificate to accept or trust.
#[cfg(not(feature = "tls"))]
fn tls(builder: ClientBuilder, connection: &ConnectionOptions) -> Result<ClientBuilder, String> {
    if connection.insecure || !connection.cacert.is_empty() {
        return Err("-k and --cacert need HTTPS, and this build has none \
                    (multifetch's `tls` feature is off)"
            .into());
    }
    Ok(builder)
}

/// `--http1.1`, `--http2`, `--http2-prior-knowledge`.
fn http_version(
    mut builder: ClientBuilder,
    connection: &ConnectionOptions,
) -> Result<ClientBuilder, String> {
    if connection.http1_1 {
        builder = builder.http1_only();
    }
    // --http2 is the default: h2 offered in TLS ALPN (curl's h2c upgrade
    // on cleartext is not done; --http2-prior-knowledge is).
    #[cfg(feature = "http2")]
    if connection.http2_prior_knowledge {
        builder = builder.http2_prior_knowledge();
    }
    #[cfg(not(feature = "http2"))]
    if connection.http2 || connection.http2_prior_knowledge {
        return Err(format!(
            "{}: this build speaks HTTP/1.1 only (multifetch's `http2` feature is off)",
            if connection.http2 {
                "--http2"
            } else {
                "--http2-prior-knowledge"
            }
        ));
    }
    Ok(builder)
}

/// `--retry`, `--retry-delay`, `--rate`.
fn retries(mut builder: ClientBuilder, connection: &ConnectionOptions) -> ClientBuilder {
    let retries = connection.retry.unwrap_or(0);
    if retries > 0 {
        // curl's transient answers: 408, 429, 500, 502, 503 and 504.
        let mut policy = RetryPolicy::new()
            .max_attempts(retries.saturating_add(1))
            .statuses([408, 429, 500, 502, 503, 504]);
        if let Some(Seconds(Some(delay))) = connection.retry_delay {
            policy = policy.backoff(delay, delay);
        }
        builder = builder.retry(policy);
    }
    if let Some(rate) = connection.rate {
        builder = builder.max_requests_per_second_per_host(rate);
    }
    builder
}
