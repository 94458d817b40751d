//! What a render request asks for, from JSON (serde) or from query-string pairs.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Colormap, Limits, RenderError, Scale, bad};

/// An RGBA8 colour; in JSON and query strings `#rrggbb`, `#rrggbbaa` or `[r, g, b, a]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rgba(pub [u8; 4]);

impl Rgba {
    pub fn parse(s: &str) -> Option<Rgba> {
        let hex = s.trim().strip_prefix('#').unwrap_or(s.trim());
        if !matches!(hex.len(), 6 | 8) || !hex.is_ascii() {
            return None;
        }
        let byte = |i: usize| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok());
        let alpha = if hex.len() == 8 { byte(6)? } else { 255 };
        Some(Rgba([byte(0)?, byte(2)?, byte(4)?, alpha]))
    }
}

impl fmt::Display for Rgba {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r, g, b, a] = self.0;
        write!(f, "#{r:02x}{g:02x}{b:02x}{a:02x}")
    }
}

impl Serialize for Rgba {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rgba {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Text(String),
            Array([u8; 4]),
        }
        match Repr::deserialize(d)? {
            Repr::Array(a) => Ok(Rgba(a)),
            Repr::Text(t) => {
                Rgba::parse(&t).ok_or_else(|| serde::de::Error::custom(format!("'{t}' is not #rrggbb or #rrggbbaa")))
            }
        }
    }
}

/// Everything that decides the colours of a rendered image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RenderParams {
    pub limits: Limits,
    pub scale: Scale,
    pub colormap: Colormap,
    pub invert: bool,
    /// DS9 bias, 0–1 (0.5 = neutral): the stretched value shown at the colormap's middle.
    pub bias: f64,
    /// DS9 contrast, 0–10 (1 = neutral): the slope around the bias.
    pub contrast: f64,
    /// Colour of NaN/blank pixels (default transparent).
    pub nan_rgba: Rgba,
}

impl Default for RenderParams {
    fn default() -> Self {
        RenderParams {
            limits: Limits::MinMax,
            scale: Scale::Linear,
            colormap: Colormap::Grey,
            invert: false,
            bias: 0.5,
            contrast: 1.0,
            nan_rgba: Rgba::default(),
        }
    }
}

/// Query-string keys understood by [`RenderParams::from_pairs`].
pub const QUERY_KEYS: [&str; 12] = [
    "limits", "plow", "phigh", "vmin", "vmax", "scale", "gamma", "colormap", "invert", "bias", "contrast", "nan",
];

fn number(key: &str, raw: &str) -> Result<f64, RenderError> {
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| bad(key, format!("'{raw}' is not a finite number")))
}

impl RenderParams {
    /// Checks ranges, naming the offending query-string key.
    pub fn validate(&self) -> Result<(), RenderError> {
        self.limits.validate()?;
        if let Scale::Power(a) = self.scale
            && !(a.is_finite() && a > 0.0)
        {
            return Err(bad("gamma", format!("{a} is not a positive number")));
        }
        if !(0.0..=1.0).contains(&self.bias) {
            return Err(bad("bias", format!("{} is outside 0..=1", self.bias)));
        }
        if !(0.0..=10.0).contains(&self.contrast) {
            return Err(bad("contrast", format!("{} is outside 0..=10", self.contrast)));
        }
        Ok(())
    }

    /// Parses query-string pairs: `limits=minmax|zscale|percentile|manual` (`plow`/`phigh`,
    /// default 0.5/99.5, or `vmin`/`vmax`; giving those alone implies the kind),
    /// `scale=linear|log|sqrt|squared|power|asinh|sinh|histeq` (`gamma` for power, default 1),
    /// `colormap`, `invert`, `bias`, `contrast`, `nan=#rrggbb[aa]`. Unknown keys are errors.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<RenderParams, RenderError> {
        let mut p = RenderParams::default();
        let (mut limits, mut scale) = (None::<String>, None::<String>);
        let (mut plow, mut phigh, mut vmin, mut vmax, mut gamma) = (None, None, None, None, None);
        for (key, raw) in pairs {
            match key {
                "limits" => limits = Some(raw.trim().to_ascii_lowercase()),
                "scale" => scale = Some(raw.trim().to_ascii_lowercase()),
                "plow" => plow = Some(number(key, raw)?),
                "phigh" => phigh = Some(number(key, raw)?),
                "vmin" => vmin = Some(number(key, raw)?),
                "vmax" => vmax = Some(number(key, raw)?),
                "gamma" => gamma = Some(number(key, raw)?),
                "bias" => p.bias = number(key, raw)?,
                "contrast" => p.contrast = number(key, raw)?,
                "colormap" => p.colormap = raw.parse().map_err(|m: String| bad(key, m))?,
                "invert" => {
                    p.invert = match raw.trim() {
                        "" | "1" | "true" | "yes" => true,
                        "0" | "false" | "no" => false,
                        _ => return Err(bad(key, format!("'{raw}' is not true or false"))),
                    }
                }
                "nan" => {
                    p.nan_rgba = Rgba::parse(raw).ok_or_else(|| bad(key, format!("'{raw}' is not #rrggbb[aa]")))?
                }
                _ => {
                    return Err(bad(
                        key,
                        format!("unknown parameter (expected one of {})", QUERY_KEYS.join(", ")),
                    ));
                }
            }
        }
        let kind = limits.unwrap_or_else(|| {
            if vmin.is_some() || vmax.is_some() {
                "manual".into()
            } else if plow.is_some() || phigh.is_some() {
                "percentile".into()
            } else {
                "minmax".into()
            }
        });
        p.limits = match kind.as_str() {
            "minmax" => Limits::MinMax,
            "zscale" => Limits::ZScale,
            "percentile" => Limits::Percentile {
                low: plow.unwrap_or(0.5),
                high: phigh.unwrap_or(99.5),
            },
            "manual" => Limits::Manual {
                min: vmin.ok_or_else(|| bad("vmin", "required with limits=manual"))?,
                max: vmax.ok_or_else(|| bad("vmax", "required with limits=manual"))?,
            },
            other => {
                return Err(bad(
                    "limits",
                    format!("unknown limits '{other}' (minmax, zscale, percentile or manual)"),
                ));
            }
        };
        p.scale = match scale.as_deref().unwrap_or("linear") {
            "linear" => Scale::Linear,
            "log" => Scale::Log,
            "sqrt" => Scale::Sqrt,
            "squared" => Scale::Squared,
            "power" | "pow" | "gamma" => Scale::Power(gamma.unwrap_or(1.0)),
            "asinh" => Scale::Asinh,
            "sinh" => Scale::Sinh,
            "histeq" | "histequ" => Scale::HistEq,
            other => {
                return Err(bad(
                    "scale",
                    format!("unknown scale '{other}' (linear, log, sqrt, squared, power, asinh, sinh, histeq)"),
                ));
            }
        };
        p.validate()?;
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param_of(e: Result<RenderParams, RenderError>) -> String {
        match e {
            Err(RenderError::BadParam { param, .. }) => param,
            other => panic!("expected a bad parameter, got {other:?}"),
        }
    }

    #[test]
    fn query_pairs() {
        let p = RenderParams::from_pairs([
            ("scale", "power"),
            ("gamma", "2.2"),
            ("colormap", "viridis"),
            ("vmin", "1"),
            ("vmax", "5"),
            ("invert", "true"),
            ("nan", "#ff000080"),
        ])
        .expect("valid");
        assert_eq!(p.scale, Scale::Power(2.2));
        assert_eq!(p.limits, Limits::Manual { min: 1.0, max: 5.0 });
        assert_eq!(p.colormap, Colormap::Viridis);
        assert!(p.invert);
        assert_eq!(p.nan_rgba, Rgba([255, 0, 0, 128]));
        let p = RenderParams::from_pairs([("plow", "1")]).expect("valid");
        assert_eq!(p.limits, Limits::Percentile { low: 1.0, high: 99.5 });
        assert_eq!(RenderParams::from_pairs([]).expect("valid"), RenderParams::default());
    }

    #[test]
    fn bad_query_pairs_name_the_key() {
        assert_eq!(param_of(RenderParams::from_pairs([("scale", "cubic")])), "scale");
        assert_eq!(param_of(RenderParams::from_pairs([("colormap", "nope")])), "colormap");
        assert_eq!(param_of(RenderParams::from_pairs([("bias", "x")])), "bias");
        assert_eq!(param_of(RenderParams::from_pairs([("contrast", "11")])), "contrast");
        assert_eq!(
            param_of(RenderParams::from_pairs([("limits", "manual"), ("vmin", "1")])),
            "vmax"
        );
        assert_eq!(param_of(RenderParams::from_pairs([("bogus", "1")])), "bogus");
        assert_eq!(param_of(RenderParams::from_pairs([("nan", "red")])), "nan");
        assert_eq!(
            param_of(RenderParams::from_pairs([("scale", "power"), ("gamma", "-1")])),
            "gamma"
        );
    }

    #[test]
    fn json_form() {
        let p: RenderParams = serde_json::from_str(
            r##"{"limits": {"kind": "percentile", "low": 1, "high": 99}, "scale": {"power": 2},
                "colormap": "gray", "nan_rgba": "#00ff00"}"##,
        )
        .expect("valid");
        assert_eq!(p.limits, Limits::Percentile { low: 1.0, high: 99.0 });
        assert_eq!(p.scale, Scale::Power(2.0));
        assert_eq!(p.colormap, Colormap::Grey);
        assert_eq!(p.nan_rgba, Rgba([0, 255, 0, 255]));
        let back: RenderParams = serde_json::from_value(serde_json::to_value(p).expect("ser")).expect("de");
        assert_eq!(back, p);
        assert!(serde_json::from_str::<RenderParams>(r#"{"scale": "log", "zoom": 2}"#).is_err());
    }
}
