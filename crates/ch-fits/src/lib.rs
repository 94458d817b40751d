//! FITS engine for Cosmic Horizons: headers, HDUs, exact physical pixel values, tile-compressed
//! images, statistics and pixel-coordinate regions.
//!
//! The crate does no I/O: everything takes `&[u8]` (or an owned `Vec<u8>`), so it runs natively
//! and in the browser (`wasm32-unknown-unknown`). Malformed input returns [`FitsError`]; nothing
//! panics, and allocations are bounded by the input size and [`Limits`].
//!
//! ```no_run
//! # fn demo(bytes: &[u8]) -> Result<(), ch_fits::FitsError> {
//! let fits = ch_fits::Fits::parse(bytes)?; // plain or gzip-compressed file
//! for hdu in fits.hdus() {
//!     println!("{} {:?} {:?} {:?}", hdu.index(), hdu.kind(), hdu.shape(), hdu.extname());
//! }
//! let image = fits.image(0, 0)?; // HDU 0, plane 0, physical values as f64 (NaN = blank)
//! let stats = ch_fits::stats::Stats::compute(&image.data);
//! let (lo, hi) = ch_fits::stats::zscale(&image.data).unwrap_or((0.0, 1.0));
//! let viewer = fits.image_f32(0, 0)?; // the same plane as f32, for display
//! let hist = ch_fits::stats::histogram_f32(&viewer.data, 256, None, ch_fits::stats::BinScale::Linear)?;
//! # let _ = (stats, lo, hi, hist); Ok(()) }
//! ```
//!
//! Modules: [`header`] (cards and typed values), [`hdu`] (HDU listing; [`HeaderWalk`] lists the
//! HDUs of a file on disk reading only its header blocks), [`image`] (pixel
//! decoding), [`stats`] (statistics, percentiles, histograms, zscale), [`region`] (shapes in pixel
//! coordinates, region statistics), [`beam`] (the restoring beam from keywords, a CASA `BEAMS`
//! table or AIPS history cards; flux density).
//!
//! Headers as they are found in the wild are read with warnings rather than refused
//! ([`Header::warnings`], [`HduInfo::warnings`]): non-blank bytes after `END`, non-ASCII bytes,
//! values matching no FITS type.
//!
//! Conventions:
//! * Image data is row-major with `NAXIS1` fastest: `data[y * width + x]`, `(x, y)` 0-based, so
//!   FITS pixel (1, 1) is `(0, 0)` and pixel centres sit on integer coordinates, as in astropy.
//! * Shapes are reported in numpy order (`NAXISn … NAXIS1`).
//! * Planes of cubes are numbered over NAXIS3, NAXIS4, … with NAXIS3 fastest.

use std::borrow::Cow;

pub mod beam;
pub mod error;
pub mod hdu;
pub mod header;
pub mod image;
pub mod region;
pub mod sky;
pub mod stats;
pub mod write;

mod compress;
mod geometry;
mod inflate;

pub use beam::{Beam, BeamSource};
pub use error::FitsError;
pub use hdu::{Hdu, HduInfo, HduKind, HeaderWalk};
pub use header::{Card, Header, Value};
pub use image::{Image, Sample};
pub use region::{Region, Shape};
pub use sky::SkyShape;
pub use stats::Stats;

/// Resource limits applied while parsing and decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest size a gzip-compressed file may inflate to (default 1 GiB).
    pub max_inflated_bytes: usize,
    /// Largest 2-D plane decoded at once, in pixels (default 2^27: 1 GiB as `f64`).
    pub max_plane_pixels: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_inflated_bytes: 1 << 30,
            max_plane_pixels: 1 << 27,
        }
    }
}

/// A parsed FITS file: the bytes (borrowed, or owned after gzip inflation) and its HDUs.
#[derive(Debug, Clone)]
pub struct Fits<'a> {
    bytes: Cow<'a, [u8]>,
    hdus: Vec<Hdu>,
    limits: Limits,
    gzipped: bool,
    /// Built from headers alone ([`Fits::from_header_walk`]): no data units to decode.
    headers_only: bool,
}

impl<'a> Fits<'a> {
    /// Parse a FITS file (or a gzip-compressed one: magic `1f 8b`) with default [`Limits`].
    pub fn parse(bytes: &'a [u8]) -> Result<Fits<'a>, FitsError> {
        Self::parse_with_limits(bytes, Limits::default())
    }

    /// Parse with explicit limits.
    pub fn parse_with_limits(bytes: &'a [u8], limits: Limits) -> Result<Fits<'a>, FitsError> {
        if inflate::is_gzip(bytes) {
            let plain = inflate::inflate(bytes, limits.max_inflated_bytes, "gzip file")?;
            return Fits::from_cow(Cow::Owned(plain), limits, true);
        }
        Fits::from_cow(Cow::Borrowed(bytes), limits, false)
    }

    fn from_cow(bytes: Cow<'a, [u8]>, limits: Limits, gzipped: bool) -> Result<Fits<'a>, FitsError> {
        let hdus = hdu::walk(&bytes)?;
        Ok(Fits {
            bytes,
            hdus,
            limits,
            gzipped,
            headers_only: false,
        })
    }

    /// All HDUs in file order.
    pub fn hdus(&self) -> &[Hdu] {
        &self.hdus
    }

    /// HDU summaries, e.g. to print as JSON.
    pub fn infos(&self) -> Vec<HduInfo> {
        self.hdus.iter().map(|h| h.info().clone()).collect()
    }

    /// One HDU by index.
    pub fn hdu(&self, index: usize) -> Result<&Hdu, FitsError> {
        self.hdus.get(index).ok_or(FitsError::NoSuchHdu {
            index,
            count: self.hdus.len(),
        })
    }

    /// True when the input was a gzip-compressed file.
    pub fn was_gzipped(&self) -> bool {
        self.gzipped
    }

    /// The (inflated) file bytes (empty for a header-only [`Fits::from_header_walk`]).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// True when built from headers alone ([`Fits::from_header_walk`]).
    pub fn is_headers_only(&self) -> bool {
        self.headers_only
    }

    fn pixels_loaded(&self, index: usize) -> Result<(), FitsError> {
        if self.headers_only {
            return Err(FitsError::Unsupported(format!(
                "HDU {index}: only the headers were read, not the data"
            )));
        }
        Ok(())
    }

    /// The raw data unit of an HDU (as stored; for compressed images the binary table).
    pub fn data_unit(&self, index: usize) -> Result<&[u8], FitsError> {
        let info = self.hdu(index)?.info();
        self.pixels_loaded(index)?;
        self.bytes
            .get(info.data_offset..info.data_offset.saturating_add(info.data_len))
            .ok_or_else(|| FitsError::Truncated(format!("HDU {index}: data unit extends past the end of the file")))
    }

    /// The first HDU that holds image pixels (a non-empty primary, an IMAGE extension or a
    /// compressed image), as viewers pick by default.
    pub fn first_image(&self) -> Option<&Hdu> {
        self.hdus.iter().find(|h| {
            matches!(h.kind(), HduKind::Primary | HduKind::Image | HduKind::CompressedImage) && !h.shape().is_empty()
        })
    }

    /// Plane `plane` of image HDU `hdu` as physical `f64` values (BSCALE/BZERO applied exactly,
    /// BLANK and NaN → NaN).
    pub fn image(&self, hdu: usize, plane: usize) -> Result<Image<f64>, FitsError> {
        self.image_into(hdu, plane, Vec::new())
    }

    /// The same as [`Fits::image`] with `f32` output (half the memory; float32 data unscaled is
    /// copied bit-exactly), for display.
    pub fn image_f32(&self, hdu: usize, plane: usize) -> Result<Image<f32>, FitsError> {
        self.image_into(hdu, plane, Vec::new())
    }

    /// Decode a plane into `buffer`'s allocation (e.g. the previous plane's `data`), so a viewer
    /// stepping through a cube does not pay for a fresh allocation per plane.
    pub fn image_into<T: Sample>(&self, hdu: usize, plane: usize, buffer: Vec<T>) -> Result<Image<T>, FitsError> {
        let header = self.hdu(hdu)?;
        self.pixels_loaded(hdu)?;
        image::read_plane(&self.bytes, header, plane, &self.limits, buffer)
    }

    /// Detach from the input buffer.
    pub fn into_owned(self) -> Fits<'static> {
        Fits {
            bytes: Cow::Owned(self.bytes.into_owned()),
            hdus: self.hdus,
            limits: self.limits,
            gzipped: self.gzipped,
            headers_only: self.headers_only,
        }
    }
}

impl Fits<'static> {
    /// A header-only file from a finished [`HeaderWalk`]: HDU listing and headers as
    /// [`Fits::parse`] gives them; pixel access ([`Fits::image`], [`Fits::data_unit`]) answers
    /// [`FitsError::Unsupported`].
    pub fn from_header_walk(walk: HeaderWalk) -> Result<Fits<'static>, FitsError> {
        Ok(Fits {
            bytes: Cow::Owned(Vec::new()),
            hdus: walk.finish()?,
            limits: Limits::default(),
            gzipped: false,
            headers_only: true,
        })
    }

    /// Parse an owned buffer without copying it.
    pub fn from_vec(bytes: Vec<u8>) -> Result<Fits<'static>, FitsError> {
        Fits::from_vec_with_limits(bytes, Limits::default())
    }

    /// Parse an owned buffer with explicit limits.
    pub fn from_vec_with_limits(bytes: Vec<u8>, limits: Limits) -> Result<Fits<'static>, FitsError> {
        if inflate::is_gzip(&bytes) {
            let plain = inflate::inflate(&bytes, limits.max_inflated_bytes, "gzip file")?;
            return Fits::from_cow(Cow::Owned(plain), limits, true);
        }
        Fits::from_cow(Cow::Owned(bytes), limits, false)
    }
}

/// Index of a plane from per-axis indices along NAXIS3, NAXIS4, … (e.g. `[channel, stokes]`),
/// given the image shape in numpy order. `None` when an index is out of range.
pub fn plane_index(shape: &[u64], indices: &[u64]) -> Option<usize> {
    let fits_axes: Vec<u64> = shape.iter().rev().skip(2).copied().collect();
    if indices.len() > fits_axes.len() {
        return None;
    }
    let mut plane = 0u64;
    let mut stride = 1u64;
    for (i, &n) in fits_axes.iter().enumerate() {
        let k = indices.get(i).copied().unwrap_or(0);
        if k >= n {
            return None;
        }
        plane = plane.checked_add(k.checked_mul(stride)?)?;
        stride = stride.checked_mul(n)?;
    }
    usize::try_from(plane).ok()
}
