//! Regions drawn in the viewer, in **image pixel** coordinates (0-based, pixel centres on
//! integers, as `ch_fits::region`; FITS pixel (1, 1) is `(0, 0)`). Angles in degrees,
//! counter-clockwise from +x.
//!
//! A [`RegionSet`] is what the server stores per image and what a share link carries; it
//! validates itself ([`RegionSet::validate`]) so bad input is refused with a message naming the
//! region and field. DS9 region files are read and written by [`ds9`].
//!
//! The editor's geometry operations live on [`Geometry`]: [`Geometry::translate`],
//! [`Geometry::outline`], [`Geometry::handles`], [`Geometry::drag_handle`], [`Geometry::hit`] and
//! [`Geometry::centre`]. [`profile`] samples image values along a line.

pub mod ds9;
mod edit;
mod profile;
mod validate;

pub use edit::{MIN_SIZE, OUTLINE_SEGMENTS};
pub use profile::{MAX_PROFILE_SAMPLES, ProfileSample, image_profile, profile};
pub use validate::{MAX_ID_CHARS, MAX_LABEL_CHARS};

use ch_fits::region::Shape;
use serde::{Deserialize, Serialize};

/// Most regions one image may carry.
pub const MAX_REGIONS: usize = 1000;
/// Most vertices one polygon may have.
pub const MAX_VERTICES: usize = 10_000;

/// The geometry of a region. JSON: `{"shape": "circle", "x": 10, "y": 12, "r": 3}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case", deny_unknown_fields)]
pub enum Geometry {
    Circle {
        x: f64,
        y: f64,
        r: f64,
    },
    /// Full `width` × `height`, rotated by `angle`.
    Box {
        x: f64,
        y: f64,
        width: f64,
        height: f64,
        #[serde(default)]
        angle: f64,
    },
    /// Semi-axes `a` (along the rotated x axis) and `b`.
    Ellipse {
        x: f64,
        y: f64,
        a: f64,
        b: f64,
        #[serde(default)]
        angle: f64,
    },
    Polygon {
        vertices: Vec<[f64; 2]>,
    },
    /// A segment; the viewer plots the profile of values along it.
    Line {
        x1: f64,
        y1: f64,
        x2: f64,
        y2: f64,
    },
    Point {
        x: f64,
        y: f64,
    },
}

/// One region with its display properties.
///
/// JSON: the geometry's fields sit beside `id`, `label` and `color`. Unknown fields are refused
/// by [`Geometry`] (serde's `deny_unknown_fields` cannot be used on a struct with a flattened
/// field: it refused every region).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// Client-chosen identifier, unique within its set (1–64 characters).
    pub id: String,
    #[serde(flatten)]
    pub geometry: Geometry,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// All regions of one image.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSet {
    pub regions: Vec<Region>,
}

/// Why a region or region file is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegionError {
    /// `path` names the offending item, e.g. `regions[3].r`.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    /// A DS9 file line that cannot be read (1-based line number).
    #[error("line {line}: {message}")]
    Parse { line: usize, message: String },
}

impl Geometry {
    /// The shape used for statistics; lines and points have no area (`None`).
    pub fn to_shape(&self) -> Option<Shape> {
        Some(match self {
            Geometry::Circle { x, y, r } => Shape::Circle { x: *x, y: *y, r: *r },
            Geometry::Box {
                x,
                y,
                width,
                height,
                angle,
            } => Shape::Box {
                x: *x,
                y: *y,
                width: *width,
                height: *height,
                angle: *angle,
            },
            Geometry::Ellipse { x, y, a, b, angle } => Shape::Ellipse {
                x: *x,
                y: *y,
                a: *a,
                b: *b,
                angle: *angle,
            },
            Geometry::Polygon { vertices } => Shape::Polygon {
                vertices: vertices.clone(),
            },
            Geometry::Line { .. } | Geometry::Point { .. } => return None,
        })
    }
}
