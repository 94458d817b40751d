//! Where a caller may submit: the projects the submit form offers, and the one it starts with.

use ch_api::{Action, Principal, ProjectRef, Resource, ServiceError, ServiceResult, SubmitTargets, authorize};
use ch_domain::{ListQuery, SortField, SortOrder};

use super::{DEFAULT_PROJECT, Jobs};

impl Jobs {
    /// The projects `caller` may write to (the policy's `Write`, as a template submission
    /// needs; a token restricted to a project sees that one only), sorted, and the default:
    /// the project of the caller's newest job among them, else their only one, else
    /// [`DEFAULT_PROJECT`] when it is among them.
    pub(super) async fn targets(&self, caller: &Principal) -> ServiceResult<SubmitTargets> {
        let Some(user) = caller.user() else {
            return Err(ServiceError::Unauthenticated("sign in to submit jobs".into()));
        };
        let store = self.lifecycle.store();
        let only = caller.token_project();
        let mut projects: Vec<String> = store
            .list_projects()
            .await?
            .into_iter()
            .filter(|p| only.is_none_or(|only| p.name == only))
            .filter(|p| {
                let project = ProjectRef {
                    name: &p.name,
                    public: p.public,
                };
                authorize(self.site, caller, Action::Write, Resource::Project(project)).is_ok()
            })
            .map(|p| p.name)
            .collect();
        projects.sort();
        if projects.is_empty() {
            return Ok(SubmitTargets {
                projects,
                default: None,
            });
        }
        let newest = ListQuery {
            owner: Some(user.username.clone()),
            sort: Some(SortField::SubmittedAt),
            order: Some(SortOrder::Desc),
            limit: Some(1),
            ..ListQuery::default()
        };
        let last_used = store
            .list_jobs(&newest, Some(&projects))
            .await?
            .jobs
            .into_iter()
            .next()
            .map(|j| j.project);
        let default = last_used
            .or_else(|| (projects.len() == 1).then(|| projects[0].clone()))
            .or_else(|| projects.iter().find(|p| *p == DEFAULT_PROJECT).cloned());
        Ok(SubmitTargets { projects, default })
    }
}

#[cfg(test)]
mod tests {
    use ch_api::{
        Credential, GlobalRole, JobService, Membership, ProjectRole, SitePolicy, TemplateCatalog, UserIdentity,
    };
    use ch_domain::{NewEvent, SubmitJob, SystemCatalog};
    use uuid::Uuid;

    use super::*;
    use crate::auth::ProjectDirectory;
    use crate::bus::CommitSignal;
    use crate::jobs::{Executors, Lifecycle};
    use crate::store::Store;

    async fn jobs() -> (Jobs, Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = Store::connect(&url).await.expect("store");
        let now = chrono::Utc::now();
        for (name, public) in [("default", false), ("vlass", false), ("alma", false), ("open", true)] {
            store.create_project(name, public, now).await.expect("project");
        }
        let jobs = Jobs::new(
            Lifecycle::new(store.clone(), CommitSignal::default()),
            SystemCatalog::default(),
            Executors::new(Vec::new()),
            SitePolicy::default(),
            TemplateCatalog {
                allow_commands: true,
                templates: Default::default(),
            },
            ProjectDirectory::new(store.clone()),
        );
        (jobs, store, dir)
    }

    fn user(name: &str, role: GlobalRole, memberships: &[(&str, ProjectRole)]) -> Principal {
        Principal::User {
            user: UserIdentity {
                user_id: Uuid::now_v7(),
                username: name.into(),
                role,
                memberships: memberships
                    .iter()
                    .map(|(project, role)| Membership {
                        project: (*project).into(),
                        role: *role,
                    })
                    .collect(),
            },
            credential: Credential::Session {
                session_id: Uuid::now_v7(),
            },
        }
    }

    /// Stores a job of `owner` in `project`, submitted `minutes_ago`.
    async fn job(store: &Store, owner: &str, project: &str, minutes_ago: i64) {
        let job = SubmitJob {
            name: format!("{owner}-{project}"),
            command: "true".into(),
            project: Some(project.into()),
            ..SubmitJob::default()
        }
        .validate(&SystemCatalog::default())
        .expect("valid")
        .into_job(
            Uuid::now_v7(),
            owner.into(),
            "c".into(),
            chrono::Utc::now() - chrono::Duration::minutes(minutes_ago),
        );
        let event = NewEvent::submitted(Uuid::now_v7(), &job, owner);
        store.create_jobs(&[(job, vec![event])]).await.expect("job");
    }

    fn targets(projects: &[&str], default: Option<&str>) -> SubmitTargets {
        SubmitTargets {
            projects: projects.iter().map(|p| (*p).to_owned()).collect(),
            default: default.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn a_member_of_one_project_gets_that_one() {
        let (jobs, _store, _dir) = jobs().await;
        // A viewer's project and a public project are readable, not writable.
        let ann = user(
            "ann",
            GlobalRole::Scientist,
            &[("vlass", ProjectRole::Member), ("alma", ProjectRole::Viewer)],
        );
        assert_eq!(
            jobs.submit_targets(&ann).await.expect("targets"),
            targets(&["vlass"], Some("vlass"))
        );
    }

    #[tokio::test]
    async fn the_default_is_the_project_of_the_newest_job() {
        let (jobs, store, _dir) = jobs().await;
        let bo = user(
            "bo",
            GlobalRole::Scientist,
            &[("vlass", ProjectRole::Owner), ("alma", ProjectRole::Member)],
        );
        assert_eq!(
            jobs.submit_targets(&bo).await.expect("targets"),
            targets(&["alma", "vlass"], None),
            "two projects, no job yet: choose"
        );
        job(&store, "bo", "vlass", 10).await;
        job(&store, "bo", "alma", 5).await;
        // Someone else's newer job, and bo's own in a project bo may only read, do not count.
        job(&store, "cy", "vlass", 1).await;
        job(&store, "bo", "open", 0).await;
        assert_eq!(
            jobs.submit_targets(&bo).await.expect("targets"),
            targets(&["alma", "vlass"], Some("alma"))
        );
    }

    #[tokio::test]
    async fn readers_get_nothing_admins_everything_anonymous_signs_in() {
        let (jobs, _store, _dir) = jobs().await;
        let viewer = user("vi", GlobalRole::Viewer, &[("vlass", ProjectRole::Viewer)]);
        assert_eq!(jobs.submit_targets(&viewer).await.expect("targets"), targets(&[], None));
        let admin = user("root", GlobalRole::Admin, &[]);
        assert_eq!(
            jobs.submit_targets(&admin).await.expect("targets"),
            targets(&["alma", "default", "open", "vlass"], Some("default"))
        );
        assert!(matches!(
            jobs.submit_targets(&Principal::Anonymous).await,
            Err(ServiceError::Unauthenticated(_))
        ));
    }
}
