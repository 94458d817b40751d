//! Archive access decisions go through `ch_api::authorize`, the one policy: files of a public
//! source are readable by every signed-in user (and anonymous visitors under
//! `auth.public_read`), a restricted source only by members of its projects, and a job's
//! result files like the job itself (its project).

use ch_api::{Action, ArchiveCaller, Denied, ProjectRef, Resource, SitePolicy, authorize};

/// Who is asking, and from where (for the audit record), under the site's policy.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub who: &'a ArchiveCaller,
    pub site: SitePolicy,
}

/// A refused read, with what was refused (hidden things answer 404).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{caller} may not read {what}")]
pub struct AccessDenied {
    pub caller: String,
    pub what: String,
    pub denied: Denied,
}

impl Caller<'_> {
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
        authorize(self.site, &self.who.principal, action, resource).map_err(|denied| AccessDenied {
            caller: self.who.to_string(),
            what,
            denied,
        })
    }
}
