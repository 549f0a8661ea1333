//! What a fetch becomes in Redis: a result entry, a failure kept for the next
//! delivery, or a dead letter; and the fields of each.

use std::time::Duration;

use multifetch::{ErrorKind, Response, Url};

use super::Entry;
use crate::keys::sha256_hex;

/// What to do with a finished fetch.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Write a result (a response of any status, or an error that another
    /// try would not change) and acknowledge the entry.
    Record,
    /// Keep the error as the entry's last one and leave the entry pending:
    /// it is claimed again after the claim idle time.
    Retry,
    /// Failed on its last allowed delivery: dead-letter it with this error.
    Dead,
}

pub fn verdict(
    result: &multifetch::Result<Response>,
    deliveries: u64,
    max_deliveries: u64,
) -> Verdict {
    match result {
        Ok(_) => Verdict::Record,
        Err(error) if is_final(error.kind()) => Verdict::Record,
        Err(_) if deliveries >= max_deliveries => Verdict::Dead,
        Err(_) => Verdict::Retry,
    }
}

/// Errors another try would not change: the URL or request itself, a body
/// over the limit, a redirect loop, a corrupt encoding, a certificate. The
/// rest (DNS, connect, timeout, a reset, a malformed or cut-off response,
/// a proxy's refusal) may pass, so those entries are tried again.
pub fn is_final(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::InvalidUrl
            | ErrorKind::InvalidRequest
            | ErrorKind::TooLarge
            | ErrorKind::Redirect
            | ErrorKind::Decode
            | ErrorKind::Tls
    )
}

pub type Fields = Vec<(&'static str, Vec<u8>)>;

/// The fields of a result entry.
///
/// Always `url`, `entry` (the id in the shard stream: the key to deduplicate
/// by), `worker`, `deliveries`. Then for a response: `status`, `length`
/// (body bytes), `sha256` (hex, of the whole body), `final_url` (only after
/// redirects), `ms_total`, `ms_first_byte`, `ms_queued`, `ms_dns`,
/// `ms_connect`, `ms_tls` (those that happened), `reused` (0 or 1), and with
/// `--body-limit N`, `body` (its first N bytes) and `body_truncated` (0 or
/// 1). For an error: `error_kind` and `error` (the message).
pub fn result_fields(
    entry: &Entry,
    worker: &str,
    result: &multifetch::Result<Response>,
    body_limit: usize,
) -> Fields {
    let mut fields = common_fields(entry, worker, entry.deliveries);
    match result {
        Ok(response) => {
            let body = response.body();
            fields.push(("status", response.status().as_u16().to_string().into()));
            fields.push(("length", body.len().to_string().into()));
            fields.push(("sha256", sha256_hex(body).into()));
            let asked = Url::parse(&entry.url).ok();
            if asked.as_ref() != Some(response.url()) {
                fields.push(("final_url", response.url().as_str().into()));
            }
            let timings = response.timings();
            fields.push(("ms_total", ms(timings.total)));
            fields.push(("ms_first_byte", ms(timings.first_byte)));
            fields.push(("ms_queued", ms(timings.queued)));
            for (name, phase) in [
                ("ms_dns", timings.dns),
                ("ms_connect", timings.connect),
                ("ms_tls", timings.tls),
            ] {
                if let Some(duration) = phase {
                    fields.push((name, ms(duration)));
                }
            }
            fields.push(("reused", if timings.reused { "1" } else { "0" }.into()));
            if body_limit > 0 {
                let kept = body.len().min(body_limit);
                fields.push(("body", body[..kept].to_vec()));
                let cut = if kept < body.len() { "1" } else { "0" };
                fields.push(("body_truncated", cut.into()));
            }
        }
        Err(error) => {
            fields.push(("error_kind", error.kind().to_string().into()));
            fields.push(("error", error.to_string().into()));
        }
    }
    fields
}

/// The fields of a dead letter: `url`, `entry`, `worker`, `deliveries` (the
/// fetches tried), `error_kind` and `error` (the last failure).
pub fn dead_fields(
    entry: &Entry,
    worker: &str,
    deliveries: u64,
    kind: &str,
    message: &str,
) -> Fields {
    let mut fields = common_fields(entry, worker, deliveries);
    fields.push(("error_kind", kind.into()));
    fields.push(("error", message.into()));
    fields
}

fn common_fields(entry: &Entry, worker: &str, deliveries: u64) -> Fields {
    vec![
        ("url", entry.url.clone().into()),
        ("entry", entry.id.clone().into()),
        ("worker", worker.into()),
        ("deliveries", deliveries.to_string().into()),
    ]
}

/// How an entry's last error is kept in the shard's `errors` hash.
pub fn error_value(error: &multifetch::Error) -> String {
    format!("{}\t{}", error.kind(), error)
}

/// The kind and message back from [`error_value`].
pub fn split_error_value(value: &str) -> (&str, &str) {
    value.split_once('\t').unwrap_or(("unknown", value))
}

fn ms(duration: Duration) -> Vec<u8> {
    format!("{:.3}", duration.as_secs_f64() * 1000.0).into_bytes()
}

/// Appends `XADD key * field value ...` to a pipeline.
pub fn xadd(pipe: &mut redis::Pipeline, key: &str, fields: &Fields) {
    let cmd = pipe.cmd("XADD").arg(key).arg("*");
    for (name, value) in fields {
        cmd.arg(*name).arg(value.as_slice());
    }
    cmd.ignore();
}
