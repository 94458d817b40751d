//! The regions service: the viewer's regions of one image, read and saved as a whole set with
//! an optimistic version. Who may read or save them is decided by `ch_api::authorize`: a job
//! result's regions (`/api/fits/jobs/<id>/…`) follow the job's project; an archive image's
//! (`/api/fits/<source>/…`, `/api/soda/<source>/sync?…`) follow its source — a restricted
//! source's only its projects' members see, and scientists among them save; the regions of
//! other images (samples) are shared annotations that signed-in users read and scientists save.

use std::net::IpAddr;

use async_trait::async_trait;
use ch_api::regions::MAX_VERSION;
use ch_api::{
    Action, ArchiveCaller, Ds9Import, Ds9System, ImageKey, JobService, Principal, RegionService, RegionsDoc, Resource,
    SaveRegions, ServiceError, ServiceResult,
};
use ch_regions::{RegionError, RegionSet};
use tracing::{info, instrument};

use crate::archive::service::SharedArchive;
use crate::jobs::Jobs;
use crate::store::{ImageRegions, Store};

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

/// A region that does not validate, or a DS9 file that does not parse: 400 naming the
/// region's path (`regions[2].radius`) when one is to blame.
fn invalid(e: RegionError) -> ServiceError {
    let field = match &e {
        RegionError::Invalid { path, .. } => Some(path.clone()),
        RegionError::Parse { .. } => None,
    };
    ServiceError::Malformed {
        field,
        message: e.to_string(),
    }
}

/// The regions service ([`RegionService`]); cheap to clone.
#[derive(Clone)]
pub struct Regions {
    store: Store,
    jobs: Jobs,
    /// Reads the image's header for DS9 files in sky coordinates ([`ds9`]).
    archive: SharedArchive,
}

impl Regions {
    pub fn new(store: Store, jobs: Jobs, archive: SharedArchive) -> Self {
        Self { store, jobs, archive }
    }

    async fn authorize(&self, caller: &Principal, image: &ImageKey, action: Action) -> ServiceResult<()> {
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
        ch_api::authorize(self.jobs.site(), caller, action, resource).map_err(|d| ServiceError::denied(d, "regions"))
    }
}

#[async_trait]
impl RegionService for Regions {
    async fn load(&self, caller: &Principal, image: &ImageKey) -> ServiceResult<RegionsDoc> {
        self.authorize(caller, image, Action::Read).await?;
        let stored = self.store.get_regions(image.as_str()).await?;
        Ok(doc(image, stored))
    }

    #[instrument(skip_all, fields(image = image.as_str(), version = req.version, %caller), err(level = "debug"))]
    async fn save(&self, caller: &Principal, image: &ImageKey, req: SaveRegions) -> ServiceResult<RegionsDoc> {
        self.authorize(caller, image, Action::Write).await?;
        if !(0..=MAX_VERSION).contains(&req.version) {
            return Err(ServiceError::malformed(
                "version",
                format!("version must be between 0 and {MAX_VERSION}, got {}", req.version),
            ));
        }
        let set = RegionSet { regions: req.regions };
        set.validate().map_err(invalid)?;
        let stored = self
            .store
            .save_regions(image.as_str(), caller.actor(), &set, req.version, crate::clock::now())
            .await?;
        info!(
            regions = stored.set.regions.len(),
            version = stored.version,
            "regions saved"
        );
        Ok(doc(image, Some(stored)))
    }

    async fn export_ds9(
        &self,
        caller: &Principal,
        client: IpAddr,
        image: &ImageKey,
        system: Option<Ds9System>,
        hdu: Option<usize>,
    ) -> ServiceResult<String> {
        let caller = ArchiveCaller {
            principal: caller.clone(),
            client,
        };
        self.export_ds9_file(&caller, image, system, hdu).await
    }

    async fn import_ds9(
        &self,
        caller: &Principal,
        client: IpAddr,
        image: &ImageKey,
        text: &str,
        version: i64,
        hdu: Option<usize>,
    ) -> ServiceResult<Ds9Import> {
        let caller = ArchiveCaller {
            principal: caller.clone(),
            client,
        };
        self.import_ds9_file(&caller, image, text, version, hdu).await
    }
}

mod ds9;
