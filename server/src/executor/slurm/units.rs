//! Slurm's ways of writing durations and sizes, as its commands print them (Slurm 22.05:
//! `sacct(1)`, `sstat(1)`, `sinfo(1)`).

/// Seconds of a Slurm duration: `[DD-[HH:]]MM:SS[.mmm]` (`TotalCPU`) or `[DD-]HH:MM:SS`.
pub fn duration_secs(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let (days, rest) = match s.split_once('-') {
        Some((d, rest)) => (d.parse::<f64>().ok()?, rest),
        None => (0.0, s),
    };
    let parts: Vec<f64> = rest.split(':').map(|p| p.parse::<f64>().ok()).collect::<Option<_>>()?;
    let (h, m, sec) = match parts[..] {
        [m, sec] if s.contains('-') => (m, sec, 0.0),
        [m, sec] => (0.0, m, sec),
        [h, m, sec] => (h, m, sec),
        _ => return None,
    };
    let total = days * 86_400.0 + h * 3_600.0 + m * 60.0 + sec;
    (total.is_finite() && total >= 0.0).then_some(total)
}

/// Bytes of a Slurm size: a number with an optional binary suffix `K`, `M`, `G`, `T`, `P`
/// (`MaxRSS` `1234K`, `AllocTRES` `mem=4G`); a bare number is in the default unit `default`.
pub fn size_in(s: &str, default: u64) -> Option<u64> {
    let s = s.trim();
    let (number, unit) = match s.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&s[..i], c.to_ascii_uppercase()),
        _ => (s, ' '),
    };
    let scale = match unit {
        ' ' => default,
        'K' => 1 << 10,
        'M' => 1 << 20,
        'G' => 1 << 30,
        'T' => 1 << 40,
        'P' => 1 << 50,
        _ => return None,
    };
    let n: f64 = number.parse().ok()?;
    (n.is_finite() && n >= 0.0).then(|| (n * scale as f64).round() as u64)
}

/// `MaxRSS`: bytes (a bare number is bytes); `None` when empty.
pub fn size_bytes(s: &str) -> Option<u64> {
    size_in(s, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_form_sacct_prints() {
        assert_eq!(duration_secs("00:00.003"), Some(0.003));
        assert_eq!(duration_secs("12:34.5"), Some(754.5));
        assert_eq!(duration_secs("01:02:03"), Some(3723.0));
        assert_eq!(duration_secs("1-02:03:04"), Some(93_784.0));
        assert_eq!(duration_secs("2-00:01"), Some(172_860.0));
        assert_eq!(duration_secs(""), None);
        assert_eq!(duration_secs("soon"), None);
        assert_eq!(duration_secs("1:2:3:4"), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(size_bytes("1234K"), Some(1234 * 1024));
        assert_eq!(size_bytes("1.5M"), Some(1_572_864));
        assert_eq!(size_bytes("0"), Some(0));
        assert_eq!(size_bytes(""), None);
        assert_eq!(size_bytes("12Q"), None);
    }
}
