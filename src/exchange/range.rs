//! Resuming a download with a range request, decided without I/O: the
//! validator to send in `If-Range`, and what the answer to
//! `Range: bytes=N-` means for the part file (RFC 9110 §13.1.5, §14.2,
//! §14.4, §15.3.7, §15.5.17).
//!
//! ```text
//!  Range: bytes=N-  (+ If-Range: strong ETag, or a strong Last-Modified)
//!     206 + Content-Range: bytes N-last/total ──▶ Append   (file keeps its N bytes)
//!     206 starting elsewhere, or unreadable   ──▶ Mismatch (restart from zero)
//!     200                                     ──▶ Restart  (the validator failed, or ranges are not served)
//!     416 + Content-Range: bytes */N          ──▶ Complete (the file already holds the whole body)
//!     416 otherwise                           ──▶ Mismatch (restart from zero)
//!     any other status                        ──▶ Other    (the caller gets it)
//! ```

use http::StatusCode;
use http::header::{self, HeaderMap, HeaderValue};

/// What the answer to a range request means for a part file of `offset`
/// bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// 206 from byte `offset`: append; `total` is the complete length, when
    /// the server told it.
    Append { total: Option<u64> },
    /// 200: the whole representation, from byte 0.
    Restart,
    /// 416 naming a complete length of exactly `offset`: nothing is missing.
    Complete,
    /// An answer that does not fit the part file; the message says how.
    Mismatch(String),
    /// Not an answer about the range (a redirect, an error status).
    Other,
}

/// A parsed `Content-Range` (RFC 9110 §14.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContentRange {
    /// `bytes first-last/complete` (`complete` is `None` for `*`).
    Bytes {
        first: u64,
        last: u64,
        complete: Option<u64>,
    },
    /// `bytes */complete`, as sent with a 416.
    Unsatisfied { complete: u64 },
}

/// Parses `Content-Range`; `None` when it is missing, repeated or not a
/// valid byte range.
pub(crate) fn content_range(headers: &HeaderMap) -> Option<ContentRange> {
    let mut values = headers.get_all(header::CONTENT_RANGE).iter();
    let value = values.next()?.to_str().ok()?;
    if values.next().is_some() {
        return None;
    }
    let rest = value.trim().strip_prefix("bytes ")?.trim_start();
    let (range, complete) = rest.split_once('/')?;
    let complete = match complete.trim() {
        "*" => None,
        digits => Some(number(digits)?),
    };
    if range.trim() == "*" {
        return Some(ContentRange::Unsatisfied {
            complete: complete?,
        });
    }
    let (first, last) = range.split_once('-')?;
    let (first, last) = (number(first.trim())?, number(last.trim())?);
    if last < first || complete.is_some_and(|c| last >= c) {
        return None;
    }
    Some(ContentRange::Bytes {
        first,
        last,
        complete,
    })
}

/// A run of ASCII digits as a number.
fn number(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// What the answer (`status`, `headers`) to `Range: bytes={offset}-` means.
pub(crate) fn answer(status: StatusCode, headers: &HeaderMap, offset: u64) -> Answer {
    match status.as_u16() {
        206 => match content_range(headers) {
            Some(ContentRange::Bytes {
                first, complete, ..
            }) if first == offset => Answer::Append { total: complete },
            Some(ContentRange::Bytes { first, .. }) => Answer::Mismatch(format!(
                "the server answered the range request for bytes {offset}- with a range starting at byte {first}"
            )),
            _ => Answer::Mismatch(
                "the server answered the range request with 206 and no usable Content-Range".into(),
            ),
        },
        200 => Answer::Restart,
        416 => match content_range(headers) {
            Some(ContentRange::Unsatisfied { complete }) if complete == offset => Answer::Complete,
            Some(ContentRange::Unsatisfied { complete }) => Answer::Mismatch(format!(
                "the server has {complete} bytes where the partial file holds {offset}"
            )),
            _ => Answer::Mismatch(
                "the server refused the range request (416) without saying the complete length"
                    .into(),
            ),
        },
        _ => Answer::Other,
    }
}

/// What a `206` to a request that asked for no range means for a download
/// starting from nothing (RFC 9110 §15.3.7: a server sends 206 only to a
/// range request): its `Content-Range` must start at byte 0 to be the
/// start of the file, else the answer does not fit.
pub(crate) fn unrequested_partial(headers: &HeaderMap) -> Answer {
    match content_range(headers) {
        Some(ContentRange::Bytes {
            first: 0, complete, ..
        }) => Answer::Append { total: complete },
        Some(ContentRange::Bytes { first, .. }) => Answer::Mismatch(format!(
            "the server answered a request without Range with 206 (Partial Content) \
             for bytes from {first}"
        )),
        _ => Answer::Mismatch(
            "the server answered a request without Range with 206 (Partial Content) \
             and no usable Content-Range"
                .into(),
        ),
    }
}

/// The validator to send in `If-Range` when resuming a body that came with
/// `headers`: a strong entity tag, else a `Last-Modified` date that is
/// strong, that is, at least a second before the response's `Date`
/// (RFC 9110 §13.1.5, §8.8.2.2). `None`: resume with `Range` alone.
pub(crate) fn validator(headers: &HeaderMap) -> Option<HeaderValue> {
    if let Some(etag) = headers.get(header::ETAG) {
        let text = etag.to_str().ok()?.trim();
        // A weak tag (W/"…") cannot be used in If-Range.
        return (text.starts_with('"') && text.len() >= 2 && text.ends_with('"'))
            .then(|| etag.clone());
    }
    let modified = headers.get(header::LAST_MODIFIED)?;
    let date = headers.get(header::DATE)?;
    let modified_at = imf_fixdate(modified.to_str().ok()?)?;
    let date_at = imf_fixdate(date.to_str().ok()?)?;
    (date_at > modified_at).then(|| modified.clone())
}

/// Seconds since 1970 of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`,
/// RFC 9110 §5.6.7); the obsolete formats are not used for validation.
fn imf_fixdate(text: &str) -> Option<i64> {
    let rest = text.trim().split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: i64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':');
    let mut field = || -> Option<i64> { clock.next()?.parse().ok() };
    let (h, m, s) = (field()?, field()?, field()?);
    if parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    // Four-digit years only (RFC 9110 §5.6.7), which also keeps the
    // arithmetic below far from overflowing.
    if !(1..=31).contains(&day) || !(1000..=9999).contains(&year) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn a_partial_answer_nobody_asked_for_fits_only_from_byte_zero() {
        let answer = |v: &str| unrequested_partial(&headers(&[("content-range", v)]));
        assert_eq!(answer("bytes 0-9/100"), Answer::Append { total: Some(100) });
        assert_eq!(answer("bytes 0-9/*"), Answer::Append { total: None });
        let Answer::Mismatch(message) = answer("bytes 10-19/100") else {
            panic!("a range from byte 10 is not the file");
        };
        assert!(message.contains("without Range"), "{message}");
        assert!(message.contains("from 10"), "{message}");
        assert!(matches!(
            unrequested_partial(&HeaderMap::new()),
            Answer::Mismatch(_)
        ));
    }

    #[test]
    fn content_ranges_parse_by_rfc_9110() {
        let parse = |v: &str| content_range(&headers(&[("content-range", v)]));
        assert_eq!(
            parse("bytes 42-1233/1234"),
            Some(ContentRange::Bytes {
                first: 42,
                last: 1233,
                complete: Some(1234)
            })
        );
        assert_eq!(
            parse("bytes 0-9/*"),
            Some(ContentRange::Bytes {
                first: 0,
                last: 9,
                complete: None
            })
        );
        assert_eq!(
            parse("bytes */1234"),
            Some(ContentRange::Unsatisfied { complete: 1234 })
        );
        for bad in [
            "bytes 5-4/10",
            "bytes 0-10/10",
            "bytes */*",
            "items 0-1/2",
            "bytes -1-2/3",
            "bytes 0-x/3",
            "bytes 0-1",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        let twice = headers(&[
            ("content-range", "bytes 0-1/2"),
            ("content-range", "bytes 0-1/2"),
        ]);
        assert_eq!(content_range(&twice), None);
    }

    #[test]
    fn answers_to_a_range_request() {
        let ok = StatusCode::OK;
        let partial = StatusCode::PARTIAL_CONTENT;
        let refused = StatusCode::RANGE_NOT_SATISFIABLE;
        let cr = |v: &str| headers(&[("content-range", v)]);
        assert_eq!(
            answer(partial, &cr("bytes 100-199/200"), 100),
            Answer::Append { total: Some(200) }
        );
        assert_eq!(
            answer(partial, &cr("bytes 100-199/*"), 100),
            Answer::Append { total: None }
        );
        assert!(matches!(
            answer(partial, &cr("bytes 0-199/200"), 100),
            Answer::Mismatch(m) if m.contains("starting at byte 0")
        ));
        assert!(matches!(
            answer(partial, &HeaderMap::new(), 100),
            Answer::Mismatch(_)
        ));
        assert_eq!(answer(ok, &HeaderMap::new(), 100), Answer::Restart);
        assert_eq!(answer(refused, &cr("bytes */100"), 100), Answer::Complete);
        assert!(matches!(
            answer(refused, &cr("bytes */150"), 100),
            Answer::Mismatch(m) if m.contains("150")
        ));
        assert!(matches!(
            answer(refused, &HeaderMap::new(), 100),
            Answer::Mismatch(_)
        ));
        assert_eq!(
            answer(StatusCode::NOT_FOUND, &HeaderMap::new(), 100),
            Answer::Other
        );
    }

    #[test]
    fn only_strong_validators_go_into_if_range() {
        let strong = headers(&[("etag", "\"abc\""), ("last-modified", "x")]);
        assert_eq!(validator(&strong).unwrap(), "\"abc\"");
        assert_eq!(validator(&headers(&[("etag", "W/\"abc\"")])), None);
        let dated = headers(&[
            ("last-modified", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("date", "Sun, 06 Nov 1994 08:49:38 GMT"),
        ]);
        assert_eq!(validator(&dated).unwrap(), "Sun, 06 Nov 1994 08:49:37 GMT");
        let same_second = headers(&[
            ("last-modified", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("date", "Sun, 06 Nov 1994 08:49:37 GMT"),
        ]);
        assert_eq!(validator(&same_second), None, "a weak date");
        assert_eq!(
            validator(&headers(&[(
                "last-modified",
                "Sun, 06 Nov 1994 08:49:37 GMT"
            )])),
            None,
            "no Date to tell"
        );
        let obsolete = headers(&[
            ("last-modified", "Sunday, 06-Nov-94 08:49:37 GMT"),
            ("date", "Sun, 06 Nov 1994 08:49:38 GMT"),
        ]);
        assert_eq!(validator(&obsolete), None);
    }

    #[test]
    fn imf_fixdates_count_seconds_since_1970() {
        assert_eq!(imf_fixdate("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            imf_fixdate("Tue, 29 Feb 2000 12:00:00 GMT"),
            Some(951_825_600)
        );
        for bad in [
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "06 Nov 1994 08:49:37 GMT",
            "Sun, 36 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 06 Nov 9223372036854775807 08:49:37 GMT",
            "Sun, 06 Nov -5 08:49:37 GMT",
        ] {
            assert_eq!(imf_fixdate(bad), None, "{bad}");
        }
    }
}
