//! `outln!`: `println!` for the examples, except that a closed stdout
//! (`| head -1`, `| true`) ends the program quietly instead of panicking.
//!
//! Rust ignores `SIGPIPE`, so a write to a pipe whose reader has gone fails
//! with `BrokenPipe`, and `println!` turns that into a panic ("failed printing
//! to stdout", exit status 101). Whoever closed the pipe has read all they
//! wanted, so the program stops there with status 0, silently.

/// Writes one line to stdout, like `println!`. A closed stdout ends the
/// program with status 0 and no message; any other write error ends it with
/// a message on stderr and status 1.
#[allow(
    unused_macros,
    reason = "the benches that share this module print nothing"
)]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let written = writeln!(std::io::stdout().lock(), $($arg)*);
        if let Err(error) = written {
            if error.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("cannot write to stdout: {error}");
            std::process::exit(1);
        }
    }};
}
