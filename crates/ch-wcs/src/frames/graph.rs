//! The part of astropy's frame transform graph that connects the frames of [`super::Frame`],
//! walked the way astropy walks it.
//!
//! astropy joins frame classes by single-step transforms (all of priority 1) and converts
//! along the path with the fewest steps. Each intermediate frame of that path takes its
//! attributes (`equinox`, `obstime`) from the target frame where the target has them, else
//! from the source, else the class default (`CompositeTransform.__call__`). So FK4 B1950 →
//! FK5 J1975 goes through FK4-NO-E *J1975* (observed at B1950), and ICRS → FK4 B1950 through
//! FK5 *B1950*. Replicating this keeps results within rounding of astropy's.

use super::epoch::Epoch;
use super::matrix::{Axis, Mat3, Vec3, apply, chain, mul, rotation_deg, transpose};
use super::{fk4, precession};

/// A frame class of astropy's graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Icrs,
    Fk5,
    Fk4NoE,
    Fk4,
    Galactic,
    Supergalactic,
    Ecliptic,
}

/// The single-step transforms between the classes (astropy `builtin_frames`):
/// `icrs_fk5_transforms`, `ecliptic_transforms` (`BarycentricMeanEcliptic`),
/// `fk4_fk5_transforms`, `fk4` (FK4 ↔ FK4NoETerms), `galactic_transforms` (FK5 and
/// FK4NoETerms ↔ Galactic) and `supergalactic_transforms`.
const EDGES: [(Kind, Kind); 7] = [
    (Kind::Icrs, Kind::Fk5),
    (Kind::Icrs, Kind::Ecliptic),
    (Kind::Fk5, Kind::Fk4NoE),
    (Kind::Fk5, Kind::Galactic),
    (Kind::Fk4NoE, Kind::Fk4),
    (Kind::Fk4NoE, Kind::Galactic),
    (Kind::Galactic, Kind::Supergalactic),
];

/// A frame instance: a class with its attributes. FK4 frames carry the observation time
/// that the FK4 ↔ FK5 rotation depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Node {
    Icrs,
    Fk5 { equinox: Epoch },
    Fk4NoE { equinox: Epoch, obstime: Epoch },
    Fk4 { equinox: Epoch, obstime: Epoch },
    Galactic,
    Supergalactic,
    Ecliptic { equinox: Epoch },
}

impl Node {
    pub(super) fn kind(&self) -> Kind {
        match self {
            Node::Icrs => Kind::Icrs,
            Node::Fk5 { .. } => Kind::Fk5,
            Node::Fk4NoE { .. } => Kind::Fk4NoE,
            Node::Fk4 { .. } => Kind::Fk4,
            Node::Galactic => Kind::Galactic,
            Node::Supergalactic => Kind::Supergalactic,
            Node::Ecliptic { .. } => Kind::Ecliptic,
        }
    }

    fn equinox(&self) -> Option<Epoch> {
        match self {
            Node::Fk5 { equinox } | Node::Ecliptic { equinox } => Some(*equinox),
            Node::Fk4NoE { equinox, .. } | Node::Fk4 { equinox, .. } => Some(*equinox),
            _ => None,
        }
    }

    fn obstime(&self) -> Option<Epoch> {
        match self {
            Node::Fk4NoE { obstime, .. } | Node::Fk4 { obstime, .. } => Some(*obstime),
            _ => None,
        }
    }
}

/// The intermediate frame of class `kind` on the way from `from` to `to`: attributes from
/// `to`, else `from`, else the class defaults (J2000 for FK5 and the ecliptic, B1950 for FK4,
/// obstime = equinox).
fn intermediate(kind: Kind, from: &Node, to: &Node) -> Node {
    let equinox = to.equinox().or(from.equinox());
    let fk4_equinox = equinox.unwrap_or_else(Epoch::b1950);
    let obstime = to.obstime().or(from.obstime()).unwrap_or(fk4_equinox);
    match kind {
        Kind::Icrs => Node::Icrs,
        Kind::Fk5 => Node::Fk5 {
            equinox: equinox.unwrap_or(Epoch::J2000),
        },
        Kind::Fk4NoE => Node::Fk4NoE {
            equinox: fk4_equinox,
            obstime,
        },
        Kind::Fk4 => Node::Fk4 {
            equinox: fk4_equinox,
            obstime,
        },
        Kind::Galactic => Node::Galactic,
        Kind::Supergalactic => Node::Supergalactic,
        Kind::Ecliptic => Node::Ecliptic {
            equinox: equinox.unwrap_or(Epoch::J2000),
        },
    }
}

/// The classes visited from `from` to `to`, both included: the fewest steps (breadth-first;
/// the graph has no two shortest paths between the same classes). A class to itself is one
/// step, astropy's self-transform (precession), except that the caller handles equal frames.
pub(super) fn path(from: Kind, to: Kind) -> Vec<Kind> {
    if from == to {
        return vec![from, to];
    }
    let mut previous: Vec<(Kind, Kind)> = Vec::new();
    let mut frontier = vec![from];
    while !frontier.is_empty() && !previous.iter().any(|(k, _)| *k == to) {
        let mut next = Vec::new();
        for &k in &frontier {
            for &(a, b) in &EDGES {
                let other = if a == k {
                    b
                } else if b == k {
                    a
                } else {
                    continue;
                };
                if other != from && !previous.iter().any(|(seen, _)| *seen == other) {
                    previous.push((other, k));
                    next.push(other);
                }
            }
        }
        frontier = next;
    }
    let mut out = vec![to];
    while let Some(&(_, p)) = previous.iter().find(|(k, _)| Some(k) == out.last()) {
        out.push(p);
    }
    out.reverse();
    out
}

/// Converts the unit vector `v` from `from` to `to` along astropy's path; `None` only if the
/// classes are not connected (never for the classes of [`Kind`]).
pub(super) fn transform(from: &Node, to: &Node, v: Vec3) -> Option<Vec3> {
    let kinds = path(from.kind(), to.kind());
    if kinds.first() != Some(&from.kind()) {
        return None;
    }
    let mut current = *from;
    let mut v = v;
    for (i, kind) in kinds.iter().enumerate().skip(1) {
        let next = if i + 1 == kinds.len() {
            *to
        } else {
            intermediate(*kind, from, to)
        };
        v = step(&current, &next, v)?;
        current = next;
    }
    Some(v)
}

/// ICRS → FK5 J2000 frame bias from USNO Circular 179 (Kaplan 2005), as astropy's
/// `_icrs_to_fk5_matrix`: η₀ = −19.9 mas, ξ₀ = 9.1 mas, dα₀ = −22.9 mas,
/// `Rx(−η₀)·Ry(ξ₀)·Rz(dα₀)`.
fn icrs_to_fk5_j2000() -> Mat3 {
    let mas = 1.0 / 3_600_000.0;
    chain(&[
        rotation_deg(19.9 * mas, Axis::X),
        rotation_deg(9.1 * mas, Axis::Y),
        rotation_deg(-22.9 * mas, Axis::Z),
    ])
}

/// Equatorial → galactic given the north galactic pole (α, δ) and the galactic longitude of
/// the celestial pole, `Rz(180° − l₀)·Ry(90° − δ)·Rz(α)` (astropy `fk5_to_gal`/`fk4_to_gal`).
fn to_galactic(ngp_ra: f64, ngp_dec: f64, lon0: f64) -> Mat3 {
    chain(&[
        rotation_deg(180.0 - lon0, Axis::Z),
        rotation_deg(90.0 - ngp_dec, Axis::Y),
        rotation_deg(ngp_ra, Axis::Z),
    ])
}

/// FK5 J2000 → galactic: astropy's `Galactic._ngp_J2000` and `_lon0_J2000` (Blaauw et al.
/// 1960's B1950 definition carried to J2000).
fn fk5_j2000_to_galactic() -> Mat3 {
    to_galactic(super::NGP_RA, super::NGP_DEC, super::NCP_GLON)
}

/// FK4-NO-E B1950 → galactic: the IAU definition (Blaauw et al. 1960), NGP (192.25°, 27.4°),
/// l₀ = 123° (astropy `_ngp_B1950`, `_lon0_B1950`).
fn fk4_b1950_to_galactic() -> Mat3 {
    to_galactic(192.25, 27.4, 123.0)
}

/// Galactic → supergalactic: north supergalactic pole at (l, b) = (47.37°, 6.32°) and
/// sgl = 0 at its origin (de Vaucouleurs et al. 1976; Lahav et al. 2000; astropy
/// `gal_to_supergal`: `Rz(90°)·Ry(90° − b)·Rz(l)`).
fn galactic_to_supergalactic() -> Mat3 {
    chain(&[
        rotation_deg(90.0, Axis::Z),
        rotation_deg(90.0 - 6.32, Axis::Y),
        rotation_deg(47.37, Axis::Z),
    ])
}

/// One of astropy's single-step transforms; `None` if `a` and `b` are not adjacent.
fn step(a: &Node, b: &Node, v: Vec3) -> Option<Vec3> {
    let j2000 = Epoch::J2000;
    let b1950 = Epoch::b1950();
    let m = match (*a, *b) {
        (Node::Icrs, Node::Fk5 { equinox }) => mul(&precession::fk5(&j2000, &equinox), &icrs_to_fk5_j2000()),
        (Node::Fk5 { equinox }, Node::Icrs) => {
            mul(&transpose(&icrs_to_fk5_j2000()), &precession::fk5(&equinox, &j2000))
        }
        (Node::Fk5 { equinox: e1 }, Node::Fk5 { equinox: e2 }) => precession::fk5(&e1, &e2),
        (Node::Icrs, Node::Ecliptic { equinox }) => precession::ecliptic(&equinox),
        (Node::Ecliptic { equinox }, Node::Icrs) => transpose(&precession::ecliptic(&equinox)),
        // astropy's merged loop-back BarycentricMeanEcliptic → ICRS → BarycentricMeanEcliptic.
        (Node::Ecliptic { equinox: e1 }, Node::Ecliptic { equinox: e2 }) => {
            let icrs = apply(&transpose(&precession::ecliptic(&e1)), &v);
            return Some(apply(&precession::ecliptic(&e2), &icrs));
        }
        (Node::Fk5 { equinox: e1 }, Node::Fk4NoE { equinox: e2, obstime }) => chain(&[
            precession::newcomb(&b1950, &e2),
            fk4::fk5_to_fk4(&obstime),
            precession::fk5(&e1, &j2000),
        ]),
        (Node::Fk4NoE { equinox: e1, obstime }, Node::Fk5 { equinox: e2 }) => chain(&[
            precession::fk5(&j2000, &e2),
            fk4::fk4_to_fk5(&obstime),
            precession::newcomb(&e1, &b1950),
        ]),
        (Node::Fk4NoE { equinox: e1, .. }, Node::Fk4NoE { equinox: e2, .. }) => precession::newcomb(&e1, &e2),
        (Node::Fk4 { equinox: e1, .. }, Node::Fk4NoE { equinox: e2, .. }) => {
            let noe = fk4::remove_e_terms(&v, &e1);
            return Some(if e1 == e2 {
                noe
            } else {
                apply(&precession::newcomb(&e1, &e2), &noe)
            });
        }
        (Node::Fk4NoE { equinox: e1, .. }, Node::Fk4 { equinox: e2, .. }) => {
            let noe = if e1 == e2 {
                v
            } else {
                apply(&precession::newcomb(&e1, &e2), &v)
            };
            return Some(fk4::add_e_terms(&noe, &e2));
        }
        // astropy's `fk4_to_fk4`: through FK4-NO-E at each equinox.
        (Node::Fk4 { equinox: e1, .. }, Node::Fk4 { equinox: e2, .. }) => {
            let noe = apply(&precession::newcomb(&e1, &e2), &fk4::remove_e_terms(&v, &e1));
            return Some(fk4::add_e_terms(&noe, &e2));
        }
        (Node::Fk5 { equinox }, Node::Galactic) => fk5_to_galactic(&equinox),
        (Node::Galactic, Node::Fk5 { equinox }) => transpose(&fk5_to_galactic(&equinox)),
        (Node::Fk4NoE { equinox, .. }, Node::Galactic) => fk4_to_galactic(&equinox),
        (Node::Galactic, Node::Fk4NoE { equinox, .. }) => transpose(&fk4_to_galactic(&equinox)),
        (Node::Galactic, Node::Supergalactic) => galactic_to_supergalactic(),
        (Node::Supergalactic, Node::Galactic) => transpose(&galactic_to_supergalactic()),
        _ => return None,
    };
    Some(apply(&m, &v))
}

/// astropy `fk5_to_gal`: precess to J2000, then rotate.
fn fk5_to_galactic(equinox: &Epoch) -> Mat3 {
    mul(&fk5_j2000_to_galactic(), &precession::fk5(equinox, &Epoch::J2000))
}

/// astropy `fk4_to_gal`: precess (Newcomb) to B1950, then rotate.
fn fk4_to_galactic(equinox: &Epoch) -> Mat3 {
    mul(&fk4_b1950_to_galactic(), &precession::newcomb(equinox, &Epoch::b1950()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_astropy() {
        // astropy 8 `frame_transform_graph.find_shortest_path`.
        use Kind::*;
        assert_eq!(path(Icrs, Fk4), [Icrs, Fk5, Fk4NoE, Fk4]);
        assert_eq!(path(Fk4, Galactic), [Fk4, Fk4NoE, Galactic]);
        assert_eq!(
            path(Ecliptic, Supergalactic),
            [Ecliptic, Icrs, Fk5, Galactic, Supergalactic]
        );
        assert_eq!(path(Galactic, Icrs), [Galactic, Fk5, Icrs]);
        assert_eq!(path(Fk5, Fk5), [Fk5, Fk5]);
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn paths_match_the_fixture() {
        // The class paths astropy reported when `tests/data/frames_astropy.json` was written.
        let data: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/frames_astropy.json")).unwrap();
        let kind = |name: &str| match name {
            "ICRS" => Kind::Icrs,
            "FK5" => Kind::Fk5,
            "FK4NoETerms" => Kind::Fk4NoE,
            "FK4" => Kind::Fk4,
            "Galactic" => Kind::Galactic,
            "Supergalactic" => Kind::Supergalactic,
            "BarycentricMeanEcliptic" => Kind::Ecliptic,
            other => panic!("unexpected class {other}"),
        };
        for row in data["paths"].as_object().unwrap().values() {
            for classes in row.as_object().unwrap().values() {
                let want: Vec<Kind> = classes
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| kind(c.as_str().unwrap()))
                    .collect();
                let (first, last) = (want[0], want[want.len() - 1]);
                // A class to itself: no step (ICRS, galactic) or astropy's self-transform.
                let got = path(first, last);
                if first == last {
                    assert!(want.len() <= 2);
                } else {
                    assert_eq!(got, want);
                }
            }
        }
    }

    #[test]
    fn intermediate_frames_take_the_target_attributes_first() {
        let b1950 = Epoch::b1950();
        let fk4 = Node::Fk4 {
            equinox: b1950,
            obstime: b1950,
        };
        let fk5 = Node::Fk5 {
            equinox: Epoch::julian(1975.0),
        };
        let noe = intermediate(Kind::Fk4NoE, &fk4, &fk5);
        assert_eq!(
            noe,
            Node::Fk4NoE {
                equinox: Epoch::julian(1975.0),
                obstime: b1950
            }
        );
        assert_eq!(intermediate(Kind::Fk5, &Node::Icrs, &fk4), Node::Fk5 { equinox: b1950 });
        assert_eq!(
            intermediate(Kind::Fk5, &Node::Icrs, &Node::Galactic),
            Node::Fk5 { equinox: Epoch::J2000 }
        );
    }
}
