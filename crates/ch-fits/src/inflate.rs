//! gzip / zlib inflation with an output cap (pure Rust via flate2's miniz_oxide backend).

use std::io::Read;

use flate2::bufread::GzDecoder;
use flate2::read::ZlibDecoder;

use crate::error::FitsError;

/// True when `bytes` start with the gzip magic number.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Inflate a gzip stream (every member, ignoring trailing non-gzip bytes such as padding) or,
/// without the gzip magic, a zlib stream. More than `cap` output bytes is an error.
pub(crate) fn inflate(bytes: &[u8], cap: usize, what: &str) -> Result<Vec<u8>, FitsError> {
    let mut out = Vec::new();
    let limit = |out: &Vec<u8>| {
        u64::try_from(cap.saturating_sub(out.len()))
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    };
    let fail = |e: std::io::Error| FitsError::Decompress(format!("{what}: {e}"));
    if is_gzip(bytes) {
        let mut rest = bytes;
        while is_gzip(rest) && out.len() <= cap {
            let lim = limit(&out);
            let mut member = GzDecoder::new(&mut rest);
            member.by_ref().take(lim).read_to_end(&mut out).map_err(fail)?;
        }
    } else {
        ZlibDecoder::new(bytes)
            .take(limit(&out))
            .read_to_end(&mut out)
            .map_err(fail)?;
    }
    if out.len() > cap {
        return Err(FitsError::TooLarge(format!(
            "{what}: inflates to more than {cap} bytes"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).expect("write");
        e.finish().expect("finish")
    }

    #[test]
    fn members_padding_and_cap() {
        let mut two = gz(b"hello ");
        two.extend(gz(b"world"));
        two.extend([0u8; 100]);
        assert_eq!(inflate(&two, 100, "t").expect("inflate"), b"hello world");
        assert!(matches!(inflate(&two, 5, "t"), Err(FitsError::TooLarge(_))));
        assert!(inflate(&[0x1f, 0x8b, 0, 0], 100, "t").is_err());
    }
}
