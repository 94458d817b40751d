//! [`parse`]: DS9 region file text → [`RegionSet`].

use super::sky::{self, Size};
use super::{SkyFrame, SkyTransform, props};
use crate::validate::validate_region;
use crate::{Geometry, MAX_REGIONS, MAX_VERTICES, Region, RegionError, RegionSet};

/// Coordinate system in force.
#[derive(Debug, Clone, Copy, PartialEq)]
enum System {
    Image,
    Sky(SkyFrame),
    /// `wcs`: whatever frame the transform has.
    Wcs,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Circle,
    Box,
    Ellipse,
    Polygon,
    Line,
    Point,
}

/// Reads a DS9 region file; see the [module documentation](super) for what is understood.
pub fn parse(text: &str, sky: Option<&SkyTransform<'_>>) -> Result<RegionSet, RegionError> {
    let mut reader = Reader {
        sky,
        system: System::Image,
        global_color: None,
        regions: Vec::new(),
    };
    let mut last_line = 0;
    for (i, line) in text.lines().enumerate() {
        last_line = i + 1;
        reader.line(i + 1, line)?;
    }
    let set = RegionSet {
        regions: reader.regions,
    };
    // Every region was checked as it was read; this only guards the set-wide rules.
    set.validate().map_err(|e| RegionError::Parse {
        line: last_line,
        message: e.to_string(),
    })?;
    Ok(set)
}

struct Reader<'t, 'a> {
    sky: Option<&'t SkyTransform<'a>>,
    system: System,
    global_color: Option<String>,
    regions: Vec<Region>,
}

fn err(line: usize, message: impl Into<String>) -> RegionError {
    RegionError::Parse {
        line,
        message: message.into(),
    }
}

/// Byte length of the leading run of `s` matching `pred`.
fn run(s: &str, pred: impl Fn(char) -> bool) -> usize {
    s.find(|c: char| !pred(c)).unwrap_or(s.len())
}

/// Point styles DS9 accepts as `<style> point(x, y)`.
const POINT_TYPES: [&str; 7] = ["circle", "box", "diamond", "cross", "x", "arrow", "boxcircle"];

fn shape_kind(word: &str) -> Option<Kind> {
    Some(match word {
        "circle" => Kind::Circle,
        "box" => Kind::Box,
        "ellipse" => Kind::Ellipse,
        "polygon" => Kind::Polygon,
        "line" => Kind::Line,
        "point" => Kind::Point,
        _ => return None,
    })
}

impl Reader<'_, '_> {
    fn line(&mut self, n: usize, line: &str) -> Result<(), RegionError> {
        let mut rest = line;
        loop {
            rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ';');
            let Some(first) = rest.chars().next() else {
                return Ok(());
            };
            match first {
                // A comment, or properties of a shape (handled with the shape).
                '#' => return Ok(()),
                '-' => return Err(err(n, "exclusion regions ('-' prefix) are not supported")),
                '+' => {
                    rest = &rest[1..];
                    continue;
                }
                _ => {}
            }
            let len = run(rest, |c| c.is_ascii_alphanumeric() || c == '_');
            if len == 0 {
                return Err(err(n, format!("unexpected character {first:?}")));
            }
            let word = rest[..len].to_ascii_lowercase();
            rest = &rest[len..];
            match word.as_str() {
                "global" => {
                    if let Some((_, value)) = props::parse(rest).into_iter().rev().find(|(k, _)| k == "color") {
                        self.global_color = props::color(&value).filter(|c| c != "#00ff00");
                    }
                    return Ok(());
                }
                "image" | "physical" => self.system = System::Image,
                "fk5" | "j2000" => self.system = System::Sky(SkyFrame::Fk5),
                "icrs" => self.system = System::Sky(SkyFrame::Icrs),
                "galactic" => self.system = System::Sky(SkyFrame::Galactic),
                "wcs" => self.system = System::Wcs,
                "fk4" | "b1950" | "ecliptic" | "linear" | "amplifier" | "detector" => {
                    return Err(err(n, format!("coordinate system '{word}' is not supported")));
                }
                _ => {
                    // `circle point(…)`, `x point(…)` and the like are points.
                    let after = rest.trim_start();
                    let next_len = run(after, |c| c.is_ascii_alphabetic());
                    let (kind, args) =
                        if POINT_TYPES.contains(&word.as_str()) && after[..next_len].eq_ignore_ascii_case("point") {
                            (Some(Kind::Point), &after[next_len..])
                        } else {
                            (shape_kind(&word), rest)
                        };
                    let Some(kind) = kind else {
                        return Err(err(n, format!("unsupported shape or keyword '{word}'")));
                    };
                    rest = self.shape(n, kind, args)?;
                }
            }
        }
    }

    /// Reads one shape's arguments and properties from `rest`; returns what follows.
    fn shape<'s>(&mut self, n: usize, kind: Kind, rest: &'s str) -> Result<&'s str, RegionError> {
        let rest = rest.trim_start();
        let (args, mut rest) = if let Some(inner) = rest.strip_prefix('(') {
            let end = inner.find(')').ok_or_else(|| err(n, "missing ')'"))?;
            (&inner[..end], &inner[end + 1..])
        } else {
            let end = rest.find([';', '#']).unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        let args: Vec<&str> = args
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|a| !a.is_empty())
            .collect();
        let geometry = self.geometry(n, kind, &args)?;
        let mut region = Region {
            id: format!("r{}", self.regions.len() + 1),
            geometry,
            label: None,
            color: None,
        };
        let trimmed = rest.trim_start();
        if let Some(comment) = trimmed.strip_prefix('#') {
            for (key, value) in props::parse(comment) {
                match key.as_str() {
                    "text" => region.label = Some(value),
                    "color" => region.color = props::color(&value),
                    _ => {}
                }
            }
            rest = "";
        }
        if region.color.is_none() {
            region.color.clone_from(&self.global_color);
        }
        if self.regions.len() >= MAX_REGIONS {
            return Err(err(n, format!("more than {MAX_REGIONS} regions")));
        }
        validate_region(self.regions.len(), &region).map_err(|e| err(n, e.to_string()))?;
        self.regions.push(region);
        Ok(rest)
    }

    fn geometry(&self, n: usize, kind: Kind, args: &[&str]) -> Result<Geometry, RegionError> {
        let count = |names: &str, allowed: &[usize]| -> Result<(), RegionError> {
            if allowed.contains(&args.len()) {
                Ok(())
            } else {
                Err(err(n, format!("expected {names}, got {} arguments", args.len())))
            }
        };
        Ok(match kind {
            Kind::Circle => {
                count("circle(x, y, radius)", &[3])?;
                let (x, y) = self.position(n, args[0], args[1])?;
                let r = self.size(n, args[2], x, y)?;
                Geometry::Circle { x, y, r }
            }
            Kind::Box => {
                count(
                    "box(x, y, width, height[, angle]); box annuli are not supported",
                    &[4, 5],
                )?;
                let (x, y) = self.position(n, args[0], args[1])?;
                Geometry::Box {
                    x,
                    y,
                    width: self.size(n, args[2], x, y)?,
                    height: self.size(n, args[3], x, y)?,
                    angle: angle_arg(n, args.get(4))?,
                }
            }
            Kind::Ellipse => {
                count(
                    "ellipse(x, y, a, b[, angle]); elliptical annuli are not supported",
                    &[4, 5],
                )?;
                let (x, y) = self.position(n, args[0], args[1])?;
                Geometry::Ellipse {
                    x,
                    y,
                    a: self.size(n, args[2], x, y)?,
                    b: self.size(n, args[3], x, y)?,
                    angle: angle_arg(n, args.get(4))?,
                }
            }
            Kind::Polygon => {
                if !args.len().is_multiple_of(2) || args.len() < 6 || args.len() / 2 > MAX_VERTICES {
                    return Err(err(
                        n,
                        format!(
                            "expected polygon(x1, y1, x2, y2, x3, y3, …) with 3 to {MAX_VERTICES} vertices, got {} \
                             arguments",
                            args.len()
                        ),
                    ));
                }
                let vertices = args
                    .as_chunks::<2>()
                    .0
                    .iter()
                    .map(|[px, py]| self.position(n, px, py).map(|(x, y)| [x, y]))
                    .collect::<Result<Vec<_>, _>>()?;
                Geometry::Polygon { vertices }
            }
            Kind::Line => {
                count("line(x1, y1, x2, y2)", &[4])?;
                let (x1, y1) = self.position(n, args[0], args[1])?;
                let (x2, y2) = self.position(n, args[2], args[3])?;
                Geometry::Line { x1, y1, x2, y2 }
            }
            Kind::Point => {
                count("point(x, y)", &[2])?;
                let (x, y) = self.position(n, args[0], args[1])?;
                Geometry::Point { x, y }
            }
        })
    }

    /// The transform, and the frame in force, when the current system is a sky one.
    fn sky_system(&self, n: usize) -> Result<Option<(&SkyTransform<'_>, SkyFrame)>, RegionError> {
        let frame = match self.system {
            System::Image => return Ok(None),
            System::Sky(frame) => Some(frame),
            System::Wcs => None,
        };
        let sky = self.sky.ok_or_else(|| err(n, "sky coordinates need a WCS"))?;
        let frame = frame.unwrap_or(sky.frame);
        if !frame.compatible(sky.frame) {
            return Err(err(
                n,
                format!(
                    "{} coordinates are not supported for this image (its WCS is {})",
                    frame.keyword(),
                    sky.frame.keyword()
                ),
            ));
        }
        Ok(Some((sky, frame)))
    }

    /// A position → 0-based image pixels.
    fn position(&self, n: usize, sx: &str, sy: &str) -> Result<(f64, f64), RegionError> {
        let Some((sky, frame)) = self.sky_system(n)? else {
            let read = |s: &str| {
                let t = s.trim_end_matches(['i', 'I', 'p', 'P']);
                sky::number(t).ok_or_else(|| err(n, format!("cannot read image coordinate '{s}'")))
            };
            return Ok((read(sx)? - 1.0, read(sy)? - 1.0));
        };
        let lon = sky::angle(sx, frame.is_equatorial())
            .ok_or_else(|| err(n, format!("cannot read sky coordinate '{sx}'")))?;
        let lat = sky::angle(sy, false).ok_or_else(|| err(n, format!("cannot read sky coordinate '{sy}'")))?;
        sky::to_pixel(sky, lon, lat).ok_or_else(|| {
            err(
                n,
                format!("position ({lon}, {lat}) has no pixel position in this image"),
            )
        })
    }

    /// A size at pixel `(x, y)` → pixels.
    fn size(&self, n: usize, s: &str, x: f64, y: f64) -> Result<f64, RegionError> {
        let parsed = sky::size(s).ok_or_else(|| err(n, format!("cannot read size '{s}'")))?;
        let in_sky = self.sky_system(n)?.is_some();
        let degrees = match parsed {
            Size::Pixels(p) => return Ok(p),
            Size::Bare(v) if !in_sky => return Ok(v),
            Size::Bare(v) | Size::Degrees(v) => v,
        };
        let sky = self.sky.ok_or_else(|| err(n, "angular sizes need a WCS"))?;
        let scale = sky::scale(sky, x, y).ok_or_else(|| err(n, "no pixel scale at the region's centre"))?;
        Ok(degrees / scale)
    }
}

/// An optional angle argument in degrees (default 0).
fn angle_arg(n: usize, arg: Option<&&str>) -> Result<f64, RegionError> {
    match arg {
        None => Ok(0.0),
        Some(s) => sky::angle(s, false).ok_or_else(|| err(n, format!("cannot read angle '{s}'"))),
    }
}
