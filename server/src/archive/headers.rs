//! Reading only the header blocks of a FITS file on disk, for the views that never look at
//! pixels (`hdus`, `header`, `wcs`): a multi-gigabyte cube costs a few blocks of I/O instead
//! of the whole file.
//!
//! The result is a buffer as long as the file with the headers in place and zeros elsewhere,
//! so `ch_fits::Fits` walks it exactly as it would walk the whole file (offsets, truncation).
//! The zeros are a fresh zeroed allocation, which the OS maps lazily: data units never read
//! are never made resident.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use ch_fits::Fits;
use ch_fits::header::{BLOCK_LEN, CARD_LEN};

/// Past this many HDUs (each step re-walks the headers loaded so far) the whole file is read.
const MAX_SPARSE_HDUS: usize = 64;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The file's bytes with every header in place; data units are zeros unless the file is
/// gzip-compressed or has very many HDUs (then it is read whole).
pub fn read_headers(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let len = usize::try_from(file.metadata()?.len()).map_err(|_| io::Error::other("file too large"))?;
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic)?;
    if n < 2 || magic == GZIP_MAGIC {
        return std::fs::read(path);
    }
    let mut buf = vec![0u8; len];
    let mut next = 0usize;
    let mut known = 0usize;
    for _ in 0..MAX_SPARSE_HDUS {
        load_header(&mut file, &mut buf, next)?;
        // A header that does not parse is reported by the caller's own walk, as for a full read.
        let Ok(fits) = Fits::parse(&buf) else {
            return Ok(buf);
        };
        let hdus = fits.hdus();
        let Some(last) = hdus.last().map(|h| h.info()) else {
            return Ok(buf);
        };
        if hdus.len() == known || last.truncated {
            return Ok(buf);
        }
        known = hdus.len();
        let after = last
            .data_len
            .div_ceil(BLOCK_LEN)
            .checked_mul(BLOCK_LEN)
            .and_then(|p| last.data_offset.checked_add(p));
        match after {
            Some(a) if a < len && a > next => next = a,
            _ => return Ok(buf),
        }
    }
    std::fs::read(path)
}

/// Copies the header starting at `offset` into `buf`: blocks up to the one holding the END
/// card (or the end of the file).
fn load_header(file: &mut File, buf: &mut [u8], offset: usize) -> io::Result<()> {
    file.seek(SeekFrom::Start(offset as u64))?;
    let mut at = offset;
    while at < buf.len() {
        let end = buf.len().min(at + BLOCK_LEN);
        let block = &mut buf[at..end];
        file.read_exact(block)?;
        if block.as_chunks::<CARD_LEN>().0.iter().any(is_end_card) {
            break;
        }
        at = end;
    }
    Ok(())
}

fn is_end_card(card: &[u8; CARD_LEN]) -> bool {
    card.starts_with(b"END") && card[3..].iter().all(|&b| b == b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/ch-fits/tests/data");

    #[test]
    fn headers_walk_like_the_whole_file_without_reading_data() {
        let mut skipped = 0;
        for name in [
            "multi.fits",
            "m13_rice.fits",
            "random_groups.fits",
            "cube3d.fits",
            "checksum.fits",
            "history40k.fits.gz",
            "zerowidth.fits",
        ] {
            let path = Path::new(DATA).join(name);
            let whole = std::fs::read(&path).expect("test file");
            let sparse = read_headers(&path).expect("headers");
            assert_eq!(sparse.len(), whole.len(), "{name}");
            let (a, b) = (
                Fits::parse(&whole).expect("parse"),
                Fits::parse(&sparse).expect("parse"),
            );
            assert_eq!(a.infos(), b.infos(), "{name}");
            for (x, y) in a.hdus().iter().zip(b.hdus()) {
                assert_eq!(x.header(), y.header(), "{name}");
            }
            if !name.ends_with(".gz") {
                for hdu in b
                    .hdus()
                    .iter()
                    .map(|h| h.info())
                    .filter(|i| i.data_len > 0 && !i.truncated)
                {
                    let data = &sparse[hdu.data_offset..hdu.data_offset + hdu.data_len];
                    assert!(
                        data.iter().all(|&x| x == 0),
                        "{name}: data of HDU {} was read",
                        hdu.index
                    );
                    skipped += 1;
                }
            }
        }
        assert!(skipped > 3, "no data unit was checked");
    }
}
