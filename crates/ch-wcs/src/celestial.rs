//! The celestial part of a WCS: pixel → (SIP) → linear → projection → spherical rotation.

use crate::frames::Frame;
use crate::header::{CType, HeaderAxes, LinearForm};
use crate::proj::{PV_COUNT, Params, Projection};
use crate::sip::Sip;
use crate::sphere::{Pole, resolve_pole};
use crate::trig::{cosd, sind};
use crate::{WcsError, no_celestial};

/// Longitude/latitude axes, linear part, projection and pole of an image.
#[derive(Debug, Clone)]
pub(crate) struct Celestial {
    /// 0-based axis indices of the longitude and latitude axes.
    pub lng: usize,
    pub lat: usize,
    /// Reference pixel (1-based, FITS convention) on the lower- and higher-numbered axis.
    crpix: [f64; 2],
    /// Degrees per pixel: rows (longitude, latitude), columns (lower axis, higher axis).
    pub matrix: [[f64; 2]; 2],
    inverse: [[f64; 2]; 2],
    pub crval: [f64; 2],
    pub sip: Option<Sip>,
    pub proj: Projection,
    pub pole: Pole,
    pub frame: Frame,
}

/// Finds the celestial axis pair. `Ok(None)` when there is none; an error when the pair is
/// incomplete or inconsistent.
pub(crate) fn find_axes(ctype: &[CType]) -> Result<Option<(usize, usize)>, WcsError> {
    let lngs: Vec<usize> = (0..ctype.len()).filter(|&i| ctype[i].is_longitude()).collect();
    let lats: Vec<usize> = (0..ctype.len()).filter(|&i| ctype[i].is_latitude()).collect();
    let (lng, lat) = match (lngs.as_slice(), lats.as_slice()) {
        ([], []) => return Ok(None),
        ([lng], [lat]) => (*lng, *lat),
        ([_], []) | ([], [_]) => {
            let i = lngs.first().or(lats.first()).copied().unwrap_or(0);
            return Err(no_celestial(format!(
                "celestial axis {} ('{}') has no partner",
                i + 1,
                ctype[i].full
            )));
        }
        _ => return Err(no_celestial("more than one celestial axis pair")),
    };
    let (a, b) = (&ctype[lng], &ctype[lat]);
    if a.algorithm.is_empty() && b.algorithm.is_empty() {
        // 'RA'/'DEC' without a projection code are linear axes (Paper II sect. 7.3.1); they
        // give no sky position.
        return Ok(None);
    }
    if a.algorithm != b.algorithm {
        return Err(no_celestial(format!(
            "projection codes differ: '{}' and '{}'",
            a.full, b.full
        )));
    }
    Ok(Some((lng, lat)))
}

/// Multiplier from a celestial CUNIT (already translated to its standard spelling by
/// [`crate::units`]) to degrees.
fn angle_unit(unit: &str) -> Option<f64> {
    Some(match unit {
        "" | "deg" => 1.0,
        "arcmin" => 1.0 / 60.0,
        "arcsec" => 1.0 / 3600.0,
        "mas" => 1.0 / 3.6e6,
        "rad" => 180.0 / std::f64::consts::PI,
        _ => return None,
    })
}

/// The reference frame from RADESYS/EQUINOX (and their deprecated forms RADECSYS/EPOCH, read
/// with a warning as WCSLIB's `wcsfix` does). Never fails: an unusable value is ignored with a
/// warning and Paper II's default applies.
fn frame_of(axes: &HeaderAxes<'_>, lng_type: &str) -> Frame {
    let equinox = match axes.aux_number("EQUINOX") {
        Some(v) => Some(v),
        None if axes.alt.is_empty() && !axes.kw.contains("EQUINOX") && axes.kw.contains("EPOCH") => {
            let epoch = axes.aux_number_exact("EPOCH");
            if let Some(e) = epoch {
                axes.warn(format!("deprecated EPOCH = {e} read as EQUINOX"));
            }
            epoch
        }
        None => None,
    };
    match lng_type {
        "RA" => {
            let radesys = axes
                .string("RADESYS")
                .or_else(|| {
                    let old = axes.alt.is_empty().then(|| axes.kw.string("RADECSYS")).flatten();
                    if let Some(v) = &old {
                        axes.warn(format!("deprecated RADECSYS = '{}' read as RADESYS", v.trim()));
                    }
                    old
                })
                .map(|s| s.trim().to_ascii_uppercase());
            if let Some(other) = radesys
                .as_deref()
                .filter(|r| !["ICRS", "FK5", "FK4", "FK4-NO-E", "GAPPT"].contains(r))
            {
                axes.warn(format!(
                    "{} = '{other}' is not a known reference system; ignored, the default applies",
                    axes.key("RADESYS")
                ));
            }
            match radesys.as_deref() {
                Some("ICRS") => Frame::Icrs,
                Some("FK5") => Frame::Fk5 {
                    equinox: equinox.unwrap_or(2000.0),
                },
                Some("FK4") => Frame::Fk4 {
                    equinox: equinox.unwrap_or(1950.0),
                },
                Some("FK4-NO-E") => Frame::Fk4NoE {
                    equinox: equinox.unwrap_or(1950.0),
                },
                Some("GAPPT") => Frame::Gappt,
                // Paper II sect. 3.1: the default follows EQUINOX, ICRS when it is absent.
                _ => match equinox {
                    Some(e) if e < 1984.0 => Frame::Fk4 { equinox: e },
                    Some(e) => Frame::Fk5 { equinox: e },
                    None => Frame::Icrs,
                },
            }
        }
        "GLON" => Frame::Galactic,
        "ELON" => Frame::Ecliptic { equinox },
        "SLON" => Frame::Supergalactic,
        "HLON" => Frame::Helioecliptic,
        other => Frame::Other {
            name: other.to_string(),
        },
    }
}

impl Celestial {
    pub(crate) fn build(axes: &HeaderAxes<'_>, lng: usize, lat: usize) -> Result<Self, WcsError> {
        let code = axes.ctype[lng].algorithm.clone();
        let (lo, hi) = (lng.min(lat), lng.max(lat));
        let mut matrix = [[0.0; 2]; 2];
        for (r, &w) in [lng, lat].iter().enumerate() {
            for (c, &p) in [lo, hi].iter().enumerate() {
                matrix[r][c] = axes.matrix[w][p];
            }
        }
        if axes.form == LinearForm::Crota {
            // WCSLIB (and so astropy) rotates by the latitude axis' CROTA only; a CROTA on the
            // longitude axis alone is ignored. Do the same, but say so when it is not zero.
            let lat_key = format!("CROTA{}", lat + 1);
            let lng_key = format!("CROTA{}", lng + 1);
            let rho = axes.kw.number(&lat_key)?.unwrap_or(0.0);
            if let Some(r) = axes
                .kw
                .number(&lng_key)
                .ok()
                .flatten()
                .filter(|r| *r != 0.0 && *r != rho)
            {
                axes.warn(format!(
                    "{lng_key} = {r} (longitude axis) ignored: the rotation is {lat_key} = {rho}, as in WCSLIB"
                ));
            }
            let (dlng, dlat) = (axes.cdelt[lng], axes.cdelt[lat]);
            if dlng == 0.0 || dlat == 0.0 {
                return Err(no_celestial("CDELT is zero"));
            }
            let lambda = dlat / dlng;
            let (s, c) = (sind(rho), cosd(rho));
            // pc[lng][lng] = pc[lat][lat] = cos ρ, pc[lng][lat] = −λ sin ρ, pc[lat][lng] = sin ρ / λ.
            let col = |axis: usize| if axis == lo { 0 } else { 1 };
            matrix[0][col(lng)] = dlng * c;
            matrix[0][col(lat)] = dlng * -lambda * s;
            matrix[1][col(lng)] = dlat * s / lambda;
            matrix[1][col(lat)] = dlat * c;
        }
        for (r, &w) in [lng, lat].iter().enumerate() {
            let unit = &axes.cunit[w];
            let f = angle_unit(unit).ok_or_else(|| {
                no_celestial(format!(
                    "{} = '{unit}' is not an angle unit",
                    axes.key(&format!("CUNIT{}", w + 1))
                ))
            })?;
            matrix[r][0] *= f;
            matrix[r][1] *= f;
        }
        let det = matrix[0][0] * matrix[1][1] - matrix[0][1] * matrix[1][0];
        if det == 0.0 || !det.is_finite() {
            return Err(no_celestial("the linear transformation matrix is singular"));
        }
        let inverse = [
            [matrix[1][1] / det, -matrix[0][1] / det],
            [-matrix[1][0] / det, matrix[0][0] / det],
        ];
        let unit = |w: usize| angle_unit(&axes.cunit[w]).unwrap_or(1.0);
        let crval = [axes.crval[lng] * unit(lng), axes.crval[lat] * unit(lat)];

        let pv = |i: usize, m: usize| axes.aux_number(&format!("PV{}_{m}", i + 1));
        let mut params: Params = [None; PV_COUNT];
        for (m, slot) in params.iter_mut().enumerate() {
            *slot = pv(lat, m);
            // PROJPm (WCS drafts before 2002) is PVi_m of the latitude axis.
            let projp = format!("PROJP{m}");
            if slot.is_none() && axes.alt.is_empty() && axes.kw.contains(&projp) {
                *slot = axes.aux_number_exact(&projp);
                if let Some(v) = slot {
                    axes.warn(format!("deprecated {projp} = {v} read as PV{}_{m}", lat + 1));
                }
            }
        }
        let offset = pv(lng, 0).is_some_and(|v| v != 0.0);
        let mut native_ref = (pv(lng, 1), pv(lng, 2));
        let mut offset = offset;
        let proj_code = match code.as_str() {
            "NCP" => {
                // Paper II sect. 6.1.2: NCP is SIN with ξ = 0, η = cot δ₀.
                let s = sind(crval[1]);
                if s == 0.0 {
                    return Err(no_celestial("NCP projection is undefined at the equator"));
                }
                params[1] = Some(0.0);
                params[2] = Some(cosd(crval[1]) / s);
                "SIN"
            }
            "GLS" => {
                // AIPS GLS puts the fiducial point on the native equator at the reference.
                if crval != [0.0, 0.0] {
                    offset = true;
                    native_ref = (Some(0.0), Some(crval[1]));
                }
                "SFL"
            }
            other => other,
        };
        let proj = Projection::new(proj_code, &params, native_ref, offset).map_err(no_celestial)?;
        let lonpole = match axes.aux_number("LONPOLE") {
            Some(v) => Some(v),
            None => pv(lng, 3),
        };
        let latpole = match axes.aux_number("LATPOLE") {
            Some(v) => Some(v),
            None => pv(lng, 4),
        };
        let pole = resolve_pole(crval[0], crval[1], proj.phi0, proj.theta0, lonpole, latpole).map_err(no_celestial)?;
        let is_sip = axes.ctype[lng].suffix == "SIP" || axes.ctype[lat].suffix == "SIP";
        let sip = if is_sip { Sip::read(axes.kw)? } else { None };
        let frame = frame_of(axes, &axes.ctype[lng].coord);
        Ok(Self {
            lng,
            lat,
            crpix: [axes.crpix[lo], axes.crpix[hi]],
            matrix,
            inverse,
            crval,
            sip,
            proj,
            pole,
            frame,
        })
    }

    /// 0-based pixel (along the lower, higher celestial axis) → (lon, lat) in degrees.
    pub(crate) fn pixel_to_world(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        if !(x.is_finite() && y.is_finite()) {
            return None;
        }
        let (mut u, mut v) = (x + 1.0 - self.crpix[0], y + 1.0 - self.crpix[1]);
        if let Some(sip) = &self.sip {
            (u, v) = sip.forward(u, v);
        }
        let m = &self.matrix;
        let (px, py) = (m[0][0] * u + m[0][1] * v, m[1][0] * u + m[1][1] * v);
        let (phi, theta) = self.proj.x2s(px, py)?;
        let (lon, lat) = self.pole.rotation.native_to_celestial(phi, theta);
        if !(lon.is_finite() && lat.is_finite()) {
            return None;
        }
        let lon = lon.rem_euclid(360.0);
        Some((if lon >= 360.0 { 0.0 } else { lon }, lat.clamp(-90.0, 90.0)))
    }

    /// (lon, lat) in degrees → 0-based pixel; `None` outside the projection's domain.
    pub(crate) fn world_to_pixel(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        if !(lon.is_finite() && lat.is_finite()) || lat.abs() > 90.0 + 1e-9 {
            return None;
        }
        let (phi, theta) = self.pole.rotation.celestial_to_native(lon, lat.clamp(-90.0, 90.0));
        let (px, py) = self.proj.s2x(phi, theta)?;
        let mi = &self.inverse;
        let (mut u, mut v) = (mi[0][0] * px + mi[0][1] * py, mi[1][0] * px + mi[1][1] * py);
        if let Some(sip) = &self.sip {
            (u, v) = sip.inverse(u, v)?;
        }
        let (x, y) = (u + self.crpix[0] - 1.0, v + self.crpix[1] - 1.0);
        (x.is_finite() && y.is_finite()).then_some((x, y))
    }

    /// Reference pixel (1-based, FITS convention) on the lower and higher celestial axis.
    pub(crate) fn crpix(&self) -> [f64; 2] {
        self.crpix
    }
}
