//! The regions port: the FITS viewer's regions of one image, read and saved as a whole set with
//! an optimistic version, and exchanged as DS9 region files. The server implements
//! [`RegionService`]; the HTTP handlers call it.

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use ch_regions::Region;
use ch_regions::ds9::{Ds9Sky, Skipped};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ServiceError, ServiceResult};
use crate::principal::Principal;

/// Longest image key accepted, in characters (as archive paths).
pub const MAX_IMAGE_KEY_CHARS: usize = 1024;

/// Largest region-set version: the largest integer a JavaScript client holds exactly (2^53 − 1).
pub const MAX_VERSION: i64 = (1 << 53) - 1;

/// The image a region set belongs to: 1–1024 characters, no control characters. Usually the
/// URL the viewer loaded the image from (`/api/fits/<source>/<path>`,
/// `/api/fits/jobs/<id>/<file>`, `/api/soda/<source>/sync?…`, `/samples/m31.fits`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageKey(String);

impl ImageKey {
    /// Checks a key from a query parameter.
    ///
    /// # Errors
    /// [`ServiceError::Malformed`] naming `image` when the key is missing, empty, too long or
    /// has control characters.
    pub fn parse(raw: Option<&str>) -> ServiceResult<ImageKey> {
        let raw = raw.unwrap_or_default();
        let problem = if raw.is_empty() {
            Some("missing or empty".to_owned())
        } else if raw.chars().count() > MAX_IMAGE_KEY_CHARS {
            Some(format!("longer than {MAX_IMAGE_KEY_CHARS} characters"))
        } else if raw.chars().any(char::is_control) {
            Some("contains control characters".to_owned())
        } else {
            None
        };
        match problem {
            Some(p) => Err(ServiceError::malformed("image", format!("image key is {p}"))),
            None => Ok(ImageKey(raw.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's path: without `scheme://host` when the key is a full URL.
    fn path(&self) -> &str {
        match self.0.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
            None => &self.0,
        }
    }

    /// The archive source the image is read from — `/api/fits/<source>/…` or
    /// `/api/soda/<source>/sync?…` — if the key names one.
    pub fn source(&self) -> Option<&str> {
        let path = self.path();
        ["/api/fits/", "/api/soda/"]
            .iter()
            .find_map(|p| path.strip_prefix(p))
            .and_then(|rest| rest.split(['/', '?']).next())
            .filter(|s| !s.is_empty())
    }

    /// The job whose result file this image is, if it is one (`/api/fits/jobs/<id>/…`).
    pub fn job(&self) -> Option<Uuid> {
        self.path()
            .strip_prefix("/api/fits/jobs/")
            .and_then(|rest| rest.split('/').next())
            .and_then(|id| id.parse().ok())
    }
}

/// The regions of one image as the viewer loads and saves them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegionsDoc {
    pub image: String,
    /// Regions in image pixels (see the `ch-regions` crate for the shapes).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub regions: Vec<Region>,
    /// 0 when nothing was saved yet; send it back with the next save.
    pub version: i64,
    /// Unix milliseconds of the last save; `null` when nothing was saved.
    pub updated_at: Option<i64>,
}

/// A save: the whole set and the version the client last loaded.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SaveRegions {
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub regions: Vec<Region>,
    /// The version last seen (0 for an image without saved regions), at most 2^53 − 1.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 9_007_199_254_740_991_i64))]
    pub version: i64,
}

/// The coordinate system of an exported DS9 file: `image` pixels or a DS9 sky system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ds9System {
    Image,
    Sky(Ds9Sky),
}

impl Ds9System {
    /// `image`, `fk5`/`j2000`, `fk4`/`b1950`, `icrs`, `galactic` or `ecliptic` (any case; DS9's
    /// own keywords and aliases).
    ///
    /// # Errors
    /// [`ServiceError::Malformed`] naming `system` for any other word.
    pub fn parse(raw: &str) -> ServiceResult<Ds9System> {
        if raw.eq_ignore_ascii_case("image") {
            return Ok(Ds9System::Image);
        }
        Ds9Sky::from_keyword(raw).map(Ds9System::Sky).ok_or_else(|| {
            ServiceError::malformed(
                "system",
                format!("unknown DS9 coordinate system '{raw}' (image, fk5, fk4, icrs, galactic or ecliptic)"),
            )
        })
    }
}

/// What a DS9 import saved, and the regions it could not place on the image.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ds9Import {
    #[serde(flatten)]
    pub doc: RegionsDoc,
    /// Regions left out because their position has no pixel on this image.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub skipped: Vec<Skipped>,
}

/// Regions of images. Who may read or save them is decided by [`crate::authorize`]: a job
/// result's regions follow the job's project, an archive image's follow its source, the
/// regions of other images are shared annotations signed-in users read and scientists save.
/// Bad regions answer [`ServiceError::Malformed`] naming the region's path; a save on top of
/// an old version answers [`ServiceError::Stale`] naming `version`.
#[async_trait]
pub trait RegionService: Send + Sync + 'static {
    /// The stored regions of `image` (empty at version 0 when none were saved).
    async fn load(&self, caller: &Principal, image: &ImageKey) -> ServiceResult<RegionsDoc>;
    /// Validates and saves a whole region set for `image` on top of `req.version`.
    async fn save(&self, caller: &Principal, image: &ImageKey, req: SaveRegions) -> ServiceResult<RegionsDoc>;
    /// The saved regions as a DS9 region file (format 4.1) in `system` (default: the DS9 system
    /// of the image's frame, or `image` without a WCS), converted with the WCS of HDU `hdu`.
    /// `client` is the caller's address, recorded when the image's header is read from the
    /// archive.
    async fn export_ds9(
        &self,
        caller: &Principal,
        client: IpAddr,
        image: &ImageKey,
        system: Option<Ds9System>,
        hdu: Option<usize>,
    ) -> ServiceResult<String>;
    /// Reads a DS9 region file and saves it as the regions of `image` on top of `version`;
    /// regions whose position has no pixel on the image are listed, not saved.
    async fn import_ds9(
        &self,
        caller: &Principal,
        client: IpAddr,
        image: &ImageKey,
        text: &str,
        version: i64,
        hdu: Option<usize>,
    ) -> ServiceResult<Ds9Import>;
}

/// What the HTTP handlers find in their state.
pub type SharedRegionService = Arc<dyn RegionService>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_keys_are_bounded_and_printable() {
        assert!(ImageKey::parse(Some("vlass/T10t01/image.fits")).is_ok());
        assert!(ImageKey::parse(Some(&"é".repeat(1024))).is_ok());
        for bad in [None, Some(""), Some("a\nb"), Some("a\u{7f}")] {
            let e = ImageKey::parse(bad).expect_err("refused");
            assert_eq!((e.status(), e.field()), (400, Some("image")), "{bad:?}");
        }
        assert!(ImageKey::parse(Some(&"a".repeat(1025))).is_err());
        let job = ImageKey::parse(Some("/api/fits/jobs/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/x.fits")).expect("key");
        let source = |k: &str| ImageKey::parse(Some(k)).expect("key").source().map(str::to_owned);
        assert_eq!(source("/api/fits/vault/a/b.fits").as_deref(), Some("vault"));
        assert_eq!(
            source("https://ch.example/api/fits/vault/b.fits").as_deref(),
            Some("vault")
        );
        assert_eq!(source("/api/soda/vault/sync?ID=b.fits").as_deref(), Some("vault"));
        assert_eq!(source("/samples/m31.fits"), None);
        assert_eq!(
            ImageKey::parse(Some(
                "http://h/api/fits/jobs/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/x.fits"
            ))
            .expect("key")
            .job(),
            job.job()
        );
        assert!(job.job().is_some());
    }

    #[test]
    fn ds9_systems() {
        assert_eq!(Ds9System::parse("FK4").ok(), Some(Ds9System::Sky(Ds9Sky::Fk4)));
        assert_eq!(Ds9System::parse("image").ok(), Some(Ds9System::Image));
        let e = Ds9System::parse("linear").expect_err("refused");
        assert_eq!((e.status(), e.field()), (400, Some("system")));
    }
}
