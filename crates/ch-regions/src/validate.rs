//! [`RegionSet::validate`]: limits and well-formedness of a set, with errors naming the field.

use std::collections::HashMap;

use crate::{Geometry, MAX_REGIONS, MAX_VERTICES, Region, RegionError, RegionSet};

/// Longest id, in characters.
pub const MAX_ID_CHARS: usize = 64;
/// Longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 200;

impl RegionSet {
    /// Checks the set: at most [`MAX_REGIONS`] regions; ids of 1–64 characters from
    /// `[A-Za-z0-9_-]`, unique within the set; every number finite; radii, sizes and semi-axes
    /// `> 0`; polygons with 3..=[`MAX_VERTICES`] vertices; line ends distinct; labels of at most
    /// 200 characters; colours `#rrggbb`.
    ///
    /// The first problem found is returned as [`RegionError::Invalid`] with a path such as
    /// `regions[3].r`.
    pub fn validate(&self) -> Result<(), RegionError> {
        if self.regions.len() > MAX_REGIONS {
            return Err(invalid(
                "regions".to_owned(),
                format!("{} regions; at most {MAX_REGIONS} are allowed", self.regions.len()),
            ));
        }
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(self.regions.len());
        for (i, region) in self.regions.iter().enumerate() {
            validate_region(i, region)?;
            if let Some(first) = seen.insert(region.id.as_str(), i) {
                return Err(invalid(
                    format!("regions[{i}].id"),
                    format!("duplicate id {:?} (also regions[{first}])", region.id),
                ));
            }
        }
        Ok(())
    }
}

fn invalid(path: String, message: String) -> RegionError {
    RegionError::Invalid { path, message }
}

/// Checks one region (everything but id uniqueness); `index` is its place in the set, for paths.
pub(crate) fn validate_region(index: usize, region: &Region) -> Result<(), RegionError> {
    let at = |field: &str| format!("regions[{index}].{field}");
    let id_chars = region.id.chars().count();
    if id_chars == 0 || id_chars > MAX_ID_CHARS {
        return Err(invalid(
            at("id"),
            format!("must be 1–{MAX_ID_CHARS} characters (got {id_chars})"),
        ));
    }
    if let Some(c) = region
        .id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(invalid(
            at("id"),
            format!("character {c:?} not allowed; use A-Z, a-z, 0-9, '_' or '-'"),
        ));
    }
    validate_geometry(&region.geometry, &at)?;
    if let Some(label) = &region.label {
        let n = label.chars().count();
        if n > MAX_LABEL_CHARS {
            return Err(invalid(
                at("label"),
                format!("{n} characters; at most {MAX_LABEL_CHARS} are allowed"),
            ));
        }
    }
    if let Some(color) = &region.color
        && !is_hex_color(color)
    {
        return Err(invalid(
            at("color"),
            format!("{color:?} is not a colour of the form #rrggbb"),
        ));
    }
    Ok(())
}

/// Whether `s` is `#rrggbb` (hex digits of either case).
pub(crate) fn is_hex_color(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7 && b[0] == b'#' && b[1..].iter().all(u8::is_ascii_hexdigit)
}

fn finite(at: &dyn Fn(&str) -> String, fields: &[(&str, f64)]) -> Result<(), RegionError> {
    for (name, v) in fields {
        if !v.is_finite() {
            return Err(invalid(at(name), format!("must be a finite number (got {v})")));
        }
    }
    Ok(())
}

fn positive(at: &dyn Fn(&str) -> String, fields: &[(&str, f64)]) -> Result<(), RegionError> {
    for (name, v) in fields {
        if *v <= 0.0 {
            return Err(invalid(at(name), format!("must be greater than 0 (got {v})")));
        }
    }
    Ok(())
}

fn validate_geometry(g: &Geometry, at: &dyn Fn(&str) -> String) -> Result<(), RegionError> {
    match *g {
        Geometry::Circle { x, y, r } => {
            finite(at, &[("x", x), ("y", y), ("r", r)])?;
            positive(at, &[("r", r)])
        }
        Geometry::Box {
            x,
            y,
            width,
            height,
            angle,
        } => {
            finite(
                at,
                &[
                    ("x", x),
                    ("y", y),
                    ("width", width),
                    ("height", height),
                    ("angle", angle),
                ],
            )?;
            positive(at, &[("width", width), ("height", height)])
        }
        Geometry::Ellipse { x, y, a, b, angle } => {
            finite(at, &[("x", x), ("y", y), ("a", a), ("b", b), ("angle", angle)])?;
            positive(at, &[("a", a), ("b", b)])
        }
        Geometry::Polygon { ref vertices } => {
            let n = vertices.len();
            if !(3..=MAX_VERTICES).contains(&n) {
                return Err(invalid(
                    at("vertices"),
                    format!("{n} vertices; a polygon needs 3 to {MAX_VERTICES}"),
                ));
            }
            for (j, [vx, vy]) in vertices.iter().enumerate() {
                if !(vx.is_finite() && vy.is_finite()) {
                    return Err(invalid(
                        at(&format!("vertices[{j}]")),
                        format!("must be finite numbers (got [{vx}, {vy}])"),
                    ));
                }
            }
            Ok(())
        }
        Geometry::Line { x1, y1, x2, y2 } => {
            finite(at, &[("x1", x1), ("y1", y1), ("x2", x2), ("y2", y2)])?;
            if x1 == x2 && y1 == y2 {
                return Err(invalid(at("x2"), "the line's two ends are the same point".to_owned()));
            }
            Ok(())
        }
        Geometry::Point { x, y } => finite(at, &[("x", x), ("y", y)]),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap what they built
mod tests {
    use super::*;

    fn region(id: &str, geometry: Geometry) -> Region {
        Region {
            id: id.to_owned(),
            geometry,
            label: None,
            color: None,
        }
    }

    fn circle(id: &str, r: f64) -> Region {
        region(id, Geometry::Circle { x: 1.0, y: 2.0, r })
    }

    fn path_of(set: &RegionSet) -> String {
        match set.validate() {
            Err(RegionError::Invalid { path, .. }) => path,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn valid_set_of_every_shape_passes() {
        let set = RegionSet {
            regions: vec![
                circle("c-1", 3.0),
                region(
                    "b_2",
                    Geometry::Box {
                        x: 0.0,
                        y: 0.0,
                        width: 2.0,
                        height: 1.0,
                        angle: 30.0,
                    },
                ),
                region(
                    "E3",
                    Geometry::Ellipse {
                        x: 0.0,
                        y: 0.0,
                        a: 2.0,
                        b: 1.0,
                        angle: -10.0,
                    },
                ),
                region(
                    "p",
                    Geometry::Polygon {
                        vertices: vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]],
                    },
                ),
                region(
                    "l",
                    Geometry::Line {
                        x1: 0.0,
                        y1: 0.0,
                        x2: 1.0,
                        y2: 0.0,
                    },
                ),
                Region {
                    label: Some("x".repeat(MAX_LABEL_CHARS)),
                    color: Some("#A0b1C2".to_owned()),
                    ..region("pt", Geometry::Point { x: -4.0, y: 5.5 })
                },
            ],
        };
        assert_eq!(set.validate(), Ok(()));
        assert_eq!(RegionSet::default().validate(), Ok(()));
    }

    #[test]
    fn bad_ids_are_refused() {
        for id in ["", "has space", "dot.ted", "ü", &"a".repeat(65)] {
            let set = RegionSet {
                regions: vec![circle(id, 1.0)],
            };
            assert_eq!(path_of(&set), "regions[0].id", "id {id:?}");
        }
        let set = RegionSet {
            regions: vec![circle("a", 1.0), circle("b", 1.0), circle("a", 1.0)],
        };
        let err = set.validate().unwrap_err();
        assert_eq!(
            err,
            RegionError::Invalid {
                path: "regions[2].id".to_owned(),
                message: "duplicate id \"a\" (also regions[0])".to_owned()
            }
        );
        assert_eq!(err.to_string(), "regions[2].id: duplicate id \"a\" (also regions[0])");
    }

    #[test]
    fn sizes_must_be_positive_and_finite() {
        let set = RegionSet {
            regions: vec![circle("a", 1.0), circle("b", 1.0), circle("c", 1.0), circle("d", 0.0)],
        };
        assert_eq!(path_of(&set), "regions[3].r");
        let set = RegionSet {
            regions: vec![circle("a", f64::NAN)],
        };
        assert_eq!(path_of(&set), "regions[0].r");
        let bad_box = Geometry::Box {
            x: 0.0,
            y: 0.0,
            width: 1.0,
            height: -1.0,
            angle: 0.0,
        };
        assert_eq!(
            path_of(&RegionSet {
                regions: vec![region("a", bad_box)]
            }),
            "regions[0].height"
        );
        let bad_angle = Geometry::Ellipse {
            x: 0.0,
            y: 0.0,
            a: 1.0,
            b: 1.0,
            angle: f64::INFINITY,
        };
        assert_eq!(
            path_of(&RegionSet {
                regions: vec![region("a", bad_angle)]
            }),
            "regions[0].angle"
        );
        let bad_point = Geometry::Point {
            x: 0.0,
            y: f64::NEG_INFINITY,
        };
        assert_eq!(
            path_of(&RegionSet {
                regions: vec![region("a", bad_point)]
            }),
            "regions[0].y"
        );
    }

    #[test]
    fn polygons_and_lines_are_checked() {
        let two = Geometry::Polygon {
            vertices: vec![[0.0, 0.0], [1.0, 1.0]],
        };
        assert_eq!(
            path_of(&RegionSet {
                regions: vec![region("a", two)]
            }),
            "regions[0].vertices"
        );
        let many = Geometry::Polygon {
            vertices: vec![[0.0, 0.0]; MAX_VERTICES + 1],
        };
        assert_eq!(
            path_of(&RegionSet {
                regions: vec![region("a", many)]
            }),
            "regions[0].vertices"
        );
        let nan = Geometry::Polygon {
            vertices: vec![[0.0, 0.0], [1.0, 0.0], [f64::NAN, 1.0]],
        };
        assert_eq!(
            path_of(&RegionSet {
                regions: vec![region("a", nan)]
            }),
            "regions[0].vertices[2]"
        );
        let degenerate = Geometry::Line {
            x1: 1.0,
            y1: 1.0,
            x2: 1.0,
            y2: 1.0,
        };
        assert_eq!(
            path_of(&RegionSet {
                regions: vec![region("a", degenerate)]
            }),
            "regions[0].x2"
        );
    }

    #[test]
    fn labels_colours_and_count_are_limited() {
        let long = Region {
            label: Some("é".repeat(MAX_LABEL_CHARS + 1)),
            ..circle("a", 1.0)
        };
        assert_eq!(path_of(&RegionSet { regions: vec![long] }), "regions[0].label");
        for color in ["red", "#12345", "#1234567", "#12345g", "123456#"] {
            let r = Region {
                color: Some(color.to_owned()),
                ..circle("a", 1.0)
            };
            assert_eq!(path_of(&RegionSet { regions: vec![r] }), "regions[0].color", "{color}");
        }
        let regions = (0..=MAX_REGIONS).map(|i| circle(&format!("r{i}"), 1.0)).collect();
        assert_eq!(path_of(&RegionSet { regions }), "regions");
    }

    #[test]
    fn json_form_is_stable() {
        let json = r##"{"regions":[{"id":"a","shape":"circle","x":10.0,"y":12.0,"r":3.0,"color":"#00ff00"},
            {"id":"b","shape":"box","x":1.0,"y":2.0,"width":3.0,"height":4.0}]}"##;
        let set: RegionSet = serde_json::from_str(json).unwrap();
        assert_eq!(set.validate(), Ok(()));
        assert_eq!(
            set.regions[1].geometry,
            Geometry::Box {
                x: 1.0,
                y: 2.0,
                width: 3.0,
                height: 4.0,
                angle: 0.0
            }
        );
        for bad in [
            r#"{"regions":[{"id":"a","shape":"circle","x":1,"y":2,"r":3,"extra":1}]}"#,
            r#"{"regions":[{"id":"a","shape":"hexagon","x":1,"y":2}]}"#,
            r#"{"regions":[{"id":"a","shape":"circle","x":1,"y":2}]}"#,
            r#"{"regions":[],"more":1}"#,
        ] {
            assert!(serde_json::from_str::<RegionSet>(bad).is_err(), "{bad}");
        }
        let back = serde_json::to_string(&set.regions[0]).unwrap();
        assert_eq!(
            back,
            r##"{"id":"a","shape":"circle","x":10.0,"y":12.0,"r":3.0,"color":"#00ff00"}"##
        );
    }
}
