//! World coordinate systems for FITS images: pure functions, no I/O, builds for native and
//! `wasm32-unknown-unknown`, and never panics on header content.
//!
//! Implements the FITS WCS papers directly: Paper I (linear part: `PCi_j`+`CDELTi`, `CDi_j`,
//! legacy `CROTA2`), Paper II (Calabretta & Greisen 2002: all 27 projections except XPH, plus
//! NCP and GLS; LONPOLE/LATPOLE/`PVi_m`), Paper III (spectral axes incl. `X2P` non-linear
//! algorithms and `-LOG`), SIP distortion, and the Stokes axis. Numerical conventions follow
//! WCSLIB, so results agree with astropy (checked in `tests/astropy.rs`).
//!
//! ```
//! use ch_wcs::Wcs;
//!
//! let wcs = Wcs::from_cards([
//!     ("NAXIS", "2"),
//!     ("CTYPE1", "'RA---TAN'"), ("CTYPE2", "'DEC--TAN'"),
//!     ("CRVAL1", "83.633"), ("CRVAL2", "22.0145"),
//!     ("CRPIX1", "100.5"), ("CRPIX2", "100.5"),
//!     ("CDELT1", "-2.777777777778D-04"), ("CDELT2", "2.777777777778D-04"),
//! ])?;
//! let (ra, dec) = wcs.pixel_to_world(99.5, 99.5).expect("inside the projection");
//! assert!((ra - 83.633).abs() < 1e-12 && (dec - 22.0145).abs() < 1e-12);
//! let (x, y) = wcs.world_to_pixel(ra, dec).expect("round trip");
//! assert!((x - 99.5).abs() < 1e-9 && (y - 99.5).abs() < 1e-9);
//! println!("{} {}", ch_wcs::format::ra_hms(ra, 2), ch_wcs::format::dec_dms(dec, 1));
//! # Ok::<(), ch_wcs::WcsError>(())
//! ```
//!
//! Public API:
//! - [`Wcs::from_cards`], [`Wcs::from_cards_with_key`] (alternate descriptions `A`..`Z`),
//!   [`Wcs::from_header_text`]; cards are `(keyword, raw value text)` pairs.
//! - [`Wcs::pixel_to_world`] / [`Wcs::world_to_pixel`]: 0-based pixels ↔ degrees, `None`
//!   outside a projection's domain; [`Wcs::pixel_to_galactic`], [`Wcs::pixel_to_equatorial`].
//! - [`Wcs::ctype`], [`Wcs::frame`], [`Wcs::projection`], [`Wcs::cd_matrix`],
//!   [`Wcs::summary`] ([`WcsSummary`] is `serde::Serialize`).
//! - [`Wcs::spectral`] → [`SpectralAxis`] (pixel ↔ value in SI units), [`Wcs::stokes`] →
//!   [`StokesAxis`].
//! - [`frames::convert`] between ICRS, FK5, FK4 (E-terms), FK4-NO-E at any equinox, galactic,
//!   ecliptic and supergalactic, following astropy's transform graph;
//!   [`frames::equatorial_to_galactic`], [`frames::galactic_to_equatorial`],
//!   [`format::ra_hms`], [`format::dec_dms`].
//! - [`Wcs::warnings`]: what was repaired or ignored to read a real-world header (unit
//!   spellings via a WCSLIB-`wcsutrn`-like translator, deprecated keywords read as `wcsfix`
//!   does, unparseable auxiliary values ignored); [`Wcs::observation`] (DATE-OBS / MJD-OBS).
//!
//! Not supported: `-TAB` lookup tables, TPV/TNX/ZPX polynomial distortions, DSS plate
//! solutions, `XPH`, grism spectral algorithms, apparent-place (GAPPT) and heliocentric
//! frames, and coupling between celestial and non-celestial axes in the PC matrix (it is
//! ignored).

mod card;
mod celestial;
pub mod format;
pub mod frames;
mod header;
mod observation;
mod proj;
mod sip;
mod spectral;
mod sphere;
mod summary;
mod trig;
mod units;
mod wcs;

pub use frames::Frame;
pub use observation::Observation;
pub use proj::SUPPORTED_CODES as SUPPORTED_PROJECTIONS;
pub use spectral::{SpectralAxis, SpectralKind, Stokes, StokesAxis};
pub use summary::{CelestialSummary, SpectralSummary, StokesSummary, WcsSummary};
pub use wcs::Wcs;

/// Why a header could not be turned into a [`Wcs`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WcsError {
    /// The header has no usable celestial (or spectral) description.
    #[error("no usable celestial WCS: {reason}")]
    NoCelestialWcs { reason: String },
    /// A WCS keyword is present but its value cannot be used.
    #[error("invalid value for {keyword}: {value}")]
    InvalidValue { keyword: String, value: String },
}

pub(crate) fn no_celestial(reason: impl Into<String>) -> WcsError {
    WcsError::NoCelestialWcs { reason: reason.into() }
}
