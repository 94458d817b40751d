//! Display transforms for FITS images: physical float values → RGBA8, on the CPU.
//!
//! This is the reference for every pixel transform the viewer does (the future WebGL shaders
//! are tested against it), and what the server uses for thumbnails. No I/O: it builds for
//! native and `wasm32-unknown-unknown`.
//!
//! The pipeline follows astropy.visualization (`ImageNormalize` + a stretch) and DS9:
//!
//! 1. [`Limits`] → `(vmin, vmax)`: min/max, a percentile pair, zscale, or manual.
//! 2. normalise `x = clip((v − vmin) / (vmax − vmin), 0, 1)`.
//! 3. [`Scale`]: astropy's stretches (`LogStretch(a=1000)`, `AsinhStretch(a=0.1)`, …).
//! 4. DS9 bias/contrast (astropy's `ContrastBiasStretch`): `clip((x − bias)·contrast + 0.5)`.
//! 5. invert (`1 − x`), then a 256-entry [`Colormap`] looked up as matplotlib does
//!    (`floor(x·256)`, capped at 255). NaN/inf pixels get `nan_rgba`.
//!
//! Histogram equalisation depends on the image, so it is [prepared](Prepared) per image; the
//! GPU samples it as a table ([`Prepared::table`], [`apply_table`]).
//!
//! Beyond one image:
//!
//! - [`to_rgba_gpu`] is the same pipeline computed as the WebGL2 shader does (`f32`, table
//!   look-up), the exact reference the shader is tested against; [`Scale::code`] and
//!   [`Blend::code`] are the shader's uniform values.
//! - [`reproject_nearest`] puts a plane on another image's sky grid (nearest neighbour,
//!   converting equatorial ↔ galactic); [`same_grid`] tells when that can be skipped.
//! - [`composite`] blends rendered layers ([`Blend`]: normal, add, screen, multiply,
//!   lighten; an RGB image is three layers with the red, green and blue colormaps and add).
//!
//! ```
//! use ch_render::{RenderParams, Scale, Colormap, to_rgba};
//! let values = [0.0f32, 1.0, 2.0, f32::NAN];
//! let params = RenderParams { scale: Scale::Sqrt, colormap: Colormap::Viridis, ..RenderParams::default() };
//! let rgba = to_rgba(&values, 2, 2, &params)?;
//! assert_eq!(rgba.len(), 16);
//! # Ok::<(), ch_render::RenderError>(())
//! ```

pub mod blend;
pub mod colormap;
pub mod gpu;
pub mod limits;
pub mod params;
pub mod pyramid;
pub mod render;
pub mod reproject;
pub mod stretch;

pub use blend::{Blend, Layer, blend_channel, composite};
pub use colormap::Colormap;
pub use gpu::{stretch_f32, to_rgba_gpu};
pub use limits::Limits;
pub use params::{RenderParams, Rgba};
pub use render::{downsample, to_rgba, to_rgba_with_limits};
pub use reproject::{reproject_nearest, same_grid};
pub use stretch::{HISTEQ_TABLE_LEN, Prepared, Scale, apply_table};

/// Why a render request cannot be carried out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    /// A parameter has a value outside its domain; `param` names it as the query string does.
    #[error("invalid value for '{param}': {message}")]
    BadParam { param: String, message: String },
    /// `values.len()` is not `width × height`.
    #[error("{len} values do not make a {width}×{height} image")]
    Shape { len: usize, width: usize, height: usize },
    /// A layer to [`composite`] has the wrong length or an opacity outside `0..=1`.
    #[error("layer {index}: {message}")]
    BadLayer { index: usize, message: String },
    /// Reprojection needs sky axes in both the source and the destination WCS.
    #[error("the {which} WCS has no celestial axes")]
    NoCelestialWcs { which: &'static str },
    /// Reprojection converts only between equatorial (ICRS / FK5 J2000) and galactic frames.
    #[error("cannot convert sky positions from {dst} to {src}")]
    FrameMismatch { src: String, dst: String },
}

pub(crate) fn bad(param: &str, message: impl Into<String>) -> RenderError {
    RenderError::BadParam {
        param: param.to_owned(),
        message: message.into(),
    }
}
