//! Numbers, angles and sizes as DS9 writes them, and the pixel scale of a [`SkyTransform`].

use super::SkyTransform;

/// A finite number, or `None`.
pub(super) fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// An angle in degrees: sexagesimal with `:` (in hours when `hours`), `12h34m56.7s` /
/// `-12d34m56s`, a number with a `d` (degrees) or `r` (radians) suffix, or a bare number
/// (degrees).
pub(super) fn angle(s: &str, hours: bool) -> Option<f64> {
    let t = s.trim();
    if t.contains(':') {
        return sexagesimal(&t.split(':').collect::<Vec<_>>(), hours);
    }
    let lower = t.to_ascii_lowercase();
    if lower.contains(['h', 'm', 's']) {
        let hours = lower.contains('h');
        let mut parts: Vec<&str> = lower.split(['h', 'd', 'm', 's']).collect();
        if parts.last() == Some(&"") {
            parts.pop();
        }
        return sexagesimal(&parts, hours);
    }
    if let Some(v) = lower.strip_suffix('d') {
        number(v)
    } else if let Some(v) = lower.strip_suffix('r') {
        number(v).map(f64::to_degrees)
    } else {
        number(&lower)
    }
}

/// `[±]a[:b[:c]]` → degrees (× 15 when `hours`); `b` and `c` must be in `[0, 60)`.
fn sexagesimal(parts: &[&str], hours: bool) -> Option<f64> {
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let first = parts[0].trim();
    let negative = first.starts_with('-');
    let mut value = number(first)?.abs();
    let mut unit = 1.0;
    for part in &parts[1..] {
        let p = part.trim();
        if p.starts_with(['-', '+']) {
            return None;
        }
        let v = number(p)?;
        if !(0.0..60.0).contains(&v) {
            return None;
        }
        unit /= 60.0;
        value += v * unit;
    }
    let value = if negative { -value } else { value };
    let degrees = if hours { value * 15.0 } else { value };
    degrees.is_finite().then_some(degrees)
}

/// How a size is given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Size {
    /// No unit: pixels in image systems, degrees in sky systems.
    Bare(f64),
    /// An angle, in degrees.
    Degrees(f64),
    /// Pixels (`i` or `p` suffix).
    Pixels(f64),
}

/// A size: a number with an optional `"`, `'`, `d`, `r`, `i` or `p` suffix.
pub(super) fn size(s: &str) -> Option<Size> {
    let t = s.trim();
    let split = |suffix: char| {
        t.strip_suffix(suffix)
            .or_else(|| t.strip_suffix(suffix.to_ascii_uppercase()))
    };
    Some(if let Some(v) = t.strip_suffix('"') {
        Size::Degrees(number(v)? / 3600.0)
    } else if let Some(v) = t.strip_suffix('\'') {
        Size::Degrees(number(v)? / 60.0)
    } else if let Some(v) = split('d') {
        Size::Degrees(number(v)?)
    } else if let Some(v) = split('r') {
        Size::Degrees(number(v)?.to_degrees())
    } else if let Some(v) = split('i').or_else(|| split('p')) {
        Size::Pixels(number(v)?)
    } else {
        Size::Bare(number(t)?)
    })
}

/// Angular separation in degrees (Vincenty's formula: accurate at all separations).
pub(super) fn separation(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (sb1, cb1) = lat1.to_radians().sin_cos();
    let (sb2, cb2) = lat2.to_radians().sin_cos();
    let (sdl, cdl) = (lon2 - lon1).to_radians().sin_cos();
    let num1 = cb2 * sdl;
    let num2 = cb1 * sb2 - sb1 * cb2 * cdl;
    let den = sb1 * sb2 + cb1 * cb2 * cdl;
    num1.hypot(num2).atan2(den).to_degrees()
}

/// World position of a pixel, when finite.
pub(super) fn to_world(sky: &SkyTransform<'_>, x: f64, y: f64) -> Option<(f64, f64)> {
    (sky.pixel_to_world)(x, y).filter(|(l, b)| l.is_finite() && b.is_finite())
}

/// Pixel position of a world position, when finite.
pub(super) fn to_pixel(sky: &SkyTransform<'_>, lon: f64, lat: f64) -> Option<(f64, f64)> {
    (sky.world_to_pixel)(lon, lat).filter(|(x, y)| x.is_finite() && y.is_finite())
}

/// Degrees per pixel at pixel `(x, y)`: the geometric mean of the separations to the pixels one
/// step along +x and +y. `None` where the transform fails or the scale is not positive.
pub(super) fn scale(sky: &SkyTransform<'_>, x: f64, y: f64) -> Option<f64> {
    let (l0, b0) = to_world(sky, x, y)?;
    let (l1, b1) = to_world(sky, x + 1.0, y)?;
    let (l2, b2) = to_world(sky, x, y + 1.0)?;
    let s = (separation(l0, b0, l1, b1) * separation(l0, b0, l2, b2)).sqrt();
    (s.is_finite() && s > 0.0).then_some(s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap what they built
mod tests {
    use super::*;

    fn near(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn angles_in_every_form() {
        assert!(near(angle("12:30:00", true), 187.5));
        assert!(near(angle("12:30:00", false), 12.5));
        assert!(near(angle("-00:30:00", false), -0.5));
        assert!(near(angle("+47:11:42.93", false), 47.0 + 11.0 / 60.0 + 42.93 / 3600.0));
        assert!(near(
            angle("13h29m52.698s", false),
            (13.0 + 29.0 / 60.0 + 52.698 / 3600.0) * 15.0
        ));
        assert!(near(angle("-12d30m", false), -12.5));
        assert!(near(angle("202.5d", true), 202.5));
        assert!(near(angle("202.5", true), 202.5));
        assert!(near(angle("1r", false), 1f64.to_degrees()));
        for bad in [
            "", "abc", "12:60:00", "12:-3:00", "1:2:3:4", "nan", "inf", "12::", "1e999",
        ] {
            assert_eq!(angle(bad, true), None, "{bad:?}");
        }
    }

    #[test]
    fn sizes_with_units() {
        assert_eq!(size("3\""), Some(Size::Degrees(3.0 / 3600.0)));
        assert_eq!(size("1.5'"), Some(Size::Degrees(0.025)));
        assert_eq!(size("2d"), Some(Size::Degrees(2.0)));
        assert_eq!(size("4i"), Some(Size::Pixels(4.0)));
        assert_eq!(size("4p"), Some(Size::Pixels(4.0)));
        assert_eq!(size("7"), Some(Size::Bare(7.0)));
        assert_eq!(size("\""), None);
        assert_eq!(size("x"), None);
    }

    #[test]
    fn separations() {
        assert!((separation(0.0, 0.0, 90.0, 0.0) - 90.0).abs() < 1e-12);
        assert!((separation(10.0, 89.0, 190.0, 89.0) - 2.0).abs() < 1e-12);
        assert!((separation(202.0, 47.0, 202.0, 47.0 + 1.0 / 3600.0) - 1.0 / 3600.0).abs() < 1e-13);
    }
}
