//! Turning a column's text into a sample value, on purpose for every odd case.
//!
//! App collectors read their rows in PostgreSQL's text format, so every
//! numeric type (int, bigint, numeric, real, double, boolean) arrives the
//! same way and is parsed by one set of rules:
//!
//! | input | gauge | counter, histogram |
//! |---|---|---|
//! | NULL | skipped, counted as `null` | skipped, counted as `null` |
//! | `t` / `f` (boolean) | 1 / 0 | 1 / 0 |
//! | `NaN` | NaN | skipped, counted as `nan` |
//! | `Infinity`, `-Infinity` | +Inf, -Inf | skipped, counted as `infinite` |
//! | a number beyond f64's range (1e400) | skipped, counted as `out_of_range` | same |
//! | an integer beyond 2^53 (bigint, numeric) | nearest f64, counted as `precision_loss` | same |
//! | a negative counter increment | | skipped, counted as `negative` |
//! | any other text | skipped, counted as `not_a_number` | same |
//! | a label set already seen in this result (snapshot) | first row kept, counted as `duplicate_labels` | same |
//! | a NULL label value | the empty string (as Prometheus reads a missing label) | same |
//!
//! Counted means `pgmig_app_value_errors_total{reason}` grows by one.

/// Why a value was not used (or was used with a caveat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Null,
    NotANumber,
    Nan,
    Infinite,
    OutOfRange,
    PrecisionLoss,
    Negative,
    /// A second row with the label set of an earlier one (the first is kept).
    Duplicate,
}

impl Problem {
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::Null => "null",
            Problem::NotANumber => "not_a_number",
            Problem::Nan => "nan",
            Problem::Infinite => "infinite",
            Problem::OutOfRange => "out_of_range",
            Problem::PrecisionLoss => "precision_loss",
            Problem::Negative => "negative",
            Problem::Duplicate => "duplicate_labels",
        }
    }
}

/// The outcome of parsing: a value (maybe with a caveat to count) or a
/// reason to skip the sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Parsed {
    Value(f64),
    Lossy(f64),
    Skip(Problem),
}

/// Parses a column value. `finite_only` is true for counters and histograms.
pub fn parse(raw: Option<&str>, finite_only: bool) -> Parsed {
    let Some(s) = raw else {
        return Parsed::Skip(Problem::Null);
    };
    let s = s.trim();
    match s {
        "t" | "true" => return Parsed::Value(1.0),
        "f" | "false" => return Parsed::Value(0.0),
        "NaN" => {
            return if finite_only {
                Parsed::Skip(Problem::Nan)
            } else {
                Parsed::Value(f64::NAN)
            }
        }
        "Infinity" | "-Infinity" => {
            return if finite_only {
                Parsed::Skip(Problem::Infinite)
            } else if s.starts_with('-') {
                Parsed::Value(f64::NEG_INFINITY)
            } else {
                Parsed::Value(f64::INFINITY)
            }
        }
        _ => {}
    }
    // Rust also accepts "inf" and "nan", which PostgreSQL never prints for
    // numbers: such text is not a number here.
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
    {
        return Parsed::Skip(Problem::NotANumber);
    }
    let Ok(v) = s.parse::<f64>() else {
        return Parsed::Skip(Problem::NotANumber);
    };
    if !v.is_finite() {
        return Parsed::Skip(Problem::OutOfRange);
    }
    if finite_only && v < 0.0 {
        return Parsed::Skip(Problem::Negative);
    }
    let integer = s
        .trim_start_matches(['-', '+'])
        .bytes()
        .all(|b| b.is_ascii_digit());
    if integer && v.abs() >= 9_007_199_254_740_992.0 {
        // Exact only if the digits survive the round trip.
        let back = format!("{:.0}", v);
        let digits = s.trim_start_matches('+');
        if back != digits {
            return Parsed::Lossy(v);
        }
    }
    Parsed::Value(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_odd_input_has_a_defined_outcome() {
        assert_eq!(parse(None, false), Parsed::Skip(Problem::Null));
        assert_eq!(parse(Some("42"), true), Parsed::Value(42.0));
        assert_eq!(parse(Some("-1.5e3"), false), Parsed::Value(-1500.0));
        assert_eq!(parse(Some("t"), true), Parsed::Value(1.0));
        assert!(matches!(parse(Some("NaN"), false), Parsed::Value(v) if v.is_nan()));
        assert_eq!(parse(Some("NaN"), true), Parsed::Skip(Problem::Nan));
        assert_eq!(
            parse(Some("-Infinity"), false),
            Parsed::Value(f64::NEG_INFINITY)
        );
        assert_eq!(
            parse(Some("Infinity"), true),
            Parsed::Skip(Problem::Infinite)
        );
        assert_eq!(
            parse(Some("1e400"), false),
            Parsed::Skip(Problem::OutOfRange)
        );
        assert_eq!(parse(Some("abc"), false), Parsed::Skip(Problem::NotANumber));
        assert_eq!(parse(Some("inf"), false), Parsed::Skip(Problem::NotANumber));
        assert_eq!(parse(Some("-3"), true), Parsed::Skip(Problem::Negative));
        // 2^53 + 1 cannot be represented; 2^60 can.
        assert_eq!(
            parse(Some("9007199254740993"), false),
            Parsed::Lossy(9007199254740992.0)
        );
        assert_eq!(
            parse(Some("1152921504606846976"), false),
            Parsed::Value(1152921504606846976.0)
        );
        assert_eq!(
            parse(Some("99999999999999999999999999"), false),
            Parsed::Lossy(1e26)
        );
    }
}
