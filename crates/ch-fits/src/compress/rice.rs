//! RICE_1 decoder (the algorithm of cfitsio's `fits_rdecomp`), written over a bounds-checked
//! bit reader: corrupt streams return an error instead of reading past the buffer.

use crate::error::FitsError;

/// MSB-first bit reader over a byte slice.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    /// Unread bits, left-aligned.
    acc: u64,
    n: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits {
            data,
            pos: 0,
            acc: 0,
            n: 0,
        }
    }

    fn refill(&mut self) {
        while self.n <= 56 {
            let Some(&b) = self.data.get(self.pos) else { break };
            self.acc |= u64::from(b) << (56 - self.n);
            self.n += 8;
            self.pos += 1;
        }
    }

    fn truncated() -> FitsError {
        FitsError::Decompress("RICE_1: compressed tile ends early".into())
    }

    /// Read `k` ≤ 32 bits.
    fn read(&mut self, k: u32) -> Result<u32, FitsError> {
        if k == 0 {
            return Ok(0);
        }
        if self.n < k {
            self.refill();
            if self.n < k {
                return Err(Self::truncated());
            }
        }
        let v = (self.acc >> (64 - k)) as u32;
        self.acc <<= k;
        self.n -= k;
        Ok(v)
    }

    /// Count zero bits up to the next one bit, consuming both.
    fn unary(&mut self) -> Result<u32, FitsError> {
        let mut zeros = 0u32;
        loop {
            if self.n == 0 {
                self.refill();
                if self.n == 0 {
                    return Err(Self::truncated());
                }
            }
            let lz = self.acc.leading_zeros();
            if lz < self.n {
                zeros = zeros.wrapping_add(lz);
                self.acc <<= lz;
                self.acc <<= 1;
                self.n -= lz + 1;
                return Ok(zeros);
            }
            zeros = zeros.wrapping_add(self.n);
            self.acc = 0;
            self.n = 0;
        }
    }
}

/// Decode `nx` pixels of `bytepix` (1, 2 or 4) bytes each, block size `nblock`. Values come out
/// sign-extended from their `bytepix` width, as astropy's `int8`/`int16`/`int32` arrays.
pub(crate) fn decode(input: &[u8], nx: usize, nblock: usize, bytepix: usize) -> Result<Vec<i64>, FitsError> {
    let (fsbits, fsmax, bbits): (u32, u32, u32) = match bytepix {
        1 => (3, 6, 8),
        2 => (4, 14, 16),
        4 => (5, 25, 32),
        _ => return Err(FitsError::Unsupported(format!("RICE_1 with BYTEPIX = {bytepix}"))),
    };
    if nblock == 0 {
        return Err(FitsError::Decompress("RICE_1: BLOCKSIZE = 0".into()));
    }
    let mask: u32 = if bbits == 32 { u32::MAX } else { (1u32 << bbits) - 1 };
    let widen = |v: u32| -> i64 {
        match bytepix {
            1 => i64::from(v as u8 as i8),
            2 => i64::from(v as u16 as i16),
            _ => i64::from(v as i32),
        }
    };
    let mut out = Vec::with_capacity(nx.min(input.len().saturating_mul(128)));
    if nx == 0 {
        return Ok(out);
    }
    let mut bits = Bits::new(input);
    let mut lastpix = bits.read(bbits)?;
    while out.len() < nx {
        let fs_code = bits.read(fsbits)?;
        let imax = out.len().saturating_add(nblock).min(nx);
        if fs_code == 0 {
            // Low entropy: the whole block repeats the last pixel.
            let v = widen(lastpix);
            out.resize(imax, v);
            continue;
        }
        let fs = fs_code - 1;
        while out.len() < imax {
            let diff = if fs == fsmax {
                bits.read(bbits)?
            } else {
                let zeros = bits.unary()?;
                (zeros.wrapping_shl(fs)) | bits.read(fs)?
            };
            // Undo the zig-zag mapping; wrapping arithmetic as in the C original.
            let delta = if diff & 1 == 0 { diff >> 1 } else { !(diff >> 1) };
            lastpix = delta.wrapping_add(lastpix) & mask;
            out.push(widen(lastpix));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_entropy_block() {
        // lastpix = 7 (i16), then FS code 0 → 32 copies; a second FS code 0 → the rest.
        let input = [0x00, 0x07, 0x00, 0x00];
        assert_eq!(decode(&input, 40, 32, 2).expect("decode"), vec![7; 40]);
    }

    #[test]
    fn truncated_stream_is_an_error() {
        assert!(decode(&[0x00], 10, 32, 2).is_err());
        assert!(decode(&[], 10, 32, 4).is_err());
        assert!(decode(&[1, 2, 3], 10, 32, 3).is_err());
    }
}
