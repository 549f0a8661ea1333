//! multifetch (skeleton; crate docs are written with the engine).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod h1;

pub use h1::ProtocolError;

/// Not public API: used by benches and fuzz targets.
#[doc(hidden)]
pub use h1::private as __private;
