//! The observation date of an image: `DATE-OBS` / `MJD-OBS` (WCS Paper VII; FITS Standard
//! 4.0 sect. 9.1), with the pre-1997 `dd/mm/yy` form read as WCSLIB's `datfix` reads it.

use crate::header::HeaderAxes;

/// When the image was observed, from `DATE-OBS` / `MJD-OBS` (Paper III sect. 4.1 / WCS
/// Paper VII). `date_obs` is ISO 8601 (`YYYY-MM-DD[Thh:mm:ss[.sss]]`); the pre-2000 form
/// `dd/mm/yy` is read as `19yy-mm-dd` with a warning, as WCSLIB's `datfix` does.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Observation {
    pub date_obs: Option<String>,
    /// Modified Julian Date (days).
    pub mjd_obs: Option<f64>,
}

/// DATE-OBS and MJD-OBS; unusable values are ignored with a warning.
pub(crate) fn observation(axes: &HeaderAxes<'_>) -> Observation {
    let mjd_obs = axes.aux_number("MJD-OBS");
    let key = axes.key("DATE-OBS");
    let date_obs = axes.string("DATE-OBS").and_then(|raw| {
        let text = raw.trim();
        if is_iso_date(text) {
            return Some(text.to_string());
        }
        if let Some(iso) = old_date(text) {
            axes.warn(format!("{key} = '{text}' (dd/mm/yy, before 2000) read as '{iso}'"));
            return Some(iso);
        }
        axes.warn(format!("{key} = '{text}' is not a date; ignored"));
        None
    });
    // As WCSLIB's datfix: MJD-OBS follows from DATE-OBS when only the date is given.
    let mjd_obs = mjd_obs.or_else(|| date_obs.as_deref().and_then(mjd_of));
    Observation { date_obs, mjd_obs }
}

/// Modified Julian Date of an ISO date(-time) accepted by [`is_iso_date`]: days since
/// 1858-11-17T00:00 UTC, from the proleptic Gregorian day count (H. Hinnant's
/// `days_from_civil`; 1970-01-01 is MJD 40587).
fn mjd_of(iso: &str) -> Option<f64> {
    let (date, time) = iso.split_once('T').map_or((iso, None), |(d, t)| (d, Some(t)));
    let mut parts = date.split('-').map(|s| s.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let fraction = match time {
        None => 0.0,
        Some(t) => {
            let f: Vec<f64> = t.split(':').map(|s| s.parse::<f64>().ok()).collect::<Option<_>>()?;
            (f.first()? * 3600.0 + f.get(1)? * 60.0 + f.get(2)?) / 86_400.0
        }
    };
    Some((days + 40_587) as f64 + fraction)
}

/// `YYYY-MM-DD` optionally followed by `Thh:mm:ss[.s…]`, with plausible field ranges.
fn is_iso_date(text: &str) -> bool {
    let (date, time) = text.split_once('T').map_or((text, None), |(d, t)| (d, Some(t)));
    let fields: Vec<&str> = date.split('-').collect();
    let numeric = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    let date_ok = fields.len() == 3
        && numeric(fields[0], 4)
        && numeric(fields[1], 2)
        && numeric(fields[2], 2)
        && (1..=12).contains(&fields[1].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&fields[2].parse::<u32>().unwrap_or(0));
    let time_ok = time.is_none_or(|t| {
        let parts: Vec<&str> = t.split(':').collect();
        parts.len() == 3
            && numeric(parts[0], 2)
            && numeric(parts[1], 2)
            && parts[2].split('.').next().is_some_and(|s| numeric(s, 2))
            && parts[2]
                .split('.')
                .nth(1)
                .is_none_or(|f| f.bytes().all(|b| b.is_ascii_digit()))
    });
    date_ok && time_ok
}

/// `dd/mm/yy` (the FITS date form before 1997, years 1900–1999) → `19yy-mm-dd`.
fn old_date(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split('/').collect();
    let [d, m, y] = parts.as_slice() else {
        return None;
    };
    let num = |s: &str| (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u32>().ok())?;
    let (d, m, y) = (num(d)?, num(m)?, num(y)?);
    ((1..=31).contains(&d) && (1..=12).contains(&m)).then(|| format!("19{y:02}-{m:02}-{d:02}"))
}

#[cfg(test)]
mod tests {
    use crate::Wcs;

    fn tan(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut cards = vec![
            ("CTYPE1", "'RA---TAN'"),
            ("CTYPE2", "'DEC--TAN'"),
            ("CDELT1", "-0.001"),
            ("CDELT2", "0.001"),
        ];
        cards.extend_from_slice(extra);
        cards
    }

    #[test]
    fn observation_dates() {
        let iso = Wcs::from_cards(tan(&[("DATE-OBS", "'2000-01-01T12:00:00'")])).expect("valid");
        assert_eq!(iso.observation().mjd_obs, Some(51_544.5));
        let old = Wcs::from_cards(tan(&[("DATE-OBS", "'12/03/94'")])).expect("valid");
        assert_eq!(old.observation().date_obs.as_deref(), Some("1994-03-12"));
        assert_eq!(old.observation().mjd_obs, Some(49_423.0), "astropy's datfix value");
        let junk = Wcs::from_cards(tan(&[("DATE-OBS", "'yesterday'")])).expect("still valid");
        assert!(junk.observation().date_obs.is_none() && junk.warnings()[0].contains("yesterday"));
    }
}
