//! Walking the HDUs of a file: primary, IMAGE / BINTABLE / TABLE extensions, tile-compressed
//! images (BINTABLE with `ZIMAGE = T`) and random groups.

use serde::Serialize;

use crate::error::FitsError;
use crate::header::{BLOCK_LEN, CARD_LEN, Card, Header, Value, is_end_card, parse_header};

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
    /// What the reader tolerated in this HDU's header ([`Header::warnings`]).
    pub warnings: Vec<String>,
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

/// Walk every HDU of an uncompressed FITS byte stream (the whole file is in memory, so each
/// header is handed to [`HeaderWalk`] in one piece, without copying).
pub(crate) fn walk(bytes: &[u8]) -> Result<Vec<Hdu>, FitsError> {
    let mut walk = HeaderWalk::new(bytes.len() as u64);
    while let Some((offset, _)) = walk.next_read() {
        // `next_read` never asks past the end of the file it was given.
        let rest = usize::try_from(offset)
            .ok()
            .and_then(|o| bytes.get(o..))
            .unwrap_or_default();
        walk.feed(rest)?;
    }
    walk.finish()
}

/// Where a [`HeaderWalk`] stands.
#[derive(Debug, Clone)]
enum WalkState {
    /// Reading the header that starts at `offset`.
    Reading {
        offset: u64,
    },
    Done,
    Failed(FitsError),
}

/// The HDU walk of [`crate::Fits::parse`] as a state machine that does no I/O: it asks for the
/// header blocks it needs ([`HeaderWalk::next_read`]), the caller reads them from wherever the
/// file lives ([`HeaderWalk::feed`]), and the data units are skipped by the sizes the headers
/// declare. [`HeaderWalk::finish`] returns exactly the HDUs `Fits::parse` lists for the same
/// (uncompressed) file; gzip-compressed files must be inflated first.
///
/// ```
/// # fn demo(file: &[u8]) -> Result<(), ch_fits::FitsError> {
/// let mut walk = ch_fits::HeaderWalk::new(file.len() as u64);
/// while let Some((offset, len)) = walk.next_read() {
///     let start = offset as usize; // a real caller seeks and reads `len` bytes
///     walk.feed(&file[start..start + len])?;
/// }
/// let hdus = walk.finish()?;
/// # let _ = hdus; Ok(()) }
/// ```
///
/// Memory stays bounded by the bytes fed (headers only): a lying `NAXISn` makes the declared
/// data run past the end of the file (the HDU is marked `truncated` and the walk ends) or
/// overflow (an error), never an allocation.
#[derive(Debug, Clone)]
pub struct HeaderWalk {
    file_len: u64,
    state: WalkState,
    /// Blocks of the current header received so far, when it spans several `feed` calls.
    pending: Vec<u8>,
    hdus: Vec<Hdu>,
}

impl HeaderWalk {
    /// A walk over a file of `file_len` bytes.
    pub fn new(file_len: u64) -> HeaderWalk {
        let state = if file_len == 0 {
            WalkState::Failed(FitsError::NotFits("empty input".into()))
        } else {
            WalkState::Reading { offset: 0 }
        };
        HeaderWalk {
            file_len,
            state,
            pending: Vec::new(),
            hdus: Vec::new(),
        }
    }

    /// The bytes needed next, as `(offset, len)`: one header block (shorter at the end of the
    /// file). `None` when the walk is over (call [`HeaderWalk::finish`]).
    pub fn next_read(&self) -> Option<(u64, usize)> {
        let WalkState::Reading { offset } = self.state else {
            return None;
        };
        let at = offset.saturating_add(self.pending.len() as u64);
        let len = self.file_len.saturating_sub(at).min(BLOCK_LEN as u64) as usize;
        Some((at, len))
    }

    /// Give the bytes asked for by the last [`HeaderWalk::next_read`]: they must start at its
    /// offset and hold at least its length; more is allowed (e.g. the rest of the file), and
    /// what the header does not need is ignored. A short read is a [`FitsError::Truncated`].
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), FitsError> {
        let Some((at, want)) = self.next_read() else {
            return match &self.state {
                WalkState::Failed(e) => Err(e.clone()),
                _ => Err(FitsError::InvalidArgument("the header walk is already over".into())),
            };
        };
        if bytes.len() < want {
            return self.fail(FitsError::Truncated(format!(
                "read {} bytes at offset {at}, {want} needed",
                bytes.len()
            )));
        }
        let result = self.take(at, bytes);
        if let Err(e) = &result {
            self.state = WalkState::Failed(e.clone());
            self.pending = Vec::new();
        }
        result
    }

    /// The HDUs, once [`HeaderWalk::next_read`] returns `None`.
    pub fn finish(self) -> Result<Vec<Hdu>, FitsError> {
        match self.state {
            WalkState::Done => Ok(self.hdus),
            WalkState::Failed(e) => Err(e),
            WalkState::Reading { .. } => Err(FitsError::InvalidArgument(
                "the header walk is not finished: next_read still asks for bytes".into(),
            )),
        }
    }

    fn fail(&mut self, e: FitsError) -> Result<(), FitsError> {
        self.state = WalkState::Failed(e.clone());
        self.pending = Vec::new();
        Err(e)
    }

    /// Consume `bytes`, which start at file offset `at` inside the current header.
    fn take(&mut self, at: u64, bytes: &[u8]) -> Result<(), FitsError> {
        let WalkState::Reading { offset } = self.state else {
            return Ok(());
        };
        // Never look past the end of the file, whatever the caller passed.
        let left = usize::try_from(self.file_len - at).unwrap_or(usize::MAX);
        let bytes = bytes.get(..left).unwrap_or(bytes);
        if self.pending.is_empty() {
            let index = self.hdus.len();
            if index == 0 {
                if !bytes.starts_with(b"SIMPLE  =") {
                    return Err(FitsError::NotFits("the first card is not SIMPLE".into()));
                }
            } else if !bytes.starts_with(b"XTENSION=") {
                // Trailing bytes after the last HDU (astropy warns and ignores them too).
                self.state = WalkState::Done;
                return Ok(());
            }
        }
        let at_eof = bytes.len() == left;
        match end_card_block(bytes) {
            Some(blocks) if self.pending.is_empty() => self.complete(offset, bytes.get(..blocks).unwrap_or(bytes)),
            Some(blocks) => {
                let mut header = std::mem::take(&mut self.pending);
                header.extend_from_slice(bytes.get(..blocks).unwrap_or(bytes));
                self.complete(offset, &header)
            }
            None if at_eof => {
                // No END before the end of the file: the parser names the problem.
                let mut header = std::mem::take(&mut self.pending);
                header.extend_from_slice(bytes);
                self.complete(offset, &header)
            }
            None => {
                // Keep whole blocks only, so the next read starts on a block boundary.
                let whole = bytes.len() / BLOCK_LEN * BLOCK_LEN;
                self.pending.extend_from_slice(bytes.get(..whole).unwrap_or(bytes));
                Ok(())
            }
        }
    }

    /// Parse the complete header starting at file offset `offset` and step over its data unit.
    fn complete(&mut self, offset: u64, header_bytes: &[u8]) -> Result<(), FitsError> {
        let too_large = || FitsError::TooLarge("header offset overflows".into());
        let (header, header_len) = parse_header(header_bytes)?;
        let header_offset = usize::try_from(offset).map_err(|_| too_large())?;
        let data_offset = header_offset.checked_add(header_len).ok_or_else(too_large)?;
        let mut hdu = describe(self.hdus.len(), header, header_offset, data_offset)?;
        let end = data_offset.checked_add(hdu.info.data_len);
        let truncated = end.is_none_or(|e| e as u64 > self.file_len);
        let padded = hdu.info.data_len.div_ceil(BLOCK_LEN).checked_mul(BLOCK_LEN);
        let next = padded.and_then(|p| data_offset.checked_add(p));
        hdu.info.truncated = truncated;
        self.hdus.push(hdu);
        self.state = match next {
            Some(n) if !truncated && (n as u64) < self.file_len => WalkState::Reading { offset: n as u64 },
            _ => WalkState::Done,
        };
        Ok(())
    }
}

/// Length of `bytes` up to the end of the block holding the first `END` card, if any.
fn end_card_block(bytes: &[u8]) -> Option<usize> {
    let (cards, _) = bytes.as_chunks::<CARD_LEN>();
    let card = cards.iter().position(|c| is_end_card(c))?;
    Some(((card + 1) * CARD_LEN).div_ceil(BLOCK_LEN) * BLOCK_LEN)
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
        warnings: header.warnings().to_vec(),
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
