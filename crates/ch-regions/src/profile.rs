//! Values along a line region, for the viewer's profile plot.

use ch_fits::image::Image;
use serde::{Deserialize, Serialize};

/// Most samples one profile returns; longer segments are sampled evenly at this count.
pub const MAX_PROFILE_SAMPLES: usize = 100_000;

/// One sample of a line profile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProfileSample {
    /// Distance from the start of the segment, in pixels.
    pub distance: f64,
    /// Position in image pixels (0-based).
    pub x: f64,
    pub y: f64,
    /// Value of the nearest pixel; `None` outside the image or where it is not finite.
    pub value: Option<f32>,
}

/// Samples `values` (row-major, `values[y * width + x]`) along the segment from `(x1, y1)` to
/// `(x2, y2)` at unit steps: `ceil(length) + 1` samples at distances 0, 1, 2, … with the last
/// one on the end point itself. Beyond [`MAX_PROFILE_SAMPLES`] the samples are spread evenly
/// instead. Each value comes from the nearest pixel (coordinates rounded). A non-finite end
/// point gives no samples.
pub fn profile(values: &[f32], width: usize, height: usize, x1: f64, y1: f64, x2: f64, y2: f64) -> Vec<ProfileSample> {
    let (dx, dy) = (x2 - x1, y2 - y1);
    let length = dx.hypot(dy);
    if !(length.is_finite() && x1.is_finite() && y1.is_finite()) {
        return Vec::new();
    }
    let steps = length.ceil();
    // `steps` is finite and ≥ 0; the cap keeps the cast and the allocation small.
    let n = if steps >= (MAX_PROFILE_SAMPLES - 1) as f64 {
        MAX_PROFILE_SAMPLES
    } else {
        steps as usize + 1
    };
    let last = n - 1;
    let step = if last as f64 >= steps {
        1.0
    } else {
        length / last as f64
    };
    let value_at = |x: f64, y: f64| -> Option<f32> {
        let (rx, ry) = (x.round(), y.round());
        if !(rx >= 0.0 && ry >= 0.0 && rx < width as f64 && ry < height as f64) {
            return None;
        }
        let index = (ry as usize).checked_mul(width)?.checked_add(rx as usize)?;
        values.get(index).copied().filter(|v| v.is_finite())
    };
    (0..n)
        .map(|i| {
            let (distance, x, y) = if i == last {
                (length, x2, y2)
            } else {
                let d = i as f64 * step;
                let t = if length > 0.0 { d / length } else { 0.0 };
                (d, x1 + t * dx, y1 + t * dy)
            };
            ProfileSample {
                distance,
                x,
                y,
                value: value_at(x, y),
            }
        })
        .collect()
}

/// [`profile`] over an image plane.
pub fn image_profile(image: &Image<f32>, x1: f64, y1: f64, x2: f64, y2: f64) -> Vec<ProfileSample> {
    profile(&image.data, image.width, image.height, x1, y1, x2, y2)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap what they built
mod tests {
    use super::*;

    /// 4 × 3 image with value `10 y + x`.
    fn grid() -> Vec<f32> {
        (0..12).map(|i| (10 * (i / 4) + i % 4) as f32).collect()
    }

    #[test]
    fn samples_at_unit_steps_with_both_ends() {
        let v = grid();
        let p = profile(&v, 4, 3, 0.0, 1.0, 2.5, 1.0);
        assert_eq!(p.len(), 4);
        let d: Vec<f64> = p.iter().map(|s| s.distance).collect();
        assert_eq!(d, vec![0.0, 1.0, 2.0, 2.5]);
        let vals: Vec<Option<f32>> = p.iter().map(|s| s.value).collect();
        // 2.5 rounds away from zero to 3.
        assert_eq!(vals, vec![Some(10.0), Some(11.0), Some(12.0), Some(13.0)]);
        assert_eq!((p[3].x, p[3].y), (2.5, 1.0));

        let diag = profile(&v, 4, 3, 0.0, 0.0, 3.0, 2.0);
        assert_eq!(diag.len(), 5); // length √13 ≈ 3.6
        assert_eq!(diag[0].value, Some(0.0));
        assert_eq!(diag[4].value, Some(23.0));
        assert!((diag[1].distance - 1.0).abs() < 1e-12);
    }

    #[test]
    fn outside_and_non_finite_are_none() {
        let mut v = grid();
        v[1] = f32::NAN;
        let p = profile(&v, 4, 3, -1.0, 0.0, 4.0, 0.0);
        let vals: Vec<Option<f32>> = p.iter().map(|s| s.value).collect();
        assert_eq!(vals, vec![None, Some(0.0), None, Some(2.0), Some(3.0), None]);
        // -0.4 rounds to -0, which is pixel 0.
        assert_eq!(profile(&v, 4, 3, -0.4, 0.0, -0.4, 0.0)[0].value, Some(0.0));
        // Data shorter than width × height: missing pixels are None, not a panic.
        assert_eq!(profile(&v[..5], 4, 3, 3.0, 2.0, 3.0, 2.0)[0].value, None);
        assert!(profile(&v, 4, 3, f64::NAN, 0.0, 1.0, 1.0).is_empty());
        assert!(profile(&v, 4, 3, 0.0, 0.0, f64::INFINITY, 1.0).is_empty());
    }

    #[test]
    fn zero_length_gives_one_sample() {
        let v = grid();
        let p = profile(&v, 4, 3, 1.0, 2.0, 1.0, 2.0);
        assert_eq!(
            p,
            vec![ProfileSample {
                distance: 0.0,
                x: 1.0,
                y: 2.0,
                value: Some(21.0)
            }]
        );
    }

    #[test]
    fn long_segments_are_capped() {
        let p = profile(&[], 0, 0, 0.0, 0.0, 1e12, 0.0);
        assert_eq!(p.len(), MAX_PROFILE_SAMPLES);
        assert_eq!(p[MAX_PROFILE_SAMPLES - 1].distance, 1e12);
        assert!(p.windows(2).all(|w| w[1].distance > w[0].distance));
        assert!(p.iter().all(|s| s.value.is_none()));
        assert_eq!(profile(&[], 0, 0, 0.0, 0.0, 99_998.0, 0.0).len(), 99_999);
        assert_eq!(profile(&[], 0, 0, 0.0, 0.0, 99_999.0, 0.0).len(), MAX_PROFILE_SAMPLES);
        assert_eq!(profile(&[], 0, 0, 0.0, 0.0, 99_999.5, 0.0).len(), MAX_PROFILE_SAMPLES);
    }

    #[test]
    fn image_profile_reads_the_plane() {
        let image = Image {
            hdu: 0,
            width: 4,
            height: 3,
            plane: 0,
            planes: 1,
            shape: vec![3, 4],
            bitpix: -32,
            data: grid(),
        };
        let p = image_profile(&image, 3.0, 0.0, 3.0, 2.0);
        let vals: Vec<Option<f32>> = p.iter().map(|s| s.value).collect();
        assert_eq!(vals, vec![Some(3.0), Some(13.0), Some(23.0)]);
    }
}
