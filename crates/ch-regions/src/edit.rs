//! Geometry operations for the interactive editor: moving, drawing, resize handles, hit tests.
//!
//! Everything is in image pixels (0-based), angles in degrees counter-clockwise from +x.
//! Closed outlines (circle, box, ellipse, polygon) are closed implicitly: the last point joins
//! the first.

use std::f64::consts::TAU;

use crate::Geometry;

/// Segments used to draw a circle or an ellipse.
pub const OUTLINE_SEGMENTS: usize = 64;
/// Smallest width, height, radius or semi-axis a handle drag leaves.
pub const MIN_SIZE: f64 = 0.5;

/// `(u, v)` in the frame rotated by `angle` degrees about `(cx, cy)` → image pixels.
fn to_image(cx: f64, cy: f64, angle: f64, u: f64, v: f64) -> [f64; 2] {
    let (s, c) = angle.to_radians().sin_cos();
    [cx + u * c - v * s, cy + u * s + v * c]
}

/// Image pixels → `(u, v)` in the frame rotated by `angle` degrees about `(cx, cy)`.
fn to_frame(cx: f64, cy: f64, angle: f64, x: f64, y: f64) -> (f64, f64) {
    let (dx, dy) = (x - cx, y - cy);
    let (s, c) = angle.to_radians().sin_cos();
    (dx * c + dy * s, -dx * s + dy * c)
}

/// Distance from `p` to the segment `a`–`b`.
fn segment_distance(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (ex, ey) = (b[0] - a[0], b[1] - a[1]);
    let len2 = ex * ex + ey * ey;
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * ex + (p[1] - a[1]) * ey) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p[0] - (a[0] + t * ex)).hypot(p[1] - (a[1] + t * ey))
}

/// Distance from `p` to the closed polyline through `points`.
fn outline_distance(p: [f64; 2], points: &[[f64; 2]]) -> f64 {
    let n = points.len();
    (0..n)
        .map(|i| segment_distance(p, points[i], points[(i + 1) % n]))
        .fold(f64::INFINITY, f64::min)
}

fn ellipse_points(x: f64, y: f64, a: f64, b: f64, angle: f64) -> Vec<[f64; 2]> {
    (0..OUTLINE_SEGMENTS)
        .map(|i| {
            let t = TAU * i as f64 / OUTLINE_SEGMENTS as f64;
            let (s, c) = t.sin_cos();
            to_image(x, y, angle, a * c, b * s)
        })
        .collect()
}

/// Corners of a box, counter-clockwise from the (−w/2, −h/2) corner of its rotated frame.
fn box_corners(x: f64, y: f64, width: f64, height: f64, angle: f64) -> Vec<[f64; 2]> {
    let (hw, hh) = (width / 2.0, height / 2.0);
    [(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)]
        .into_iter()
        .map(|(u, v)| to_image(x, y, angle, u, v))
        .collect()
}

impl Geometry {
    /// Moves the whole region by `(dx, dy)` pixels.
    pub fn translate(&mut self, dx: f64, dy: f64) {
        match self {
            Geometry::Circle { x, y, .. }
            | Geometry::Box { x, y, .. }
            | Geometry::Ellipse { x, y, .. }
            | Geometry::Point { x, y } => {
                *x += dx;
                *y += dy;
            }
            Geometry::Polygon { vertices } => {
                for v in vertices {
                    v[0] += dx;
                    v[1] += dy;
                }
            }
            Geometry::Line { x1, y1, x2, y2 } => {
                *x1 += dx;
                *y1 += dy;
                *x2 += dx;
                *y2 += dy;
            }
        }
    }

    /// Points to draw, in image pixels: circles and ellipses as [`OUTLINE_SEGMENTS`] points, a
    /// box as its 4 (rotated) corners, a polygon as its vertices (all closed implicitly), a line
    /// as its 2 ends, a point as itself.
    pub fn outline(&self) -> Vec<[f64; 2]> {
        match *self {
            Geometry::Circle { x, y, r } => ellipse_points(x, y, r, r, 0.0),
            Geometry::Box {
                x,
                y,
                width,
                height,
                angle,
            } => box_corners(x, y, width, height, angle),
            Geometry::Ellipse { x, y, a, b, angle } => ellipse_points(x, y, a, b, angle),
            Geometry::Polygon { ref vertices } => vertices.clone(),
            Geometry::Line { x1, y1, x2, y2 } => vec![[x1, y1], [x2, y2]],
            Geometry::Point { x, y } => vec![[x, y]],
        }
    }

    /// Resize handles, indexed as [`Geometry::drag_handle`] expects: a circle has one on its rim
    /// at +x; a box its 4 corners (as [`Geometry::outline`]); an ellipse the ends of its axes in
    /// the order +a, −a, +b, −b; a polygon its vertices; a line its two ends; a point none.
    pub fn handles(&self) -> Vec<[f64; 2]> {
        match *self {
            Geometry::Circle { x, y, r } => vec![[x + r, y]],
            Geometry::Ellipse { x, y, a, b, angle } => vec![
                to_image(x, y, angle, a, 0.0),
                to_image(x, y, angle, -a, 0.0),
                to_image(x, y, angle, 0.0, b),
                to_image(x, y, angle, 0.0, -b),
            ],
            Geometry::Point { .. } => Vec::new(),
            Geometry::Box { .. } | Geometry::Polygon { .. } | Geometry::Line { .. } => self.outline(),
        }
    }

    /// Moves handle `index` (see [`Geometry::handles`]) to `(x, y)` and resizes accordingly.
    ///
    /// Circle: the radius becomes the distance from the centre. Box: the centre and angle stay;
    /// width and height become twice the dragged corner's offsets in the rotated frame. Ellipse:
    /// handles 0–1 set `a`, 2–3 set `b`, to the distance from the centre. Sizes never drop below
    /// [`MIN_SIZE`]. Polygon and line: that vertex or end moves (a line end dropped exactly on
    /// the other end is ignored). An index out of range or a non-finite position does nothing.
    pub fn drag_handle(&mut self, index: usize, x: f64, y: f64) {
        if !(x.is_finite() && y.is_finite()) {
            return;
        }
        match self {
            Geometry::Circle { x: cx, y: cy, r } => {
                if index == 0 {
                    *r = (x - *cx).hypot(y - *cy).max(MIN_SIZE);
                }
            }
            Geometry::Box {
                x: cx,
                y: cy,
                width,
                height,
                angle,
            } => {
                if index < 4 {
                    let (u, v) = to_frame(*cx, *cy, *angle, x, y);
                    *width = (2.0 * u.abs()).max(MIN_SIZE);
                    *height = (2.0 * v.abs()).max(MIN_SIZE);
                }
            }
            Geometry::Ellipse { x: cx, y: cy, a, b, .. } => {
                let d = (x - *cx).hypot(y - *cy).max(MIN_SIZE);
                match index {
                    0 | 1 => *a = d,
                    2 | 3 => *b = d,
                    _ => {}
                }
            }
            Geometry::Polygon { vertices } => {
                if let Some(v) = vertices.get_mut(index) {
                    *v = [x, y];
                }
            }
            Geometry::Line { x1, y1, x2, y2 } => match index {
                0 if !(x == *x2 && y == *y2) => (*x1, *y1) = (x, y),
                1 if !(x == *x1 && y == *y1) => (*x2, *y2) = (x, y),
                _ => {}
            },
            Geometry::Point { .. } => {}
        }
    }

    /// Whether `(x, y)` picks this region: inside an area shape (boundary included) or within
    /// `tolerance` pixels of its outline, of a line segment, or of a point. A negative or
    /// non-finite tolerance counts as 0.
    pub fn hit(&self, x: f64, y: f64, tolerance: f64) -> bool {
        let tol = if tolerance.is_finite() { tolerance.max(0.0) } else { 0.0 };
        let p = [x, y];
        match *self {
            Geometry::Circle { x: cx, y: cy, r } => (x - cx).hypot(y - cy) <= r.abs() + tol,
            Geometry::Line { x1, y1, x2, y2 } => segment_distance(p, [x1, y1], [x2, y2]) <= tol,
            Geometry::Point { x: px, y: py } => (x - px).hypot(y - py) <= tol,
            Geometry::Box { .. } | Geometry::Ellipse { .. } | Geometry::Polygon { .. } => {
                let inside = self.to_shape().is_some_and(|s| s.contains(x, y));
                inside || outline_distance(p, &self.outline()) <= tol
            }
        }
    }

    /// The region's centre: the centre of a circle, box or ellipse; the area centroid of a
    /// polygon (the mean of its vertices when its area is zero; NaN when it has none); the
    /// midpoint of a line; a point itself.
    pub fn centre(&self) -> [f64; 2] {
        match *self {
            Geometry::Circle { x, y, .. }
            | Geometry::Box { x, y, .. }
            | Geometry::Ellipse { x, y, .. }
            | Geometry::Point { x, y } => [x, y],
            Geometry::Line { x1, y1, x2, y2 } => [(x1 + x2) / 2.0, (y1 + y2) / 2.0],
            Geometry::Polygon { ref vertices } => polygon_centroid(vertices),
        }
    }
}

fn polygon_centroid(vertices: &[[f64; 2]]) -> [f64; 2] {
    let n = vertices.len();
    if n == 0 {
        return [f64::NAN; 2];
    }
    // Relative to the first vertex, for precision far from the origin.
    let o = vertices[0];
    let (mut area2, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (a, b) = (vertices[i], vertices[(i + 1) % n]);
        let (ax, ay, bx, by) = (a[0] - o[0], a[1] - o[1], b[0] - o[0], b[1] - o[1]);
        let cross = ax * by - bx * ay;
        area2 += cross;
        sx += (ax + bx) * cross;
        sy += (ay + by) * cross;
    }
    let scale = vertices
        .iter()
        .map(|v| (v[0] - o[0]).abs().max((v[1] - o[1]).abs()))
        .fold(0.0, f64::max);
    if area2.abs() > 1e-12 * scale * scale && area2.is_finite() {
        [o[0] + sx / (3.0 * area2), o[1] + sy / (3.0 * area2)]
    } else {
        let k = n as f64;
        let (mx, my) = vertices.iter().fold((0.0, 0.0), |(mx, my), v| (mx + v[0], my + v[1]));
        [mx / k, my / k]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap what they built
mod tests {
    use super::*;

    fn close(a: [f64; 2], b: [f64; 2]) -> bool {
        (a[0] - b[0]).abs() < 1e-9 && (a[1] - b[1]).abs() < 1e-9
    }

    fn rotated_box() -> Geometry {
        Geometry::Box {
            x: 10.0,
            y: 20.0,
            width: 4.0,
            height: 2.0,
            angle: 90.0,
        }
    }

    #[test]
    fn translate_moves_every_shape() {
        let mut line = Geometry::Line {
            x1: 0.0,
            y1: 0.0,
            x2: 1.0,
            y2: 2.0,
        };
        line.translate(1.5, -1.0);
        assert_eq!(
            line,
            Geometry::Line {
                x1: 1.5,
                y1: -1.0,
                x2: 2.5,
                y2: 1.0
            }
        );
        let mut poly = Geometry::Polygon {
            vertices: vec![[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]],
        };
        poly.translate(1.0, 1.0);
        assert_eq!(poly.outline(), vec![[1.0, 1.0], [3.0, 1.0], [1.0, 3.0]]);
        let mut b = rotated_box();
        b.translate(-10.0, -20.0);
        assert_eq!(b.centre(), [0.0, 0.0]);
    }

    #[test]
    fn outlines_have_the_documented_points() {
        let c = Geometry::Circle { x: 1.0, y: 1.0, r: 2.0 };
        let pts = c.outline();
        assert_eq!(pts.len(), OUTLINE_SEGMENTS);
        assert!(close(pts[0], [3.0, 1.0]));
        assert!(close(pts[16], [1.0, 3.0]));
        assert!(pts.iter().all(|p| ((p[0] - 1.0).hypot(p[1] - 1.0) - 2.0).abs() < 1e-12));
        let corners = rotated_box().outline();
        assert_eq!(corners.len(), 4);
        // width 4 along the rotated x axis, which points along +y.
        assert!(close(corners[0], [11.0, 18.0]));
        assert!(close(corners[2], [9.0, 22.0]));
        let e = Geometry::Ellipse {
            x: 0.0,
            y: 0.0,
            a: 3.0,
            b: 1.0,
            angle: 90.0,
        };
        let pts = e.outline();
        assert_eq!(pts.len(), OUTLINE_SEGMENTS);
        assert!(close(pts[0], [0.0, 3.0]));
        assert_eq!(Geometry::Point { x: 1.0, y: 2.0 }.outline(), vec![[1.0, 2.0]]);
    }

    #[test]
    fn handles_match_shapes() {
        assert_eq!(Geometry::Circle { x: 1.0, y: 1.0, r: 2.0 }.handles(), vec![[3.0, 1.0]]);
        assert_eq!(rotated_box().handles().len(), 4);
        let e = Geometry::Ellipse {
            x: 0.0,
            y: 0.0,
            a: 3.0,
            b: 1.0,
            angle: 0.0,
        };
        let h = e.handles();
        assert!(close(h[0], [3.0, 0.0]) && close(h[1], [-3.0, 0.0]));
        assert!(close(h[2], [0.0, 1.0]) && close(h[3], [0.0, -1.0]));
        assert!(Geometry::Point { x: 0.0, y: 0.0 }.handles().is_empty());
    }

    #[test]
    fn dragging_handles_resizes() {
        let mut c = Geometry::Circle { x: 0.0, y: 0.0, r: 1.0 };
        c.drag_handle(0, 3.0, 4.0);
        assert_eq!(c, Geometry::Circle { x: 0.0, y: 0.0, r: 5.0 });
        c.drag_handle(0, 0.0, 0.0);
        assert_eq!(
            c,
            Geometry::Circle {
                x: 0.0,
                y: 0.0,
                r: MIN_SIZE
            }
        );
        c.drag_handle(1, 9.0, 9.0);
        c.drag_handle(0, f64::NAN, 9.0);
        assert_eq!(
            c,
            Geometry::Circle {
                x: 0.0,
                y: 0.0,
                r: MIN_SIZE
            }
        );

        let mut b = rotated_box();
        // In the box frame (rotated 90°), image offset (+1, +3) is u = 3, v = −1.
        b.drag_handle(2, 11.0, 23.0);
        let Geometry::Box { width, height, .. } = b else {
            panic!("still a box")
        };
        assert!((width - 6.0).abs() < 1e-12 && (height - 2.0).abs() < 1e-12, "{b:?}");
        b.drag_handle(0, 10.0, 20.0);
        assert!(matches!(b, Geometry::Box { width, height, .. } if width == MIN_SIZE && height == MIN_SIZE));

        let mut e = Geometry::Ellipse {
            x: 0.0,
            y: 0.0,
            a: 3.0,
            b: 1.0,
            angle: 30.0,
        };
        e.drag_handle(1, -4.0, 0.0);
        e.drag_handle(3, 0.0, -2.0);
        assert!(matches!(e, Geometry::Ellipse { a, b, angle, .. } if a == 4.0 && b == 2.0 && angle == 30.0));

        let mut poly = Geometry::Polygon {
            vertices: vec![[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]],
        };
        poly.drag_handle(1, 5.0, 5.0);
        poly.drag_handle(7, 5.0, 5.0);
        assert_eq!(poly.handles(), vec![[0.0, 0.0], [5.0, 5.0], [0.0, 2.0]]);

        let mut line = Geometry::Line {
            x1: 0.0,
            y1: 0.0,
            x2: 1.0,
            y2: 0.0,
        };
        line.drag_handle(1, 3.0, 3.0);
        line.drag_handle(0, 3.0, 3.0); // would collapse the line: ignored
        assert_eq!(line.handles(), vec![[0.0, 0.0], [3.0, 3.0]]);
        let mut p = Geometry::Point { x: 1.0, y: 1.0 };
        p.drag_handle(0, 5.0, 5.0);
        assert_eq!(p, Geometry::Point { x: 1.0, y: 1.0 });
    }

    #[test]
    fn hit_tests() {
        let c = Geometry::Circle { x: 0.0, y: 0.0, r: 2.0 };
        assert!(c.hit(1.0, 1.0, 0.0));
        assert!(!c.hit(2.5, 0.0, 0.0));
        assert!(c.hit(2.5, 0.0, 0.6));
        let b = rotated_box();
        assert!(b.hit(10.9, 21.9, 0.0));
        assert!(!b.hit(11.5, 20.0, 0.0));
        assert!(b.hit(11.5, 20.0, 0.51));
        assert!(!b.hit(11.5, 20.0, f64::NAN));
        let e = Geometry::Ellipse {
            x: 0.0,
            y: 0.0,
            a: 3.0,
            b: 1.0,
            angle: 0.0,
        };
        assert!(e.hit(2.9, 0.0, 0.0));
        assert!(!e.hit(0.0, 1.5, 0.0));
        assert!(e.hit(0.0, 1.5, 0.6));
        let tri = Geometry::Polygon {
            vertices: vec![[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]],
        };
        assert!(tri.hit(1.0, 1.0, 0.0));
        assert!(!tri.hit(3.0, 3.0, 0.5));
        assert!(tri.hit(2.5, 2.5, 0.8));
        let line = Geometry::Line {
            x1: 0.0,
            y1: 0.0,
            x2: 10.0,
            y2: 0.0,
        };
        assert!(line.hit(5.0, 0.9, 1.0));
        assert!(!line.hit(5.0, 1.1, 1.0));
        assert!(!line.hit(11.5, 0.0, 1.0));
        let p = Geometry::Point { x: 1.0, y: 1.0 };
        assert!(p.hit(1.0, 1.0, 0.0));
        assert!(p.hit(2.0, 1.0, 1.0));
        assert!(!p.hit(2.0, 2.0, 1.0));
    }

    #[test]
    fn centres() {
        let square = Geometry::Polygon {
            vertices: vec![[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0], [0.0, 1.0]],
        };
        assert!(close(square.centre(), [1.0, 1.0]));
        let flat = Geometry::Polygon {
            vertices: vec![[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]],
        };
        assert!(close(flat.centre(), [1.0, 0.0]));
        assert!(Geometry::Polygon { vertices: vec![] }.centre()[0].is_nan());
        let line = Geometry::Line {
            x1: 0.0,
            y1: 0.0,
            x2: 2.0,
            y2: 4.0,
        };
        assert_eq!(line.centre(), [1.0, 2.0]);
        assert_eq!(rotated_box().centre(), [10.0, 20.0]);
    }
}
