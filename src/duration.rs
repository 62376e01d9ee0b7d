//! Durations written the Prometheus way (`500ms`, `1s`, `2m`, `1h30m`), for
//! config files, environment variables and flags.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A duration parsed from Prometheus notation; `Display` prints it back the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PromDuration(pub Duration);

impl PromDuration {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty duration".into());
        }
        let mut total = Duration::ZERO;
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return Err(format!(
                    "invalid duration {s:?}: expected a number followed by ms, s, m, h or d"
                ));
            }
            let n: u64 = rest[..digits]
                .parse()
                .map_err(|_| format!("invalid duration {s:?}: number too large"))?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let part = match unit {
                "ms" => Duration::from_millis(n),
                "s" => Duration::from_secs(n),
                "m" => Duration::from_secs(n.saturating_mul(60)),
                "h" => Duration::from_secs(n.saturating_mul(3600)),
                "d" => Duration::from_secs(n.saturating_mul(86400)),
                "" => {
                    return Err(format!(
                        "invalid duration {s:?}: missing unit (ms, s, m, h or d)"
                    ))
                }
                u => return Err(format!("invalid duration {s:?}: unknown unit {u:?}")),
            };
            total = total.saturating_add(part);
        }
        Ok(PromDuration(total))
    }
}

impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms == 0 {
            write!(f, "0s")
        } else if ms.is_multiple_of(86_400_000) {
            write!(f, "{}d", ms / 86_400_000)
        } else if ms.is_multiple_of(3_600_000) {
            write!(f, "{}h", ms / 3_600_000)
        } else if ms.is_multiple_of(60_000) {
            write!(f, "{}m", ms / 60_000)
        } else if ms.is_multiple_of(1000) {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PromDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_notation() {
        assert_eq!(
            PromDuration::parse("500ms").unwrap().0,
            Duration::from_millis(500)
        );
        assert_eq!(
            PromDuration::parse("1m30s").unwrap().0,
            Duration::from_secs(90)
        );
        assert_eq!(
            PromDuration::parse("2h").unwrap().0,
            Duration::from_secs(7200)
        );
    }

    #[test]
    fn rejects_bad_durations_with_the_reason() {
        assert!(PromDuration::parse("10")
            .unwrap_err()
            .contains("missing unit"));
        assert!(PromDuration::parse("1x")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(PromDuration::parse("s")
            .unwrap_err()
            .contains("expected a number"));
        assert!(PromDuration::parse("").is_err());
    }

    #[test]
    fn displays_back_in_the_same_notation() {
        for s in ["250ms", "1s", "2m", "3h"] {
            assert_eq!(PromDuration::parse(s).unwrap().to_string(), s);
        }
    }
}
