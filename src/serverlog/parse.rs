//! Parsing one log record of each format, reading only the fields the
//! collector needs (severity, SQLSTATE, user, database, and for errors the
//! application name, so that the exporter's own sessions are left out) and
//! allocating nothing per record: values are slices of the record, except
//! the rare escaped ones, which are decoded into buffers the parser reuses.
//!
//! - jsonlog (PostgreSQL 15+): one JSON object per line; newlines in values
//!   are escaped. Keys `error_severity`, `state_code` (absent for 00000),
//!   `user` and `dbname` (absent for background processes) come before
//!   `message`, where the scan of a non-error entry stops; an error entry is
//!   read on to `application_name`.
//! - csvlog: one CSV record per entry; quoted fields may hold newlines.
//!   Columns 1 (user_name), 2 (database_name), 11 (error_severity) and 12
//!   (sql_state_code) are read; a non-error entry's scan stops after column
//!   12, an error's after column 22 (application_name).
//! - stderr: one line per entry plus DETAIL/HINT/STATEMENT/CONTEXT lines with
//!   the same prefix, and continuation lines starting with a tab. The
//!   SQLSTATE is only there when `log_line_prefix` has `%e`, the application
//!   name only with `%a`; the prefix is matched with the configured
//!   `log_line_prefix` (see [`Prefix`]).

use super::sqlstate::is_sqlstate;

/// The severities counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Fatal,
    Panic,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Error, Severity::Fatal, Severity::Panic];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "ERROR",
            Severity::Fatal => "FATAL",
            Severity::Panic => "PANIC",
        }
    }
}

/// What a severity word is: `Some(Some(_))` counted, `Some(None)` a known
/// severity that is not an error (or a stderr DETAIL/STATEMENT/... line),
/// `None` unknown (a translated log, `lc_messages` not English, or garbage).
pub fn classify(word: &[u8]) -> Option<Option<Severity>> {
    Some(match word {
        b"ERROR" => Some(Severity::Error),
        b"FATAL" => Some(Severity::Fatal),
        b"PANIC" => Some(Severity::Panic),
        b"LOG" | b"WARNING" | b"NOTICE" | b"INFO" | b"DEBUG" | b"DEBUG1" | b"DEBUG2"
        | b"DEBUG3" | b"DEBUG4" | b"DEBUG5" | b"DETAIL" | b"HINT" | b"QUERY" | b"CONTEXT"
        | b"LOCATION" | b"STATEMENT" => None,
        _ => return None,
    })
}

/// An error entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    pub severity: Severity,
    pub code: [u8; 5],
    /// Empty when the entry has none (background processes).
    pub user: &'a str,
    pub datname: &'a str,
    /// The session's `application_name`; empty when the entry has none or
    /// the format does not carry it (stderr without `%a`).
    pub application_name: &'a str,
}

/// The outcome of parsing one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// An ERROR, FATAL or PANIC entry.
    Error(Entry<'a>),
    /// A well-formed entry of another severity.
    Other,
    /// A stderr continuation line (tab) or an empty line: part of the entry before it.
    Continuation,
}

/// The record could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unparsable;

type Result<'a> = std::result::Result<Parsed<'a>, Unparsable>;

/// A value as found in the record: its byte range and whether it needs decoding.
#[derive(Debug, Clone, Copy, Default)]
struct Raw {
    start: usize,
    end: usize,
    escaped: bool,
    present: bool,
}

/// Reusable decoding buffers for the two text labels.
#[derive(Debug, Default)]
pub struct Scratch {
    user: String,
    datname: String,
    application_name: String,
    /// csvlog's fields, decoded by csv-core.
    csv: Vec<u8>,
}

fn text<'a>(
    rec: &'a [u8],
    raw: Raw,
    scratch: &'a mut String,
    unescape: fn(&[u8], &mut String),
) -> &'a str {
    if !raw.present {
        return "";
    }
    let bytes = &rec[raw.start..raw.end];
    if !raw.escaped {
        if let Ok(s) = std::str::from_utf8(bytes) {
            return s;
        }
    }
    scratch.clear();
    unescape(bytes, scratch);
    scratch
}

fn code_of(rec: &[u8], raw: Raw) -> std::result::Result<[u8; 5], Unparsable> {
    if !raw.present {
        // jsonlog leaves state_code out for 00000.
        return Ok(*b"00000");
    }
    let b = &rec[raw.start..raw.end];
    if raw.escaped || !is_sqlstate(b) {
        return Err(Unparsable);
    }
    let mut c = [0u8; 5];
    c.copy_from_slice(b);
    Ok(c)
}

// ---- jsonlog ---------------------------------------------------------------

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// `b[i]` is the opening quote. Returns the value's range (without quotes),
/// whether it has escapes, and the index after the closing quote.
fn json_string(b: &[u8], i: usize) -> Option<(usize, usize, bool, usize)> {
    let start = i + 1;
    let mut j = start;
    let mut escaped = false;
    while j < b.len() {
        match b[j] {
            b'"' => return Some((start, j, escaped, j + 1)),
            b'\\' => {
                escaped = true;
                j += 2;
            }
            _ => j += 1,
        }
    }
    None
}

/// Skips a non-string JSON value (number, literal, or a nested object or
/// array, which PostgreSQL does not write); returns the index after it.
fn json_skip_value(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'"' => i = json_string(b, i)?.3,
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' if depth > 0 => {
                depth -= 1;
                i += 1;
            }
            b',' | b'}' if depth == 0 => return Some(i),
            _ => i += 1,
        }
    }
    (depth == 0).then_some(i)
}

fn json_unescape(b: &[u8], out: &mut String) {
    let mut bytes: Vec<u8> = Vec::new();
    let mut i = 0;
    let hex4 = |s: &[u8]| -> Option<u32> {
        std::str::from_utf8(s.get(..4)?)
            .ok()
            .and_then(|h| u32::from_str_radix(h, 16).ok())
    };
    while i < b.len() {
        if b[i] != b'\\' {
            bytes.push(b[i]);
            i += 1;
            continue;
        }
        let Some(&c) = b.get(i + 1) else { break };
        i += 2;
        let ch = match c {
            b'n' => '\n',
            b't' => '\t',
            b'r' => '\r',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'u' => {
                let Some(hi) = hex4(&b[i..]) else { break };
                i += 4;
                let cp = if (0xD800..0xDC00).contains(&hi)
                    && b.get(i) == Some(&b'\\')
                    && b.get(i + 1) == Some(&b'u')
                {
                    match hex4(&b[i + 2..]) {
                        Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                            i += 6;
                            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                        }
                        _ => hi,
                    }
                } else {
                    hi
                };
                char::from_u32(cp).unwrap_or('\u{fffd}')
            }
            other => other as char,
        };
        let mut tmp = [0u8; 4];
        bytes.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
    }
    out.push_str(&String::from_utf8_lossy(&bytes));
}

/// Parses one jsonlog line.
#[allow(clippy::too_many_lines)] // the jsonlog hot loop (benches/serverlog.rs), kept in one piece for speed
pub fn jsonlog<'a>(rec: &'a [u8], scratch: &'a mut Scratch) -> Result<'a> {
    let b = rec;
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return Err(Unparsable);
    }
    i += 1;
    let (mut sev, mut code, mut user, mut db, mut app) = (
        Raw::default(),
        Raw::default(),
        Raw::default(),
        Raw::default(),
        Raw::default(),
    );
    // Set once an error entry's message is reached: what follows is read
    // only for the application name, and an entry cut short there (longer
    // than the read buffer) is still counted.
    let mut past_message = false;
    macro_rules! bad {
        () => {
            if past_message {
                break;
            } else {
                return Err(Unparsable);
            }
        };
    }
    loop {
        i = skip_ws(b, i);
        match b.get(i) {
            Some(b'}') => break,
            Some(b'"') => {}
            _ => bad!(),
        }
        let Some((ks, ke, _, next)) = json_string(b, i) else {
            bad!()
        };
        let key = &b[ks..ke];
        i = skip_ws(b, next);
        if b.get(i) != Some(&b':') {
            bad!()
        }
        i = skip_ws(b, i + 1);
        if key == b"message" && sev.present {
            if !is_error(b, sev) {
                // Every field a non-error entry needs comes before the message.
                break;
            }
            past_message = true;
        }
        if b.get(i) == Some(&b'"') {
            let Some((vs, ve, esc, next)) = json_string(b, i) else {
                bad!()
            };
            let raw = Raw {
                start: vs,
                end: ve,
                escaped: esc,
                present: true,
            };
            match key {
                b"error_severity" => sev = raw,
                b"state_code" => code = raw,
                b"user" => user = raw,
                b"dbname" => db = raw,
                b"application_name" => app = raw,
                _ => {}
            }
            i = next;
        } else {
            let Some(next) = json_skip_value(b, i) else {
                bad!()
            };
            i = next;
        }
        i = skip_ws(b, i);
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => break,
            _ => bad!(),
        }
    }
    if !sev.present || sev.escaped {
        return Err(Unparsable);
    }
    finish(rec, [sev, code, user, db, app], scratch, json_unescape)
}

/// Whether an unescaped severity value is one that is counted.
fn is_error(b: &[u8], sev: Raw) -> bool {
    !sev.escaped && matches!(classify(&b[sev.start..sev.end]), Some(Some(_)))
}

/// `fields`: severity, code, user, database, application name.
fn finish<'a>(
    rec: &'a [u8],
    [sev, code, user, db, app]: [Raw; 5],
    scratch: &'a mut Scratch,
    unescape: fn(&[u8], &mut String),
) -> Result<'a> {
    let severity = match classify(&rec[sev.start..sev.end]) {
        None => return Err(Unparsable),
        Some(None) => return Ok(Parsed::Other),
        Some(Some(s)) => s,
    };
    let code = code_of(rec, code)?;
    let Scratch {
        user: su,
        datname: sd,
        application_name: sa,
        ..
    } = scratch;
    Ok(Parsed::Error(Entry {
        severity,
        code,
        user: text(rec, user, su, unescape),
        datname: text(rec, db, sd, unescape),
        application_name: text(rec, app, sa, unescape),
    }))
}

// ---- csvlog ----------------------------------------------------------------

/// Nothing to undo: csv-core has already decoded the fields.
fn csv_unescape(b: &[u8], out: &mut String) {
    out.push_str(&String::from_utf8_lossy(b));
}

/// Parses one csvlog record (a quoted field may contain newlines) with
/// csv-core, decoding fields into the scratch buffer up to the last column
/// needed. A record cut short after the code (an entry longer than the read
/// buffer, or a quote left open) is still counted: csv-core ends the field at
/// the end of the input.
pub fn csvlog<'a>(rec: &'a [u8], scratch: &'a mut Scratch) -> Result<'a> {
    // log_time: "2024-01-09 10:00:00.123 UTC"
    if !rec.first().is_some_and(u8::is_ascii_digit) {
        return Err(Unparsable);
    }
    let Scratch {
        user: su,
        datname: sd,
        application_name: sa,
        csv,
    } = scratch;
    csv.clear();
    // Decoded fields are never longer than the record.
    csv.resize(rec.len() + 1, 0);
    let mut reader = csv_core::Reader::new();
    let (mut sev, mut user, mut db, mut code, mut app) = Default::default();
    let (mut input, mut out, mut col) = (rec, 0usize, 0usize);
    loop {
        let (res, nin, nout) = reader.read_field(input, &mut csv[out..]);
        input = &input[nin..];
        let field = Raw {
            start: out,
            end: out + nout,
            escaped: false,
            present: nout > 0,
        };
        out += nout;
        let record_end = match res {
            csv_core::ReadFieldResult::Field { record_end } => record_end,
            csv_core::ReadFieldResult::End => true,
            // Only an empty input asks for more: it is the end of the record.
            csv_core::ReadFieldResult::InputEmpty => {
                if input.is_empty() {
                    continue;
                }
                return Err(Unparsable);
            }
            csv_core::ReadFieldResult::OutputFull => return Err(Unparsable),
        };
        match col {
            1 => user = field,
            2 => db = field,
            11 => sev = field,
            12 => code = field,
            22 => app = field,
            _ => {}
        }
        let not_counted = col == 12 && !is_error(csv, sev);
        if col >= 22 || not_counted || record_end {
            break;
        }
        col += 1;
    }
    if col < 12 || !sev.present || !code.present {
        return Err(Unparsable);
    }
    let decoded: &'a [u8] = csv;
    let severity = match classify(&decoded[sev.start..sev.end]) {
        None => return Err(Unparsable),
        Some(None) => return Ok(Parsed::Other),
        Some(Some(s)) => s,
    };
    Ok(Parsed::Error(Entry {
        severity,
        code: code_of(decoded, code)?,
        user: text(decoded, user, su, csv_unescape),
        datname: text(decoded, db, sd, csv_unescape),
        application_name: text(decoded, app, sa, csv_unescape),
    }))
}

/// Whether `b` starts like a csvlog record: `YYYY-MM-DD HH:MM:SS`. Used to
/// find a record boundary when starting in the middle of a file.
pub fn looks_like_csv_record_start(b: &[u8]) -> bool {
    const SHAPE: &[u8; 19] = b"0000-00-00 00:00:00";
    b.len() >= SHAPE.len()
        && SHAPE.iter().zip(b).all(|(s, c)| match s {
            b'0' => c.is_ascii_digit(),
            s => s == c,
        })
}

// ---- stderr ----------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(Vec<u8>),
    /// An escape: its letter and whether it was left-justified with padding (`%-10u`).
    Field(u8, bool),
    /// `%q`: non-session processes stop the prefix here.
    Q,
}

/// A `log_line_prefix`, for matching stderr lines. Values of `%u`, `%d` and
/// `%e` are read up to the literal text that follows them in the prefix (so
/// `%u@%d ` breaks on user names containing `@`); fields that are followed by
/// another field or by the end of the prefix must have a self-delimiting
/// shape (`%e`, `%p`, `%P`, `%l`, `%x`, `%v`, `%c`, `%n`, `%Q`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    toks: Vec<Tok>,
    q: Option<usize>,
}

/// The escapes PostgreSQL knows; others print nothing.
const ESCAPES: &[u8] = b"audrhbpPtmnieclsvxqQ";

fn self_delimiting(c: u8) -> bool {
    b"epPlxvcnQ".contains(&c)
}

fn field_char_ok(c: u8, b: u8) -> bool {
    match c {
        b'e' => b.is_ascii_digit() || b.is_ascii_uppercase(),
        b'p' | b'P' | b'l' | b'x' => b.is_ascii_digit(),
        b'Q' => b.is_ascii_digit() || b == b'-',
        b'n' => b.is_ascii_digit() || b == b'.',
        b'c' => b.is_ascii_hexdigit() || b == b'.',
        b'v' => b.is_ascii_digit() || b == b'/',
        _ => false,
    }
}

struct Captures<'a> {
    user: Option<&'a [u8]>,
    db: Option<&'a [u8]>,
    code: Option<&'a [u8]>,
    app: Option<&'a [u8]>,
}

fn trim_spaces(mut b: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' '] = b {
        b = rest;
    }
    b
}

impl Prefix {
    /// Parses a `log_line_prefix` value; it must contain `%e` (before any `%q`).
    pub fn parse(s: &str) -> std::result::Result<Prefix, String> {
        let b = s.as_bytes();
        let mut toks: Vec<Tok> = Vec::new();
        let mut lit = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'%' {
                lit.push(b[i]);
                i += 1;
                continue;
            }
            i += 1;
            let left = b.get(i) == Some(&b'-');
            if left {
                i += 1;
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let Some(&c) = b.get(i) else { break };
            i += 1;
            if c == b'%' {
                lit.push(b'%');
                continue;
            }
            if !ESCAPES.contains(&c) {
                continue;
            }
            if !lit.is_empty() {
                toks.push(Tok::Lit(std::mem::take(&mut lit)));
            }
            toks.push(if c == b'q' {
                Tok::Q
            } else {
                Tok::Field(c, left)
            });
        }
        if !lit.is_empty() {
            toks.push(Tok::Lit(lit));
        }
        let q = toks.iter().position(|t| *t == Tok::Q);
        let e = toks
            .iter()
            .position(|t| matches!(t, Tok::Field(b'e', _)))
            .ok_or("log_line_prefix has no %e: stderr lines then carry no SQLSTATE")?;
        if q.is_some_and(|q| q < e) {
            return Err("log_line_prefix: put %e before %q, or background processes' errors lose their SQLSTATE".into());
        }
        let p = Prefix { toks, q };
        // Every field must be delimited, in both the full and the cut (%q) form.
        for upto in [Some(p.toks.len()), p.q].into_iter().flatten() {
            for k in 0..upto {
                if let Tok::Field(c, _) = p.toks[k] {
                    if !self_delimiting(c) && !matches!(p.next_tok(k, upto), Some(Tok::Lit(_))) {
                        return Err(format!(
                            "log_line_prefix: %{} must be followed by literal text (a space, a bracket...) so that its value can be found",
                            c as char
                        ));
                    }
                }
            }
        }
        Ok(p)
    }

    /// The token after `k` when matching `toks[..upto]` (skipping `%q`).
    fn next_tok(&self, k: usize, upto: usize) -> Option<&Tok> {
        self.toks[k + 1..upto].iter().find(|t| **t != Tok::Q)
    }

    fn match_upto<'a>(&self, line: &'a [u8], upto: usize) -> Option<(usize, Captures<'a>)> {
        let mut caps = Captures {
            user: None,
            db: None,
            code: None,
            app: None,
        };
        let mut pos = 0;
        for k in 0..upto {
            match &self.toks[k] {
                Tok::Q => {}
                Tok::Lit(s) => {
                    if !line[pos..].starts_with(s) {
                        return None;
                    }
                    pos += s.len();
                }
                Tok::Field(c, left) => {
                    let end = match self.next_tok(k, upto) {
                        Some(Tok::Lit(s)) => pos + find(&line[pos..], s)?,
                        _ => {
                            let mut j = pos;
                            while line.get(j) == Some(&b' ') {
                                j += 1;
                            }
                            let limit = if *c == b'e' { j + 5 } else { line.len() };
                            while j < limit.min(line.len()) && field_char_ok(*c, line[j]) {
                                j += 1;
                            }
                            if *left {
                                while line.get(j) == Some(&b' ') {
                                    j += 1;
                                }
                            }
                            j
                        }
                    };
                    let v = trim_spaces(&line[pos..end]);
                    match c {
                        b'u' => caps.user = Some(v),
                        b'd' => caps.db = Some(v),
                        b'e' => caps.code = Some(v),
                        b'a' => caps.app = Some(v),
                        _ => {}
                    }
                    pos = end;
                }
            }
        }
        Some((pos, caps))
    }

    /// Parses one stderr line.
    pub fn parse_line<'a>(&self, line: &'a [u8], scratch: &'a mut Scratch) -> Result<'a> {
        if line.is_empty() || line[0] == b'\t' {
            return Ok(Parsed::Continuation);
        }
        let full = self.toks.len();
        for upto in [Some(full), self.q].into_iter().flatten() {
            let Some((pos, caps)) = self.match_upto(line, upto) else {
                continue;
            };
            let rest = &line[pos..];
            let Some(colon) = rest.iter().take(16).position(|&c| c == b':') else {
                continue;
            };
            if !rest[colon..].starts_with(b":  ") {
                continue;
            }
            let severity = match classify(&rest[..colon]) {
                None => continue,
                Some(None) => return Ok(Parsed::Other),
                Some(Some(s)) => s,
            };
            let code = match caps.code {
                Some(c) if is_sqlstate(c) => {
                    let mut a = [0u8; 5];
                    a.copy_from_slice(c);
                    a
                }
                _ => return Err(Unparsable),
            };
            let Scratch {
                user,
                datname,
                application_name,
                ..
            } = scratch;
            let lossy = |b: &[u8], out: &mut String| out.push_str(&String::from_utf8_lossy(b));
            let as_text = |b: Option<&'a [u8]>, out: &'a mut String| -> &'a str {
                let b = b.unwrap_or_default();
                match std::str::from_utf8(b) {
                    Ok(s) => s,
                    Err(_) => {
                        out.clear();
                        lossy(b, out);
                        out
                    }
                }
            };
            return Ok(Parsed::Error(Entry {
                severity,
                code,
                user: as_text(caps.user, user),
                datname: as_text(caps.db, datname),
                application_name: as_text(caps.app, application_name),
            }));
        }
        Err(Unparsable)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        let p = hay[i..=hay.len() - needle.len()]
            .iter()
            .position(|&c| c == first)?;
        i += p;
        if hay[i + 1..].starts_with(rest) {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(p: Parsed) -> Entry {
        match p {
            Parsed::Error(e) => e,
            o => panic!("not an error entry: {o:?}"),
        }
    }

    #[test]
    fn jsonlog_reads_the_error_fields_and_decodes_escapes() {
        let mut s = Scratch::default();
        let line = br#"{"timestamp":"2026-11-22 03:59:12.050 UTC","user":"postgres","dbname":"app","pid":31952,"remote_host":"[local]","session_id":"6b026890.7cd0","line_num":3,"ps":"INSERT","vxid":"3/6","txid":726,"error_severity":"ERROR","state_code":"23505","message":"duplicate key value violates unique constraint \"t_pkey\"","detail":"Key (a)=(1) already exists.","statement":"insert into t values (1)","application_name":"psql","backend_type":"client backend","query_id":0}"#;
        let e = err(jsonlog(line, &mut s).unwrap());
        assert_eq!(
            (e.severity, &e.code, e.user, e.datname),
            (Severity::Error, b"23505", "postgres", "app")
        );
        let line = br#"{"user":"o\"brien \u00e9\ud83d\ude00","dbname":"d","error_severity":"FATAL","state_code":"28P01","message":"x"}"#;
        let e = err(jsonlog(line, &mut s).unwrap());
        assert_eq!(e.user, "o\"brien é😀");
        assert_eq!(e.severity, Severity::Fatal);
        // A background process: no user or database; LOG without state_code.
        let line = br#"{"timestamp":"t","pid":1,"error_severity":"LOG","message":"checkpoint starting","backend_type":"checkpointer"}"#;
        assert_eq!(jsonlog(line, &mut s), Ok(Parsed::Other));
        let line = br#"{"pid":1,"error_severity":"PANIC","state_code":"XX000","message":"m"}"#;
        let e = err(jsonlog(line, &mut s).unwrap());
        assert_eq!((e.user, e.datname, &e.code), ("", "", b"XX000"));
    }

    #[test]
    fn jsonlog_rejects_garbage_and_translated_severities() {
        let mut s = Scratch::default();
        for bad in [
            &b"not json"[..],
            br#"{"error_severity":"FEHLER","state_code":"42P01"}"#,
            br#"{"error_severity":"ERROR","state_code":"42p01"}"#,
            br#"{"error_severity":"ERROR","state_code":"42P01""#,
            br#"{"user":"x"}"#,
            b"",
        ] {
            assert_eq!(
                jsonlog(bad, &mut s),
                Err(Unparsable),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn csvlog_reads_quoted_fields_with_commas_quotes_and_newlines() {
        let mut s = Scratch::default();
        let rec = b"2026-11-22 03:59:12.026 UTC,\"postgres\",\"postgres\",31952,\"[local]\",6b026890.7cd0,2,\"SELECT\",2026-11-22 03:59:12 UTC,3/3,0,ERROR,42P01,\"relation \"\"nope2\"\" does not exist\",,,,,,\"select 'a\nb' from nope2\",19,,\"psql\",\"client backend\",,0";
        let e = err(csvlog(rec, &mut s).unwrap());
        assert_eq!(
            (e.severity, &e.code, e.user, e.datname),
            (Severity::Error, b"42P01", "postgres", "postgres")
        );
        let rec = b"2026-11-22 03:59:12.026 UTC,\"we\"\"ird, user\",\"d,b\",1,,s,1,,t,,0,FATAL,53300,\"sorry, too many clients already\",,,,,,,,,\"\",\"client backend\",,0";
        let e = err(csvlog(rec, &mut s).unwrap());
        assert_eq!(
            (e.user, e.datname, &e.code),
            ("we\"ird, user", "d,b", b"53300")
        );
        let rec = b"2026-11-22 03:59:09.855 UTC,,,31884,,6b02688d.7c8c,2,,2026-11-22 03:59:09 UTC,,0,LOG,00000,\"listening\",,,,,,,,,\"\",\"postmaster\",,0";
        assert_eq!(csvlog(rec, &mut s), Ok(Parsed::Other));
        assert_eq!(csvlog(b"garbage,1,2", &mut s), Err(Unparsable));
        assert_eq!(
            csvlog(b"2026-01-01,\"unterminated", &mut s),
            Err(Unparsable)
        );
        assert!(looks_like_csv_record_start(b"2026-11-22 03:59:12.026 UTC,"));
        assert!(!looks_like_csv_record_start(b"b' from nope2\",19"));
    }

    #[test]
    fn stderr_lines_are_matched_with_the_prefix() {
        let mut s = Scratch::default();
        let p = Prefix::parse("%m [%p] %e %q%u@%d ").unwrap();
        let e = err(p
            .parse_line(
                b"2026-11-22 03:59:12.050 UTC [31952] 23505 postgres@app ERROR:  duplicate key",
                &mut s,
            )
            .unwrap());
        assert_eq!((e.user, e.datname, &e.code), ("postgres", "app", b"23505"));
        // A background process: the prefix stops at %q.
        let e = err(p
            .parse_line(
                b"2026-11-22 03:59:12.050 UTC [77] 58P01 ERROR:  could not open file",
                &mut s,
            )
            .unwrap());
        assert_eq!((e.user, e.datname, &e.code), ("", "", b"58P01"));
        assert_eq!(
            p.parse_line(
                b"2026-11-22 03:59:12.050 UTC [77] 00000 LOG:  checkpoint starting: time",
                &mut s
            ),
            Ok(Parsed::Other)
        );
        assert_eq!(
            p.parse_line(
                b"2026-11-22 03:59:12.050 UTC [31952] 23505 postgres@app STATEMENT:  insert",
                &mut s
            ),
            Ok(Parsed::Other)
        );
        assert_eq!(
            p.parse_line(b"\tb' from nope2", &mut s),
            Ok(Parsed::Continuation)
        );
        assert_eq!(
            p.parse_line(b"random output of a child process", &mut s),
            Err(Unparsable)
        );
        // Padding, a prefix ending with %e, %% and unknown escapes.
        let p = Prefix::parse("%t [%-6p] %%%z%e").unwrap();
        let e = err(p
            .parse_line(b"2026-11-22 03:59:12 UTC [42    ] %40P01FATAL:  x", &mut s)
            .unwrap());
        assert_eq!((&e.code, e.severity), (b"40P01", Severity::Fatal));
    }

    #[test]
    fn error_entries_carry_the_application_name_in_every_format() {
        let mut s = Scratch::default();
        // jsonlog: application_name comes after the message, which may hold anything.
        let line = br#"{"user":"pgmig","dbname":"app","error_severity":"ERROR","state_code":"57014","message":"canceling statement due to \"statement timeout\", {x}","statement":"select 1","application_name":"pg_migration_exporter","backend_type":"client backend"}"#;
        let e = err(jsonlog(line, &mut s).unwrap());
        assert_eq!(
            (e.application_name, &e.code),
            ("pg_migration_exporter", b"57014")
        );
        let line = br#"{"user":"u","error_severity":"ERROR","state_code":"22012","message":"division by zero","application_name":"we\"ird"}"#;
        assert_eq!(
            err(jsonlog(line, &mut s).unwrap()).application_name,
            "we\"ird"
        );
        let line = br#"{"user":"u","error_severity":"ERROR","state_code":"22012","message":"m"}"#;
        assert_eq!(err(jsonlog(line, &mut s).unwrap()).application_name, "");
        // csvlog: column 22, after quoted fields with commas, quotes and newlines.
        let rec = b"2026-11-22 03:59:12.026 UTC,\"pgmig\",\"app\",1,\"[local]\",s,2,\"SELECT\",t,3/3,0,ERROR,55P03,\"could not obtain lock, \"\"t\"\"\",,,,,\"ctx\nline\",\"select 1,\n2\",19,,\"pg_migration_exporter\",\"client backend\",,0";
        let e = err(csvlog(rec, &mut s).unwrap());
        assert_eq!(
            (e.application_name, &e.code, e.user),
            ("pg_migration_exporter", b"55P03", "pgmig")
        );
        // Cut short after the code: still an error, with no application name.
        let rec = b"2026-11-22 03:59:12.026 UTC,\"u\",\"d\",1,,s,1,,t,,0,ERROR,22012,\"division by zero\"";
        assert_eq!(err(csvlog(rec, &mut s).unwrap()).application_name, "");
        // stderr: only with %a in the prefix.
        let p = Prefix::parse("%m [%p] %e %q%u@%d/%a ").unwrap();
        let e = err(p
            .parse_line(
                b"2026-11-22 03:59:12.050 UTC [31952] 57014 pgmig@app/pg_migration_exporter ERROR:  canceling statement",
                &mut s,
            )
            .unwrap());
        assert_eq!(
            (e.user, e.datname, e.application_name),
            ("pgmig", "app", "pg_migration_exporter")
        );
        let p = Prefix::parse("%m [%p] %e %q%u@%d ").unwrap();
        let e = err(p
            .parse_line(
                b"2026-11-22 03:59:12.050 UTC [1] 57014 pgmig@app ERROR:  x",
                &mut s,
            )
            .unwrap());
        assert_eq!(e.application_name, "");
    }

    #[test]
    fn prefixes_without_a_findable_sqlstate_are_refused() {
        assert!(Prefix::parse("%m [%p] ").unwrap_err().contains("%e"));
        assert!(Prefix::parse("%m %q%e ").unwrap_err().contains("before %q"));
        assert!(Prefix::parse("%m%u%e ")
            .unwrap_err()
            .contains("%m must be followed"));
        assert!(Prefix::parse("%e %u")
            .unwrap_err()
            .contains("%u must be followed"));
        assert!(Prefix::parse("%m [%p] %e %q%u@%d ").is_ok());
        assert!(Prefix::parse("%e%p ").is_ok());
    }
}
