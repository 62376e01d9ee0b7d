//! The error counters of one target, bounded.
//!
//! Codes: with an allow-list (`codes`), only the listed codes (and the
//! migrations' expected and forbidden codes) get a series of their own; all
//! others are summed into `code="other"` (per class). Without one, the first
//! `max_codes` distinct codes seen get their own series and later ones go to
//! `other`: a counter never goes down, so a code cannot leave `other` once
//! counted there (a "top N by count" would have to move counts between
//! series). Label sets: at most `max_series`; beyond that, new combinations
//! are counted with `datname="other"` and `usename="other"`.
//!
//! Counting an entry of an existing series allocates nothing: codes and
//! names are interned and the series key is a small `Copy` value.

use std::collections::HashMap;

use crate::exposition::Rendered;

use super::parse::{Entry, Severity};
use super::sqlstate::SqlState;
use crate::exposition::Family;

const CODE_OTHER: u16 = 0;
const NAME_EMPTY: u32 = 0;
const NAME_OTHER: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    code: u16,
    class: [u8; 2],
    severity: Severity,
    datname: u32,
    usename: u32,
}

#[derive(Debug)]
pub struct Counts {
    codes: HashMap<[u8; 5], u16>,
    code_list: Vec<[u8; 5]>,
    allow_list: bool,
    dynamic: usize,
    max_codes: usize,
    max_series: usize,
    names: HashMap<Box<str>, u32>,
    name_list: Vec<Box<str>>,
    series: HashMap<Key, u64>,
}

impl Counts {
    /// `allow`: the allow-list (empty: the first `max_codes` codes);
    /// `always`: codes that always get their own series (expected, forbidden).
    pub fn new(
        allow: &[SqlState],
        always: &[SqlState],
        max_codes: usize,
        max_series: usize,
    ) -> Counts {
        let mut c = Counts {
            codes: HashMap::new(),
            code_list: vec![*b"other"],
            allow_list: !allow.is_empty(),
            dynamic: 0,
            max_codes,
            max_series: max_series.max(1),
            names: HashMap::new(),
            name_list: Vec::new(),
            series: HashMap::new(),
        };
        for s in allow.iter().chain(always) {
            c.admit(s.0);
        }
        for n in ["", "other"] {
            c.intern(n);
        }
        c
    }

    fn admit(&mut self, code: [u8; 5]) -> u16 {
        if let Some(id) = self.codes.get(&code) {
            return *id;
        }
        let id = self.code_list.len() as u16;
        self.code_list.push(code);
        self.codes.insert(code, id);
        id
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.names.get(name) {
            return *id;
        }
        let id = self.name_list.len() as u32;
        self.name_list.push(name.into());
        self.names.insert(name.into(), id);
        id
    }

    pub fn add(&mut self, e: &Entry) {
        let code = match self.codes.get(&e.code) {
            Some(id) => *id,
            None if !self.allow_list && self.dynamic < self.max_codes => {
                self.dynamic += 1;
                self.admit(e.code)
            }
            None => CODE_OTHER,
        };
        let mut key = Key {
            code,
            class: [e.code[0], e.code[1]],
            severity: e.severity,
            datname: NAME_EMPTY,
            usename: NAME_EMPTY,
        };
        if let (Some(d), Some(u)) = (self.names.get(e.datname), self.names.get(e.user)) {
            key.datname = *d;
            key.usename = *u;
            if let Some(v) = self.series.get_mut(&key) {
                *v += 1;
                return;
            }
        }
        if self.series.len() < self.max_series {
            key.datname = self.intern(e.datname);
            key.usename = self.intern(e.user);
        } else {
            key.datname = NAME_OTHER;
            key.usename = NAME_OTHER;
        }
        *self.series.entry(key).or_insert(0) += 1;
    }

    pub fn series(&self) -> usize {
        self.series.len()
    }

    pub fn family(&self, target: &str) -> Rendered {
        let mut f = Family::counter(
            "pgmig_server_errors_total",
            "ERROR, FATAL and PANIC entries in the PostgreSQL server log since the exporter started, by SQLSTATE (code, or \"other\" beyond the allow-list or max_codes) and its class.",
            &[("target", target)],
        );
        let mut keys: Vec<(&Key, &u64)> = self.series.iter().collect();
        keys.sort();
        for (k, v) in keys {
            let code = &self.code_list[k.code as usize];
            f.add(
                &[
                    ("code", std::str::from_utf8(code).unwrap_or("other")),
                    ("code_class", std::str::from_utf8(&k.class).unwrap_or("")),
                    ("severity", k.severity.as_str()),
                    ("datname", &self.name_list[k.datname as usize]),
                    ("usename", &self.name_list[k.usename as usize]),
                ],
                *v as f64,
            );
        }
        f.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e<'a>(code: &[u8; 5], db: &'a str) -> Entry<'a> {
        Entry {
            severity: Severity::Error,
            code: *code,
            user: "u",
            datname: db,
            application_name: "app",
        }
    }

    fn values(c: &Counts) -> Vec<(String, String, String, f64)> {
        let f = c.family("t");
        f.samples()
            .map(|(labels, v)| {
                let l = |n: &str| crate::exposition::label_value(labels, n).unwrap();
                (l("code"), l("code_class"), l("datname"), v)
            })
            .collect()
    }

    #[test]
    fn the_first_codes_keep_their_series_and_later_ones_go_to_other() {
        let forbidden = SqlState::parse("42P10").unwrap();
        let mut c = Counts::new(&[], &[forbidden], 1, 100);
        c.add(&e(b"23505", "a"));
        c.add(&e(b"23505", "a"));
        c.add(&e(b"23503", "a"));
        c.add(&e(b"42P10", "a"));
        c.add(&e(b"42P01", "a"));
        let v = values(&c);
        let get =
            |code: &str, class: &str| v.iter().find(|x| x.0 == code && x.1 == class).map(|x| x.3);
        assert_eq!(get("23505", "23"), Some(2.0));
        assert_eq!(
            get("42P10", "42"),
            Some(1.0),
            "forbidden codes always get a series"
        );
        assert_eq!(get("other", "23"), Some(1.0));
        assert_eq!(get("other", "42"), Some(1.0));
        assert_eq!(v.len(), 4);
    }

    #[test]
    fn the_allow_list_folds_everything_else() {
        let mut c = Counts::new(&[SqlState::parse("40P01").unwrap()], &[], 50, 100);
        c.add(&e(b"40P01", "a"));
        c.add(&e(b"23505", "a"));
        let v = values(&c);
        assert!(v.contains(&("40P01".into(), "40".into(), "a".into(), 1.0)));
        assert!(v.contains(&("other".into(), "23".into(), "a".into(), 1.0)));
    }

    #[test]
    fn label_sets_beyond_max_series_are_counted_as_other() {
        let mut c = Counts::new(&[], &[], 50, 2);
        for db in ["a", "b", "c", "d", "a"] {
            c.add(&e(b"23505", db));
        }
        let v = values(&c);
        assert!(v.contains(&("23505".into(), "23".into(), "a".into(), 2.0)));
        assert!(v.contains(&("23505".into(), "23".into(), "b".into(), 1.0)));
        assert!(v.contains(&("23505".into(), "23".into(), "other".into(), 2.0)));
        assert_eq!(c.series(), 3);
    }
}
