//! Reduced-resolution levels of a plane (a mipmap pyramid): what the viewer samples when zoomed
//! out, so one texel read stands for a block of pixels. Each level halves the previous one;
//! every output pixel is the mean of the finite pixels of its 2×2 block (a trailing odd row or
//! column joins the last block), NaN when none is finite — the same rule as [`crate::downsample`].

/// Halves a `width × height` plane; a side of 1 stays 1.
pub fn halve(values: &[f32], width: usize, height: usize) -> (Vec<f32>, usize, usize) {
    if width.checked_mul(height) != Some(values.len()) || values.is_empty() {
        return (Vec::new(), 0, 0);
    }
    halve_rect(values, width, [0, 0, width, height])
}

/// Halves the `[x, y, w, h]` rectangle of a plane whose rows are `stride` values long (a tile of
/// a larger image, read in place). Empty output when the rectangle is not inside `values`.
pub fn halve_rect(values: &[f32], stride: usize, [x, y, width, height]: [usize; 4]) -> (Vec<f32>, usize, usize) {
    let inside = width > 0
        && height > 0
        && x + width <= stride
        && (y + height - 1)
            .checked_mul(stride)
            .and_then(|r| r.checked_add(x + width))
            .is_some_and(|end| end <= values.len());
    if !inside {
        return (Vec::new(), 0, 0);
    }
    let (w2, h2) = ((width / 2).max(1), (height / 2).max(1));
    // Source span of output index i: 2i, 2i+1 (and 2i+2 for the last one of an odd side).
    let span = |i: usize, n_out: usize, n_in: usize| {
        let start = (2 * i).min(n_in - 1);
        let end = if i + 1 == n_out { n_in } else { (2 * i + 2).min(n_in) };
        start..end
    };
    let mut out = Vec::with_capacity(w2 * h2);
    for j in 0..h2 {
        let rows = span(j, h2, height);
        let row = |r: usize| &values[(y + r) * stride + x..(y + r) * stride + x + width];
        // Fast path: two full rows, pairs of columns (all but possibly the last output column).
        let pairs = if rows.len() == 2 && width >= 2 {
            if width % 2 == 0 { w2 } else { w2 - 1 }
        } else {
            0
        };
        if pairs > 0 {
            let (r0, r1) = (row(rows.start), row(rows.start + 1));
            // Written in place, without branches, so the loop vectorises.
            let start = out.len();
            out.resize(start + pairs, 0.0);
            let blocks = r0[..2 * pairs]
                .as_chunks::<2>()
                .0
                .iter()
                .zip(r1[..2 * pairs].as_chunks::<2>().0);
            for (o, (a, b)) in out[start..].iter_mut().zip(blocks) {
                *o = finite_mean4([a[0], a[1], b[0], b[1]]);
            }
        }
        for i in pairs..w2 {
            let cols = span(i, w2, width);
            let (mut sum, mut n) = (0f64, 0u32);
            for r in rows.clone() {
                for &v in &row(r)[cols.clone()] {
                    if v.is_finite() {
                        sum += f64::from(v);
                        n += 1;
                    }
                }
            }
            out.push(if n == 0 { f32::NAN } else { (sum / f64::from(n)) as f32 });
        }
    }
    (out, w2, h2)
}

/// Mean of the finite values of a 2×2 block, NaN when none is: the sum in block order in
/// `f32`, a non-finite value adding `0.0` (the same result as skipping it).
#[inline(always)]
fn finite_mean4(block: [f32; 4]) -> f32 {
    let (mut sum, mut n) = (0f32, 0f32);
    for v in block {
        let finite = v.is_finite();
        sum += if finite { v } else { 0.0 };
        n += if finite { 1.0 } else { 0.0 };
    }
    if n == 0.0 { f32::NAN } else { sum / n }
}

/// Number of levels (including the full plane) a `width × height` plane gets, at most `max`.
pub fn level_count(width: usize, height: usize, max: usize) -> usize {
    let longest = width.max(height).max(1);
    ((usize::BITS - longest.leading_zeros()) as usize).clamp(1, max.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_with_finite_means() {
        let v: Vec<f32> = (0..16).map(|i| i as f32).collect();
        let (h, w2, h2) = halve(&v, 4, 4);
        assert_eq!((w2, h2), (2, 2));
        assert_eq!(h, vec![2.5, 4.5, 10.5, 12.5]);
        let mut n = v.clone();
        n[0] = f32::NAN;
        n[1] = f32::NAN;
        n[4] = f32::NAN;
        assert_eq!(halve(&n, 4, 4).0[0], 5.0);
        let (h, w2, h2) = halve(&[f32::NAN; 4], 2, 2);
        assert_eq!((w2, h2), (1, 1));
        assert!(h[0].is_nan());
    }

    #[test]
    fn full_blocks_sum_their_finite_values_in_order() {
        // Values of mixed magnitude (so the summation order shows), NaN and infinities.
        let v: Vec<f32> = (0..24 * 10)
            .map(|i| match i % 11 {
                3 => f32::NAN,
                7 => f32::INFINITY,
                9 => f32::NEG_INFINITY,
                k => ((i * 7919) % 1000) as f32 * 10f32.powi(k % 5 - 2) - 3.0,
            })
            .collect();
        let (h, w2, _) = halve(&v, 24, 10);
        for (i, got) in h.iter().enumerate() {
            let (x, y) = (2 * (i % w2), 2 * (i / w2));
            let block = [
                v[y * 24 + x],
                v[y * 24 + x + 1],
                v[(y + 1) * 24 + x],
                v[(y + 1) * 24 + x + 1],
            ];
            let finite: Vec<f32> = block.into_iter().filter(|v| v.is_finite()).collect();
            let want = if finite.is_empty() {
                f32::NAN
            } else {
                finite.iter().fold(0f32, |s, v| s + v) / finite.len() as f32
            };
            assert_eq!(got.to_bits(), want.to_bits(), "block {i}: {block:?}");
        }
    }

    #[test]
    fn odd_sides_keep_every_pixel() {
        // 3 × 1: one output pixel averaging all three.
        assert_eq!(halve(&[1.0, 2.0, 6.0], 3, 1), (vec![3.0], 1, 1));
        let v: Vec<f32> = (0..15).map(|i| i as f32).collect();
        let (h, w2, h2) = halve(&v, 5, 3);
        assert_eq!((w2, h2), (2, 1));
        // Rows 0–2; columns 0–1 and 2–4.
        assert_eq!(
            h,
            vec![
                (0.0 + 1.0 + 5.0 + 6.0 + 10.0 + 11.0) / 6.0,
                (2.0 + 3.0 + 4.0 + 7.0 + 8.0 + 9.0 + 12.0 + 13.0 + 14.0) / 9.0
            ]
        );
        assert_eq!(halve(&[], 0, 0).0.len(), 0);
        // A tile read in place equals the tile copied out first.
        let plane: Vec<f32> = (0..64).map(|i| (i * 7 % 13) as f32).collect();
        let tile: Vec<f32> = (2..7).flat_map(|r| plane[r * 8 + 1..r * 8 + 4].to_vec()).collect();
        assert_eq!(halve_rect(&plane, 8, [1, 2, 3, 5]), halve(&tile, 3, 5));
        assert_eq!(halve_rect(&plane, 8, [6, 0, 3, 1]).1, 0);
        assert_eq!(level_count(4096, 4096, 8), 8);
        assert_eq!(level_count(5, 3, 8), 3);
        assert_eq!(level_count(1, 1, 8), 1);
    }
}
