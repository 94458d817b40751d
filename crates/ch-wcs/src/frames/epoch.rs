//! Equinoxes and observation times as two-part Julian dates (TT), converted to and from
//! Julian and Besselian epochs with ERFA's formulas (`eraEpj2jd`, `eraEpb2jd`, `eraEpj`,
//! `eraEpb`), which is what astropy's `Time("J2000")`, `Time("B1950")`, `.jyear` and `.byear`
//! use.

/// Reference epoch J2000.0 as a Julian date.
pub(super) const DJ00: f64 = 2_451_545.0;
/// Days per Julian century.
pub(super) const DJC: f64 = 36_525.0;
/// Modified Julian date zero point.
const DJM0: f64 = 2_400_000.5;
/// Days per Julian year.
const DJY: f64 = 365.25;
/// Days per tropical year at B1900 (Besselian year length used by ERFA).
const DTY: f64 = 365.242_198_781;

/// An instant (TT) as the Julian date `jd1 + jd2`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Epoch {
    jd1: f64,
    jd2: f64,
}

impl Epoch {
    /// J2000.0: the standard equinox of FK5 and the mean ecliptic.
    pub(super) const J2000: Epoch = Epoch {
        jd1: DJM0,
        jd2: 51_544.5,
    };

    /// The Julian epoch `year` (e.g. 2000.0 for J2000.0), `eraEpj2jd`.
    pub(super) fn julian(year: f64) -> Self {
        Self {
            jd1: DJM0,
            jd2: 51_544.5 + (year - 2000.0) * DJY,
        }
    }

    /// The Besselian epoch `year` (e.g. 1950.0 for B1950.0), `eraEpb2jd`.
    pub(super) fn besselian(year: f64) -> Self {
        Self {
            jd1: DJM0,
            jd2: 15_019.813_52 + (year - 1900.0) * DTY,
        }
    }

    /// B1950.0: the standard equinox of FK4.
    pub(super) fn b1950() -> Self {
        Self::besselian(1950.0)
    }

    /// The Julian date as one number (astropy's `Time.jd`).
    pub(super) fn jd(&self) -> f64 {
        self.jd1 + self.jd2
    }

    /// Julian centuries since J2000.0 (ERFA's `t`).
    pub(super) fn centuries_since_j2000(&self) -> f64 {
        ((self.jd1 - DJ00) + self.jd2) / DJC
    }

    /// The Julian epoch in years (astropy's `Time.jyear`, `eraEpj`).
    pub(super) fn jyear(&self) -> f64 {
        2000.0 + ((self.jd1 - DJ00) + self.jd2) / DJY
    }

    /// The Besselian epoch in years (astropy's `Time.byear`, `eraEpb`).
    pub(super) fn byear(&self) -> f64 {
        1900.0 + ((self.jd1 - DJ00) + (self.jd2 + 36_524.686_48)) / DTY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_match_astropy() {
        // astropy 8: Time("B1950").jd = 2433282.4234590498, .jyear = 1949.9997904422999;
        // Time("J2000").byear = 2000.001277513665.
        let b1950 = Epoch::b1950();
        assert!((b1950.jd() - 2_433_282.423_459_05).abs() < 1e-8);
        assert!((b1950.jyear() - 1_949.999_790_442_3).abs() < 1e-10);
        assert!((b1950.byear() - 1950.0).abs() < 1e-12);
        assert!((Epoch::J2000.byear() - 2_000.001_277_513_665).abs() < 1e-10);
        assert_eq!(Epoch::julian(2000.0), Epoch::J2000);
        assert!((Epoch::julian(1975.0).jyear() - 1975.0).abs() < 1e-12);
    }
}
