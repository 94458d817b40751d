//! Translation of non-standard `CUNITi` spellings to the FITS standard forms, in the spirit of
//! WCSLIB's `wcsutrn()` (which astropy applies through `wcsfix` with a `FITSFixedWarning`).
//!
//! Headers written by old reduction packages, telescopes and hand editing spell units as
//! `'Degrees'`, `'DEG'`, `'Deg'`, `'HZ'`, `'MHZ'`, `'KM/S'`, `'km/sec'`, `'meters'`, `'ANGSTROMS'`
//! … The standard forms (FITS Standard 4.0, Table 22; WCS Paper I sect. 2.1.1) are `deg`,
//! `arcmin`, `arcsec`, `mas`, `rad`, `Hz` with SI prefixes, `m` with prefixes, `Angstrom`,
//! `m/s`, `km/s`. Translation is case-insensitive for whole words (`DEGREES`, `Radians`),
//! accepts plurals and the common abbreviations (`amin`, `asec`, `sec`, `micron`), and keeps the
//! case of SI prefixes where it is meaningful: `mHz` stays millihertz, while the all-upper-case
//! `MHZ` and all-lower-case `mhz` (the forms FORTRAN-era writers produce) become `MHz`, as
//! WCSLIB does for `MHZ`. A spelling that is not recognised is returned unchanged, so the caller
//! can report it by name.

/// The standard spelling of `raw`, and whether it differs from what was written (ignoring
/// surrounding blanks).
pub(crate) fn translate(raw: &str) -> (String, bool) {
    let unit = raw.trim();
    if unit.is_empty() || is_standard(unit) {
        return (unit.to_string(), false);
    }
    match alias(unit) {
        Some(standard) if standard != unit => (standard, true),
        _ => (unit.to_string(), false),
    }
}

/// Spellings already in the standard form (they are never rewritten).
fn is_standard(unit: &str) -> bool {
    const EXACT: [&str; 9] = ["deg", "arcmin", "arcsec", "mas", "rad", "Angstrom", "m/s", "km/s", "um"];
    if EXACT.contains(&unit) {
        return true;
    }
    let prefixed = |base: &str| {
        unit.strip_suffix(base)
            .is_some_and(|p| ["", "T", "G", "M", "k", "c", "m", "u", "n", "p"].contains(&p))
    };
    prefixed("Hz") || prefixed("m") || prefixed("eV") || prefixed("J")
}

/// The standard form of a non-standard spelling, if it is one this module knows.
fn alias(unit: &str) -> Option<String> {
    let lower = unit.to_ascii_lowercase();
    let word = lower.as_str();
    let angle = match word {
        "deg" | "degs" | "degree" | "degrees" | "dgr" => Some("deg"),
        "arcmin" | "arcmins" | "arcminute" | "arcminutes" | "amin" => Some("arcmin"),
        "arcsec" | "arcsecs" | "arcsecond" | "arcseconds" | "asec" => Some("arcsec"),
        "mas" | "milliarcsec" | "milliarcsecs" | "milliarcsecond" | "milliarcseconds" => Some("mas"),
        "rad" | "rads" | "radian" | "radians" => Some("rad"),
        "angstrom" | "angstroms" | "angstroem" => Some("Angstrom"),
        "micron" | "microns" | "micrometer" | "micrometers" | "micrometre" | "micrometres" => Some("um"),
        "meter" | "meters" | "metre" | "metres" => Some("m"),
        "hertz" => Some("Hz"),
        _ => None,
    };
    if let Some(a) = angle {
        return Some(a.to_string());
    }
    // Upper- or lower-case only: the writer could not express the prefix's case, so read the
    // prefix as the one that makes sense for an axis (M = mega for Hz, m = milli for metres).
    let single_case = unit == unit.to_ascii_uppercase() || unit == lower;
    if let Some(prefix) = word.strip_suffix("hz") {
        let p = match prefix {
            "" => "",
            "k" => "k",
            "m" if single_case => "M",
            "g" => "G",
            "t" => "T",
            _ => return None,
        };
        return Some(format!("{p}Hz"));
    }
    if let Some(speed) = velocity(word) {
        return Some(speed.to_string());
    }
    if single_case && let Some(prefix) = word.strip_suffix('m') {
        let p = match prefix {
            "" => "",
            "k" => "k",
            "c" => "c",
            "m" => "m",
            "u" => "u",
            "n" => "n",
            _ => return None,
        };
        return Some(format!("{p}m"));
    }
    None
}

/// `m/s` or `km/s` from the spellings seen in the wild: `KM/S`, `km/sec`, `km s-1`, `km.s-1`,
/// `km s^-1`, `km s**-1`, `kms-1`.
fn velocity(lower: &str) -> Option<&'static str> {
    let compact: String = lower.chars().filter(|c| !c.is_whitespace() && *c != '.').collect();
    let compact = compact.replace("sec", "s").replace("**", "^").replace('^', "");
    match compact.as_str() {
        "m/s" | "ms-1" => Some("m/s"),
        "km/s" | "kms-1" | "kmps" => Some("km/s"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_spellings_are_kept() {
        for unit in [
            "deg", "arcsec", "Hz", "MHz", "mHz", "GHz", "m", "mm", "um", "km/s", "Angstrom", "",
        ] {
            assert_eq!(translate(unit), (unit.to_string(), false), "{unit}");
        }
    }

    #[test]
    fn variants_are_translated() {
        let cases = [
            ("Degrees", "deg"),
            ("DEG", "deg"),
            ("Deg", "deg"),
            ("degree", "deg"),
            ("DEGREES", "deg"),
            ("ARCSEC", "arcsec"),
            ("arcsecs", "arcsec"),
            ("Arcmin", "arcmin"),
            ("RADIANS", "rad"),
            ("HZ", "Hz"),
            ("MHZ", "MHz"),
            ("mhz", "MHz"),
            ("GHZ", "GHz"),
            ("KHZ", "kHz"),
            ("KM/S", "km/s"),
            ("km/sec", "km/s"),
            ("km s-1", "km/s"),
            ("km.s^-1", "km/s"),
            ("M/S", "m/s"),
            ("METERS", "m"),
            ("ANGSTROMS", "Angstrom"),
            ("microns", "um"),
            ("M", "m"),
            ("CM", "cm"),
        ];
        for (raw, standard) in cases {
            assert_eq!(translate(raw), (standard.to_string(), true), "{raw}");
        }
    }

    #[test]
    fn unknown_spellings_are_returned_as_written() {
        for unit in ["furlong", "Jy/beam", "parsec", "xHz"] {
            assert_eq!(translate(unit), (unit.to_string(), false), "{unit}");
        }
    }
}
