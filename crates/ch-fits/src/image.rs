//! Image data → physical values: big-endian samples of any BITPIX, `BSCALE`/`BZERO` (exact for
//! the unsigned-integer conventions), `BLANK` → NaN on the raw stored value, plane selection.

use serde::Serialize;

use crate::Limits;
use crate::compress;
use crate::error::FitsError;
use crate::geometry::plane_geometry;
use crate::hdu::{Hdu, HduKind};
use crate::header::Header;

/// One 2-D plane of an image, row-major with x (NAXIS1) fastest: `data[y * width + x]`.
///
/// Pixel `(x, y)` here is 0-based; FITS pixel `(x + 1, y + 1)`. Blank or NaN pixels are NaN.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Image<T> {
    /// HDU the plane comes from.
    pub hdu: usize,
    /// `NAXIS1` (0 for a zero-length axis; then `data` is empty).
    pub width: usize,
    /// `NAXIS2` (1 for a 1-D image).
    pub height: usize,
    /// Index of this plane among `planes` (flattened over NAXIS3, NAXIS4, … with NAXIS3 fastest).
    pub plane: usize,
    /// Number of 2-D planes: the product of NAXIS3 and up (1 for a 2-D image).
    pub planes: usize,
    /// Full array shape in numpy order.
    pub shape: Vec<u64>,
    /// `BITPIX` of the stored data (`ZBITPIX` for compressed images).
    pub bitpix: i32,
    /// Physical values.
    #[serde(skip)]
    pub data: Vec<T>,
}

impl<T: Copy> Image<T> {
    /// Value at 0-based `(x, y)`, `None` outside the image.
    pub fn get(&self, x: usize, y: usize) -> Option<T> {
        if x >= self.width || y >= self.height {
            return None;
        }
        self.data.get(y * self.width + x).copied()
    }

    /// True when the plane has no pixels (a zero-length axis).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Output sample type of the decoders: `f64` (exact path) or `f32` (viewer path).
pub trait Sample: Copy + Send + Sync + 'static {
    const NAN: Self;
    /// True for `f32`: lets hot loops work in single precision.
    const IS_F32: bool;
    fn from_f64(v: f64) -> Self;
    fn from_f32(v: f32) -> Self;
    fn to_f64(self) -> f64;
    /// The value rounded to `f32` (exact for `f32`).
    fn to_f32(self) -> f32;
}

impl Sample for f64 {
    const NAN: Self = f64::NAN;
    const IS_F32: bool = false;
    fn from_f64(v: f64) -> Self {
        v
    }
    fn from_f32(v: f32) -> Self {
        f64::from(v)
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn to_f32(self) -> f32 {
        self as f32
    }
}

impl Sample for f32 {
    const NAN: Self = f32::NAN;
    const IS_F32: bool = true;
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn from_f32(v: f32) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn to_f32(self) -> f32 {
        self
    }
}

/// `BSCALE`, `BZERO` and `BLANK` of an image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scaling {
    bscale: f64,
    bzero: f64,
    /// `BZERO` as an exact integer when `BSCALE = 1` and `BZERO` is integral: 64-bit data then
    /// goes through `i128`, so `BZERO = 2^63` gives exact `u64` values.
    int_zero: Option<i128>,
    /// `BLANK`, compared with the raw stored integer (integer BITPIX only).
    blank: Option<i64>,
}

impl Scaling {
    pub(crate) fn from_header(h: &Header, bitpix: i32) -> Scaling {
        let bscale = h.get_f64("BSCALE").unwrap_or(1.0);
        let zero_value = h.value("BZERO");
        let bzero = zero_value.and_then(|v| v.as_f64()).unwrap_or(0.0);
        let int_zero = match zero_value {
            _ if bscale != 1.0 => None,
            Some(crate::header::Value::Int(i)) if i.unsigned_abs() < (1u128 << 100) => Some(*i),
            None => Some(0),
            _ if bzero.fract() == 0.0 && bzero.abs() < 1e30 => Some(bzero as i128),
            _ => None,
        };
        let blank = if bitpix > 0 { h.get_i64("BLANK") } else { None };
        Scaling {
            bscale,
            bzero,
            int_zero,
            blank,
        }
    }

    fn identity(&self) -> bool {
        self.bscale == 1.0 && self.bzero == 0.0
    }

    #[inline]
    fn int(&self, v: i64) -> f64 {
        if self.blank == Some(v) {
            f64::NAN
        } else {
            v as f64 * self.bscale + self.bzero
        }
    }

    #[inline]
    fn int64(&self, v: i64) -> f64 {
        match (self.blank, self.int_zero) {
            (Some(b), _) if b == v => f64::NAN,
            (_, Some(z)) => (i128::from(v) + z) as f64,
            _ => v as f64 * self.bscale + self.bzero,
        }
    }

    #[inline]
    fn float(&self, v: f64) -> f64 {
        v * self.bscale + self.bzero
    }
}

fn map_chunks<const N: usize, T>(raw: &[u8], out: &mut Vec<T>, f: impl Fn([u8; N]) -> T) {
    let (chunks, _) = raw.as_chunks::<N>();
    out.clear();
    out.extend(chunks.iter().map(|c| f(*c)));
}

#[cfg(test)]
fn decode<T: Sample>(raw: &[u8], bitpix: i32, s: &Scaling) -> Vec<T> {
    let mut out = Vec::new();
    decode_into(raw, bitpix, s, &mut out);
    out
}

/// Decode big-endian raw samples of `bitpix` into physical values, reusing `out`'s allocation.
pub(crate) fn decode_into<T: Sample>(raw: &[u8], bitpix: i32, s: &Scaling, out: &mut Vec<T>) {
    let id = s.identity() && s.blank.is_none();
    match bitpix {
        8 if id => map_chunks(raw, out, |[b]: [u8; 1]| T::from_f32(f32::from(b))),
        8 => map_chunks(raw, out, |[b]: [u8; 1]| T::from_f64(s.int(i64::from(b)))),
        16 if id => map_chunks(raw, out, |c| T::from_f32(f32::from(i16::from_be_bytes(c)))),
        16 => map_chunks(raw, out, |c| T::from_f64(s.int(i64::from(i16::from_be_bytes(c))))),
        32 => map_chunks(raw, out, |c| T::from_f64(s.int(i64::from(i32::from_be_bytes(c))))),
        64 => map_chunks(raw, out, |c| T::from_f64(s.int64(i64::from_be_bytes(c)))),
        -32 if id => map_chunks(raw, out, |c| T::from_f32(f32::from_be_bytes(c))),
        -32 => map_chunks(raw, out, |c| T::from_f64(s.float(f64::from(f32::from_be_bytes(c))))),
        -64 if id => map_chunks(raw, out, |c| T::from_f64(f64::from_be_bytes(c))),
        _ => map_chunks(raw, out, |c| T::from_f64(s.float(f64::from_be_bytes(c)))),
    }
}

/// Read plane `plane` of image HDU `hdu` from the (decompressed) file `bytes`.
/// `buffer`'s allocation is reused for the pixels (fresh allocations of large planes cost page
/// faults that dominate decoding).
pub(crate) fn read_plane<T: Sample>(
    bytes: &[u8],
    hdu: &Hdu,
    plane: usize,
    limits: &Limits,
    mut buffer: Vec<T>,
) -> Result<Image<T>, FitsError> {
    buffer.clear();
    let info = hdu.info();
    let index = info.index;
    let axes: Vec<u64> = info.shape.iter().rev().copied().collect();
    match info.kind {
        HduKind::Primary | HduKind::Image | HduKind::CompressedImage => {}
        HduKind::RandomGroups => return Err(FitsError::Unsupported("random-groups data as an image".into())),
        k => {
            return Err(FitsError::NotAnImage {
                hdu: index,
                reason: format!("{k:?} HDU"),
            });
        }
    }
    let geom = plane_geometry(index, &axes)?;
    let mut image = Image {
        hdu: index,
        width: geom.width,
        height: geom.height,
        plane,
        planes: geom.planes,
        shape: info.shape.clone(),
        bitpix: info.bitpix,
        data: buffer,
    };
    if geom.pixels == 0 || geom.planes == 0 {
        // A zero-length axis: the array is empty; only "plane 0" is meaningful.
        return if plane == 0 {
            Ok(image)
        } else {
            Err(FitsError::NoSuchPlane {
                hdu: index,
                plane,
                planes: geom.planes,
            })
        };
    }
    if plane >= geom.planes {
        return Err(FitsError::NoSuchPlane {
            hdu: index,
            plane,
            planes: geom.planes,
        });
    }
    if geom.pixels > limits.max_plane_pixels {
        return Err(FitsError::TooLarge(format!(
            "HDU {index}: plane of {} pixels exceeds the limit of {}",
            geom.pixels, limits.max_plane_pixels
        )));
    }
    let scaling = Scaling::from_header(hdu.header(), info.bitpix);
    let bpp = (info.bitpix.unsigned_abs() / 8) as usize;
    let raw_owned;
    let raw: &[u8] = if info.kind == HduKind::CompressedImage {
        raw_owned = compress::read_plane_raw(bytes, hdu, &axes, plane, &geom, limits)?;
        &raw_owned
    } else {
        let plane_bytes = geom.pixels.saturating_mul(bpp);
        let start = plane
            .checked_mul(plane_bytes)
            .and_then(|o| o.checked_add(info.data_offset))
            .ok_or_else(|| FitsError::TooLarge(format!("HDU {index}: plane offset overflows")))?;
        bytes.get(start..start.saturating_add(plane_bytes)).ok_or_else(|| {
            FitsError::Truncated(format!("HDU {index}: plane {plane} extends past the end of the file"))
        })?
    };
    decode_into(raw, info.bitpix, &scaling, &mut image.data);
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scaling(bscale: f64, bzero: f64, int_zero: Option<i128>, blank: Option<i64>) -> Scaling {
        Scaling {
            bscale,
            bzero,
            int_zero,
            blank,
        }
    }

    #[test]
    fn unsigned_64_is_exact() {
        let s = scaling(1.0, 9.223_372_036_854_776e18, Some(1i128 << 63), None);
        let raw: Vec<u8> = [i64::MIN, -1, 0, i64::MAX]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let out: Vec<f64> = decode(&raw, 64, &s);
        assert_eq!(
            out,
            vec![
                0.0,
                9223372036854775807.0,
                9223372036854775808.0,
                18446744073709551615.0
            ]
        );
    }

    #[test]
    fn blank_is_raw_value() {
        let s = scaling(2.0, 10.0, None, Some(-32768));
        let raw: Vec<u8> = [-32768i16, 5].iter().flat_map(|v| v.to_be_bytes()).collect();
        let out: Vec<f64> = decode(&raw, 16, &s);
        assert!(out[0].is_nan());
        assert_eq!(out[1], 20.0);
    }

    #[test]
    fn float_nan_stays_nan_and_f32_path_matches() {
        let s = scaling(1.0, 0.0, Some(0), None);
        let raw: Vec<u8> = [f32::NAN, 1.5, -2.25].iter().flat_map(|v| v.to_be_bytes()).collect();
        let a: Vec<f64> = decode(&raw, -32, &s);
        let b: Vec<f32> = decode(&raw, -32, &s);
        assert!(a[0].is_nan() && b[0].is_nan());
        assert_eq!((a[1], a[2]), (1.5, -2.25));
        assert_eq!((b[1], b[2]), (1.5, -2.25));
    }
}
