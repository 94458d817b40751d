//! The plane geometry of an image array: width, height, number of planes and pixels per plane
//! of FITS-order axes, each checked against overflow. Both the plain reader (`image`) and the
//! tile decompressor (`compress`) take it from here.

use crate::error::FitsError;

/// Plane geometry of an array with FITS-order `axes`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlaneGeometry {
    pub width: usize,
    pub height: usize,
    pub planes: usize,
    /// `width * height`, checked.
    pub pixels: usize,
}

/// The geometry of HDU `hdu`'s array with FITS-order `axes`; an error without axes (NAXIS = 0)
/// or when a size overflows `usize`.
pub(crate) fn plane_geometry(hdu: usize, axes: &[u64]) -> Result<PlaneGeometry, FitsError> {
    let too_large = || FitsError::TooLarge(format!("HDU {hdu}: image dimensions overflow"));
    let to_usize = |v: u64| usize::try_from(v).map_err(|_| too_large());
    let width = to_usize(*axes.first().ok_or_else(|| FitsError::NotAnImage {
        hdu,
        reason: "NAXIS = 0".into(),
    })?)?;
    let height = to_usize(axes.get(1).copied().unwrap_or(1))?;
    let planes = axes
        .iter()
        .skip(2)
        .try_fold(1u64, |a, &n| a.checked_mul(n))
        .ok_or_else(too_large)?;
    let planes = to_usize(planes)?;
    let pixels = width.checked_mul(height).ok_or_else(too_large)?;
    Ok(PlaneGeometry {
        width,
        height,
        planes,
        pixels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_axes_geometry() {
        let g = plane_geometry(0, &[777777701, 0]).expect("geometry");
        assert_eq!((g.width, g.height, g.pixels), (777777701, 0, 0));
        assert!(plane_geometry(0, &[]).is_err());
        assert!(plane_geometry(0, &[u64::MAX, u64::MAX]).is_err());
    }
}
