//! Sizes and times as the `linstor` client reads and prints them.

/// Units a size may carry, lower-cased, with their size in bytes. `K`, `M`, ... are binary
/// (as in LINSTOR), `kB`, `MB`, ... decimal, `S` a 512-byte sector; no unit means GiB.
const UNITS: &[(&str, u128)] = &[
    ("b", 1),
    ("s", 512),
    ("k", 1 << 10),
    ("kb", 1_000),
    ("kib", 1 << 10),
    ("m", 1 << 20),
    ("mb", 1_000_000),
    ("mib", 1 << 20),
    ("g", 1 << 30),
    ("gb", 1_000_000_000),
    ("gib", 1 << 30),
    ("t", 1 << 40),
    ("tb", 1_000_000_000_000),
    ("tib", 1 << 40),
    ("p", 1 << 50),
    ("pb", 1_000_000_000_000_000),
    ("pib", 1 << 50),
];

/// Units as the `linstor` client lists them in its messages.
pub const UNIT_NAMES: &str = "B, S, K, kB, KiB, M, MB, MiB, G, GB, GiB, T, TB, TiB, P, PB, PiB";

/// Parses `10G`, `500M`, `1024K`, `2TiB`, `100MB`, `7` (GiB) into KiB, rounded up to whole KiB.
pub fn parse_size_kib(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return Err(format!("Size '{text}' is not a valid number"));
    }
    let number: u128 = text[..digits].parse().map_err(|_| format!("Size '{text}' is too large"))?;
    let unit = text[digits..].trim();
    let unit = if unit.is_empty() { "gib" } else { unit };
    let factor = UNITS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(unit))
        .map(|(_, factor)| *factor)
        .ok_or_else(|| format!("\"{unit}\" is not a valid unit! Valid units: {UNIT_NAMES}"))?;
    let bytes = number.checked_mul(factor).ok_or_else(|| format!("Size '{text}' is too large"))?;
    let kib = bytes.div_ceil(1024);
    i64::try_from(kib).map_err(|_| format!("Size '{text}' is too large"))
}

/// A size in KiB as the client shows it: the largest binary unit the size reaches, a whole
/// number when it divides evenly, two decimals otherwise (`10 GiB`, `1.50 MiB`, `0 KiB`).
pub fn size_text(kib: i64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut index = 0;
    let mut magnitude: i64 = 1;
    while index + 1 < UNITS.len() && kib >= magnitude << 10 {
        magnitude <<= 10;
        index += 1;
    }
    if kib % magnitude == 0 {
        format!("{} {}", kib / magnitude, UNITS[index])
    } else {
        format!("{:.2} {}", kib as f64 / magnitude as f64, UNITS[index])
    }
}

/// Milliseconds since the epoch as local `YYYY-MM-DD HH:MM:SS`.
pub fn timestamp_text(millis: i64) -> String {
    let seconds = millis.div_euclid(1000) as libc::time_t;
    // SAFETY: `tm` is plain data, fully written by localtime_r before it is read; both pointers
    // are valid for the duration of the call.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&seconds, &mut tm).is_null() {
            return String::new();
        }
        tm
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_the_linstor_client() {
        for (text, kib) in [
            ("1G", 1 << 20),
            ("1g", 1 << 20),
            ("1GiB", 1 << 20),
            ("7", 7 << 20),
            ("500M", 500 << 10),
            ("500MiB", 500 << 10),
            ("1024K", 1024),
            ("1024KiB", 1024),
            ("2T", 2 << 30),
            ("1P", 1 << 40),
            ("100MB", 97_657),
            ("1kB", 1),
            ("1000B", 1),
            ("1024B", 1),
            ("1025B", 2),
            ("3S", 2),
            ("10 GiB", 10 << 20),
        ] {
            assert_eq!(parse_size_kib(text), Ok(kib), "{text}");
        }
        for text in ["", "G", "-1G", "1X", "1.5G", "99999999999999999999999P"] {
            assert!(parse_size_kib(text).is_err(), "{text}");
        }
        assert!(parse_size_kib("1X").unwrap_err().contains("not a valid unit"));
    }

    #[test]
    fn sizes_print_like_the_linstor_client() {
        for (kib, text) in [
            (0, "0 KiB"),
            (1, "1 KiB"),
            (1023, "1023 KiB"),
            (1024, "1 MiB"),
            (1536, "1.50 MiB"),
            (500 << 10, "500 MiB"),
            (10 << 20, "10 GiB"),
            ((10 << 20) + 1, "10.00 GiB"),
            (1 << 30, "1 TiB"),
            (3 << 40, "3 PiB"),
            (5 << 50, "5120 PiB"),
            (97_657, "95.37 MiB"),
        ] {
            assert_eq!(size_text(kib), text, "{kib}");
        }
    }

    #[test]
    fn timestamps_have_the_client_format() {
        let text = timestamp_text(1_741_881_691_000);
        assert_eq!(text.len(), 19, "{text}");
        assert_eq!(&text[4..5], "-");
        assert_eq!(&text[10..11], " ");
        assert!(text.starts_with("2025-03-1"), "{text}");
    }
}
