//! Simple Imaging Polynomial distortion (Shupe et al. 2005): `A_p_q`/`B_p_q` map pixel offsets
//! from CRPIX to focal-plane offsets; the inverse is solved by Newton's method, seeded from the
//! optional `AP_p_q`/`BP_p_q` approximation, so that world → pixel → world is exact.

use crate::WcsError;
use crate::card::Keywords;

/// Highest polynomial order accepted; real headers stay below 10.
const MAX_ORDER: usize = 20;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Poly {
    order: usize,
    /// Coefficient of u^p v^q at `p * (order + 1) + q`.
    coeff: Vec<f64>,
}

impl Poly {
    fn read(keywords: &Keywords, name: &str) -> Result<Option<Self>, WcsError> {
        let order_key = format!("{name}_ORDER");
        let Some(order) = keywords.number(&order_key)? else {
            return Ok(None);
        };
        if order.fract() != 0.0 || !(0.0..=MAX_ORDER as f64).contains(&order) {
            return Err(WcsError::InvalidValue {
                keyword: order_key,
                value: order.to_string(),
            });
        }
        let order = order as usize;
        let mut coeff = vec![0.0; (order + 1) * (order + 1)];
        for p in 0..=order {
            for q in 0..=order - p {
                if let Some(v) = keywords.number(&format!("{name}_{p}_{q}"))? {
                    coeff[p * (order + 1) + q] = v;
                }
            }
        }
        Ok(Some(Self { order, coeff }))
    }

    /// Value and partial derivatives (∂/∂u, ∂/∂v) at (u, v).
    fn eval(&self, u: f64, v: f64) -> (f64, f64, f64) {
        let n = self.order + 1;
        let (mut f, mut fu, mut fv) = (0.0, 0.0, 0.0);
        let mut up = 1.0; // u^p
        let mut up1 = 0.0; // p u^(p-1)
        for p in 0..n {
            let mut vq = 1.0;
            let mut vq1 = 0.0;
            for q in 0..n - p {
                let c = self.coeff[p * n + q];
                if c != 0.0 {
                    f += c * up * vq;
                    fu += c * up1 * vq;
                    fv += c * up * vq1;
                }
                vq1 = (q + 1) as f64 * vq;
                vq *= v;
            }
            up1 = (p + 1) as f64 * up;
            up *= u;
        }
        (f, fu, fv)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sip {
    a: Poly,
    b: Poly,
    ap: Option<Poly>,
    bp: Option<Poly>,
}

impl Sip {
    /// Reads the SIP keywords; `None` when `A_ORDER`/`B_ORDER` are absent.
    pub(crate) fn read(keywords: &Keywords) -> Result<Option<Self>, WcsError> {
        let (Some(a), Some(b)) = (Poly::read(keywords, "A")?, Poly::read(keywords, "B")?) else {
            return Ok(None);
        };
        let ap = Poly::read(keywords, "AP")?;
        let bp = Poly::read(keywords, "BP")?;
        Ok(Some(Self { a, b, ap, bp }))
    }

    pub(crate) fn order(&self) -> usize {
        self.a.order.max(self.b.order)
    }

    pub(crate) fn has_inverse_polynomial(&self) -> bool {
        self.ap.is_some() && self.bp.is_some()
    }

    /// Pixel offsets (u, v) from CRPIX → distorted focal-plane offsets.
    pub(crate) fn forward(&self, u: f64, v: f64) -> (f64, f64) {
        (u + self.a.eval(u, v).0, v + self.b.eval(u, v).0)
    }

    /// Focal-plane offsets → pixel offsets, `None` if the iteration does not converge.
    pub(crate) fn inverse(&self, fu: f64, fv: f64) -> Option<(f64, f64)> {
        let (mut u, mut v) = match (&self.ap, &self.bp) {
            (Some(ap), Some(bp)) => (fu + ap.eval(fu, fv).0, fv + bp.eval(fu, fv).0),
            _ => (fu, fv),
        };
        if !(u.is_finite() && v.is_finite()) {
            (u, v) = (fu, fv);
        }
        let scale = 1.0 + fu.abs().max(fv.abs());
        for _ in 0..100 {
            let (a, au, av) = self.a.eval(u, v);
            let (b, bu, bv) = self.b.eval(u, v);
            let (ru, rv) = (u + a - fu, v + b - fv);
            let (j11, j12, j21, j22) = (1.0 + au, av, bu, 1.0 + bv);
            let det = j11 * j22 - j12 * j21;
            if det == 0.0 || !det.is_finite() {
                return None;
            }
            let du = (j22 * ru - j12 * rv) / det;
            let dv = (j11 * rv - j21 * ru) / det;
            u -= du;
            v -= dv;
            if !(u.is_finite() && v.is_finite()) {
                return None;
            }
            if du.abs().max(dv.abs()) <= 1e-13 * scale {
                return Some((u, v));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip() -> Sip {
        let cards = [
            ("A_ORDER", "2"),
            ("A_2_0", "1e-5"),
            ("A_1_1", "-2e-6"),
            ("A_0_2", "3e-6"),
            ("B_ORDER", "2"),
            ("B_2_0", "-1e-6"),
            ("B_0_2", "4e-6"),
        ];
        Sip::read(&Keywords::from_pairs(cards))
            .expect("valid")
            .expect("present")
    }

    #[test]
    fn inverse_undoes_forward() {
        let s = sip();
        for &(u, v) in &[(0.0, 0.0), (100.0, -250.0), (-1000.0, 800.0)] {
            let (fu, fv) = s.forward(u, v);
            let (u2, v2) = s.inverse(fu, fv).expect("converges");
            assert!((u2 - u).abs() < 1e-9 && (v2 - v).abs() < 1e-9, "{u} {v} -> {u2} {v2}");
        }
    }

    #[test]
    fn rejects_silly_orders() {
        let bad = Keywords::from_pairs([("A_ORDER", "1e9"), ("B_ORDER", "2")]);
        assert!(Sip::read(&bad).is_err());
    }
}
