//! Reading a migration file under the size limit and splitting it into
//! top-level statements with PostgreSQL's parser, each with its line; an
//! unparseable file becomes `file:line:column: <parser message>`.

use std::io::Read;
use std::ops::Range;
use std::path::Path;

use pg_query::NodeEnum;

use super::{PlanError, MAX_FILE_BYTES};

/// One parsed top-level statement.
#[derive(Debug, Clone)]
pub struct RawStatement {
    pub sql: String,
    pub line: usize,
    pub node: NodeEnum,
    pub fingerprint: String,
}

/// Reads `path` whole, refusing it from its metadata when it is over the
/// limit, and reading at most limit + 1 bytes in case it grew meanwhile.
pub fn read_limited(path: &Path) -> Result<String, PlanError> {
    let io = |e| PlanError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let too_large = |size| PlanError::TooLarge {
        path: path.to_path_buf(),
        size,
        limit: MAX_FILE_BYTES,
    };
    if size > MAX_FILE_BYTES {
        return Err(too_large(size));
    }
    let mut buf = Vec::with_capacity(size as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(io)?;
    if buf.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(buf.len() as u64));
    }
    String::from_utf8(buf).map_err(|e| PlanError::Parse {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        message: format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })
}

/// Splits `text[range]` (the part of the file the tool runs) into statements.
pub fn split(path: &Path, text: &str, range: Range<usize>) -> Result<Vec<RawStatement>, PlanError> {
    let section = &text[range.clone()];
    let parsed = match pg_query::parse(section, 0) {
        Ok(p) => p,
        Err(e) => {
            let message = match e {
                pg_query::Error::Parse(m) => m,
                other => other.to_string(),
            };
            let at = range.start + error_offset(section);
            let (line, column) = line_col(text, at);
            return Err(PlanError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message,
            });
        }
    };
    let mut out = Vec::with_capacity(parsed.protobuf.stmts.len());
    for raw in &parsed.protobuf.stmts {
        let Some(node) = raw.stmt.as_ref().and_then(|n| n.node.clone()) else {
            continue;
        };
        let start = usize::try_from(raw.stmt_location).unwrap_or(0);
        let end = match usize::try_from(raw.stmt_len) {
            Ok(0) | Err(_) => section.len(),
            Ok(n) => (start + n).min(section.len()),
        };
        let body = &section[start..end];
        let lead = leading_trivia(body);
        let sql = body[lead..].trim_end().to_string();
        let (line, _) = line_col(text, range.start + start + lead);
        let fingerprint = super::fingerprint(&sql).unwrap_or_default();
        out.push(RawStatement {
            sql,
            line,
            node,
            fingerprint,
        });
    }
    Ok(out)
}

/// Bytes of whitespace and comments before a statement's first token.
fn leading_trivia(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b[i..].starts_with(b"--") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            match s[i + 2..].find("*/") {
                Some(j) => i += j + 4,
                None => return s.len(),
            }
        } else {
            return i;
        }
    }
}

/// The byte offset of the token the parser stops at: the first token
/// such that the text up to and including it can no longer be the start of
/// valid SQL (found by bisection over the scanner's tokens).
fn error_offset(section: &str) -> usize {
    let Ok(scan) = pg_query::scan(section) else {
        return 0;
    };
    let tokens = scan.tokens;
    let viable = |k: usize| {
        let end = usize::try_from(tokens[k].end)
            .unwrap_or(0)
            .min(section.len());
        match pg_query::parse(&section[..end], 0) {
            Ok(_) => true,
            Err(pg_query::Error::Parse(m)) => m.ends_with("at end of input"),
            Err(_) => false,
        }
    };
    let (mut lo, mut hi) = (0usize, tokens.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if viable(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    match tokens.get(lo) {
        Some(t) => usize::try_from(t.start).unwrap_or(0),
        None => section.trim_end().len(),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[col_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_carry_their_first_line() {
        let text =
            "-- header\n\nCREATE TABLE a (id int);\n/* c */ ALTER TABLE a\n  ADD COLUMN b int;\n";
        let s = split(Path::new("x.sql"), text, 0..text.len()).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].line, s[0].sql.as_str()),
            (3, "CREATE TABLE a (id int)")
        );
        assert_eq!(s[1].line, 4);
        assert!(s[1].sql.starts_with("ALTER TABLE a"));
    }

    #[test]
    fn a_syntax_error_names_line_and_column() {
        let text = "CREATE TABLE a (id int);\nALTER TABLE a DROP COLUMN;\n";
        let e = split(Path::new("m.sql"), text, 0..text.len()).unwrap_err();
        let PlanError::Parse {
            line,
            column,
            message,
            ..
        } = e
        else {
            panic!("{e}")
        };
        assert_eq!((line, column), (2, 26), "{message}");
        assert!(message.contains("syntax error"), "{message}");
    }
}
