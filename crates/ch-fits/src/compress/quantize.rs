//! Un-quantisation of floating-point tiles (FITS tiled-image convention, §4 of the
//! "Tiled Image Convention"; cfitsio `unquantize_*`), including subtractive dithering with the
//! standard's pseudo-random sequence.

/// Length of the dither random-number table.
const N_RANDOM: usize = 10_000;
/// Quantised value that marks an exact zero with `SUBTRACTIVE_DITHER_2`.
const ZERO_VALUE: i64 = -2_147_483_646;

/// The dithering method (`ZQUANTIZ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dither {
    /// `NO_DITHER` (also the default when `ZQUANTIZ` is absent, as in astropy).
    None,
    /// `SUBTRACTIVE_DITHER_1`.
    Subtractive1,
    /// `SUBTRACTIVE_DITHER_2` (zeros preserved exactly).
    Subtractive2,
}

/// The table of the standard: a Park–Miller sequence stored as `f32`, exactly as cfitsio does.
fn random_table() -> Vec<f32> {
    let a = 16807.0f64;
    let m = 2147483647.0f64;
    let mut seed = 1.0f64;
    (0..N_RANDOM)
        .map(|_| {
            let temp = a * seed;
            seed = temp - m * ((temp / m) as i64 as f64);
            (seed / m) as f32
        })
        .collect()
}

/// Un-quantise one tile in place order. `row` is the 0-based tile index; `zdither0` the
/// `ZDITHER0` seed. `single` rounds each result to `f32` as cfitsio does for `ZBITPIX = -32`.
pub(crate) fn unquantize(
    q: &[i64],
    scale: f64,
    zero: f64,
    dither: Dither,
    row: usize,
    zdither0: i64,
    single: bool,
) -> Vec<f64> {
    let round = |v: f64| if single { f64::from(v as f32) } else { v };
    if dither == Dither::None {
        return q.iter().map(|&v| round(v as f64 * scale + zero)).collect();
    }
    let table = random_table();
    let n = N_RANDOM as i64;
    // cfitsio: iseed = (row - 1) % N_RANDOM with a 1-based row = tile index + ZDITHER0.
    let mut iseed = (row as i64).wrapping_add(zdither0).wrapping_sub(1).rem_euclid(n) as usize;
    let start = |i: usize| (table.get(i).copied().unwrap_or(0.0) * 500.0) as usize;
    let mut next = start(iseed);
    q.iter()
        .map(|&v| {
            let out = if dither == Dither::Subtractive2 && v == ZERO_VALUE {
                0.0
            } else {
                let r = f64::from(table.get(next).copied().unwrap_or(0.0));
                round((v as f64 - r + 0.5) * scale + zero)
            };
            next += 1;
            if next == N_RANDOM {
                iseed = (iseed + 1) % N_RANDOM;
                next = start(iseed);
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_standard() {
        // The standard quotes the 10,000th seed: 1043618065.
        let t = random_table();
        assert_eq!(t.len(), N_RANDOM);
        let last = f64::from(t[N_RANDOM - 1]);
        assert!((last - 1043618065.0 / 2147483647.0).abs() < 1e-7);
    }
}
