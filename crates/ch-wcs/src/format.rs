//! Sexagesimal formatting for cursor read-outs.
//!
//! Rounding is done once, on the total in the smallest displayed unit, so 59.9999 s never shows
//! as `60.00`: it carries into the minutes (and hours wrap at 24).

/// Most decimals of seconds shown; more would exceed f64 precision anyway.
const MAX_DECIMALS: usize = 9;

fn split(total: u64, decimals: usize) -> (u64, u64, u64, u64) {
    let scale = 10u64.pow(decimals as u32);
    let frac = total % scale;
    let secs = total / scale;
    (secs / 3600, (secs / 60) % 60, secs % 60, frac)
}

fn seconds(sec: u64, frac: u64, decimals: usize) -> String {
    if decimals == 0 {
        format!("{sec:02}")
    } else {
        format!("{sec:02}.{frac:0decimals$}")
    }
}

/// Right ascension in degrees as `HH:MM:SS.sss` with `decimals` decimals of seconds (at most 9),
/// wrapped into [0h, 24h). Non-finite input gives `"NaN"`.
pub fn ra_hms(ra_deg: f64, decimals: usize) -> String {
    if !ra_deg.is_finite() {
        return "NaN".to_string();
    }
    let decimals = decimals.min(MAX_DECIMALS);
    let scale = 10u64.pow(decimals as u32) as f64;
    let day = 24.0 * 3600.0 * scale;
    let units = (ra_deg.rem_euclid(360.0) / 15.0 * 3600.0 * scale).round();
    let total = (units.rem_euclid(day)) as u64;
    let (h, m, s, frac) = split(total, decimals);
    format!("{h:02}:{m:02}:{}", seconds(s, frac, decimals))
}

/// Declination in degrees as `+DD:MM:SS.ss` with `decimals` decimals of arcseconds (at most 9),
/// clamped to [−90°, +90°]. Non-finite input gives `"NaN"`.
pub fn dec_dms(dec_deg: f64, decimals: usize) -> String {
    if !dec_deg.is_finite() {
        return "NaN".to_string();
    }
    let decimals = decimals.min(MAX_DECIMALS);
    let scale = 10u64.pow(decimals as u32) as f64;
    let dec = dec_deg.clamp(-90.0, 90.0);
    let total = (dec.abs() * 3600.0 * scale).round() as u64;
    let sign = if dec < 0.0 && total > 0 { '-' } else { '+' };
    let (d, m, s, frac) = split(total, decimals);
    format!("{sign}{d:02}:{m:02}:{}", seconds(s, frac, decimals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_carries() {
        assert_eq!(ra_hms(83.633_08, 2), "05:34:31.94");
        assert_eq!(ra_hms(359.999_999_99, 2), "00:00:00.00");
        assert_eq!(ra_hms(-15.0, 0), "23:00:00");
        assert_eq!(dec_dms(22.014_47, 1), "+22:00:52.1");
        assert_eq!(dec_dms(-0.000_001, 1), "+00:00:00.0");
        assert_eq!(dec_dms(-5.375_222, 2), "-05:22:30.80");
        assert_eq!(dec_dms(-29.999_999_99, 2), "-30:00:00.00");
        assert_eq!(dec_dms(f64::NAN, 2), "NaN");
        assert_eq!(ra_hms(10.0, 99).len(), "00:40:00.".len() + 9);
    }
}
