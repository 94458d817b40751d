//! SAOImage DS9 region files (format version 4.1, as DS9 7.x/8.x write them).
//!
//! **Reading** ([`parse`]) understands:
//! - the `# Region file format` header and other `#` comment lines (DS9's comment-only shapes
//!   such as `# text(…)`, `# vector(…)` or `# composite(…)` are skipped);
//! - `global` lines: a `color=` there (other than DS9's default green) colours the regions after
//!   it that have no colour of their own; the rest of a `global` line is ignored;
//! - coordinate systems `image`, `physical` (IRAF's `LTMi_j`/`LTVi`, see [`Physical`]; the
//!   same as `image` when the image has none), the sky systems `fk5`/`j2000` (FK5 J2000),
//!   `icrs`, `fk4`/`b1950` (FK4 B1950), `galactic`, `ecliptic` (J2000 mean ecliptic), and
//!   `wcs` (the image's own frame). A sky position in a frame other than the image's is
//!   converted to it with `ch_wcs::frames::convert` (astropy's transforms, to well under a
//!   milliarcsecond) before it is placed; a frame that cannot be converted (the image's is
//!   planetary or apparent-place) is an error naming both frames. `linear`, `amplifier`,
//!   `detector` and the alternate `wcsa`…`wcsz` systems are refused by name;
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
//! [`import`] reads like [`parse`] but skips (and lists) regions whose position has no pixel on
//! this image — e.g. a galactic position more than 90° from a TAN image's centre — so one far
//! region does not refuse the whole file; [`parse`] refuses the file instead.
//!
//! **Writing** ([`write`]) produces the header, `global color=green`, then `image` with 1-based
//! positions or, given a [`SkyTransform`], the DS9 system of the image's frame
//! ([`Ds9Sky::for_frame`]; frames DS9 has no keyword for are written as `fk5`) with positions
//! in degrees and sizes in arcseconds (`"`); [`write_in`] writes in a chosen DS9 system,
//! converting positions from the image's frame. Numbers are written in their shortest exact
//! form, so reading the file back reproduces the set. A region the transform cannot convert is
//! written in `image` coordinates instead. Labels and colours become `text={…}` and
//! `color=#rrggbb`; line breaks in labels become spaces.

use serde::{Deserialize, Serialize};

mod props;
mod reader;
mod sky;
#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap what they built
mod tests;
mod writer;

pub use ch_wcs::Frame;
pub use reader::{Import, Skipped, import, parse, parse_with};
pub use writer::{HEADER, write, write_in};

/// A DS9 sky coordinate system: the frames DS9 region files name, each with DS9's fixed
/// equinox (`fk5` is FK5 J2000, `fk4` FK4 B1950, `ecliptic` the J2000 mean ecliptic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ds9Sky {
    Icrs,
    Fk5,
    Fk4,
    Galactic,
    Ecliptic,
}

impl Ds9Sky {
    /// Every system, in the order DS9's menu lists them.
    pub const ALL: [Ds9Sky; 5] = [
        Ds9Sky::Fk5,
        Ds9Sky::Fk4,
        Ds9Sky::Icrs,
        Ds9Sky::Galactic,
        Ds9Sky::Ecliptic,
    ];

    /// The DS9 coordinate-system keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Ds9Sky::Icrs => "icrs",
            Ds9Sky::Fk5 => "fk5",
            Ds9Sky::Fk4 => "fk4",
            Ds9Sky::Galactic => "galactic",
            Ds9Sky::Ecliptic => "ecliptic",
        }
    }

    /// The system a DS9 keyword names (`j2000` = `fk5`, `b1950` = `fk4`), case-insensitive.
    pub fn from_keyword(word: &str) -> Option<Ds9Sky> {
        Some(match word.to_ascii_lowercase().as_str() {
            "icrs" => Ds9Sky::Icrs,
            "fk5" | "j2000" => Ds9Sky::Fk5,
            "fk4" | "b1950" => Ds9Sky::Fk4,
            "galactic" => Ds9Sky::Galactic,
            "ecliptic" => Ds9Sky::Ecliptic,
            _ => return None,
        })
    }

    /// The reference frame this system stands for.
    pub fn frame(self) -> Frame {
        match self {
            Ds9Sky::Icrs => Frame::Icrs,
            Ds9Sky::Fk5 => Frame::Fk5 { equinox: 2000.0 },
            Ds9Sky::Fk4 => Frame::Fk4 { equinox: 1950.0 },
            Ds9Sky::Galactic => Frame::Galactic,
            Ds9Sky::Ecliptic => Frame::Ecliptic { equinox: None },
        }
    }

    /// The system to write an image's regions in: the one naming the image's frame, else
    /// `fk5` (FK5 at other equinoxes, FK4 at other equinoxes, FK4-NO-E, supergalactic …).
    pub fn for_frame(frame: &Frame) -> Ds9Sky {
        Ds9Sky::ALL
            .into_iter()
            .find(|s| &s.frame() == frame)
            .unwrap_or(match frame {
                Frame::Ecliptic { equinox: Some(e) } if *e == 2000.0 => Ds9Sky::Ecliptic,
                _ => Ds9Sky::Fk5,
            })
    }

    /// Whether longitudes in this system are right ascensions (sexagesimal in hours).
    pub fn is_equatorial(self) -> bool {
        matches!(self, Ds9Sky::Icrs | Ds9Sky::Fk5 | Ds9Sky::Fk4)
    }
}

/// Whether a frame's longitudes are right ascensions.
pub(crate) fn is_equatorial(frame: &Frame) -> bool {
    matches!(
        frame,
        Frame::Icrs | Frame::Fk5 { .. } | Frame::Fk4 { .. } | Frame::Fk4NoE { .. } | Frame::Gappt
    )
}

/// The image's world coordinate system, as two closures (typically over `ch-wcs`).
///
/// World coordinates are `(longitude, latitude)` in degrees in `frame`, the image's reference
/// frame (`Wcs::frame`); pixels are 0-based image pixels as everywhere in this crate. Either
/// closure returns `None` where it has no answer.
#[derive(Clone, Copy)]
pub struct SkyTransform<'a> {
    pub world_to_pixel: &'a dyn Fn(f64, f64) -> Option<(f64, f64)>,
    pub pixel_to_world: &'a dyn Fn(f64, f64) -> Option<(f64, f64)>,
    pub frame: &'a Frame,
}

/// IRAF's physical coordinates (`LTMi_j`, `LTVi` header keywords): image = LTM · physical +
/// LTV, with FITS 1-based pixels on both sides. The identity when the image has neither.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Physical {
    /// Rows: image x, y; columns: physical x, y.
    pub ltm: [[f64; 2]; 2],
    pub ltv: [f64; 2],
}

impl Default for Physical {
    fn default() -> Self {
        Physical {
            ltm: [[1.0, 0.0], [0.0, 1.0]],
            ltv: [0.0, 0.0],
        }
    }
}

impl Physical {
    /// From header cards: `LTM1_1`, `LTM1_2`, `LTM2_1`, `LTM2_2` (defaults 1, 0, 0, 1) and
    /// `LTV1`, `LTV2` (default 0), looked up through `number`. `None` when the matrix is singular.
    pub fn from_keywords(number: impl Fn(&str) -> Option<f64>) -> Option<Physical> {
        let m = |k: &str, d: f64| number(k).unwrap_or(d);
        let p = Physical {
            ltm: [
                [m("LTM1_1", 1.0), m("LTM1_2", 0.0)],
                [m("LTM2_1", 0.0), m("LTM2_2", 1.0)],
            ],
            ltv: [m("LTV1", 0.0), m("LTV2", 0.0)],
        };
        let det = p.ltm[0][0] * p.ltm[1][1] - p.ltm[0][1] * p.ltm[1][0];
        (det != 0.0 && det.is_finite()).then_some(p)
    }

    /// Physical (1-based) → image (1-based).
    pub fn to_image(&self, px: f64, py: f64) -> (f64, f64) {
        let m = &self.ltm;
        (
            m[0][0] * px + m[0][1] * py + self.ltv[0],
            m[1][0] * px + m[1][1] * py + self.ltv[1],
        )
    }

    /// The image-pixel length of `len` physical pixels (√|det LTM| · len).
    pub fn scale(&self) -> f64 {
        let m = &self.ltm;
        (m[0][0] * m[1][1] - m[0][1] * m[1][0]).abs().sqrt()
    }
}

/// Runs `f` with the [`SkyTransform`] of `wcs` (in its own frame), or with `None` when there is
/// no WCS or it has no celestial axes.
pub fn with_wcs<R>(wcs: Option<&ch_wcs::Wcs>, f: impl FnOnce(Option<&SkyTransform<'_>>) -> R) -> R {
    let Some((wcs, frame)) = wcs.and_then(|w| Some((w, w.frame()?.clone()))) else {
        return f(None);
    };
    let to_pixel = |a: f64, b: f64| wcs.world_to_pixel(a, b);
    let to_world = |x: f64, y: f64| wcs.pixel_to_world(x, y);
    f(Some(&SkyTransform {
        world_to_pixel: &to_pixel,
        pixel_to_world: &to_world,
        frame: &frame,
    }))
}

impl std::fmt::Debug for SkyTransform<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkyTransform")
            .field("frame", &self.frame)
            .finish_non_exhaustive()
    }
}
