//! SAOImage DS9 region files (format version 4.1, as DS9 7.x/8.x write them).
//!
//! **Reading** ([`parse`]) understands:
//! - the `# Region file format` header and other `#` comment lines (DS9's comment-only shapes
//!   such as `# text(…)`, `# vector(…)` or `# composite(…)` are skipped);
//! - `global` lines: a `color=` there (other than DS9's default green) colours the regions after
//!   it that have no colour of their own; the rest of a `global` line is ignored;
//! - coordinate systems `image`, `physical` (taken as image: `LTM`/`LTV` are not applied),
//!   `fk5`, `j2000`, `icrs` (interchangeable), `galactic`, and `wcs` (the [`SkyTransform`]'s own
//!   frame); other systems (`fk4`, `ecliptic`, `linear`, …) are refused;
//! - shapes `circle`, `box`, `ellipse`, `polygon`, `line`, `point` (also `circle point` and the
//!   other `<type> point` forms), with arguments in parentheses or separated by spaces, several
//!   per line separated by `;`, a leading `+` (include) allowed;
//! - properties after a shape's `#`: `text={…}` (or `"…"`, `'…'`) becomes the label, `color=`
//!   (a DS9 colour name — green, red, blue, cyan, magenta, yellow, white, black — or `#rrggbb`)
//!   the colour; unknown colour names and other properties are ignored.
//!
//! Positions in `image` are 1-based and become 0-based pixels. Sky positions are degrees,
//! sexagesimal (`12:34:56.7 +12:34:56`, `12h34m56.7s +12d34m56s`; hours for right ascension) or
//! carry a `d`/`r` suffix, and go through [`SkyTransform::world_to_pixel`]. Sizes are pixels in
//! `image`; in sky systems a bare number is degrees. Either way a `"`, `'`, `d` or `r` suffix
//! makes them angular and an `i`/`p` suffix pixels. Angular sizes become pixels with the local
//! pixel scale (geometric mean of the scales along x and y, measured one pixel from the region's
//! centre through [`SkyTransform::pixel_to_world`]). **Angles are taken as given** in every
//! system: exact for north-up images without rotation, an approximation otherwise.
//!
//! Exclusion regions (`-circle(…)`), annuli, pandas and other shapes are refused with a
//! [`RegionError::Parse`](crate::RegionError::Parse) naming the line. Regions get ids `r1`, `r2`, … in file order, and the
//! result always passes [`RegionSet::validate`](crate::RegionSet::validate).
//!
//! **Writing** ([`write`]) produces the header, `global color=green`, then `image` with 1-based
//! positions or, given a [`SkyTransform`], its frame (`fk5`, `icrs` or `galactic`) with positions
//! in degrees and sizes in arcseconds (`"`). Numbers are written in their shortest exact form,
//! so reading the file back reproduces the set. A region the transform cannot convert is written
//! in `image` coordinates instead. Labels and colours become `text={…}` and `color=#rrggbb`;
//! line breaks in labels become spaces.

use serde::{Deserialize, Serialize};

mod props;
mod reader;
mod sky;
#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap what they built
mod tests;
mod writer;

pub use reader::parse;
pub use writer::{HEADER, write};

/// The celestial frame of a [`SkyTransform`]'s world coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkyFrame {
    Icrs,
    Fk5,
    Galactic,
}

impl SkyFrame {
    /// The DS9 coordinate-system keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            SkyFrame::Icrs => "icrs",
            SkyFrame::Fk5 => "fk5",
            SkyFrame::Galactic => "galactic",
        }
    }

    /// Whether positions in `self` can be used with a transform in `other` without conversion
    /// (ICRS and FK5 J2000 are treated as the same frame).
    pub fn compatible(self, other: SkyFrame) -> bool {
        self.is_equatorial() == other.is_equatorial()
    }

    /// ICRS or FK5: longitudes are right ascensions (sexagesimal in hours).
    pub fn is_equatorial(self) -> bool {
        matches!(self, SkyFrame::Icrs | SkyFrame::Fk5)
    }
}

/// The image's world coordinate system, as two closures (typically over `ch-wcs`).
///
/// World coordinates are `(longitude, latitude)` in degrees in `frame`; pixels are 0-based image
/// pixels as everywhere in this crate. Either closure returns `None` where it has no answer.
#[derive(Clone, Copy)]
pub struct SkyTransform<'a> {
    pub world_to_pixel: &'a dyn Fn(f64, f64) -> Option<(f64, f64)>,
    pub pixel_to_world: &'a dyn Fn(f64, f64) -> Option<(f64, f64)>,
    pub frame: SkyFrame,
}

impl std::fmt::Debug for SkyTransform<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkyTransform")
            .field("frame", &self.frame)
            .finish_non_exhaustive()
    }
}
