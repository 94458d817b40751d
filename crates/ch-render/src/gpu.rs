//! The render pipeline as the WebGL2 fragment shader computes it: in `f32`, one pixel at a
//! time, with histogram equalisation looked up in a table. The shader is tested against
//! [`to_rgba_gpu`], which in turn agrees with [`crate::to_rgba_with_limits`] within one
//! colormap step.
//!
//! Per pixel, with `vmin`, `vmax`, `bias`, `contrast` and the stretch's
//! [`Scale::parameter`] as `f32` uniforms and [`Scale::code`] choosing the branch:
//!
//! 1. NaN/inf → `nan_rgba`;
//! 2. `x = clamp((v − vmin) / (vmax − vmin), 0, 1)`, or 0 when the span is 0 or not finite;
//! 3. `s =` [`stretch_f32`]`(scale, x)`, or [`apply_table`] for `HistEq`;
//! 4. `s = clamp((s − bias)·contrast + 0.5, 0, 1)`, then `1 − s` when inverted;
//! 5. colour `lut[min(floor(s·256), 255)]`, alpha 255.

use crate::render::check_shape;
use crate::stretch::{ASINH_A, HISTEQ_TABLE_LEN, LOG_A, Prepared, SINH_A, apply_table};
use crate::{RenderError, RenderParams, Scale};

/// [`Scale::apply`] in `f32`, written with WGSL built-ins (`log`, `exp2`/`log2` for `pow`,
/// `asinh`, `sinh`). `HistEq` is the identity here, as in [`Scale::apply`].
pub fn stretch_f32(scale: Scale, x: f32) -> f32 {
    let x = if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) };
    match scale {
        Scale::Linear | Scale::HistEq => x,
        Scale::Log => (LOG_A as f32 * x + 1.0).ln() / (LOG_A as f32 + 1.0).ln(),
        Scale::Sqrt => x.sqrt(),
        Scale::Squared => x * x,
        // WGSL's pow(0, a) is undefined, hence the explicit form.
        Scale::Power(_) if x <= 0.0 => 0.0,
        Scale::Power(_) => (scale.parameter() * x.log2()).exp2(),
        Scale::Asinh => (x / ASINH_A as f32).asinh() / (1.0 / ASINH_A as f32).asinh(),
        Scale::Sinh => (x / SINH_A as f32).sinh() / (1.0 / SINH_A as f32).sinh(),
    }
}

/// As [`crate::to_rgba_with_limits`], computed as the shader does (see the module docs).
/// `histeq_table` is the table uploaded for `HistEq` ([`Prepared::table`]); without one it is
/// built from `values` with [`HISTEQ_TABLE_LEN`] entries. Other stretches ignore it.
pub fn to_rgba_gpu(
    values: &[f32],
    width: usize,
    height: usize,
    params: &RenderParams,
    (vmin, vmax): (f64, f64),
    histeq_table: Option<&[f32]>,
) -> Result<Vec<u8>, RenderError> {
    check_shape(values, width, height)?;
    params.validate()?;
    let lut = params.colormap.lut();
    let built;
    let table = match (params.scale, histeq_table) {
        (Scale::HistEq, Some(t)) => Some(t),
        (Scale::HistEq, None) => {
            let (lo, hi) = if vmin <= vmax { (vmin, vmax) } else { (vmax, vmin) };
            built = Prepared::new(Scale::HistEq, values, lo, hi).table(HISTEQ_TABLE_LEN);
            Some(built.as_slice())
        }
        _ => None,
    };
    let (vmin, vmax) = (vmin as f32, vmax as f32);
    let (bias, contrast) = (params.bias as f32, params.contrast as f32);
    let span = vmax - vmin;
    let mut out = Vec::with_capacity(values.len() * 4);
    for &v in values {
        if !v.is_finite() {
            out.extend_from_slice(&params.nan_rgba.0);
            continue;
        }
        let x = if span != 0.0 && span.is_finite() {
            ((v - vmin) / span).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let mut s = match table {
            Some(t) => apply_table(t, f64::from(x)) as f32,
            None => stretch_f32(params.scale, x),
        };
        s = ((s - bias) * contrast + 0.5).clamp(0.0, 1.0);
        if params.invert {
            s = 1.0 - s;
        }
        let [r, g, b] = lut[lut_index_f32(s)];
        out.extend_from_slice(&[r, g, b, 255]);
    }
    Ok(out)
}

/// [`crate::render::lut_index`] in `f32`: `min(floor(s·256), 255)`.
pub fn lut_index_f32(s: f32) -> usize {
    // `as` saturates: negatives and NaN give 0.
    ((s * 256.0).floor() as usize).min(255)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Colormap, Rgba, to_rgba_with_limits};

    const SCALES: [Scale; 9] = [
        Scale::Linear,
        Scale::Log,
        Scale::Sqrt,
        Scale::Squared,
        Scale::Power(2.2),
        Scale::Power(0.4),
        Scale::Asinh,
        Scale::Sinh,
        Scale::HistEq,
    ];

    /// A few thousand pixels covering the range unevenly, some outside the limits, some NaN.
    fn image() -> Vec<f32> {
        (0..4096)
            .map(|i| {
                if i % 97 == 0 {
                    f32::NAN
                } else {
                    let u = (i as f32 * 0.618_034) % 1.0;
                    -20.0 + 140.0 * u * u
                }
            })
            .collect()
    }

    #[test]
    fn stretches_match_f64() {
        for scale in SCALES {
            for i in 0..=1000 {
                let x = i as f32 / 1000.0;
                let exact = scale.apply(f64::from(x));
                assert!((f64::from(stretch_f32(scale, x)) - exact).abs() < 1e-5, "{scale:?} {x}");
            }
        }
        assert_eq!(stretch_f32(Scale::Power(2.0), f32::NAN), 0.0);
    }

    #[test]
    fn agrees_with_cpu_within_one_step() {
        let grey = Colormap::Grey.lut();
        assert!(grey.iter().enumerate().all(|(i, &[r, _, _])| usize::from(r) == i));
        let values = image();
        let (w, h) = (64, 64);
        let limits = (-5.0, 100.0);
        for scale in SCALES {
            for (invert, bias, contrast) in [(false, 0.5, 1.0), (true, 0.4, 1.7)] {
                let p = RenderParams {
                    scale,
                    invert,
                    bias,
                    contrast,
                    nan_rgba: Rgba([9, 8, 7, 6]),
                    ..RenderParams::default()
                };
                let cpu = to_rgba_with_limits(&values, w, h, &p, limits).expect("renders");
                let gpu = to_rgba_gpu(&values, w, h, &p, limits, None).expect("renders");
                for (i, (c, g)) in cpu.as_chunks::<4>().0.iter().zip(gpu.as_chunks::<4>().0).enumerate() {
                    if values[i].is_finite() {
                        assert!(c[0].abs_diff(g[0]) <= 1, "{scale:?} pixel {i}: {c:?} vs {g:?}");
                        assert_eq!(g[3], 255);
                    } else {
                        assert_eq!(*g, [9, 8, 7, 6]);
                    }
                }
            }
        }
    }

    #[test]
    fn given_table_is_used_and_shapes_checked() {
        let values = [0.0f32, 0.5, 1.0];
        let p = RenderParams {
            scale: Scale::HistEq,
            ..RenderParams::default()
        };
        // A table that inverts: 0 → 1, 1 → 0.
        let rgba = to_rgba_gpu(&values, 3, 1, &p, (0.0, 1.0), Some(&[1.0, 0.0])).expect("renders");
        assert_eq!((rgba[0], rgba[4], rgba[8]), (255, 128, 0));
        // Other stretches ignore a table; a flat image takes the bottom colour.
        let linear = RenderParams::default();
        let rgba = to_rgba_gpu(&values, 3, 1, &linear, (0.0, 1.0), Some(&[1.0, 0.0])).expect("renders");
        assert_eq!((rgba[0], rgba[4], rgba[8]), (0, 128, 255));
        let rgba = to_rgba_gpu(&values, 3, 1, &linear, (2.0, 2.0), None).expect("renders");
        assert_eq!((rgba[0], rgba[8]), (0, 0));
        assert!(to_rgba_gpu(&values, 2, 1, &p, (0.0, 1.0), None).is_err());
        assert_eq!(lut_index_f32(1.0), 255);
        assert_eq!(lut_index_f32(-0.5), 0);
        assert_eq!(lut_index_f32(f32::NAN), 0);
    }
}
