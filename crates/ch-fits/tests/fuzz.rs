//! Robustness: mutated corpus files go through every entry point without panicking (tests run
//! with overflow checks on, so arithmetic overflow would be caught too).

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use ch_fits::region::Region;
use ch_fits::stats::{self, BinScale, Stats};
use ch_fits::{Fits, Limits, Shape};
use proptest::prelude::*;

mod common;
use common::{NUMBERS, cases, edit_and_cut, value_cards, write_number};

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

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(400), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_byte_mutations_never_panic(
        file in 0usize..15,
        edits in prop::collection::vec((any::<u32>(), any::<u8>()), 1..12),
        cut in prop::option::of(any::<u32>()),
    ) {
        let files = corpus();
        let mut bytes = files[file % files.len()].clone();
        edit_and_cut(&mut bytes, &edits, cut);
        exercise(&bytes);
    }

    #[test]
    fn header_value_mutations_never_panic(
        file in 0usize..14,
        edits in prop::collection::vec((any::<u16>(), 0..NUMBERS.len()), 1..6),
    ) {
        let files = corpus();
        let mut bytes = files[file % files.len()].clone();
        let cards = value_cards(&bytes);
        prop_assume!(!cards.is_empty());
        for (card, number) in edits {
            write_number(&mut bytes, cards[card as usize % cards.len()], number);
        }
        exercise(&bytes);
    }
}
