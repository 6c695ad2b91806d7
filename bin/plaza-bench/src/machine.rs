//! What `/proc` and `/sys` say about this machine and about a process: CPU time, resident
//! memory, allowed CPUs, the CPU model and the kernel. Linux only; every reading is optional
//! so the generator still runs (with fewer figures) elsewhere.

use std::process::Command;
use std::time::Instant;

use serde::Serialize;

/// Clock ticks per second of `utime`/`stime` in `/proc/<pid>/stat` (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// The machine a report was made on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// Logical CPUs listed in `/proc/cpuinfo`.
    pub cores: usize,
    /// `/proc/sys/kernel/osrelease`.
    pub kernel: String,
    /// The CPUs this generator may run on (`Cpus_allowed_list`).
    pub generator_cpus: String,
}

impl Machine {
    /// Reads the machine's description.
    pub fn read() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".to_owned(), |(_, v)| v.trim().to_owned());
        let cores = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count()
            .max(1);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_owned(), |s| s.trim().to_owned());
        Self {
            cpu_model,
            cores,
            kernel,
            generator_cpus: cpus_allowed(None).unwrap_or_else(|| "unknown".to_owned()),
        }
    }
}

/// Every online CPU as a list `taskset -c` takes (`0-1`).
pub fn all_cpus() -> String {
    if let Ok(online) = std::fs::read_to_string("/sys/devices/system/cpu/online") {
        let online = online.trim();
        if !online.is_empty() {
            return online.to_owned();
        }
    }
    let n = Machine::read().cores;
    format!("0-{}", n - 1)
}

/// `Cpus_allowed_list` of a process (`None`: this one).
pub fn cpus_allowed(pid: Option<u32>) -> Option<String> {
    status_field(pid, "Cpus_allowed_list:").map(|v| v.trim().to_owned())
}

/// Resident memory of a process in bytes (`VmRSS`).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let value = status_field(Some(pid), "VmRSS:")?;
    let kib: u64 = value.split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024)
}

fn status_field(pid: Option<u32>, key: &str) -> Option<String> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).map(str::to_owned))
}

/// User plus system CPU time of a process, in seconds (`None`: this one).
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    #[allow(clippy::cast_precision_loss)]
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

/// The commit checked out in the working directory, if `git` knows.
pub fn git_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let commit = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!commit.is_empty()).then_some(commit)
}

/// Busy CPU time of the whole machine, in seconds (user, nice, system, irq and softirq of
/// every CPU, from `/proc/stat`).
pub fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal …
    let busy = [0, 1, 2, 5, 6]
        .iter()
        .map(|&i| fields.get(i).copied().unwrap_or(0))
        .sum::<u64>();
    #[allow(clippy::cast_precision_loss)]
    Some(busy as f64 / TICKS_PER_SECOND)
}

/// CPU time of this generator, the server (when local) and the whole machine at one instant.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    at: Instant,
    generator: Option<f64>,
    server: Option<f64>,
    machine: Option<f64>,
}

impl CpuSample {
    /// Samples now.
    pub fn take(server_pid: Option<u32>) -> Self {
        Self {
            at: Instant::now(),
            generator: cpu_seconds(None),
            server: server_pid.and_then(|pid| cpu_seconds(Some(pid))),
            machine: machine_busy_seconds(),
        }
    }

    /// CPU used between `self` and `later`, in seconds and as % of the wall time between them.
    pub fn until(&self, later: &Self) -> CpuUsage {
        let wall = later.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let diff = |a: Option<f64>, b: Option<f64>| Some((b? - a?).max(0.0));
        let generator = diff(self.generator, later.generator);
        let server = diff(self.server, later.server);
        let other = diff(self.machine, later.machine).map(|busy| {
            (busy - generator.unwrap_or_default() - server.unwrap_or_default()).max(0.0)
        });
        CpuUsage {
            generator_cpu_s: generator,
            generator_cpu_pct: generator.map(|s| s / wall * 100.0),
            server_cpu_s: server,
            server_cpu_pct: server.map(|s| s / wall * 100.0),
            other_cpu_pct: other.map(|s| s / wall * 100.0),
        }
    }
}

/// CPU used over a run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CpuUsage {
    /// The generator's user + system time, seconds.
    pub generator_cpu_s: Option<f64>,
    /// The same as % of wall time (100 = one core busy).
    pub generator_cpu_pct: Option<f64>,
    /// The server's user + system time, seconds (local servers only).
    pub server_cpu_s: Option<f64>,
    /// The same as % of wall time.
    pub server_cpu_pct: Option<f64>,
    /// Every other process of the machine (the database, anything else running), % of wall
    /// time: a figure measured while something else was busy is worth rerunning.
    pub other_cpu_pct: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        assert!(cpu_seconds(None).is_some());
        assert!(rss_bytes(std::process::id()).is_some_and(|b| b > 0));
        assert!(cpus_allowed(None).is_some());
        assert!(machine_busy_seconds().is_some_and(|s| s > 0.0));
    }
}
