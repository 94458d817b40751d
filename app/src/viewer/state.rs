//! What a share link restores: layers (source, HDU, plane, display settings), the view and the
//! regions. Pure data, the same on the server and in the browser; serialised as JSON in the URL
//! fragment (`/viewer#v=<percent-encoded JSON>`), or given as `?src=URL` for one image.

use ch_regions::RegionSet;
use ch_render::{Blend, RenderParams};
use serde::{Deserialize, Serialize};

use super::vocab::MAX_LAYERS;

/// Display settings of one layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LayerSettings {
    pub render: RenderParams,
    pub opacity: f32,
    pub blend: Blend,
    /// Limits over the whole cube instead of the shown plane.
    pub cube_limits: bool,
}

impl Default for LayerSettings {
    fn default() -> Self {
        LayerSettings {
            render: RenderParams::default(),
            opacity: 1.0,
            blend: Blend::Normal,
            cube_limits: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerState {
    /// URL of the FITS file (same origin), e.g. `/api/fits/vlass/…` or `/samples/…`.
    pub src: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hdu: Option<usize>,
    #[serde(default)]
    pub plane: usize,
    #[serde(default)]
    pub settings: LayerSettings,
}

/// The whole viewer state a link carries.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ViewState {
    pub layers: Vec<LayerState>,
    /// Image pixel at the canvas centre.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub centre: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zoom: Option<f64>,
    pub grid: bool,
    #[serde(skip_serializing_if = "no_regions")]
    pub regions: RegionSet,
}

fn no_regions(r: &RegionSet) -> bool {
    r.regions.is_empty()
}

/// Characters kept as they are in the fragment (RFC 3986 unreserved plus a few JSON-safe ones).
fn keep(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.~:,[]".contains(&b)
}

pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(if b == b'+' { b' ' } else { b });
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl ViewState {
    /// The fragment (without `#`) that restores this state.
    pub fn to_fragment(&self) -> String {
        format!("v={}", percent_encode(&serde_json::to_string(self).unwrap_or_default()))
    }

    /// Reads a fragment written by [`ViewState::to_fragment`].
    pub fn from_fragment(fragment: &str) -> Result<ViewState, String> {
        let body = fragment.trim_start_matches('#');
        let json = body
            .split('&')
            .find_map(|kv| kv.strip_prefix("v="))
            .ok_or_else(|| "the link has no view state".to_owned())?;
        let json = percent_decode(json).ok_or_else(|| "the link's view state is not valid UTF-8".to_owned())?;
        let state: ViewState =
            serde_json::from_str(&json).map_err(|e| format!("the link's view state is malformed: {e}"))?;
        state.validate()?;
        Ok(state)
    }

    /// Checks what the engine would otherwise have to refuse later.
    pub fn validate(&self) -> Result<(), String> {
        if self.layers.len() > MAX_LAYERS {
            return Err(format!("at most {MAX_LAYERS} layers"));
        }
        for (i, l) in self.layers.iter().enumerate() {
            if l.src.is_empty() || !l.src.starts_with('/') {
                return Err(format!("layers[{i}].src must be a same-origin path starting with '/'"));
            }
            l.settings.render.validate().map_err(|e| format!("layers[{i}]: {e}"))?;
            if !(0.0..=1.0).contains(&l.settings.opacity) {
                return Err(format!("layers[{i}].opacity must be within 0..=1"));
            }
        }
        if let Some(z) = self.zoom
            && !(z.is_finite() && z > 0.0)
        {
            return Err("zoom must be a positive number".into());
        }
        self.regions.validate().map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ch_render::{Colormap, Scale};

    #[test]
    fn fragment_round_trip() {
        let mut s = ViewState {
            layers: vec![LayerState {
                src: "/samples/1904-66_AZP.fits".into(),
                hdu: None,
                plane: 0,
                settings: LayerSettings::default(),
            }],
            centre: Some([95.5, 80.0]),
            zoom: Some(2.0),
            grid: true,
            regions: RegionSet::default(),
        };
        s.layers[0].settings.render.scale = Scale::Asinh;
        s.layers[0].settings.render.colormap = Colormap::Inferno;
        let back = ViewState::from_fragment(&format!("#{}", s.to_fragment())).expect("round trip");
        assert_eq!(back, s);
    }

    #[test]
    fn bad_fragments_say_why() {
        assert!(
            ViewState::from_fragment("#x=1")
                .expect_err("refused")
                .contains("no view state")
        );
        assert!(
            ViewState::from_fragment("#v=%7Bnot")
                .expect_err("refused")
                .contains("malformed")
        );
        let remote = ViewState {
            layers: vec![LayerState {
                src: "https://evil.example/x.fits".into(),
                hdu: None,
                plane: 0,
                settings: LayerSettings::default(),
            }],
            ..ViewState::default()
        };
        assert!(
            ViewState::from_fragment(&remote.to_fragment())
                .expect_err("refused")
                .contains("same-origin")
        );
        assert_eq!(percent_decode("a%20b+c").as_deref(), Some("a b c"));
        assert_eq!(percent_decode("%zz"), None);
    }
}
