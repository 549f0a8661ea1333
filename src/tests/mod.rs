//! In-memory tests (placeholder while building).
