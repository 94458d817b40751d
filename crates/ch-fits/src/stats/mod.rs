//! Statistics over finite physical values, with numpy's conventions: `std` with ddof = 0,
//! the median as the mean of the two middle values, percentiles with linear interpolation.
//!
//! Sums are compensated (Neumaier) and the variance is computed in two passes, so results match
//! numpy's float64 to ~1e-12 relative. Order statistics use `select_nth_unstable` (O(n)).

mod histogram;
mod zscale;

use serde::Serialize;

use crate::error::FitsError;
use crate::image::Sample;

pub use histogram::{BinScale, Histogram, finite_min_max, histogram, histogram_f32};
pub use zscale::{ZScaleParams, zscale, zscale_with};

/// Summary statistics. Non-finite values (NaN, ±inf) are counted in `nan_count` and excluded
/// from everything else; with no finite values the floating fields are NaN (JSON `null`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    pub count: usize,
    pub nan_count: usize,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Population standard deviation (ddof = 0).
    pub std: f64,
    /// Root mean square, `sqrt(mean(x²))`.
    pub rms: f64,
    pub sum: f64,
    /// Median (mean of the two middle values for an even count).
    pub median: f64,
}

/// Neumaier-compensated running sum.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Accumulator {
    sum: f64,
    compensation: f64,
}

impl Accumulator {
    #[inline]
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    pub(crate) fn total(&self) -> f64 {
        self.sum + self.compensation
    }
}

/// Finite values as `f64`, in order, and the number of non-finite ones.
pub(crate) fn finite_values<T: Sample>(values: &[T]) -> (Vec<f64>, usize) {
    let finite: Vec<f64> = values.iter().map(|v| v.to_f64()).filter(|v| v.is_finite()).collect();
    let skipped = values.len() - finite.len();
    (finite, skipped)
}

impl Stats {
    /// Statistics of a slice of physical values (`f64` or `f32`).
    pub fn compute<T: Sample>(values: &[T]) -> Stats {
        let (finite, nan_count) = finite_values(values);
        Stats::from_finite(finite, nan_count)
    }

    /// Statistics of any sequence of values.
    pub fn from_values(values: impl IntoIterator<Item = f64>) -> Stats {
        let mut nan_count = 0;
        let finite: Vec<f64> = values
            .into_iter()
            .filter(|v| {
                let ok = v.is_finite();
                nan_count += usize::from(!ok);
                ok
            })
            .collect();
        Stats::from_finite(finite, nan_count)
    }

    /// Statistics of values already known to be finite (the vector is reordered).
    pub(crate) fn from_finite(mut v: Vec<f64>, nan_count: usize) -> Stats {
        let count = v.len();
        if count == 0 {
            let nan = f64::NAN;
            return Stats {
                count,
                nan_count,
                min: nan,
                max: nan,
                mean: nan,
                std: nan,
                rms: nan,
                sum: nan,
                median: nan,
            };
        }
        let n = count as f64;
        let (mut sum, mut squares) = (Accumulator::default(), Accumulator::default());
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for &x in &v {
            sum.add(x);
            squares.add(x * x);
            min = min.min(x);
            max = max.max(x);
        }
        let total = sum.total();
        let mean = total / n;
        let (mut dev, mut dev2) = (Accumulator::default(), Accumulator::default());
        for &x in &v {
            let d = x - mean;
            dev.add(d);
            dev2.add(d * d);
        }
        let c = dev.total();
        let var = ((dev2.total() - c * c / n) / n).max(0.0);
        let median = percentile_in_place(&mut v, 50.0);
        Stats {
            count,
            nan_count,
            min,
            max,
            mean,
            std: var.sqrt(),
            rms: (squares.total() / n).sqrt(),
            sum: total,
            median,
        }
    }
}

/// The `q`-th percentile (0–100) of finite values, numpy's default "linear" method. The slice is
/// reordered. NaN for an empty slice.
pub(crate) fn percentile_in_place(v: &mut [f64], q: f64) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let virtual_index = (q / 100.0) * (n - 1) as f64;
    let lo = (virtual_index.floor().max(0.0) as usize).min(n - 1);
    let gamma = virtual_index - lo as f64;
    let (_, a, right) = v.select_nth_unstable_by(lo, f64::total_cmp);
    let a = *a;
    if right.is_empty() || gamma <= 0.0 {
        return a;
    }
    let b = right.iter().copied().fold(f64::INFINITY, f64::min);
    if q == 50.0 && n.is_multiple_of(2) {
        // numpy's median is the mean of the two middle values.
        return (a + b) / 2.0;
    }
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// Percentiles (each 0–100) of the finite values, numpy's linear interpolation.
pub fn percentiles<T: Sample>(values: &[T], qs: &[f64]) -> Result<Vec<f64>, FitsError> {
    if let Some(q) = qs.iter().find(|q| !(0.0..=100.0).contains(*q)) {
        return Err(FitsError::InvalidArgument(format!("percentile {q} outside 0..=100")));
    }
    let (mut finite, _) = finite_values(values);
    Ok(qs.iter().map(|&q| percentile_in_place(&mut finite, q)).collect())
}

/// One percentile (0–100) of the finite values.
pub fn percentile<T: Sample>(values: &[T], q: f64) -> Result<f64, FitsError> {
    Ok(percentiles(values, &[q])?.first().copied().unwrap_or(f64::NAN))
}

/// Median of the finite values (NaN when there are none).
pub fn median<T: Sample>(values: &[T]) -> f64 {
    let (mut finite, _) = finite_values(values);
    percentile_in_place(&mut finite, 50.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_stats() {
        let s = Stats::compute(&[1.0, 2.0, f64::NAN, 4.0, 3.0, f64::INFINITY]);
        assert_eq!((s.count, s.nan_count), (4, 2));
        assert_eq!((s.min, s.max, s.sum, s.mean, s.median), (1.0, 4.0, 10.0, 2.5, 2.5));
        assert!((s.std - 1.25f64.sqrt()).abs() < 1e-15);
        assert!((s.rms - 7.5f64.sqrt()).abs() < 1e-15);
        let empty = Stats::compute::<f64>(&[f64::NAN]);
        assert_eq!(empty.count, 0);
        assert!(empty.mean.is_nan());
    }

    #[test]
    fn compensated_mean() {
        let v: Vec<f64> = (0..100_000).map(|i| 1e8 + (i % 7) as f64 * 0.1).collect();
        let s = Stats::compute(&v);
        let exact = 1e8 + (0..100_000).map(|i| (i % 7) as f64 * 0.1).sum::<f64>() / 100_000.0;
        assert!((s.mean - exact).abs() < 1e-7);
    }

    #[test]
    fn numpy_percentiles() {
        let v = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        // np.percentile(v, [0, 10, 25, 50, 90, 100])
        let p = percentiles(&v, &[0.0, 10.0, 25.0, 50.0, 90.0, 100.0]).expect("valid");
        let want = [1.0, 1.0, 1.75, 3.5, 6.9, 9.0];
        for (a, b) in p.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        assert!(percentile(&v, 101.0).is_err());
        assert!(median::<f32>(&[]).is_nan());
    }
}
