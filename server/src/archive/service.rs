//! The archive as the service port `ch_api::ArchiveService`, and the one mapping of its
//! failures (and those of its views and cutouts) to `ServiceError`: every variant decided
//! here, so a new one does not compile until it is.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use ch_api::{Access, ArchiveCaller, ArchiveFile, ArchiveService, InMemory, Rendered, ServiceError, ServiceResult};
use ch_domain::FieldError;

use super::cutout::{self, CutoutError, Pos};
use super::meta::{MetaError, MetaRequest};
use super::{Archive, ArchiveError, Served, access};

/// The archive as handlers and other services hold it.
pub type SharedArchive = Arc<dyn ArchiveService<File = Served, View = MetaRequest, Cutout = CutoutRequest>>;

/// A SODA cutout: the image HDU (default: the first image), the sky region, and the channels
/// as indices and/or as a SODA `BAND` (vacuum wavelengths in metres).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CutoutRequest {
    pub hdu: Option<usize>,
    pub pos: Option<Pos>,
    pub channel: Option<(usize, usize)>,
    pub band: Option<(f64, f64)>,
}

impl From<ArchiveError> for ServiceError {
    fn from(e: ArchiveError) -> Self {
        match e {
            ArchiveError::BadPath(_) => ServiceError::malformed("path", e.to_string()),
            ArchiveError::UnknownSource { name, known } => {
                ServiceError::NotFound(format!("archive source '{name}' (configured: {known})"))
            }
            ArchiveError::NotFound(what) => ServiceError::NotFound(what),
            ArchiveError::Denied(d) => ServiceError::denied(d.denied, d.what),
            ArchiveError::LocalNotFits(_) => ServiceError::Invalid(FieldError::new("path", e.to_string())),
            ArchiveError::UpstreamTimeout(_) => ServiceError::Upstream {
                message: e.to_string(),
                timed_out: true,
            },
            ArchiveError::UpstreamStatus { .. }
            | ArchiveError::UpstreamUnreachable(_)
            | ArchiveError::UpstreamBroken(_)
            | ArchiveError::NotFits(_)
            | ArchiveError::TooLarge { .. } => ServiceError::Upstream {
                message: e.to_string(),
                timed_out: false,
            },
            ArchiveError::Io(_) | ArchiveError::Store(_) => {
                tracing::error!(error = %e, "archive failure");
                ServiceError::Internal
            }
        }
    }
}

impl From<&MetaError> for ServiceError {
    fn from(e: &MetaError) -> Self {
        match e {
            MetaError::BadParam { param, .. } => ServiceError::malformed(param.clone(), e.to_string()),
            MetaError::NotImage { .. } | MetaError::NoImage | MetaError::Fits(_) => {
                ServiceError::Unprocessable(e.to_string())
            }
            MetaError::Io(_) | MetaError::Encode(_) | MetaError::Worker(_) => {
                tracing::error!(error = %e, "FITS view failed");
                ServiceError::Internal
            }
        }
    }
}

impl From<CutoutError> for ServiceError {
    fn from(e: CutoutError) -> Self {
        match e {
            CutoutError::BadParam { param, .. } => ServiceError::malformed(param, e.to_string()),
            CutoutError::Unprocessable(message) => ServiceError::Unprocessable(message),
        }
    }
}

impl ArchiveFile for Served {
    fn path(&self) -> &Path {
        &self.path
    }

    fn etag(&self) -> &str {
        &self.etag
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn cache(&self) -> Option<&'static str> {
        self.lookup.map(|l| l.as_str())
    }
}

#[async_trait]
impl ArchiveService for Archive {
    type File = Served;
    type View = MetaRequest;
    type Cutout = CutoutRequest;

    fn source_projects(&self, name: &str) -> Option<Option<&[String]>> {
        self.settings.sources.get(name).map(|s| s.projects.as_deref())
    }

    async fn open(&self, caller: &ArchiveCaller, source: &str, path: &str) -> ServiceResult<Served> {
        let caller = access::Caller {
            who: caller,
            site: self.site,
        };
        Ok(self.resolve(&caller, source, path).await?)
    }

    async fn in_memory(&self, file: &Served) -> Option<InMemory> {
        let entry = file.entry.as_ref()?;
        if !self.hot.eligible(entry.size) {
            return None;
        }
        self.hot.get(&entry.sha256, &file.path).await.ok()
    }

    fn view_etag(&self, file: &Served, view: &MetaRequest) -> String {
        view.etag(&file.etag)
    }

    async fn view(&self, id: &str, file: &Served, view: &MetaRequest) -> ServiceResult<Rendered> {
        let (out, reused) = self
            .meta
            .get(id, file, view)
            .await
            .map_err(|e| ServiceError::from(e.as_ref()))?;
        Ok(Rendered {
            content_type: out.content_type,
            body: out.body.clone(),
            reused,
        })
    }

    async fn cutout(&self, file: &Served, cut: CutoutRequest) -> ServiceResult<Vec<u8>> {
        let bytes = tokio::fs::read(&file.path).await.map_err(ArchiveError::Io)?;
        let out =
            tokio::task::spawn_blocking(move || cutout::cut(&bytes, cut.hdu, cut.pos.as_ref(), cut.channel, cut.band))
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "cutout task failed");
                    ServiceError::Internal
                })??;
        Ok(out)
    }

    async fn record(&self, caller: &ArchiveCaller, access: Access) {
        self.audit.answered(caller.to_string(), access).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_archive_failure_has_its_status() {
        let io = || ArchiveError::Io(std::io::Error::other("disk"));
        let cases = [
            (ArchiveError::BadPath("..".into()), 400, Some("path")),
            (
                ArchiveError::UnknownSource {
                    name: "x".into(),
                    known: "jobs, up".into(),
                },
                404,
                None,
            ),
            (ArchiveError::NotFound("a.fits".into()), 404, None),
            (ArchiveError::LocalNotFits("a.txt".into()), 422, Some("path")),
            (ArchiveError::UpstreamTimeout("u".into()), 504, None),
            (
                ArchiveError::UpstreamStatus {
                    url: "u".into(),
                    status: 404,
                },
                502,
                None,
            ),
            (ArchiveError::UpstreamUnreachable("u".into()), 502, None),
            (ArchiveError::UpstreamBroken("u".into()), 502, None),
            (ArchiveError::NotFits("u".into()), 502, None),
            (
                ArchiveError::TooLarge {
                    url: "u".into(),
                    max: 1,
                },
                502,
                None,
            ),
            (io(), 500, None),
        ];
        for (e, status, field) in cases {
            let shown = e.to_string();
            let s = ServiceError::from(e);
            assert_eq!((s.status(), s.field()), (status, field), "{shown}");
        }
        let unknown = ServiceError::from(ArchiveError::UnknownSource {
            name: "x".into(),
            known: "jobs, up".into(),
        });
        assert_eq!(
            unknown.to_string(),
            "archive source 'x' (configured: jobs, up) not found"
        );
    }

    #[test]
    fn view_and_cutout_failures_name_their_parameter() {
        let bad = MetaError::BadParam {
            param: "size".into(),
            message: "too large".into(),
        };
        let s = ServiceError::from(&bad);
        assert_eq!((s.status(), s.field()), (400, Some("size")));
        assert_eq!(ServiceError::from(&MetaError::NoImage).status(), 422);
        assert_eq!(ServiceError::from(&MetaError::Worker("panic".into())).status(), 500);
        let s = ServiceError::from(CutoutError::BadParam {
            param: "BAND",
            message: "no spectral axis".into(),
        });
        assert_eq!((s.status(), s.field()), (400, Some("BAND")));
        assert_eq!(
            ServiceError::from(CutoutError::Unprocessable("outside".into())).status(),
            422
        );
    }
}
