//! `outln!` and `out!`: `println!` and `print!` for the examples, except
//! that a closed stdout (`| head -1`, `| true`) ends the program quietly,
//! with status 0, instead of panicking.
//!
//! Rust ignores `SIGPIPE`, so a write to a pipe whose reader has gone fails
//! with `BrokenPipe`, and `println!` turns that into a panic ("failed printing
//! to stdout", exit status 101). Whoever closed the pipe has read all they
//! wanted, so the program stops there, silently.
//!
//! `outln!` and `out!` exit at once, for programs with nothing to clean up.
//! A program that owns child processes or temporary files uses
//! `outln_unwind!` and `out_unwind!` instead, and runs its body through
//! [`catch_closed_stdout`]: the closed stdout then unwinds to it, so every
//! destructor (killing a child, removing a directory) runs on the way out.
#![allow(
    dead_code,
    unused_macros,
    reason = "each example uses a different part"
)]

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;

/// Writes one line to stdout, like `println!`. A closed stdout ends the
/// program with status 0 and no message; any other write error ends it with
/// a message on stderr and status 1.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let written = writeln!(std::io::stdout().lock(), $($arg)*);
        out!(@check written);
    }};
}

/// Writes to stdout without a newline, like `print!`, then flushes; a
/// closed stdout ends the program as with [`outln!`].
macro_rules! out {
    (@check $written:expr) => {
        if let Err(error) = $written {
            if error.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("cannot write to stdout: {error}");
            std::process::exit(1);
        }
    };
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        let written = write!(stdout, $($arg)*).and_then(|()| stdout.flush());
        out!(@check written);
    }};
}

/// [`outln!`] for a program whose body runs in [`catch_closed_stdout`]
/// (reached as `crate::common::out`): a closed stdout unwinds to it.
macro_rules! outln_unwind {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let written = writeln!(std::io::stdout().lock(), $($arg)*);
        $crate::common::out::unwind_on_error(written);
    }};
}

/// [`out!`] for a program whose body runs in [`catch_closed_stdout`].
macro_rules! out_unwind {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        let written = write!(stdout, $($arg)*).and_then(|()| stdout.flush());
        $crate::common::out::unwind_on_error(written);
    }};
}

/// What unwinds from `outln_unwind!` to [`catch_closed_stdout`].
#[derive(Debug)]
pub struct StdoutGone {
    /// The reader closed the pipe (status 0), rather than a write failing
    /// otherwise (status 1).
    pub closed: bool,
}

/// Unwinds with [`StdoutGone`] if `written` failed (saying why on stderr
/// unless the reader closed the pipe). The panic hook does not run, so
/// nothing is printed.
pub fn unwind_on_error(written: io::Result<()>) {
    if let Err(error) = written {
        let closed = error.kind() == io::ErrorKind::BrokenPipe;
        if !closed {
            eprintln!("cannot write to stdout: {error}");
        }
        panic::resume_unwind(Box::new(StdoutGone { closed }));
    }
}

/// Runs `body`; if it unwinds because stdout is gone, every destructor on
/// the way has run and the status is 0 for a closed pipe, 1 otherwise.
/// Any other panic goes on unwinding.
pub fn catch_closed_stdout(body: impl FnOnce() -> ExitCode) -> ExitCode {
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(code) => code,
        Err(payload) => match payload.downcast::<StdoutGone>() {
            Ok(gone) if gone.closed => ExitCode::SUCCESS,
            Ok(_) => ExitCode::FAILURE,
            Err(payload) => panic::resume_unwind(payload),
        },
    }
}
