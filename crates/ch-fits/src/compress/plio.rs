//! PLIO_1 decoder: IRAF's line-list run-length encoding (the algorithm of cfitsio's `pl_l2pi`).
//! Each 16-bit word is `opcode << 12 | data`; a "high value" register `pv` sets run values.

/// Decode a line list into `npix` values. Malformed lists decode to whatever they describe
/// (unwritten pixels stay 0) but never read or write out of bounds.
pub(crate) fn decode(ll: &[i16], npix: usize) -> Vec<i64> {
    let mut px = vec![0i64; npix];
    let word = |i: usize| -> i32 { ll.get(i).copied().map_or(0, i32::from) };
    if npix == 0 {
        return px;
    }
    // Header: ll[2] > 0 gives the old-format length with instructions from word 4 (1-based);
    // otherwise the length is split over ll[3], ll[4] and the first instruction is ll[1] + 1.
    let (len, first) = if word(2) > 0 {
        (word(2) as i64, 4i64)
    } else {
        ((i64::from(word(4)) << 15) + i64::from(word(3)), i64::from(word(1)) + 1)
    };
    let len = len.min(ll.len() as i64);
    let xe = npix as i64;
    let (mut op, mut x1, mut pv) = (1i64, 1i64, 1i64);
    let mut ip = first.max(1);
    while ip <= len {
        let w = word((ip - 1) as usize);
        let opcode = w / 4096;
        let data = i64::from(w & 4095);
        match opcode {
            0 | 4 | 5 => {
                let x2 = x1 + data - 1;
                let i2 = x2.min(xe);
                let np = i2 - x1 + 1;
                if np > 0 {
                    let otop = op + np - 1;
                    for i in op..=otop {
                        if let Some(p) = px.get_mut((i - 1) as usize) {
                            *p = if opcode == 4 { pv } else { 0 };
                        }
                    }
                    if opcode == 5
                        && i2 == x2
                        && let Some(p) = px.get_mut((otop - 1) as usize)
                    {
                        *p = pv;
                    }
                    op = otop + 1;
                }
                x1 = x2 + 1;
            }
            1 => {
                pv = (i64::from(word(ip as usize)) << 12) + data;
                ip += 1; // the next word was the high part of pv
            }
            2 => pv += data,
            3 => pv -= data,
            6 | 7 => {
                pv += if opcode == 6 { data } else { -data };
                if x1 <= xe {
                    if let Some(p) = px.get_mut((op - 1) as usize) {
                        *p = pv;
                    }
                    op += 1;
                }
                x1 += 1;
            }
            _ => {}
        }
        if x1 > xe {
            break;
        }
        ip += 1;
    }
    px
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_pixels() {
        // Old-format header of 4 words (length 7), then: set pv = 5, run of 3 high pixels,
        // zero run of 2, single pixel pv+1.
        let ll = [0, 0, 7, 0, (1 << 12) | 5, 0, (4 << 12) | 3];
        let mut full = ll.to_vec();
        full[2] = 9;
        full.extend_from_slice(&[2, (6 << 12) | 1]);
        full[7] = 2; // zero run of 2 (opcode 0)
        let px = decode(&full, 8);
        assert_eq!(px, vec![5, 5, 5, 0, 0, 6, 0, 0]);
        assert_eq!(decode(&[], 4), vec![0; 4]);
    }
}
