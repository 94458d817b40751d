//! [`Wcs`]: one coordinate description of an image, built from header cards.

use crate::card::{Keywords, split_header_text};
use crate::celestial::{Celestial, find_axes};
use crate::frames::{Frame, equatorial_to_galactic, galactic_to_equatorial};
use crate::header::HeaderAxes;
use crate::observation::{Observation, observation};
use crate::spectral::{Rest, SpectralAxis, SpectralInput, SpectralKind, StokesAxis};
use crate::{WcsError, no_celestial};

/// World coordinate system of one image (the primary description or an alternate `a`).
///
/// Pixel coordinates are 0-based like astropy's `pixel_to_world_values` (the centre of the
/// first pixel is 0.0; FITS CRPIX is 1-based). Sky coordinates are degrees, longitude in
/// [0, 360).
#[derive(Debug, Clone)]
pub struct Wcs {
    naxis: usize,
    ctype: Vec<String>,
    crval: Vec<f64>,
    crpix: Vec<f64>,
    cdelt: Vec<f64>,
    cunit: Vec<String>,
    celestial: Option<Celestial>,
    spectral: Option<SpectralAxis>,
    stokes: Option<StokesAxis>,
    notes: Vec<String>,
    warnings: Vec<String>,
    observation: Observation,
}

impl Wcs {
    /// Builds the primary WCS from `(keyword, raw value text)` pairs, e.g.
    /// `("CTYPE1", "'RA---SIN'")`, `("CDELT1", "-6.6666666666667E-02")`.
    ///
    /// Succeeds when the header has a usable celestial axis pair or a spectral axis.
    /// Errors: [`WcsError::NoCelestialWcs`] when it has neither or when its celestial axes
    /// cannot be interpreted (unknown projection, singular matrix, impossible pole);
    /// [`WcsError::InvalidValue`] when a WCS keyword's value is not a number.
    pub fn from_cards<'a>(cards: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, WcsError> {
        Self::from_keywords(&Keywords::from_pairs(cards), None)
    }

    /// Like [`Wcs::from_cards`] for the alternate description `key` (`'A'..='Z'`), whose
    /// keywords end in that letter (`CTYPE1A`, `CRVAL1A`, …); `None` is the primary one.
    pub fn from_cards_with_key<'a>(
        cards: impl IntoIterator<Item = (&'a str, &'a str)>,
        key: Option<char>,
    ) -> Result<Self, WcsError> {
        Self::from_keywords(&Keywords::from_pairs(cards), key)
    }

    /// Builds the primary WCS from header text: 80-character cards, either concatenated (as in
    /// a FITS file or a `.hdr` dump) or one per line.
    pub fn from_header_text(text: &str) -> Result<Self, WcsError> {
        Self::from_header_text_with_key(text, None)
    }

    /// [`Wcs::from_header_text`] for an alternate description.
    pub fn from_header_text_with_key(text: &str, key: Option<char>) -> Result<Self, WcsError> {
        let cards = split_header_text(text);
        Self::from_cards_with_key(cards.iter().map(|(k, v)| (k.as_str(), v.as_str())), key)
    }

    fn from_keywords(kw: &Keywords, key: Option<char>) -> Result<Self, WcsError> {
        let axes = HeaderAxes::read(kw, key)?;
        let n = axes.n();
        if n == 0 || axes.ctype.iter().all(|c| c.full.is_empty()) {
            return Err(no_celestial("no CTYPEi keywords"));
        }
        let mut notes = Vec::new();
        let celestial = match find_axes(&axes.ctype)? {
            Some((lng, lat)) => Some(Celestial::build(&axes, lng, lat)?),
            None => {
                if axes.ctype.iter().any(|c| c.is_longitude() || c.is_latitude()) {
                    notes.push("celestial axes without a projection code are linear; no sky positions".into());
                }
                None
            }
        };
        let spectral = match spectral_axis(&axes) {
            Ok(s) => s,
            Err(reason) => {
                notes.push(format!("spectral axis ignored: {reason}"));
                None
            }
        };
        let observation = observation(&axes);
        let stokes = axes.ctype.iter().position(|c| c.coord == "STOKES").map(|i| StokesAxis {
            axis: i,
            crpix: axes.crpix[i],
            crval: axes.crval[i],
            cdelt: axes.matrix[i][i],
        });
        if celestial.is_none() && spectral.is_none() {
            let list: Vec<&str> = axes.ctype.iter().map(|c| c.full.as_str()).collect();
            let mut reason = format!("no celestial or spectral axes in CTYPE {list:?}");
            if let Some(note) = notes.first() {
                reason = format!("{reason} ({note})");
            }
            return Err(no_celestial(reason));
        }
        if let Some(sip) = celestial.as_ref().and_then(|c| c.sip.as_ref())
            && !sip.has_inverse_polynomial()
        {
            notes.push("SIP without AP/BP: world to pixel is solved iteratively".into());
        }
        Ok(Self {
            naxis: n,
            ctype: axes.ctype.iter().map(|c| c.full.clone()).collect(),
            crval: axes.crval.clone(),
            crpix: axes.crpix.clone(),
            cdelt: axes.cdelt.clone(),
            cunit: axes.cunit.clone(),
            celestial,
            spectral,
            stokes,
            notes,
            warnings: axes.warnings.take(),
            observation,
        })
    }

    /// 0-based pixel (x, y) → (longitude, latitude) in degrees. `x`, `y` are positions along
    /// the two celestial image axes in header order (NAXIS1, NAXIS2 for a plain image).
    /// `None` when the image has no celestial axes or the point is outside the projection.
    pub fn pixel_to_world(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        self.celestial.as_ref()?.pixel_to_world(x, y)
    }

    /// (longitude, latitude) in degrees → 0-based pixel (x, y), the inverse of
    /// [`Wcs::pixel_to_world`]. `None` outside the projection's domain.
    pub fn world_to_pixel(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        self.celestial.as_ref()?.world_to_pixel(lon, lat)
    }

    /// The position at pixel (x, y) in galactic (l, b), converting from ICRS / FK5 J2000.
    /// `None` for other equatorial frames (FK4, other equinoxes) and non-sky frames.
    pub fn pixel_to_galactic(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let (lon, lat) = self.pixel_to_world(x, y)?;
        match self.frame()? {
            Frame::Galactic => Some((lon, lat)),
            f if f.is_j2000_equatorial() => Some(equatorial_to_galactic(lon, lat)),
            _ => None,
        }
    }

    /// The position at pixel (x, y) in FK5 J2000 ≈ ICRS (ra, dec); converts from galactic.
    /// `None` for other frames.
    pub fn pixel_to_equatorial(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let (lon, lat) = self.pixel_to_world(x, y)?;
        match self.frame()? {
            Frame::Galactic => Some(galactic_to_equatorial(lon, lat)),
            f if f.is_j2000_equatorial() => Some((lon, lat)),
            _ => None,
        }
    }

    /// Number of WCS axes.
    pub fn naxis(&self) -> usize {
        self.naxis
    }

    /// CTYPE of every axis (empty string where absent).
    pub fn ctype(&self) -> Vec<String> {
        self.ctype.clone()
    }

    pub fn crval(&self) -> &[f64] {
        &self.crval
    }

    /// Reference pixels, 1-based as in the header.
    pub fn crpix(&self) -> &[f64] {
        &self.crpix
    }

    pub fn cdelt(&self) -> &[f64] {
        &self.cdelt
    }

    pub fn cunit(&self) -> &[String] {
        &self.cunit
    }

    /// Whether [`Wcs::pixel_to_world`] can give sky positions.
    pub fn has_celestial(&self) -> bool {
        self.celestial.is_some()
    }

    /// 0-based indices of the (longitude, latitude) axes.
    pub fn celestial_axes(&self) -> Option<(usize, usize)> {
        self.celestial.as_ref().map(|c| (c.lng, c.lat))
    }

    /// The projection code actually used (`NCP` reports `SIN`, `GLS` reports `SFL`).
    pub fn projection(&self) -> Option<&'static str> {
        self.celestial.as_ref().map(|c| c.proj.code())
    }

    /// Whether a SIP distortion is applied.
    pub fn has_sip(&self) -> bool {
        self.celestial.as_ref().is_some_and(|c| c.sip.is_some())
    }

    /// The celestial reference frame.
    pub fn frame(&self) -> Option<&Frame> {
        self.celestial.as_ref().map(|c| &c.frame)
    }

    /// Degrees per pixel as a 2×2 matrix: rows (longitude, latitude), columns the lower and
    /// higher celestial image axes (the CD matrix, with PC/CDELT/CROTA folded in).
    pub fn cd_matrix(&self) -> Option<[[f64; 2]; 2]> {
        self.celestial.as_ref().map(|c| c.matrix)
    }

    /// Geometric-mean pixel scale at the reference point, degrees per pixel (ignores SIP).
    pub fn pixel_scale(&self) -> Option<f64> {
        let m = self.cd_matrix()?;
        Some((m[0][0] * m[1][1] - m[0][1] * m[1][0]).abs().sqrt())
    }

    /// Effective (LONPOLE, LATPOLE) after applying Paper II's defaults.
    pub fn poles(&self) -> Option<(f64, f64)> {
        self.celestial.as_ref().map(|c| (c.pole.lonpole, c.pole.latpole))
    }

    pub(crate) fn celestial_crval(&self) -> Option<[f64; 2]> {
        self.celestial.as_ref().map(|c| c.crval)
    }

    pub(crate) fn celestial_crpix(&self) -> Option<[f64; 2]> {
        self.celestial.as_ref().map(Celestial::crpix)
    }

    pub(crate) fn sip_order(&self) -> Option<usize> {
        self.celestial.as_ref()?.sip.as_ref().map(|s| s.order())
    }

    /// The spectral axis, if any.
    pub fn spectral(&self) -> Option<&SpectralAxis> {
        self.spectral.as_ref()
    }

    /// The Stokes axis, if any.
    pub fn stokes(&self) -> Option<&StokesAxis> {
        self.stokes.as_ref()
    }

    /// Things worth telling a user that were not errors (ignored axes, iterative inverses).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// What was repaired or ignored to read this header, in the spirit of astropy's
    /// `FITSFixedWarning`: translated unit spellings (`CUNIT1 = 'Degrees' read as 'deg'`),
    /// deprecated keywords read in their modern meaning (`EPOCH`, `RADECSYS`, `PROJPn`,
    /// `PCiiijjj`, CROTA on the longitude axis, `DATE-OBS` as dd/mm/yy), and auxiliary values
    /// that are not numbers and were ignored (`EQUINOX = 'J2000'`).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The observation date, when the header gives one.
    pub fn observation(&self) -> &Observation {
        &self.observation
    }
}

/// The first spectral axis, translating AIPS conventions (`FREQ-LSR`, `VELO-HEL`, `FELO-OBS`)
/// the way WCSLIB's `spcaips` does.
fn spectral_axis(axes: &HeaderAxes<'_>) -> Result<Option<SpectralAxis>, String> {
    let velref = if axes.kw.contains("VELREF") {
        axes.aux_number_exact("VELREF").unwrap_or(0.0) as i64
    } else {
        0
    };
    for (i, ct) in axes.ctype.iter().enumerate() {
        let aips_frame = match ct.algorithm.as_str() {
            "LSR" => Some("LSRK"),
            "HEL" => Some("BARYCENT"),
            "OBS" => Some("TOPOCENT"),
            _ => None,
        };
        let is_aips = matches!(ct.coord.as_str(), "FREQ" | "VELO" | "FELO") && aips_frame.is_some();
        let (code, algorithm) = match (ct.coord.as_str(), is_aips) {
            ("FELO", _) => ("VOPT", "F2W"),
            ("VELO", true) => (if velref / 256 == 1 { "VRAD" } else { "VOPT" }, ""),
            (_, true) => (ct.coord.as_str(), ""),
            (c, false) => (c, ct.algorithm.as_str()),
        };
        if SpectralKind::from_code(code).is_none() {
            continue;
        }
        let specsys = axes.string("SPECSYS").or_else(|| aips_frame.map(String::from));
        let rest_freq = match axes.aux_number("RESTFRQ") {
            Some(v) => Some(v),
            None if axes.alt.is_empty() && axes.kw.contains("RESTFREQ") => {
                let v = axes.aux_number_exact("RESTFREQ");
                if let Some(f) = v {
                    axes.warn(format!("deprecated RESTFREQ = {f} read as RESTFRQ"));
                }
                v
            }
            None => None,
        };
        let rest_wav = axes.aux_number("RESTWAV");
        // Report the type as interpreted (AIPS 'VELO-LSR' becomes 'VRAD' or 'VOPT'), as astropy does.
        let effective = if algorithm.is_empty() {
            code.to_string()
        } else {
            format!("{code}-{algorithm}")
        };
        let input = SpectralInput {
            axis: i,
            ctype: &effective,
            code,
            algorithm,
            unit: &axes.cunit[i],
            crpix: axes.crpix[i],
            crval: axes.crval[i],
            cdelt: axes.matrix[i][i],
            rest: Rest::new(rest_freq, rest_wav),
            specsys,
        };
        return SpectralAxis::new(input).map(Some);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tan(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut cards = vec![
            ("NAXIS", "2"),
            ("CTYPE1", "'RA---TAN'"),
            ("CTYPE2", "'DEC--TAN'"),
            ("CRVAL1", "83.633"),
            ("CRVAL2", "22.0145"),
            ("CRPIX1", "100.5"),
            ("CRPIX2", "100.5"),
            ("CDELT1", "-0.001"),
            ("CDELT2", "0.001"),
        ];
        cards.extend_from_slice(extra);
        cards
    }

    fn reason(result: Result<Wcs, WcsError>) -> String {
        match result {
            Err(WcsError::NoCelestialWcs { reason }) => reason,
            other => panic!("expected NoCelestialWcs, got {other:?}"),
        }
    }

    #[test]
    fn uninterpretable_headers_are_errors() {
        assert!(reason(Wcs::from_cards([])).contains("CTYPE"));
        assert!(reason(Wcs::from_cards([("CTYPE1", "'PIXEL'"), ("CTYPE2", "'PIXEL'")])).contains("PIXEL"));
        assert!(reason(Wcs::from_cards([("CTYPE1", "'LAMBDA'")])).contains("LAMBDA"));
        let unknown = tan(&[("CTYPE1", "'RA---XYZ'"), ("CTYPE2", "'DEC--XYZ'")]);
        assert!(reason(Wcs::from_cards(unknown)).contains("XYZ"));
        assert!(reason(Wcs::from_cards(tan(&[("CDELT1", "0")]))).contains("singular"));
        assert!(reason(Wcs::from_cards(tan(&[("CTYPE2", "'DEC--SIN'")]))).contains("differ"));
        assert!(reason(Wcs::from_cards(tan(&[("CTYPE2", "'FREQ'")]))).contains("partner"));
        assert!(reason(Wcs::from_cards(tan(&[("CRVAL2", "95")]))).contains("latitude"));
        assert!(reason(Wcs::from_cards(tan(&[("CUNIT1", "'furlong'")]))).contains("furlong"));
        let bad_number = Wcs::from_cards(tan(&[("CRVAL1", "'abc'")]));
        assert!(matches!(bad_number, Err(WcsError::InvalidValue { keyword, .. }) if keyword == "CRVAL1"));
    }

    #[test]
    fn short_ctypes_do_not_panic() {
        for ctype in ["''", "'R'", "'RA'", "'RA-'", "'-'", "'----TAN'", "'RA---'"] {
            let _ = Wcs::from_cards(tan(&[("CTYPE1", ctype)]));
        }
    }

    #[test]
    fn out_of_domain_points_are_none() {
        let wcs = Wcs::from_cards(tan(&[])).expect("valid");
        // The far hemisphere has no TAN pixel, and NaN never leaks out.
        assert_eq!(wcs.world_to_pixel(263.633, -22.0145), None);
        assert_eq!(wcs.pixel_to_world(f64::NAN, 0.0), None);
        assert_eq!(wcs.world_to_pixel(0.0, 91.0), None);
        let sin = Wcs::from_cards(tan(&[("CTYPE1", "'RA---SIN'"), ("CTYPE2", "'DEC--SIN'")])).expect("valid");
        assert_eq!(sin.pixel_to_world(1e5, 100.0), None);
    }

    #[test]
    fn legacy_and_alternate_forms() {
        let crota = Wcs::from_cards(tan(&[("CROTA2", "30")])).expect("valid");
        let m = crota.cd_matrix().expect("celestial");
        assert!((m[0][0] + 0.001 * 30f64.to_radians().cos()).abs() < 1e-15);
        let alt = Wcs::from_cards_with_key(
            tan(&[
                ("CTYPE1B", "'GLON-CAR'"),
                ("CTYPE2B", "'GLAT-CAR'"),
                ("CDELT1B", "-1"),
                ("CDELT2B", "1"),
            ]),
            Some('b'),
        )
        .expect("valid");
        assert_eq!(alt.frame(), Some(&Frame::Galactic));
        assert_eq!(alt.projection(), Some("CAR"));
        assert!(Wcs::from_cards_with_key(tan(&[]), Some('Q')).is_err());
        assert!(Wcs::from_cards_with_key(tan(&[]), Some('é')).is_err());
    }

    #[test]
    fn frames_and_galactic_readout() {
        let icrs = Wcs::from_cards(tan(&[])).expect("valid");
        assert_eq!(icrs.frame(), Some(&Frame::Icrs));
        let (l, b) = icrs.pixel_to_galactic(99.5, 99.5).expect("galactic");
        let (ra, dec) = galactic_to_equatorial(l, b);
        assert!((ra - 83.633).abs() < 1e-9 && (dec - 22.0145).abs() < 1e-9);
        let fk4 = Wcs::from_cards(tan(&[("EQUINOX", "1950.0")])).expect("valid");
        assert_eq!(fk4.frame(), Some(&Frame::Fk4 { equinox: 1950.0 }));
        assert_eq!(fk4.pixel_to_galactic(99.5, 99.5), None);
        let fk5 = Wcs::from_cards(tan(&[("RADESYS", "'FK5'")])).expect("valid");
        assert_eq!(fk5.frame(), Some(&Frame::Fk5 { equinox: 2000.0 }));
    }

    #[test]
    fn spectral_and_stokes_axes() {
        let cube = Wcs::from_cards(tan(&[
            ("NAXIS", "4"),
            ("CTYPE3", "'FREQ'"),
            ("CRVAL3", "1.4204E3"),
            ("CDELT3", "0.25"),
            ("CRPIX3", "1"),
            ("CUNIT3", "'MHz'"),
            ("CTYPE4", "'STOKES'"),
            ("CRVAL4", "-5"),
            ("CDELT4", "-1"),
            ("CRPIX4", "1"),
        ]))
        .expect("valid");
        let spec = cube.spectral().expect("spectral");
        assert_eq!((spec.kind(), spec.unit(), spec.axis()), (SpectralKind::Freq, "Hz", 2));
        assert!((spec.pixel_to_world(4.0).expect("value") - 1.4214e9).abs() < 1e-3);
        let stokes = cube.stokes().expect("stokes");
        assert_eq!(stokes.pixel_to_stokes(0.0), Some(crate::Stokes::XX));
        assert_eq!(stokes.pixel_to_stokes(1.0), Some(crate::Stokes::YY));
        assert_eq!(stokes.pixel_to_stokes(0.5), None);
        let aips = Wcs::from_cards([("CTYPE1", "'FELO-HEL'"), ("CRVAL1", "1000"), ("RESTFREQ", "1.42E9")])
            .expect("spectral only");
        let spec = aips.spectral().expect("spectral");
        assert_eq!((spec.kind(), spec.specsys()), (SpectralKind::Vopt, Some("BARYCENT")));
        assert!(!aips.has_celestial());
        let no_rest = Wcs::from_cards(tan(&[("CTYPE3", "'VOPT-F2W'")])).expect("celestial still works");
        assert!(no_rest.spectral().is_none() && !no_rest.notes().is_empty());
    }

    #[test]
    fn summary_serializes() {
        let wcs = Wcs::from_cards(tan(&[])).expect("valid");
        let json = serde_json::to_value(wcs.summary()).expect("serializes");
        assert_eq!(json["celestial"]["projection"], "TAN");
        assert_eq!(json["celestial"]["frame"]["system"], "icrs");
        assert_eq!(json["ctype"][0], "RA---TAN");
    }
}
