//! The process's own gauges in Prometheus's standard names (`process_*`, read from `/proc` at
//! each scrape) and the data directory's disk, so that one scrape answers "is it healthy".

use std::path::PathBuf;

use prometheus::{Counter, Gauge, IntGauge};

pub(super) struct ProcessMetrics {
    cpu_seconds: Counter,
    resident_bytes: IntGauge,
    virtual_bytes: IntGauge,
    open_fds: IntGauge,
    max_fds: IntGauge,
    start_time: Gauge,
    threads: IntGauge,
    data_dir: Option<PathBuf>,
    disk_free: IntGauge,
    disk_size: IntGauge,
}

impl ProcessMetrics {
    /// `registry` has no prefix: these names are the same in every Prometheus exporter.
    pub(super) fn register(
        registry: &super::Families,
        prefixed: &super::Families,
        data_dir: Option<PathBuf>,
    ) -> ProcessMetrics {
        let int = |r: &super::Families, name: &str, help: &str| {
            super::register(r, IntGauge::new(name, help))
        };
        ProcessMetrics {
            cpu_seconds: super::register(
                registry,
                Counter::new(
                    "process_cpu_seconds_total",
                    "Total user and system CPU time spent in seconds.",
                ),
            ),
            resident_bytes: int(
                registry,
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
            ),
            virtual_bytes: int(
                registry,
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
            ),
            open_fds: int(
                registry,
                "process_open_fds",
                "Number of open file descriptors.",
            ),
            max_fds: int(
                registry,
                "process_max_fds",
                "Maximum number of open file descriptors.",
            ),
            start_time: super::register(
                registry,
                Gauge::new(
                    "process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.",
                ),
            ),
            threads: int(
                registry,
                "process_threads",
                "Number of OS threads in the process.",
            ),
            disk_free: int(
                prefixed,
                "data_dir_free_bytes",
                "Bytes free (for an unprivileged user) on the file system of the data directory.",
            ),
            disk_size: int(
                prefixed,
                "data_dir_size_bytes",
                "Size in bytes of the file system of the data directory.",
            ),
            data_dir,
        }
    }

    pub(super) fn update(&self) {
        if let Some(stat) = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| ProcStat::parse(&s))
        {
            let ticks = ticks_per_second();
            let cpu = (stat.utime + stat.stime) as f64 / ticks;
            if cpu > self.cpu_seconds.get() {
                self.cpu_seconds.inc_by(cpu - self.cpu_seconds.get());
            }
            self.virtual_bytes.set(stat.vsize as i64);
            self.resident_bytes.set(stat.rss_pages as i64 * page_size());
            self.threads.set(stat.threads as i64);
            if let Some(boot) = boot_time() {
                self.start_time.set(boot + stat.start_ticks as f64 / ticks);
            }
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            self.open_fds.set(dir.count() as i64);
        }
        if let Ok(limit) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        {
            self.max_fds.set(i64::try_from(limit.0).unwrap_or(i64::MAX));
        }
        if let Some(dir) = &self.data_dir {
            if let Ok(fs) = nix::sys::statvfs::statvfs(dir) {
                let block = fs.fragment_size() as i64;
                self.disk_free.set(fs.blocks_available() as i64 * block);
                self.disk_size.set(fs.blocks() as i64 * block);
            }
        }
    }
}

/// The fields of `/proc/self/stat` that the gauges need.
#[derive(Debug, PartialEq)]
struct ProcStat {
    utime: u64,
    stime: u64,
    threads: u64,
    start_ticks: u64,
    vsize: u64,
    rss_pages: u64,
}

impl ProcStat {
    /// The command name (field 2) is in parentheses and may hold spaces or parentheses itself,
    /// so the fields are counted from the last `)`.
    fn parse(text: &str) -> Option<ProcStat> {
        let rest = &text[text.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // fields[0] is field 3 (state).
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
        Some(ProcStat {
            utime: field(14)?,
            stime: field(15)?,
            threads: field(20)?,
            start_ticks: field(22)?,
            vsize: field(23)?,
            rss_pages: field(24)?,
        })
    }
}

/// Clock ticks per second for `/proc` times: 100 on every Linux this runs on.
fn ticks_per_second() -> f64 {
    100.0
}

fn page_size() -> i64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .unwrap_or(4096)
}

/// When the machine booted, in Unix seconds (`btime` in `/proc/stat`).
fn boot_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse::<f64>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let line = "4242 (sluss (a) b) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 75 0 0 20 0 \
                    17 0 123456 987654321 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1";
        let stat = ProcStat::parse(line).unwrap();
        assert_eq!(
            stat,
            ProcStat {
                utime: 250,
                stime: 75,
                threads: 17,
                start_ticks: 123456,
                vsize: 987654321,
                rss_pages: 2048,
            }
        );
        assert_eq!(ProcStat::parse("garbage"), None);
        assert_eq!(ProcStat::parse("1 (x) S 1 2"), None);
    }
}
