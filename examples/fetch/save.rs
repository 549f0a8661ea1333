//! `-o DIR`: which file each URL's body goes to, and writing it without
//! replacing a file unless `--clobber` says so.
//!
//! Names are settled before anything is fetched, in input order: a URL
//! whose file exists (without `--clobber`), or whose name an earlier URL of
//! the same run took, fails at once and is not fetched.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;

use crate::args::{Args, Naming};
use crate::output::{Failure, Outcome};

/// Where a URL's body is to be written.
#[derive(Debug, Clone)]
pub struct Target {
    pub path: PathBuf,
    /// With `-C`: the length of the part already on disk, whose rest is
    /// asked for with `Range: bytes=N-`.
    pub resume_from: Option<u64>,
}

/// The `-o` directory and the names taken in it.
#[derive(Debug)]
pub struct Files {
    dir: Option<PathBuf>,
    naming: Naming,
    clobber: bool,
    resume: bool,
    /// File name → the input position (from 1) of the URL that took it.
    taken: HashMap<String, usize>,
    /// Digits of the largest input position, for `--name index`.
    width: usize,
}

impl Files {
    /// Creates the `-o` directory if it is missing.
    pub fn new(args: &Args, count: usize) -> Result<Files, String> {
        if args.output_dir.is_none() && (args.resume.is_some() || args.clobber) {
            return Err("-C and --clobber apply to the files of -o DIR, and no -o is given".into());
        }
        if let Some(dir) = &args.output_dir {
            fs::create_dir_all(dir)
                .map_err(|e| format!("-o {}: cannot create it: {e}", dir.display()))?;
        }
        Ok(Files {
            dir: args.output_dir.clone(),
            naming: args.name,
            clobber: args.clobber,
            resume: args.resume.is_some(),
            taken: HashMap::new(),
            width: count.to_string().len(),
        })
    }

    /// The file for the URL at `index` (from 0), `None` without `-o`; a
    /// failure when the file must not be written.
    pub fn target(&mut self, index: usize, url: &str) -> Result<Option<Target>, Failure> {
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        let from_path = name_from_url(url);
        let name = match self.naming {
            Naming::Path => from_path,
            Naming::Index => {
                let extension = from_path
                    .rsplit_once('.')
                    .map(|(_, ext)| ext)
                    .filter(|ext| {
                        !ext.is_empty()
                            && ext.len() <= 8
                            && ext.bytes().all(|b| b.is_ascii_alphanumeric())
                    })
                    .map_or_else(String::new, |ext| format!(".{ext}"));
                format!("{:0width$}{extension}", index + 1, width = self.width)
            }
        };
        let path = dir.join(&name);
        if let Some(earlier) = self.taken.get(&name) {
            return Err(Failure::write(format!(
                "{} is also the file of URL {earlier} of the input; use --name index for \
                 names that cannot collide ({url})",
                path.display()
            )));
        }
        let resume_from = if self.resume {
            fs::metadata(&path).ok().map(|m| m.len()).filter(|n| *n > 0)
        } else {
            None
        };
        if resume_from.is_none() && !self.clobber && path.exists() {
            return Err(Failure::write(format!(
                "{} exists; --clobber replaces it ({url})",
                path.display()
            )));
        }
        self.taken.insert(name, index + 1);
        Ok(Some(Target { path, resume_from }))
    }

    /// Writes the body of a 2xx response that is no failure to its file;
    /// anything else is left as it is. A resumed file takes a `206` whose
    /// range starts where the file ends, starts again on a `200` (the
    /// server sent the whole body), and is complete already on a `416`
    /// (RFC 9110 §14.4, §15.5.17).
    pub fn save(&self, mut outcome: Outcome, target: &Target) -> Outcome {
        let Some(response) = &outcome.response else {
            return outcome;
        };
        let status = response.status().as_u16();
        let complete_length = complete_length(response);
        if target.resume_from.is_some() && status == 416 {
            // Not a failure under --fail: the file was complete.
            outcome.failure = None;
        }
        if outcome.failure.is_some() {
            return outcome;
        }
        let written = match (target.resume_from, status) {
            (Some(from), 416) if complete_length == Some(from) => Ok(()),
            (Some(from), 416) => Err(io::Error::other(format!(
                "the server refused the range from byte {from}, and its length is not the file's"
            ))),
            (Some(from), 206) => match range_start(response) {
                Some(start) if start == from => append(&target.path, response.body()),
                _ => Err(io::Error::other(format!(
                    "the server's 206 range does not start at byte {from}, where the file ends"
                ))),
            },
            (Some(_), 200..=299) => write(&target.path, response.body(), true),
            (None, 200..=299) => write(&target.path, response.body(), self.clobber),
            _ => return outcome,
        };
        match written {
            Ok(()) => outcome.saved = Some(target.path.clone()),
            Err(error) => {
                outcome.failure = Some(Failure::write(format!(
                    "cannot write {}: {error} ({})",
                    target.path.display(),
                    outcome.url
                )));
            }
        }
        outcome
    }
}

/// The first byte of a `Content-Range: bytes FIRST-LAST/LENGTH`.
fn range_start(response: &multifetch::Response) -> Option<u64> {
    let value = response.header("content-range")?.to_str().ok()?;
    let (first, _) = value.strip_prefix("bytes ")?.split_once('-')?;
    first.trim().parse().ok()
}

/// The complete length of a `416`'s `Content-Range: bytes */LENGTH`.
fn complete_length(response: &multifetch::Response) -> Option<u64> {
    let value = response.header("content-range")?.to_str().ok()?;
    value.strip_prefix("bytes */")?.trim().parse().ok()
}

/// Appends `body` to the file at `path`.
fn append(path: &std::path::Path, body: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().append(true).open(path)?;
    file.write_all(body)?;
    file.sync_data()
}

/// Writes `body` to `path`; without `clobber` only as a new file, so a
/// file that appeared since the names were settled is not replaced.
fn write(path: &std::path::Path, body: &[u8], clobber: bool) -> io::Result<()> {
    let mut file = if clobber {
        fs::File::create(path)?
    } else {
        OpenOptions::new().write(true).create_new(true).open(path)?
    };
    file.write_all(body)?;
    file.sync_data()
}

/// The file name for `url`: its last path segment, percent-decoded, with
/// characters no file name should hold replaced by `_`; `index.html` for a
/// path that ends in `/` (as wget names it).
pub fn name_from_url(url: &str) -> String {
    let path = url::Url::parse(url)
        .ok()
        .map(|url| url.path().to_owned())
        .unwrap_or_default();
    let segment = path.rsplit('/').next().unwrap_or_default();
    let decoded = String::from_utf8_lossy(&percent_decode(segment)).into_owned();
    let name: String = decoded
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    match name.as_str() {
        "" | "." | ".." => "index.html".to_owned(),
        _ => name,
    }
}

/// `%XX` escapes as bytes; a `%` not followed by two hex digits stays.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|h| (*h as char).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}
