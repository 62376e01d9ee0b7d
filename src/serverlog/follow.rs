//! Following the log files of one server: which file is current, reading it
//! from where the last poll stopped, rotation and truncation.
//!
//! - **Current file**: the files of the directory whose names match the
//!   pattern and end in the format's suffix (`.json`, `.csv`, `.log`), ordered
//!   by modification time (then name). At start-up the newest one is opened
//!   at its end, so entries written before the exporter started are not
//!   counted; when the end is in the middle of an entry, the reader skips to
//!   the next entry boundary. A file that appears later is read from its
//!   beginning.
//! - **Rotation**: the directory is listed *before* the current file is read
//!   to its end. The syslogger creates the new file before it writes to it
//!   and never writes to the old one again, so once a newer file is listed,
//!   everything the old one will ever hold is there: it is read to its end,
//!   then the reader moves to the next file in order (from offset 0), and so
//!   on. The old file stays open while it is finished, so a file renamed or
//!   deleted meanwhile is still read to its end. No entry is lost or counted
//!   twice.
//! - **Truncation**: a current file smaller than the offset read so far was
//!   truncated (`copytruncate`, or by hand): reading restarts at 0.
//! - **Bounded work**: one buffer (1 MiB) per target, allocated once; an
//!   entry longer than that is parsed from its first megabyte (every field
//!   needed comes early) and the rest is skipped. One poll reads at most
//!   `budget` bytes; the rest waits for the next poll and shows as lag.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::parse::{self, Entry, Parsed, Prefix, Scratch};

/// The size of the read buffer: the longest entry parsed whole.
pub const BUFFER_SIZE: usize = 1 << 20;

/// The format of one log file, from its suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Json,
    Csv,
    Stderr,
}

impl FileFormat {
    pub fn suffix(self) -> &'static str {
        match self {
            FileFormat::Json => ".json",
            FileFormat::Csv => ".csv",
            FileFormat::Stderr => ".log",
        }
    }
}

/// A file-name pattern with `*` (any run of characters) and `?` (one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(pub String);

impl Glob {
    pub fn matches(&self, name: &str) -> bool {
        fn m(p: &[u8], s: &[u8]) -> bool {
            match p.split_first() {
                None => s.is_empty(),
                Some((b'*', rest)) => (0..=s.len()).any(|i| m(rest, &s[i..])),
                Some((b'?', rest)) => !s.is_empty() && m(rest, &s[1..]),
                Some((c, rest)) => s.first() == Some(c) && m(rest, &s[1..]),
            }
        }
        m(self.0.as_bytes(), name.as_bytes())
    }
}

/// What to follow.
#[derive(Debug, Clone)]
pub struct Options {
    pub directory: PathBuf,
    /// Only file names matching this (besides the suffix).
    pub pattern: Option<Glob>,
    /// The formats accepted, in order of preference: with several, the
    /// first one that has files in the directory is followed (`auto`).
    pub formats: Vec<FileFormat>,
    /// For stderr files.
    pub prefix: Option<Prefix>,
}

/// What the follower has seen since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Entries read (a csvlog record spanning lines is one; stderr continuation lines are not counted).
    pub lines: u64,
    pub unparsed: u64,
    pub rotations: u64,
    pub truncations: u64,
    /// Bytes between the read position and the end of the log (the current file and any newer ones).
    pub lag_bytes: u64,
    /// The file being read.
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
struct Candidate {
    path: PathBuf,
    name: String,
    mtime: i128,
    size: u64,
    dev: u64,
    ino: u64,
    format: FileFormat,
}

impl Candidate {
    fn key(&self) -> (i128, &str) {
        (self.mtime, &self.name)
    }
}

#[derive(Debug)]
struct Current {
    file: File,
    name: String,
    dev: u64,
    ino: u64,
    offset: u64,
    format: FileFormat,
}

/// How the reader is skipping bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    None,
    /// To the end of the entry under way (started mid-entry, or an entry longer than the buffer).
    ToRecordEnd,
    /// csvlog, started inside an entry whose quoting is unknown: to a line
    /// that starts like a record (`YYYY-MM-DD HH:MM:SS`).
    CsvResync,
}

pub struct Follower {
    opts: Options,
    started: bool,
    cur: Option<Current>,
    buf: Vec<u8>,
    filled: usize,
    start: usize,
    scan: usize,
    in_quotes: bool,
    skip: Skip,
    scratch: Scratch,
    pub stats: Stats,
}

fn mtime_ns(m: &std::fs::Metadata) -> i128 {
    m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128
}

impl Follower {
    pub fn new(opts: Options) -> Follower {
        Follower {
            opts,
            started: false,
            cur: None,
            buf: vec![0; BUFFER_SIZE],
            filled: 0,
            start: 0,
            scan: 0,
            in_quotes: false,
            skip: Skip::None,
            scratch: Scratch::default(),
            stats: Stats::default(),
        }
    }

    pub fn is_following(&self) -> bool {
        self.cur.is_some()
    }

    /// The log files, oldest first, of the preferred format present.
    fn list(&self) -> io::Result<Vec<Candidate>> {
        let mut out: Vec<Candidate> = Vec::new();
        for e in std::fs::read_dir(&self.opts.directory)? {
            let e = e?;
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            let Some(format) = self
                .opts
                .formats
                .iter()
                .copied()
                .find(|f| name.ends_with(f.suffix()))
            else {
                continue;
            };
            if self
                .opts
                .pattern
                .as_ref()
                .is_some_and(|p| !p.matches(&name))
            {
                continue;
            }
            let path = e.path();
            // Follows symlinks; a file deleted since read_dir is skipped.
            let Ok(m) = std::fs::metadata(&path) else {
                continue;
            };
            if !m.is_file() {
                continue;
            }
            out.push(Candidate {
                mtime: mtime_ns(&m),
                size: m.len(),
                dev: m.dev(),
                ino: m.ino(),
                path,
                name,
                format,
            });
        }
        if let Some(best) = self
            .opts
            .formats
            .iter()
            .find(|f| out.iter().any(|c| c.format == **f))
        {
            out.retain(|c| c.format == *best);
        }
        out.sort_by(|a, b| a.key().cmp(&b.key()));
        Ok(out)
    }

    fn reset_buffer(&mut self) {
        self.filled = 0;
        self.start = 0;
        self.scan = 0;
        self.in_quotes = false;
        self.skip = Skip::None;
    }

    fn open(&mut self, c: &Candidate, at_end: bool) -> io::Result<()> {
        let file = File::open(&c.path)?;
        let m = file.metadata()?;
        let offset = if at_end { m.len() } else { 0 };
        self.reset_buffer();
        if offset > 0 {
            self.skip = match c.format {
                FileFormat::Csv => {
                    if csv_ends_at_record_boundary(&file, offset)? {
                        Skip::None
                    } else {
                        Skip::CsvResync
                    }
                }
                _ => {
                    let mut last = [0u8];
                    file.read_exact_at(&mut last, offset - 1)?;
                    if last[0] == b'\n' {
                        Skip::None
                    } else {
                        Skip::ToRecordEnd
                    }
                }
            };
        }
        self.stats.file = Some(c.path.clone());
        self.cur = Some(Current {
            file,
            name: c.name.clone(),
            dev: m.dev(),
            ino: m.ino(),
            offset,
            format: c.format,
        });
        Ok(())
    }

    /// Reads what was written since the last poll, following rotations, up
    /// to `budget` bytes; calls `on_error` for each error entry. Returns
    /// whether it reached the end of the log.
    pub fn poll(&mut self, budget: u64, on_error: &mut dyn FnMut(&Entry)) -> io::Result<bool> {
        let listing = self.list()?;
        if !self.started {
            // Start-up: the end of the newest file. `started` is set only once
            // that worked, so a file that cannot be opened yet is not later
            // read from its beginning.
            if let Some(newest) = listing.last() {
                self.open(newest, true)?;
            }
            self.started = true;
        }
        if self.cur.is_none() {
            match listing.first() {
                Some(oldest) => self.open(oldest, false)?,
                None => {
                    self.stats.lag_bytes = 0;
                    return Ok(true);
                }
            }
        }
        let mut read = 0u64;
        let caught_up = loop {
            if !self.read_current(&mut read, budget, on_error)? {
                break false;
            }
            match self.successor(&listing)? {
                Some(next) => {
                    self.finish_current(on_error);
                    self.open(&next, false)?;
                    self.stats.rotations += 1;
                }
                None => break true,
            }
        };
        self.stats.lag_bytes = self.lag(&listing)?;
        Ok(caught_up)
    }

    /// The next file after the current one, if the listing has one.
    fn successor(&self, listing: &[Candidate]) -> io::Result<Option<Candidate>> {
        let cur = self.cur.as_ref().expect("a current file");
        if let Some(i) = listing
            .iter()
            .position(|c| c.dev == cur.dev && c.ino == cur.ino)
        {
            return Ok(listing.get(i + 1).cloned());
        }
        // Renamed or deleted: whatever was modified after it last was.
        let m = cur.file.metadata()?;
        let key = (mtime_ns(&m), cur.name.as_str());
        Ok(listing.iter().find(|c| c.key() > key).cloned())
    }

    fn lag(&self, listing: &[Candidate]) -> io::Result<u64> {
        let Some(cur) = &self.cur else { return Ok(0) };
        let size = cur.file.metadata()?.len();
        let mut lag = size.saturating_sub(cur.offset);
        let after = listing
            .iter()
            .position(|c| c.dev == cur.dev && c.ino == cur.ino)
            .map_or(listing.len(), |i| i + 1);
        lag += listing[after..].iter().map(|c| c.size).sum::<u64>();
        Ok(lag)
    }

    /// Reads the current file to its end (or the budget). Returns whether it got to the end.
    fn read_current(
        &mut self,
        read: &mut u64,
        budget: u64,
        on_error: &mut dyn FnMut(&Entry),
    ) -> io::Result<bool> {
        let size = self
            .cur
            .as_ref()
            .expect("a current file")
            .file
            .metadata()?
            .len();
        if size < self.cur.as_ref().expect("a current file").offset {
            self.reset_buffer();
            self.cur.as_mut().expect("a current file").offset = 0;
            self.stats.truncations += 1;
        }
        loop {
            if *read >= budget {
                return Ok(false);
            }
            if self.filled == self.buf.len() {
                self.buffer_full(on_error);
            }
            let cur = self.cur.as_mut().expect("a current file");
            let n = cur.file.read_at(&mut self.buf[self.filled..], cur.offset)?;
            if n == 0 {
                return Ok(true);
            }
            cur.offset += n as u64;
            self.filled += n;
            *read += n as u64;
            self.process(on_error);
        }
    }

    /// The buffer holds part of one entry and no end: parse its head, skip the rest.
    fn buffer_full(&mut self, on_error: &mut dyn FnMut(&Entry)) {
        if self.skip == Skip::None {
            let format = self.cur.as_ref().expect("a current file").format;
            handle(
                &self.buf[..self.filled],
                format,
                self.opts.prefix.as_ref(),
                &mut self.scratch,
                &mut self.stats,
                on_error,
            );
            self.skip = Skip::ToRecordEnd;
        }
        // The quoting state up to `scan` carries on.
        self.filled = 0;
        self.start = 0;
        self.scan = 0;
    }

    /// The old file is complete: an entry left without its newline is still one.
    fn finish_current(&mut self, on_error: &mut dyn FnMut(&Entry)) {
        if self.skip == Skip::None && self.filled > self.start {
            let format = self.cur.as_ref().expect("a current file").format;
            handle(
                &self.buf[self.start..self.filled],
                format,
                self.opts.prefix.as_ref(),
                &mut self.scratch,
                &mut self.stats,
                on_error,
            );
        }
        self.reset_buffer();
    }

    /// The end (index of the newline) of the entry starting at `start`, scanning from `scan`.
    fn record_end(&mut self, format: FileFormat) -> Option<usize> {
        let data = &self.buf[self.scan..self.filled];
        let found = if format == FileFormat::Csv {
            let mut q = self.in_quotes;
            let mut hit = None;
            for (i, &c) in data.iter().enumerate() {
                if c == b'"' {
                    q = !q;
                } else if c == b'\n' && !q {
                    hit = Some(i);
                    break;
                }
            }
            self.in_quotes = q;
            hit
        } else {
            data.iter().position(|&c| c == b'\n')
        };
        match found {
            Some(i) => {
                let end = self.scan + i;
                self.scan = end + 1;
                self.in_quotes = false;
                Some(end)
            }
            None => {
                self.scan = self.filled;
                None
            }
        }
    }

    fn process(&mut self, on_error: &mut dyn FnMut(&Entry)) {
        let format = self.cur.as_ref().expect("a current file").format;
        loop {
            match self.skip {
                Skip::None => {}
                Skip::ToRecordEnd => match self.record_end(format) {
                    Some(e) => {
                        self.start = e + 1;
                        self.skip = Skip::None;
                    }
                    None => {
                        self.start = self.filled;
                        break;
                    }
                },
                Skip::CsvResync => {
                    match self.buf[self.scan..self.filled]
                        .iter()
                        .position(|&c| c == b'\n')
                    {
                        None => {
                            self.start = self.filled;
                            self.scan = self.filled;
                            break;
                        }
                        Some(i) => {
                            let nl = self.scan + i;
                            self.start = nl;
                            let next = &self.buf[nl + 1..self.filled];
                            if next.len() < 19 {
                                // Wait for enough of the next line.
                                self.scan = nl;
                                break;
                            }
                            self.scan = nl + 1;
                            if parse::looks_like_csv_record_start(next) {
                                self.start = nl + 1;
                                self.in_quotes = false;
                                self.skip = Skip::None;
                            }
                            continue;
                        }
                    }
                }
            }
            match self.record_end(format) {
                Some(e) => {
                    handle(
                        &self.buf[self.start..e],
                        format,
                        self.opts.prefix.as_ref(),
                        &mut self.scratch,
                        &mut self.stats,
                        on_error,
                    );
                    self.start = e + 1;
                }
                None => break,
            }
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.scan -= self.start;
            self.start = 0;
        }
    }
}

fn handle(
    rec: &[u8],
    format: FileFormat,
    prefix: Option<&Prefix>,
    scratch: &mut Scratch,
    stats: &mut Stats,
    on_error: &mut dyn FnMut(&Entry),
) {
    let rec = rec.strip_suffix(b"\r").unwrap_or(rec);
    let r = match (format, prefix) {
        (FileFormat::Json, _) => parse::jsonlog(rec, scratch),
        (FileFormat::Csv, _) => parse::csvlog(rec, scratch),
        (FileFormat::Stderr, Some(p)) => p.parse_line(rec, scratch),
        (FileFormat::Stderr, None) => Err(parse::Unparsable),
    };
    match r {
        Ok(Parsed::Error(e)) => {
            stats.lines += 1;
            on_error(&e);
        }
        Ok(Parsed::Other) => stats.lines += 1,
        Ok(Parsed::Continuation) => {}
        Err(_) => {
            stats.lines += 1;
            stats.unparsed += 1;
        }
    }
}

/// Whether a csvlog file of `size` bytes ends at a record boundary: from the
/// last line in its final 64 KiB that starts like a record, the quotes balance
/// and the file ends with a newline.
fn csv_ends_at_record_boundary(file: &File, size: u64) -> io::Result<bool> {
    let n = size.min(64 * 1024);
    let mut tail = vec![0u8; n as usize];
    file.read_exact_at(&mut tail, size - n)?;
    if tail.last() != Some(&b'\n') {
        return Ok(false);
    }
    let at_file_start = n == size;
    let mut start = None;
    for i in (0..tail.len()).rev() {
        if (i == 0 && at_file_start || i > 0 && tail[i - 1] == b'\n')
            && parse::looks_like_csv_record_start(&tail[i..])
        {
            start = Some(i);
            break;
        }
    }
    let Some(start) = start else { return Ok(false) };
    let quotes = tail[start..].iter().filter(|&&c| c == b'"').count();
    Ok(quotes % 2 == 0)
}

/// The path a follower reads, for log messages.
pub fn display(p: &Option<PathBuf>) -> String {
    p.as_deref()
        .map(Path::display)
        .map(|d| d.to_string())
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn tmp(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("pgmig-follow-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn json(code: &str, db: &str) -> String {
        format!(
            "{{\"timestamp\":\"2026-01-01 00:00:00.000 UTC\",\"user\":\"u\",\"dbname\":\"{db}\",\"pid\":1,\"error_severity\":\"ERROR\",\"state_code\":\"{code}\",\"message\":\"m\"}}\n"
        )
    }

    fn append(p: &Path, s: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap();
        f.write_all(s.as_bytes()).unwrap();
    }

    fn follower(dir: &Path, formats: Vec<FileFormat>) -> Follower {
        Follower::new(Options {
            directory: dir.to_path_buf(),
            pattern: None,
            formats,
            prefix: None,
        })
    }

    fn poll(f: &mut Follower) -> Vec<String> {
        let mut got = Vec::new();
        f.poll(u64::MAX, &mut |e| {
            got.push(format!(
                "{}/{}",
                std::str::from_utf8(&e.code).unwrap(),
                e.datname
            ))
        })
        .unwrap();
        got
    }

    /// Files get distinct modification times even on coarse clocks.
    fn later() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    #[test]
    fn starts_at_the_end_then_follows_appends_and_rotation() {
        let d = tmp("rotate");
        let a = d.0.join("postgresql-1.json");
        append(&a, &json("42P01", "old"));
        append(&a, "{\"partial\":");
        let mut f = follower(&d.0, vec![FileFormat::Json]);
        assert!(
            poll(&mut f).is_empty(),
            "entries before start-up are not counted"
        );
        append(&a, "\"rest of a line written before start-up\"}\n");
        append(&a, &json("23505", "x"));
        assert_eq!(poll(&mut f), ["23505/x"]);
        assert_eq!(f.stats.unparsed, 0);
        // Written to the old file, then rotated, then written to the new one,
        // all between two polls; the old one's last entry has no newline yet.
        append(&a, &json("42P10", "x"));
        append(&a, json("40P01", "x").trim_end());
        later();
        let b = d.0.join("postgresql-2.json");
        append(&b, &json("42P01", "y"));
        later();
        let c = d.0.join("postgresql-3.json");
        append(&c, &json("53300", "z"));
        assert_eq!(poll(&mut f), ["42P10/x", "40P01/x", "42P01/y", "53300/z"]);
        assert_eq!(f.stats.rotations, 2);
        assert_eq!(f.stats.lag_bytes, 0);
        append(&c, &json("57014", "z"));
        assert_eq!(poll(&mut f), ["57014/z"]);
        assert!(poll(&mut f).is_empty());
    }

    #[test]
    fn a_truncated_file_is_read_again_from_the_start() {
        let d = tmp("truncate");
        let a = d.0.join("x.json");
        append(&a, &json("42P01", "old"));
        let mut f = follower(&d.0, vec![FileFormat::Json]);
        poll(&mut f);
        append(&a, &json("23505", "a"));
        append(&a, &json("23505", "b"));
        assert_eq!(poll(&mut f).len(), 2);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&a)
            .unwrap()
            .set_len(0)
            .unwrap();
        append(&a, &json("40P01", "c"));
        assert_eq!(poll(&mut f), ["40P01/c"]);
        assert_eq!(f.stats.truncations, 1);
    }

    #[test]
    fn a_file_appearing_after_start_up_is_read_from_its_start() {
        let d = tmp("late");
        let mut f = follower(&d.0, vec![FileFormat::Json, FileFormat::Csv]);
        assert!(poll(&mut f).is_empty());
        assert!(!f.is_following());
        // auto: the csv file is followed until a json file exists.
        append(&d.0.join("a.csv"), "2026-01-01 00:00:00.000 UTC,\"u\",\"d\",1,,s,1,,t,,0,ERROR,42P01,\"m\",,,,,,,,,\"\",\"client backend\",,0\n");
        append(&d.0.join("a.log"), "ignored\n");
        assert_eq!(poll(&mut f), ["42P01/d"]);
        assert!(f.is_following());
    }

    #[test]
    fn csvlog_start_up_inside_a_multi_line_entry_resynchronises() {
        let d = tmp("csv");
        let a = d.0.join("x.csv");
        let rec = |code: &str, msg: &str| {
            format!("2026-01-01 00:00:00.000 UTC,\"u\",\"d\",1,,s,1,,t,,0,ERROR,{code},\"{msg}\",,,,,,,,,\"\",\"client backend\",,0\n")
        };
        append(&a, &rec("42P01", "old"));
        // Half of an entry whose message spans lines, ending with a newline inside the quotes.
        append(
            &a,
            "2026-01-01 00:00:00.000 UTC,\"u\",\"d\",1,,s,1,,t,,0,ERROR,23505,\"first line\n",
        );
        let mut f = follower(&d.0, vec![FileFormat::Csv]);
        assert!(poll(&mut f).is_empty());
        append(
            &a,
            "second \"\"quoted\"\" line\",,,,,,,,,\"\",\"client backend\",,0\n",
        );
        append(&a, &rec("40P01", "a \"\"quoted\"\"\nmulti-line, message"));
        assert_eq!(poll(&mut f), ["40P01/d"]);
        assert_eq!(f.stats.unparsed, 0);
    }

    #[test]
    fn an_entry_longer_than_the_buffer_is_counted_once() {
        let d = tmp("long");
        let a = d.0.join("x.json");
        append(&a, "");
        let mut f = follower(&d.0, vec![FileFormat::Json]);
        poll(&mut f);
        let huge = "x".repeat(3 * BUFFER_SIZE);
        append(
            &a,
            &format!("{{\"user\":\"u\",\"dbname\":\"d\",\"error_severity\":\"ERROR\",\"state_code\":\"54000\",\"message\":\"m\",\"statement\":\"{huge}\"}}\n"),
        );
        append(&a, &json("42P01", "after"));
        assert_eq!(poll(&mut f), ["54000/d", "42P01/after"]);
        assert_eq!(f.stats.lines, 2);
    }

    #[test]
    fn the_budget_bounds_one_poll_and_the_rest_shows_as_lag() {
        let d = tmp("budget");
        let a = d.0.join("x.json");
        append(&a, "");
        let mut f = follower(&d.0, vec![FileFormat::Json]);
        poll(&mut f);
        for _ in 0..20_000 {
            append(&a, &json("23505", "d"));
        }
        let mut n = 0;
        let done = f.poll(100_000, &mut |_| n += 1).unwrap();
        assert!(!done);
        assert!(f.stats.lag_bytes > 0);
        while !f.poll(100_000, &mut |_| n += 1).unwrap() {}
        assert_eq!(n, 20_000);
        assert_eq!(f.stats.lag_bytes, 0);
    }

    #[test]
    fn globs() {
        let g = Glob("postgresql-*.json".into());
        assert!(g.matches("postgresql-2026-01-01_000000.json"));
        assert!(!g.matches("other.json"));
        assert!(Glob("a?c".into()).matches("abc"));
    }
}
