//! Stretches of normalised values in `[0, 1]`, as astropy.visualization defines them.

use serde::{Deserialize, Serialize};

/// astropy's `LogStretch` default (also DS9's log exponent).
pub const LOG_A: f64 = 1000.0;
/// astropy's `AsinhStretch` default.
pub const ASINH_A: f64 = 0.1;
/// astropy's `SinhStretch` default.
pub const SINH_A: f64 = 1.0 / 3.0;

/// A stretch. `Power` carries its exponent (`PowerStretch(a)`, a gamma curve); `HistEq` needs
/// the image values, so it is prepared per image by [`Prepared::new`].
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    #[default]
    Linear,
    Log,
    Sqrt,
    Squared,
    Power(f64),
    Asinh,
    Sinh,
    #[serde(rename = "histeq")]
    HistEq,
}

impl Scale {
    /// The stretch of one normalised value (input clipped to `[0, 1]`, as astropy's `clip=True`).
    /// `HistEq` has no closed form and is the identity here; use [`Prepared`].
    pub fn apply(self, x: f64) -> f64 {
        let x = x.clamp(0.0, 1.0);
        match self {
            Scale::Linear | Scale::HistEq => x,
            Scale::Log => (LOG_A * x + 1.0).ln() / (LOG_A + 1.0).ln(),
            Scale::Sqrt => x.sqrt(),
            Scale::Squared => x * x,
            Scale::Power(a) => x.powf(a),
            Scale::Asinh => (x / ASINH_A).asinh() / (1.0 / ASINH_A).asinh(),
            Scale::Sinh => (x / SINH_A).sinh() / (1.0 / SINH_A).sinh(),
        }
    }
}

/// A stretch ready to apply to one image: for histogram equalisation, the sorted normalised
/// values (astropy's `HistEqStretch(data)`: `np.interp(x, sorted, linspace(0, 1, n))`).
#[derive(Debug, Clone)]
pub struct Prepared {
    scale: Scale,
    sorted: Vec<f64>,
}

impl Prepared {
    /// Prepares `scale` for `values` shown between `vmin` and `vmax`. astropy normalises the
    /// histogram by the data's own min/max; we use the display limits so that the histogram
    /// and the pixels share one normalisation (identical when the limits are min/max).
    pub fn new(scale: Scale, values: &[f32], vmin: f64, vmax: f64) -> Prepared {
        let mut sorted = Vec::new();
        if scale == Scale::HistEq && vmax > vmin {
            sorted = values
                .iter()
                .map(|&v| f64::from(v))
                .filter(|v| v.is_finite())
                .map(|v| (v - vmin) / (vmax - vmin))
                .collect();
            sorted.sort_unstable_by(f64::total_cmp);
        }
        Prepared { scale, sorted }
    }

    pub fn apply(&self, x: f64) -> f64 {
        if self.scale == Scale::HistEq {
            histeq(&self.sorted, x.clamp(0.0, 1.0))
        } else {
            self.scale.apply(x)
        }
    }
}

/// `np.interp(x, xp, linspace(0, 1, len(xp)))`, including numpy's choice for repeated `xp`
/// (the last of equal points wins), so integer images match astropy.
fn histeq(xp: &[f64], x: f64) -> f64 {
    let n = xp.len();
    let (Some(&first), Some(&last)) = (xp.first(), xp.last()) else {
        return x;
    };
    if n == 1 {
        return 1.0;
    }
    let step = 1.0 / (n - 1) as f64;
    if x < first {
        return 0.0;
    }
    if x >= last {
        return 1.0;
    }
    // Last index j with xp[j] <= x (exists: x >= first).
    let j = xp.partition_point(|&p| p <= x) - 1;
    let (x0, x1) = (xp[j], xp[j + 1]);
    let y0 = j as f64 * step;
    if x == x0 {
        return y0;
    }
    y0 + (x - x0) / (x1 - x0) * step
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_fixed() {
        for s in [
            Scale::Linear,
            Scale::Log,
            Scale::Sqrt,
            Scale::Squared,
            Scale::Power(2.5),
            Scale::Asinh,
            Scale::Sinh,
        ] {
            assert!(s.apply(0.0).abs() < 1e-12, "{s:?}");
            assert!((s.apply(1.0) - 1.0).abs() < 1e-12, "{s:?}");
            assert_eq!(s.apply(-1.0), s.apply(0.0));
            assert_eq!(s.apply(2.0), s.apply(1.0));
        }
    }

    #[test]
    fn histeq_matches_numpy_interp() {
        let xp = [0.0, 0.25, 0.25, 0.5, 1.0];
        assert_eq!(histeq(&xp, 0.25), 0.5);
        assert!((histeq(&xp, 0.375) - 0.625).abs() < 1e-12);
        assert_eq!(histeq(&xp, 1.0), 1.0);
        assert_eq!(histeq(&xp, 0.0), 0.0);
        assert_eq!(histeq(&[], 0.3), 0.3);
    }
}
