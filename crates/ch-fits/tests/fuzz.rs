//! Robustness: mutated corpus files go through every entry point without panicking (tests run
//! with overflow checks on, so arithmetic overflow would be caught too).

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use ch_fits::region::Region;
use ch_fits::stats::{self, BinScale, Stats};
use ch_fits::{Fits, Limits, Shape};
use proptest::prelude::*;

const FILES: &[&str] = &[
    "bitpix16.fits",
    "bitpix-64.fits",
    "uint64.fits",
    "scaled16_blank.fits",
    "cube4d.fits",
    "header_cards.fits",
    "multi.fits",
    "rice.fits",
    "gzip2.fits",
    "compressed_with_nan.fits",
    "compressed_float_bzero.fits",
    "m13_plio.fits",
    "zerowidth.fits",
    "random_groups.fits",
];

fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(load_corpus)
}

fn load_corpus() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("data");
    let mut files: Vec<Vec<u8>> = FILES
        .iter()
        .map(|f| std::fs::read(dir.join(f)).expect("corpus file"))
        .collect();
    // A small gzip-compressed file too.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&files[0]).expect("gzip");
    files.push(gz.finish().expect("gzip"));
    files
}

/// Run everything a caller could run on the bytes; only errors may come back.
fn exercise(bytes: &[u8]) {
    let limits = Limits {
        max_inflated_bytes: 16 << 20,
        max_plane_pixels: 4 << 20,
    };
    let Ok(fits) = Fits::parse_with_limits(bytes, limits) else {
        return;
    };
    let _ = serde_json::to_string(&fits.infos());
    for hdu in fits.hdus() {
        let _ = hdu.header().cards().count();
        let _ = fits.data_unit(hdu.index());
        for plane in [0, 1] {
            if let Ok(image) = fits.image(hdu.index(), plane) {
                let s = Stats::compute(&image.data);
                let _ = serde_json::to_string(&s);
                let _ = stats::zscale(&image.data);
                let _ = stats::percentiles(&image.data, &[1.0, 50.0, 99.0]);
                let _ = stats::histogram(&image.data, 16, None, BinScale::Linear);
                let _ = stats::histogram(&image.data, 16, None, BinScale::Log);
                let r = Region::new(Shape::Circle { x: 3.0, y: 3.0, r: 4.0 });
                let _ = r.measure(&image, hdu.header());
            }
            let _ = fits.image_f32(hdu.index(), plane);
        }
    }
}

#[test]
fn corpus_is_clean() {
    for bytes in corpus() {
        exercise(bytes);
    }
}

/// Cases per property (`CH_FITS_FUZZ_CASES` raises it for a longer run).
fn cases() -> u32 {
    std::env::var("CH_FITS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

/// Digit strings that stress size arithmetic when written into header values.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "3",
    "999",
    "1000",
    "2147483647",
    "-2147483648",
    "4294967296",
    "9223372036854775807",
    "99999999999999999999",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_byte_mutations_never_panic(
        file in 0usize..15,
        edits in prop::collection::vec((any::<u32>(), any::<u8>()), 1..12),
        cut in prop::option::of(any::<u32>()),
    ) {
        let files = corpus();
        let mut bytes = files[file % files.len()].clone();
        for (pos, b) in edits {
            let n = bytes.len();
            // Half the edits land in the first blocks, where headers and table rows live.
            let p = if pos % 2 == 0 { pos as usize % n.min(3 * 2880) } else { pos as usize % n };
            bytes[p] = b;
        }
        if let Some(c) = cut {
            let n = bytes.len();
            bytes.truncate(c as usize % (n + 1));
        }
        exercise(&bytes);
    }

    #[test]
    fn header_value_mutations_never_panic(
        file in 0usize..14,
        edits in prop::collection::vec((any::<u16>(), 0usize..11), 1..6),
    ) {
        let files = corpus();
        let mut bytes = files[file % files.len()].clone();
        // Cards with a value indicator in the first headers.
        let cards: Vec<usize> = (0..bytes.len().min(40 * 2880) / 80)
            .filter(|i| bytes.get(i * 80 + 8..i * 80 + 10) == Some(b"= "))
            .collect();
        prop_assume!(!cards.is_empty());
        for (card, number) in edits {
            let start = cards[card as usize % cards.len()] * 80 + 10;
            let text = format!("{:>20}", NUMBERS[number]);
            bytes[start..start + 20].copy_from_slice(text.as_bytes());
        }
        exercise(&bytes);
    }
}
