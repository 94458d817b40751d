//! The one mapping of store failures to the services' error ([`ServiceError`], `ch-api`):
//! every variant is decided here — a new one does not compile until it is — so jobs, accounts
//! and the other services answer the same failure the same way.

use ch_api::ServiceError;

use super::StoreError;

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::JobNotFound(id) => ServiceError::NotFound(format!("job {id}")),
            StoreError::NotFound(what) => ServiceError::NotFound(what),
            StoreError::Conflict(id) => {
                ServiceError::Conflict(format!("job {id} is being changed concurrently; retry"))
            }
            StoreError::Duplicate(what) => ServiceError::Conflict(format!("{what} already exists")),
            StoreError::StaleRegions { image, current } => ServiceError::Stale(ch_domain::FieldError::new(
                "version",
                format!("the regions of '{image}' are now at version {current}; reload them and save again"),
            )),
            // The caller cannot act on these: logged, answered as an internal error.
            e
            @ (StoreError::Sqlx(_) | StoreError::Migrate(_) | StoreError::Corrupt(_) | StoreError::UnsupportedUrl) => {
                tracing::error!(error = %e, "store failure");
                ServiceError::Internal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_maps_deliberately() {
        let id = uuid::Uuid::nil();
        assert!(
            matches!(ServiceError::from(StoreError::JobNotFound(id)), ServiceError::NotFound(m) if m.contains("job"))
        );
        assert!(
            matches!(ServiceError::from(StoreError::NotFound("user ann".into())), ServiceError::NotFound(m) if m == "user ann")
        );
        assert!(
            matches!(ServiceError::from(StoreError::Conflict(id)), ServiceError::Conflict(m) if m.contains("retry"))
        );
        assert!(
            matches!(ServiceError::from(StoreError::Duplicate("project x".into())), ServiceError::Conflict(m) if m == "project x already exists")
        );
        assert!(matches!(
            ServiceError::from(StoreError::StaleRegions { image: "m31".into(), current: 4 }),
            ServiceError::Stale(f) if f.field == "version" && f.message.contains("version 4")
        ));
        assert!(matches!(
            ServiceError::from(StoreError::Corrupt("x".into())),
            ServiceError::Internal
        ));
        assert!(matches!(
            ServiceError::from(StoreError::UnsupportedUrl),
            ServiceError::Internal
        ));
    }
}
