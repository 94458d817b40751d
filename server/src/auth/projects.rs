//! Project visibility for authorization decisions, read once per few seconds instead of once
//! per request: a burst of submissions to one project needs one query, not thousands.

use std::sync::Arc;

use ch_api::{Action, Denied, Principal, ProjectRef, Resource, SitePolicy, authorize};
use moka::future::Cache;

use super::IDENTITY_TTL;
use crate::store::{Store, StoreError};

/// Cached `project.public` flags; cheap to clone. Changes made on this instance (through
/// [`super::Auth::forget_identities`]) invalidate at once; changes made by another instance
/// are seen within [`IDENTITY_TTL`], as for identities.
#[derive(Clone)]
pub struct ProjectDirectory {
    store: Store,
    /// Existing projects only: a project created elsewhere is found on its first use.
    public: Cache<String, bool>,
    /// The names of public projects, under the one key `()`.
    public_names: Cache<(), Arc<Vec<String>>>,
}

impl ProjectDirectory {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            public: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(IDENTITY_TTL)
                .build(),
            public_names: Cache::builder().max_capacity(1).time_to_live(IDENTITY_TTL).build(),
        }
    }

    /// `Some(public)` for an existing project, `None` when there is no such project.
    ///
    /// # Errors
    /// The store's, when the project has to be read.
    pub async fn visibility(&self, name: &str) -> Result<Option<bool>, StoreError> {
        if let Some(public) = self.public.get(name).await {
            return Ok(Some(public));
        }
        let Some(row) = self.store.project_by_name(name).await? else {
            return Ok(None);
        };
        self.public.insert(name.to_owned(), row.public).await;
        Ok(Some(row.public))
    }

    /// Decides `action` on project `name` for `caller` by the one policy
    /// ([`ch_api::authorize`]); a project without a row counts as private. Returns whether the
    /// project exists, and the decision.
    ///
    /// # Errors
    /// The store's, when the project has to be read.
    pub async fn decide(
        &self,
        site: SitePolicy,
        caller: &Principal,
        action: Action,
        name: &str,
    ) -> Result<(bool, Result<(), Denied>), StoreError> {
        let visibility = self.visibility(name).await?;
        let public = visibility.unwrap_or(false);
        let decision = authorize(site, caller, action, Resource::Project(ProjectRef { name, public }));
        Ok((visibility.is_some(), decision))
    }

    /// Names of the public projects, sorted.
    ///
    /// # Errors
    /// The store's, when the list has to be read.
    pub async fn public_names(&self) -> Result<Arc<Vec<String>>, StoreError> {
        if let Some(names) = self.public_names.get(&()).await {
            return Ok(names);
        }
        let names = Arc::new(self.store.public_projects().await?);
        self.public_names.insert((), names.clone()).await;
        Ok(names)
    }

    /// Forgets everything cached (after a project was created, changed or removed).
    pub fn forget(&self) {
        self.public.invalidate_all();
        self.public_names.invalidate_all();
    }
}
