//! Histograms with linear or logarithmic bins. Linear bins follow `numpy.histogram` exactly:
//! edges from `linspace`, the last bin closed on the right, bin indices corrected against the
//! edges so rounding never puts a value in a neighbouring bin.

use serde::Serialize;

use crate::error::FitsError;
use crate::image::Sample;

/// Bin spacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BinScale {
    /// Equal-width bins.
    Linear,
    /// Bins equal in `log10`; only positive values can be counted.
    Log,
}

/// A histogram of finite values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    pub scale: BinScale,
    /// `bins + 1` edges, increasing.
    pub edges: Vec<f64>,
    /// Counts per bin; bin `i` is `[edges[i], edges[i+1])`, the last one closed.
    pub counts: Vec<u64>,
    /// Finite values below the first edge (with log bins: also zero and negative values).
    pub underflow: u64,
    /// Finite values above the last edge.
    pub overflow: u64,
    /// Non-finite values skipped.
    pub nan_count: u64,
}

/// `numpy.linspace(start, stop, num)`.
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    let div = num.saturating_sub(1).max(1) as f64;
    let step = (stop - start) / div;
    let mut out: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    if let Some(last) = out.last_mut().filter(|_| num > 1) {
        *last = stop;
    }
    out
}

/// Smallest and largest finite value; `None` when there is none. Vectorised (see
/// [`finite_range`]): what a min/max display stretch of a large image needs at load.
pub fn finite_min_max<T: Sample>(values: &[T]) -> Option<(f64, f64)> {
    finite_range(values, false)
}

/// Finite min and max (only positive values when `positive`), eight lanes at a time so the
/// loop vectorises; `f32` input is compared in single precision (exact, twice the lanes).
fn finite_range<T: Sample>(values: &[T], positive: bool) -> Option<(f64, f64)> {
    let (lo, hi) = if T::IS_F32 {
        let floor = if positive { 0.0 } else { f32::NEG_INFINITY };
        lanes_range(values, |v| v.to_f32(), floor, f32::INFINITY)
    } else {
        let floor = if positive { 0.0 } else { f64::NEG_INFINITY };
        lanes_range(values, |v| v.to_f64(), floor, f64::INFINITY)
    };
    (lo <= hi).then_some((lo, hi))
}

fn lanes_range<T: Sample, F: Copy + PartialOrd + Into<f64>>(
    values: &[T],
    get: impl Fn(T) -> F,
    floor: F,
    inf: F,
) -> (f64, f64) {
    let neg_inf = floor; // any value at or below the floor is rejected, so it is a safe start
    let mut lo = [inf; 8];
    let mut hi = [neg_inf; 8];
    let step = |x: F, lo: &mut F, hi: &mut F| {
        let ok = x > floor && x < inf;
        let (xl, xh) = if ok { (x, x) } else { (inf, neg_inf) };
        *lo = if xl < *lo { xl } else { *lo };
        *hi = if xh > *hi { xh } else { *hi };
    };
    let (chunks, rest) = values.as_chunks::<8>();
    for c in chunks {
        for ((v, l), h) in c.iter().zip(lo.iter_mut()).zip(hi.iter_mut()) {
            step(get(*v), l, h);
        }
    }
    for v in rest {
        step(get(*v), &mut lo[0], &mut hi[0]);
    }
    let lo = lo.iter().map(|&v| v.into()).fold(f64::INFINITY, f64::min);
    let hi = hi.iter().map(|&v| v.into()).fold(f64::NEG_INFINITY, f64::max);
    (lo, hi)
}

/// Count values into the bins given by `edges` (`LOG`: bin positions from `ln x`; a separate
/// instantiation keeps `ln` out of the linear loop, where LLVM would otherwise speculate it).
/// Returns (counts, underflow, overflow, non-finite).
fn count<T: Sample, const LOG: bool>(values: &[T], edges: &[f64], lo: f64, hi: f64) -> (Vec<u64>, u64, u64, u64) {
    let bins = edges.len().saturating_sub(1).max(1);
    let (t_lo, t_hi) = if LOG { (lo.ln(), hi.ln()) } else { (lo, hi) };
    // numpy divides by the width; multiplying by the reciprocal may move a value to a
    // neighbouring bin, which the edge correction below undoes, so the counts are numpy's.
    let norm = bins as f64 / (t_hi - t_lo);
    // Four interleaved count arrays so repeated bins do not serialise on one counter.
    let mut lanes = vec![[0u64; 4]; bins];
    let (mut underflow, mut overflow, mut nan_count) = (0u64, 0u64, 0u64);
    let last = bins - 1;
    for (n, v) in values.iter().enumerate() {
        let x = v.to_f64();
        if !(x >= lo && x <= hi) {
            if !x.is_finite() {
                nan_count += 1;
            } else if x < lo {
                underflow += 1;
            } else {
                overflow += 1;
            }
            continue;
        }
        let t = if LOG { x.ln() } else { x };
        let mut i = (((t - t_lo) * norm) as u32 as usize).min(last);
        // numpy's correction: the edges, not the arithmetic, decide.
        if i > 0 && edges.get(i).is_some_and(|&e| x < e) {
            i -= 1;
        } else if i < last && edges.get(i + 1).is_some_and(|&e| x >= e) {
            i += 1;
        }
        if let Some(c) = lanes.get_mut(i) {
            c[n & 3] += 1;
        }
    }
    let counts = lanes.iter().map(|l| l.iter().sum()).collect();
    (counts, underflow, overflow, nan_count)
}

/// Linear bins in two passes per block: a branch-free pass computes bin indices and flags the
/// values within rounding distance of an edge (or out of range); a second pass counts, sending
/// only flagged values through the exact edge comparison. Same counts as [`count`], faster.
///
/// The first pass finds `floor(y)` and its fraction by adding `0.5 + 2^23` (`2^52` for `f64`),
/// which rounds to an integer in the mantissa: no saturating float→int conversion, so the loop
/// vectorises. Where the fraction is within `margin` of an integer the rounding may be off by
/// one, but those values are flagged anyway, so indices and flags are those of the plain
/// `y as i32`, `y - i` computation.
fn count_linear<T: Sample>(values: &[T], edges: &[f64], lo: f64, hi: f64) -> (Vec<u64>, u64, u64, u64) {
    const BLOCK: usize = 1024;
    const CHECK: u32 = u32::MAX;
    const MAGIC32: f32 = 8_388_608.0; // 2^23: f32 values in [2^23, 2^24) are the integers
    const MAGIC64: f64 = 4_503_599_627_370_496.0; // 2^52
    let bins = edges.len().saturating_sub(1).max(1);
    let norm = bins as f64 / (hi - lo);
    // Worst-case rounding of both the index arithmetic and the edges, in bin units. f32 input
    // is binned in single precision (twice the lanes); the margin grows to match.
    let eps = if T::IS_F32 {
        f64::from(f32::EPSILON)
    } else {
        f64::EPSILON
    };
    let margin = 64.0 * eps * ((lo.abs() + hi.abs()) * norm + bins as f64);
    if bins > (1 << 22) || margin.is_nan() || margin >= 0.25 {
        return count::<T, false>(values, edges, lo, hi);
    }
    let (upper, last) = (1.0 - margin, bins - 1);
    let (lo32, hi32, norm32, margin32, upper32) = (lo as f32, hi as f32, norm as f32, margin as f32, upper as f32);
    // Four count arrays, used in turn, so that runs of one bin do not serialise on one counter.
    let mut lanes: [Vec<u64>; 4] = std::array::from_fn(|_| vec![0u64; bins]);
    let mut slow = Slow {
        counts: vec![0u64; bins],
        underflow: 0,
        overflow: 0,
        nan_count: 0,
    };
    let mut idx = [CHECK; BLOCK];
    for block in values.chunks(BLOCK) {
        let idx = &mut idx[..block.len()];
        if T::IS_F32 {
            for (o, v) in idx.iter_mut().zip(block) {
                let x = v.to_f32();
                let y = (x - lo32) * norm32;
                let r = (y + 0.5) + MAGIC32;
                let frac = y - (r - (MAGIC32 + 1.0));
                let safe = x >= lo32 && x <= hi32 && frac > margin32 && frac < upper32;
                *o = if safe {
                    (r.to_bits() & 0x7f_ffff).wrapping_sub(1)
                } else {
                    CHECK
                };
            }
        } else {
            for (o, v) in idx.iter_mut().zip(block) {
                let x = v.to_f64();
                let y = (x - lo) * norm;
                let r = (y + 0.5) + MAGIC64;
                let frac = y - (r - (MAGIC64 + 1.0));
                let safe = x >= lo && x <= hi && frac > margin && frac < upper;
                *o = if safe {
                    ((r.to_bits() & 0xf_ffff_ffff_ffff) as u32).wrapping_sub(1)
                } else {
                    CHECK
                };
            }
        }
        let (quads, rest) = idx.as_chunks::<4>();
        let (vquads, vrest) = block.as_chunks::<4>();
        for (q, vq) in quads.iter().zip(vquads) {
            for (k, lane) in lanes.iter_mut().enumerate() {
                match lane.get_mut(q[k] as usize) {
                    Some(c) => *c += 1,
                    None => slow.add(vq[k].to_f64(), edges, lo, hi, norm, last),
                }
            }
        }
        for (&i, v) in rest.iter().zip(vrest) {
            match lanes[0].get_mut(i as usize) {
                Some(c) => *c += 1,
                None => slow.add(v.to_f64(), edges, lo, hi, norm, last),
            }
        }
    }
    for lane in &lanes {
        for (c, l) in slow.counts.iter_mut().zip(lane) {
            *c += l;
        }
    }
    (slow.counts, slow.underflow, slow.overflow, slow.nan_count)
}

/// Counts of the values the fast pass flagged: out of range, non-finite, or near an edge.
struct Slow {
    counts: Vec<u64>,
    underflow: u64,
    overflow: u64,
    nan_count: u64,
}

impl Slow {
    #[inline(never)]
    fn add(&mut self, x: f64, edges: &[f64], lo: f64, hi: f64, norm: f64, last: usize) {
        if !(x >= lo && x <= hi) {
            if !x.is_finite() {
                self.nan_count += 1;
            } else if x < lo {
                self.underflow += 1;
            } else {
                self.overflow += 1;
            }
            return;
        }
        let mut i = (((x - lo) * norm) as usize).min(last);
        if i > 0 && edges.get(i).is_some_and(|&e| x < e) {
            i -= 1;
        } else if i < last && edges.get(i + 1).is_some_and(|&e| x >= e) {
            i += 1;
        }
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
        }
    }
}

/// Histogram of `f32` values (the viewer's path; the same as [`histogram`]).
pub fn histogram_f32(
    values: &[f32],
    bins: usize,
    range: Option<(f64, f64)>,
    scale: BinScale,
) -> Result<Histogram, FitsError> {
    histogram(values, bins, range, scale)
}

/// Histogram of the finite values with `bins` bins over `range` (default: the finite min–max,
/// or for log bins the smallest positive value to the max).
pub fn histogram<T: Sample>(
    values: &[T],
    bins: usize,
    range: Option<(f64, f64)>,
    scale: BinScale,
) -> Result<Histogram, FitsError> {
    if bins == 0 {
        return Err(FitsError::InvalidArgument("a histogram needs at least one bin".into()));
    }
    let log = scale == BinScale::Log;
    let (lo, hi) = match range {
        Some((lo, hi)) => {
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) || (log && lo <= 0.0) {
                return Err(FitsError::InvalidArgument(format!("histogram range ({lo}, {hi})")));
            }
            (lo, hi)
        }
        None => match finite_range(values, log) {
            Some(r) => r,
            // No usable values: an empty histogram over a unit range.
            None if log => (1.0, 10.0),
            None => (0.0, 1.0),
        },
    };
    let (lo, hi) = match (lo == hi, log) {
        (true, false) => (lo - 0.5, hi + 0.5),
        (true, true) => (lo / 10f64.sqrt(), hi * 10f64.sqrt()),
        _ => (lo, hi),
    };
    let edges = if log {
        let mut e: Vec<f64> = linspace(lo.log10(), hi.log10(), bins + 1)
            .into_iter()
            .map(|p| 10f64.powf(p))
            .collect();
        if let Some(f) = e.first_mut() {
            *f = lo;
        }
        if let Some(l) = e.last_mut() {
            *l = hi;
        }
        e
    } else {
        linspace(lo, hi, bins + 1)
    };
    let (counts, underflow, overflow, nan_count) = if log {
        count::<T, true>(values, &edges, lo, hi)
    } else {
        count_linear(values, &edges, lo, hi)
    };
    Ok(Histogram {
        scale,
        edges,
        counts,
        underflow,
        overflow,
        nan_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_linear_bins() {
        // np.histogram([0, 1, 1, 2, 3, 4, 4, 4, 5], bins=5) → [1, 2, 1, 1, 4], edges 0..5
        let v = [0.0, 1.0, 1.0, 2.0, 3.0, 4.0, 4.0, 4.0, 5.0, f64::NAN];
        let h = histogram(&v, 5, None, BinScale::Linear).expect("histogram");
        assert_eq!(h.counts, vec![1, 2, 1, 1, 4]);
        assert_eq!(h.edges, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(h.nan_count, 1);
        let h = histogram(&v, 2, Some((1.0, 3.0)), BinScale::Linear).expect("histogram");
        assert_eq!((h.counts.clone(), h.underflow, h.overflow), (vec![2, 2], 1, 4));
        assert!(histogram(&v, 0, None, BinScale::Linear).is_err());
    }

    #[test]
    fn log_bins() {
        let v = [-1.0f32, 0.0, 1.0, 10.0, 100.0, 1000.0];
        let h = histogram_f32(&v, 3, None, BinScale::Log).expect("histogram");
        assert_eq!(h.counts, vec![1, 1, 2]);
        assert_eq!(h.underflow, 2);
        assert!((h.edges[1] - 10.0).abs() < 1e-9 && (h.edges[2] - 100.0).abs() < 1e-9);
    }

    /// Reference: the bin whose edges bracket the value (numpy's definition).
    fn reference(values: &[f64], edges: &[f64]) -> Vec<u64> {
        let mut counts = vec![0u64; edges.len() - 1];
        let (lo, hi) = (edges[0], edges[edges.len() - 1]);
        for &x in values.iter().filter(|x| x.is_finite() && **x >= lo && **x <= hi) {
            let i = edges
                .partition_point(|&e| e <= x)
                .saturating_sub(1)
                .min(counts.len() - 1);
            counts[i] += 1;
        }
        counts
    }

    #[test]
    fn fast_path_matches_edge_definition() {
        let mut state = 0x9e37_79b9u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for (lo, hi, bins) in [
            (-3.7, 11.2, 256),
            (1e8, 1e8 + 3.0, 7),
            (-1e-3, 2e-3, 1000),
            (0.0, 1.0, 1),
        ] {
            let edges = linspace(lo, hi, bins + 1);
            let mut v32: Vec<f32> = (0..20_000)
                .map(|_| (lo + (hi - lo) * (next() as f64 / 4294967296.0)) as f32)
                .collect();
            v32.extend(edges.iter().map(|&e| e as f32));
            v32.extend([f32::NAN, f32::INFINITY, lo as f32 - 1.0]);
            let mut v64: Vec<f64> = v32.iter().map(|&v| f64::from(v)).collect();
            v64.extend(edges.iter().copied());
            let h32 = histogram_f32(&v32, bins, Some((lo, hi)), BinScale::Linear).expect("f32");
            let h64 = histogram(&v64, bins, Some((lo, hi)), BinScale::Linear).expect("f64");
            let as64: Vec<f64> = v32.iter().map(|&v| f64::from(v)).collect();
            assert_eq!(h32.counts, reference(&as64, &h32.edges), "f32 {lo} {hi} {bins}");
            assert_eq!(h64.counts, reference(&v64, &h64.edges), "f64 {lo} {hi} {bins}");
        }
    }

    #[test]
    fn constant_and_empty() {
        let h = histogram(&[2.0, 2.0], 4, None, BinScale::Linear).expect("histogram");
        assert_eq!(h.counts.iter().sum::<u64>(), 2);
        let h = histogram::<f64>(&[], 4, None, BinScale::Log).expect("histogram");
        assert_eq!(h.counts, vec![0; 4]);
    }

    #[test]
    fn fast_counts_identical_to_the_exact_pass() {
        let mut state = 0x1234_5678_9abc_def1u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut unit = move || (next() >> 11) as f64 / (1u64 << 53) as f64;
        let specials = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            f64::from(f32::MAX),
            f64::from(f32::MIN),
            1e-40,
        ];
        let ranges = [
            (-128.0, 128.0),
            (-3.7, 11.2),
            (0.0, 1.0),
            (1e8, 1e8 + 3.0),
            (-1e-3, 2e-3),
            (1e-30, 3e-30),
            (-5e30, 7e30),
            (16777216.0, 16777300.0),
            (0.1, 0.1 + 1e-6),
            (-1.0, -1.0 + 1e-9),
        ];
        for round in 0..400 {
            let (mut lo, mut hi) = ranges[round % ranges.len()];
            if round % 3 == 1 {
                // A random sub-range.
                let (a, b) = (lo + (hi - lo) * unit(), lo + (hi - lo) * unit());
                (lo, hi) = (a.min(b), a.max(b));
                if lo == hi {
                    hi = lo + 1.0;
                }
            }
            let bins = [1, 2, 3, 7, 10, 64, 256, 1000, 4096, 100_000][round % 10];
            let edges = linspace(lo, hi, bins + 1);
            let n = 1 + (unit() * 5000.0) as usize;
            let mut v64: Vec<f64> = (0..n)
                .map(|k| match k % 11 {
                    // Exactly on an edge, or one step from it.
                    0 => edges[(unit() * edges.len() as f64) as usize % edges.len()],
                    1 => {
                        let e = edges[(unit() * edges.len() as f64) as usize % edges.len()];
                        if unit() < 0.5 { e.next_up() } else { e.next_down() }
                    }
                    2 => specials[(unit() * specials.len() as f64) as usize % specials.len()],
                    // Also somewhat outside the range.
                    3 => lo - (hi - lo) * unit(),
                    4 => hi + (hi - lo) * unit(),
                    _ => lo + (hi - lo) * unit(),
                })
                .collect();
            let v32: Vec<f32> = v64.iter().map(|&v| v as f32).collect();
            // f32 edges too: f32 input is binned in single precision.
            v64.extend(edges.iter().map(|&e| f64::from(e as f32)));
            assert_eq!(
                count_linear(&v32, &edges, lo, hi),
                count::<_, false>(&v32, &edges, lo, hi),
                "f32 {lo} {hi} {bins}"
            );
            assert_eq!(
                count_linear(&v64, &edges, lo, hi),
                count::<_, false>(&v64, &edges, lo, hi),
                "f64 {lo} {hi} {bins}"
            );
        }
    }

    #[test]
    fn perf_image_counts_unchanged() {
        // The data of tests/perf.rs at 512×512: every bin and the NaN count as the exact pass.
        let mut state = 0x2545_f491u32;
        let v: Vec<f32> = (0..512 * 512)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                if i % 9973 == 0 {
                    f32::NAN
                } else {
                    (state >> 8) as f32 / 65536.0 - 128.0
                }
            })
            .collect();
        for range in [None, Some((-128.0, 128.0)), Some((-100.0, 50.0))] {
            let h = histogram_f32(&v, 256, range, BinScale::Linear).expect("histogram");
            let (lo, hi) = (h.edges[0], h.edges[256]);
            assert_eq!(
                (h.counts.clone(), h.underflow, h.overflow, h.nan_count),
                count::<_, false>(&v, &h.edges, lo, hi)
            );
            assert_eq!(
                h.counts.iter().sum::<u64>() + h.underflow + h.overflow + h.nan_count,
                v.len() as u64
            );
        }
    }
}
