//! Bounded file reads: every file the exporter reads (web config, PEM files,
//! token and DSN files) goes through [`read_bounded`], which refuses devices,
//! FIFOs and oversized files with a clear error instead of reading them whole.
//!
//! The limits are deliberately generous for real files (a DSN is a line, a
//! PEM bundle is tens of kilobytes) and small enough that a mistaken path
//! such as `/dev/zero` costs nothing.

use std::io::Read as _;
use std::path::Path;

/// A secret file (DSN, bearer token): one line in practice.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 << 10;
/// A PEM file: certificate bundles such as the Mozilla roots are ~250 KB.
pub const MAX_PEM_FILE_BYTES: u64 = 1 << 20;
/// The web config file (YAML, a handful of keys).
pub const MAX_WEB_CONFIG_BYTES: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a regular file")]
    NotRegular { path: String },
    #[error("{path} is larger than {limit} bytes")]
    TooLarge { path: String, limit: u64 },
    #[error("{path} is not valid UTF-8")]
    NotUtf8 { path: String },
}

/// Reads at most `limit` bytes of a regular file. The metadata check refuses
/// devices and FIFOs before opening them for reading would block or stream
/// forever; the `take(limit + 1)` catches a file that grows after the check.
pub fn read_bounded_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let name = || path.display().to_string();
    let io = |source| ReadError::Io {
        path: name(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular { path: name() });
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            path: name(),
            limit,
        });
    }
    let f = std::fs::File::open(path).map_err(io)?;
    let mut out = Vec::with_capacity(meta.len() as usize);
    f.take(limit + 1).read_to_end(&mut out).map_err(io)?;
    if out.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            path: name(),
            limit,
        });
    }
    Ok(out)
}

/// [`read_bounded_bytes`] for UTF-8 text.
pub fn read_bounded(path: &Path, limit: u64) -> Result<String, ReadError> {
    String::from_utf8(read_bounded_bytes(path, limit)?).map_err(|_| ReadError::NotUtf8 {
        path: path.display().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_devices_and_oversized_files() {
        let e = read_bounded(Path::new("/dev/zero"), 1024).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular { .. }), "{e}");
        let dir = std::env::temp_dir().join(format!("pgmig-limits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big = dir.join("big");
        std::fs::write(&big, vec![b'x'; 2048]).unwrap();
        let e = read_bounded(&big, 1024).unwrap_err();
        assert!(e.to_string().contains("larger than 1024 bytes"), "{e}");
        assert_eq!(read_bounded(&big, 4096).unwrap().len(), 2048);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
