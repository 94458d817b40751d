//! `/api/regions?image=<key>`: the regions the FITS viewer drew on one image, read and saved
//! as a whole set with an optimistic version (a save from a stale copy is a 409). Thin: the
//! regions service decides and stores.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::Caller;
use super::error::{ApiError, ErrorResponse};
use super::extract::{ApiJson, ApiQuery};
use ch_api::{Ds9Import, Ds9System, ImageKey, RegionsDoc, SaveRegions, SharedRegionService};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageQuery {
    /// The image the regions belong to, e.g. `vlass/T10t01/image.fits` (1–1024 characters,
    /// no control characters).
    #[param(
        required = true,
        min_length = 1,
        max_length = 1024,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]+$"
    )]
    pub image: Option<String>,
}

/// The regions drawn on an image.
#[utoipa::path(get, path = "/api/regions", operation_id = "get_regions", params(ImageQuery), tag = "regions",
    responses((status = 200, body = RegionsDoc), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 404, body = ErrorResponse)))]
pub async fn get(
    State(regions): State<SharedRegionService>,
    Caller(caller): Caller,
    ApiQuery(q): ApiQuery<ImageQuery>,
) -> Result<Json<RegionsDoc>, ApiError> {
    let image = ImageKey::parse(q.image.as_deref())?;
    Ok(Json(regions.load(&caller, &image).await?))
}

/// Replace the regions of an image, if nobody saved since `version`.
#[utoipa::path(put, path = "/api/regions", operation_id = "save_regions", params(ImageQuery), request_body = SaveRegions, tag = "regions",
    responses((status = 200, body = RegionsDoc), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn put(
    State(regions): State<SharedRegionService>,
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

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Ds9ExportQuery {
    /// The image the regions belong to (as for `/api/regions`).
    #[param(
        required = true,
        min_length = 1,
        max_length = 1024,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]+$"
    )]
    pub image: Option<String>,
    /// `image`, `fk5` (J2000), `fk4` (B1950), `icrs`, `galactic` or `ecliptic` (J2000); by
    /// default the system of the image's own frame, or `image` when it has no WCS. DS9's
    /// aliases `j2000` (= `fk5`) and `b1950` (= `fk4`) are understood; case does not matter.
    #[param(
        pattern = r"^([iI][mM][aA][gG][eE]|[iI][cC][rR][sS]|[fF][kK][45]|[jJ]2000|[bB]1950|[gG][aA][lL][aA][cC][tT][iI][cC]|[eE][cC][lL][iI][pP][tT][iI][cC])$"
    )]
    pub system: Option<String>,
    /// The HDU whose WCS converts positions (default: the image key's `hdu`, else the first
    /// image HDU).
    pub hdu: Option<usize>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Ds9ImportQuery {
    /// The image the regions belong to (as for `/api/regions`).
    #[param(
        required = true,
        min_length = 1,
        max_length = 1024,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]+$"
    )]
    pub image: Option<String>,
    /// The version last seen (0 for an image without saved regions).
    #[param(required = true, minimum = 0, maximum = 9_007_199_254_740_991_i64)]
    pub version: Option<i64>,
    pub hdu: Option<usize>,
}

/// The regions of an image as a DS9 region file (format 4.1), sky positions converted to the
/// chosen system with the image's WCS.
#[utoipa::path(get, path = "/api/regions/ds9", operation_id = "export_ds9_regions", params(Ds9ExportQuery), tag = "regions",
    responses((status = 200, content_type = "text/plain", body = String), (status = 400, body = ErrorResponse),
        (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn export_ds9(
    State(regions): State<SharedRegionService>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Caller(caller): Caller,
    ApiQuery(q): ApiQuery<Ds9ExportQuery>,
) -> Result<Response, ApiError> {
    let image = ImageKey::parse(q.image.as_deref())?;
    let system = q.system.as_deref().map(Ds9System::parse).transpose()?;
    let text = regions.export_ds9(&caller, peer.ip(), &image, system, q.hdu).await?;
    let mut res = text.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"regions.reg\""),
    );
    Ok(res)
}

/// Replace the regions of an image with those of a DS9 region file (the request body, UTF-8
/// text), if nobody saved since `version`. Sky positions in any DS9 frame are converted to the
/// image's; regions with no pixel on the image are listed in `skipped`, not saved.
#[utoipa::path(put, path = "/api/regions/ds9", operation_id = "import_ds9_regions", params(Ds9ImportQuery), request_body(content = String, content_type = "text/plain"),
    tag = "regions",
    responses((status = 200, body = Ds9Import), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn import_ds9(
    State(regions): State<SharedRegionService>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Caller(caller): Caller,
    ApiQuery(q): ApiQuery<Ds9ImportQuery>,
    body: Result<String, axum::extract::rejection::StringRejection>,
) -> Result<Json<Ds9Import>, ApiError> {
    let image = ImageKey::parse(q.image.as_deref())?;
    let text = body.map_err(|e| ApiError::Status {
        status: e.status(),
        field: None,
        message: format!("the body must be a DS9 region file in UTF-8: {e}"),
    })?;
    let version = q
        .version
        .ok_or_else(|| ApiError::bad_request(Some("version"), "missing: send the version last loaded (0 for none)"))?;
    Ok(Json(
        regions
            .import_ds9(&caller, peer.ip(), &image, &text, version, q.hdu)
            .await?,
    ))
}
