//! The crate's single error type.

use thiserror::Error;

/// Everything that can go wrong while reading FITS bytes. Every malformed input maps to one of
/// these; the library never panics on input data.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FitsError {
    /// The bytes do not start like a FITS file (no `SIMPLE` card, no gzip magic).
    #[error("not a FITS file: {0}")]
    NotFits(String),
    /// The input ends before a header's `END` card or before the data the header declares.
    #[error("truncated FITS data: {0}")]
    Truncated(String),
    /// A required keyword is absent.
    #[error("HDU {hdu}: missing required keyword {keyword}")]
    MissingKeyword { hdu: usize, keyword: String },
    /// A keyword is present but its value is unusable (wrong type, out of range).
    #[error("HDU {hdu}: invalid {keyword}: {reason}")]
    InvalidKeyword {
        hdu: usize,
        keyword: String,
        reason: String,
    },
    /// An HDU index past the end of the file.
    #[error("HDU {index} does not exist (the file has {count})")]
    NoSuchHdu { index: usize, count: usize },
    /// The HDU holds no image (a table, or NAXIS = 0).
    #[error("HDU {hdu} has no image data: {reason}")]
    NotAnImage { hdu: usize, reason: String },
    /// A plane index past the number of 2-D planes of a cube.
    #[error("HDU {hdu}: plane {plane} does not exist (the image has {planes})")]
    NoSuchPlane { hdu: usize, plane: usize, planes: usize },
    /// A tile compression algorithm this crate does not decode.
    #[error("unsupported compression {0}")]
    UnsupportedCompression(String),
    /// A structure the crate does not decode (e.g. random-groups arrays as images).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Corrupt compressed data (gzip stream, RICE bit stream, PLIO line list, table descriptors).
    #[error("decompression failed: {0}")]
    Decompress(String),
    /// The declared or decompressed size exceeds the configured [`crate::Limits`].
    #[error("size limit exceeded: {0}")]
    TooLarge(String),
    /// Invalid arguments to a statistics or region function.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}
