//! Tile-compressed images (the FITS "tiled image convention"): RICE_1, GZIP_1, GZIP_2, PLIO_1
//! and NOCOMPRESS; quantised floats with `NO_DITHER`, `SUBTRACTIVE_DITHER_1/2`. HCOMPRESS_1 is
//! reported as unsupported.
//!
//! Decoding mirrors astropy (`_tiled_compression.py`): the element type of a GZIP tile follows
//! from its inflated size, `ZBLANK` (column, keyword, or the image's `BLANK`) is compared with the
//! raw quantised integers, and only tiles that intersect the requested plane are decoded.

mod plio;
mod quantize;
mod rice;
pub(crate) mod table;

use crate::Limits;
use crate::error::FitsError;
use crate::geometry::PlaneGeometry;
use crate::hdu::{Hdu, int_in};
use crate::header::Header;
use crate::inflate::inflate;
use quantize::Dither;
use table::{Column, Table};

/// Decompressed data may be at most this many pixels per byte of stored data unit.
const MAX_EXPANSION: u64 = 4096;

/// Decoded tile samples before conversion to the image's BITPIX.
enum Tile {
    Ints(Vec<i64>),
    Floats(Vec<f64>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Rice,
    Gzip1,
    Gzip2,
    Plio,
    None,
}

struct Settings<'h> {
    hdu: usize,
    algorithm: Algorithm,
    zbitpix: i32,
    blocksize: usize,
    bytepix: usize,
    dither: Dither,
    zdither0: i64,
    header: &'h Header,
}

fn setting(h: &Header, name: &str) -> Option<i64> {
    (1..=999)
        .map_while(|i| h.get_str(&format!("ZNAME{i}")).map(|n| (i, n)))
        .find_map(|(i, n)| {
            if n.trim().eq_ignore_ascii_case(name) {
                h.get_i64(&format!("ZVAL{i}"))
            } else {
                None
            }
        })
}

fn find<'c>(cols: &'c [Column], name: &str) -> Option<&'c Column> {
    cols.iter().find(|c| c.name == name)
}

/// Decode plane `plane` of compressed HDU `hdu` into big-endian raw samples of `ZBITPIX`,
/// ready for the ordinary BSCALE/BZERO/BLANK step.
pub(crate) fn read_plane_raw(
    bytes: &[u8],
    hdu: &Hdu,
    axes: &[u64],
    plane: usize,
    geom: &PlaneGeometry,
    limits: &Limits,
) -> Result<Vec<u8>, FitsError> {
    let info = hdu.info();
    let index = info.index;
    let h = hdu.stored_header();
    let name = h.get_str("ZCMPTYPE").map(str::trim).unwrap_or("");
    let algorithm = match name {
        "RICE_1" | "RICE_ONE" => Algorithm::Rice,
        "GZIP_1" => Algorithm::Gzip1,
        "GZIP_2" => Algorithm::Gzip2,
        "PLIO_1" => Algorithm::Plio,
        "NOCOMPRESS" => Algorithm::None,
        "" => {
            return Err(FitsError::MissingKeyword {
                hdu: index,
                keyword: "ZCMPTYPE".into(),
            });
        }
        other => return Err(FitsError::UnsupportedCompression(other.to_string())),
    };
    let dither = match h.get_str("ZQUANTIZ").map(str::trim) {
        None | Some("NO_DITHER") | Some("NONE") => Dither::None,
        Some("SUBTRACTIVE_DITHER_1") => Dither::Subtractive1,
        Some("SUBTRACTIVE_DITHER_2") => Dither::Subtractive2,
        Some(other) => return Err(FitsError::Unsupported(format!("ZQUANTIZ = {other}"))),
    };
    let settings = Settings {
        hdu: index,
        algorithm,
        zbitpix: info.bitpix,
        blocksize: usize::try_from(setting(h, "BLOCKSIZE").unwrap_or(32)).unwrap_or(0),
        bytepix: usize::try_from(setting(h, "BYTEPIX").unwrap_or(4)).unwrap_or(0),
        dither,
        zdither0: h.get_i64("ZDITHER0").unwrap_or(0),
        header: h,
    };

    // The shape as at least 2-D, FITS order, with tile sizes (default: one row per tile).
    let mut dims: Vec<usize> = axes.iter().map(|&n| usize::try_from(n).unwrap_or(usize::MAX)).collect();
    while dims.len() < 2 {
        dims.push(1);
    }
    let mut tiles = Vec::with_capacity(dims.len());
    for (i, &n) in dims.iter().enumerate() {
        let default = if i == 0 { n as i64 } else { 1 };
        let t = match h.get(&format!("ZTILE{}", i + 1)) {
            Some(_) => int_in(h, index, &format!("ZTILE{}", i + 1), 1, i64::from(i32::MAX))?,
            None => default.max(1),
        };
        tiles.push(usize::try_from(t).unwrap_or(1).max(1));
    }
    let ntiles: Vec<usize> = dims.iter().zip(&tiles).map(|(&n, &t)| n.div_ceil(t)).collect();

    let data_unit = bytes
        .get(info.data_offset..info.data_offset.saturating_add(info.data_len).min(bytes.len()))
        .unwrap_or(&[]);
    let present = u64::try_from(data_unit.len()).unwrap_or(u64::MAX);
    let cap = present.saturating_add(2880).saturating_mul(MAX_EXPANSION);
    if geom.pixels as u64 > cap {
        return Err(FitsError::TooLarge(format!(
            "HDU {index}: {} pixels declared but only {present} bytes of compressed data",
            geom.pixels
        )));
    }
    let table = Table::new(data_unit, h)?;
    let cols = table::columns(h)?;
    let total_tiles = ntiles.iter().try_fold(1usize, |a, &n| a.checked_mul(n));
    if total_tiles.is_none_or(|t| t > table.rows()) {
        return Err(FitsError::Decompress(format!(
            "HDU {index}: the table has {} rows, fewer than the tiles the image needs",
            table.rows()
        )));
    }

    // Coordinates of the plane along axes 3, 4, … (FITS order).
    let mut coord = vec![0usize; dims.len()];
    let mut rest = plane;
    for (c, &n) in coord.iter_mut().zip(&dims).skip(2) {
        *c = rest % n.max(1);
        rest /= n.max(1);
    }

    let bpp = (info.bitpix.unsigned_abs() / 8) as usize;
    let out_len = geom
        .pixels
        .checked_mul(bpp)
        .ok_or_else(|| FitsError::TooLarge(format!("HDU {index}: plane")))?;
    let mut out = vec![0u8; out_len];
    for ty in 0..ntiles[1] {
        for tx in 0..ntiles[0] {
            // Row of the tile: tile indices in FITS order, axis 1 fastest.
            let mut row = 0usize;
            let mut base_in_tile = 0usize;
            let mut stride = 1usize;
            let mut tile_dims = Vec::with_capacity(dims.len());
            for (i, (&n, &t)) in dims.iter().zip(&tiles).enumerate() {
                let ti = match i {
                    0 => tx,
                    1 => ty,
                    _ => coord[i] / t,
                };
                let start = ti * t;
                let d = t.min(n - start);
                tile_dims.push(d);
                if i >= 2 {
                    base_in_tile += (coord[i] - start) * stride;
                }
                stride = stride.saturating_mul(d);
            }
            for i in (0..dims.len()).rev() {
                let ti = match i {
                    0 => tx,
                    1 => ty,
                    _ => coord[i] / tiles[i],
                };
                row = row * ntiles[i] + ti;
            }
            let npix = stride;
            if npix as u64 > cap || npix > limits.max_plane_pixels.saturating_mul(64) {
                return Err(FitsError::TooLarge(format!("HDU {index}: tile of {npix} pixels")));
            }
            let (d0, d1) = (tile_dims[0], tile_dims[1]);
            let tile = decode_tile(&settings, &table, &cols, row, npix)?;
            let base = base_in_tile * d0 * d1;
            let (x0, y0) = (tx * tiles[0], ty * tiles[1]);
            for j1 in 0..d1 {
                let src = base + j1 * d0;
                let dst = ((y0 + j1) * geom.width + x0) * bpp;
                let Some(slot) = out.get_mut(dst..dst + d0 * bpp) else {
                    return Err(FitsError::Decompress(format!("HDU {index}: tile outside the image")));
                };
                write_samples(&tile, src, d0, info.bitpix, slot)?;
            }
        }
    }
    Ok(out)
}

/// Encode `count` samples of `tile` from `src` as big-endian `bitpix` into `slot`.
fn write_samples(tile: &Tile, src: usize, count: usize, bitpix: i32, slot: &mut [u8]) -> Result<(), FitsError> {
    let short = || FitsError::Decompress("tile decodes to fewer pixels than it holds".into());
    let bpp = (bitpix.unsigned_abs() / 8) as usize;
    let dst = slot.chunks_exact_mut(bpp);
    match tile {
        Tile::Ints(v) => {
            let v = v.get(src..src + count).ok_or_else(short)?;
            for (d, &x) in dst.zip(v) {
                match bitpix {
                    8 => d.copy_from_slice(&[x as u8]),
                    16 => d.copy_from_slice(&(x as i16).to_be_bytes()),
                    32 => d.copy_from_slice(&(x as i32).to_be_bytes()),
                    64 => d.copy_from_slice(&x.to_be_bytes()),
                    -32 => d.copy_from_slice(&(x as f32).to_be_bytes()),
                    _ => d.copy_from_slice(&(x as f64).to_be_bytes()),
                }
            }
        }
        Tile::Floats(v) => {
            let v = v.get(src..src + count).ok_or_else(short)?;
            for (d, &x) in dst.zip(v) {
                match bitpix {
                    8 => d.copy_from_slice(&[x as u8]),
                    16 => d.copy_from_slice(&(x as i16).to_be_bytes()),
                    32 => d.copy_from_slice(&(x as i32).to_be_bytes()),
                    64 => d.copy_from_slice(&(x as i64).to_be_bytes()),
                    -32 => d.copy_from_slice(&(x as f32).to_be_bytes()),
                    _ => d.copy_from_slice(&x.to_be_bytes()),
                }
            }
        }
    }
    Ok(())
}

/// Interpret an inflated GZIP / NOCOMPRESS tile: the element size follows from the byte count.
fn interpret(bytes: &[u8], npix: usize, float: bool) -> Result<Tile, FitsError> {
    let len = bytes.len();
    let is = |k: usize| npix > 0 && npix.checked_mul(k) == Some(len);
    Ok(if is(2) {
        Tile::Ints(
            bytes
                .as_chunks::<2>()
                .0
                .iter()
                .map(|c| i64::from(i16::from_be_bytes(*c)))
                .collect(),
        )
    } else if is(4) {
        let words = bytes.as_chunks::<4>().0.iter().copied();
        if float {
            Tile::Floats(words.map(|w| f64::from(f32::from_be_bytes(w))).collect())
        } else {
            Tile::Ints(words.map(|w| i64::from(i32::from_be_bytes(w))).collect())
        }
    } else if is(8) {
        let words = bytes.as_chunks::<8>().0.iter().copied();
        if float {
            Tile::Floats(words.map(f64::from_be_bytes).collect())
        } else {
            Tile::Ints(words.map(i64::from_be_bytes).collect())
        }
    } else if len == npix {
        Tile::Ints(bytes.iter().map(|&b| i64::from(b)).collect())
    } else {
        return Err(FitsError::Decompress(format!(
            "tile of {npix} pixels inflates to {len} bytes"
        )));
    })
}

/// Values of a heap array of element type `code` (the UNCOMPRESSED_DATA column).
fn heap_values(bytes: &[u8], code: u8, npix: usize) -> Result<Tile, FitsError> {
    match code {
        b'E' | b'D' => interpret(bytes, npix, true),
        b'B' | b'I' | b'J' | b'K' => interpret(bytes, npix, false),
        _ => Err(FitsError::Decompress("unsupported UNCOMPRESSED_DATA type".into())),
    }
}

fn decode_tile(s: &Settings, table: &Table, cols: &[Column], row: usize, npix: usize) -> Result<Tile, FitsError> {
    let float_image = s.zbitpix < 0;
    let compressed = find(cols, "COMPRESSED_DATA")
        .ok_or_else(|| FitsError::Decompress(format!("HDU {}: no COMPRESSED_DATA column", s.hdu)))?;
    let (cdata, code) = table.heap_array(row, compressed)?;
    let inflate_cap = npix.saturating_mul(8);
    if cdata.is_empty() {
        // Floats that did not quantise well are stored losslessly in another column.
        if let Some(col) = find(cols, "GZIP_COMPRESSED_DATA") {
            let (g, _) = table.heap_array(row, col)?;
            return interpret(&inflate(g, inflate_cap, "GZIP_COMPRESSED_DATA tile")?, npix, true);
        }
        if let Some(col) = find(cols, "UNCOMPRESSED_DATA") {
            let (u, ucode) = table.heap_array(row, col)?;
            return heap_values(u, ucode, npix);
        }
        return Err(FitsError::Decompress(format!("HDU {}: tile {row} is empty", s.hdu)));
    }
    let zscale_col = find(cols, "ZSCALE");
    let quantized = zscale_col.is_some() || (float_image && s.header.contains("ZSCALE"));
    let lossless = float_image && !quantized;
    let tile = match s.algorithm {
        Algorithm::Rice => Tile::Ints(rice::decode(cdata, npix, s.blocksize, s.bytepix)?),
        Algorithm::Gzip1 => interpret(&inflate(cdata, inflate_cap, "GZIP_1 tile")?, npix, lossless)?,
        Algorithm::Gzip2 => {
            let shuffled = inflate(cdata, inflate_cap, "GZIP_2 tile")?;
            let item = shuffled.len().checked_div(npix).unwrap_or(1).max(1);
            let n = shuffled.len() / item;
            let mut plain = vec![0u8; n * item];
            for (i, v) in plain.chunks_exact_mut(item).enumerate() {
                for (k, b) in v.iter_mut().enumerate() {
                    *b = shuffled.get(k * n + i).copied().unwrap_or(0);
                }
            }
            interpret(&plain, npix, lossless)?
        }
        Algorithm::Plio => {
            let words: Vec<i16> = match code {
                b'I' => cdata
                    .as_chunks::<2>()
                    .0
                    .iter()
                    .map(|c| i16::from_be_bytes(*c))
                    .collect(),
                _ => cdata.iter().map(|&b| i16::from(b)).collect(),
            };
            Tile::Ints(plio::decode(&words, npix))
        }
        Algorithm::None => interpret(cdata, npix, lossless)?,
    };
    let Tile::Ints(raw) = tile else { return Ok(tile) };

    let number = |name: &str| -> Result<Option<(f64, Option<i64>)>, FitsError> {
        match find(cols, name) {
            Some(col) => table.number(row, col).map(Some),
            None => Ok(None),
        }
    };
    let zblank_header = s.header.get_i64("ZBLANK").or_else(|| s.header.get_i64("BLANK"));
    let zblank = match number("ZBLANK")? {
        Some((_, i)) => i,
        None => zblank_header,
    };
    if !quantized {
        let raw = match (zblank, zblank_header) {
            (Some(z), Some(b)) if !float_image && z != b => {
                raw.into_iter().map(|v| if v == z { b } else { v }).collect()
            }
            _ => raw,
        };
        if float_image && zblank.is_some() {
            return Ok(Tile::Floats(
                raw.iter()
                    .map(|&v| if Some(v) == zblank { f64::NAN } else { v as f64 })
                    .collect(),
            ));
        }
        return Ok(Tile::Ints(raw));
    }
    let scale = match number("ZSCALE")? {
        Some((v, _)) => v,
        None => s.header.get_f64("ZSCALE").unwrap_or(1.0),
    };
    let zero = match number("ZZERO")? {
        Some((v, _)) => v,
        None => s.header.get_f64("ZZERO").unwrap_or(0.0),
    };
    let mut values = quantize::unquantize(&raw, scale, zero, s.dither, row, s.zdither0, s.zbitpix == -32);
    if let Some(z) = zblank {
        for (v, &q) in values.iter_mut().zip(&raw) {
            if q == z {
                *v = f64::NAN;
            }
        }
    }
    Ok(Tile::Floats(values))
}
