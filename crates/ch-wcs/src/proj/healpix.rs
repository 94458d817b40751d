//! HEALPix projection HPX (Calabretta & Roukema 2007), PV2_1 = H (facets in longitude, default 4),
//! PV2_2 = K (facets in latitude, default 3).

use super::Params;
use crate::trig::{asind, sind};

#[derive(Debug, Clone)]
pub(crate) struct Hpx {
    k: f64,
    h_odd: bool,
    k_odd: bool,
    /// (K−1)/K: |sin θ| limit of the equatorial zone.
    sin_limit: f64,
    /// 90K/H: y scale of the equatorial zone.
    y_scale: f64,
    /// (K+1)/2.
    half_k1: f64,
    /// 90(K−1)/H: |y| limit of the equatorial zone.
    y_equator: f64,
    /// 180/H: half a facet width.
    half_facet: f64,
}

impl Hpx {
    pub(super) fn new(pv: &Params) -> Result<Self, String> {
        let h = pv[1].unwrap_or(4.0);
        let k = pv[2].unwrap_or(3.0);
        if !(h > 0.0 && k > 0.0 && h.is_finite() && k.is_finite()) {
            return Err(format!("invalid HPX parameters H={h}, K={k}"));
        }
        Ok(Self {
            k,
            h_odd: ((h + 0.5) as i64) % 2 == 1,
            k_odd: ((k + 0.5) as i64) % 2 == 1,
            sin_limit: (k - 1.0) / k,
            y_scale: 90.0 * k / h,
            half_k1: (k + 1.0) / 2.0,
            y_equator: 90.0 * (k - 1.0) / h,
            half_facet: 180.0 / h,
        })
    }

    /// Centre of the facet column containing `v` (x or φ), as an offset `v − centre`.
    fn offset_from_centre(&self, v: f64) -> f64 {
        let facets_per_degree = 1.0 / (2.0 * self.half_facet);
        v - (-180.0 + (2.0 * ((v + 180.0) * facets_per_degree).floor() + 1.0) * self.half_facet)
    }

    /// Whether the southern polar half-facets need shifting (even K).
    fn shift_sign(&self, v: f64) -> f64 {
        let h = (v / self.half_facet).floor() as i64 + i64::from(self.h_odd);
        if h % 2 != 0 { -1.0 } else { 1.0 }
    }

    pub(super) fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let absy = y.abs();
        if absy <= self.y_equator {
            return Some((x, asind(y / self.y_scale)));
        }
        if absy > self.half_facet * self.half_k1 {
            return None;
        }
        let mut xmxc = self.offset_from_centre(x);
        let sigma = self.half_k1 - absy / self.half_facet;
        let (s, mut theta) = if sigma == 0.0 {
            (1e9, 90.0)
        } else {
            let t = 1.0 - sigma * sigma / self.k;
            if t < -1.0 {
                return None;
            }
            (1.0 / sigma, asind(t))
        };
        if y < 0.0 {
            theta = -theta;
        }
        if !self.k_odd && y <= 0.0 {
            xmxc += self.shift_sign(x) * self.half_facet;
        }
        let mut r = s * xmxc;
        if self.half_facet + 1e-12 <= r.abs() {
            return None;
        }
        if r != 0.0 {
            r -= xmxc;
        }
        Some((x + r, theta))
    }

    pub(super) fn s2x(&self, phi: f64, theta: f64) -> (f64, f64) {
        let sinthe = sind(theta);
        let abssin = sinthe.abs();
        if abssin <= self.sin_limit {
            return (phi, self.y_scale * sinthe);
        }
        let mut pmpc = self.offset_from_centre(phi);
        let sigma = (self.k * (1.0 - abssin)).sqrt();
        let mut eta = self.half_facet * (self.half_k1 - sigma);
        if theta < 0.0 {
            eta = -eta;
        }
        if !self.k_odd && theta <= 0.0 {
            pmpc += self.shift_sign(phi) * self.half_facet;
        }
        let mut x = phi + pmpc * (sigma - 1.0);
        if 180.0 < x {
            x = 360.0 - x;
        }
        (x, eta)
    }
}
