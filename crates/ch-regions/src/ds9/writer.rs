//! [`write`]: [`RegionSet`] → DS9 region file text.

use super::{Ds9Sky, SkyTransform, props, sky};
use crate::{Geometry, Region, RegionSet};

/// First line of every file written.
pub const HEADER: &str = "# Region file format: DS9 version 4.1";

/// Writes a DS9 region file; see the [module documentation](super). Regions are written as they
/// are (an invalid set gives a file that [`parse`](super::parse) refuses). With a transform,
/// positions are in the DS9 system of the image's frame ([`Ds9Sky::for_frame`]).
pub fn write(set: &RegionSet, sky: Option<&SkyTransform<'_>>) -> String {
    let system = sky.map(|s| Ds9Sky::for_frame(s.frame));
    write_in(set, sky, system)
}

/// [`write`] in the DS9 system `system` (`None`: image pixels), converting each position from
/// the image's frame with `ch_wcs::frames::convert`. A region that cannot be converted (no
/// transform, no world position, a frame without a conversion) is written in `image`.
pub fn write_in(set: &RegionSet, sky: Option<&SkyTransform<'_>>, system: Option<Ds9Sky>) -> String {
    let mut out = format!("{HEADER}\nglobal color=green\n");
    let mut current: Option<&str> = None;
    for region in &set.regions {
        let converted = match (sky, system) {
            (Some(s), Some(target)) => sky_body(&region.geometry, s, target).map(|body| (target.keyword(), body)),
            _ => None,
        };
        let (system, body) = match converted {
            Some(found) => found,
            None => ("image", image_body(&region.geometry)),
        };
        if current != Some(system) {
            out.push_str(system);
            out.push('\n');
            current = Some(system);
        }
        out.push_str(&body);
        out.push_str(&properties(region));
        out.push('\n');
    }
    out
}

/// ` # text={…} color=#rrggbb`, or nothing.
fn properties(region: &Region) -> String {
    let mut p = Vec::new();
    if let Some(label) = &region.label {
        p.push(props::text(label));
    }
    if let Some(color) = region.color.as_deref().filter(|c| crate::validate::is_hex_color(c)) {
        p.push(format!("color={color}"));
    }
    if p.is_empty() {
        String::new()
    } else {
        format!(" # {}", p.join(" "))
    }
}

/// `name(a,b,…)` with each number in its shortest exact form.
fn call(name: &str, args: &[f64]) -> String {
    call_with(name, args.iter().map(|v| v.to_string()))
}

fn call_with(name: &str, args: impl Iterator<Item = String>) -> String {
    let mut s = format!("{name}(");
    for (i, a) in args.enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&a);
    }
    s.push(')');
    s
}

/// The shape in 1-based image pixels.
fn image_body(g: &Geometry) -> String {
    match *g {
        Geometry::Circle { x, y, r } => call("circle", &[x + 1.0, y + 1.0, r]),
        Geometry::Box {
            x,
            y,
            width,
            height,
            angle,
        } => call("box", &[x + 1.0, y + 1.0, width, height, angle]),
        Geometry::Ellipse { x, y, a, b, angle } => call("ellipse", &[x + 1.0, y + 1.0, a, b, angle]),
        Geometry::Polygon { ref vertices } => {
            let flat: Vec<f64> = vertices.iter().flat_map(|[x, y]| [x + 1.0, y + 1.0]).collect();
            call("polygon", &flat)
        }
        Geometry::Line { x1, y1, x2, y2 } => call("line", &[x1 + 1.0, y1 + 1.0, x2 + 1.0, y2 + 1.0]),
        Geometry::Point { x, y } => call("point", &[x + 1.0, y + 1.0]),
    }
}

/// The shape in `target` (degrees, sizes in arcsec), or `None` where a position or the pixel
/// scale cannot be converted.
fn sky_body(g: &Geometry, t: &SkyTransform<'_>, target: Ds9Sky) -> Option<String> {
    let arcsec = |v: f64, scale: f64| {
        let mut s = (v * scale * 3600.0).to_string();
        s.push('"');
        s
    };
    let frame = target.frame();
    let world = |x: f64, y: f64| {
        let (lon, lat) = sky::to_world(t, x, y)?;
        let (l, b) = ch_wcs::frames::convert(t.frame, &frame, lon, lat).ok()?;
        (l.is_finite() && b.is_finite()).then_some((l, b))
    };
    Some(match *g {
        Geometry::Circle { x, y, r } => {
            let (l, b) = world(x, y)?;
            let scale = sky::scale(t, x, y)?;
            call_with("circle", [l.to_string(), b.to_string(), arcsec(r, scale)].into_iter())
        }
        Geometry::Box {
            x,
            y,
            width,
            height,
            angle,
        } => {
            let (l, b) = world(x, y)?;
            let scale = sky::scale(t, x, y)?;
            let args = [
                l.to_string(),
                b.to_string(),
                arcsec(width, scale),
                arcsec(height, scale),
                angle.to_string(),
            ];
            call_with("box", args.into_iter())
        }
        Geometry::Ellipse { x, y, a, b, angle } => {
            let (lon, lat) = world(x, y)?;
            let scale = sky::scale(t, x, y)?;
            let args = [
                lon.to_string(),
                lat.to_string(),
                arcsec(a, scale),
                arcsec(b, scale),
                angle.to_string(),
            ];
            call_with("ellipse", args.into_iter())
        }
        Geometry::Polygon { ref vertices } => {
            let mut flat = Vec::with_capacity(vertices.len() * 2);
            for [x, y] in vertices {
                let (l, b) = world(*x, *y)?;
                flat.extend([l, b]);
            }
            call("polygon", &flat)
        }
        Geometry::Line { x1, y1, x2, y2 } => {
            let (l1, b1) = world(x1, y1)?;
            let (l2, b2) = world(x2, y2)?;
            call("line", &[l1, b1, l2, b2])
        }
        Geometry::Point { x, y } => {
            let (l, b) = world(x, y)?;
            call("point", &[l, b])
        }
    })
}
