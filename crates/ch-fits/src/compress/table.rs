//! The few binary-table mechanics a compressed image needs: column layout from `TFORMn`, fixed
//! cells and heap descriptors (`P`/`Q`), all bounds-checked against the HDU's data unit.

use crate::error::FitsError;
use crate::header::Header;

/// One column: byte offset in the row, element type code and repeat count.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Column {
    pub name: String,
    pub offset: usize,
    /// Type letter (`B`, `I`, `J`, `K`, `E`, `D`, `P`, `Q`, …).
    pub code: u8,
    /// For `P`/`Q` descriptors: the element type of the heap array.
    pub heap_code: Option<u8>,
    pub repeat: usize,
}

fn bad(msg: String) -> FitsError {
    FitsError::Decompress(format!("compressed image table: {msg}"))
}

/// Bytes per element of a type letter (`X` counted in bits elsewhere).
pub(crate) fn element_size(code: u8) -> Option<usize> {
    Some(match code {
        b'L' | b'B' | b'A' => 1,
        b'I' => 2,
        b'J' | b'E' => 4,
        b'K' | b'D' | b'C' | b'P' => 8,
        b'M' | b'Q' => 16,
        _ => return None,
    })
}

/// Parse `TFORMn` like `1PB(272)`, `1D`, `8A`, `16X`.
fn parse_tform(tform: &str) -> Option<(usize, u8, Option<u8>)> {
    let t = tform.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let repeat = if digits == 0 { 1 } else { t[..digits].parse().ok()? };
    let mut rest = t[digits..].bytes();
    let code = rest.next()?.to_ascii_uppercase();
    let heap = if code == b'P' || code == b'Q' {
        rest.next().map(|c| c.to_ascii_uppercase())
    } else {
        None
    };
    Some((repeat, code, heap))
}

/// Columns of a binary table, with their row offsets.
pub(crate) fn columns(h: &Header) -> Result<Vec<Column>, FitsError> {
    let n = h.get_i64("TFIELDS").ok_or_else(|| bad("TFIELDS missing".into()))?;
    if !(0..=999).contains(&n) {
        return Err(bad(format!("TFIELDS = {n}")));
    }
    let mut offset = 0usize;
    let mut out = Vec::with_capacity(n as usize);
    for i in 1..=n {
        let tform = h
            .get_str(&format!("TFORM{i}"))
            .ok_or_else(|| bad(format!("TFORM{i} missing")))?;
        let (repeat, code, heap_code) = parse_tform(tform).ok_or_else(|| bad(format!("TFORM{i} = {tform:?}")))?;
        let width = if code == b'X' {
            repeat.div_ceil(8)
        } else {
            let size = element_size(code).ok_or_else(|| bad(format!("TFORM{i} = {tform:?}")))?;
            repeat
                .checked_mul(size)
                .ok_or_else(|| bad(format!("TFORM{i} too wide")))?
        };
        let name = h
            .get_str(&format!("TTYPE{i}"))
            .unwrap_or("")
            .trim()
            .to_ascii_uppercase();
        out.push(Column {
            name,
            offset,
            code,
            heap_code,
            repeat,
        });
        offset = offset.checked_add(width).ok_or_else(|| bad("row too wide".into()))?;
    }
    Ok(out)
}

/// A view of one table's data unit.
pub(crate) struct Table<'a> {
    /// The whole data unit (main table + gap + heap), clipped to the bytes present.
    data: &'a [u8],
    row_len: usize,
    rows: usize,
    heap_start: usize,
}

impl<'a> Table<'a> {
    pub(crate) fn new(data: &'a [u8], h: &Header) -> Result<Self, FitsError> {
        let row_len = h.get_i64("NAXIS1").and_then(|v| usize::try_from(v).ok());
        let rows = h.get_i64("NAXIS2").and_then(|v| usize::try_from(v).ok());
        let (Some(row_len), Some(rows)) = (row_len, rows) else {
            return Err(bad("NAXIS1/NAXIS2 invalid".into()));
        };
        let main = row_len
            .checked_mul(rows)
            .ok_or_else(|| bad("table size overflows".into()))?;
        let heap_start = match h.get_i64("THEAP") {
            Some(t) => usize::try_from(t).map_err(|_| bad(format!("THEAP = {t}")))?,
            None => main,
        };
        Ok(Table {
            data,
            row_len,
            rows,
            heap_start,
        })
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    fn cell(&self, row: usize, col: &Column, len: usize) -> Result<&'a [u8], FitsError> {
        if row >= self.rows || col.offset.saturating_add(len) > self.row_len {
            return Err(bad(format!("cell ({row}, {}) out of the row", col.name)));
        }
        let start = row * self.row_len + col.offset;
        self.data
            .get(start..start + len)
            .ok_or_else(|| FitsError::Truncated("compressed image table".into()))
    }

    /// First element of a fixed-width numeric cell as `f64` (and as `i64` for integer types).
    pub(crate) fn number(&self, row: usize, col: &Column) -> Result<(f64, Option<i64>), FitsError> {
        let size = element_size(col.code).filter(|_| col.repeat >= 1);
        let c = self.cell(
            row,
            col,
            size.ok_or_else(|| bad(format!("column {} is empty", col.name)))?,
        )?;
        let arr = |n: usize| -> [u8; 8] {
            let mut a = [0u8; 8];
            a[8 - n..].copy_from_slice(&c[..n]);
            a
        };
        Ok(match col.code {
            b'B' => (f64::from(c[0]), Some(i64::from(c[0]))),
            b'I' => {
                let v = i64::from(i16::from_be_bytes([c[0], c[1]]));
                (v as f64, Some(v))
            }
            b'J' => {
                let v = i64::from(i32::from_be_bytes([c[0], c[1], c[2], c[3]]));
                (v as f64, Some(v))
            }
            b'K' => {
                let v = i64::from_be_bytes(arr(8));
                (v as f64, Some(v))
            }
            b'E' => (f64::from(f32::from_be_bytes([c[0], c[1], c[2], c[3]])), None),
            b'D' => (f64::from_be_bytes(arr(8)), None),
            _ => return Err(bad(format!("column {} is not numeric", col.name))),
        })
    }

    /// The heap array a `P`/`Q` descriptor points to: (bytes, element type letter).
    pub(crate) fn heap_array(&self, row: usize, col: &Column) -> Result<(&'a [u8], u8), FitsError> {
        let (count, offset) = match col.code {
            b'P' => {
                let c = self.cell(row, col, 8)?;
                let n = i32::from_be_bytes([c[0], c[1], c[2], c[3]]);
                let o = i32::from_be_bytes([c[4], c[5], c[6], c[7]]);
                (i64::from(n), i64::from(o))
            }
            b'Q' => {
                let c = self.cell(row, col, 16)?;
                let mut n = [0u8; 8];
                let mut o = [0u8; 8];
                n.copy_from_slice(&c[..8]);
                o.copy_from_slice(&c[8..]);
                (i64::from_be_bytes(n), i64::from_be_bytes(o))
            }
            _ => return Err(bad(format!("column {} is not a descriptor", col.name))),
        };
        let elem = col.heap_code.unwrap_or(b'B');
        let size = element_size(elem).ok_or_else(|| bad(format!("column {} heap type", col.name)))?;
        let (Ok(count), Ok(offset)) = (usize::try_from(count), usize::try_from(offset)) else {
            return Err(bad(format!("negative descriptor in row {row}")));
        };
        let range = count
            .checked_mul(size)
            .and_then(|len| {
                let start = self.heap_start.checked_add(offset)?;
                Some(start..start.checked_add(len)?)
            })
            .ok_or_else(|| bad(format!("descriptor overflows in row {row}")))?;
        let bytes = self
            .data
            .get(range)
            .ok_or_else(|| FitsError::Truncated(format!("heap array of row {row} lies outside the data unit")))?;
        Ok((bytes, elem))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tforms() {
        assert_eq!(parse_tform("1PB(272)"), Some((1, b'P', Some(b'B'))));
        assert_eq!(parse_tform("1D"), Some((1, b'D', None)));
        assert_eq!(parse_tform("QI"), Some((1, b'Q', Some(b'I'))));
        assert_eq!(parse_tform("16X"), Some((16, b'X', None)));
        assert_eq!(parse_tform(""), None);
    }
}
