//! Every access decision for archive data goes through [`authorize`], so per-project
//! permissions (private data stays private) plug in here once accounts exist.

use std::fmt;
use std::net::IpAddr;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No accounts yet: identified by the client address for rate limits and audit.
    Anonymous { client: IpAddr },
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Anonymous { client } => write!(f, "anonymous@{client}"),
        }
    }
}

/// What is being read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource<'a> {
    /// A file of a configured upstream archive (public data).
    ArchiveFile { source: &'a str, path: &'a str },
    /// A file a job wrote, owned by the job's owner and project.
    JobResult {
        owner: &'a str,
        project: &'a str,
        path: &'a str,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{principal} may not read {what}")]
pub struct AccessDenied {
    pub principal: String,
    pub what: String,
}

/// The one place that decides. Today archive files are public and job results are visible
/// to everyone, as every job belongs to `anonymous` until accounts arrive.
pub fn authorize(principal: &Principal, resource: &Resource<'_>) -> Result<(), AccessDenied> {
    match (principal, resource) {
        (Principal::Anonymous { .. }, Resource::ArchiveFile { .. }) => Ok(()),
        (Principal::Anonymous { .. }, Resource::JobResult { owner, .. }) if *owner == "anonymous" => Ok(()),
        (p, Resource::JobResult { project, path, .. }) => Err(AccessDenied {
            principal: p.to_string(),
            what: format!("job result {path} of project {project}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_reads_public_but_not_owned_job_results() {
        let p = Principal::Anonymous {
            client: IpAddr::from([127, 0, 0, 1]),
        };
        assert!(
            authorize(
                &p,
                &Resource::ArchiveFile {
                    source: "vlass",
                    path: "a.fits"
                }
            )
            .is_ok()
        );
        let own = Resource::JobResult {
            owner: "anonymous",
            project: "default",
            path: "x.fits",
        };
        assert!(authorize(&p, &own).is_ok());
        let private = Resource::JobResult {
            owner: "alice",
            project: "secret",
            path: "x.fits",
        };
        assert!(authorize(&p, &private).is_err());
    }
}
