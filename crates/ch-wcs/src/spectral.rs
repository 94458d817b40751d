//! Spectral axes (Greisen et al. 2006, "FITS WCS Paper III") and the Stokes axis.
//!
//! A spectral axis `SSSS-X2P` is linear in the basic quantity X (F frequency, W vacuum
//! wavelength, A air wavelength, V relativistic velocity) and expressed as SSSS. Without an
//! algorithm code the axis is linear in SSSS itself; `-LOG` is logarithmic. Values are in SI
//! units (Hz, m, m/s, J, 1/m), as astropy reports them.

use serde::Serialize;

/// Speed of light and Planck constant as used by WCSLIB, so results match astropy.
const C: f64 = 2.997_924_58e8;
const H: f64 = 6.626_075_5e-34;
/// Electronvolt in joules as WCSLIB's unit parser has it (not the 2019 SI value).
const EV: f64 = 1.602_176_5e-19;

/// The spectral coordinate type (the first four characters of CTYPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SpectralKind {
    Freq,
    Afrq,
    Ener,
    Wavn,
    Vrad,
    Wave,
    Vopt,
    Zopt,
    Awav,
    Velo,
    Beta,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Basic {
    F,
    W,
    A,
    V,
}

impl SpectralKind {
    pub(crate) fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "FREQ" => Self::Freq,
            "AFRQ" => Self::Afrq,
            "ENER" => Self::Ener,
            "WAVN" => Self::Wavn,
            "VRAD" => Self::Vrad,
            "WAVE" => Self::Wave,
            "VOPT" => Self::Vopt,
            "ZOPT" => Self::Zopt,
            "AWAV" => Self::Awav,
            "VELO" => Self::Velo,
            "BETA" => Self::Beta,
            _ => return None,
        })
    }

    /// The four-letter FITS code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Freq => "FREQ",
            Self::Afrq => "AFRQ",
            Self::Ener => "ENER",
            Self::Wavn => "WAVN",
            Self::Vrad => "VRAD",
            Self::Wave => "WAVE",
            Self::Vopt => "VOPT",
            Self::Zopt => "ZOPT",
            Self::Awav => "AWAV",
            Self::Velo => "VELO",
            Self::Beta => "BETA",
        }
    }

    /// The SI unit of world values of this kind (empty for dimensionless ZOPT/BETA).
    pub fn si_unit(self) -> &'static str {
        match self {
            Self::Freq => "Hz",
            Self::Afrq => "rad/s",
            Self::Ener => "J",
            Self::Wavn => "1/m",
            Self::Wave | Self::Awav => "m",
            Self::Vrad | Self::Vopt | Self::Velo => "m/s",
            Self::Zopt | Self::Beta => "",
        }
    }

    fn basic(self) -> Basic {
        match self {
            Self::Freq | Self::Afrq | Self::Ener | Self::Wavn | Self::Vrad => Basic::F,
            Self::Wave | Self::Vopt | Self::Zopt => Basic::W,
            Self::Awav => Basic::A,
            Self::Velo | Self::Beta => Basic::V,
        }
    }

    fn is_velocity(self) -> bool {
        matches!(self, Self::Vrad | Self::Vopt | Self::Zopt | Self::Velo | Self::Beta)
    }

    /// Multiplier from `unit` to this kind's SI unit; `None` for an unknown or wrong unit.
    fn unit_factor(self, unit: &str) -> Option<f64> {
        let unit = unit.trim();
        if unit.is_empty() {
            return Some(1.0);
        }
        let prefixed = |base: &str| -> Option<f64> {
            let prefix = unit.strip_suffix(base)?;
            Some(match prefix {
                "" => 1.0,
                "T" => 1e12,
                "G" => 1e9,
                "M" => 1e6,
                "k" => 1e3,
                "c" => 1e-2,
                "m" => 1e-3,
                "u" => 1e-6,
                "n" => 1e-9,
                "p" => 1e-12,
                _ => return None,
            })
        };
        match self {
            Self::Freq => prefixed("Hz"),
            Self::Afrq => prefixed("rad/s"),
            Self::Ener => prefixed("eV")
                .map(|f| f * EV)
                .or_else(|| prefixed("J"))
                .or_else(|| (unit == "erg").then_some(1e-7)),
            Self::Wavn => ["/m", "1/m", "m-1", "m**-1", "m^-1"]
                .iter()
                .find(|s| unit == **s)
                .map(|_| 1.0)
                .or_else(|| {
                    ["/cm", "1/cm", "cm-1", "cm**-1", "cm^-1"]
                        .iter()
                        .find(|s| unit == **s)
                        .map(|_| 100.0)
                }),
            Self::Wave | Self::Awav => match unit {
                "Angstrom" | "angstrom" | "ANGSTROM" => Some(1e-10),
                _ => prefixed("m"),
            },
            Self::Vrad | Self::Vopt | Self::Velo => prefixed("m/s"),
            Self::Zopt | Self::Beta => None,
        }
    }
}

/// Rest frequency (Hz) and wavelength (m); zero when unknown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rest {
    frq: f64,
    wav: f64,
}

impl Rest {
    pub(crate) fn new(restfrq: Option<f64>, restwav: Option<f64>) -> Self {
        match (restfrq.filter(|f| *f != 0.0), restwav.filter(|w| *w != 0.0)) {
            (Some(f), _) => Self { frq: f, wav: C / f },
            (None, Some(w)) => Self { frq: C / w, wav: w },
            (None, None) => Self { frq: 0.0, wav: 0.0 },
        }
    }

    fn known(&self) -> bool {
        self.frq != 0.0
    }
}

/// Refractive index of air at vacuum wavelength `wave` (m), iterated as in WCSLIB, and
/// d(wave)/d(awav).
fn air_index(freq: f64) -> (f64, f64) {
    let (mut n, mut s, mut t, mut u) = (1.0, 0.0, 0.0, 0.0);
    for _ in 0..4 {
        s = n * freq / C;
        s *= s;
        t = 0.41e14 - s;
        u = 1.46e14 - s;
        n = 1.000_064_328 + (2.554e8 / t + 294.981e8 / u);
    }
    (n, n - 2.0 * s * (2.554e8 / (t * t) + 294.981e8 / (u * u)))
}

fn nonzero(v: f64) -> Option<f64> {
    (v != 0.0 && v.is_finite()).then_some(v)
}

/// Converts a value of `kind` to frequency.
fn to_freq(kind: SpectralKind, v: f64, rest: &Rest) -> Option<f64> {
    let f = match kind {
        SpectralKind::Freq => nonzero(v)?,
        SpectralKind::Afrq => nonzero(v)? / (2.0 * std::f64::consts::PI),
        SpectralKind::Ener => nonzero(v)? / H,
        SpectralKind::Wavn => nonzero(v)? * C,
        SpectralKind::Vrad => rest.frq * (1.0 - v / C),
        SpectralKind::Wave => C / nonzero(v)?,
        SpectralKind::Vopt => rest.frq / nonzero(1.0 + v / C)?,
        SpectralKind::Zopt => rest.frq / nonzero(1.0 + v)?,
        SpectralKind::Awav => {
            let s = 1.0 / nonzero(v)?;
            let s = s * s;
            let n = 2.554e8 / (0.41e14 - s) + 294.981e8 / (1.46e14 - s) + 1.000_064_328;
            C / (v * n)
        }
        SpectralKind::Velo | SpectralKind::Beta => {
            let beta = if kind == SpectralKind::Velo { v / C } else { v };
            if beta.abs() >= 1.0 {
                return None;
            }
            rest.frq * (1.0 - beta) / (1.0 - beta * beta).sqrt()
        }
    };
    f.is_finite().then_some(f)
}

/// Converts a frequency to `kind`.
fn from_freq(kind: SpectralKind, f: f64, rest: &Rest) -> Option<f64> {
    let s = f / rest.frq;
    let v = match kind {
        SpectralKind::Freq => f,
        SpectralKind::Afrq => f * 2.0 * std::f64::consts::PI,
        SpectralKind::Ener => f * H,
        SpectralKind::Wavn => f / C,
        SpectralKind::Vrad => C * (1.0 - s),
        SpectralKind::Wave => C / nonzero(f)?,
        SpectralKind::Awav => C / nonzero(f)? / air_index(f).0,
        SpectralKind::Vopt => C * (1.0 / s - 1.0),
        SpectralKind::Zopt => 1.0 / s - 1.0,
        SpectralKind::Velo => C * (1.0 - s * s) / (1.0 + s * s),
        SpectralKind::Beta => (1.0 - s * s) / (1.0 + s * s),
    };
    v.is_finite().then_some(v)
}

/// d(freq)/d(value of `kind`) at frequency `f`.
fn dfreq(kind: SpectralKind, f: f64, rest: &Rest) -> f64 {
    let wave = C / f;
    let dfreqwave = -f / wave;
    let s = f / rest.frq;
    let velo = C * (1.0 - s * s) / (1.0 + s * s);
    let gamma = 1.0 / (1.0 - (velo / C) * (velo / C)).sqrt();
    let dfreqvelo = -gamma * rest.frq / (C + velo);
    match kind {
        SpectralKind::Freq => 1.0,
        SpectralKind::Afrq => 1.0 / (2.0 * std::f64::consts::PI),
        SpectralKind::Ener => 1.0 / H,
        SpectralKind::Wavn => C,
        SpectralKind::Vrad => -rest.frq / C,
        SpectralKind::Wave => dfreqwave,
        SpectralKind::Vopt => dfreqwave * rest.wav / C,
        SpectralKind::Zopt => dfreqwave * rest.wav,
        SpectralKind::Awav => dfreqwave * air_index(f).1,
        SpectralKind::Velo => dfreqvelo,
        SpectralKind::Beta => dfreqvelo * C,
    }
}

fn basic_kind(b: Basic) -> SpectralKind {
    match b {
        Basic::F => SpectralKind::Freq,
        Basic::W => SpectralKind::Wave,
        Basic::A => SpectralKind::Awav,
        Basic::V => SpectralKind::Velo,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Algorithm {
    Linear,
    Log,
    /// Linear in X: X = x_ref + dx_ds · (S-units intermediate coordinate).
    NonLinear {
        x: Basic,
        x_ref: f64,
        dx_ds: f64,
    },
}

/// A spectral axis: 0-based pixel ↔ world value in SI units.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralAxis {
    axis: usize,
    ctype: String,
    kind: SpectralKind,
    crpix: f64,
    crval: f64,
    cdelt: f64,
    rest: Rest,
    specsys: Option<String>,
    algorithm: Algorithm,
}

/// What [`crate::Wcs`] reads from the header for a spectral axis.
pub(crate) struct SpectralInput<'a> {
    pub axis: usize,
    pub ctype: &'a str,
    pub code: &'a str,
    pub algorithm: &'a str,
    pub unit: &'a str,
    pub crpix: f64,
    pub crval: f64,
    pub cdelt: f64,
    pub rest: Rest,
    pub specsys: Option<String>,
}

impl SpectralAxis {
    pub(crate) fn new(input: SpectralInput<'_>) -> Result<Self, String> {
        let kind =
            SpectralKind::from_code(input.code).ok_or_else(|| format!("unknown spectral type '{}'", input.code))?;
        let factor = kind
            .unit_factor(input.unit)
            .ok_or_else(|| format!("unsupported unit '{}' for spectral type {}", input.unit, kind.code()))?;
        let (crval, cdelt) = (input.crval * factor, input.cdelt * factor);
        let rest = input.rest;
        let algorithm = match input.algorithm {
            "" => Algorithm::Linear,
            "LOG" => Algorithm::Log,
            code => {
                let b = code.as_bytes();
                let parse = |c: u8| match c {
                    b'F' => Some(Basic::F),
                    b'W' => Some(Basic::W),
                    b'A' => Some(Basic::A),
                    b'V' => Some(Basic::V),
                    _ => None,
                };
                let (x, p) = match b {
                    [x, b'2', p] => (parse(*x), parse(*p)),
                    _ => (None, None),
                };
                let (Some(x), Some(p)) = (x, p) else {
                    return Err(format!("unsupported spectral algorithm '{code}'"));
                };
                if p != kind.basic() {
                    return Err(format!(
                        "spectral algorithm '{code}' does not match type {}",
                        kind.code()
                    ));
                }
                if (kind.is_velocity() || x == Basic::V || p == Basic::V) && x != p && !rest.known() {
                    return Err(format!("{} needs RESTFRQ or RESTWAV", input.ctype));
                }
                if x == p {
                    Algorithm::Linear
                } else {
                    let f_ref = to_freq(kind, crval, &rest).ok_or("invalid spectral reference value")?;
                    let x_ref = from_freq(basic_kind(x), f_ref, &rest).ok_or("invalid spectral reference value")?;
                    let dx_ds = dfreq(kind, f_ref, &rest) / dfreq(basic_kind(x), f_ref, &rest);
                    if !(dx_ds.is_finite() && dx_ds != 0.0) {
                        return Err("degenerate spectral reference derivative".into());
                    }
                    Algorithm::NonLinear { x, x_ref, dx_ds }
                }
            }
        };
        if algorithm == Algorithm::Log && crval <= 0.0 {
            return Err("logarithmic spectral axis needs a positive CRVAL".into());
        }
        Ok(Self {
            axis: input.axis,
            ctype: input.ctype.to_string(),
            kind,
            crpix: input.crpix,
            crval,
            cdelt,
            rest,
            specsys: input.specsys,
            algorithm,
        })
    }

    /// 0-based index of the spectral axis among the header's axes.
    pub fn axis(&self) -> usize {
        self.axis
    }

    /// The CTYPE as interpreted, e.g. `VOPT-F2W`; AIPS forms are translated (`FELO-HEL` →
    /// `VOPT-F2W`, `VELO-LSR` → `VRAD` or `VOPT` by VELREF, `FREQ-LSR` → `FREQ`).
    pub fn ctype(&self) -> &str {
        &self.ctype
    }

    pub fn kind(&self) -> SpectralKind {
        self.kind
    }

    /// SI unit of [`Self::pixel_to_world`] values.
    pub fn unit(&self) -> &'static str {
        self.kind.si_unit()
    }

    /// Rest frequency in Hz, if the header gives one (or a rest wavelength).
    pub fn rest_frequency(&self) -> Option<f64> {
        self.rest.known().then_some(self.rest.frq)
    }

    /// The `SPECSYS` reference frame (e.g. `LSRK`, `BARYCENT`), if given.
    pub fn specsys(&self) -> Option<&str> {
        self.specsys.as_deref()
    }

    /// World value (SI units) at 0-based pixel `p` along the spectral axis; `None` where the
    /// conversion is undefined (e.g. a velocity beyond the speed of light).
    pub fn pixel_to_world(&self, p: f64) -> Option<f64> {
        let x = self.cdelt * (p + 1.0 - self.crpix);
        let v = match &self.algorithm {
            Algorithm::Linear => self.crval + x,
            Algorithm::Log => self.crval * (x / self.crval).exp(),
            Algorithm::NonLinear { x: basic, x_ref, dx_ds } => {
                let xv = x_ref + dx_ds * x;
                let f = to_freq(basic_kind(*basic), xv, &self.rest)?;
                from_freq(self.kind, f, &self.rest)?
            }
        };
        v.is_finite().then_some(v)
    }

    /// 0-based pixel of world value `w` (SI units); `None` where undefined.
    pub fn world_to_pixel(&self, w: f64) -> Option<f64> {
        if !w.is_finite() || self.cdelt == 0.0 {
            return None;
        }
        let x = match &self.algorithm {
            Algorithm::Linear => w - self.crval,
            Algorithm::Log => {
                if w <= 0.0 {
                    return None;
                }
                self.crval * (w / self.crval).ln()
            }
            Algorithm::NonLinear { x: basic, x_ref, dx_ds } => {
                let f = to_freq(self.kind, w, &self.rest)?;
                let xv = from_freq(basic_kind(*basic), f, &self.rest)?;
                (xv - x_ref) / dx_ds
            }
        };
        let p = x / self.cdelt + self.crpix - 1.0;
        p.is_finite().then_some(p)
    }
}

/// A Stokes/polarisation product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Stokes {
    I,
    Q,
    U,
    V,
    RR,
    LL,
    RL,
    LR,
    XX,
    YY,
    XY,
    YX,
}

impl Stokes {
    /// From the FITS code: 1..4 → I, Q, U, V; −1..−8 → RR, LL, RL, LR, XX, YY, XY, YX.
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            1 => Self::I,
            2 => Self::Q,
            3 => Self::U,
            4 => Self::V,
            -1 => Self::RR,
            -2 => Self::LL,
            -3 => Self::RL,
            -4 => Self::LR,
            -5 => Self::XX,
            -6 => Self::YY,
            -7 => Self::XY,
            -8 => Self::YX,
            _ => return None,
        })
    }

    pub fn code(self) -> i64 {
        match self {
            Self::I => 1,
            Self::Q => 2,
            Self::U => 3,
            Self::V => 4,
            Self::RR => -1,
            Self::LL => -2,
            Self::RL => -3,
            Self::LR => -4,
            Self::XX => -5,
            Self::YY => -6,
            Self::XY => -7,
            Self::YX => -8,
        }
    }
}

/// A `STOKES` axis: pixel → polarisation product.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StokesAxis {
    pub(crate) axis: usize,
    pub(crate) crpix: f64,
    pub(crate) crval: f64,
    pub(crate) cdelt: f64,
}

impl StokesAxis {
    /// 0-based index of the Stokes axis among the header's axes.
    pub fn axis(&self) -> usize {
        self.axis
    }

    /// The product at 0-based pixel `p`; `None` if the axis value there is not a valid code.
    pub fn pixel_to_stokes(&self, p: f64) -> Option<Stokes> {
        let v = self.crval + self.cdelt * (p + 1.0 - self.crpix);
        let code = v.round();
        if !v.is_finite() || (v - code).abs() > 1e-6 || code.abs() > 8.0 {
            return None;
        }
        Stokes::from_code(code as i64)
    }

    /// The 0-based pixel holding `stokes`, if the axis is not degenerate.
    pub fn stokes_to_pixel(&self, stokes: Stokes) -> Option<f64> {
        if self.cdelt == 0.0 {
            return None;
        }
        let p = (stokes.code() as f64 - self.crval) / self.cdelt + self.crpix - 1.0;
        p.is_finite().then_some(p)
    }
}
