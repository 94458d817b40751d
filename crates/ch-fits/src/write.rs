//! Writing a single-HDU FITS image (BITPIX −32) with a header derived from an existing one:
//! what cutouts need. The structural keywords are rewritten; the rest is copied card by card.

use crate::header::{Header, Value};

const BLOCK: usize = 2880;

/// Keywords that describe the stored array or compression; the writer sets its own.
fn structural(keyword: &str) -> bool {
    let k = keyword.trim();
    matches!(
        k,
        "SIMPLE"
            | "XTENSION"
            | "BITPIX"
            | "EXTEND"
            | "PCOUNT"
            | "GCOUNT"
            | "BSCALE"
            | "BZERO"
            | "BLANK"
            | "CHECKSUM"
            | "DATASUM"
            | "END"
            | "TFIELDS"
            | "THEAP"
            | "ZIMAGE"
            | "EXTNAME"
            | "EXTVER"
    ) || k.starts_with("NAXIS")
        || (k.starts_with('Z')
            && k.len() > 1
            && k[1..].starts_with(|c: char| c.is_ascii_uppercase())
            && is_compression_key(k))
        || k.starts_with("TTYPE")
        || k.starts_with("TFORM")
        || k.starts_with("TUNIT")
}

fn is_compression_key(k: &str) -> bool {
    [
        "ZBITPIX", "ZNAXIS", "ZTILE", "ZCMPTYPE", "ZNAME", "ZVAL", "ZQUANTIZ", "ZDITHER0", "ZSIMPLE", "ZTENSION",
        "ZEXTEND", "ZBLOCKED", "ZPCOUNT", "ZGCOUNT", "ZHECKSUM", "ZDATASUM", "ZBLANK", "ZSCALE", "ZZERO",
    ]
    .iter()
    .any(|p| k.starts_with(p))
}

fn card(text: &str) -> [u8; 80] {
    let mut out = [b' '; 80];
    for (o, b) in out
        .iter_mut()
        .zip(text.bytes().filter(|b| b.is_ascii() && !b.is_ascii_control()))
    {
        *o = b;
    }
    out
}

fn value_card(keyword: &str, raw: &str, comment: &str) -> Option<String> {
    let head = if keyword.len() > 8 {
        format!("HIERARCH {keyword} = ")
    } else {
        format!("{keyword:<8}= ")
    };
    let body = if raw.starts_with('\'') {
        format!("{raw:<20}")
    } else {
        format!("{raw:>20}")
    };
    let mut text = format!("{head}{body}");
    if text.len() > 80 {
        return None;
    }
    if !comment.is_empty() && text.len() + 3 < 80 {
        text.push_str(" / ");
        text.push_str(comment);
    }
    Some(text)
}

/// Writes `data` (x fastest) with `axes` = [NAXIS1, NAXIS2, …] as a primary HDU. Cards of
/// `source` are copied except structural ones; `CRPIXn` is shifted by `-offset[n-1]` so the
/// world coordinates of every kept pixel stay the same. Cards that do not fit one 80-column
/// card (long strings) are dropped and counted in a COMMENT.
pub fn image_f32(source: &Header, axes: &[usize], offset: &[f64], data: &[f32]) -> Vec<u8> {
    let mut cards: Vec<[u8; 80]> = vec![
        card("SIMPLE  =                    T / conforms to FITS standard"),
        card("BITPIX  =                  -32 / IEEE single precision"),
        card(&format!("NAXIS   = {:>20}", axes.len())),
    ];
    for (i, n) in axes.iter().enumerate() {
        cards.push(card(&format!("NAXIS{:<3}= {n:>20}", i + 1)));
    }
    let mut dropped = 0usize;
    for c in source.card_list() {
        let kw = c.keyword.trim();
        if structural(kw) {
            continue;
        }
        if matches!(c.value, Value::None) || kw.is_empty() || kw == "COMMENT" || kw == "HISTORY" {
            let text: Vec<char> = c.raw_value.chars().collect();
            for chunk in text.chunks(72).take(1000) {
                cards.push(card(&format!("{:<8}{}", kw, chunk.iter().collect::<String>())));
            }
            continue;
        }
        let raw = match (kw.strip_prefix("CRPIX"), &c.value) {
            (Some(n), v) => match (n.parse::<usize>().ok(), v.as_f64()) {
                (Some(n), Some(p)) if n >= 1 && n <= offset.len() => format!("{:.10}", p - offset[n - 1]),
                _ => c.raw_value.clone(),
            },
            _ => c.raw_value.clone(),
        };
        match value_card(kw, &raw, &c.comment) {
            Some(text) => cards.push(card(&text)),
            None => dropped += 1,
        }
    }
    if dropped > 0 {
        cards.push(card(&format!(
            "COMMENT {dropped} long card(s) of the source header were not copied"
        )));
    }
    cards.push(card("END"));
    let mut out: Vec<u8> = cards.concat();
    out.resize(out.len().div_ceil(BLOCK) * BLOCK, b' ');
    out.reserve(data.len() * 4 + BLOCK);
    for v in data {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
    out
}

#[cfg(test)]
mod tests {
    use crate::Fits;

    #[test]
    fn written_image_reads_back_with_shifted_reference_pixel() {
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/m13_gzip.fits")).expect("file");
        let fits = Fits::parse(&bytes).expect("parse");
        let img = fits.image_f32(1, 0).expect("image");
        let (x0, y0, w, h) = (100usize, 50usize, 20usize, 10usize);
        let cut: Vec<f32> = (y0..y0 + h)
            .flat_map(|y| img.data[y * img.width + x0..][..w].to_vec())
            .collect();
        let header = fits.hdu(1).expect("hdu").header();
        let out = super::image_f32(header, &[w, h], &[x0 as f64, y0 as f64], &cut);
        let back = Fits::parse(&out).expect("reparse");
        let again = back.image_f32(0, 0).expect("image");
        assert_eq!((again.width, again.height), (w, h));
        assert_eq!(again.data, cut);
        let crpix1 = header.get_f64("CRPIX1").expect("crpix1");
        let got = back.hdu(0).expect("hdu").header().get_f64("CRPIX1").expect("crpix1");
        assert!((got - (crpix1 - x0 as f64)).abs() < 1e-9);
        assert_eq!(
            back.hdu(0).expect("hdu").header().get_str("CTYPE1").map(str::trim),
            Some("RA---TAN")
        );
    }
}
