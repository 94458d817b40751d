//! Values → RGBA8, and area-averaged downsampling for thumbnails.

use crate::stretch::Prepared;
use crate::{RenderError, RenderParams};

pub(crate) fn check_shape(values: &[f32], width: usize, height: usize) -> Result<(), RenderError> {
    if width.checked_mul(height) != Some(values.len()) {
        return Err(RenderError::Shape {
            len: values.len(),
            width,
            height,
        });
    }
    Ok(())
}

/// Renders a row-major `width × height` plane of physical values to RGBA8 (4 bytes a pixel,
/// same row order), computing the limits from `values`.
pub fn to_rgba(values: &[f32], width: usize, height: usize, params: &RenderParams) -> Result<Vec<u8>, RenderError> {
    check_shape(values, width, height)?;
    params.validate()?;
    // Without finite values every pixel takes the NaN colour; the limits do not matter.
    let limits = params.limits.compute(values).unwrap_or((0.0, 1.0));
    to_rgba_with_limits(values, width, height, params, limits)
}

/// As [`to_rgba`] with limits computed elsewhere, e.g. on the full-resolution plane while
/// rendering a thumbnail (DS9 and astropy take limits from the whole image).
pub fn to_rgba_with_limits(
    values: &[f32],
    width: usize,
    height: usize,
    params: &RenderParams,
    (vmin, vmax): (f64, f64),
) -> Result<Vec<u8>, RenderError> {
    check_shape(values, width, height)?;
    params.validate()?;
    let lut = params.colormap.lut();
    let (lo, hi) = if vmin <= vmax { (vmin, vmax) } else { (vmax, vmin) };
    let stretch = Prepared::new(params.scale, values, lo, hi);
    let span = vmax - vmin;
    let mut out = Vec::with_capacity(values.len() * 4);
    for &v in values {
        if !v.is_finite() {
            out.extend_from_slice(&params.nan_rgba.0);
            continue;
        }
        // A zero span (flat image) maps everything to the bottom of the colormap.
        let x = if span != 0.0 && span.is_finite() {
            ((f64::from(v) - vmin) / span).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let mut s = stretch.apply(x);
        s = ((s - params.bias) * params.contrast + 0.5).clamp(0.0, 1.0);
        if params.invert {
            s = 1.0 - s;
        }
        let [r, g, b] = lut[lut_index(s)];
        out.extend_from_slice(&[r, g, b, 255]);
    }
    Ok(out)
}

/// The colormap entry of a value in `[0, 1]`: matplotlib's `floor(x·N)`, 1.0 → the last.
pub fn lut_index(s: f64) -> usize {
    ((s * 256.0) as usize).min(255)
}

/// Shrinks a plane so that its longer side is `max_side`, each output pixel the mean of the
/// finite input pixels whose centres fall in it (NaN when there are none). Planes already
/// within `max_side` come back unchanged. Returns `(values, width, height)`.
pub fn downsample(values: &[f32], width: usize, height: usize, max_side: usize) -> (Vec<f32>, usize, usize) {
    let longest = width.max(height);
    if longest <= max_side || max_side == 0 || width.checked_mul(height) != Some(values.len()) {
        return (values.to_vec(), width, height);
    }
    let scaled = |n: usize| ((n as f64 * max_side as f64 / longest as f64).round() as usize).clamp(1, max_side);
    let (w2, h2) = (scaled(width), scaled(height));
    // Input pixel i lands in output pixel floor((i + 0.5) · out / in).
    let bin =
        |i: usize, n_in: usize, n_out: usize| (((i as f64 + 0.5) * n_out as f64 / n_in as f64) as usize).min(n_out - 1);
    let xbin: Vec<usize> = (0..width).map(|x| bin(x, width, w2)).collect();
    let mut sum = vec![0f64; w2 * h2];
    let mut count = vec![0u32; w2 * h2];
    for (y, row) in values.chunks_exact(width).enumerate() {
        let base = bin(y, height, h2) * w2;
        for (&v, &bx) in row.iter().zip(&xbin) {
            if v.is_finite() {
                sum[base + bx] += f64::from(v);
                count[base + bx] += 1;
            }
        }
    }
    let out = sum
        .iter()
        .zip(&count)
        .map(|(&s, &n)| if n == 0 { f32::NAN } else { (s / f64::from(n)) as f32 })
        .collect();
    (out, w2, h2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Colormap, Limits, Rgba, Scale};

    #[test]
    fn grey_ramp_and_nan() {
        let values = [0.0f32, 0.5, 1.0, f32::NAN];
        let p = RenderParams {
            nan_rgba: Rgba([1, 2, 3, 4]),
            ..RenderParams::default()
        };
        let rgba = to_rgba(&values, 4, 1, &p).expect("renders");
        assert_eq!(
            rgba,
            vec![0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255, 1, 2, 3, 4]
        );
        let inv = to_rgba(&values, 4, 1, &RenderParams { invert: true, ..p }).expect("renders");
        assert_eq!(&inv[..4], &[255, 255, 255, 255]);
        assert!(to_rgba(&values, 3, 1, &p).is_err());
    }

    #[test]
    fn bias_and_contrast_follow_ds9() {
        let values = [0.25f32, 0.75];
        let p = RenderParams {
            limits: Limits::Manual { min: 0.0, max: 1.0 },
            contrast: 2.0,
            ..RenderParams::default()
        };
        // (0.25 − 0.5)·2 + 0.5 = 0 and (0.75 − 0.5)·2 + 0.5 = 1.
        let rgba = to_rgba(&values, 2, 1, &p).expect("renders");
        assert_eq!((rgba[0], rgba[4]), (0, 255));
        let p = RenderParams { bias: 0.25, ..p };
        let rgba = to_rgba(&values, 2, 1, &p).expect("renders");
        assert_eq!((rgba[0], rgba[4]), (128, 255));
    }

    #[test]
    fn flat_and_empty_images_render() {
        let p = RenderParams {
            scale: Scale::HistEq,
            colormap: Colormap::Viridis,
            ..RenderParams::default()
        };
        let rgba = to_rgba(&[3.0; 4], 2, 2, &p).expect("renders");
        assert_eq!(&rgba[..4], &[68, 1, 84, 255]);
        let rgba = to_rgba(&[f32::NAN; 2], 2, 1, &p).expect("renders");
        assert_eq!(rgba, vec![0; 8]);
        assert!(to_rgba(&[], 0, 0, &p).expect("renders").is_empty());
    }

    #[test]
    fn downsample_averages_finite_pixels() {
        let values: Vec<f32> = (0..16).map(|i| i as f32).collect();
        let (out, w, h) = downsample(&values, 4, 4, 2);
        assert_eq!((w, h), (2, 2));
        assert_eq!(out, vec![2.5, 4.5, 10.5, 12.5]);
        let mut with_nan = values.clone();
        with_nan[0] = f32::NAN;
        with_nan[1] = f32::NAN;
        with_nan[4] = f32::NAN;
        assert_eq!(downsample(&with_nan, 4, 4, 2).0[0], 5.0);
        let (_, w, h) = downsample(&vec![0.0; 300 * 150], 300, 150, 64);
        assert_eq!((w, h), (64, 32));
        assert_eq!(downsample(&values, 4, 4, 8).1, 4);
    }
}
