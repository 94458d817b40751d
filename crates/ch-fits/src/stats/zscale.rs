//! IRAF/DS9 zscale display limits, reproducing `astropy.visualization.ZScaleInterval`
//! step for step (same sampling, line fit, k-sigma rejection and mask dilation), so limits
//! agree with astropy's.

use crate::image::Sample;

/// Parameters of [`zscale_with`]; the defaults are astropy's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZScaleParams {
    pub n_samples: usize,
    pub contrast: f64,
    pub max_reject: f64,
    pub min_npixels: usize,
    pub krej: f64,
    pub max_iterations: usize,
}

impl Default for ZScaleParams {
    fn default() -> Self {
        ZScaleParams {
            n_samples: 1000,
            contrast: 0.25,
            max_reject: 0.5,
            min_npixels: 5,
            krej: 2.5,
            max_iterations: 5,
        }
    }
}

/// zscale limits `(vmin, vmax)` with astropy's defaults; `None` without finite values.
pub fn zscale<T: Sample>(values: &[T]) -> Option<(f64, f64)> {
    zscale_with(values, &ZScaleParams::default())
}

/// Least-squares line through the good samples: `(slope, intercept)`.
fn fit_line(samples: &[f64], bad: &[bool]) -> (f64, f64) {
    let (mut n, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for (i, (&y, &b)) in samples.iter().zip(bad).enumerate() {
        if !b {
            n += 1.0;
            sx += i as f64;
            sy += y;
        }
    }
    let (xm, ym) = (sx / n, sy / n);
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for (i, (&y, &b)) in samples.iter().zip(bad).enumerate() {
        if !b {
            let dx = i as f64 - xm;
            sxx += dx * dx;
            sxy += dx * (y - ym);
        }
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (slope, ym - slope * xm)
}

/// zscale limits with explicit parameters. The values are read in order (row-major for an
/// image plane, as numpy flattens), non-finite values dropped before sampling.
pub fn zscale_with<T: Sample>(values: &[T], p: &ZScaleParams) -> Option<(f64, f64)> {
    let finite: Vec<f64> = values.iter().map(|v| v.to_f64()).filter(|v| v.is_finite()).collect();
    if finite.is_empty() || p.n_samples == 0 {
        return None;
    }
    let stride = (finite.len() as f64 / p.n_samples as f64).max(1.0) as usize;
    let mut samples: Vec<f64> = finite
        .iter()
        .step_by(stride.max(1))
        .take(p.n_samples)
        .copied()
        .collect();
    samples.sort_unstable_by(f64::total_cmp);
    let npix = samples.len();
    let (mut vmin, mut vmax) = (*samples.first()?, *samples.last()?);

    let minpix = p.min_npixels.max((npix as f64 * p.max_reject) as usize);
    let mut ngoodpix = npix;
    let mut last_ngoodpix = npix + 1;
    let mut bad = vec![false; npix];
    let ngrow = ((npix as f64 * 0.01) as usize).max(1);
    let (before, after) = ((ngrow - 1) / 2, ngrow / 2);
    let mut fit = None;
    for _ in 0..p.max_iterations {
        if ngoodpix >= last_ngoodpix || ngoodpix < minpix {
            break;
        }
        let (slope, intercept) = fit_line(&samples, &bad);
        fit = Some(slope);
        let flat: Vec<f64> = samples
            .iter()
            .enumerate()
            .map(|(i, &y)| y - (slope * i as f64 + intercept))
            .collect();
        let good: Vec<f64> = flat.iter().zip(&bad).filter(|(_, b)| !**b).map(|(f, _)| *f).collect();
        let threshold = p.krej * super::Stats::from_finite(good, 0).std;
        for (b, &f) in bad.iter_mut().zip(&flat) {
            if f < -threshold || f > threshold {
                *b = true;
            }
        }
        // np.convolve(bad, ones(ngrow), "same"): output i sees inputs i - after ..= i + before.
        let mut grown = vec![false; npix];
        for (j, _) in bad.iter().enumerate().filter(|(_, b)| **b) {
            let from = j.saturating_sub(before);
            let to = (j + after).min(npix - 1);
            for g in &mut grown[from..=to] {
                *g = true;
            }
        }
        bad = grown;
        last_ngoodpix = ngoodpix;
        ngoodpix = bad.iter().filter(|b| !**b).count();
    }
    if let (true, Some(mut slope)) = (ngoodpix >= minpix, fit) {
        if p.contrast > 0.0 {
            slope /= p.contrast;
        }
        let center = (npix as i64 - 1) / 2;
        let median = {
            let k = (npix - 1) / 2;
            if npix % 2 == 1 {
                samples[k]
            } else {
                // numpy computes the mean in the array's dtype: round like the input type.
                T::from_f64((samples[k] + samples[k + 1]) / 2.0).to_f64()
            }
        };
        vmin = vmin.max(median - (center - 1) as f64 * slope);
        vmax = vmax.min(median + (npix as i64 - center) as f64 * slope);
    }
    Some((vmin, vmax))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ramp() {
        // A clean ramp: the fit is exact, limits stay within the data.
        let v: Vec<f64> = (0..10_000).map(|i| i as f64).collect();
        let (lo, hi) = zscale(&v).expect("limits");
        assert!(lo >= 0.0 && hi <= 9999.0 && lo < hi);
        assert_eq!(zscale::<f64>(&[f64::NAN]), None);
        assert_eq!(zscale(&[3.0f32]), Some((3.0, 3.0)));
    }
}
