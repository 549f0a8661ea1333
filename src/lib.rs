//! multifetch (skeleton; crate docs are written with the engine).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod h1;

pub use h1::ProtocolError;
