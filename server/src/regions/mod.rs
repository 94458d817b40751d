//! The regions service: the viewer's regions of one image, read and saved as a whole set with
//! an optimistic version. Who may read or save them is decided by `ch_api::authorize`: a job
//! result's regions (`/api/fits/jobs/<id>/…`) follow the job's project; an archive image's
//! (`/api/fits/<source>/…`, `/api/soda/<source>/sync?…`) follow its source — a restricted
//! source's only its projects' members see, and scientists among them save; the regions of
//! other images (samples) are shared annotations that signed-in users read and scientists save.

use ch_api::{Action, JobService, Principal, Resource, ServiceError};
use ch_regions::{Region, RegionError, RegionSet};
use serde::{Deserialize, Serialize};
use tracing::{info, instrument};

use crate::jobs::Jobs;
use crate::store::{ImageRegions, Store, StoreError};

/// Longest image key accepted, in characters (as archive paths).
pub const MAX_IMAGE_KEY_CHARS: usize = 1024;

/// What loading or saving regions can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RegionsError {
    /// The image key or a region is invalid (400, naming the field).
    #[error("{message}")]
    Invalid { field: Option<String>, message: String },
    /// Someone saved since `version` (409).
    #[error("the regions of '{image}' are now at version {current}; reload them and save again")]
    Stale { image: String, current: i64 },
    /// Authorization, or an unknown job behind the image.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// An image key that passed [`ImageKey::parse`]: 1–1024 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageKey(String);

impl ImageKey {
    pub fn parse(raw: Option<&str>) -> Result<ImageKey, RegionsError> {
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
            Some(p) => Err(RegionsError::Invalid {
                field: Some("image".into()),
                message: format!("image key is {p}"),
            }),
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
    fn source(&self) -> Option<&str> {
        let path = self.path();
        ["/api/fits/", "/api/soda/"]
            .iter()
            .find_map(|p| path.strip_prefix(p))
            .and_then(|rest| rest.split(['/', '?']).next())
            .filter(|s| !s.is_empty())
    }

    /// The job whose result file this image is, if it is one.
    fn job(&self) -> Option<uuid::Uuid> {
        self.path()
            .strip_prefix("/api/fits/jobs/")
            .and_then(|rest| rest.split('/').next())
            .and_then(|id| id.parse().ok())
    }
}

/// The regions of one image as the viewer loads and saves them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegionsDoc {
    pub image: String,
    /// Regions in image pixels (see the `ch-regions` crate for the shapes).
    #[schema(value_type = Vec<Object>)]
    pub regions: Vec<Region>,
    /// 0 when nothing was saved yet; send it back with the next save.
    pub version: i64,
    /// Unix milliseconds of the last save; `null` when nothing was saved.
    pub updated_at: Option<i64>,
}

/// A save: the whole set and the version the client last loaded.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveRegions {
    #[schema(value_type = Vec<Object>)]
    pub regions: Vec<Region>,
    /// The version last seen (0 for an image without saved regions), at most 2^53 − 1.
    #[schema(minimum = 0, maximum = 9_007_199_254_740_991_i64)]
    pub version: i64,
}

fn doc(image: &ImageKey, stored: Option<ImageRegions>) -> RegionsDoc {
    match stored {
        Some(s) => RegionsDoc {
            image: s.image,
            regions: s.set.regions,
            version: s.version,
            updated_at: Some(s.updated_at.timestamp_millis()),
        },
        None => RegionsDoc {
            image: image.as_str().to_owned(),
            regions: Vec::new(),
            version: 0,
            updated_at: None,
        },
    }
}

fn store_error(e: StoreError) -> RegionsError {
    match e {
        StoreError::StaleRegions { image, current } => RegionsError::Stale { image, current },
        other => {
            tracing::error!(error = %other, "region store failure");
            RegionsError::Service(ServiceError::Internal)
        }
    }
}

fn invalid(e: RegionError) -> RegionsError {
    let field = match &e {
        RegionError::Invalid { path, .. } => Some(path.clone()),
        RegionError::Parse { .. } => None,
    };
    RegionsError::Invalid {
        field,
        message: e.to_string(),
    }
}

/// Largest region-set version: the largest integer a JavaScript client holds exactly (2^53 − 1).
pub const MAX_VERSION: i64 = (1 << 53) - 1;

/// The regions service; cheap to clone.
#[derive(Clone)]
pub struct Regions {
    store: Store,
    jobs: Jobs,
    /// Reads the image's header for DS9 files in sky coordinates ([`ds9`]).
    archive: crate::archive::Archive,
}

impl Regions {
    pub fn new(store: Store, jobs: Jobs, archive: crate::archive::Archive) -> Self {
        Self { store, jobs, archive }
    }

    async fn authorize(&self, caller: &Principal, image: &ImageKey, action: Action) -> Result<(), RegionsError> {
        if let Some(id) = image.job() {
            let job = self.jobs.get(caller, id).await?;
            if action != Action::Read {
                self.jobs
                    .authorize_project(caller, action, &job.project, &format!("job {id}"))
                    .await?;
            }
            return Ok(());
        }
        // An image of a configured source follows that source (restricted sources: their
        // projects' members only); other images' regions are shared annotations.
        let source = image
            .source()
            .and_then(|s| self.archive.source_projects(s).map(|p| (s, p)));
        let resource = match source {
            Some((name, projects)) => Resource::ArchiveSource { name, projects },
            None => Resource::ArchiveSource {
                name: "regions",
                projects: None,
            },
        };
        ch_api::authorize(self.jobs.site(), caller, action, resource)
            .map_err(|d| RegionsError::Service(ServiceError::denied(d, "regions")))
    }

    /// The stored regions of `image` (empty at version 0 when none were saved).
    pub async fn load(&self, caller: &Principal, image: &ImageKey) -> Result<RegionsDoc, RegionsError> {
        self.authorize(caller, image, Action::Read).await?;
        let stored = self.store.get_regions(image.as_str()).await.map_err(store_error)?;
        Ok(doc(image, stored))
    }

    /// Validates and saves a whole region set for `image` on top of `req.version`.
    #[instrument(skip_all, fields(image = image.as_str(), version = req.version, %caller), err(level = "debug"))]
    pub async fn save(
        &self,
        caller: &Principal,
        image: &ImageKey,
        req: SaveRegions,
    ) -> Result<RegionsDoc, RegionsError> {
        self.authorize(caller, image, Action::Write).await?;
        if !(0..=MAX_VERSION).contains(&req.version) {
            return Err(RegionsError::Invalid {
                field: Some("version".into()),
                message: format!("version must be between 0 and {MAX_VERSION}, got {}", req.version),
            });
        }
        let set = RegionSet { regions: req.regions };
        set.validate().map_err(invalid)?;
        let stored = self
            .store
            .save_regions(image.as_str(), caller.actor(), &set, req.version, crate::clock::now())
            .await
            .map_err(store_error)?;
        info!(
            regions = stored.set.regions.len(),
            version = stored.version,
            "regions saved"
        );
        Ok(doc(image, Some(stored)))
    }
}

mod ds9;
pub use ds9::{Ds9Import, Ds9System};

#[cfg(test)]
mod tests {
    use super::ImageKey;

    #[test]
    fn image_keys_are_bounded_and_printable() {
        assert!(ImageKey::parse(Some("vlass/T10t01/image.fits")).is_ok());
        assert!(ImageKey::parse(Some(&"é".repeat(1024))).is_ok());
        for bad in [None, Some(""), Some("a\nb"), Some("a\u{7f}")] {
            assert!(ImageKey::parse(bad).is_err(), "{bad:?}");
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
}
