//! `/api/regions?image=<key>`: the regions the FITS viewer drew on one image, read and saved
//! as a whole set with an optimistic version (a save from a stale copy is a 409). Thin: the
//! regions service decides and stores.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::auth::Caller;
use super::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::regions::{ImageKey, Regions, RegionsDoc, RegionsError, SaveRegions};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ImageQuery {
    /// The image the regions belong to, e.g. `vlass/T10t01/image.fits` (1–1024 characters,
    /// no control characters).
    pub image: Option<String>,
}

impl From<RegionsError> for ApiError {
    fn from(e: RegionsError) -> Self {
        match e {
            RegionsError::Invalid { field, message } => ApiError::Status {
                status: StatusCode::BAD_REQUEST,
                field,
                message,
            },
            stale @ RegionsError::Stale { .. } => ApiError::Status {
                status: StatusCode::CONFLICT,
                field: Some("version".into()),
                message: stale.to_string(),
            },
            RegionsError::Service(s) => ApiError::Service(s),
        }
    }
}

/// The regions drawn on an image.
#[utoipa::path(get, path = "/api/regions", params(ImageQuery), tag = "regions",
    responses((status = 200, body = RegionsDoc), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get(
    State(regions): State<Regions>,
    Caller(caller): Caller,
    ApiQuery(q): ApiQuery<ImageQuery>,
) -> Result<Json<RegionsDoc>, ApiError> {
    let image = ImageKey::parse(q.image.as_deref())?;
    Ok(Json(regions.load(&caller, &image).await?))
}

/// Replace the regions of an image, if nobody saved since `version`.
#[utoipa::path(put, path = "/api/regions", params(ImageQuery), request_body = SaveRegions, tag = "regions",
    responses((status = 200, body = RegionsDoc), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn put(
    State(regions): State<Regions>,
    Caller(caller): Caller,
    ApiQuery(q): ApiQuery<ImageQuery>,
    body: Result<ApiJson<SaveRegions>, ApiError>,
) -> Result<Json<RegionsDoc>, ApiError> {
    let image = ImageKey::parse(q.image.as_deref())?;
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
    Ok(Json(regions.save(&caller, &image, body).await?))
}
