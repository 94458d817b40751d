//! Stretches of normalised values in `[0, 1]`, as astropy.visualization defines them.

use serde::{Deserialize, Serialize};

/// astropy's `LogStretch` default (also DS9's log exponent).
pub const LOG_A: f64 = 1000.0;
/// astropy's `AsinhStretch` default.
pub const ASINH_A: f64 = 0.1;
/// astropy's `SinhStretch` default.
pub const SINH_A: f64 = 1.0 / 3.0;
/// Default length of a histogram-equalisation table ([`Prepared::table`]) for the GPU: the
/// widest 1-D texture WebGL2 guarantees.
pub const HISTEQ_TABLE_LEN: usize = 2048;

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

    /// The shader's uniform value: Linear 0, Log 1, Sqrt 2, Squared 3, Power 4, Asinh 5,
    /// Sinh 6, HistEq 7.
    pub fn code(self) -> u32 {
        match self {
            Scale::Linear => 0,
            Scale::Log => 1,
            Scale::Sqrt => 2,
            Scale::Squared => 3,
            Scale::Power(_) => 4,
            Scale::Asinh => 5,
            Scale::Sinh => 6,
            Scale::HistEq => 7,
        }
    }

    /// The shader's second uniform: the exponent of `Power`, 0 for every other stretch.
    pub fn parameter(self) -> f32 {
        match self {
            Scale::Power(a) => a as f32,
            _ => 0.0,
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

    /// The stretch sampled at `n` evenly spaced points: entry `i` is `apply(i / (n − 1))`
    /// (`n` below 2 is taken as 2). The GPU looks histogram equalisation up in this table
    /// with [`apply_table`]; [`HISTEQ_TABLE_LEN`] entries is the usual size.
    pub fn table(&self, n: usize) -> Vec<f32> {
        let n = n.max(2);
        let last = (n - 1) as f64;
        (0..n).map(|i| self.apply(i as f64 / last) as f32).collect()
    }
}

/// Looks `x` up in a table made by [`Prepared::table`], as the shader does: `x` clamped to
/// `[0, 1]` (NaN as 0), position `p = x·(n − 1)`, then linear interpolation between entries
/// `floor(p)` and `min(floor(p) + 1, n − 1)`. An empty table is the identity.
///
/// With a 1-D texture, that is `textureLoad` of the two entries and a `mix`; hardware linear
/// filtering at `u = (p + 0.5) / n` gives the same up to its reduced fraction precision. A
/// table cannot show the jumps that repeated values (integer images) put into the exact
/// histogram equalisation, so there the two can differ by more than a colormap step.
pub fn apply_table(table: &[f32], x: f64) -> f64 {
    let Some(&last) = table.last() else {
        return x.clamp(0.0, 1.0);
    };
    let x = if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) };
    let p = x * (table.len() - 1) as f64;
    let i = p.floor() as usize;
    let (Some(&y0), Some(&y1)) = (table.get(i), table.get(i + 1)) else {
        return f64::from(last);
    };
    let t = p - i as f64;
    f64::from(y0) + (f64::from(y1) - f64::from(y0)) * t
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

    #[test]
    fn codes_and_parameters() {
        let scales = [
            Scale::Linear,
            Scale::Log,
            Scale::Sqrt,
            Scale::Squared,
            Scale::Power(2.5),
            Scale::Asinh,
            Scale::Sinh,
            Scale::HistEq,
        ];
        for (i, s) in scales.into_iter().enumerate() {
            assert_eq!(s.code() as usize, i);
            assert_eq!(s.parameter(), if i == 4 { 2.5 } else { 0.0 });
        }
    }

    #[test]
    fn tables_sample_and_interpolate() {
        let sqrt = Prepared::new(Scale::Sqrt, &[], 0.0, 1.0);
        let t = sqrt.table(5);
        assert_eq!(t, vec![0.0, 0.5, 0.5f64.sqrt() as f32, 0.75f64.sqrt() as f32, 1.0]);
        assert_eq!(sqrt.table(0).len(), 2);
        assert_eq!(apply_table(&t, 0.25), 0.5);
        assert!((apply_table(&t, 0.125) - 0.25).abs() < 1e-7);
        assert_eq!(apply_table(&t, 1.0), 1.0);
        assert_eq!(apply_table(&t, 7.0), 1.0);
        assert_eq!(apply_table(&t, -1.0), 0.0);
        assert_eq!(apply_table(&t, f64::NAN), 0.0);
        assert_eq!(apply_table(&[], 0.3), 0.3);
        assert_eq!(apply_table(&[0.7], 0.3), 0.7f32 as f64);

        // Histogram equalisation of continuous values: the table follows the exact curve.
        let values: Vec<f32> = (0..5000).map(|i| ((i as f32 * 0.618_034) % 1.0).powi(3)).collect();
        let eq = Prepared::new(Scale::HistEq, &values, 0.0, 1.0);
        let table = eq.table(HISTEQ_TABLE_LEN);
        for i in 0..=1000 {
            let x = f64::from(i) / 1000.0;
            assert!((apply_table(&table, x) - eq.apply(x)).abs() < 2.0 / 256.0, "{x}");
        }
    }
}
