//! Where a response body goes: the per-request [`Target`] a [`Request`]
//! names (memory, a file, a caller's `io::Write`, or chunks handed to the
//! caller through the reactor), and the file half of it, [`PartFile`]: the
//! body grows in `<target>.part` beside the target and is renamed into place
//! only once it is complete and checked.
//!
//! ```text
//!  to_file("x.iso"):  x.iso.part ──write──▶ x.iso.part ──complete + length checked──▶ rename ──▶ x.iso
//!                          │                                                                      
//!                          └── failure (after the automatic resumes) ──▶ removed
//!                              (kept for a later run with `continue_partial(true)`)
//! ```
//!
//! Only file system calls of `std::fs` here (portable); no sockets, no clock.
//!
//! [`Request`]: crate::Request

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// The suffix of the file a download grows in, beside its target.
pub const PART_SUFFIX: &str = ".part";

/// Default for [`Request::max_resumes`](crate::Request::max_resumes).
pub const DEFAULT_MAX_RESUMES: u32 = 3;

/// A caller's writer, shared by the clones of the request that names it.
#[derive(Clone)]
pub(crate) struct SharedWriter(pub(crate) Arc<Mutex<dyn Write + Send>>);

impl SharedWriter {
    /// Writes as much of `buf` as the writer takes in one call.
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write(buf)
    }

    /// Flushes the writer once the body is complete.
    pub(crate) fn flush(&self) -> io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
}

/// Where the body of a request's successful (2xx) response goes.
#[derive(Clone, Default)]
pub(crate) enum Target {
    /// Kept in memory, in [`Response::body`](crate::Response::body).
    #[default]
    Memory,
    /// Written to this file (through `<path>.part`).
    File(PathBuf),
    /// Written to the caller's writer.
    Writer(SharedWriter),
    /// Handed to the caller as `Event::Chunk`s.
    Chunks,
}

impl Target {
    /// True unless the body is kept in memory.
    pub(crate) fn is_streamed(&self) -> bool {
        !matches!(self, Target::Memory)
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Memory => f.write_str("Memory"),
            Target::File(path) => f.debug_tuple("File").field(path).finish(),
            Target::Writer(_) => f.write_str("Writer(..)"),
            Target::Chunks => f.write_str("Chunks"),
        }
    }
}

/// How a file download resumes (see [`Request::max_resumes`] and
/// [`Request::continue_partial`]).
///
/// [`Request::max_resumes`]: crate::Request::max_resumes
/// [`Request::continue_partial`]: crate::Request::continue_partial
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResumeSettings {
    pub max_resumes: u32,
    pub continue_partial: bool,
}

impl Default for ResumeSettings {
    fn default() -> Self {
        ResumeSettings {
            max_resumes: DEFAULT_MAX_RESUMES,
            continue_partial: false,
        }
    }
}

/// `<target>.part`, beside the target.
pub(crate) fn part_path(target: &Path) -> PathBuf {
    let mut name = target
        .file_name()
        .map_or_else(OsString::new, OsString::from);
    name.push(PART_SUFFIX);
    target.with_file_name(name)
}

/// The file a download grows in, `<target>.part`. It is removed when the
/// value is dropped unless [`finish`](Self::finish) moved it into place or
/// [`keep`](Self::keep) was asked for.
#[derive(Debug)]
pub(crate) struct PartFile {
    target: PathBuf,
    part: PathBuf,
    /// Open while bytes are being written.
    file: Option<File>,
    /// Bytes in the file.
    len: u64,
    /// Keep the file when the download fails (for a later run to continue).
    keep: bool,
    /// Set once the file was renamed to the target (or found complete).
    done: bool,
}

impl PartFile {
    /// The part file of `target`, for a download starting from nothing
    /// (`continue_partial` false: any old part file is overwritten when the
    /// first bytes arrive), or from what an earlier run left: `<target>.part`
    /// if it exists, else the target itself (moved to `<target>.part` first).
    ///
    /// # Errors
    ///
    /// The target has no file name, or a file operation failed.
    pub(crate) fn new(target: PathBuf, continue_partial: bool) -> io::Result<PartFile> {
        if target.file_name().is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path names no file",
            ));
        }
        let part = part_path(&target);
        let mut len = 0;
        if continue_partial {
            len = match fs::metadata(&part) {
                Ok(meta) => meta.len(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => match fs::metadata(&target) {
                    Ok(meta) if meta.is_file() => {
                        fs::rename(&target, &part)?;
                        meta.len()
                    }
                    Ok(_) => 0,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
                    Err(e) => return Err(e),
                },
                Err(e) => return Err(e),
            };
        }
        Ok(PartFile {
            target,
            part,
            file: None,
            len,
            keep: continue_partial,
            done: false,
        })
    }

    /// Where the download ends up.
    pub(crate) fn target(&self) -> &Path {
        &self.target
    }

    /// Where it grows.
    pub(crate) fn part(&self) -> &Path {
        &self.part
    }

    /// Bytes in the part file.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Opens the part file to write from byte `from` on: 0 starts the body
    /// afresh (the file is truncated), the current length appends.
    ///
    /// # Errors
    ///
    /// The file cannot be created, opened or truncated; `from` is neither 0
    /// nor the file's length.
    pub(crate) fn open_at(&mut self, from: u64) -> io::Result<()> {
        self.file = None;
        if from != 0 && from != self.len {
            return Err(io::Error::other(format!(
                "the part file holds {} bytes, not the {from} the resumed body starts at",
                self.len
            )));
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.part)?;
        if from == 0 {
            file.set_len(0)?;
        }
        let at = file.seek(SeekFrom::End(0))?;
        if at != from {
            return Err(io::Error::other(format!(
                "the part file holds {at} bytes, not the {from} expected"
            )));
        }
        self.len = from;
        self.file = Some(file);
        Ok(())
    }

    /// Writes as much of `buf` as the file takes.
    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("the part file is not open"))?;
        let n = file.write(buf)?;
        self.len += n as u64;
        Ok(n)
    }

    /// Closes the file (a failed attempt; a resume reopens it).
    pub(crate) fn close(&mut self) {
        self.file = None;
    }

    /// The body is complete and checked: moves the part file into place.
    ///
    /// # Errors
    ///
    /// The rename failed.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        if let Some(file) = self.file.take() {
            drop(file);
        }
        fs::rename(&self.part, &self.target)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        self.file = None;
        if !self.done && !self.keep {
            // Best effort: a file that cannot be removed is left behind,
            // never at the target path.
            let _ = fs::remove_file(&self.part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("multifetch-sink-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_part_file_sits_beside_the_target() {
        assert_eq!(
            part_path(Path::new("/a/b/c.iso")),
            Path::new("/a/b/c.iso.part")
        );
        assert_eq!(part_path(Path::new("c")), Path::new("c.part"));
    }

    #[test]
    fn a_finished_file_is_renamed_and_a_dropped_one_removed() {
        let dir = dir("finish");
        let target = dir.join("out.bin");
        let mut part = PartFile::new(target.clone(), false).unwrap();
        part.open_at(0).unwrap();
        assert_eq!(part.write(b"hello").unwrap(), 5);
        assert!(dir.join("out.bin.part").exists() && !target.exists());
        part.finish().unwrap();
        drop(part);
        assert_eq!(fs::read(&target).unwrap(), b"hello");
        assert!(!dir.join("out.bin.part").exists());

        let mut part = PartFile::new(dir.join("gone.bin"), false).unwrap();
        part.open_at(0).unwrap();
        part.write(b"half").unwrap();
        drop(part);
        assert!(!dir.join("gone.bin.part").exists() && !dir.join("gone.bin").exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn continuing_picks_up_the_part_file_or_the_target() {
        let dir = dir("continue");
        let target = dir.join("x");
        fs::write(dir.join("x.part"), b"0123").unwrap();
        let mut part = PartFile::new(target.clone(), true).unwrap();
        assert_eq!(part.len(), 4);
        assert!(part.open_at(3).is_err(), "only the end of the file resumes");
        part.open_at(4).unwrap();
        part.write(b"45").unwrap();
        drop(part);
        assert_eq!(
            fs::read(dir.join("x.part")).unwrap(),
            b"012345",
            "kept when continuing"
        );
        fs::remove_file(dir.join("x.part")).unwrap();

        fs::write(&target, b"abc").unwrap();
        let mut part = PartFile::new(target.clone(), true).unwrap();
        assert_eq!(part.len(), 3);
        assert!(!target.exists(), "the target moved to the part file");
        part.open_at(0).unwrap();
        part.write(b"new").unwrap();
        part.finish().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert!(PartFile::new(dir.clone(), false).is_ok());
        assert!(PartFile::new(PathBuf::from("/"), false).is_err());
        fs::remove_dir_all(dir).unwrap();
    }
}
