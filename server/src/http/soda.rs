//! `GET /api/soda/{source}/sync`: SODA-style synchronous cutouts (`ID`, `POS`/`CIRCLE`/`POLYGON`,
//! `BAND`, `CHANNEL`) of archive and job-result images.
//!
//! `BAND=lo hi` is SODA 1.0's: vacuum wavelengths in metres, either bound may be `-Inf`/`+Inf`;
//! it selects the channels whose centres lie in the band. Given with `CHANNEL`, the cut has the
//! channels both select (422 when they share none). A malformed `BAND`, or `BAND` on an image
//! without a spectral axis, is a 400 naming `BAND`; a band outside the cube, or a velocity axis
//! without a rest frequency, is a 422.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use ch_api::{ArchiveCaller, ServiceError};

use super::auth::Caller;
use super::error::ApiError;
use crate::archive::cutout::{self, Pos};
use crate::archive::service::{CutoutRequest, SharedArchive};

#[derive(Debug, Default)]
struct SodaQuery {
    id: Option<String>,
    pos: Option<Pos>,
    channel: Option<(usize, usize)>,
    band: Option<(f64, f64)>,
    hdu: Option<usize>,
}

fn parse_query(raw: Option<&str>) -> Result<SodaQuery, ApiError> {
    let pairs: Vec<(String, String)> = raw
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let mut q = SodaQuery::default();
    for (key, value) in pairs {
        let set_pos = |q: &mut SodaQuery, text: String| -> Result<(), ApiError> {
            if q.pos.is_some() {
                return Err(ApiError::bad_request(
                    Some("POS"),
                    "give one region: POS, CIRCLE or POLYGON",
                ));
            }
            q.pos = Some(Pos::parse(&text).map_err(ServiceError::from)?);
            Ok(())
        };
        match key.to_ascii_uppercase().as_str() {
            "ID" => q.id = Some(value),
            "POS" => set_pos(&mut q, value)?,
            "CIRCLE" => set_pos(&mut q, format!("CIRCLE {value}"))?,
            "POLYGON" => set_pos(&mut q, format!("POLYGON {value}"))?,
            "CHANNEL" => q.channel = Some(cutout::parse_channel(&value).map_err(ServiceError::from)?),
            "HDU" => {
                q.hdu = Some(
                    value
                        .parse()
                        .map_err(|_| ApiError::bad_request(Some("hdu"), format!("'{value}' is not an HDU index")))?,
                )
            }
            "BAND" => {
                if q.band.is_some() {
                    return Err(ApiError::bad_request(Some("BAND"), "give one BAND"));
                }
                q.band = Some(cutout::parse_band(&value).map_err(ServiceError::from)?);
            }
            "TIME" | "POL" => {
                return Err(ApiError::Status {
                    status: StatusCode::BAD_REQUEST,
                    field: Some(key.to_ascii_uppercase()),
                    message: format!(
                        "{} is not supported yet; select planes with CHANNEL or BAND",
                        key.to_ascii_uppercase()
                    ),
                });
            }
            _ => return Err(ApiError::bad_request(Some(&key), format!("unknown parameter '{key}'"))),
        }
    }
    Ok(q)
}

pub async fn sync(
    State(archive): State<SharedArchive>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Caller(who): Caller,
    Path(source): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let principal = ArchiveCaller {
        principal: who,
        client: peer.ip(),
    };
    let id = parse_query(raw.as_deref()).and_then(|q| match q.id.clone() {
        Some(id) => Ok((id, q)),
        None => Err(ApiError::bad_request(
            Some("ID"),
            "ID (the file's path in the source) is required",
        )),
    });
    let (path, res) = match id {
        Err(e) => (String::new(), e.into_response()),
        Ok((id, q)) => {
            let res = answer(&archive, &principal, &source, &id, q)
                .await
                .unwrap_or_else(IntoResponse::into_response);
            (id, res)
        }
    };
    super::fits_answer::audit(
        &archive,
        &principal,
        source,
        path,
        "soda".into(),
        super::fits_answer::outcome(&res),
        None,
    )
    .await;
    res
}

async fn answer(
    archive: &SharedArchive,
    principal: &ArchiveCaller,
    source: &str,
    id: &str,
    q: SodaQuery,
) -> Result<Response, ApiError> {
    let served = archive.open(principal, source, id).await?;
    let cut = CutoutRequest {
        hdu: q.hdu,
        pos: q.pos,
        channel: q.channel,
        band: q.band,
    };
    let out = archive.cutout(&served, cut).await?;
    let name = id
        .rsplit('/')
        .next()
        .unwrap_or("image")
        .trim_end_matches(".gz")
        .trim_end_matches(".fits");
    let mut res = Response::new(Body::from(out));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/fits"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}_cutout.fits\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
