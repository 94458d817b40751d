//! Metadata views and thumbnails of archive FITS files (`?view=hdus|header|wcs|stats|thumbnail`):
//! parsed from the query, computed on the blocking pool (decoding is CPU work) and kept in
//! memory by the file's ETag, so repeated views of a file cost one decode.

use std::sync::Arc;

use axum::body::Bytes;
use ch_fits::{Fits, FitsError, Hdu, HduKind, Stats};
use ch_render::RenderParams;
use moka::future::Cache;
use serde::Serialize;

/// Memory for computed views (thumbnails dominate: at most 4 MiB each).
pub const DEFAULT_CAPACITY_BYTES: u64 = 64 * 1024 * 1024;
pub const DEFAULT_THUMBNAIL_SIZE: usize = 256;
pub const MAX_THUMBNAIL_SIZE: usize = 1024;
/// Percentiles reported by the stats view (astropy's 99.5% interval).
const STATS_PERCENTILES: [f64; 2] = [0.5, 99.5];

#[derive(Debug, Clone, thiserror::Error)]
pub enum MetaError {
    #[error("invalid value for '{param}': {message}")]
    BadParam { param: String, message: String },
    #[error("HDU {hdu} is {kind}, not an image with pixels")]
    NotImage { hdu: usize, kind: String },
    #[error("the file has no image HDU")]
    NoImage,
    #[error("cannot decode the FITS file: {0}")]
    Fits(#[from] FitsError),
    #[error("cannot read the cached file: {0}")]
    Io(String),
    #[error("cannot encode the thumbnail: {0}")]
    Encode(String),
    #[error("the decoding task failed: {0}")]
    Worker(String),
}

fn bad(param: &str, message: impl Into<String>) -> MetaError {
    MetaError::BadParam {
        param: param.to_owned(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Hdus,
    Header,
    Wcs,
    Stats,
    Thumbnail,
}

impl View {
    pub fn parse(raw: &str) -> Result<View, MetaError> {
        match raw {
            "hdus" => Ok(View::Hdus),
            "header" => Ok(View::Header),
            "wcs" => Ok(View::Wcs),
            "stats" => Ok(View::Stats),
            "thumbnail" => Ok(View::Thumbnail),
            other => Err(bad(
                "view",
                format!("unknown view '{other}' (hdus, header, wcs, stats or thumbnail)"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            View::Hdus => "hdus",
            View::Header => "header",
            View::Wcs => "wcs",
            View::Stats => "stats",
            View::Thumbnail => "thumbnail",
        }
    }

    /// False for the views answered from headers alone.
    pub fn needs_pixels(self) -> bool {
        matches!(self, View::Stats | View::Thumbnail)
    }

    /// Query keys besides `view` that this view accepts; anything else is a 400, so a typo
    /// does not silently give a default answer.
    fn accepts(self, key: &str) -> bool {
        match self {
            View::Hdus => false,
            View::Header | View::Wcs => key == "hdu",
            View::Stats => matches!(key, "hdu" | "plane" | "region"),
            View::Thumbnail => matches!(key, "hdu" | "plane" | "size") || ch_render::params::QUERY_KEYS.contains(&key),
        }
    }
}

/// A parsed view request.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaRequest {
    pub view: View,
    /// `None`: the first image HDU (or the primary for header/wcs when there is none).
    pub hdu: Option<usize>,
    pub plane: usize,
    /// Longest side of a thumbnail.
    pub size: usize,
    pub render: RenderParams,
    /// `view=stats` over a region as well: pixel shape JSON, or `{"sky": …}` in degrees
    /// (circle, box, ellipse or polygon; see [`ch_fits::SkyShape`]).
    pub region: Option<RegionParam>,
}

/// A region for statistics, in pixel coordinates or on the sky: `{"shape": "box", "x": …}` is a
/// pixel box, `{"sky": {"shape": "box", "ra": …, "dec": …, "width": …, "height": …, "angle": …}}`
/// a sky one (sizes in degrees, angle east of north).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum RegionParam {
    Sky { sky: ch_fits::SkyShape },
    Pixel(ch_fits::Shape),
}

fn index(key: &str, raw: &str) -> Result<usize, MetaError> {
    raw.trim()
        .parse()
        .map_err(|_| bad(key, format!("'{raw}' is not a non-negative integer")))
}

impl MetaRequest {
    /// Parses the query pairs of a request that has a `view`.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<MetaRequest, MetaError> {
        let raw_view = pairs
            .iter()
            .find(|(k, _)| k == "view")
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| bad("view", "missing"))?;
        let view = View::parse(raw_view)?;
        let mut req = MetaRequest {
            view,
            hdu: None,
            plane: 0,
            size: DEFAULT_THUMBNAIL_SIZE,
            render: RenderParams::default(),
            region: None,
        };
        let mut render_pairs = Vec::new();
        for (key, raw) in pairs {
            let key = key.as_str();
            if key == "view" {
                continue;
            }
            if !view.accepts(key) {
                return Err(bad(key, format!("not a parameter of view={}", view.as_str())));
            }
            match key {
                "hdu" => req.hdu = Some(index(key, raw)?),
                "plane" => req.plane = index(key, raw)?,
                "region" => {
                    req.region = Some(serde_json::from_str(raw).map_err(|e| {
                        bad(
                            key,
                            format!(
                                "expected a pixel shape (circle, box, ellipse or polygon) such as \
                                 {{\"shape\":\"circle\",\"x\":10,\"y\":10,\"r\":3}} or a sky one in degrees such as \
                                 {{\"sky\":{{\"shape\":\"circle\",\"ra\":250.4,\"dec\":36.4,\"r\":0.01}}}} or \
                                 {{\"sky\":{{\"shape\":\"box\",\"ra\":250.4,\"dec\":36.4,\"width\":0.02,\
                                 \"height\":0.01,\"angle\":30}}}}: {e}"
                            ),
                        )
                    })?)
                }
                "size" => {
                    req.size = index(key, raw)?;
                    if !(1..=MAX_THUMBNAIL_SIZE).contains(&req.size) {
                        return Err(bad(key, format!("{} is outside 1..={MAX_THUMBNAIL_SIZE}", req.size)));
                    }
                }
                _ => render_pairs.push((key, raw.as_str())),
            }
        }
        if view == View::Thumbnail {
            req.render = RenderParams::from_pairs(render_pairs).map_err(|e| match e {
                ch_render::RenderError::BadParam { param, message } => MetaError::BadParam { param, message },
                other => bad("view", other.to_string()),
            })?;
        }
        Ok(req)
    }

    /// The HTTP ETag of this view of a file whose content ETag is `file_etag`: it changes
    /// when the file or any (normalised) parameter does.
    pub fn etag(&self, file_etag: &str) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("{file_etag}|{}", self.key()));
        format!("\"view-{}\"", hex::encode(&digest[..16]))
    }

    /// Everything the answer depends on besides the file.
    fn key(&self) -> String {
        let render = match self.view {
            View::Thumbnail => serde_json::to_string(&self.render).unwrap_or_default(),
            View::Stats => serde_json::to_string(&self.region).unwrap_or_default(),
            _ => String::new(),
        };
        format!(
            "{}|{:?}|{}|{}|{render}",
            self.view.as_str(),
            self.hdu,
            self.plane,
            self.size
        )
    }
}

/// A computed answer.
#[derive(Debug, Clone)]
pub struct Output {
    pub content_type: &'static str,
    pub body: Bytes,
}

fn json(value: &impl Serialize) -> Result<Output, MetaError> {
    let body = serde_json::to_vec(value).map_err(|e| MetaError::Encode(e.to_string()))?;
    Ok(Output {
        content_type: "application/json",
        body: body.into(),
    })
}

fn has_pixels(hdu: &Hdu) -> bool {
    matches!(hdu.kind(), HduKind::Primary | HduKind::Image | HduKind::CompressedImage)
        && !hdu.shape().is_empty()
        && !hdu.shape().contains(&0)
}

fn kind_name(kind: HduKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{kind:?}"))
}

fn pick_hdu<'f>(fits: &'f Fits<'_>, req: &MetaRequest, need_pixels: bool) -> Result<&'f Hdu, MetaError> {
    let hdu = match req.hdu {
        Some(i) => fits.hdu(i).map_err(|_| {
            bad(
                "hdu",
                format!("HDU {i} does not exist (the file has {})", fits.hdus().len()),
            )
        })?,
        None if need_pixels => fits.first_image().ok_or(MetaError::NoImage)?,
        None => match fits.first_image() {
            Some(h) => h,
            None => fits.hdu(0)?,
        },
    };
    if need_pixels && !has_pixels(hdu) {
        return Err(MetaError::NotImage {
            hdu: hdu.index(),
            kind: kind_name(hdu.kind()),
        });
    }
    if need_pixels {
        let planes: u64 = hdu.shape().iter().rev().skip(2).product();
        if req.plane as u64 >= planes {
            return Err(bad(
                "plane",
                format!("plane {} does not exist (HDU {} has {planes})", req.plane, hdu.index()),
            ));
        }
    }
    Ok(hdu)
}

#[derive(Serialize)]
struct WcsView {
    hdu: usize,
    wcs: Option<ch_wcs::WcsSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// What was tolerated or repaired to read the header and its WCS (never silently).
    warnings: Vec<String>,
}

/// `?view=header`: the cards of one HDU and what the reader tolerated in them.
#[derive(Serialize)]
struct HeaderView<'a> {
    hdu: usize,
    cards: &'a ch_fits::Header,
    /// Header framing and card warnings, then WCS warnings (translated units, deprecated
    /// keywords, ignored auxiliary values).
    warnings: Vec<String>,
}

/// The header's warnings followed by its WCS's, for the header and wcs views.
fn warnings_of(header: &ch_fits::Header, wcs: Option<&ch_wcs::Wcs>) -> Vec<String> {
    let mut out = header.warnings().to_vec();
    out.extend(wcs.iter().flat_map(|w| w.warnings().iter().cloned()));
    out
}

#[derive(Serialize)]
struct Limits {
    min: f64,
    max: f64,
}

#[derive(Serialize)]
struct StatsView {
    hdu: usize,
    plane: usize,
    planes: usize,
    width: usize,
    height: usize,
    #[serde(flatten)]
    stats: Stats,
    /// Keyed by the percentile, e.g. `"0.5"`.
    percentiles: std::collections::BTreeMap<String, f64>,
    zscale: Option<Limits>,
    /// Statistics and flux density inside `region`, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<ch_fits::region::RegionStats>,
}

/// Computes a view of a FITS file's bytes. CPU-bound: call from the blocking pool.
pub fn compute(bytes: Vec<u8>, req: &MetaRequest) -> Result<Output, MetaError> {
    compute_fits(Fits::from_vec(bytes)?, req)
}

/// [`compute`] on a parsed file; the views that need no pixels also work on a header-only
/// one (from `headers::read_headers`).
pub fn compute_fits(fits: Fits<'_>, req: &MetaRequest) -> Result<Output, MetaError> {
    match req.view {
        View::Hdus => json(&fits.infos()),
        View::Header => {
            let hdu = pick_hdu(&fits, req, false)?;
            let wcs = ch_wcs::Wcs::from_cards(hdu.header().cards()).ok();
            json(&HeaderView {
                hdu: hdu.index(),
                cards: hdu.header(),
                warnings: warnings_of(hdu.header(), wcs.as_ref()),
            })
        }
        View::Wcs => {
            let hdu = pick_hdu(&fits, req, false)?;
            let view = match ch_wcs::Wcs::from_cards(hdu.header().cards()) {
                Ok(wcs) => WcsView {
                    hdu: hdu.index(),
                    warnings: warnings_of(hdu.header(), Some(&wcs)),
                    wcs: Some(wcs.summary()),
                    reason: None,
                },
                Err(e) => WcsView {
                    hdu: hdu.index(),
                    wcs: None,
                    reason: Some(e.to_string()),
                    warnings: warnings_of(hdu.header(), None),
                },
            };
            json(&view)
        }
        View::Stats => {
            let picked = pick_hdu(&fits, req, true)?;
            let hdu = picked.index();
            let image = fits.image(hdu, req.plane)?;
            let region = match &req.region {
                None => None,
                Some(RegionParam::Pixel(shape)) => Some(shape.clone()),
                Some(RegionParam::Sky { sky }) => {
                    let wcs = ch_wcs::Wcs::from_cards(picked.header().cards())
                        .map_err(|e| bad("region", format!("a sky region needs a celestial WCS: {e}")))?;
                    Some(sky.to_pixels(|a, d| wcs.world_to_pixel(a, d)).ok_or_else(|| {
                        bad(
                            "region",
                            "the sky region is malformed (sizes must be in (0, 90) degrees, |dec| ≤ 90) \
                                     or outside the projection",
                        )
                    })?)
                }
            }
            .map(|shape| {
                ch_fits::Region::new(shape).measure_with_beam(&image, picked.header(), fits.beam(hdu, req.plane))
            });
            let values = ch_fits::stats::percentiles(&image.data, &STATS_PERCENTILES)?;
            json(&StatsView {
                hdu,
                plane: image.plane,
                planes: image.planes,
                width: image.width,
                height: image.height,
                stats: Stats::compute(&image.data),
                percentiles: STATS_PERCENTILES
                    .iter()
                    .zip(values)
                    .map(|(q, v)| (q.to_string(), v))
                    .collect(),
                zscale: ch_fits::stats::zscale(&image.data).map(|(min, max)| Limits { min, max }),
                region,
            })
        }
        View::Thumbnail => thumbnail(&fits, req),
    }
}

fn thumbnail(fits: &Fits<'_>, req: &MetaRequest) -> Result<Output, MetaError> {
    let hdu = pick_hdu(fits, req, true)?.index();
    let image = fits.image_f32(hdu, req.plane)?;
    let render = |e: ch_render::RenderError| MetaError::Encode(e.to_string());
    // Limits come from the full-resolution plane, as a viewer showing the same plane gets them.
    let limits = req.render.limits.compute(&image.data).unwrap_or((0.0, 1.0));
    let (small, width, height) = ch_render::downsample(&image.data, image.width, image.height, req.size);
    let rgba = ch_render::to_rgba_with_limits(&small, width, height, &req.render, limits).map_err(render)?;
    // FITS rows run bottom-up (y = 0 is the bottom, as DS9 and astropy's origin='lower' show
    // it); PNG rows run top-down.
    let mut flipped = Vec::with_capacity(rgba.len());
    for row in rgba.chunks_exact(width * 4).rev() {
        flipped.extend_from_slice(row);
    }
    let encode = |e: png::EncodingError| MetaError::Encode(e.to_string());
    let (w, h) = (
        u32::try_from(width).map_err(|e| MetaError::Encode(e.to_string()))?,
        u32::try_from(height).map_err(|e| MetaError::Encode(e.to_string()))?,
    );
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(encode)?;
        writer.write_image_data(&flipped).map_err(encode)?;
        writer.finish().map_err(encode)?;
    }
    Ok(Output {
        content_type: "image/png",
        body: out.into(),
    })
}

/// Computed views in memory, keyed by file identity + ETag + request, bounded by bytes.
#[derive(Clone)]
pub struct MetaCache {
    inner: Cache<String, Arc<Output>>,
}

impl MetaCache {
    pub fn new(max_bytes: u64) -> MetaCache {
        let inner = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|k: &String, v: &Arc<Output>| u32::try_from(k.len() + v.body.len()).unwrap_or(u32::MAX))
            .build();
        MetaCache { inner }
    }

    /// The view of the `served` file (identified by `id` and its etag), computed once per
    /// key; concurrent requests for the same key share one computation. The flag is true for a
    /// cache hit.
    #[tracing::instrument(skip(self, served), fields(view = req.view.as_str()), err(level = "debug"))]
    pub async fn get(
        &self,
        id: &str,
        served: &super::Served,
        req: &MetaRequest,
    ) -> Result<(Arc<Output>, bool), Arc<MetaError>> {
        let key = format!("{id}|{}|{}", served.etag, req.key());
        let (path, hold) = (served.path.clone(), served.handle.clone());
        if let Some(hit) = self.inner.get(&key).await {
            return Ok((hit, true));
        }
        let owned = req.clone();
        let out = self
            .inner
            .try_get_with(key, async move {
                let task = tokio::task::spawn_blocking(move || {
                    // `path` may name this open file (`/proc/self/fd/N`): keep it open until the
                    // read is done, even when the request that asked is gone.
                    let _hold = hold;
                    let fits = if owned.view.needs_pixels() {
                        Fits::from_vec(std::fs::read(&path).map_err(|e| MetaError::Io(e.to_string()))?)?
                    } else {
                        super::headers::read_headers(&path).map_err(|e| match e {
                            super::headers::ReadError::Io(e) => MetaError::Io(e.to_string()),
                            super::headers::ReadError::Fits(e) => MetaError::Fits(e),
                        })?
                    };
                    compute_fits(fits, &owned).map(Arc::new)
                });
                task.await.map_err(|e| MetaError::Worker(e.to_string()))?
            })
            .await?;
        Ok((out, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn param(r: Result<MetaRequest, MetaError>) -> String {
        match r {
            Err(MetaError::BadParam { param, .. }) => param,
            other => panic!("expected a bad parameter, got {other:?}"),
        }
    }

    #[test]
    fn parses_and_rejects_parameters() {
        let r =
            MetaRequest::from_pairs(&pairs(&[("view", "thumbnail"), ("size", "64"), ("scale", "log")])).expect("valid");
        assert_eq!(
            (r.view, r.size, r.render.scale),
            (View::Thumbnail, 64, ch_render::Scale::Log)
        );
        assert_eq!(param(MetaRequest::from_pairs(&pairs(&[("view", "pixels")]))), "view");
        assert_eq!(
            param(MetaRequest::from_pairs(&pairs(&[
                ("view", "thumbnail"),
                ("size", "4096")
            ]))),
            "size"
        );
        assert_eq!(
            param(MetaRequest::from_pairs(&pairs(&[("view", "stats"), ("hdu", "-1")]))),
            "hdu"
        );
        assert_eq!(
            param(MetaRequest::from_pairs(&pairs(&[("view", "stats"), ("scale", "log")]))),
            "scale"
        );
        assert_eq!(
            param(MetaRequest::from_pairs(&pairs(&[
                ("view", "thumbnail"),
                ("colormap", "x")
            ]))),
            "colormap"
        );
    }
}
