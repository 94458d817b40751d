//! Pure job domain of Cosmic Horizons.
//!
//! Everything here is deterministic: clocks and id generators are the caller's, so the same
//! code runs on the server, in the browser (wasm32) and in property tests.

pub mod batch;
pub mod cost;
pub mod error;
pub mod event;
pub mod job;
pub mod notification;
pub mod notification_kind;
pub mod notification_rules;
pub mod query;
pub mod scheduler;
pub mod status;
pub mod submit;
pub mod template;

pub use batch::{BatchSubmit, MAX_BATCH, Sweep};
pub use cost::{SystemCatalog, SystemInfo, SystemLimits, SystemRates};
pub use error::{DomainError, FieldError};
pub use event::{EventType, JobEvent, NewEvent, SCHEMA_VERSION};
pub use job::{Job, JobLogs, MetricSample, Outcome, Priority, Resources};
pub use notification::{EmailDigest, Notification, NotificationKind, NotificationRules, QuietHours, Watch};
pub use query::{JobPage, ListQuery, SortField, SortOrder};
pub use scheduler::{Accounting, Allocation, QueueInsight, SchedulerRecord};
pub use status::JobStatus;
pub use submit::{CUSTOM_AGENT, JobSpec, ResourceRequest, SubmitJob};
pub use template::{JobTemplate, ParamKind, TemplateParam};
