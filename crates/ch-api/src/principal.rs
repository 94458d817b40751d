//! The caller of a service: a signed-in user (through a browser session or an API token) or
//! an anonymous visitor.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A user's site-wide role. `Admin` manages users and projects and may act in every project;
/// `Scientist` may run code in the projects where they may write; `Viewer` only reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GlobalRole {
    Viewer,
    Scientist,
    Admin,
}

/// A user's role in one project: `Owner` manages members, `Member` submits and edits,
/// `Viewer` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectRole {
    Viewer,
    Member,
    Owner,
}

/// What an API token may do: `Read` (GET), `Submit` (read + submit/cancel/edit), `Admin`
/// (everything the user may do, including account administration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Read,
    Submit,
    Admin,
}

macro_rules! names {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            /// The lowercase name used in the API, the database and the CLI.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            /// Parses [`Self::as_str`]'s names; `None` for anything else.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)* _ => None }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names!(GlobalRole { Viewer => "viewer", Scientist => "scientist", Admin => "admin" });
names!(ProjectRole { Viewer => "viewer", Member => "member", Owner => "owner" });
names!(Scope { Read => "read", Submit => "submit", Admin => "admin" });

/// One project a user belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub project: String,
    pub role: ProjectRole,
}

/// A signed-in, enabled user as the policy sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserIdentity {
    pub user_id: Uuid,
    pub username: String,
    pub role: GlobalRole,
    pub memberships: Vec<Membership>,
}

impl UserIdentity {
    /// The user's role in `project`, if they are a member.
    pub fn project_role(&self, project: &str) -> Option<ProjectRole> {
        self.memberships.iter().find(|m| m.project == project).map(|m| m.role)
    }
}

/// How the user proved who they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Credential {
    /// A browser session (cookie); `session_id` names the refresh-token family.
    Session { session_id: Uuid },
    /// An API token with its scopes and optional project restriction.
    Token {
        token_id: Uuid,
        scopes: Vec<Scope>,
        project: Option<String>,
    },
}

/// Who is calling a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Principal {
    /// No credentials (or `auth.public_read` visitors).
    Anonymous,
    User {
        user: UserIdentity,
        credential: Credential,
    },
}

impl Principal {
    /// The user, when signed in.
    pub fn user(&self) -> Option<&UserIdentity> {
        match self {
            Principal::User { user, .. } => Some(user),
            Principal::Anonymous => None,
        }
    }

    /// The name recorded as a job's owner and an event's actor (`anonymous` when nobody).
    pub fn actor(&self) -> &str {
        self.user().map_or("anonymous", |u| u.username.as_str())
    }

    pub fn is_admin(&self) -> bool {
        self.user().is_some_and(|u| u.role == GlobalRole::Admin) && self.has_scope(Scope::Admin)
    }

    /// Whether the credential carries `scope` (a session carries every scope; a higher token
    /// scope implies the lower ones).
    pub fn has_scope(&self, scope: Scope) -> bool {
        match self {
            Principal::Anonymous => scope == Scope::Read,
            Principal::User {
                credential: Credential::Session { .. },
                ..
            } => true,
            Principal::User {
                credential: Credential::Token { scopes, .. },
                ..
            } => scopes.iter().any(|s| *s >= scope),
        }
    }

    /// The project an API token is restricted to, if any.
    pub fn token_project(&self) -> Option<&str> {
        match self {
            Principal::User {
                credential: Credential::Token { project, .. },
                ..
            } => project.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Anonymous => f.write_str("anonymous"),
            Principal::User {
                user,
                credential: Credential::Session { .. },
            } => write!(f, "{} (session)", user.username),
            Principal::User {
                user,
                credential: Credential::Token { token_id, .. },
            } => write!(f, "{} (token {token_id})", user.username),
        }
    }
}
