//! The authorization matrix: subject × resource × action → expected decision, negative cases
//! included. Each row is one decision the HTTP matrix test also checks end to end.

use uuid::Uuid;

use super::*;
use crate::principal::{Credential, Membership, UserIdentity};

const ALPHA: ProjectRef<'static> = ProjectRef {
    name: "alpha",
    public: false,
};
const OPEN: ProjectRef<'static> = ProjectRef {
    name: "open",
    public: true,
};

fn user(name: &str, role: GlobalRole, memberships: &[(&str, ProjectRole)]) -> UserIdentity {
    UserIdentity {
        user_id: Uuid::nil(),
        username: name.into(),
        role,
        memberships: memberships
            .iter()
            .map(|(p, r)| Membership {
                project: (*p).into(),
                role: *r,
            })
            .collect(),
    }
}

fn session(u: UserIdentity) -> Principal {
    Principal::User {
        user: u,
        credential: Credential::Session {
            session_id: Uuid::nil(),
        },
    }
}

fn token(u: UserIdentity, scopes: &[Scope], project: Option<&str>) -> Principal {
    Principal::User {
        user: u,
        credential: Credential::Token {
            token_id: Uuid::nil(),
            scopes: scopes.to_vec(),
            project: project.map(str::to_owned),
        },
    }
}

fn subjects() -> Vec<(&'static str, Principal)> {
    use GlobalRole::*;
    use ProjectRole as R;
    vec![
        ("admin", session(user("root", Admin, &[]))),
        ("owner", session(user("olga", Scientist, &[("alpha", R::Owner)]))),
        ("member", session(user("mia", Scientist, &[("alpha", R::Member)]))),
        (
            "project-viewer",
            session(user("vic", Scientist, &[("alpha", R::Viewer)])),
        ),
        ("site-viewer", session(user("val", Viewer, &[("alpha", R::Member)]))),
        ("outsider", session(user("otto", Scientist, &[("beta", R::Owner)]))),
        ("anonymous", Principal::Anonymous),
        (
            "read-token",
            token(user("mia", Scientist, &[("alpha", R::Member)]), &[Scope::Read], None),
        ),
        (
            "submit-token",
            token(user("mia", Scientist, &[("alpha", R::Member)]), &[Scope::Submit], None),
        ),
        (
            "beta-token",
            token(
                user("mia", Scientist, &[("alpha", R::Member), ("beta", R::Member)]),
                &[Scope::Submit],
                Some("beta"),
            ),
        ),
        (
            "admin-read-token",
            token(user("root", Admin, &[]), &[Scope::Read], None),
        ),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Ok,
    E401,
    E403,
    E404,
}

fn want(d: &Result<(), Denied>) -> Want {
    match d {
        Ok(()) => Want::Ok,
        Err(Denied::Unauthenticated) => Want::E401,
        Err(Denied::Forbidden(_)) => Want::E403,
        Err(Denied::Hidden) => Want::E404,
    }
}

/// Rows: subject, then the decision for
/// [alpha read, alpha write, alpha run, alpha manage, open read, open write, site read, site admin].
#[test]
fn matrix() {
    use Want::*;
    let expected: &[(&str, [Want; 8])] = &[
        ("admin", [Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok]),
        ("owner", [Ok, Ok, Ok, Ok, Ok, E403, Ok, E403]),
        ("member", [Ok, Ok, Ok, E403, Ok, E403, Ok, E403]),
        ("project-viewer", [Ok, E403, E403, E403, Ok, E403, Ok, E403]),
        ("site-viewer", [Ok, E403, E403, E403, Ok, E403, Ok, E403]),
        ("outsider", [E404, E404, E404, E404, Ok, E403, Ok, E403]),
        ("anonymous", [E401, E401, E401, E401, E401, E401, E401, E401]),
        ("read-token", [Ok, E403, E403, E403, Ok, E403, Ok, E403]),
        ("submit-token", [Ok, Ok, Ok, E403, Ok, E403, Ok, E403]),
        ("beta-token", [E404, E403, E403, E403, E403, E403, Ok, E403]),
        ("admin-read-token", [Ok, E403, E403, E403, Ok, E403, Ok, E403]),
    ];
    let cells: [(Action, Resource<'_>); 8] = [
        (Action::Read, Resource::Project(ALPHA)),
        (Action::Write, Resource::Project(ALPHA)),
        (Action::RunCommand, Resource::Project(ALPHA)),
        (Action::ManageProject, Resource::Project(ALPHA)),
        (Action::Read, Resource::Project(OPEN)),
        (Action::Write, Resource::Project(OPEN)),
        (Action::Read, Resource::Site),
        (Action::Administer, Resource::Site),
    ];
    let site = SitePolicy::default();
    let subjects = subjects();
    assert_eq!(subjects.len(), expected.len());
    for ((name, principal), (row_name, row)) in subjects.iter().zip(expected) {
        assert_eq!(name, row_name);
        for ((action, resource), w) in cells.iter().zip(row) {
            let got = authorize(site, principal, *action, *resource);
            assert_eq!(want(&got), *w, "{name} {action:?} {resource:?}: {got:?}");
        }
    }
}

#[test]
fn public_read_lets_anonymous_read_public_things_only() {
    let site = SitePolicy { public_read: true };
    let a = Principal::Anonymous;
    assert_eq!(authorize(site, &a, Action::Read, Resource::Project(OPEN)), Ok(()));
    assert_eq!(authorize(site, &a, Action::Read, Resource::Site), Ok(()));
    assert_eq!(
        authorize(site, &a, Action::Read, Resource::Project(ALPHA)),
        Err(Denied::Unauthenticated)
    );
    assert_eq!(
        authorize(site, &a, Action::Write, Resource::Project(OPEN)),
        Err(Denied::Unauthenticated)
    );
    let restricted = ["alpha".to_owned()];
    let src = |projects| Resource::ArchiveSource {
        name: "vlass",
        projects,
    };
    assert_eq!(authorize(site, &a, Action::Read, src(None)), Ok(()));
    assert_eq!(
        authorize(site, &a, Action::Read, src(Some(&restricted))),
        Err(Denied::Unauthenticated)
    );
}

#[test]
fn restricted_archive_sources_are_hidden_from_outsiders() {
    let site = SitePolicy::default();
    let restricted = ["alpha".to_owned()];
    let src = Resource::ArchiveSource {
        name: "private",
        projects: Some(&restricted),
    };
    let by_name: std::collections::HashMap<_, _> = subjects().into_iter().collect();
    assert_eq!(authorize(site, &by_name["member"], Action::Read, src), Ok(()));
    assert_eq!(authorize(site, &by_name["project-viewer"], Action::Read, src), Ok(()));
    assert_eq!(
        authorize(site, &by_name["outsider"], Action::Read, src),
        Err(Denied::Hidden)
    );
    assert_eq!(
        authorize(site, &by_name["beta-token"], Action::Read, src),
        Err(Denied::Hidden)
    );
    assert_eq!(authorize(site, &by_name["admin"], Action::Read, src), Ok(()));
    // Annotating (regions) needs the scientist role; nothing else is writable.
    assert_eq!(authorize(site, &by_name["member"], Action::Write, src), Ok(()));
    assert!(matches!(
        authorize(site, &by_name["site-viewer"], Action::Write, src),
        Err(Denied::Forbidden(_))
    ));
    assert!(matches!(
        authorize(site, &by_name["member"], Action::RunCommand, src),
        Err(Denied::Forbidden(_))
    ));
}

#[test]
fn accounts_are_managed_by_their_user_or_an_admin() {
    let site = SitePolicy::default();
    let by_name: std::collections::HashMap<_, _> = subjects().into_iter().collect();
    let mia = Resource::Account { username: "mia" };
    assert_eq!(authorize(site, &by_name["member"], Action::Write, mia), Ok(()));
    assert!(authorize(site, &by_name["outsider"], Action::Write, mia).is_err());
    assert_eq!(authorize(site, &by_name["admin"], Action::Write, mia), Ok(()));
    // A token without the admin scope may not mint further tokens.
    assert!(matches!(
        authorize(site, &by_name["submit-token"], Action::Administer, mia),
        Err(Denied::Forbidden(_))
    ));
    assert_eq!(
        authorize(site, &Principal::Anonymous, Action::Read, mia),
        Err(Denied::Unauthenticated)
    );
}
