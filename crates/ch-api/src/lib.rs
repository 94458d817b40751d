//! Service ports of Cosmic Horizons, shared by the server (which implements them) and the UI's
//! server functions (which call them).
//!
//! - [`Principal`]: who is calling — a signed-in user (browser session or API token) or an
//!   anonymous visitor.
//! - [`policy::authorize`]: the one authorization decision every HTTP route, server function,
//!   WebSocket subscription and file access asks.
//! - [`ServiceError`] and the service traits ([`JobService`], [`AccountService`],
//!   [`RegionService`], [`ArchiveService`], [`NotificationService`]).
//!
//! Pure code: no I/O, no clocks; it builds for native and wasm32.

pub mod accounts;
pub mod archive;
pub mod error;
pub mod notifications;
pub mod policy;
pub mod principal;
pub mod regions;
pub mod service;

pub use accounts::{
    AccountService, CreatedToken, ProjectInfo, SharedAccountService, TokenInfo, TokenRequest, UserInfo,
};
pub use archive::{Access, ArchiveCaller, ArchiveFile, ArchiveService, InMemory, Rendered};
pub use error::{ServiceError, ServiceResult};
pub use notifications::{
    DeliveryRecord, InboxPage, MarkAction, MarkRequest, Marked, NewWebhook, NotificationService,
    SharedNotificationService, UnreadCount, Webhook,
};
pub use policy::{Action, Denied, ProjectRef, Resource, SitePolicy, authorize};
pub use principal::{Credential, GlobalRole, Membership, Principal, ProjectRole, Scope, UserIdentity};
pub use regions::{Ds9Import, Ds9System, ImageKey, RegionService, RegionsDoc, SaveRegions, SharedRegionService};
pub use service::{JobService, SharedJobService, SubmitTargets, TemplateCatalog};
