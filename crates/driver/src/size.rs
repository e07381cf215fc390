//! Sizes: Incus's size strings, the driver's size rules and durations.
//!
//! - Sizes are byte counts written as an integer with an optional unit: `B`, the decimal units
//!   `kB`/`KB`, `MB`, `GB`, `TB`, `PB`, `EB` and the binary units `KiB`, `MiB`, `GiB`, `TiB`,
//!   `PiB`, `EiB` (a space between number and unit is allowed).
//! - Every volume is at least [`MIN_VOLUME_SIZE`] (DRBD metadata and activity log need room)
//!   and a multiple of [`VOLUME_SIZE_BOUNDARY`]; LINSTOR receives sizes in KiB.
//! - Durations follow Go's `time.ParseDuration` (`90s`, `5m`, `1h30m`, `1.5h`), as Incus
//!   writes them.

/// Size of a volume whose config sets none.
pub const DEFAULT_VOLUME_SIZE: u64 = 10 * GIB;
/// Size of a virtual machine's config filesystem (its volume 1) unless `size.state` says more.
pub const DEFAULT_VM_CONFIG_FS_SIZE: u64 = 500 * MIB;
/// Smallest volume: room for DRBD's metadata and activity log.
pub const MIN_VOLUME_SIZE: u64 = 4 * MIB;
/// Volume sizes are rounded up to a multiple of this.
pub const VOLUME_SIZE_BOUNDARY: u64 = 8192;

pub const KIB: u64 = 1024;
pub const MIB: u64 = 1024 * KIB;
pub const GIB: u64 = 1024 * MIB;

const UNITS: &[(&str, u64)] = &[
    ("EiB", 1 << 60),
    ("PiB", 1 << 50),
    ("TiB", 1 << 40),
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("EB", 1_000_000_000_000_000_000),
    ("PB", 1_000_000_000_000_000),
    ("TB", 1_000_000_000_000),
    ("GB", 1_000_000_000),
    ("MB", 1_000_000),
    ("kB", 1_000),
    ("KB", 1_000),
    ("B", 1),
];

/// Parses a size string into bytes. An empty string is `None` (no size given).
pub fn parse_size(text: &str) -> Result<Option<u64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let (number, factor) = match UNITS.iter().find(|(unit, _)| text.ends_with(unit)) {
        Some((unit, factor)) => (text[..text.len() - unit.len()].trim_end(), *factor),
        None => (text, 1),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(
            "not a size: use a whole number of bytes with an optional unit (B, kB, MB, GB, TB, KiB, MiB, \
                    GiB, TiB), like 10GiB"
                .to_string(),
        );
    }
    let value: u64 = number.parse().map_err(|_| "the number is too large".to_string())?;
    value.checked_mul(factor).map(Some).ok_or_else(|| "the size is too large".to_string())
}

/// The size a volume of `bytes` really gets: at least [`MIN_VOLUME_SIZE`], rounded up to a
/// multiple of [`VOLUME_SIZE_BOUNDARY`].
pub fn round_volume_size(bytes: u64) -> u64 {
    let at_least = bytes.max(MIN_VOLUME_SIZE);
    at_least.div_ceil(VOLUME_SIZE_BOUNDARY).saturating_mul(VOLUME_SIZE_BOUNDARY)
}

/// Bytes as LINSTOR's KiB (sizes are multiples of 8 KiB once rounded).
pub fn to_kib(bytes: u64) -> i64 {
    i64::try_from(bytes / KIB).unwrap_or(i64::MAX)
}

/// A byte count with the largest binary unit that divides it, for messages.
pub fn format_size(bytes: u64) -> String {
    for (unit, factor) in UNITS.iter().take(6) {
        if bytes >= *factor && bytes % factor == 0 {
            return format!("{}{unit}", bytes / factor);
        }
    }
    format!("{bytes}B")
}

/// A Go duration (`"1h30m"`, `"90s"`, `"1.5h"`), in nanoseconds. Negative durations are refused.
pub fn parse_duration(text: &str) -> Result<u128, String> {
    let bad = || "not a duration: use a number with a unit (s, m, h), like 5m or 1h30m".to_string();
    let mut rest = text.trim();
    if let Some(stripped) = rest.strip_prefix('+') {
        rest = stripped;
    }
    if rest.starts_with('-') {
        return Err("a duration cannot be negative".to_string());
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(after_dot) = rest.strip_prefix('.') {
            let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &after_dot[..frac_len];
            rest = &after_dot[frac_len..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad());
        }
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("missing unit in duration \"{text}\" (use s, m or h)")),
            other => return Err(format!("unknown unit \"{other}\" in duration \"{text}\" (use s, m or h)")),
        };
        let whole: u128 = if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| bad())? };
        let mut part = whole.checked_mul(scale).ok_or_else(bad)?;
        if !frac_part.is_empty() {
            let digits = &frac_part[..frac_part.len().min(18)];
            let frac: u128 = digits.parse().map_err(|_| bad())?;
            let denominator = 10u128.pow(digits.len() as u32);
            part = part.checked_add(frac * scale / denominator).ok_or_else(bad)?;
        }
        total = total.checked_add(part).ok_or_else(bad)?;
    }
    Ok(total)
}

/// A number of minutes as the shortest Go duration (`90` → `1h30m`), for showing values read
/// back from LINSTOR.
pub fn minutes_to_duration(minutes: u64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let table: &[(&str, Option<u64>)] = &[
            ("", None),
            ("0", Some(0)),
            ("1024", Some(1024)),
            ("10GiB", Some(10 * GIB)),
            ("500MiB", Some(500 * MIB)),
            ("25 MiB", Some(25 * MIB)),
            ("1GB", Some(1_000_000_000)),
            ("4kB", Some(4000)),
            ("7B", Some(7)),
        ];
        for (text, want) in table {
            assert_eq!(parse_size(text).as_ref(), Ok(want), "{text}");
        }
        for bad in ["GiB", "1.5GiB", "-1", "ten", "1XB", "99999999999999999999EiB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rounding() {
        assert_eq!(round_volume_size(0), MIN_VOLUME_SIZE);
        assert_eq!(round_volume_size(1), MIN_VOLUME_SIZE);
        assert_eq!(round_volume_size(MIN_VOLUME_SIZE + 1), MIN_VOLUME_SIZE + 8192);
        assert_eq!(round_volume_size(10 * GIB), 10 * GIB);
        assert_eq!(round_volume_size(100 * MIB + 100), 100 * MIB + 8192);
        assert_eq!(to_kib(10 * GIB), 10 * 1024 * 1024);
        assert_eq!(format_size(10 * GIB), "10GiB");
        assert_eq!(format_size(MIN_VOLUME_SIZE + 8192), "4104KiB");
        assert_eq!(format_size(1000), "1000B");
    }

    #[test]
    fn durations() {
        let s = 1_000_000_000u128;
        let table: &[(&str, u128)] = &[
            ("0", 0),
            ("1s", s),
            ("90s", 90 * s),
            ("5m", 300 * s),
            ("1h", 3600 * s),
            ("1h30m", 5400 * s),
            ("1.5h", 5400 * s),
            ("500ms", s / 2),
            ("+2m", 120 * s),
        ];
        for (text, want) in table {
            assert_eq!(parse_duration(text), Ok(*want), "{text}");
        }
        for bad in ["", "5", "bla", "-1m", "1x", "m", ".h", "1h 2m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(minutes_to_duration(5), "5m");
        assert_eq!(minutes_to_duration(60), "1h");
        assert_eq!(minutes_to_duration(90), "1h30m");
    }
}
