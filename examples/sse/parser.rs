//! Server-sent events: the event stream interpretation of the WHATWG HTML
//! standard (§9.2.6 "Interpreting an event stream"), fed with the body's
//! chunks as they arrive, split anywhere (even inside a line ending or a
//! UTF-8 sequence).
//!
//! ```text
//!  bytes ─▶ lines (CRLF, LF or CR; a leading BOM dropped) ─▶ fields ─▶ events
//!   ""           dispatch: data buffer empty? drop it; else one trailing LF off,
//!                type = event buffer or "message", id = last event ID buffer
//!   ":..."       a comment
//!   "name:value" (one space after the colon dropped); "name" alone: value ""
//!   event  → event type buffer        data  → data buffer += value + LF
//!   id     → last event ID buffer, unless the value holds U+0000
//!   retry  → reconnection time in ms, if the value is all ASCII digits
//!   other  → ignored
//! ```
//!
//! At the end of the stream an event not yet ended by an empty line is
//! dropped. Each dispatch (even of an event without data) sets the last
//! event ID from the buffer; it is kept across events and connections, and
//! is what a reconnect sends as `Last-Event-ID`. The buffers, the ID buffer
//! included, start empty with each connection.

use std::time::Duration;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `event:`, or "message".
    pub event: String,
    /// The `data:` lines, joined with LF.
    pub data: String,
    /// The last event ID when the event was dispatched.
    pub id: String,
}

/// The parser of one event stream (it lives across reconnects, as the
/// last event ID and the reconnection time do).
#[derive(Debug, Default)]
pub struct Parser {
    /// Bytes of a line not ended yet.
    line: Vec<u8>,
    /// The previous chunk ended in CR: an LF starting this one belongs to it.
    after_cr: bool,
    /// Whether the start of the stream (and its BOM) is behind us.
    started: bool,
    data: String,
    event: String,
    /// The last event ID buffer of this connection.
    id: String,
    /// The last event ID string, set from `id` at each dispatch.
    last_id: String,
    retry: Option<Duration>,
}

impl Parser {
    pub fn new() -> Parser {
        Parser::default()
    }

    /// The last event ID (sent as `Last-Event-ID` on reconnect; empty:
    /// none).
    pub fn last_event_id(&self) -> &str {
        &self.last_id
    }

    /// The reconnection time the server asked for with `retry:`.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// A new connection begins: a new stream (its BOM is dropped again),
    /// with the last event ID and reconnection time kept.
    pub fn reconnect(&mut self) {
        self.line.clear();
        self.after_cr = false;
        self.started = false;
        self.data.clear();
        self.event.clear();
        self.id.clear();
    }

    /// Feeds the next bytes of the stream; calls `on_event` for each event
    /// they complete.
    pub fn feed(&mut self, mut bytes: &[u8], mut on_event: impl FnMut(Message)) {
        if bytes.is_empty() {
            return;
        }
        if std::mem::take(&mut self.after_cr) && bytes.first() == Some(&b'\n') {
            bytes = &bytes[1..];
        }
        while let Some(end) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&bytes[..end]);
            let line = std::mem::take(&mut self.line);
            self.on_line(&line, &mut on_event);
            self.line = line;
            self.line.clear();
            let cr = bytes[end] == b'\r';
            bytes = &bytes[end + 1..];
            if cr {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.line.extend_from_slice(bytes);
    }

    /// One line, without its ending.
    fn on_line(&mut self, line: &[u8], on_event: &mut impl FnMut(Message)) {
        let mut line = line;
        if !self.started {
            self.started = true;
            // A UTF-8 byte order mark at the start of the stream is dropped.
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        let text = String::from_utf8_lossy(line);
        if text.is_empty() {
            return self.dispatch(on_event);
        }
        if text.starts_with(':') {
            return;
        }
        let (field, value) = match text.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (&*text, ""),
        };
        match field {
            "event" => self.event = value.to_owned(),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => self.id = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse() {
                    self.retry = Some(Duration::from_millis(ms));
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, on_event: &mut impl FnMut(Message)) {
        self.last_id.clone_from(&self.id);
        if self.data.is_empty() {
            self.event.clear();
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop();
        let event = match std::mem::take(&mut self.event) {
            event if event.is_empty() => "message".to_owned(),
            event => event,
        };
        on_event(Message {
            event,
            data,
            id: self.last_id.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_split(stream: &[u8], at: &[usize]) -> (Vec<Message>, Parser) {
        let mut parser = Parser::new();
        let mut out = Vec::new();
        let mut from = 0;
        for &cut in at.iter().chain([&stream.len()]) {
            parser.feed(&stream[from..cut], |m| out.push(m));
            from = cut;
        }
        (out, parser)
    }

    fn msg(event: &str, data: &str, id: &str) -> Message {
        Message {
            event: event.into(),
            data: data.into(),
            id: id.into(),
        }
    }

    /// Every field rule of the standard, in every line-ending style, split
    /// at every offset (twice) gives the same events.
    #[test]
    fn the_standards_rules_hold_at_every_split() {
        let stream = "\u{feff}: a comment\r\n\
            data: first\r\n\
            data:second\r\n\
            \r\n\
            event: tick\rid: 7\rdata\r\r\
            id: 8\0x\n\
            retry: 250\n\
            retry: 12a\n\
            unknown: x\n\
            data:  two spaces\n\
            \n\
            event: lone\n\
            \n\
            id\n\
            data: é\n\
            \n\
            data: cut off at the end";
        let expected = vec![
            msg("message", "first\nsecond", ""),
            msg("tick", "", "7"),
            msg("message", " two spaces", "7"),
            msg("message", "é", ""),
        ];
        let bytes = stream.as_bytes();
        for i in 0..=bytes.len() {
            for j in i..=bytes.len().min(i + 5) {
                let (events, parser) = parse_split(bytes, &[i, j]);
                assert_eq!(events, expected, "split at {i} and {j}");
                assert_eq!(parser.retry(), Some(Duration::from_millis(250)));
                assert_eq!(parser.last_event_id(), "");
            }
        }
    }

    #[test]
    fn the_last_event_id_lives_across_events_and_reconnects() {
        let mut parser = Parser::new();
        let mut out = Vec::new();
        parser.feed(b"id: 41\ndata: a\n\ndata: b\n\n: no id here\n", |m| {
            out.push(m)
        });
        assert_eq!(out, [msg("message", "a", "41"), msg("message", "b", "41")]);
        // The connection drops halfway through an event: it is not dispatched.
        parser.feed(b"id: 42\ndata: half", |m| out.push(m));
        parser.reconnect();
        assert_eq!(parser.last_event_id(), "41", "42 never reached a dispatch");
        parser.feed(b"\xEF\xBB\xBFid: 43\ndata: after\n\n", |m| out.push(m));
        assert_eq!(out.last(), Some(&msg("message", "after", "43")));
        assert_eq!(out.len(), 3);
        // A new connection's ID buffer starts empty: an event without an
        // id clears the last event ID (as the standard has it).
        parser.reconnect();
        parser.feed(b"data: x\n\n", |m| out.push(m));
        assert_eq!(parser.last_event_id(), "");
    }
}
