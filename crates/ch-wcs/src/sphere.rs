//! Spherical rotation between native (φ, θ) and celestial (α, δ) coordinates, and the choice of
//! the celestial pole from CRVAL, (φ₀, θ₀), LONPOLE and LATPOLE (Calabretta & Greisen 2002,
//! sect. 2.4 and 2.5). Branches and tolerances follow WCSLIB's `celset` so that results agree
//! with astropy at the poles.

use crate::trig::{acosd, asind, atan2d, cosd, sincosd, sind};

const TOL: f64 = 1e-10;

/// Euler angles of a rotation: (α_p, 90° − δ_p, φ_p) plus cos/sin of the second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rotation {
    lngp: f64,
    colatp: f64,
    phip: f64,
    cos_colatp: f64,
    sin_colatp: f64,
}

/// The resolved pole: the rotation and the effective LONPOLE/LATPOLE.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pole {
    pub rotation: Rotation,
    pub lonpole: f64,
    pub latpole: f64,
}

impl Rotation {
    /// A rotation given the celestial coordinates of the native pole and φ_p.
    pub(crate) fn from_euler(lngp: f64, latp: f64, phip: f64) -> Self {
        let colatp = 90.0 - latp;
        let (sin_colatp, cos_colatp) = sincosd(colatp);
        Self {
            lngp,
            colatp,
            phip,
            cos_colatp,
            sin_colatp,
        }
    }

    /// Native (φ, θ) → celestial (lon, lat), lon normalised like WCSLIB (same sign as α_p).
    pub(crate) fn native_to_celestial(&self, phi: f64, theta: f64) -> (f64, f64) {
        let e = self;
        if e.sin_colatp == 0.0 {
            // The poles coincide: a change of origin of longitude, possibly with a flip.
            let (lng, lat) = if e.cos_colatp > 0.0 {
                (phi + (e.lngp + 180.0 - e.phip) % 360.0, theta)
            } else {
                ((e.lngp + e.phip) % 360.0 - phi, -theta)
            };
            return (normalise_like(lng, e.lngp), lat);
        }
        let (sinthe, costhe) = sincosd(theta);
        let dphi = phi - e.phip;
        let (sinphi, cosphi) = sincosd(dphi);
        let mut x = sinthe * e.sin_colatp - costhe * e.cos_colatp * cosphi;
        if x.abs() < TOL {
            // Rearranged to reduce rounding error near the pole.
            x = -cosd(theta + e.colatp) + costhe * e.cos_colatp * (1.0 - cosphi);
        }
        let y = -costhe * sinphi;
        let dlng = if x != 0.0 || y != 0.0 {
            atan2d(y, x)
        } else if e.colatp < 90.0 {
            dphi + 180.0
        } else {
            -dphi
        };
        let lng = normalise_like(e.lngp + dlng, e.lngp);
        let lat = if dphi % 180.0 == 0.0 {
            let mut lat = theta + cosphi * e.colatp;
            if lat > 90.0 {
                lat = 180.0 - lat;
            }
            if lat < -90.0 {
                lat = -180.0 - lat;
            }
            lat
        } else {
            let z = sinthe * e.cos_colatp + costhe * e.sin_colatp * cosphi;
            if z.abs() > 0.99 {
                // Near ±90° asin loses precision; use the horizontal distance instead.
                acosd((x * x + y * y).sqrt()).copysign(z)
            } else {
                asind(z)
            }
        };
        (lng, lat)
    }

    /// Celestial (lon, lat) → native (φ, θ), φ in [−180°, 180°].
    pub(crate) fn celestial_to_native(&self, lng: f64, lat: f64) -> (f64, f64) {
        let e = self;
        if e.sin_colatp == 0.0 {
            let (phi, theta) = if e.cos_colatp > 0.0 {
                ((lng + (e.phip - 180.0 - e.lngp) % 360.0) % 360.0, lat)
            } else {
                (((e.phip + e.lngp) % 360.0 - lng) % 360.0, -lat)
            };
            return (wrap180(phi), theta);
        }
        let dlng = lng - e.lngp;
        let (sinlat, coslat) = sincosd(lat);
        let (sindlng, cosdlng) = sincosd(dlng);
        let mut x = sinlat * e.sin_colatp - coslat * e.cos_colatp * cosdlng;
        if x.abs() < TOL {
            x = -cosd(lat + e.colatp) + coslat * e.cos_colatp * (1.0 - cosdlng);
        }
        let y = -coslat * sindlng;
        let dphi = if x != 0.0 || y != 0.0 {
            atan2d(y, x)
        } else if e.colatp < 90.0 {
            dlng - 180.0
        } else {
            -dlng
        };
        let phi = wrap180((e.phip + dphi) % 360.0);
        let theta = if dlng % 180.0 == 0.0 {
            let mut theta = lat + cosdlng * e.colatp;
            if theta > 90.0 {
                theta = 180.0 - theta;
            }
            if theta < -90.0 {
                theta = -180.0 - theta;
            }
            theta
        } else {
            let z = sinlat * e.cos_colatp + coslat * e.sin_colatp * cosdlng;
            if z.abs() > 0.99 {
                acosd((x * x + y * y).sqrt()).copysign(z)
            } else {
                asind(z)
            }
        };
        (phi, theta)
    }
}

fn wrap180(mut phi: f64) -> f64 {
    if phi > 180.0 {
        phi -= 360.0;
    } else if phi < -180.0 {
        phi += 360.0;
    }
    phi
}

fn normalise_like(mut lng: f64, reference: f64) -> f64 {
    if reference >= 0.0 {
        if lng < 0.0 {
            lng += 360.0;
        }
    } else if lng > 0.0 {
        lng -= 360.0;
    }
    if lng > 360.0 {
        lng -= 360.0;
    } else if lng < -360.0 {
        lng += 360.0;
    }
    lng
}

/// Finds the celestial pole. `lonpole`/`latpole` are the header values (LATPOLE defaults to
/// +90°); `(phi0, theta0)` are the native coordinates of the fiducial point.
pub(crate) fn resolve_pole(
    lng0: f64,
    lat0: f64,
    phi0: f64,
    theta0: f64,
    lonpole: Option<f64>,
    latpole: Option<f64>,
) -> Result<Pole, String> {
    if !(lng0.is_finite() && lat0.is_finite() && phi0.is_finite() && theta0.is_finite()) {
        return Err("non-finite reference coordinates".into());
    }
    if lat0.abs() > 90.0 {
        return Err(format!("reference latitude {lat0} is outside [-90, 90]"));
    }
    let theta0 = if theta0.abs() > 90.0 {
        if theta0.abs() > 90.0 + TOL {
            return Err(format!(
                "native latitude of the fiducial point {theta0} is outside [-90, 90]"
            ));
        }
        90.0_f64.copysign(theta0)
    } else {
        theta0
    };
    let phip = match lonpole.filter(|v| v.is_finite() && *v != 999.0) {
        Some(v) => v,
        None => wrap180(if lat0 < theta0 { 180.0 } else { 0.0 } + phi0),
    };
    let mut latp = latpole.filter(|v| v.is_finite()).unwrap_or(90.0);

    let lngp;
    if theta0 == 90.0 {
        lngp = lng0;
        latp = lat0;
    } else {
        let (slat0, clat0) = sincosd(lat0);
        let (sthe0, cthe0) = sincosd(theta0);
        let (sphip, u, v);
        let mut solved_by_latpole = false;
        if phip == phi0 {
            sphip = 0.0;
            u = theta0;
            v = 90.0 - lat0;
        } else {
            let cphip;
            (sphip, cphip) = sincosd(phip - phi0);
            let x = cthe0 * cphip;
            let y = sthe0;
            let z = (x * x + y * y).sqrt();
            if z == 0.0 {
                if slat0 != 0.0 {
                    return Err(format!(
                        "no celestial pole satisfies (phi0, theta0) = ({phi0}, {theta0})"
                    ));
                }
                solved_by_latpole = true;
                latp = latp.clamp(-90.0, 90.0);
                u = 0.0;
                v = 0.0;
            } else {
                let mut slz = slat0 / z;
                if slz.abs() > 1.0 {
                    if slz.abs() - 1.0 < TOL {
                        slz = slz.signum();
                    } else {
                        return Err(format!(
                            "no celestial pole satisfies (phi0, theta0) = ({phi0}, {theta0})"
                        ));
                    }
                }
                u = atan2d(y, x);
                v = acosd(slz);
            }
        }
        if !solved_by_latpole {
            let latp1 = wrap180(u + v);
            let latp2 = wrap180(u - v);
            latp = if (latp - latp1).abs() < (latp - latp2).abs() {
                if latp1.abs() < 90.0 + TOL { latp1 } else { latp2 }
            } else if latp2.abs() < 90.0 + TOL {
                latp2
            } else {
                latp1
            };
            if latp.abs() < 90.0 + TOL {
                latp = latp.clamp(-90.0, 90.0);
            }
        }
        let z = cosd(latp) * clat0;
        let mut lp = if z.abs() < TOL {
            if clat0.abs() < TOL {
                lng0
            } else if latp > 0.0 {
                lng0 + phip - phi0 - 180.0
            } else {
                lng0 - phip + phi0
            }
        } else {
            let x = (sthe0 - sind(latp) * slat0) / z;
            let y = sphip * cthe0 / clat0;
            if x == 0.0 && y == 0.0 {
                return Err("degenerate celestial pole".into());
            }
            lng0 - atan2d(y, x)
        };
        if lng0 >= 0.0 {
            if lp < 0.0 {
                lp += 360.0;
            } else if lp > 360.0 {
                lp -= 360.0;
            }
        } else if lp > 0.0 {
            lp -= 360.0;
        } else if lp < -360.0 {
            lp += 360.0;
        }
        lngp = lp;
    }
    if latp.is_nan() || latp.abs() > 90.0 + TOL || !lngp.is_finite() {
        return Err("ill-conditioned celestial pole (check LONPOLE/LATPOLE)".into());
    }
    Ok(Pole {
        rotation: Rotation::from_euler(lngp, latp, phip),
        lonpole: phip,
        latpole: latp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zenithal_pole_is_the_reference_point() {
        let pole = resolve_pole(83.6, 22.0, 0.0, 90.0, None, None).expect("pole");
        let (lng, lat) = pole.rotation.native_to_celestial(0.0, 90.0);
        assert!((lng - 83.6).abs() < 1e-12 && (lat - 22.0).abs() < 1e-12);
        assert_eq!(pole.lonpole, 180.0);
    }

    #[test]
    fn round_trip_through_native() {
        let pole = resolve_pole(10.0, -35.0, 0.0, 0.0, None, None).expect("pole");
        for &(a, d) in &[(10.0, -35.0), (200.0, 60.0), (359.0, -89.0), (0.0, 0.0)] {
            let (phi, theta) = pole.rotation.celestial_to_native(a, d);
            let (a2, d2) = pole.rotation.native_to_celestial(phi, theta);
            assert!(((a2 - a + 540.0) % 360.0 - 180.0).abs() < 1e-9, "{a} {a2}");
            assert!((d2 - d).abs() < 1e-9);
        }
    }

    #[test]
    fn impossible_pole_is_an_error() {
        assert!(resolve_pole(0.0, 95.0, 0.0, 90.0, None, None).is_err());
        assert!(resolve_pole(0.0, 30.0, 0.0, 0.0, Some(90.0), None).is_err());
    }
}
