//! The one authorization policy. Every HTTP route, server function, WebSocket subscription and
//! file access asks [`authorize`] (through the services), so a rule changes in one place.
//!
//! Decisions, in order:
//! 1. Anonymous callers may only read public projects, public archive sources and the site
//!    catalogue, and only where the site enables `auth.public_read`; otherwise 401.
//! 2. An API token needs the scope of the action (`read` < `submit` < `admin`) and, when it is
//!    restricted to a project, may not reach another project (reads: hidden, writes: 403).
//! 3. Site admins may do everything their credential's scope allows.
//! 4. Projects: members read; `member`/`owner` write; running arbitrary commands also needs the
//!    site role `scientist`; `owner` manages members. Signed-in users read public projects.
//!    A private project's things are hidden (404) from non-members, so existence does not leak.

use crate::principal::{GlobalRole, Principal, ProjectRole, Scope};

/// What the caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read jobs, events, logs, result files, regions, metadata.
    Read,
    /// Submit a job from a template, cancel a job, save regions.
    Write,
    /// Submit a job with an arbitrary command line.
    RunCommand,
    /// Add or change members of a project.
    ManageProject,
    /// Manage users and projects of the site.
    Administer,
}

/// A project as the policy needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectRef<'a> {
    pub name: &'a str,
    /// Readable by every signed-in user, and by anonymous visitors when the site enables
    /// public read.
    pub public: bool,
}

/// What is acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// A project and everything in it: jobs, their events, logs and result files, regions.
    Project(ProjectRef<'a>),
    /// A configured FITS archive source; `projects` = `None` for a public source, otherwise
    /// the projects whose members may read it. Its files are read-only; `Write` means
    /// annotating them (viewer regions), which needs the `scientist` role.
    ArchiveSource {
        name: &'a str,
        projects: Option<&'a [String]>,
    },
    /// The site: its catalogue of systems (read), users and projects (administer).
    Site,
    /// A user's own account: password, API tokens, sessions.
    Account { username: &'a str },
}

/// Why a request was refused; maps to 401, 403 and 404.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// No (valid) credentials: 401.
    Unauthenticated,
    /// Signed in but not allowed, with the reason shown to the caller: 403.
    Forbidden(String),
    /// Not allowed, and the caller may not learn that the thing exists: 404.
    Hidden,
}

impl Denied {
    /// The HTTP status of the denial.
    pub fn status(&self) -> u16 {
        match self {
            Denied::Unauthenticated => 401,
            Denied::Forbidden(_) => 403,
            Denied::Hidden => 404,
        }
    }
}

/// Site-wide switches the policy reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SitePolicy {
    /// `auth.public_read`: anonymous visitors may read public projects (never write).
    pub public_read: bool,
}

fn needed_scope(action: Action) -> Scope {
    match action {
        Action::Read => Scope::Read,
        Action::Write | Action::RunCommand => Scope::Submit,
        Action::ManageProject | Action::Administer => Scope::Admin,
    }
}

fn anonymous(site: SitePolicy, action: Action, resource: Resource<'_>) -> Result<(), Denied> {
    let public = match resource {
        Resource::Project(p) => p.public,
        Resource::ArchiveSource { projects, .. } => projects.is_none(),
        Resource::Site => true,
        Resource::Account { .. } => false,
    };
    if site.public_read && public && action == Action::Read {
        Ok(())
    } else {
        Err(Denied::Unauthenticated)
    }
}

/// Decides whether `principal` may do `action` on `resource`. See the module docs for the
/// rules; the matrix test below lists every case.
pub fn authorize(
    site: SitePolicy,
    principal: &Principal,
    action: Action,
    resource: Resource<'_>,
) -> Result<(), Denied> {
    let Some(user) = principal.user() else {
        return anonymous(site, action, resource);
    };
    let scope = needed_scope(action);
    if !principal.has_scope(scope) {
        return Err(Denied::Forbidden(format!("this API token lacks the '{scope}' scope")));
    }
    if let Some(only) = principal.token_project() {
        let outside = match resource {
            Resource::Project(p) => p.name != only,
            Resource::ArchiveSource { projects, .. } => projects.is_some_and(|ps| !ps.iter().any(|p| p == only)),
            Resource::Site | Resource::Account { .. } => false,
        };
        if outside {
            return Err(match (action, resource) {
                (Action::Read, Resource::Project(p)) if !p.public => Denied::Hidden,
                (_, Resource::ArchiveSource { .. }) => Denied::Hidden,
                _ => Denied::Forbidden(format!("this API token is restricted to project '{only}'")),
            });
        }
    }
    if user.role == GlobalRole::Admin {
        return Ok(());
    }
    match resource {
        Resource::Site => match action {
            Action::Read => Ok(()),
            _ => Err(Denied::Forbidden("only site admins may do this".into())),
        },
        Resource::Account { username } => {
            if username == user.username {
                Ok(())
            } else {
                Err(Denied::Forbidden("only site admins may manage other accounts".into()))
            }
        }
        Resource::ArchiveSource { projects, .. } => {
            let readable = projects.is_none_or(|ps| ps.iter().any(|p| user.project_role(p).is_some()));
            match action {
                _ if !readable => Err(Denied::Hidden),
                Action::Read => Ok(()),
                Action::Write if user.role >= GlobalRole::Scientist => Ok(()),
                Action::Write => Err(Denied::Forbidden("your site role is 'viewer', which only reads".into())),
                _ => Err(Denied::Forbidden("archive sources are read-only".into())),
            }
        }
        Resource::Project(project) => {
            let Some(role) = user.project_role(project.name) else {
                return match (action, project.public) {
                    (Action::Read, true) => Ok(()),
                    (_, true) => Err(Denied::Forbidden(format!(
                        "you are not a member of project '{}'",
                        project.name
                    ))),
                    (_, false) => Err(Denied::Hidden),
                };
            };
            project_action(user.role, role, action, project.name)
        }
    }
}

fn project_action(global: GlobalRole, role: ProjectRole, action: Action, name: &str) -> Result<(), Denied> {
    let refuse = |why: String| Err(Denied::Forbidden(why));
    match action {
        Action::Read => Ok(()),
        Action::Write | Action::RunCommand if global == GlobalRole::Viewer => {
            refuse("your site role is 'viewer', which only reads".into())
        }
        Action::Write | Action::RunCommand if role < ProjectRole::Member => {
            refuse(format!("your role in project '{name}' is 'viewer', which only reads"))
        }
        Action::Write => Ok(()),
        Action::RunCommand if global >= GlobalRole::Scientist => Ok(()),
        Action::RunCommand => refuse("running arbitrary commands needs the 'scientist' role".into()),
        Action::ManageProject if role == ProjectRole::Owner => Ok(()),
        Action::ManageProject => refuse(format!("only owners of project '{name}' may manage its members")),
        Action::Administer => refuse("only site admins may do this".into()),
    }
}

#[cfg(test)]
mod tests;
