//! Where a key is in a YAML file: the line of a key path such as
//! `app_collectors[0].interval`, for errors that name file, line and key.
//! Owns only text scanning; knows nothing of the config's shape.

/// Finds the line (1-based) of a key path such as `app_collectors[0].interval`
/// in block-style YAML. serde_yaml knows only the enclosing mapping's line
/// when the error comes from a value's own checks; this finds the key's.
pub fn locate_line(text: &str, path: &str) -> Option<usize> {
    let mut segs: Vec<Result<usize, &str>> = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            segs.push(Err(key));
        }
        while let Some(end) = rest.find(']') {
            segs.push(Ok(rest[1..end].parse().ok()?));
            rest = &rest[end + 1..];
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    // (line index, indent of the current node's content; -1 for the document)
    let (mut at, mut parent_indent) = (0usize, -1i64);
    let mut found = None;
    for seg in segs {
        let mut hit = None;
        let mut count = 0;
        for (i, raw) in lines.iter().enumerate().skip(at) {
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = (raw.len() - trimmed.len()) as i64;
            if i > at && indent <= parent_indent {
                break;
            }
            match seg {
                Err(key) => {
                    // A key on its own line, or the first key of a "- " item.
                    let body = trimmed.strip_prefix("- ").unwrap_or(trimmed);
                    let key_indent = indent + (trimmed.len() - body.len()) as i64;
                    if key_indent > parent_indent
                        && (body.starts_with(&format!("{key}:"))
                            || body.starts_with(&format!("\"{key}\":")))
                    {
                        hit = Some((i, key_indent));
                        break;
                    }
                }
                Ok(n) => {
                    if trimmed.starts_with("- ") || trimmed == "-" {
                        if count == n {
                            hit = Some((i, indent));
                            break;
                        }
                        count += 1;
                    }
                }
            }
        }
        let (i, ind) = hit?;
        found = Some(i + 1);
        at = i;
        parent_indent = ind;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_keys() {
        let text = "a:\n  - name: x\n    b: 1\n  - name: y\n    # c\n    c:\n      d: 2\n";
        assert_eq!(locate_line(text, "a[1].c.d"), Some(7));
        assert_eq!(locate_line(text, "a[0].b"), Some(3));
        assert_eq!(locate_line(text, "a[1].name"), Some(4));
        assert_eq!(locate_line(text, "a[2]"), None);
    }
}
