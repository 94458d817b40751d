//! The viewer's shared vocabulary: the layer limit, the sample image, the drawing tools, what
//! the status line, the readout and the region report show, and how values are written. It
//! imports nothing of the viewer, so every part of the viewer can import it.

/// Layers composited on the GPU in one pass (texture bindings in the shader); the share link,
/// the engine and the GPU layer all take the limit from here.
pub const MAX_LAYERS: usize = 4;

/// Sample shipped with the app: a Parkes multibeam continuum map (astropy's test data).
pub const SAMPLE: &str = "/samples/1904-66_AZP.fits";

/// The cursor readout, already formatted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadoutText {
    pub pixel: String,
    pub value: String,
    pub sexagesimal: String,
    pub degrees: String,
    pub galactic: String,
}

/// What a press on the canvas does: pan and select, or draw a region of one shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tool {
    #[default]
    Pan,
    Circle,
    Box,
    Ellipse,
    Polygon,
    Line,
    Point,
}

impl Tool {
    /// Every tool with its name and its button's title (which names its key).
    pub const ALL: [(Tool, &'static str, &'static str); 7] = [
        (Tool::Pan, "pan", "Pan / select (v)"),
        (Tool::Circle, "circle", "Circle (c)"),
        (Tool::Box, "box", "Box (b)"),
        (Tool::Ellipse, "ellipse", "Ellipse (e)"),
        (
            Tool::Polygon,
            "polygon",
            "Polygon (p): click vertices, double-click to close",
        ),
        (Tool::Line, "line", "Line with profile (l)"),
        (Tool::Point, "point", "Point (o)"),
    ];
}

/// Where the viewer stands, as the message over the canvas shows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Status {
    #[default]
    Starting,
    Loading(String),
    Ready,
    Error(String),
}

/// Statistics and profile of the selected region, ready to show.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionReport {
    pub id: String,
    pub kind: String,
    pub rows: Vec<(String, String)>,
    pub profile_svg: Option<String>,
}

/// A value with four significant digits, scientific when very large or small.
pub fn fmt_value(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let mag = v.abs().log10();
    if !(-3.0..5.0).contains(&mag) {
        format!("{v:.3e}")
    } else {
        let decimals = (3 - mag.floor() as i32).clamp(0, 6) as usize;
        format!("{v:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    use super::fmt_value;

    #[test]
    fn values_keep_four_significant_digits() {
        assert_eq!(fmt_value(1.23456), "1.235");
        assert_eq!(fmt_value(0.0123456), "0.01235");
        assert_eq!(fmt_value(123456.0), "1.235e5");
        assert_eq!(fmt_value(0.0), "0");
    }
}
