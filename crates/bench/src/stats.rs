//! Timing helpers.

use std::time::{Duration, Instant};

/// Runs `op` `runs` times and answers the median duration.
pub fn median(runs: usize, mut op: impl FnMut()) -> Duration {
    median_of(
        (0..runs)
            .map(|_| {
                let started = Instant::now();
                op();
                started.elapsed()
            })
            .collect(),
    )
}

/// The median of measured durations.
pub fn median_of(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// The median of `a[i] / b[i]`: the ratio of two series measured in the same rounds, each
/// pair close in time, so that the machine's drift over the run cancels out.
pub fn paired_ratio(a: &[Duration], b: &[Duration]) -> f64 {
    let mut ratios: Vec<f64> = a
        .iter()
        .zip(b)
        .filter(|(_, b)| !b.is_zero())
        .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios.get(ratios.len() / 2).copied().unwrap_or_default()
}

/// Runs `op` once; answers how long it took and its value.
pub fn timed<T>(op: impl FnOnce() -> Result<T, String>) -> Result<(Duration, T), String> {
    let started = Instant::now();
    let value = op()?;
    Ok((started.elapsed(), value))
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Resident set size of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
