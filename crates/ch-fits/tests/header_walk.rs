//! `HeaderWalk` lists exactly the HDUs `Fits::parse` lists, reading header blocks only, and
//! malformed or truncated input gives an error (the same one) rather than a panic.

use std::path::PathBuf;

use ch_fits::{Fits, FitsError, Hdu, HeaderWalk};
use proptest::prelude::*;

mod common;
use common::{NUMBERS, cases, edit_and_cut, value_cards, write_number};

/// Every corpus file that parses, as plain (inflated) FITS bytes, with its name.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("data");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("test data")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".fits") || n.ends_with(".fits.gz"))
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|name| {
            let bytes = std::fs::read(dir.join(&name)).expect("corpus file");
            let plain = Fits::parse(&bytes).ok()?.bytes().to_vec();
            Some((name, plain))
        })
        .collect()
}

/// How the caller hands bytes to the walk.
#[derive(Debug, Clone, Copy)]
enum Feed {
    /// Exactly what `next_read` asks for.
    Exact,
    /// Up to three blocks more than asked.
    Generous,
    /// Everything from the offset to the end of the file.
    Rest,
}

/// Byte ranges `[start, end)` read from the file.
type Reads = Vec<(usize, usize)>;

/// Drive a walk over `bytes`; returns its result and the byte ranges it read.
fn walk(bytes: &[u8], feed: Feed) -> (Result<Vec<Hdu>, FitsError>, Reads) {
    let mut walk = HeaderWalk::new(bytes.len() as u64);
    let mut reads = Vec::new();
    while let Some((offset, len)) = walk.next_read() {
        let start = usize::try_from(offset).expect("offset");
        assert!(start + len <= bytes.len(), "read past the end: {start}+{len}");
        assert!(len > 0, "empty read at {start}");
        let end = match feed {
            Feed::Exact => start + len,
            Feed::Generous => (start + len + 3 * 2880).min(bytes.len()),
            Feed::Rest => bytes.len(),
        };
        reads.push((start, end));
        if walk.feed(&bytes[start..end]).is_err() {
            break;
        }
    }
    (walk.finish(), reads)
}

fn parse(bytes: &[u8]) -> Result<Vec<Hdu>, FitsError> {
    Fits::parse(bytes).map(|f| f.hdus().to_vec())
}

#[test]
fn walk_equals_parse_on_the_corpus_reading_headers_only() {
    let files = corpus();
    assert!(files.len() >= 30, "only {} corpus files parsed", files.len());
    let mut skipped_data = 0;
    for (name, bytes) in &files {
        let expected = parse(bytes).expect("parses");
        for feed in [Feed::Exact, Feed::Generous, Feed::Rest] {
            let (got, reads) = walk(bytes, feed);
            assert_eq!(got.as_ref(), Ok(&expected), "{name} {feed:?}");
            if !matches!(feed, Feed::Exact) {
                continue;
            }
            // No read touches a data unit.
            for info in expected
                .iter()
                .map(Hdu::info)
                .filter(|i| i.data_len > 0 && !i.truncated)
            {
                let data = (info.data_offset, info.data_offset + info.data_len);
                assert!(
                    reads.iter().all(|&(s, e)| e <= data.0 || s >= data.1),
                    "{name}: HDU {} data was read",
                    info.index
                );
                skipped_data += 1;
            }
            let read: usize = reads.iter().map(|(s, e)| e - s).sum();
            let headers: usize = expected
                .iter()
                .map(|h| h.info().data_offset - h.info().header_offset)
                .sum();
            // At most one extra block: the look at trailing bytes after the last HDU.
            assert!(
                read <= headers + 2880,
                "{name}: read {read} bytes for {headers} of headers"
            );
        }
        let fits = Fits::from_header_walk({
            let mut w = HeaderWalk::new(bytes.len() as u64);
            while let Some((o, l)) = w.next_read() {
                w.feed(&bytes[o as usize..o as usize + l]).expect("feed");
            }
            w
        })
        .expect("header-only fits");
        assert!(fits.is_headers_only());
        assert_eq!(fits.infos(), Fits::parse(bytes).expect("parse").infos(), "{name}");
        if let Some(hdu) = fits.first_image() {
            assert!(
                matches!(fits.image(hdu.index(), 0), Err(FitsError::Unsupported(_))),
                "{name}"
            );
            assert!(
                matches!(fits.data_unit(hdu.index()), Err(FitsError::Unsupported(_))),
                "{name}"
            );
        }
    }
    assert!(skipped_data > 20, "only {skipped_data} data units checked");
}

#[test]
fn truncated_files_error_like_parse() {
    for (name, bytes) in corpus() {
        let first_data = parse(&bytes).expect("parses")[0].info().data_offset;
        for cut in [
            0,
            1,
            9,
            80,
            2879,
            2880,
            2881,
            first_data.saturating_sub(1),
            first_data + 1,
        ] {
            let cut = cut.min(bytes.len());
            let part = &bytes[..cut];
            for feed in [Feed::Exact, Feed::Rest] {
                assert_eq!(walk(part, feed).0, parse(part), "{name} cut at {cut} {feed:?}");
            }
        }
    }
}

#[test]
fn misuse_is_an_error_not_a_panic() {
    let (name, bytes) = corpus().swap_remove(0);
    // A short read.
    let mut w = HeaderWalk::new(bytes.len() as u64);
    let (o, l) = w.next_read().expect("first read");
    assert_eq!((o, l), (0, 2880), "{name}");
    assert!(matches!(w.feed(&bytes[..100]), Err(FitsError::Truncated(_))));
    assert_eq!(w.next_read(), None);
    assert!(w.feed(&bytes[..2880]).is_err());
    assert!(matches!(w.finish(), Err(FitsError::Truncated(_))));
    // Finishing early, feeding after the end.
    let w = HeaderWalk::new(bytes.len() as u64);
    assert!(matches!(w.finish(), Err(FitsError::InvalidArgument(_))));
    let mut w = HeaderWalk::new(bytes.len() as u64);
    while let Some((o, l)) = w.next_read() {
        w.feed(&bytes[o as usize..o as usize + l]).expect("feed");
    }
    assert!(w.feed(&bytes).is_err());
    assert!(w.finish().is_ok());
    // An empty file, and a file length the bytes do not match.
    assert!(matches!(HeaderWalk::new(0).finish(), Err(FitsError::NotFits(_))));
    let mut w = HeaderWalk::new(u64::MAX);
    let mut steps = 0;
    while let Some((o, l)) = w.next_read() {
        let Some(chunk) = bytes.get(o as usize..o as usize + l) else {
            break;
        };
        if w.feed(chunk).is_err() || steps > 1000 {
            break;
        }
        steps += 1;
    }
}

fn small_corpus() -> &'static [(String, Vec<u8>)] {
    static CORPUS: std::sync::OnceLock<Vec<(String, Vec<u8>)>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(|| corpus().into_iter().filter(|(_, b)| b.len() <= 4 << 20).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_files_walk_like_parse(
        file in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<u32>(), any::<u8>()), 0..8),
        numbers in prop::collection::vec((any::<prop::sample::Index>(), 0..NUMBERS.len()), 0..4),
        cut in prop::option::of(any::<u32>()),
    ) {
        let files = small_corpus();
        let (name, original) = file.get(files);
        let mut bytes = original.clone();
        // Lying sizes: integers written over header values (NAXISn, PCOUNT, GCOUNT, BITPIX …).
        let cards = value_cards(&bytes);
        if !cards.is_empty() {
            for (card, number) in &numbers {
                write_number(&mut bytes, cards[card.index(cards.len())], *number);
            }
        }
        edit_and_cut(&mut bytes, &edits, cut);
        let expected = parse(&bytes);
        for feed in [Feed::Exact, Feed::Generous] {
            prop_assert_eq!(&walk(&bytes, feed).0, &expected, "{} {:?}", name, feed);
        }
    }
}
