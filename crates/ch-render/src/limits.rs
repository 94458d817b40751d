//! Display limits `(vmin, vmax)`: astropy's `MinMaxInterval`, `AsymmetricPercentileInterval`,
//! `ZScaleInterval` and `ManualInterval`.

use serde::{Deserialize, Serialize};

use crate::{RenderError, bad};

/// How the values mapped to the ends of the colormap are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Limits {
    /// Smallest and largest finite value (DS9's default).
    #[default]
    #[serde(rename = "minmax")]
    MinMax,
    /// Percentiles (0–100) of the finite values, numpy's linear interpolation.
    Percentile { low: f64, high: f64 },
    /// IRAF/DS9 zscale with astropy's defaults.
    #[serde(rename = "zscale")]
    ZScale,
    /// Fixed values.
    Manual { min: f64, max: f64 },
}

impl Limits {
    /// Checks the parameters, naming the offending one as the query string does.
    pub fn validate(&self) -> Result<(), RenderError> {
        match *self {
            Limits::Percentile { low, high } => {
                for (name, q) in [("plow", low), ("phigh", high)] {
                    if !(0.0..=100.0).contains(&q) {
                        return Err(bad(name, format!("percentile {q} is outside 0..=100")));
                    }
                }
                if low >= high {
                    return Err(bad("plow", format!("{low} is not below phigh {high}")));
                }
            }
            Limits::Manual { min, max } => {
                if !min.is_finite() {
                    return Err(bad("vmin", "must be a finite number"));
                }
                if !max.is_finite() {
                    return Err(bad("vmax", "must be a finite number"));
                }
                if min == max {
                    return Err(bad("vmax", "must differ from vmin"));
                }
            }
            Limits::MinMax | Limits::ZScale => {}
        }
        Ok(())
    }

    /// `(vmin, vmax)` for `values`; `None` when there are no finite values. Manual limits
    /// may be reversed (vmin > vmax), which flips the ramp as in astropy.
    pub fn compute(&self, values: &[f32]) -> Option<(f64, f64)> {
        match *self {
            Limits::MinMax => ch_fits::stats::finite_min_max(values),
            Limits::Percentile { low, high } => {
                let p = ch_fits::stats::percentiles(values, &[low, high]).ok()?;
                match p.as_slice() {
                    [lo, hi] if lo.is_finite() && hi.is_finite() => Some((*lo, *hi)),
                    _ => None,
                }
            }
            Limits::ZScale => ch_fits::stats::zscale(values),
            Limits::Manual { min, max } => Some((min, max)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_of_a_ramp() {
        let v: Vec<f32> = (0..=100).map(|i| i as f32).chain([f32::NAN]).collect();
        assert_eq!(Limits::MinMax.compute(&v), Some((0.0, 100.0)));
        let p = Limits::Percentile { low: 1.0, high: 99.0 }.compute(&v);
        assert_eq!(p, Some((1.0, 99.0)));
        assert_eq!(Limits::MinMax.compute(&[f32::NAN]), None);
        // Infinities are not finite values; more values than one vector of lanes.
        let mut w: Vec<f32> = (0..37).map(|i| (i as f32 * 0.7).sin()).collect();
        w.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -3.5, 2.25]);
        assert_eq!(Limits::MinMax.compute(&w), Some((-3.5, 2.25)));
        assert!(Limits::ZScale.compute(&v).is_some());
    }

    #[test]
    fn json_names_match_the_query_string() {
        let text = serde_json::to_string(&[Limits::MinMax, Limits::ZScale]).expect("serialises");
        assert_eq!(text, r#"[{"kind":"minmax"},{"kind":"zscale"}]"#);
    }

    #[test]
    fn validation_names_the_parameter() {
        let e = Limits::Percentile { low: 5.0, high: 101.0 }.validate();
        assert!(matches!(e, Err(RenderError::BadParam { param, .. }) if param == "phigh"));
        let e = Limits::Manual { min: 1.0, max: 1.0 }.validate();
        assert!(matches!(e, Err(RenderError::BadParam { param, .. }) if param == "vmax"));
    }
}
