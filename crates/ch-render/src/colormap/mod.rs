//! 256-entry colour lookup tables.
//!
//! viridis, inferno, magma, plasma, cividis, turbo and twilight are their published colour
//! lists, and jet, hot, bone and copper matplotlib's segment tables, sampled by
//! `scripts/make_tables.py` into [`tables`]. cubehelix is Green (2011)'s formula with
//! matplotlib's defaults. heat, cool, rainbow, a, b, bb and he are SAOImage DS9's piecewise
//! linear definitions. Computed tables are sampled at `i / 255` and truncated to bytes, as
//! matplotlib's `cmap(x, bytes=True)` does.

mod tables;

use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One RGB entry per index `0..256`.
pub type Lut = [[u8; 3]; 256];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Colormap {
    #[default]
    #[serde(alias = "gray")]
    Grey,
    Red,
    Green,
    Blue,
    Viridis,
    Inferno,
    Magma,
    Plasma,
    Cividis,
    Turbo,
    Twilight,
    Cubehelix,
    Heat,
    Cool,
    Rainbow,
    A,
    B,
    Bb,
    He,
    Jet,
    Hot,
    Bone,
    Copper,
}

/// Control points `(position, value)` of one channel, positions increasing from 0 to 1.
type Segments = &'static [(f64, f64)];

// DS9's definitions (SAOImage DS9 `colorbar/default.C`).
const HEAT: [Segments; 3] = [
    &[(0.0, 0.0), (0.34, 1.0), (1.0, 1.0)],
    &[(0.0, 0.0), (1.0, 1.0)],
    &[(0.0, 0.0), (0.65, 0.0), (0.98, 1.0), (1.0, 1.0)],
];
const COOL: [Segments; 3] = [
    &[(0.0, 0.0), (0.29, 0.0), (0.76, 0.1), (1.0, 1.0)],
    &[(0.0, 0.0), (0.22, 0.0), (0.96, 1.0), (1.0, 1.0)],
    &[(0.0, 0.0), (0.53, 1.0), (1.0, 1.0)],
];
const RAINBOW: [Segments; 3] = [
    &[(0.0, 1.0), (0.2, 0.0), (0.6, 0.0), (0.8, 1.0), (1.0, 1.0)],
    &[(0.0, 0.0), (0.2, 0.0), (0.4, 1.0), (0.8, 1.0), (1.0, 0.0)],
    &[(0.0, 1.0), (0.4, 1.0), (0.6, 0.0), (1.0, 0.0)],
];
const DS9_A: [Segments; 3] = [
    &[(0.0, 0.0), (0.25, 0.0), (0.5, 1.0), (1.0, 1.0)],
    &[(0.0, 0.0), (0.25, 1.0), (0.5, 0.0), (0.77, 0.0), (1.0, 1.0)],
    &[
        (0.0, 0.0),
        (0.125, 0.0),
        (0.5, 1.0),
        (0.64, 0.5),
        (0.77, 0.0),
        (1.0, 0.0),
    ],
];
const DS9_B: [Segments; 3] = [
    &[(0.0, 0.0), (0.25, 0.0), (0.5, 1.0), (1.0, 1.0)],
    &[(0.0, 0.0), (0.5, 0.0), (0.75, 1.0), (1.0, 1.0)],
    &[(0.0, 0.0), (0.25, 1.0), (0.5, 0.0), (0.75, 0.0), (1.0, 1.0)],
];
const DS9_BB: [Segments; 3] = [
    &[(0.0, 0.0), (0.5, 1.0), (1.0, 1.0)],
    &[(0.0, 0.0), (0.25, 0.0), (0.75, 1.0), (1.0, 1.0)],
    &[(0.0, 0.0), (0.5, 0.0), (1.0, 1.0)],
];
const DS9_HE: [Segments; 3] = [
    &[(0.0, 0.0), (0.015, 0.5), (0.25, 0.5), (0.5, 0.75), (1.0, 1.0)],
    &[
        (0.0, 0.0),
        (0.065, 0.0),
        (0.125, 0.5),
        (0.25, 0.75),
        (0.5, 0.81),
        (1.0, 1.0),
    ],
    &[
        (0.0, 0.0),
        (0.015, 0.125),
        (0.03, 0.375),
        (0.065, 0.625),
        (0.25, 0.25),
        (1.0, 1.0),
    ],
];

impl Colormap {
    pub const ALL: [Colormap; 23] = [
        Colormap::Grey,
        Colormap::Red,
        Colormap::Green,
        Colormap::Blue,
        Colormap::Viridis,
        Colormap::Inferno,
        Colormap::Magma,
        Colormap::Plasma,
        Colormap::Cividis,
        Colormap::Turbo,
        Colormap::Twilight,
        Colormap::Cubehelix,
        Colormap::Heat,
        Colormap::Cool,
        Colormap::Rainbow,
        Colormap::A,
        Colormap::B,
        Colormap::Bb,
        Colormap::He,
        Colormap::Jet,
        Colormap::Hot,
        Colormap::Bone,
        Colormap::Copper,
    ];

    /// The name used in query strings and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Colormap::Grey => "grey",
            Colormap::Red => "red",
            Colormap::Green => "green",
            Colormap::Blue => "blue",
            Colormap::Viridis => "viridis",
            Colormap::Inferno => "inferno",
            Colormap::Magma => "magma",
            Colormap::Plasma => "plasma",
            Colormap::Cividis => "cividis",
            Colormap::Turbo => "turbo",
            Colormap::Twilight => "twilight",
            Colormap::Cubehelix => "cubehelix",
            Colormap::Heat => "heat",
            Colormap::Cool => "cool",
            Colormap::Rainbow => "rainbow",
            Colormap::A => "a",
            Colormap::B => "b",
            Colormap::Bb => "bb",
            Colormap::He => "he",
            Colormap::Jet => "jet",
            Colormap::Hot => "hot",
            Colormap::Bone => "bone",
            Colormap::Copper => "copper",
        }
    }

    /// The lookup table.
    pub fn lut(self) -> Lut {
        match self {
            Colormap::Grey => from_fn(|x| [x, x, x]),
            Colormap::Red => from_fn(|x| [x, 0.0, 0.0]),
            Colormap::Green => from_fn(|x| [0.0, x, 0.0]),
            Colormap::Blue => from_fn(|x| [0.0, 0.0, x]),
            Colormap::Viridis => from_table(&tables::VIRIDIS),
            Colormap::Inferno => from_table(&tables::INFERNO),
            Colormap::Magma => from_table(&tables::MAGMA),
            Colormap::Plasma => from_table(&tables::PLASMA),
            Colormap::Cividis => from_table(&tables::CIVIDIS),
            Colormap::Turbo => from_table(&tables::TURBO),
            Colormap::Twilight => from_table(&tables::TWILIGHT),
            Colormap::Jet => from_table(&tables::JET),
            Colormap::Hot => from_table(&tables::HOT),
            Colormap::Bone => from_table(&tables::BONE),
            Colormap::Copper => from_table(&tables::COPPER),
            Colormap::Cubehelix => from_fn(cubehelix),
            Colormap::Heat => from_segments(&HEAT),
            Colormap::Cool => from_segments(&COOL),
            Colormap::Rainbow => from_segments(&RAINBOW),
            Colormap::A => from_segments(&DS9_A),
            Colormap::B => from_segments(&DS9_B),
            Colormap::Bb => from_segments(&DS9_BB),
            Colormap::He => from_segments(&DS9_HE),
        }
    }
}

impl FromStr for Colormap {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let wanted = if lower == "gray" { "grey" } else { lower.as_str() };
        Colormap::ALL.into_iter().find(|c| c.name() == wanted).ok_or_else(|| {
            let names: Vec<&str> = Colormap::ALL.iter().map(|c| c.name()).collect();
            format!("unknown colormap '{s}' (one of {})", names.join(", "))
        })
    }
}

fn to_byte(v: f64) -> u8 {
    // Truncation, not rounding: matplotlib converts with `(lut * 255).astype(uint8)`.
    (v.clamp(0.0, 1.0) * 255.0) as u8
}

fn from_fn(f: impl Fn(f64) -> [f64; 3]) -> Lut {
    let mut lut = [[0u8; 3]; 256];
    for (i, entry) in lut.iter_mut().enumerate() {
        let [r, g, b] = f(i as f64 / 255.0);
        *entry = [to_byte(r), to_byte(g), to_byte(b)];
    }
    lut
}

fn from_table(table: &[u8; 768]) -> Lut {
    let mut lut = [[0u8; 3]; 256];
    let (rgb, _) = table.as_chunks::<3>();
    lut.copy_from_slice(rgb);
    lut
}

fn interp(points: Segments, x: f64) -> f64 {
    let mut prev = (0.0, 0.0);
    for (i, &(px, py)) in points.iter().enumerate() {
        if x <= px {
            if i == 0 || px <= prev.0 {
                return py;
            }
            return prev.1 + (x - prev.0) / (px - prev.0) * (py - prev.1);
        }
        prev = (px, py);
    }
    prev.1
}

fn from_segments(channels: &[Segments; 3]) -> Lut {
    from_fn(|x| [interp(channels[0], x), interp(channels[1], x), interp(channels[2], x)])
}

/// Green (2011), "A colour scheme for the display of astronomical intensity images", with
/// matplotlib's defaults: start 0.5, rotations −1.5, hue 1, gamma 1.
fn cubehelix(x: f64) -> [f64; 3] {
    const START: f64 = 0.5;
    const ROTATIONS: f64 = -1.5;
    const HUE: f64 = 1.0;
    let amp = HUE * x * (1.0 - x) / 2.0;
    let phi = 2.0 * std::f64::consts::PI * (START / 3.0 + ROTATIONS * x);
    let (s, c) = phi.sin_cos();
    [
        x + amp * (-0.14861 * c + 1.78277 * s),
        x + amp * (-0.29227 * c - 0.90649 * s),
        x + amp * (1.97294 * c),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert!(Colormap::ALL.len() >= 20);
        for c in Colormap::ALL {
            assert_eq!(c.name().parse::<Colormap>(), Ok(c));
            let json = serde_json::to_string(&c).expect("serializes");
            assert_eq!(json, format!("\"{}\"", c.name()));
        }
        assert_eq!("GRAY".parse::<Colormap>(), Ok(Colormap::Grey));
        assert!("nope".parse::<Colormap>().is_err());
    }

    #[test]
    fn ends_of_known_maps() {
        assert_eq!(Colormap::Grey.lut()[0], [0, 0, 0]);
        assert_eq!(Colormap::Grey.lut()[255], [255, 255, 255]);
        assert_eq!(Colormap::Viridis.lut()[0], [68, 1, 84]);
        assert_eq!(Colormap::Heat.lut()[255], [255, 255, 255]);
        assert_eq!(Colormap::Rainbow.lut()[0], [255, 0, 255]);
        assert_eq!(Colormap::Bb.lut()[128], [255, 128, 0]);
    }
}
