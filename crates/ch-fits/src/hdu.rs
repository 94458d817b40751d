//! Walking the HDUs of a file: primary, IMAGE / BINTABLE / TABLE extensions, tile-compressed
//! images (BINTABLE with `ZIMAGE = T`) and random groups.

use serde::Serialize;

use crate::error::FitsError;
use crate::header::{BLOCK_LEN, Card, Header, Value, parse_header};

/// What an HDU holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HduKind {
    /// The primary HDU (an image or nothing).
    Primary,
    /// An `IMAGE` extension.
    Image,
    /// A `BINTABLE` extension that is not a compressed image.
    BinTable,
    /// An ASCII `TABLE` extension.
    Table,
    /// A tile-compressed image stored in a `BINTABLE` (`ZIMAGE = T`).
    CompressedImage,
    /// A primary HDU in the random-groups format (`GROUPS = T`, `NAXIS1 = 0`).
    RandomGroups,
    /// Any other `XTENSION`.
    Other,
}

/// Summary of one HDU, serialisable for a CLI or HTTP answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HduInfo {
    /// 0-based position in the file.
    pub index: usize,
    pub kind: HduKind,
    /// `BITPIX` of the image (`ZBITPIX` for compressed images).
    pub bitpix: i32,
    /// Array shape in numpy order: `NAXISn … NAXIS1` (`ZNAXISn …` for compressed images; for
    /// tables `[rows, row_bytes]`).
    pub shape: Vec<u64>,
    /// `EXTNAME`, trimmed, when present.
    pub extname: Option<String>,
    /// `EXTVER`, when present.
    pub extver: Option<i64>,
    /// `ZCMPTYPE` of a compressed image.
    pub compression: Option<String>,
    /// Byte offset of the header in the (decompressed) file.
    pub header_offset: usize,
    /// Byte offset of the data unit.
    pub data_offset: usize,
    /// Length of the data unit as the header declares it (without padding).
    pub data_len: usize,
    /// True when the file ends before the declared data does.
    pub truncated: bool,
}

/// One HDU: its summary and header(s).
#[derive(Debug, Clone, PartialEq)]
pub struct Hdu {
    info: HduInfo,
    header: Header,
    stored_header: Option<Header>,
}

impl Hdu {
    /// The summary.
    pub fn info(&self) -> &HduInfo {
        &self.info
    }

    /// The image header. For a compressed image this is the reconstructed image header
    /// (`ZBITPIX` → `BITPIX`, `ZNAXISn` → `NAXISn`, table keywords removed), as astropy shows it.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The header as stored in the file (the binary-table header for a compressed image).
    pub fn stored_header(&self) -> &Header {
        self.stored_header.as_ref().unwrap_or(&self.header)
    }

    pub fn index(&self) -> usize {
        self.info.index
    }

    pub fn kind(&self) -> HduKind {
        self.info.kind
    }

    pub fn bitpix(&self) -> i32 {
        self.info.bitpix
    }

    /// Shape in numpy order.
    pub fn shape(&self) -> &[u64] {
        &self.info.shape
    }

    pub fn extname(&self) -> Option<&str> {
        self.info.extname.as_deref()
    }
}

fn missing(hdu: usize, keyword: &str) -> FitsError {
    FitsError::MissingKeyword {
        hdu,
        keyword: keyword.to_string(),
    }
}

fn invalid(hdu: usize, keyword: &str, reason: impl Into<String>) -> FitsError {
    FitsError::InvalidKeyword {
        hdu,
        keyword: keyword.to_string(),
        reason: reason.into(),
    }
}

/// Read a required integer keyword within `[min, max]`.
pub(crate) fn int_in(h: &Header, hdu: usize, key: &str, min: i64, max: i64) -> Result<i64, FitsError> {
    let v = h.value(key).ok_or_else(|| missing(hdu, key))?;
    let i = v.as_i64().ok_or_else(|| invalid(hdu, key, "not an integer"))?;
    if i < min || i > max {
        return Err(invalid(hdu, key, format!("{i} outside {min}..={max}")));
    }
    Ok(i)
}

/// Validate a BITPIX value.
pub(crate) fn bitpix_of(h: &Header, hdu: usize, key: &str) -> Result<i32, FitsError> {
    let b = int_in(h, hdu, key, -64, 64)?;
    match b {
        8 | 16 | 32 | 64 | -32 | -64 => Ok(b as i32),
        _ => Err(invalid(hdu, key, format!("{b} is not one of 8, 16, 32, 64, -32, -64"))),
    }
}

/// Axis lengths in FITS order (`NAXIS1` first) for `prefix` = "NAXIS" or "ZNAXIS".
pub(crate) fn axes_of(h: &Header, hdu: usize, prefix: &str) -> Result<Vec<u64>, FitsError> {
    let n = int_in(h, hdu, prefix, 0, 999)?;
    (1..=n)
        .map(|i| int_in(h, hdu, &format!("{prefix}{i}"), 0, i64::MAX).map(|v| v as u64))
        .collect()
}

/// `(ZBITPIX, ZNAXISn in FITS order)` of a compressed image.
pub(crate) fn compressed_geometry(h: &Header, hdu: usize) -> Result<(i32, Vec<u64>), FitsError> {
    Ok((bitpix_of(h, hdu, "ZBITPIX")?, axes_of(h, hdu, "ZNAXIS")?))
}

fn trimmed_str(h: &Header, key: &str) -> Option<String> {
    h.get_str(key).map(|s| s.trim().to_string())
}

/// Walk every HDU of an uncompressed FITS byte stream.
pub(crate) fn walk(bytes: &[u8]) -> Result<Vec<Hdu>, FitsError> {
    let mut hdus = Vec::new();
    let mut offset = 0usize;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        let index = hdus.len();
        if index == 0 {
            if !rest.starts_with(b"SIMPLE  =") {
                return Err(FitsError::NotFits("the first card is not SIMPLE".into()));
            }
        } else if !rest.starts_with(b"XTENSION=") {
            // Trailing bytes after the last HDU (astropy warns and ignores them too).
            break;
        }
        let (header, header_len) = parse_header(rest)?;
        let data_offset = offset
            .checked_add(header_len)
            .ok_or_else(|| FitsError::TooLarge("header offset overflows".into()))?;
        let hdu = describe(index, header, offset, data_offset)?;
        let end = data_offset.checked_add(hdu.info.data_len);
        let truncated = end.is_none_or(|e| e > bytes.len());
        let padded = hdu.info.data_len.div_ceil(BLOCK_LEN).checked_mul(BLOCK_LEN);
        let next = padded.and_then(|p| data_offset.checked_add(p));
        let mut hdu = hdu;
        hdu.info.truncated = truncated;
        hdus.push(hdu);
        match next {
            Some(n) if !truncated => offset = n,
            _ => break,
        }
    }
    Ok(hdus)
}

fn describe(index: usize, header: Header, header_offset: usize, data_offset: usize) -> Result<Hdu, FitsError> {
    let bitpix = bitpix_of(&header, index, "BITPIX")?;
    let axes = axes_of(&header, index, "NAXIS")?;
    let groups = index == 0 && header.get_bool("GROUPS") == Some(true) && axes.first() == Some(&0);
    let kind = if index == 0 {
        if groups {
            HduKind::RandomGroups
        } else {
            HduKind::Primary
        }
    } else {
        match header.get_str("XTENSION").map(str::trim) {
            Some("IMAGE") => HduKind::Image,
            Some("BINTABLE") | Some("A3DTABLE") if header.get_bool("ZIMAGE") == Some(true) => HduKind::CompressedImage,
            Some("BINTABLE") | Some("A3DTABLE") => HduKind::BinTable,
            Some("TABLE") => HduKind::Table,
            _ => HduKind::Other,
        }
    };
    let (pcount, gcount) = if index == 0 && !groups {
        (0, 1)
    } else {
        let p = header.get_i64("PCOUNT").unwrap_or(0);
        let g = header.get_i64("GCOUNT").unwrap_or(1);
        if p < 0 || g < 0 {
            return Err(invalid(index, "PCOUNT/GCOUNT", "negative"));
        }
        (p as u64, g as u64)
    };
    let counted = if groups {
        axes.get(1..).unwrap_or(&[])
    } else {
        &axes[..]
    };
    let elements = if axes.is_empty() {
        Some(0u64)
    } else {
        counted.iter().try_fold(1u64, |acc, &n| acc.checked_mul(n))
    };
    let bytes_per = u64::from(bitpix.unsigned_abs() / 8);
    let data_len = if axes.is_empty() {
        Some(0)
    } else {
        elements
            .and_then(|e| e.checked_add(pcount))
            .and_then(|e| e.checked_mul(gcount))
            .and_then(|e| e.checked_mul(bytes_per))
    };
    let data_len = data_len
        .and_then(|d| usize::try_from(d).ok())
        .ok_or_else(|| FitsError::TooLarge(format!("HDU {index}: declared data size overflows")))?;

    let mut info = HduInfo {
        index,
        kind,
        bitpix,
        shape: axes.iter().rev().copied().collect(),
        extname: trimmed_str(&header, "EXTNAME"),
        extver: header.get_i64("EXTVER"),
        compression: None,
        header_offset,
        data_offset,
        data_len,
        truncated: false,
    };
    if kind != HduKind::CompressedImage {
        return Ok(Hdu {
            info,
            header,
            stored_header: None,
        });
    }
    info.compression = trimmed_str(&header, "ZCMPTYPE");
    // astropy treats this EXTNAME as the writer's default and hides it; do the same.
    if info.extname.as_deref() == Some("COMPRESSED_IMAGE") {
        info.extname = None;
    }
    // A broken compressed header still lists (as its table geometry); decoding reports the error.
    if let Ok((zbitpix, zaxes)) = compressed_geometry(&header, index) {
        info.bitpix = zbitpix;
        info.shape = zaxes.iter().rev().copied().collect();
    }
    let image_header = image_header_of(&header);
    Ok(Hdu {
        info,
        header: image_header,
        stored_header: Some(header),
    })
}

/// Keywords of the compressed-table machinery that the image header does not show.
fn is_table_keyword(k: &str) -> bool {
    const EXACT: &[&str] = &[
        "XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "TFIELDS", "THEAP", "ZIMAGE", "ZCMPTYPE", "ZQUANTIZ",
        "ZDITHER0", "ZMASKCMP", "ZSIMPLE", "ZTENSION", "ZBITPIX", "ZNAXIS", "ZPCOUNT", "ZGCOUNT", "ZEXTEND",
        "ZBLOCKED", "ZHECKSUM", "ZDATASUM", "CHECKSUM", "DATASUM",
    ];
    const INDEXED: &[&str] = &[
        "NAXIS", "TTYPE", "TFORM", "TUNIT", "TDIM", "TNULL", "TSCAL", "TZERO", "TDISP", "ZNAXIS", "ZTILE", "ZNAME",
        "ZVAL",
    ];
    EXACT.contains(&k)
        || INDEXED.iter().any(|p| {
            k.strip_prefix(p)
                .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
        })
}

fn card(keyword: &str, value: Value) -> Card {
    let raw_value = match &value {
        Value::Str(s) => format!("'{}'", s.replace('\'', "''")),
        Value::Logical(b) => if *b { "T" } else { "F" }.to_string(),
        Value::Int(i) => i.to_string(),
        _ => String::new(),
    };
    Card {
        keyword: keyword.to_string(),
        raw_value,
        value,
        comment: String::new(),
    }
}

/// Rebuild the image header of a compressed HDU the way astropy's `CompImageHDU.header` does.
fn image_header_of(stored: &Header) -> Header {
    let mut cards = Vec::with_capacity(stored.len());
    if stored.get_bool("ZSIMPLE") == Some(true) {
        cards.push(card("SIMPLE", Value::Logical(true)));
    } else {
        let ext = stored.get_str("ZTENSION").unwrap_or("IMAGE").to_string();
        cards.push(card("XTENSION", Value::Str(ext)));
    }
    let copy = |from: &str, to: &str, cards: &mut Vec<Card>| {
        if let Some(c) = stored.get(from) {
            cards.push(Card {
                keyword: to.to_string(),
                ..c.clone()
            });
        }
    };
    copy("ZBITPIX", "BITPIX", &mut cards);
    copy("ZNAXIS", "NAXIS", &mut cards);
    let n = stored.get_i64("ZNAXIS").unwrap_or(0).clamp(0, 999);
    for i in 1..=n {
        copy(&format!("ZNAXIS{i}"), &format!("NAXIS{i}"), &mut cards);
    }
    if stored.get_bool("ZSIMPLE") == Some(true) {
        copy("ZEXTEND", "EXTEND", &mut cards);
    } else {
        cards.push(card(
            "PCOUNT",
            Value::Int(stored.get_i64("ZPCOUNT").unwrap_or(0).into()),
        ));
        cards.push(card(
            "GCOUNT",
            Value::Int(stored.get_i64("ZGCOUNT").unwrap_or(1).into()),
        ));
    }
    copy("ZHECKSUM", "CHECKSUM", &mut cards);
    copy("ZDATASUM", "DATASUM", &mut cards);
    let default_extname = |c: &Card| c.keyword == "EXTNAME" && c.value == Value::Str("COMPRESSED_IMAGE".into());
    cards.extend(
        stored
            .card_list()
            .iter()
            .filter(|c| !is_table_keyword(&c.keyword) && !default_extname(c))
            .cloned(),
    );
    Header::from_cards(cards)
}
