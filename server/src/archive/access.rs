//! Archive access decisions go through `ch_api::authorize`, the one policy: files of a public
//! source are readable by every signed-in user (and anonymous visitors under
//! `auth.public_read`), a restricted source only by members of its projects, and a job's
//! result files like the job itself (its project).

use std::fmt;
use std::net::IpAddr;

use ch_api::{Action, Denied, Principal, ProjectRef, Resource, SitePolicy, authorize};

/// Who is asking, and from where (for the audit record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    pub client: IpAddr,
    pub site: SitePolicy,
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.principal.actor(), self.client)
    }
}

/// A refused read, with what was refused (hidden things answer 404).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{caller} may not read {what}")]
pub struct AccessDenied {
    pub caller: String,
    pub what: String,
    pub denied: Denied,
}

impl Caller {
    /// A file of archive source `source` (restricted to `projects` when set).
    pub fn source(&self, source: &str, projects: Option<&[String]>) -> Result<(), AccessDenied> {
        let r = Resource::ArchiveSource { name: source, projects };
        self.check(Action::Read, r, format!("archive source '{source}'"))
    }

    /// A file of a job in `project`.
    pub fn job_result(&self, project: &str, public: bool, what: String) -> Result<(), AccessDenied> {
        let r = Resource::Project(ProjectRef { name: project, public });
        self.check(Action::Read, r, what)
    }

    fn check(&self, action: Action, resource: Resource<'_>, what: String) -> Result<(), AccessDenied> {
        authorize(self.site, &self.principal, action, resource).map_err(|denied| AccessDenied {
            caller: self.to_string(),
            what,
            denied,
        })
    }
}
