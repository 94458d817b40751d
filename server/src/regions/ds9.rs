//! DS9 region files over HTTP, for scripts: export an image's saved regions in any DS9
//! coordinate system, and import a DS9 file as the image's new region set. Sky systems need
//! the image's WCS, read from the header of the archive file the image key names
//! (`/api/fits/<source>/<path>`); positions are converted between the file's frame and the
//! image's with `ch_wcs::frames` (as the viewer does).

use ch_api::{
    Action, ArchiveCaller, ArchiveFile, Ds9Import, Ds9System, ImageKey, RegionService, SaveRegions, ServiceError,
    ServiceResult,
};
use ch_regions::ds9::{self, Ds9Sky, Physical, SkyTransform};
use ch_wcs::Wcs;
use tracing::instrument;

use super::{Regions, invalid};

/// The image's celestial WCS and IRAF physical system, when its header could be read.
struct ImageCoords {
    wcs: Option<Wcs>,
    physical: Option<Physical>,
}

impl ImageCoords {
    fn with<R>(&self, f: impl FnOnce(Option<&SkyTransform<'_>>, Option<&Physical>) -> R) -> R {
        ds9::with_wcs(self.wcs.as_ref(), |sky| f(sky, self.physical.as_ref()))
    }
}

/// `(source, path, hdu)` of an archive image key such as `/api/fits/vla/a/b.fits?hdu=1`.
fn archive_file(image: &ImageKey) -> Option<(String, String, Option<usize>)> {
    let rest = image.as_str().strip_prefix("/api/fits/")?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (source, path) = path.split_once('/')?;
    let hdu = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "hdu")
        .and_then(|(_, v)| v.parse().ok());
    Some((source.to_owned(), path.to_owned(), hdu))
}

impl Regions {
    /// Reads the header of the archive file behind `image` (HDU `hdu`, else the key's `hdu`,
    /// else the first image HDU). Keys that are not archive files have no coordinates.
    async fn image_coords(
        &self,
        caller: &ArchiveCaller,
        image: &ImageKey,
        hdu: Option<usize>,
    ) -> ServiceResult<ImageCoords> {
        let none = ImageCoords {
            wcs: None,
            physical: None,
        };
        let Some((source, path, key_hdu)) = archive_file(image) else {
            return Ok(none);
        };
        let unreadable = |e: String| {
            ServiceError::malformed(
                "image",
                format!("cannot read the image's header for its coordinates: {e}"),
            )
        };
        let served = self
            .archive
            .open(caller, &source, &path)
            .await
            .map_err(|e| unreadable(e.to_string()))?;
        let fits = tokio::task::spawn_blocking(move || crate::archive::headers::read_headers(served.path()))
            .await
            .map_err(|e| unreadable(e.to_string()))?
            .map_err(|e| unreadable(e.to_string()))?;
        let index = match hdu.or(key_hdu) {
            Some(i) => i,
            None => match fits.first_image() {
                Some(h) => h.index(),
                None => return Ok(none),
            },
        };
        let header = fits.hdu(index).map_err(|e| unreadable(e.to_string()))?.header();
        Ok(ImageCoords {
            wcs: Wcs::from_cards(header.cards()).ok().filter(Wcs::has_celestial),
            physical: Physical::from_keywords(|k| header.get_f64(k)),
        })
    }

    /// The saved regions of `image` as a DS9 file in `system` (default: the DS9 system of the
    /// image's frame, or `image` when it has no WCS).
    #[instrument(skip(self, caller), fields(image = image.as_str()), err(level = "debug"))]
    pub(super) async fn export_ds9_file(
        &self,
        caller: &ArchiveCaller,
        image: &ImageKey,
        system: Option<Ds9System>,
        hdu: Option<usize>,
    ) -> ServiceResult<String> {
        let doc = self.load(&caller.principal, image).await?;
        let coords = match system {
            Some(Ds9System::Image) => ImageCoords {
                wcs: None,
                physical: None,
            },
            _ => self.image_coords(caller, image, hdu).await?,
        };
        if let Some(Ds9System::Sky(sky)) = system
            && coords.wcs.is_none()
        {
            return Err(ServiceError::malformed(
                "system",
                format!(
                    "{} coordinates need the image's celestial WCS; '{}' has none (or is not an archive file)",
                    sky.keyword(),
                    image.as_str()
                ),
            ));
        }
        let set = ch_regions::RegionSet { regions: doc.regions };
        Ok(coords.with(|sky, _| {
            let target = match system {
                Some(Ds9System::Sky(s)) => Some(s),
                Some(Ds9System::Image) => None,
                None => sky.map(|s| Ds9Sky::for_frame(s.frame)),
            };
            ds9::write_in(&set, sky, target)
        }))
    }

    /// Reads a DS9 file and saves it as the regions of `image` on top of `version`; regions
    /// whose position has no pixel on the image are listed, not saved.
    #[instrument(skip(self, caller, text), fields(image = image.as_str(), bytes = text.len()), err(level = "debug"))]
    pub(super) async fn import_ds9_file(
        &self,
        caller: &ArchiveCaller,
        image: &ImageKey,
        text: &str,
        version: i64,
        hdu: Option<usize>,
    ) -> ServiceResult<Ds9Import> {
        self.authorize(&caller.principal, image, Action::Write).await?;
        let coords = self.image_coords(caller, image, hdu).await?;
        let import = coords
            .with(|sky, physical| ds9::import(text, sky, physical))
            .map_err(invalid)?;
        let doc = self
            .save(
                &caller.principal,
                image,
                SaveRegions {
                    regions: import.set.regions,
                    version,
                },
            )
            .await?;
        Ok(Ds9Import {
            doc,
            skipped: import.skipped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_keys() {
        let key = |s: &str| ImageKey::parse(Some(s)).expect("key");
        assert_eq!(
            archive_file(&key("/api/fits/up/a/b.fits?hdu=2")),
            Some(("up".into(), "a/b.fits".into(), Some(2)))
        );
        assert_eq!(
            archive_file(&key("/api/fits/up/x.fits")),
            Some(("up".into(), "x.fits".into(), None))
        );
        assert_eq!(archive_file(&key("/samples/m51.fits")), None);
        assert_eq!(archive_file(&key("local file")), None);
    }
}
