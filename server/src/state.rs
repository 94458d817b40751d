use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use tokio_util::sync::CancellationToken;

use crate::archive::service::SharedArchive;
use crate::auth::Auth;
use crate::jobs::Jobs;
use crate::settings::Settings;
use crate::store::Store;

/// Everything a request handler or server function may need.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: Store,
    pub jobs: Jobs,
    pub gateway: crate::gateway::Gateway,
    pub archive: SharedArchive,
    pub auth: Auth,
    pub regions: ch_api::SharedRegionService,
    /// Users' inboxes and notification rules.
    pub notifications: ch_api::SharedNotificationService,
    /// What confinement job processes get (reported on `/readyz`).
    pub confinement: Arc<crate::executor::local::confine::Confinement>,
    pub settings: Arc<Settings>,
    pub shutdown: CancellationToken,
}
