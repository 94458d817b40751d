//! Regions in **pixel** coordinates, statistics over them, and flux density.
//!
//! Coordinates are 0-based with pixel centres on integers, as in astropy: FITS pixel (1, 1) is
//! `(0.0, 0.0)`, and pixel `(x, y)` covers `[x - 0.5, x + 0.5] × [y - 0.5, y + 0.5]`.
//! **Membership rule:** a pixel belongs to a shape when its centre lies inside the shape or on its
//! boundary (polygons use the even-odd rule; a centre exactly on a polygon edge may fall either
//! side). Angles are in degrees, counter-clockwise from the +x axis (DS9's image convention).
//!
//! World-coordinate regions are converted by the caller (the WCS crate) before they reach here:
//! centres and vertices through world→pixel, radii and sizes divided by the pixel scale.

use serde::{Deserialize, Serialize};

use crate::beam::{Beam, flux_density_with};
pub use crate::beam::{FluxDensity, beam_area_pixels, flux_density};
use crate::header::Header;
use crate::image::{Image, Sample};
use crate::stats::Stats;

/// A shape in pixel coordinates. JSON: `{"shape": "circle", "x": 10, "y": 12, "r": 3}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum Shape {
    /// Centre `(x, y)`, radius `r`.
    Circle { x: f64, y: f64, r: f64 },
    /// Centre, full `width` (along the rotated x axis) and `height`, rotation `angle`.
    Box {
        x: f64,
        y: f64,
        width: f64,
        height: f64,
        #[serde(default)]
        angle: f64,
    },
    /// Centre, semi-axes `a` (along the rotated x axis) and `b`, rotation `angle`.
    Ellipse {
        x: f64,
        y: f64,
        a: f64,
        b: f64,
        #[serde(default)]
        angle: f64,
    },
    /// Vertices `[x, y]` in order (closed implicitly).
    Polygon { vertices: Vec<[f64; 2]> },
}

/// Offsets of `(px, py)` from `(x, y)` in the frame rotated by `angle` degrees.
fn rotated(px: f64, py: f64, x: f64, y: f64, angle: f64) -> (f64, f64) {
    let (dx, dy) = (px - x, py - y);
    let (s, c) = angle.to_radians().sin_cos();
    (dx * c + dy * s, -dx * s + dy * c)
}

impl Shape {
    /// Whether the point `(px, py)` is inside the shape (boundary included).
    pub fn contains(&self, px: f64, py: f64) -> bool {
        match *self {
            Shape::Circle { x, y, r } => {
                let (dx, dy) = (px - x, py - y);
                dx * dx + dy * dy <= r * r
            }
            Shape::Box {
                x,
                y,
                width,
                height,
                angle,
            } => {
                let (u, v) = rotated(px, py, x, y, angle);
                u.abs() <= width / 2.0 && v.abs() <= height / 2.0
            }
            Shape::Ellipse { x, y, a, b, angle } => {
                let (u, v) = rotated(px, py, x, y, angle);
                a > 0.0 && b > 0.0 && (u / a) * (u / a) + (v / b) * (v / b) <= 1.0
            }
            Shape::Polygon { ref vertices } => {
                let mut inside = false;
                let n = vertices.len();
                for i in 0..n {
                    let [xi, yi] = vertices[i];
                    let [xj, yj] = vertices[(i + n - 1) % n];
                    if (yi > py) != (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi {
                        inside = !inside;
                    }
                }
                inside
            }
        }
    }

    /// Bounding box `(xmin, xmax, ymin, ymax)` (NaN-free only for valid shapes).
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        let extent = |x: f64, y: f64, hx: f64, hy: f64| (x - hx, x + hx, y - hy, y + hy);
        match *self {
            Shape::Circle { x, y, r } => extent(x, y, r.abs(), r.abs()),
            Shape::Box {
                x,
                y,
                width,
                height,
                angle,
            } => {
                let (s, c) = angle.to_radians().sin_cos();
                let (w, h) = (width.abs() / 2.0, height.abs() / 2.0);
                extent(x, y, (w * c).abs() + (h * s).abs(), (w * s).abs() + (h * c).abs())
            }
            Shape::Ellipse { x, y, a, b, angle } => {
                let (s, c) = angle.to_radians().sin_cos();
                let hx = ((a * c).powi(2) + (b * s).powi(2)).sqrt();
                let hy = ((a * s).powi(2) + (b * c).powi(2)).sqrt();
                extent(x, y, hx, hy)
            }
            Shape::Polygon { ref vertices } => vertices.iter().fold(
                (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY),
                |(a, b, c, d), &[x, y]| (a.min(x), b.max(x), c.min(y), d.max(y)),
            ),
        }
    }
}

/// A region: the union of `include` shapes minus the union of `exclude` shapes (e.g. an
/// annulus is a circle excluding a smaller circle).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    pub include: Vec<Shape>,
    #[serde(default)]
    pub exclude: Vec<Shape>,
}

impl From<Shape> for Region {
    fn from(shape: Shape) -> Self {
        Region::new(shape)
    }
}

/// Statistics of a region plus its flux density.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionStats {
    pub stats: Stats,
    pub flux: FluxDensity,
}

impl Region {
    pub fn new(shape: Shape) -> Region {
        Region {
            include: vec![shape],
            exclude: Vec::new(),
        }
    }

    /// Add a shape to subtract.
    pub fn excluding(mut self, shape: Shape) -> Region {
        self.exclude.push(shape);
        self
    }

    /// Whether the pixel centre `(x, y)` belongs to the region.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        self.include.iter().any(|s| s.contains(x, y)) && !self.exclude.iter().any(|s| s.contains(x, y))
    }

    /// Row-major indices (`y * width + x`) of the pixels of a `width × height` image inside the
    /// region, in increasing order. Only the shapes' bounding boxes are scanned.
    pub fn pixel_indices(&self, width: usize, height: usize) -> Vec<usize> {
        let mut out = Vec::new();
        if width == 0 || height == 0 {
            return out;
        }
        let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
        for s in &self.include {
            let (a, b, c, d) = s.bounds();
            if [a, b, c, d].iter().all(|v| !v.is_nan()) {
                (x0, x1, y0, y1) = (x0.min(a), x1.max(b), y0.min(c), y1.max(d));
            }
        }
        if x0 > x1 || y0 > y1 {
            return out;
        }
        let clamp = |v: f64, max: usize| v.clamp(0.0, max as f64) as usize;
        let (xa, xb) = (clamp(x0.floor(), width - 1), clamp(x1.ceil(), width - 1));
        let (ya, yb) = (clamp(y0.floor(), height - 1), clamp(y1.ceil(), height - 1));
        if x0.ceil() > (width - 1) as f64 || x1 < 0.0 || y0.ceil() > (height - 1) as f64 || y1 < 0.0 {
            return out;
        }
        for y in ya..=yb {
            for x in xa..=xb {
                if self.contains(x as f64, y as f64) {
                    out.push(y * width + x);
                }
            }
        }
        out
    }

    /// Membership mask of a `width × height` image, row-major.
    pub fn mask(&self, width: usize, height: usize) -> Vec<bool> {
        let mut mask = vec![false; width.saturating_mul(height)];
        for i in self.pixel_indices(width, height) {
            if let Some(m) = mask.get_mut(i) {
                *m = true;
            }
        }
        mask
    }

    /// The image values inside the region (NaN included), as `f64`.
    pub fn values<T: Sample>(&self, image: &Image<T>) -> Vec<f64> {
        self.pixel_indices(image.width, image.height)
            .into_iter()
            .filter_map(|i| image.data.get(i).map(|v| v.to_f64()))
            .collect()
    }

    /// Statistics of the region's finite values (`nan_count` counts blank pixels inside it).
    pub fn stats<T: Sample>(&self, image: &Image<T>) -> Stats {
        Stats::from_values(self.values(image))
    }

    /// Statistics and flux density (see [`flux_density`]) using the image's header for the
    /// beam (keywords, else AIPS history cards).
    pub fn measure<T: Sample>(&self, image: &Image<T>, header: &Header) -> RegionStats {
        self.measure_with_beam(image, header, Beam::from_header(header))
    }

    /// [`Region::measure`] with a beam found elsewhere (e.g. [`crate::Fits::beam`], which also
    /// reads a CASA `BEAMS` table for the image's plane).
    pub fn measure_with_beam<T: Sample>(
        &self,
        image: &Image<T>,
        header: &Header,
        beam: Result<Beam, String>,
    ) -> RegionStats {
        let stats = self.stats(image);
        let flux = flux_density_with(stats.sum, header, beam);
        RegionStats { stats, flux }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let c = Shape::Circle { x: 2.0, y: 2.0, r: 1.0 };
        assert_eq!(Region::new(c.clone()).pixel_indices(5, 5), vec![7, 11, 12, 13, 17]);
        let annulus =
            Region::new(Shape::Circle { x: 2.0, y: 2.0, r: 1.5 }).excluding(Shape::Circle { x: 2.0, y: 2.0, r: 0.5 });
        assert_eq!(annulus.pixel_indices(5, 5).len(), 8);
        let square = Shape::Polygon {
            vertices: vec![[0.5, 0.5], [2.5, 0.5], [2.5, 2.5], [0.5, 2.5]],
        };
        assert_eq!(Region::new(square).pixel_indices(4, 4), vec![5, 6, 9, 10]);
        let rotated_box = Shape::Box {
            x: 2.0,
            y: 2.0,
            width: 3.0,
            height: 1.0,
            angle: 90.0,
        };
        assert_eq!(Region::new(rotated_box).pixel_indices(5, 5), vec![7, 12, 17]);
        let off = Shape::Circle {
            x: -10.0,
            y: 50.0,
            r: 2.0,
        };
        assert!(Region::new(off).pixel_indices(5, 5).is_empty());
        let nan = Shape::Circle {
            x: f64::NAN,
            y: 1.0,
            r: 2.0,
        };
        assert!(Region::new(nan).pixel_indices(5, 5).is_empty());
        let json = r#"{"shape":"ellipse","x":1,"y":2,"a":3,"b":1}"#;
        let e: Shape = serde_json::from_str(json).expect("json");
        assert!(e.contains(3.9, 2.0) && !e.contains(1.0, 3.1));
    }
}
