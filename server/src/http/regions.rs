//! `/api/regions?image=<key>`: the regions the FITS viewer drew on one image, read and saved
//! as a whole set with an optimistic version (a save from a stale copy is a 409).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ch_regions::{Region, RegionError, RegionSet};
use serde::{Deserialize, Serialize};
use tracing::{info, instrument};

use super::auth::Caller;
use super::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::jobs::Jobs;
use crate::store::{ImageRegions, Store, StoreError};

/// Longest image key accepted, in characters (as archive paths).
pub const MAX_IMAGE_KEY_CHARS: usize = 1024;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ImageQuery {
    /// The image the regions belong to, e.g. `vlass/T10t01/image.fits` (1–1024 characters,
    /// no control characters).
    pub image: Option<String>,
}

/// An image key that passed [`ImageKey::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageKey(String);

impl ImageKey {
    pub fn parse(raw: Option<&str>) -> Result<ImageKey, ApiError> {
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
            Some(p) => Err(ApiError::bad_request(Some("image"), format!("image key is {p}"))),
            None => Ok(ImageKey(raw.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
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
    /// The version last seen (0 for an image without saved regions).
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

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::StaleRegions { image, current } => ApiError::Status {
            status: StatusCode::CONFLICT,
            field: Some("version".into()),
            message: format!("the regions of '{image}' are now at version {current}; reload them and save again"),
        },
        other => {
            tracing::error!(error = %other, "region store failure");
            ApiError::Status {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                field: None,
                message: "internal error".into(),
            }
        }
    }
}

fn invalid(e: RegionError) -> ApiError {
    let field = match &e {
        RegionError::Invalid { path, .. } => Some(path.as_str()),
        RegionError::Parse { .. } => None,
    };
    ApiError::bad_request(field, e.to_string())
}

/// The stored regions of `image` (empty at version 0 when none were saved).
pub async fn load(store: &Store, image: &ImageKey) -> Result<RegionsDoc, ApiError> {
    let stored = store.get_regions(image.as_str()).await.map_err(store_error)?;
    Ok(doc(image, stored))
}

/// Validates and saves a whole region set for `image` on top of `req.version`.
#[instrument(skip_all, fields(image = image.as_str(), version = req.version), err(level = "debug"))]
pub async fn save(store: &Store, image: &ImageKey, owner: &str, req: SaveRegions) -> Result<RegionsDoc, ApiError> {
    if req.version < 0 {
        return Err(ApiError::bad_request(Some("version"), "version must be ≥ 0"));
    }
    let set = RegionSet { regions: req.regions };
    set.validate().map_err(invalid)?;
    let stored = store
        .save_regions(image.as_str(), owner, &set, req.version, crate::jobs::lifecycle::now())
        .await
        .map_err(store_error)?;
    info!(
        regions = stored.set.regions.len(),
        version = stored.version,
        "regions saved"
    );
    Ok(doc(image, Some(stored)))
}

/// Decides `action` on the regions of `image`: a job result's regions
/// (`/api/fits/jobs/<id>/…`) follow the job's project; the regions of other images (archive
/// files, samples) are shared annotations any signed-in user reads and scientists write.
pub async fn authorize(
    jobs: &Jobs,
    caller: &ch_api::Principal,
    image: &ImageKey,
    action: ch_api::Action,
) -> Result<(), ApiError> {
    use ch_api::{JobService, Resource, ServiceError};
    let job = image
        .as_str()
        .strip_prefix("/api/fits/jobs/")
        .and_then(|rest| rest.split('/').next())
        .and_then(|id| id.parse::<uuid::Uuid>().ok());
    match job {
        Some(id) => {
            let job = jobs.get(caller, id).await?;
            if action != ch_api::Action::Read {
                jobs.authorize_project(caller, action, &job.project, &format!("job {id}"))
                    .await?;
            }
            Ok(())
        }
        None => {
            let shared = Resource::ArchiveSource {
                name: "regions",
                projects: None,
            };
            ch_api::authorize(jobs.site(), caller, action, shared)
                .map_err(|d| ApiError::from(ServiceError::denied(d, "regions")))
        }
    }
}

/// The regions drawn on an image.
#[utoipa::path(get, path = "/api/regions", params(ImageQuery), tag = "regions",
    responses((status = 200, body = RegionsDoc), (status = 400, body = ErrorBody)))]
pub async fn get(
    State(store): State<Store>,
    State(jobs): State<Jobs>,
    Caller(caller): Caller,
    ApiQuery(q): ApiQuery<ImageQuery>,
) -> Result<Json<RegionsDoc>, ApiError> {
    let image = ImageKey::parse(q.image.as_deref())?;
    authorize(&jobs, &caller, &image, ch_api::Action::Read).await?;
    Ok(Json(load(&store, &image).await?))
}

/// Replace the regions of an image, if nobody saved since `version`.
#[utoipa::path(put, path = "/api/regions", params(ImageQuery), request_body = SaveRegions, tag = "regions",
    responses((status = 200, body = RegionsDoc), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody)))]
pub async fn put(
    State(store): State<Store>,
    State(jobs): State<Jobs>,
    Caller(caller): Caller,
    ApiQuery(q): ApiQuery<ImageQuery>,
    body: Result<ApiJson<SaveRegions>, ApiError>,
) -> Result<Json<RegionsDoc>, ApiError> {
    let image = ImageKey::parse(q.image.as_deref())?;
    authorize(&jobs, &caller, &image, ch_api::Action::Write).await?;
    // A region that does not even deserialize is as invalid as one `validate` refuses: answer
    // both with 400 and the path serde names.
    let ApiJson(body) = body.map_err(|e| match e {
        ApiError::Status { status, field, message } if status == StatusCode::UNPROCESSABLE_ENTITY => ApiError::Status {
            status: StatusCode::BAD_REQUEST,
            field,
            message,
        },
        other => other,
    })?;
    Ok(Json(save(&store, &image, caller.actor(), body).await?))
}

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
    }
}
