//! HTTP-date (RFC 9110 §5.6.7) and `Retry-After` (RFC 9110 §10.2.3),
//! sans-IO: bytes in, a time out; the current time is passed in.
//!
//! ```text
//! IMF-fixdate   Sun, 06 Nov 1994 08:49:37 GMT      the one senders generate
//! rfc850-date   Sunday, 06-Nov-94 08:49:37 GMT     obsolete: two-digit year
//! asctime-date  Sun Nov  6 08:49:37 1994           obsolete: C's asctime()
//! ```
//!
//! A recipient must accept all three (§5.6.7). A two-digit year that would
//! lie more than 50 years in the future is taken as the most recent past
//! year with the same last two digits. The day name is checked to be one,
//! not to match the date (RFC 9110 lets recipients ignore it). Nothing here
//! panics, whatever the bytes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
const LONG_DAYS: [&[u8]; 7] = [
    b"Monday",
    b"Tuesday",
    b"Wednesday",
    b"Thursday",
    b"Friday",
    b"Saturday",
    b"Sunday",
];
const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// A calendar time in UTC, as an HTTP-date writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DateTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

/// Parses an HTTP-date in any of its three forms; `now` resolves the
/// two-digit year of the obsolete RFC 850 form. `None` for anything else.
pub(crate) fn parse_http_date(value: &[u8], now: SystemTime) -> Option<SystemTime> {
    let value = value.trim_ascii();
    let date = parse_imf_fixdate(value)
        .or_else(|| parse_rfc850(value, now))
        .or_else(|| parse_asctime(value))?;
    date.to_system_time()
}

/// How long `Retry-After` asks to wait: delta-seconds, or an HTTP-date
/// taken relative to the response's own `Date` when it has one (both are
/// the server's clock, so a skewed local clock does not matter), else
/// relative to `now`. A date in the past means no wait. `None` when the
/// value is neither form.
pub(crate) fn parse_retry_after(
    value: &[u8],
    date: Option<&[u8]>,
    now: SystemTime,
) -> Option<Duration> {
    let value = value.trim_ascii();
    if !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
        // 1*DIGIT; a number too large for a u64 is "very long", not an error.
        let seconds = value.iter().try_fold(0u64, |n, &d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        });
        return Some(Duration::from_secs(seconds.unwrap_or(u64::MAX)));
    }
    let at = parse_http_date(value, now)?;
    let reference = date.and_then(|d| parse_http_date(d, now)).unwrap_or(now);
    Some(at.duration_since(reference).unwrap_or(Duration::ZERO))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`
fn parse_imf_fixdate(s: &[u8]) -> Option<DateTime> {
    let (day_name, rest) = s.split_at_checked(3)?;
    if !DAYS.contains(&day_name) {
        return None;
    }
    let rest = rest.strip_prefix(b", ")?;
    let (day, rest) = digits(rest, 2)?;
    let rest = rest.strip_prefix(b" ")?;
    let (month, rest) = month(rest)?;
    let rest = rest.strip_prefix(b" ")?;
    let (year, rest) = digits(rest, 4)?;
    let rest = rest.strip_prefix(b" ")?;
    let (hour, minute, second, rest) = time_of_day(rest)?;
    if rest != b" GMT" {
        return None;
    }
    DateTime::new(i64::from(year), month, day, hour, minute, second)
}

/// `Sunday, 06-Nov-94 08:49:37 GMT`
fn parse_rfc850(s: &[u8], now: SystemTime) -> Option<DateTime> {
    let comma = s.iter().position(|&b| b == b',')?;
    let (day_name, rest) = s.split_at_checked(comma)?;
    if !LONG_DAYS.contains(&day_name) {
        return None;
    }
    let rest = rest.strip_prefix(b", ")?;
    let (day, rest) = digits(rest, 2)?;
    let rest = rest.strip_prefix(b"-")?;
    let (month, rest) = month(rest)?;
    let rest = rest.strip_prefix(b"-")?;
    let (two_digits, rest) = digits(rest, 2)?;
    let rest = rest.strip_prefix(b" ")?;
    let (hour, minute, second, rest) = time_of_day(rest)?;
    if rest != b" GMT" {
        return None;
    }
    let year = full_year(two_digits, year_of(now));
    DateTime::new(year, month, day, hour, minute, second)
}

/// `Sun Nov  6 08:49:37 1994` (the day is space-padded, or two digits)
fn parse_asctime(s: &[u8]) -> Option<DateTime> {
    let (day_name, rest) = s.split_at_checked(3)?;
    if !DAYS.contains(&day_name) {
        return None;
    }
    let rest = rest.strip_prefix(b" ")?;
    let (month, rest) = month(rest)?;
    let rest = rest.strip_prefix(b" ")?;
    let (day, rest) = match rest.strip_prefix(b" ") {
        Some(padded) => digits(padded, 1)?,
        None => digits(rest, 2)?,
    };
    let rest = rest.strip_prefix(b" ")?;
    let (hour, minute, second, rest) = time_of_day(rest)?;
    let rest = rest.strip_prefix(b" ")?;
    let (year, rest) = digits(rest, 4)?;
    if !rest.is_empty() {
        return None;
    }
    DateTime::new(i64::from(year), month, day, hour, minute, second)
}

/// Exactly `n` ASCII digits, as a number, and what follows.
fn digits(s: &[u8], n: usize) -> Option<(u32, &[u8])> {
    let (number, rest) = s.split_at_checked(n)?;
    if !number.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = number
        .iter()
        .fold(0u32, |v, &d| v * 10 + u32::from(d - b'0'));
    Some((value, rest))
}

/// A three-letter month name (case-sensitive, RFC 9110 §5.6.7), as 1 to 12.
fn month(s: &[u8]) -> Option<(u32, &[u8])> {
    let (name, rest) = s.split_at_checked(3)?;
    let index = MONTHS.iter().position(|m| *m == name)?;
    Some((u32::try_from(index).ok()? + 1, rest))
}

/// `HH:MM:SS`
fn time_of_day(s: &[u8]) -> Option<(u32, u32, u32, &[u8])> {
    let (hour, rest) = digits(s, 2)?;
    let rest = rest.strip_prefix(b":")?;
    let (minute, rest) = digits(rest, 2)?;
    let rest = rest.strip_prefix(b":")?;
    let (second, rest) = digits(rest, 2)?;
    Some((hour, minute, second, rest))
}

/// RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is
/// the most recent past year with the same last two digits.
fn full_year(two_digits: u32, current_year: i64) -> i64 {
    // The year with these last two digits in (now - 50, now + 50].
    let century = current_year - current_year.rem_euclid(100);
    let year = century + i64::from(two_digits);
    if year > current_year + 50 {
        year - 100
    } else if year <= current_year - 50 {
        year + 100
    } else {
        year
    }
}

/// The UTC calendar year of `now`.
fn year_of(now: SystemTime) -> i64 {
    let secs = match now.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    civil_from_days(secs.div_euclid(86_400)).0
}

impl DateTime {
    /// A date whose fields are in range (a leap second, :60, is accepted).
    fn new(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<Self> {
        let valid = (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month)
            && hour <= 23
            && minute <= 59
            && second <= 60;
        valid.then_some(DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }

    /// Seconds since the Unix epoch (negative before 1970).
    fn unix_seconds(self) -> i64 {
        let days = days_from_civil(self.year, self.month, self.day);
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// The instant; dates before 1970 are clamped to the epoch (they are
    /// all "in the past" for a `Retry-After`).
    fn to_system_time(self) -> Option<SystemTime> {
        let secs = u64::try_from(self.unix_seconds().max(0)).ok()?;
        UNIX_EPOCH.checked_add(Duration::from_secs(secs))
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01 (the inverse).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1994-11-06 08:49:37 UTC, the example of RFC 9110 §5.6.7.
    const RFC_EXAMPLE: u64 = 784_111_777;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// 2025-06-01 00:00:00 UTC.
    fn now() -> SystemTime {
        at(1_748_736_000)
    }

    #[test]
    fn the_three_forms_of_the_rfc_example_agree() {
        for form in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "  Sun, 06 Nov 1994 08:49:37 GMT \t",
        ] {
            assert_eq!(
                parse_http_date(form.as_bytes(), now()),
                Some(at(RFC_EXAMPLE)),
                "{form:?}"
            );
        }
        assert_eq!(
            parse_http_date(b"Thu Nov 16 08:49:37 1994", now()),
            Some(at(RFC_EXAMPLE + 10 * 86_400))
        );
    }

    #[test]
    fn calendar_edges() {
        let cases: [(&str, u64); 5] = [
            ("Thu, 01 Jan 1970 00:00:00 GMT", 0),
            ("Thu, 29 Feb 2024 12:00:00 GMT", 1_709_208_000),
            ("Fri, 31 Dec 1999 23:59:59 GMT", 946_684_799),
            ("Sat, 01 Jan 2000 00:00:00 GMT", 946_684_800),
            ("Tue, 01 Mar 2100 00:00:00 GMT", 4_107_542_400),
        ];
        for (text, secs) in cases {
            assert_eq!(
                parse_http_date(text.as_bytes(), now()),
                Some(at(secs)),
                "{text}"
            );
        }
        // Every day of 400 years round-trips through the calendar maths.
        for days in -1000..146_097 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn two_digit_years_take_the_nearest_sensible_century() {
        let parse = |s: &str, now| parse_http_date(s.as_bytes(), now);
        let y2025 = now();
        assert_eq!(
            parse("Friday, 01-Jan-27 00:00:00 GMT", y2025),
            parse("Fri, 01 Jan 2027 00:00:00 GMT", y2025),
        );
        // 2076 would be more than 50 years ahead: 1976 it is.
        assert_eq!(
            parse("Thursday, 01-Jan-76 00:00:00 GMT", y2025),
            parse("Thu, 01 Jan 1976 00:00:00 GMT", y2025),
        );
        assert_eq!(full_year(75, 2025), 2075);
        assert_eq!(full_year(76, 2025), 1976);
        assert_eq!(full_year(0, 1999), 2000);
        assert_eq!(full_year(49, 1999), 2049);
        assert_eq!(full_year(50, 1999), 1950);
    }

    #[test]
    fn malformed_dates_are_refused() {
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 nov 1994 08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 1900 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Sun, 06 Nov 1994 08:49:61 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
            "Sundae, 06-Nov-94 08:49:37 GMT",
            "Sun Nov 6 08:49:37 1994",
            "Sun Nov  6 08:49:37 94",
            "Sun, 06 Nov +994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:3\u{e9} GMT",
        ] {
            assert_eq!(parse_http_date(bad.as_bytes(), now()), None, "{bad:?}");
        }
    }

    #[test]
    fn every_prefix_and_every_corrupted_byte_is_safe() {
        for form in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            let bytes = form.as_bytes();
            for cut in 0..bytes.len() {
                let (head, tail) = bytes.split_at(cut);
                // A cut date is never mistaken for a shorter valid one.
                assert_eq!(parse_http_date(head, now()), None, "{head:?}");
                let _ = parse_http_date(tail, now());
                for junk in [0u8, b'9', 0xff] {
                    let mut corrupt = bytes.to_vec();
                    corrupt[cut] = junk;
                    let _ = parse_http_date(&corrupt, now());
                }
            }
        }
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let parse = |v: &str, date: Option<&str>| {
            parse_retry_after(v.as_bytes(), date.map(str::as_bytes), now())
        };
        assert_eq!(parse("120", None), Some(Duration::from_secs(120)));
        assert_eq!(parse(" 0 ", None), Some(Duration::ZERO));
        assert_eq!(
            parse("99999999999999999999999", None),
            Some(Duration::from_secs(u64::MAX))
        );
        // Against the response's Date: the server's clock on both sides.
        assert_eq!(
            parse(
                "Sun, 06 Nov 1994 08:50:07 GMT",
                Some("Sun, 06 Nov 1994 08:49:37 GMT")
            ),
            Some(Duration::from_secs(30))
        );
        // Without a Date, against our own clock; the past is no wait.
        assert_eq!(
            parse("Sun, 01 Jun 2025 00:01:00 GMT", None),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:49:37 GMT", None),
            Some(Duration::ZERO)
        );
        // An unreadable Date falls back to our clock.
        assert_eq!(
            parse("Sun, 01 Jun 2025 00:01:00 GMT", Some("yesterday")),
            Some(Duration::from_secs(60))
        );
        for bad in ["", "-1", "1.5", "soon", "12 s", "0x10"] {
            assert_eq!(parse(bad, None), None, "{bad:?}");
        }
    }
}
