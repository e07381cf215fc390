//! The snapshot keys of volumes: `snapshots.schedule` (cron), `snapshots.expiry` and
//! `snapshots.expiry.manual` (expiry durations) and `snapshots.pattern` (names). Pure
//! functions: the daemon takes and expires snapshots with them, and config validation checks
//! values with them.
//!
//! - A schedule is a 5-field cron expression (`minute hour day-of-month month day-of-week`) or
//!   one of `@hourly`, `@daily`, `@midnight`, `@weekly`, `@monthly`, `@annually`, `@yearly`,
//!   several of them separated by `, `. Fields take `*`, `?` (day fields), numbers, ranges
//!   `a-b`, steps `*/n`, `a-b/n`, `a/n`, lists `a,b`, month names `jan`..`dec` and day names
//!   `sun`..`sat` (0 and 7 are Sunday). When both day fields are restricted, a day matching
//!   either one matches (as in cron). `@startup` and `@never` are instance schedules in Incus,
//!   not volume ones, and are refused.
//! - An expiry is space-separated amounts with a unit: `M` minutes, `H` hours, `d` days, `w`
//!   weeks, `m` months, `y` years (`1d`, `2w`, `1H`, `1m 2d`). Months and years are calendar
//!   ones, normalized like Go's `AddDate` (Jan 31 + 1 month = Mar 3 or 2).
//! - A pattern names snapshots: `%d` is replaced by the next free number (the largest one in use
//!   plus one, from 0); a pattern without `%d` is the name itself, then `<pattern>-%d` once it
//!   is taken. Incus's pongo2 templates (`{{ ... }}`) are not supported and are refused.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const KEY_SCHEDULE: &str = "snapshots.schedule";
pub const KEY_PATTERN: &str = "snapshots.pattern";
pub const KEY_EXPIRY: &str = "snapshots.expiry";
pub const KEY_EXPIRY_MANUAL: &str = "snapshots.expiry.manual";
/// The pattern of snapshots whose volume sets none.
pub const DEFAULT_PATTERN: &str = "snap%d";

const ALIASES: [(&str, &str); 7] = [
    ("@hourly", "0 * * * *"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@weekly", "0 0 * * 0"),
    ("@monthly", "0 0 1 * *"),
    ("@annually", "0 0 1 1 *"),
    ("@yearly", "0 0 1 1 *"),
];

const MONTHS: [&str; 12] =
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One minute of local time, as cron sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minute {
    pub minute: u32,
    pub hour: u32,
    /// 1..=31
    pub day: u32,
    /// 1..=12
    pub month: u32,
    /// 0 (Sunday)..=6
    pub weekday: u32,
}

/// One cron expression: the allowed values of each field as bit sets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// The day fields were `*` (or `?`): only the other one restricts the day.
    any_day: bool,
    any_weekday: bool,
}

/// A parsed `snapshots.schedule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    entries: Vec<Entry>,
}

fn field_value(text: &str, min: u32, max: u32, names: &[&str], name_base: u32) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(index) = names.iter().position(|n| *n == lower) {
        return Ok(name_base + index as u32);
    }
    let value: u32 = text.parse().map_err(|_| format!("\"{text}\" is not a number"))?;
    if value < min || value > max {
        return Err(format!("{value} is out of range ({min}-{max})"));
    }
    Ok(value)
}

/// Parses one field into a bit set of allowed values. Answers whether it was `*`/`?`.
fn parse_field(
    text: &str,
    what: &str,
    (min, max): (u32, u32),
    names: &[&str],
    name_base: u32,
) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let mut star = false;
    for part in text.split(',') {
        let bad = |why: String| format!("{what} \"{text}\": {why}");
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step.parse().map_err(|_| bad(format!("\"{step}\" is not a step")))?;
                if step == 0 {
                    return Err(bad("a step of 0".into()));
                }
                (range, Some(step))
            }
            None => (part, None),
        };
        let (low, high) = if range == "*" || range == "?" {
            if step.is_none() {
                star = true;
            }
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let a = field_value(a, min, max, names, name_base).map_err(bad)?;
            let b = field_value(b, min, max, names, name_base).map_err(bad)?;
            if a > b {
                return Err(bad(format!("the range {a}-{b} is backwards")));
            }
            (a, b)
        } else {
            let a = field_value(range, min, max, names, name_base).map_err(bad)?;
            // `a/n` runs from a to the end.
            (a, if step.is_some() { max } else { a })
        };
        let step = step.unwrap_or(1);
        let mut value = low;
        while value <= high {
            bits |= 1u64 << value;
            value += step;
        }
    }
    Ok((bits, star))
}

fn parse_entry(text: &str) -> Result<Entry, String> {
    let expanded = if text.starts_with('@') {
        let lower = text.to_ascii_lowercase();
        match ALIASES.iter().find(|(alias, _)| *alias == lower) {
            Some((_, cron)) => *cron,
            None if lower == "@startup" || lower == "@never" => {
                return Err(format!("\"{text}\" is a schedule of instances, not of storage volumes"))
            }
            None => {
                let known: Vec<&str> = ALIASES.iter().map(|(a, _)| *a).collect();
                return Err(format!(
                    "unknown schedule \"{text}\" (use a cron expression or one of {})",
                    known.join(", ")
                ));
            }
        }
    } else {
        text
    };
    let fields: Vec<&str> = expanded.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "\"{text}\" is not a cron expression: it needs 5 fields (minute hour day-of-month month day-of-week), not {}",
            fields.len()
        ));
    }
    let (minutes, _) = parse_field(fields[0], "minute", (0, 59), &[], 0)?;
    let (hours, _) = parse_field(fields[1], "hour", (0, 23), &[], 0)?;
    let (days, any_day) = parse_field(fields[2], "day of month", (1, 31), &[], 0)?;
    let (months, _) = parse_field(fields[3], "month", (1, 12), &MONTHS, 1)?;
    let (mut weekdays, any_weekday) = parse_field(fields[4], "day of week", (0, 7), &WEEKDAYS, 0)?;
    if weekdays & (1 << 7) != 0 {
        weekdays = (weekdays & !(1 << 7)) | 1;
    }
    Ok(Entry { minutes, hours, days, months, weekdays, any_day, any_weekday })
}

impl Entry {
    fn matches(&self, t: &Minute) -> bool {
        let has = |bits: u64, v: u32| v < 64 && bits & (1u64 << v) != 0;
        let day = has(self.days, t.day);
        let weekday = has(self.weekdays, t.weekday);
        let day_ok = if self.any_day || self.any_weekday { day && weekday } else { day || weekday };
        has(self.minutes, t.minute) && has(self.hours, t.hour) && has(self.months, t.month) && day_ok
    }
}

impl Schedule {
    /// Parses a schedule; `None` for an empty one (no automatic snapshots).
    pub fn parse(text: &str) -> Result<Option<Schedule>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        // Entries are separated by a comma and a space; commas inside a field have none.
        let mut entries = Vec::new();
        let mut rest = text;
        loop {
            let cut = rest
                .char_indices()
                .find(|(i, c)| *c == ',' && rest[i + 1..].starts_with(char::is_whitespace));
            match cut {
                Some((i, _)) => {
                    entries.push(parse_entry(rest[..i].trim())?);
                    rest = rest[i + 1..].trim_start();
                }
                None => {
                    entries.push(parse_entry(rest.trim())?);
                    break;
                }
            }
        }
        Ok(Some(Schedule { entries }))
    }

    /// Whether a snapshot is due in this minute.
    pub fn matches(&self, t: &Minute) -> bool {
        self.entries.iter().any(|e| e.matches(t))
    }
}

/// The local minute of `time` (the host's time zone, as cron).
pub fn local_minute(time: SystemTime) -> Option<Minute> {
    let secs = time.duration_since(UNIX_EPOCH).ok()?.as_secs();
    let t = libc::time_t::try_from(secs).ok()?;
    // SAFETY: tm is plain data that localtime_r fills; both pointers are valid for the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return None;
    }
    Some(Minute {
        minute: u32::try_from(tm.tm_min).ok()?,
        hour: u32::try_from(tm.tm_hour).ok()?,
        day: u32::try_from(tm.tm_mday).ok()?,
        month: u32::try_from(tm.tm_mon + 1).ok()?,
        weekday: u32::try_from(tm.tm_wday).ok()?,
    })
}

/// Days since 1970-01-01 of a (proleptic Gregorian) date; any month or day overflow carries
/// over, as Go's time normalizes it.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = year + (month - 1).div_euclid(12);
    let month = (month - 1).rem_euclid(12) + 1;
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + (day - 1)
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// When a snapshot taken at `start` expires under `expiry` (`None`: empty, never).
pub fn expiry_after(start: SystemTime, expiry: &str) -> Result<Option<SystemTime>, String> {
    let expiry = expiry.trim();
    if expiry.is_empty() {
        return Ok(None);
    }
    let (mut months, mut seconds) = (0i64, 0i64);
    for token in expiry.split_whitespace() {
        let bad = || {
            format!(
                "\"{token}\" is not an expiry: use amounts with a unit, M (minutes), H (hours), d (days), w (weeks), \
                 m (months) or y (years), like 1d or 2w"
            )
        };
        let split =
            token.len().checked_sub(1).filter(|i| *i > 0 && token.is_char_boundary(*i)).ok_or_else(bad)?;
        let (number, unit) = token.split_at(split);
        if !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: i64 = number.parse().map_err(|_| bad())?;
        let add = |total: i64, factor: i64| n.checked_mul(factor).and_then(|v| total.checked_add(v));
        match unit {
            "M" => seconds = add(seconds, 60).ok_or_else(bad)?,
            "H" => seconds = add(seconds, 3600).ok_or_else(bad)?,
            "d" => seconds = add(seconds, 86_400).ok_or_else(bad)?,
            "w" => seconds = add(seconds, 7 * 86_400).ok_or_else(bad)?,
            "m" => months = add(months, 1).ok_or_else(bad)?,
            "y" => months = add(months, 12).ok_or_else(bad)?,
            _ => return Err(bad()),
        }
    }
    let since = start.duration_since(UNIX_EPOCH).map_err(|_| "the clock is before 1970".to_string())?;
    let secs = i64::try_from(since.as_secs()).map_err(|_| "the time is too large".to_string())?;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let total_months = month.checked_add(months).ok_or("the expiry is too long")?;
    if total_months / 12 > 100_000 {
        return Err("the expiry is too long".to_string());
    }
    let new_days = days_from_civil(year, total_months, day);
    let new_secs = new_days
        .checked_mul(86_400)
        .and_then(|d| d.checked_add(rest))
        .and_then(|d| d.checked_add(seconds))
        .ok_or("the expiry is too long")?;
    let new_secs = u64::try_from(new_secs).map_err(|_| "the expiry is too long".to_string())?;
    Ok(Some(UNIX_EPOCH + Duration::new(new_secs, since.subsec_nanos())))
}

/// Parses an RFC 3339 time (`2026-06-01T00:00:00Z`, `2026-06-01T02:00:00.5+02:00`), as Incus's
/// clients send `expires_at`. Times before 1970 are refused.
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, String> {
    let bad = |why: &str| format!("\"{text}\" is not an RFC 3339 time ({why})");
    let b = text.trim().as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Result<i64, String> {
        let part = b.get(range).ok_or_else(|| bad("too short"))?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return Err(bad("a number is missing"));
        }
        part.iter()
            .try_fold(0i64, |acc, d| acc.checked_mul(10).map(|v| v + i64::from(d - b'0')))
            .ok_or_else(|| bad("a number is too large"))
    };
    let sep = |at: usize, allowed: &[u8]| -> Result<(), String> {
        match b.get(at) {
            Some(c) if allowed.contains(c) => Ok(()),
            _ => Err(bad("use YYYY-MM-DDTHH:MM:SSZ")),
        }
    };
    let year = digits(0..4)?;
    sep(4, b"-")?;
    let month = digits(5..7)?;
    sep(7, b"-")?;
    let day = digits(8..10)?;
    sep(10, b"Tt ")?;
    let hour = digits(11..13)?;
    sep(13, b":")?;
    let minute = digits(14..16)?;
    sep(16, b":")?;
    let second = digits(17..19)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return Err(bad("a field is out of range"));
    }
    let mut at = 19;
    let mut nanos: u32 = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at == start {
            return Err(bad("a fraction is empty"));
        }
        let frac = &b[start..at.min(start + 9)];
        let mut value: u32 = 0;
        for d in frac {
            value = value * 10 + u32::from(d - b'0');
        }
        nanos = value * 10u32.pow(9 - frac.len() as u32);
    }
    let offset = match b.get(at) {
        Some(b'Z') | Some(b'z') if at + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if at + 6 == b.len() && b[at + 3] == b':' => {
            let hours = digits(at + 1..at + 3)?;
            let minutes = digits(at + 4..at + 6)?;
            let total = hours * 3600 + minutes * 60;
            if *sign == b'+' {
                total
            } else {
                -total
            }
        }
        _ => return Err(bad("the time zone is missing or malformed")),
    };
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset;
    let secs = u64::try_from(secs).map_err(|_| bad("it is before 1970"))?;
    Ok(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// The name of the next snapshot under `pattern` (empty: [`DEFAULT_PATTERN`]), given the names
/// in use.
pub fn next_snapshot_name(pattern: &str, existing: &[String]) -> Result<String, String> {
    let pattern = if pattern.trim().is_empty() { DEFAULT_PATTERN } else { pattern.trim() };
    check_pattern(pattern)?;
    let pattern = if pattern.contains("%d") {
        pattern.to_string()
    } else if existing.iter().any(|n| n == pattern) {
        format!("{pattern}-%d")
    } else {
        return Ok(pattern.to_string());
    };
    let (before, after) = pattern.split_once("%d").unwrap_or((pattern.as_str(), ""));
    let next = existing
        .iter()
        .filter_map(|name| {
            let middle = name.strip_prefix(before)?.strip_suffix(after)?;
            (!middle.is_empty() && middle.bytes().all(|b| b.is_ascii_digit()))
                .then(|| middle.parse::<u64>().ok())?
        })
        .max()
        .map_or(0, |n| n.saturating_add(1));
    Ok(format!("{before}{next}{after}"))
}

fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern.contains("{{") || pattern.contains("{%") {
        return Err(
            "templates ({{ ... }}) are not supported in snapshot patterns; use %d for a number".into()
        );
    }
    if pattern.matches("%d").count() > 1 {
        return Err("a pattern may contain %d once".into());
    }
    if pattern.contains('/') {
        return Err("a snapshot name may not contain '/'".into());
    }
    Ok(())
}

/// Checks a value of one of the snapshot keys (`name` without any `volume.` prefix); `None`
/// when `name` is not one of them.
pub fn check_key(name: &str, value: &str) -> Option<Result<(), String>> {
    Some(match name {
        KEY_SCHEDULE => Schedule::parse(value).map(|_| ()),
        KEY_EXPIRY | KEY_EXPIRY_MANUAL => expiry_after(SystemTime::now(), value).map(|_| ()),
        KEY_PATTERN => {
            if value.trim().is_empty() {
                Ok(())
            } else {
                check_pattern(value.trim())
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: u32, hour: u32, day: u32, month: u32, weekday: u32) -> Minute {
        Minute { minute, hour, day, month, weekday }
    }

    fn due(schedule: &str, t: Minute) -> bool {
        Schedule::parse(schedule).expect(schedule).expect("not empty").matches(&t)
    }

    #[test]
    fn cron_fields_and_aliases() {
        // 2026-03-02 is a Monday.
        let mon_0900 = at(0, 9, 2, 3, 1);
        let table: &[(&str, Minute, bool)] = &[
            ("* * * * *", at(17, 3, 9, 7, 4), true),
            ("0 9 * * *", mon_0900, true),
            ("0 9 * * *", at(1, 9, 2, 3, 1), false),
            ("*/15 * * * *", at(45, 0, 1, 1, 0), true),
            ("*/15 * * * *", at(46, 0, 1, 1, 0), false),
            ("0 8-10/2 * * *", at(0, 10, 1, 1, 0), true),
            ("0 8-10/2 * * *", at(0, 9, 1, 1, 0), false),
            ("5/20 * * * *", at(45, 0, 1, 1, 0), true),
            ("0,30 * * * *", at(30, 5, 1, 1, 0), true),
            ("0 9 * * mon-fri", mon_0900, true),
            ("0 9 * * sat,sun", mon_0900, false),
            ("0 0 * * 7", at(0, 0, 1, 3, 0), true),
            ("0 0 1 jan *", at(0, 0, 1, 1, 4), true),
            ("0 0 1 JAN *", at(0, 0, 1, 2, 0), false),
            // Both day fields restricted: either one.
            ("0 0 13 * 5", at(0, 0, 13, 6, 2), true),
            ("0 0 13 * 5", at(0, 0, 14, 6, 5), true),
            ("0 0 13 * 5", at(0, 0, 14, 6, 4), false),
            // One restricted: that one.
            ("0 0 13 * *", at(0, 0, 14, 6, 5), false),
            ("0 0 ? * 5", at(0, 0, 14, 6, 5), true),
            ("@hourly", at(0, 13, 5, 5, 2), true),
            ("@hourly", at(1, 13, 5, 5, 2), false),
            ("@daily", at(0, 0, 5, 5, 2), true),
            ("@midnight", at(0, 1, 5, 5, 2), false),
            ("@weekly", at(0, 0, 8, 3, 0), true),
            ("@weekly", at(0, 0, 9, 3, 1), false),
            ("@monthly", at(0, 0, 1, 9, 3), true),
            ("@yearly", at(0, 0, 1, 1, 3), true),
            ("@annually", at(0, 0, 1, 2, 3), false),
            ("@daily, 30 12 * * *", at(30, 12, 4, 4, 4), true),
            ("@daily, 30 12 * * *", at(31, 12, 4, 4, 4), false),
        ];
        for (schedule, t, want) in table {
            assert_eq!(due(schedule, *t), *want, "{schedule} at {t:?}");
        }
        assert_eq!(Schedule::parse("  ").expect("empty"), None);
    }

    #[test]
    fn bad_schedules_say_why() {
        for (schedule, why) in [
            ("* * * *", "5 fields"),
            ("61 * * * *", "out of range"),
            ("* 24 * * *", "out of range"),
            ("* * 0 * *", "out of range"),
            ("* * * 13 *", "out of range"),
            ("*/0 * * * *", "step of 0"),
            ("5-1 * * * *", "backwards"),
            ("x * * * *", "not a number"),
            ("@startup", "instances"),
            ("@never", "instances"),
            ("@often", "unknown schedule"),
            ("@daily, bogus", "5 fields"),
        ] {
            let err = Schedule::parse(schedule).expect_err(schedule);
            assert!(err.contains(why), "{schedule}: {err}");
        }
    }

    #[test]
    fn expiries() {
        let start = UNIX_EPOCH + Duration::from_secs(1_769_904_000); // 2026-02-01T00:00:00Z
        let after = |text: &str| {
            expiry_after(start, text)
                .expect(text)
                .expect("set")
                .duration_since(start)
                .expect("later")
                .as_secs()
        };
        assert_eq!(after("1M"), 60);
        assert_eq!(after("1H"), 3600);
        assert_eq!(after("1d"), 86_400);
        assert_eq!(after("2w"), 14 * 86_400);
        assert_eq!(after("1d 2H"), 86_400 + 7200);
        assert_eq!(after("1m"), 28 * 86_400, "February 2026 has 28 days");
        assert_eq!(after("1y"), 365 * 86_400);
        assert_eq!(expiry_after(start, "").expect("empty"), None);
        for bad in ["1", "d", "1x", "-1d", "1.5d", "1D", "1 d"] {
            assert!(expiry_after(start, bad).is_err(), "{bad}");
        }
        // Jan 31 + 1 month carries over like Go's AddDate.
        let jan31 = UNIX_EPOCH + Duration::from_secs(1_769_817_600); // 2026-01-31
        let mar3 = expiry_after(jan31, "1m").expect("ok").expect("set");
        assert_eq!(mar3.duration_since(jan31).expect("later").as_secs(), 31 * 86_400);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(days_from_civil(2000, 2, 29)), (2000, 2, 29));
    }

    #[test]
    fn snapshot_names_from_patterns() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(next_snapshot_name("", &[]).expect("default"), "snap0");
        assert_eq!(
            next_snapshot_name("snap%d", &names(&["snap0", "snap3", "other", "snapx"])).expect("next"),
            "snap4"
        );
        assert_eq!(next_snapshot_name("daily-%d-x", &names(&["daily-1-x"])).expect("middle"), "daily-2-x");
        assert_eq!(next_snapshot_name("base", &[]).expect("plain"), "base");
        assert_eq!(next_snapshot_name("base", &names(&["base"])).expect("taken"), "base-0");
        assert_eq!(next_snapshot_name("base", &names(&["base", "base-0"])).expect("taken"), "base-1");
        assert!(next_snapshot_name("{{ creation_date }}", &[]).is_err());
        assert!(next_snapshot_name("a%db%d", &[]).is_err());
        assert_eq!(check_key("snapshots.schedule", "@daily"), Some(Ok(())));
        assert!(check_key("snapshots.expiry", "1x").is_some_and(|r| r.is_err()));
        assert_eq!(check_key("size", "1"), None);
    }

    #[test]
    fn volume_and_pool_config_use_these_rules() {
        use crate::{ContentType, Volume, VolumeId};
        let vol = Volume::new(VolumeId::custom("default", "v"), ContentType::Filesystem);
        for (key, value) in [
            (KEY_SCHEDULE, "61 * * * *"),
            (KEY_EXPIRY, "1x"),
            (KEY_EXPIRY_MANUAL, "d"),
            (KEY_PATTERN, "{{ x }}"),
        ] {
            let bad = vol.clone().with_config(key, value);
            let err = crate::config::validate_volume_config(&bad).expect_err(key);
            assert_eq!(err.key(), Some(key), "{err}");
            let pool_key = format!("volume.{key}");
            let config: crate::Config = [(pool_key.clone(), value.to_string())].into();
            let err = crate::config::validate_pool_config("p1", &config).expect_err(&pool_key);
            assert_eq!(err.key(), Some(pool_key.as_str()), "{err}");
        }
        let good = vol
            .with_config(KEY_SCHEDULE, "@hourly, 30 2 * * 1-5")
            .with_config(KEY_EXPIRY, "2w")
            .with_config(KEY_PATTERN, "auto-%d");
        crate::config::validate_volume_config(&good).expect("valid");
    }

    #[test]
    fn rfc3339_times() {
        let secs = |text: &str| {
            parse_rfc3339(text).expect(text).duration_since(UNIX_EPOCH).expect("after").as_secs_f64()
        };
        assert_eq!(secs("1970-01-01T00:00:00Z"), 0.0);
        assert_eq!(secs("2026-02-01T00:00:00Z"), 1_769_904_000.0);
        assert_eq!(secs("2026-02-01T02:00:00+02:00"), 1_769_904_000.0);
        assert_eq!(secs("2026-01-31T23:00:00-01:00"), 1_769_904_000.0);
        assert_eq!(secs("2026-02-01T00:00:00.25Z"), 1_769_904_000.25);
        let precise = parse_rfc3339("2026-02-01t00:00:00.123456789123z").expect("fraction");
        let since = precise.duration_since(UNIX_EPOCH).expect("after");
        assert_eq!((since.as_secs(), since.subsec_nanos()), (1_769_904_000, 123_456_789));
        for bad in
            ["", "2026-02-01", "2026-02-01T00:00:00", "2026-13-01T00:00:00Z", "0001-01-01T00:00:00Z", "x"]
        {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn local_time_is_a_valid_minute() {
        let t = local_minute(SystemTime::now()).expect("local time");
        assert!(t.minute < 60 && t.hour < 24 && (1..=31).contains(&t.day) && (1..=12).contains(&t.month));
        assert!(t.weekday < 7);
    }
}
