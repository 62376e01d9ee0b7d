//! The standard `process_*` metrics every Prometheus client library serves
//! (CPU time, resident and virtual memory, open and maximum file
//! descriptors, start time), read from `/proc/self` at scrape time with the
//! standard library only. Off Linux, or when `/proc` is not mounted, the
//! families are simply absent.

use std::io::Read as _;

use crate::exposition::{Family, Rendered};

/// Clock ticks per second of the times in `/proc/<pid>/stat`. The kernel
/// reports them in USER_HZ, which is 100 on every architecture Linux
/// userspace runs on today; client_golang's procfs assumes the same.
const USER_HZ: f64 = 100.0;

/// The /proc files read here are a few hundred bytes; the cap only guards
/// against a surprise.
const MAX_PROC_FILE: u64 = 64 * 1024;

fn read_proc(path: &str) -> Option<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_PROC_FILE)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// What one scrape reads about this process.
#[derive(Debug, Default, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: Option<f64>,
    pub resident_bytes: Option<f64>,
    pub virtual_bytes: Option<f64>,
    pub start_time_seconds: Option<f64>,
    pub open_fds: Option<f64>,
    pub max_fds: Option<f64>,
}

/// The fields of `/proc/<pid>/stat` after the command name, which may hold
/// spaces and parentheses: the name ends at the last `)`.
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().collect())
}

/// CPU seconds (utime + stime) and start time in ticks after boot, from
/// `/proc/self/stat` (fields 14, 15 and 22 of proc(5); index 0 here is
/// field 3, the state).
fn parse_stat(stat: &str) -> Option<(f64, f64)> {
    let f = stat_fields(stat)?;
    let ticks = |i: usize| f.get(i)?.parse::<u64>().ok();
    let cpu = (ticks(11)? + ticks(12)?) as f64 / USER_HZ;
    let start_ticks = ticks(19)? as f64;
    Some((cpu, start_ticks))
}

/// `VmRSS` and `VmSize` of `/proc/self/status`, in bytes (the file says kB).
fn parse_status_kb(status: &str, key: &str) -> Option<f64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line[key.len()..]
        .trim_start_matches(':')
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb as f64 * 1024.0)
}

/// `btime` of `/proc/stat`: the boot time in seconds since the epoch.
fn parse_btime(stat: &str) -> Option<f64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| s as f64)
}

/// The soft limit of "Max open files" in `/proc/self/limits`.
fn parse_max_fds(limits: &str) -> Option<f64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line["Max open files".len()..].split_whitespace().next()?;
    match soft {
        "unlimited" => Some(f64::INFINITY),
        n => n.parse::<u64>().ok().map(|n| n as f64),
    }
}

impl ProcessStats {
    pub fn read() -> ProcessStats {
        let mut s = ProcessStats::default();
        if let Some((cpu, start_ticks)) = read_proc("/proc/self/stat").and_then(|t| parse_stat(&t))
        {
            s.cpu_seconds = Some(cpu);
            s.start_time_seconds = read_proc("/proc/stat")
                .and_then(|t| parse_btime(&t))
                .map(|boot| boot + start_ticks / USER_HZ);
        }
        if let Some(status) = read_proc("/proc/self/status") {
            s.resident_bytes = parse_status_kb(&status, "VmRSS");
            s.virtual_bytes = parse_status_kb(&status, "VmSize");
        }
        s.open_fds = std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| d.count() as f64);
        s.max_fds = read_proc("/proc/self/limits").and_then(|t| parse_max_fds(&t));
        s
    }

    /// The families, with the help texts client_golang uses.
    pub fn families(&self) -> Vec<Rendered> {
        let specs: [(&str, &str, bool, Option<f64>); 6] = [
            (
                "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
                true,
                self.cpu_seconds,
            ),
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                false,
                self.resident_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                false,
                self.virtual_bytes,
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                false,
                self.start_time_seconds,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors.",
                false,
                self.open_fds,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors.",
                false,
                self.max_fds,
            ),
        ];
        specs
            .into_iter()
            .filter_map(|(name, help, counter, value)| {
                let mut f = if counter {
                    Family::counter(name, help, &[])
                } else {
                    Family::gauge(name, help, &[])
                };
                f.add(&[], value?);
                Some(f.finish())
            })
            .collect()
    }
}

/// The families for one scrape.
pub fn families() -> Vec<Rendered> {
    ProcessStats::read().families()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_a_hostile_command_name() {
        // comm may hold spaces and ')': fields are counted after the last ')'.
        let stat = "4242 (a) b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 \
                    123456 10000000 500 18446744073709551615";
        let (cpu, start) = parse_stat(stat).unwrap();
        assert_eq!(cpu, 3.0);
        assert_eq!(start, 123456.0);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn status_limits_and_btime() {
        let status = "Name:\tx\nVmSize:\t  10240 kB\nVmRSS:\t    2048 kB\n";
        assert_eq!(parse_status_kb(status, "VmRSS"), Some(2048.0 * 1024.0));
        assert_eq!(parse_status_kb(status, "VmSize"), Some(10240.0 * 1024.0));
        assert_eq!(parse_status_kb(status, "VmSwap"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(parse_max_fds(limits), Some(1024.0));
        assert_eq!(parse_btime("cpu 1 2\nbtime 1700000000\n"), Some(1.7e9));
    }

    #[test]
    fn this_process_reads_plausibly() {
        let s = ProcessStats::read();
        assert!(s.resident_bytes.unwrap() > 0.0);
        assert!(s.virtual_bytes.unwrap() >= s.resident_bytes.unwrap());
        assert!(s.open_fds.unwrap() >= 1.0);
        assert!(s.max_fds.unwrap() >= s.open_fds.unwrap());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = s.start_time_seconds.unwrap();
        assert!(
            start <= now + 1.0 && start > now - 86400.0,
            "{start} vs {now}"
        );
        assert_eq!(s.families().len(), 6);
    }
}
