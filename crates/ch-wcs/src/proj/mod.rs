//! Spherical projections of Calabretta & Greisen (2002), "Representations of celestial
//! coordinates in FITS" (Paper II), sect. 5, plus HEALPix (Calabretta & Roukema 2007).
//!
//! Every projection maps projection-plane coordinates (x, y) in degrees to native spherical
//! coordinates (φ, θ) in degrees and back. Points outside a projection's domain give `None`.
//! Constants and domain checks follow WCSLIB (used by astropy) so that the same points are
//! rejected.

mod conic;
mod cylindrical;
mod healpix;
mod quadcube;
mod zenithal;

use crate::trig::R2D;

/// Number of projection parameters `PVi_m` (m = 0..=29) kept for the latitude axis.
pub(crate) const PV_COUNT: usize = 30;

/// Projection parameters `PVi_0..PVi_29` of the latitude axis; `None` when absent.
pub(crate) type Params = [Option<f64>; PV_COUNT];

/// Tolerance of the final domain check on (φ, θ).
const BOUNDS_TOL: f64 = 1e-12;

#[derive(Debug, Clone)]
enum Kind {
    Azp(zenithal::Azp),
    Szp(zenithal::Szp),
    Tan,
    Stg,
    Sin(zenithal::Sin),
    Arc,
    Zpn(zenithal::Zpn),
    Zea,
    Air(zenithal::Air),
    Cyp(cylindrical::Cyp),
    Cea(cylindrical::Cea),
    Car,
    Mer,
    Sfl,
    Par,
    Mol,
    Ait,
    Conic(conic::Conic),
    Bon(conic::Bon),
    Pco,
    Tsc,
    Csc,
    Qsc,
    Hpx(healpix::Hpx),
}

/// A configured projection with its native reference point and fiducial offset.
#[derive(Debug, Clone)]
pub(crate) struct Projection {
    code: &'static str,
    kind: Kind,
    /// Native coordinates of the fiducial point (φ₀, θ₀).
    pub phi0: f64,
    pub theta0: f64,
    x0: f64,
    y0: f64,
}

/// All projection codes understood here. `NCP` is rewritten to `SIN` with
/// PV2_2 = cot δ₀ and `GLS` is read as `SFL`.
pub const SUPPORTED_CODES: [&str; 29] = [
    "AZP", "SZP", "TAN", "STG", "SIN", "NCP", "ARC", "ZPN", "ZEA", "AIR", "CYP", "CEA", "CAR", "MER", "SFL", "GLS",
    "PAR", "MOL", "AIT", "COP", "COE", "COD", "COO", "BON", "PCO", "TSC", "CSC", "QSC", "HPX",
];

impl Projection {
    /// Builds the projection for `code`. `native_ref` is (φ₀, θ₀) from `PVi_1`/`PVi_2` of the
    /// longitude axis; `offset` (from `PVi_0 != 0`) shifts the plane so that the fiducial point
    /// lands on (0, 0).
    pub(crate) fn new(
        code: &str,
        pv: &Params,
        native_ref: (Option<f64>, Option<f64>),
        offset: bool,
    ) -> Result<Self, String> {
        let (code, kind, theta0_default): (&'static str, Kind, f64) = match code {
            "AZP" => ("AZP", Kind::Azp(zenithal::Azp::new(pv)?), 90.0),
            "SZP" => ("SZP", Kind::Szp(zenithal::Szp::new(pv)?), 90.0),
            "TAN" => ("TAN", Kind::Tan, 90.0),
            "STG" => ("STG", Kind::Stg, 90.0),
            "SIN" => ("SIN", Kind::Sin(zenithal::Sin::new(pv)), 90.0),
            "ARC" => ("ARC", Kind::Arc, 90.0),
            "ZPN" => ("ZPN", Kind::Zpn(zenithal::Zpn::new(pv)?), 90.0),
            "ZEA" => ("ZEA", Kind::Zea, 90.0),
            "AIR" => ("AIR", Kind::Air(zenithal::Air::new(pv)?), 90.0),
            "CYP" => ("CYP", Kind::Cyp(cylindrical::Cyp::new(pv)?), 0.0),
            "CEA" => ("CEA", Kind::Cea(cylindrical::Cea::new(pv)?), 0.0),
            "CAR" => ("CAR", Kind::Car, 0.0),
            "MER" => ("MER", Kind::Mer, 0.0),
            "SFL" | "GLS" => ("SFL", Kind::Sfl, 0.0),
            "PAR" => ("PAR", Kind::Par, 0.0),
            "MOL" => ("MOL", Kind::Mol, 0.0),
            "AIT" => ("AIT", Kind::Ait, 0.0),
            "COP" | "COE" | "COD" | "COO" => {
                let conic = conic::Conic::new(code, pv)?;
                let theta_a = conic.theta_a();
                let code = match code {
                    "COP" => "COP",
                    "COE" => "COE",
                    "COD" => "COD",
                    _ => "COO",
                };
                (code, Kind::Conic(conic), theta_a)
            }
            "BON" => match conic::Bon::new(pv)? {
                Some(bon) => ("BON", Kind::Bon(bon), 0.0),
                // Bonne with θ₁ = 0 degenerates to Sanson-Flamsteed.
                None => ("BON", Kind::Sfl, 0.0),
            },
            "PCO" => ("PCO", Kind::Pco, 0.0),
            "TSC" => ("TSC", Kind::Tsc, 0.0),
            "CSC" => ("CSC", Kind::Csc, 0.0),
            "QSC" => ("QSC", Kind::Qsc, 0.0),
            "HPX" => ("HPX", Kind::Hpx(healpix::Hpx::new(pv)?), 0.0),
            other => return Err(format!("unsupported projection code '{other}'")),
        };
        let mut proj = Self {
            code,
            kind,
            phi0: native_ref.0.unwrap_or(0.0),
            theta0: native_ref.1.unwrap_or(theta0_default),
            x0: 0.0,
            y0: 0.0,
        };
        if let (true, Some(phi0), Some(theta0)) = (offset, native_ref.0, native_ref.1) {
            let (x0, y0) = proj
                .s2x(phi0, theta0)
                .ok_or_else(|| format!("fiducial point ({phi0}, {theta0}) is outside the {code} projection"))?;
            proj.x0 = x0;
            proj.y0 = y0;
        }
        Ok(proj)
    }

    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    /// Plane (x, y) in degrees → native (φ, θ) in degrees.
    pub(crate) fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let (x, y) = (x + self.x0, y + self.y0);
        if !(x.is_finite() && y.is_finite()) {
            return None;
        }
        let (phi, theta) = match &self.kind {
            Kind::Azp(p) => p.x2s(x, y)?,
            Kind::Szp(p) => p.x2s(x, y)?,
            Kind::Tan => zenithal::tan_x2s(x, y),
            Kind::Stg => zenithal::stg_x2s(x, y),
            Kind::Sin(p) => p.x2s(x, y)?,
            Kind::Arc => zenithal::arc_x2s(x, y),
            Kind::Zpn(p) => p.x2s(x, y)?,
            Kind::Zea => zenithal::zea_x2s(x, y)?,
            Kind::Air(p) => p.x2s(x, y)?,
            Kind::Cyp(p) => p.x2s(x, y),
            Kind::Cea(p) => p.x2s(x, y)?,
            Kind::Car => (x, y),
            Kind::Mer => cylindrical::mer_x2s(x, y),
            Kind::Sfl => cylindrical::sfl_x2s(x, y)?,
            Kind::Par => cylindrical::par_x2s(x, y)?,
            Kind::Mol => cylindrical::mol_x2s(x, y)?,
            Kind::Ait => cylindrical::ait_x2s(x, y)?,
            Kind::Conic(p) => p.x2s(x, y)?,
            Kind::Bon(p) => p.x2s(x, y),
            Kind::Pco => conic::pco_x2s(x, y),
            Kind::Tsc => quadcube::tsc_x2s(x, y)?,
            Kind::Csc => quadcube::csc_x2s(x, y)?,
            Kind::Qsc => quadcube::qsc_x2s(x, y)?,
            Kind::Hpx(p) => p.x2s(x, y)?,
        };
        check_native(phi, theta)
    }

    /// Native (φ, θ) in degrees → plane (x, y) in degrees.
    pub(crate) fn s2x(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        if !(phi.is_finite() && theta.is_finite()) {
            return None;
        }
        let (x, y) = match &self.kind {
            Kind::Azp(p) => p.s2x(phi, theta)?,
            Kind::Szp(p) => p.s2x(phi, theta)?,
            Kind::Tan => zenithal::tan_s2x(phi, theta)?,
            Kind::Stg => zenithal::stg_s2x(phi, theta)?,
            Kind::Sin(p) => p.s2x(phi, theta)?,
            Kind::Arc => zenithal::radial(phi, 90.0 - theta),
            Kind::Zpn(p) => p.s2x(phi, theta)?,
            Kind::Zea => zenithal::zea_s2x(phi, theta),
            Kind::Air(p) => p.s2x(phi, theta)?,
            Kind::Cyp(p) => p.s2x(phi, theta)?,
            Kind::Cea(p) => p.s2x(phi, theta),
            Kind::Car => (phi, theta),
            Kind::Mer => cylindrical::mer_s2x(phi, theta)?,
            Kind::Sfl => cylindrical::sfl_s2x(phi, theta),
            Kind::Par => cylindrical::par_s2x(phi, theta),
            Kind::Mol => cylindrical::mol_s2x(phi, theta),
            Kind::Ait => cylindrical::ait_s2x(phi, theta)?,
            Kind::Conic(p) => p.s2x(phi, theta)?,
            Kind::Bon(p) => p.s2x(phi, theta),
            Kind::Pco => conic::pco_s2x(phi, theta),
            Kind::Tsc => quadcube::tsc_s2x(phi, theta)?,
            Kind::Csc => quadcube::csc_s2x(phi, theta)?,
            Kind::Qsc => quadcube::qsc_s2x(phi, theta)?,
            Kind::Hpx(p) => p.s2x(phi, theta),
        };
        let (x, y) = (x - self.x0, y - self.y0);
        (x.is_finite() && y.is_finite()).then_some((x, y))
    }
}

/// Final domain check on native coordinates, clamping values within rounding of the limits.
fn check_native(phi: f64, theta: f64) -> Option<(f64, f64)> {
    if !(phi.is_finite() && theta.is_finite()) {
        return None;
    }
    let clamp = |v: f64, lim: f64| -> Option<f64> {
        if v.abs() <= lim {
            Some(v)
        } else if v.abs() <= lim + BOUNDS_TOL {
            Some(lim.copysign(v))
        } else {
            None
        }
    };
    Some((clamp(phi, 180.0)?, clamp(theta, 90.0)?))
}

/// Scale of the projection plane: radians → degrees (the "r0" of Paper II).
const R0: f64 = R2D;
