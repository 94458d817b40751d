//! The per-axis WCS keywords of one coordinate description (primary or alternate `a`), as in
//! Greisen & Calabretta (2002), "FITS WCS Paper I".

use std::cell::RefCell;

use crate::WcsError;
use crate::card::{Keywords, MAX_AXES, axis_numbers};
use crate::units;

/// Which form of the linear transformation the header uses (Paper I sect. 2.1.2; WCSLIB's
/// precedence: PC over CD over CROTA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinearForm {
    Pc,
    Cd,
    Crota,
}

/// A CTYPE split into its parts: `RA---TAN-SIP` → (`RA`, `TAN`, `SIP`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CType {
    pub full: String,
    pub coord: String,
    pub algorithm: String,
    pub suffix: String,
}

impl CType {
    pub(crate) fn parse(text: &str) -> Self {
        let full = text.trim().to_ascii_uppercase();
        let (coord, rest) = match full.split_once('-') {
            Some((c, r)) => (c.to_string(), r.trim_start_matches('-')),
            None => (full.clone(), ""),
        };
        let (algorithm, suffix) = match rest.split_once('-') {
            Some((a, s)) => (a.to_string(), s.to_string()),
            None => (rest.to_string(), String::new()),
        };
        Self {
            full,
            coord,
            algorithm,
            suffix,
        }
    }

    pub(crate) fn is_longitude(&self) -> bool {
        let c = self.coord.as_str();
        c == "RA" || (c.len() == 4 && (c.ends_with("LON") || c.ends_with("LN")))
    }

    pub(crate) fn is_latitude(&self) -> bool {
        let c = self.coord.as_str();
        c == "DEC" || (c.len() == 4 && (c.ends_with("LAT") || c.ends_with("LT")))
    }
}

/// Axis keywords of one WCS description, with defaults applied.
#[derive(Debug, Clone)]
pub(crate) struct HeaderAxes<'k> {
    pub kw: &'k Keywords,
    /// Alternate-description letter, empty for the primary description.
    pub alt: String,
    pub ctype: Vec<CType>,
    pub crval: Vec<f64>,
    pub crpix: Vec<f64>,
    pub cdelt: Vec<f64>,
    pub cunit: Vec<String>,
    pub form: LinearForm,
    /// Linear matrix (world row, pixel column) for PC (times CDELT) or CD forms; for the CROTA
    /// form this is CDELT on the diagonal and the rotation is applied by the celestial code.
    pub matrix: Vec<Vec<f64>>,
    /// What was repaired or ignored while reading (astropy's `FITSFixedWarning`s): translated
    /// units, deprecated keyword forms, unparseable auxiliary values.
    pub warnings: RefCell<Vec<String>>,
}

impl<'k> HeaderAxes<'k> {
    pub(crate) fn read(kw: &'k Keywords, alt: Option<char>) -> Result<Self, WcsError> {
        let alt_char = alt.map(|c| c.to_ascii_uppercase());
        if let Some(c) = alt_char
            && !c.is_ascii_uppercase()
        {
            return Err(WcsError::InvalidValue {
                keyword: "alternate WCS key".into(),
                value: c.to_string(),
            });
        }
        let alt = alt_char.map(String::from).unwrap_or_default();
        let n = axis_count(kw, alt_char)?;
        let key = |base: &str, i: usize| format!("{base}{i}{alt}");
        let mut axes = Self {
            kw,
            alt: alt.clone(),
            ctype: Vec::with_capacity(n),
            crval: Vec::with_capacity(n),
            crpix: Vec::with_capacity(n),
            cdelt: Vec::with_capacity(n),
            cunit: Vec::with_capacity(n),
            form: LinearForm::Pc,
            matrix: vec![vec![0.0; n]; n],
            warnings: RefCell::new(Vec::new()),
        };
        for i in 1..=n {
            axes.ctype
                .push(CType::parse(&kw.string(&key("CTYPE", i)).unwrap_or_default()));
            axes.crval.push(kw.number(&key("CRVAL", i))?.unwrap_or(0.0));
            axes.crpix.push(kw.number(&key("CRPIX", i))?.unwrap_or(0.0));
            axes.cdelt.push(kw.number(&key("CDELT", i))?.unwrap_or(1.0));
            let written = kw.string(&key("CUNIT", i)).unwrap_or_default();
            let (unit, changed) = units::translate(&written);
            if changed {
                axes.warn(format!(
                    "{} = '{}' read as '{unit}' (non-standard unit spelling)",
                    key("CUNIT", i),
                    written.trim()
                ));
            }
            axes.cunit.push(unit);
        }
        let has = |prefix: &str| {
            kw.keys().any(|k| {
                matches!(axis_numbers(k, prefix), Some((_, Some(_), a)) if a == alt_char)
                    || (alt_char.is_none() && legacy_index(k, prefix).is_some())
            })
        };
        let has_crota = alt_char.is_none() && (1..=n).any(|i| kw.contains(&format!("CROTA{i}")));
        let legacy = |prefix: &str| alt_char.is_none() && kw.keys().any(|k| legacy_index(k, prefix).is_some());
        axes.form = if has("PC") {
            LinearForm::Pc
        } else if has("CD") {
            LinearForm::Cd
        } else if has_crota {
            LinearForm::Crota
        } else {
            LinearForm::Pc
        };
        for i in 0..n {
            for j in 0..n {
                let (a, b) = (i + 1, j + 1);
                axes.matrix[i][j] = match axes.form {
                    LinearForm::Pc => {
                        let pc = axes
                            .matrix_element("PC", a, b)?
                            .unwrap_or(if i == j { 1.0 } else { 0.0 });
                        axes.cdelt[i] * pc
                    }
                    LinearForm::Cd => axes.matrix_element("CD", a, b)?.unwrap_or(0.0),
                    LinearForm::Crota => {
                        if i == j {
                            axes.cdelt[i]
                        } else {
                            0.0
                        }
                    }
                };
            }
        }
        match axes.form {
            LinearForm::Pc if legacy("PC") => axes.warn("AIPS-era PCiiijjj keywords read as PCi_j".into()),
            LinearForm::Cd if legacy("CD") => axes.warn("AIPS-era CDiiijjj keywords read as CDi_j".into()),
            _ => {}
        }
        if axes.form != LinearForm::Pc && has("PC") {
            axes.warn("PCi_j and CDi_j both present: PCi_j used, as WCSLIB does".into());
        }
        if axes.form == LinearForm::Cd {
            // An axis with no CD keywords at all (e.g. a spectral axis of a CD-form image) gets
            // unit scale, as WCSLIB's cdfix does.
            for i in 0..n {
                let mentioned =
                    (0..n).any(|j| axes.matrix_present("CD", i + 1, j + 1) || axes.matrix_present("CD", j + 1, i + 1));
                if !mentioned {
                    axes.matrix[i][i] = 1.0;
                }
            }
        }
        Ok(axes)
    }

    pub(crate) fn n(&self) -> usize {
        self.ctype.len()
    }

    /// `base` with this description's alternate letter appended (`LONPOLE` → `LONPOLEA`).
    pub(crate) fn key(&self, base: &str) -> String {
        format!("{base}{}", self.alt)
    }

    pub(crate) fn string(&self, base: &str) -> Option<String> {
        self.kw.string(&self.key(base))
    }

    /// Records a warning (see [`HeaderAxes::warnings`]).
    pub(crate) fn warn(&self, message: String) {
        let mut warnings = self.warnings.borrow_mut();
        if !warnings.contains(&message) {
            warnings.push(message);
        }
    }

    /// An auxiliary numeric keyword (EQUINOX, LONPOLE, RESTFRQ, PVi_m, …) of this description:
    /// a value that is not a number is ignored with a warning, so the standard default applies.
    pub(crate) fn aux_number(&self, base: &str) -> Option<f64> {
        self.aux_number_exact(&self.key(base))
    }

    /// [`HeaderAxes::aux_number`] for a keyword taken as written (no alternate letter added).
    pub(crate) fn aux_number_exact(&self, key: &str) -> Option<f64> {
        match self.kw.number(key) {
            Ok(v) => v,
            Err(_) => {
                let raw = self.kw.raw(key).unwrap_or_default();
                self.warn(format!(
                    "{key} = {} is not a number; ignored, the default applies",
                    raw.split('/').next().unwrap_or("").trim()
                ));
                None
            }
        }
    }

    fn matrix_present(&self, prefix: &str, i: usize, j: usize) -> bool {
        self.kw.contains(&format!("{prefix}{i}_{j}{}", self.alt))
            || (self.alt.is_empty() && self.kw.contains(&format!("{prefix}{i:03}{j:03}")))
    }

    fn matrix_element(&self, prefix: &str, i: usize, j: usize) -> Result<Option<f64>, WcsError> {
        if let Some(v) = self.kw.number(&format!("{prefix}{i}_{j}{}", self.alt))? {
            return Ok(Some(v));
        }
        if self.alt.is_empty() {
            return self.kw.number(&format!("{prefix}{i:03}{j:03}"));
        }
        Ok(None)
    }
}

/// Index pair of a legacy AIPS-style `PC001002` / `CD001002` keyword.
fn legacy_index(keyword: &str, prefix: &str) -> Option<(usize, usize)> {
    let digits = keyword.strip_prefix(prefix)?;
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let i = digits.get(..3)?.parse().ok()?;
    let j = digits.get(3..)?.parse().ok()?;
    Some((i, j))
}

/// Number of WCS axes: the largest of NAXIS, WCSAXESa and any axis number used by an indexed
/// WCS keyword of this description.
fn axis_count(kw: &Keywords, alt: Option<char>) -> Result<usize, WcsError> {
    let alt_str = alt.map(String::from).unwrap_or_default();
    let declared = |key: &str| -> Result<usize, WcsError> {
        match kw.number(key)? {
            Some(v) if v.fract() == 0.0 && (0.0..=999.0).contains(&v) => Ok(v as usize),
            Some(v) => Err(WcsError::InvalidValue {
                keyword: key.to_string(),
                value: v.to_string(),
            }),
            None => Ok(0),
        }
    };
    let mut n = declared(&format!("WCSAXES{alt_str}"))?;
    if alt.is_none() {
        n = n.max(declared("NAXIS")?);
    }
    for key in kw.keys() {
        for prefix in ["CTYPE", "CRVAL", "CRPIX", "CDELT", "CUNIT", "PC", "CD"] {
            if let Some((i, j, a)) = axis_numbers(key, prefix)
                && a == alt
            {
                n = n.max(i).max(j.unwrap_or(0).min(MAX_AXES));
            }
        }
    }
    Ok(n.min(MAX_AXES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctype_parts() {
        let c = CType::parse("RA---TAN-SIP");
        assert_eq!(
            (c.coord.as_str(), c.algorithm.as_str(), c.suffix.as_str()),
            ("RA", "TAN", "SIP")
        );
        let c = CType::parse("VOPT-F2W");
        assert_eq!((c.coord.as_str(), c.algorithm.as_str()), ("VOPT", "F2W"));
        let c = CType::parse("PIXEL");
        assert_eq!((c.coord.as_str(), c.algorithm.as_str()), ("PIXEL", ""));
        assert!(CType::parse("GLON-CAR").is_longitude());
        assert!(CType::parse("DEC--SIN").is_latitude());
        assert!(!CType::parse("FREQ").is_latitude());
    }

    #[test]
    fn cd_form_gives_unit_scale_to_unmentioned_axes() {
        let kw = Keywords::from_pairs([("NAXIS", "3"), ("CD1_1", "-0.1"), ("CD2_2", "0.1"), ("CDELT3", "5")]);
        let axes = HeaderAxes::read(&kw, None).expect("valid");
        assert_eq!(axes.form, LinearForm::Cd);
        assert_eq!(axes.matrix[2][2], 1.0);
        assert_eq!(axes.matrix[0][0], -0.1);
    }
}
