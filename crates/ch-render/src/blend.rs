//! Compositing rendered RGBA8 layers, e.g. several images over one sky grid.
//!
//! The definition, done in `f32` so that the WebGL shader computes the same bytes (every
//! channel `c` read as `c / 255`):
//!
//! 1. start with `dst = (0, 0, 0, 0)`;
//! 2. for each layer in order, with `s` its colour and `α = opacity · s_alpha`:
//!    - for r, g and b, `d ← d + (B(d, s) − d) · α`, where the blend `B` is
//!      `s` ([`Blend::Normal`]), `min(d + s, 1)` ([`Blend::Add`]), `d + s − d·s`
//!      ([`Blend::Screen`]), `d·s` ([`Blend::Multiply`]) or `max(d, s)` ([`Blend::Lighten`]);
//!    - `d_alpha ← α + d_alpha · (1 − α)`;
//! 3. each channel becomes `round(clamp(x, 0, 1) · 255)` (Rust's `round`: halves away from
//!    zero; a GPU's unorm conversion may differ by one step at exact halves).
//!
//! Colours are not premultiplied, so a single [`Blend::Normal`] layer at opacity 1 comes back
//! unchanged wherever it is opaque.
//!
//! An RGB composite (DS9's `rgb` frame) is three layers rendered from three planes with the
//! [`Colormap::Red`](crate::Colormap::Red), [`Colormap::Green`](crate::Colormap::Green) and
//! [`Colormap::Blue`](crate::Colormap::Blue) colormaps, each with opacity 1 and
//! [`Blend::Add`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::RenderError;

/// How a layer's colour combines with what is already below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Blend {
    #[default]
    Normal,
    Add,
    Screen,
    Multiply,
    Lighten,
}

impl Blend {
    /// Every blend, in [`Blend::code`] order.
    pub const ALL: [Blend; 5] = [
        Blend::Normal,
        Blend::Add,
        Blend::Screen,
        Blend::Multiply,
        Blend::Lighten,
    ];

    /// The lowercase name used in JSON, query strings and [`fmt::Display`].
    pub fn name(self) -> &'static str {
        match self {
            Blend::Normal => "normal",
            Blend::Add => "add",
            Blend::Screen => "screen",
            Blend::Multiply => "multiply",
            Blend::Lighten => "lighten",
        }
    }

    /// The shader's uniform value: 0 normal, 1 add, 2 screen, 3 multiply, 4 lighten.
    pub fn code(self) -> u32 {
        match self {
            Blend::Normal => 0,
            Blend::Add => 1,
            Blend::Screen => 2,
            Blend::Multiply => 3,
            Blend::Lighten => 4,
        }
    }
}

impl fmt::Display for Blend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Blend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Blend::ALL.into_iter().find(|b| b.name() == wanted).ok_or_else(|| {
            let names: Vec<&str> = Blend::ALL.iter().map(|b| b.name()).collect();
            format!("unknown blend '{s}' (expected one of {})", names.join(", "))
        })
    }
}

/// One rendered image to composite: `rgba` holds 4 bytes a pixel, as [`crate::to_rgba`] makes.
#[derive(Debug, Clone, Copy)]
pub struct Layer<'a> {
    pub rgba: &'a [u8],
    /// 0–1, multiplied into the layer's own alpha.
    pub opacity: f32,
    pub blend: Blend,
}

/// The blend `B(d, s)` of one colour channel, both in `[0, 1]` (see the module docs).
pub fn blend_channel(blend: Blend, d: f32, s: f32) -> f32 {
    match blend {
        Blend::Normal => s,
        Blend::Add => (d + s).min(1.0),
        Blend::Screen => d + s - d * s,
        Blend::Multiply => d * s,
        Blend::Lighten => d.max(s),
    }
}

/// Composites `layers` (bottom first) of `pixels` pixels each into one RGBA8 image, as the
/// module docs define. Errors when a layer is not `pixels × 4` bytes or an opacity is outside
/// `0..=1`. No layers give a transparent image.
pub fn composite(layers: &[Layer], pixels: usize) -> Result<Vec<u8>, RenderError> {
    let Some(bytes) = pixels.checked_mul(4) else {
        return Err(layer_error(0, format!("{pixels} pixels is too many")));
    };
    for (index, layer) in layers.iter().enumerate() {
        if layer.rgba.len() != bytes {
            return Err(layer_error(
                index,
                format!("{} bytes where {pixels} pixels need {bytes}", layer.rgba.len()),
            ));
        }
        if !(0.0..=1.0).contains(&layer.opacity) {
            return Err(layer_error(
                index,
                format!("opacity {} is outside 0..=1", layer.opacity),
            ));
        }
    }
    let mut out = vec![0u8; bytes];
    for (p, px) in out.as_chunks_mut::<4>().0.iter_mut().enumerate() {
        let mut dst = [0f32; 4];
        for layer in layers {
            let src = &layer.rgba[p * 4..p * 4 + 4];
            let a = layer.opacity * unit(src[3]);
            for (d, &s) in dst.iter_mut().zip(&src[..3]) {
                let s = unit(s);
                *d += (blend_channel(layer.blend, *d, s) - *d) * a;
            }
            dst[3] = a + dst[3] * (1.0 - a);
        }
        for (byte, x) in px.iter_mut().zip(dst) {
            *byte = to_byte(x);
        }
    }
    Ok(out)
}

fn layer_error(index: usize, message: String) -> RenderError {
    RenderError::BadLayer { index, message }
}

fn unit(c: u8) -> f32 {
    f32::from(c) / 255.0
}

fn to_byte(x: f32) -> u8 {
    // NaN cannot arise from bytes and opacities in range; clamp maps it through as 0 anyway.
    let x = if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) };
    (x * 255.0).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(rgba: &[u8], opacity: f32, blend: Blend) -> Layer<'_> {
        Layer { rgba, opacity, blend }
    }

    #[test]
    fn names_codes_and_serde() {
        for (i, b) in Blend::ALL.into_iter().enumerate() {
            assert_eq!(b.code() as usize, i);
            assert_eq!(b.to_string().parse::<Blend>(), Ok(b));
            let json = serde_json::to_string(&b).expect("ser");
            assert_eq!(json, format!("\"{b}\""));
            assert_eq!(serde_json::from_str::<Blend>(&json).expect("de"), b);
        }
        assert_eq!(" Screen ".parse::<Blend>(), Ok(Blend::Screen));
        assert!("overlay".parse::<Blend>().is_err());
        assert_eq!(Blend::default(), Blend::Normal);
    }

    #[test]
    fn channel_blends() {
        let (d, s) = (0.5f32, 0.75f32);
        assert_eq!(blend_channel(Blend::Normal, d, s), 0.75);
        assert_eq!(blend_channel(Blend::Add, d, s), 1.0);
        assert_eq!(blend_channel(Blend::Screen, d, s), 0.875);
        assert_eq!(blend_channel(Blend::Multiply, d, s), 0.375);
        assert_eq!(blend_channel(Blend::Lighten, d, s), 0.75);
        assert_eq!(blend_channel(Blend::Lighten, s, d), 0.75);
    }

    #[test]
    fn single_opaque_normal_layer_is_unchanged() {
        let rgba: Vec<u8> = (0..=255u8).flat_map(|c| [c, 255 - c, c / 3, 255]).collect();
        let out = composite(&[layer(&rgba, 1.0, Blend::Normal)], 256).expect("composites");
        assert_eq!(out, rgba);
        // Every blend over the transparent black start is the same for an opaque layer,
        // except those that combine with black: multiply gives black, add/screen/lighten s.
        for b in [Blend::Add, Blend::Screen, Blend::Lighten] {
            assert_eq!(composite(&[layer(&rgba, 1.0, b)], 256).expect("composites"), rgba);
        }
    }

    #[test]
    fn rgb_composite_adds_channels() {
        let red = [200u8, 0, 0, 255, 10, 0, 0, 255];
        let green = [0u8, 100, 0, 255, 0, 20, 0, 255];
        let blue = [0u8, 0, 50, 255, 0, 0, 30, 255];
        let layers = [
            layer(&red, 1.0, Blend::Add),
            layer(&green, 1.0, Blend::Add),
            layer(&blue, 1.0, Blend::Add),
        ];
        let out = composite(&layers, 2).expect("composites");
        assert_eq!(out, vec![200, 100, 50, 255, 10, 20, 30, 255]);
    }

    #[test]
    fn opacity_and_alpha() {
        let base = [255u8, 0, 0, 255];
        let top = [0u8, 0, 255, 255];
        let out =
            composite(&[layer(&base, 1.0, Blend::Normal), layer(&top, 0.5, Blend::Normal)], 1).expect("composites");
        assert_eq!(out, vec![128, 0, 128, 255]);
        // A half-transparent layer alone: colour scaled by α from black, alpha α.
        let half = [200u8, 100, 0, 128];
        let out = composite(&[layer(&half, 1.0, Blend::Normal)], 1).expect("composites");
        assert_eq!(out, vec![100, 50, 0, 128]);
        // Multiply darkens, lighten keeps the brighter channel.
        let grey = [128u8, 128, 128, 255];
        let out = composite(
            &[layer(&grey, 1.0, Blend::Normal), layer(&grey, 1.0, Blend::Multiply)],
            1,
        )
        .expect("composites");
        assert_eq!(out, vec![64, 64, 64, 255]);
        let out =
            composite(&[layer(&base, 1.0, Blend::Normal), layer(&top, 1.0, Blend::Lighten)], 1).expect("composites");
        assert_eq!(out, vec![255, 0, 255, 255]);
        assert_eq!(composite(&[], 2).expect("composites"), vec![0; 8]);
    }

    #[test]
    fn bad_layers_are_errors() {
        let px = [0u8; 8];
        assert!(matches!(
            composite(&[layer(&px, 1.0, Blend::Normal), layer(&px[..4], 1.0, Blend::Add)], 2),
            Err(RenderError::BadLayer { index: 1, .. })
        ));
        for opacity in [-0.1, 1.5, f32::NAN] {
            assert!(composite(&[layer(&px, opacity, Blend::Normal)], 2).is_err());
        }
        assert!(composite(&[], usize::MAX).is_err());
    }
}
