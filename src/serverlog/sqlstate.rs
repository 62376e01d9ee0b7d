//! SQLSTATE codes: the config's code lists and the class names of
//! PostgreSQL's errcodes appendix.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// The classes of PostgreSQL's errcodes appendix ("Appendix A. PostgreSQL
/// Error Codes"), as (class, name), for every supported version (13+): class
/// 72 was dropped in 17, class 10 appeared in 18.
pub const CLASSES: &[(&str, &str)] = &[
    ("00", "Successful Completion"),
    ("01", "Warning"),
    ("02", "No Data"),
    ("03", "SQL Statement Not Yet Complete"),
    ("08", "Connection Exception"),
    ("09", "Triggered Action Exception"),
    ("0A", "Feature Not Supported"),
    ("0B", "Invalid Transaction Initiation"),
    ("0F", "Locator Exception"),
    ("0L", "Invalid Grantor"),
    ("0P", "Invalid Role Specification"),
    ("0Z", "Diagnostics Exception"),
    ("10", "XQuery Error"),
    ("20", "Case Not Found"),
    ("21", "Cardinality Violation"),
    ("22", "Data Exception"),
    ("23", "Integrity Constraint Violation"),
    ("24", "Invalid Cursor State"),
    ("25", "Invalid Transaction State"),
    ("26", "Invalid SQL Statement Name"),
    ("27", "Triggered Data Change Violation"),
    ("28", "Invalid Authorization Specification"),
    ("2B", "Dependent Privilege Descriptors Still Exist"),
    ("2D", "Invalid Transaction Termination"),
    ("2F", "SQL Routine Exception"),
    ("34", "Invalid Cursor Name"),
    ("38", "External Routine Exception"),
    ("39", "External Routine Invocation Exception"),
    ("3B", "Savepoint Exception"),
    ("3D", "Invalid Catalog Name"),
    ("3F", "Invalid Schema Name"),
    ("40", "Transaction Rollback"),
    ("42", "Syntax Error or Access Rule Violation"),
    ("44", "WITH CHECK OPTION Violation"),
    ("53", "Insufficient Resources"),
    ("54", "Program Limit Exceeded"),
    ("55", "Object Not In Prerequisite State"),
    ("57", "Operator Intervention"),
    ("58", "System Error"),
    ("72", "Snapshot Failure"),
    ("F0", "Configuration File Error"),
    ("HV", "Foreign Data Wrapper Error"),
    ("P0", "PL/pgSQL Error"),
    ("XX", "Internal Error"),
];

/// The name of a class ("23"), if PostgreSQL defines it.
pub fn class_name(class: &str) -> Option<&'static str> {
    CLASSES.iter().find(|(c, _)| *c == class).map(|(_, n)| *n)
}

/// Five characters, digits and upper-case ASCII letters: the shape of every
/// SQLSTATE PostgreSQL writes.
pub fn is_sqlstate(b: &[u8]) -> bool {
    b.len() == 5
        && b.iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
}

/// A SQLSTATE from the config file. YAML reads `23505` as a number and
/// `01000` as 1000: integers are taken back as five digits; anything else
/// must be a five-character code (quote it when in doubt, e.g. `"22E01"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SqlState(pub [u8; 5]);

impl SqlState {
    pub fn as_str(&self) -> &str {
        // Only ever built from ASCII.
        std::str::from_utf8(&self.0).unwrap_or("?????")
    }

    pub fn parse(s: &str) -> Result<SqlState, String> {
        let b = s.as_bytes();
        if !is_sqlstate(b) {
            return Err(format!(
                "{s:?} is not a SQLSTATE (five digits or upper-case letters, e.g. 23505 or 42P10)"
            ));
        }
        let mut a = [0u8; 5];
        a.copy_from_slice(b);
        Ok(SqlState(a))
    }
}

impl fmt::Display for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SqlState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SqlState;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a SQLSTATE such as 23505 or 42P10")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SqlState, E> {
                SqlState::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SqlState, E> {
                if v > 99_999 {
                    return Err(E::custom(format!(
                        "{v} is not a SQLSTATE (five characters)"
                    )));
                }
                SqlState::parse(&format!("{v:05}")).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SqlState, E> {
                match u64::try_from(v) {
                    Ok(u) => self.visit_u64(u),
                    Err(_) => Err(E::custom(format!("{v} is not a SQLSTATE"))),
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<SqlState, E> {
                Err(E::custom(format!(
                    "{v} was read as a number: quote the SQLSTATE (e.g. \"22E01\")"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_from_yaml_numbers_keep_their_leading_zeros() {
        let v: Vec<SqlState> = serde_yaml_ng::from_str("[23505, 01000, 42P10, \"40P01\"]").unwrap();
        let s: Vec<&str> = v.iter().map(SqlState::as_str).collect();
        assert_eq!(s, ["23505", "01000", "42P10", "40P01"]);
        assert!(serde_yaml_ng::from_str::<Vec<SqlState>>("[4200]").is_ok());
        assert!(serde_yaml_ng::from_str::<Vec<SqlState>>("[123456]").is_err());
        assert!(serde_yaml_ng::from_str::<Vec<SqlState>>("[42p10]").is_err());
        assert!(serde_yaml_ng::from_str::<Vec<SqlState>>("[1.5]").is_err());
    }

    #[test]
    fn class_names_come_from_the_appendix() {
        assert_eq!(class_name("23"), Some("Integrity Constraint Violation"));
        assert_eq!(class_name("40"), Some("Transaction Rollback"));
        assert_eq!(class_name("ZZ"), None);
    }
}
