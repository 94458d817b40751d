//! [`parse`] / [`import`]: DS9 region file text → [`RegionSet`].

use std::cell::Cell;

use serde::Serialize;

use super::sky::{self, Size};
use super::{Ds9Sky, Frame, Physical, SkyTransform, is_equatorial, props};
use crate::validate::validate_region;
use crate::{Geometry, MAX_REGIONS, MAX_VERTICES, Region, RegionError, RegionSet};

/// Coordinate system in force.
#[derive(Debug, Clone, Copy, PartialEq)]
enum System {
    Image,
    Physical,
    Sky(Ds9Sky),
    /// `wcs`: whatever frame the transform has.
    Wcs,
}

/// A region [`import`] left out, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    /// 1-based line of the region file.
    pub line: usize,
    pub message: String,
}

/// What [`import`] read: the regions placed on the image and those it could not place.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Import {
    pub set: RegionSet,
    pub skipped: Vec<Skipped>,
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
/// `physical` coordinates are taken as `image` ones.
pub fn parse(text: &str, sky: Option<&SkyTransform<'_>>) -> Result<RegionSet, RegionError> {
    parse_with(text, sky, None)
}

/// [`parse`] with the image's IRAF physical coordinate system (`LTM`/`LTV`).
pub fn parse_with(
    text: &str,
    sky: Option<&SkyTransform<'_>>,
    physical: Option<&Physical>,
) -> Result<RegionSet, RegionError> {
    read(text, sky, physical, false).map(|import| import.set)
}

/// Like [`parse_with`], but a region whose position has no pixel on this image (outside the
/// projection's domain) is left out and listed in [`Import::skipped`] instead of refusing the
/// whole file. Anything else wrong is still an error naming the line.
pub fn import(text: &str, sky: Option<&SkyTransform<'_>>, physical: Option<&Physical>) -> Result<Import, RegionError> {
    read(text, sky, physical, true)
}

fn read(
    text: &str,
    sky: Option<&SkyTransform<'_>>,
    physical: Option<&Physical>,
    lenient: bool,
) -> Result<Import, RegionError> {
    let mut reader = Reader {
        sky,
        physical: physical.copied().unwrap_or_default(),
        system: System::Image,
        global_color: None,
        regions: Vec::new(),
        lenient,
        outside: Cell::new(false),
        skipped: Vec::new(),
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
    Ok(Import {
        set,
        skipped: reader.skipped,
    })
}

struct Reader<'t, 'a> {
    sky: Option<&'t SkyTransform<'a>>,
    physical: Physical,
    system: System,
    global_color: Option<String>,
    regions: Vec<Region>,
    /// Whether regions outside the projection are skipped rather than refused.
    lenient: bool,
    /// Set when the last position failed because it has no pixel on the image.
    outside: Cell<bool>,
    skipped: Vec<Skipped>,
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
                "image" => self.system = System::Image,
                "physical" => self.system = System::Physical,
                "wcs" => self.system = System::Wcs,
                w if Ds9Sky::from_keyword(w).is_some() => {
                    self.system = Ds9Sky::from_keyword(w).map_or(System::Wcs, System::Sky);
                }
                "linear" | "amplifier" | "detector" => {
                    return Err(err(n, format!("coordinate system '{word}' is not supported")));
                }
                w if w.len() == 4 && w.starts_with("wcs") => {
                    return Err(err(
                        n,
                        format!("alternate coordinate system '{word}' is not supported (use wcs or a sky frame)"),
                    ));
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
                    self.outside.set(false);
                    rest = match self.shape(n, kind, args) {
                        Ok(rest) => rest,
                        Err(RegionError::Parse { line, message }) if self.lenient && self.outside.get() => {
                            self.skipped.push(Skipped { line, message });
                            // The rest of the line belongs to the skipped shape (its properties).
                            return Ok(());
                        }
                        Err(e) => return Err(e),
                    };
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

    /// The transform, and the frame the file's positions are in, when the current system is
    /// a sky one.
    fn sky_system(&self, n: usize) -> Result<Option<(&SkyTransform<'_>, Frame)>, RegionError> {
        let system = match self.system {
            System::Image | System::Physical => return Ok(None),
            System::Sky(system) => Some(system),
            System::Wcs => None,
        };
        let sky = self.sky.ok_or_else(|| {
            let name = system.map_or("wcs", Ds9Sky::keyword);
            err(n, format!("{name} coordinates need an image with a celestial WCS"))
        })?;
        Ok(Some((sky, system.map_or_else(|| sky.frame.clone(), Ds9Sky::frame))))
    }

    /// A position → 0-based image pixels.
    fn position(&self, n: usize, sx: &str, sy: &str) -> Result<(f64, f64), RegionError> {
        let Some((sky, frame)) = self.sky_system(n)? else {
            let read = |s: &str| {
                let t = s.trim_end_matches(['i', 'I', 'p', 'P']);
                sky::number(t).ok_or_else(|| err(n, format!("cannot read image coordinate '{s}'")))
            };
            let (x, y) = (read(sx)?, read(sy)?);
            let (x, y) = if self.system == System::Physical {
                self.physical.to_image(x, y)
            } else {
                (x, y)
            };
            return Ok((x - 1.0, y - 1.0));
        };
        let lon = sky::angle(sx, is_equatorial(&frame))
            .ok_or_else(|| err(n, format!("cannot read sky coordinate '{sx}'")))?;
        let lat = sky::angle(sy, false).ok_or_else(|| err(n, format!("cannot read sky coordinate '{sy}'")))?;
        let (ilon, ilat) = ch_wcs::frames::convert(&frame, sky.frame, lon, lat).map_err(|e| err(n, e.to_string()))?;
        sky::to_pixel(sky, ilon, ilat).ok_or_else(|| {
            self.outside.set(true);
            let converted = if &frame == sky.frame {
                String::new()
            } else {
                format!(" ({ilon:.6}, {ilat:.6}) in the image's {}", sky.frame.name())
            };
            err(
                n,
                format!(
                    "{} position ({lon}, {lat}){converted} has no pixel on this image (outside its projection)",
                    frame.name()
                ),
            )
        })
    }

    /// A size at pixel `(x, y)` → pixels.
    fn size(&self, n: usize, s: &str, x: f64, y: f64) -> Result<f64, RegionError> {
        let parsed = sky::size(s).ok_or_else(|| err(n, format!("cannot read size '{s}'")))?;
        let in_sky = self.sky_system(n)?.is_some();
        let physical = if self.system == System::Physical {
            self.physical.scale()
        } else {
            1.0
        };
        let degrees = match parsed {
            Size::Pixels(p) => return Ok(p * physical),
            Size::Bare(v) if !in_sky => return Ok(v * physical),
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
