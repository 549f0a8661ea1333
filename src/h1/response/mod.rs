//! The response side of HTTP/1.1, in three steps:
//!
//! - [`head`]: the httparse bridge, bytes to a [`ResponseHead`];
//! - [`framing`]: from a head, the body framing (RFC 9112 §6.3) and the
//!   keep-alive decision (RFC 9112 §9.3);
//! - [`reader`]: [`ResponseReader`], the sans-IO state machine that drives
//!   one response through them as bytes arrive.

pub(crate) mod framing;
pub(crate) mod head;
pub(crate) mod reader;
#[cfg(test)]
mod tests;

pub(crate) use head::{Parsed, ResponseHead, parse_head};
pub(crate) use reader::ResponseReader;
