//! `-o DIR`: which file each URL's body goes to, without replacing a file
//! unless `--clobber` says so. The library streams each 2xx body to its
//! file (`Request::to_file`: in `<file>.part`, renamed once complete and
//! checked), resuming after a cut, and with `-C` continues what an earlier
//! run left (`Request::continue_partial`).
//!
//! Names are settled before anything is fetched, in input order: a URL
//! whose file exists (without `--clobber` or `-C`), or whose name an
//! earlier URL of the same run took, fails at once and is not fetched.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;

use crate::args::{Args, Naming};
use crate::output::{Failure, Outcome};

/// Where a URL's body is to be written.
#[derive(Debug, Clone)]
pub struct Target {
    pub path: PathBuf,
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
        if args.output.output_dir.is_none() && (args.output.resume.is_some() || args.output.clobber)
        {
            return Err("-C and --clobber apply to the files of -o DIR, and no -o is given".into());
        }
        if let Some(dir) = &args.output.output_dir {
            if dir.exists() && !dir.is_dir() {
                return Err(format!(
                    "-o {}: it is a file, not a directory: -o names the directory the files go to",
                    dir.display()
                ));
            }
            fs::create_dir_all(dir)
                .map_err(|e| format!("-o {}: cannot create it: {e}", dir.display()))?;
        }
        Ok(Files {
            dir: args.output.output_dir.clone(),
            naming: args.output.name,
            clobber: args.output.clobber,
            resume: args.output.resume.is_some(),
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
        // With -C a file that exists is the start of the body.
        if !self.resume && !self.clobber && path.exists() {
            return Err(Failure::write(format!(
                "{} exists; --clobber replaces it ({url})",
                path.display()
            )));
        }
        self.taken.insert(name, index + 1);
        Ok(Some(Target { path }))
    }
}

/// Notes where the body of a URL with a file went: the library streamed a
/// 2xx body to it (`Response::download`). A `416` that found the file
/// complete already (`-C`) is no failure, even with `--fail`.
pub fn saved(mut outcome: Outcome) -> Outcome {
    let Some(download) = outcome.response.as_ref().and_then(|r| r.download()) else {
        return outcome;
    };
    if download.already_complete {
        outcome.failure = None;
    }
    outcome.saved = Some(download.path.clone());
    outcome
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
    // A `%` not followed by two hex digits stays.
    let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
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
