//! Timestamps as the Incus API writes them: RFC 3339 in UTC with nanoseconds, and Go's zero
//! time `0001-01-01T00:00:00Z` for "unknown".

use std::time::{SystemTime, UNIX_EPOCH};

/// Go's zero time; clients compare it literally.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// `YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ` of a point in time (times before 1970 give [`ZERO_TIME`]).
pub fn rfc3339(time: SystemTime) -> String {
    let Ok(since) = time.duration_since(UNIX_EPOCH) else {
        return ZERO_TIME.to_string();
    };
    let secs = since.as_secs();
    let days = secs / 86_400;
    let rest = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_nanos()
    )
}

/// Now, as [`rfc3339`].
pub fn now() -> String {
    rfc3339(SystemTime::now())
}

/// The calendar date of a day count since 1970-01-01 (proleptic Gregorian calendar).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so that leap days fall at the end of a year; eras are
    // 400-year cycles of 146097 days.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_utc_with_nanoseconds() {
        let cases = [
            (0, 0, "1970-01-01T00:00:00.000000000Z"),
            (951_782_400, 5, "2000-02-29T00:00:00.000000005Z"),
            (1_714_557_600, 123_456_789, "2024-05-01T10:00:00.123456789Z"),
            (4_107_542_399, 0, "2100-02-28T23:59:59.000000000Z"),
        ];
        for (secs, nanos, want) in cases {
            assert_eq!(rfc3339(UNIX_EPOCH + Duration::new(secs, nanos)), want);
        }
        assert_eq!(rfc3339(UNIX_EPOCH - Duration::from_secs(1)), ZERO_TIME);
    }
}
