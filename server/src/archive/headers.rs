//! Reading only the header blocks of a FITS file on disk, for the views that never look at
//! pixels (`hdus`, `header`, `wcs`): a multi-gigabyte cube costs a few blocks of I/O instead
//! of the whole file.
//!
//! [`ch_fits::HeaderWalk`] asks for the blocks it needs (each header, then the next header past
//! the data unit its sizes declare); this module reads them with positioned reads and gets the
//! same HDU list and headers as parsing the whole file would. A gzip-compressed file cannot be
//! read at an offset, so it is still read (and inflated) whole.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use ch_fits::header::BLOCK_LEN;
use ch_fits::{Fits, FitsError, HeaderWalk};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Header bytes read per file at most: a file whose header never ends (no `END` card) is not
/// read to its end.
const MAX_HEADER_BYTES: u64 = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Fits(#[from] FitsError),
}

/// The file's HDUs and headers, data units not read (a header-only [`Fits`]) unless the file
/// is gzip-compressed (then it is read whole and pixels are available too).
pub fn read_headers(path: &Path) -> Result<Fits<'static>, ReadError> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic)?;
    if n == 2 && magic == GZIP_MAGIC {
        return Ok(Fits::from_vec(std::fs::read(path)?)?);
    }
    Ok(Fits::from_header_walk(walk_headers(&mut file, len)?)?)
}

/// Drive a [`HeaderWalk`] over `file` (`len` bytes), reading only the blocks it asks for.
fn walk_headers<R: Read + Seek>(file: &mut R, len: u64) -> Result<HeaderWalk, ReadError> {
    let mut walk = HeaderWalk::new(len);
    let mut block = [0u8; BLOCK_LEN];
    let mut position = None;
    let mut total = 0u64;
    while let Some((offset, want)) = walk.next_read() {
        total += want as u64;
        if total > MAX_HEADER_BYTES {
            return Err(FitsError::TooLarge(format!("headers longer than {MAX_HEADER_BYTES} bytes")).into());
        }
        if position != Some(offset) {
            file.seek(SeekFrom::Start(offset))?;
        }
        let buf = block
            .get_mut(..want)
            .ok_or_else(|| io::Error::other("header read larger than a block"))?;
        file.read_exact(buf)?;
        position = Some(offset + want as u64);
        walk.feed(buf)?;
    }
    Ok(walk)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/ch-fits/tests/data");

    /// A reader that records which byte ranges were read.
    struct Recorder {
        inner: io::Cursor<Vec<u8>>,
        reads: Vec<(u64, u64)>,
    }

    impl Read for Recorder {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let at = self.inner.position();
            let n = self.inner.read(buf)?;
            self.reads.push((at, at + n as u64));
            Ok(n)
        }
    }

    impl Seek for Recorder {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            self.inner.seek(pos)
        }
    }

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
            let a = Fits::parse(&whole).expect("parse");
            let b = read_headers(&path).expect("headers");
            assert_eq!(a.infos(), b.infos(), "{name}");
            for (x, y) in a.hdus().iter().zip(b.hdus()) {
                assert_eq!(x.header(), y.header(), "{name}");
                assert_eq!(x.stored_header(), y.stored_header(), "{name}");
            }
            if name.ends_with(".gz") {
                assert!(!b.is_headers_only(), "{name}");
                continue;
            }
            assert!(b.is_headers_only(), "{name}");
            let mut reader = Recorder {
                inner: io::Cursor::new(whole.clone()),
                reads: Vec::new(),
            };
            let hdus = walk_headers(&mut reader, whole.len() as u64)
                .and_then(|w| Ok(w.finish()?))
                .expect("walk");
            assert_eq!(hdus.as_slice(), a.hdus(), "{name}");
            for info in a.infos().iter().filter(|i| i.data_len > 0 && !i.truncated) {
                let (start, end) = (info.data_offset as u64, (info.data_offset + info.data_len) as u64);
                assert!(
                    reader.reads.iter().all(|&(s, e)| e <= start || s >= end),
                    "{name}: data of HDU {} was read",
                    info.index
                );
                skipped += 1;
            }
        }
        assert!(skipped > 3, "no data unit was checked");
    }

    #[test]
    fn broken_and_short_files_are_errors() {
        let dir = std::env::temp_dir().join(format!("ch-headers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let whole = std::fs::read(Path::new(DATA).join("multi.fits")).expect("test file");
        for (name, bytes) in [
            ("empty.fits", Vec::new()),
            ("short.fits", whole[..100].to_vec()),
            ("text.fits", b"not a FITS file at all".to_vec()),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, &bytes).expect("write");
            assert!(matches!(read_headers(&path), Err(ReadError::Fits(_))), "{name}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
