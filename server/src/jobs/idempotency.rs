//! Submissions under an `Idempotency-Key` (IETF draft-ietf-httpapi-idempotency-key-header, as
//! Stripe's API): a client that lost the answer to a submission — a timeout, a dropped
//! connection, a server crash after the commit — sends it again with the same key and gets
//! the first answer back (`Idempotent-Replayed: true`) instead of a second set of jobs. Keys
//! are per user and remembered for 24 hours; the record is written in the transaction that
//! creates the jobs, so there is no window in which the jobs exist without it. A key reused
//! with a different request is refused (422), as the draft says.

use ch_api::{Principal, ServiceError, ServiceResult};
use ch_domain::{BatchSubmit, FieldError, Job, SubmitJob};
use sha2::{Digest, Sha256};
use tracing::{info, instrument};

use super::Jobs;
use crate::clock::now;

/// The request header that carries the key.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// Longest key accepted, in characters (a UUID is 36).
pub const MAX_KEY_CHARS: usize = 255;

/// What is submitted: one job (`POST /api/jobs`) or a batch (`POST /api/jobs/batch`).
#[derive(Debug, Clone)]
pub enum Submission {
    One(SubmitJob),
    Batch(BatchSubmit),
}

/// The jobs a submission created, and whether this is the stored first answer to an earlier
/// request with the same key.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub jobs: Vec<Job>,
    pub replayed: bool,
}

/// `Idempotency-Key` as sent: 1–255 visible ASCII characters (the OpenAPI pattern
/// `^[!-~]{1,255}$`); the draft's structured-field quotes, if a client sends them, are part of
/// the key.
fn parse_key(raw: &str) -> Result<String, ServiceError> {
    let key = raw.trim();
    if key.is_empty() || key.len() > MAX_KEY_CHARS || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ServiceError::Invalid(FieldError::new(
            "Idempotency-Key",
            format!("must be 1–{MAX_KEY_CHARS} visible ASCII characters (a UUID, say)"),
        )));
    }
    Ok(key.to_owned())
}

/// SHA-256 (hex) of the route and the request body as the server read it.
fn request_hash(submission: &Submission) -> String {
    let mut h = Sha256::new();
    match submission {
        Submission::One(req) => {
            h.update(b"POST /api/jobs\n");
            h.update(serde_json::to_vec(req).unwrap_or_default());
        }
        Submission::Batch(batch) => {
            h.update(b"POST /api/jobs/batch\n");
            h.update(serde_json::to_vec(batch).unwrap_or_default());
        }
    }
    hex::encode(h.finalize())
}

impl Jobs {
    /// Submits `submission`; with an idempotency `key`, a retry of the same request returns
    /// the first answer (see the module docs).
    ///
    /// # Errors
    /// As [`Jobs::submit_correlated`] and [`Jobs::submit_batch`]; `Invalid` naming
    /// `Idempotency-Key` when the key is malformed or was used for another request.
    #[instrument(skip_all, fields(%caller, keyed = key.is_some()), err(level = "debug"))]
    pub async fn submit_idempotent(
        &self,
        caller: &Principal,
        submission: Submission,
        correlation_id: String,
        key: Option<&str>,
    ) -> ServiceResult<Submitted> {
        let Some(key) = key else {
            let jobs = match submission {
                Submission::One(req) => vec![self.submit_correlated(caller, req, correlation_id).await?],
                Submission::Batch(batch) => self.submit_batch(caller, batch, correlation_id).await?,
            };
            return Ok(Submitted { jobs, replayed: false });
        };
        let key = parse_key(key)?;
        let Some(owner) = caller.user().map(|u| u.username.clone()) else {
            return Err(ServiceError::Unauthenticated("sign in to submit jobs".into()));
        };
        let hash = request_hash(&submission);
        if let Some(first) = self.replay(&owner, &key, &hash).await? {
            return Ok(first);
        }
        let jobs = match submission {
            Submission::One(req) => vec![self.prepare(caller, req, correlation_id).await?],
            Submission::Batch(batch) => self.prepare_batch(caller, batch, correlation_id).await?,
        };
        let created = self
            .lifecycle
            .create_queued_keyed(jobs, caller.actor(), Some((owner.clone(), key.clone(), hash.clone())))
            .await;
        match created {
            Ok(jobs) => {
                self.executors.wake_for(&jobs);
                Ok(Submitted { jobs, replayed: false })
            }
            // A concurrent request with the same key committed first: its answer is ours.
            Err(ServiceError::Conflict(msg)) => self
                .replay(&owner, &key, &hash)
                .await?
                .ok_or(ServiceError::Conflict(msg)),
            Err(e) => Err(e),
        }
    }

    /// The stored first answer to `owner`'s `key`, if any; refused when it answered a
    /// different request.
    async fn replay(&self, owner: &str, key: &str, hash: &str) -> ServiceResult<Option<Submitted>> {
        let Some(record) = self.lifecycle.store().submission(owner, key, now()).await? else {
            return Ok(None);
        };
        if record.request_hash != hash {
            return Err(ServiceError::Invalid(FieldError::new(
                "Idempotency-Key",
                "this key was used for a different request in the last 24 hours; send a new key",
            )));
        }
        let jobs: Vec<Job> = serde_json::from_str(&record.response).map_err(|e| {
            tracing::error!(error = %e, "stored idempotent answer does not parse");
            ServiceError::Internal
        })?;
        info!(owner, key, jobs = jobs.len(), "replayed an idempotent submission");
        Ok(Some(Submitted { jobs, replayed: true }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_and_bounded() {
        assert_eq!(parse_key("0190a1b2-c3d4").ok().as_deref(), Some("0190a1b2-c3d4"));
        assert_eq!(parse_key("\"abc\"").ok().as_deref(), Some("\"abc\""));
        for bad in ["", "  ", "a b", "é", &"k".repeat(256)] {
            let e = parse_key(bad).expect_err(bad);
            assert!(
                matches!(e, ServiceError::Invalid(ref f) if f.field == "Idempotency-Key"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_hash_tells_requests_and_routes_apart() {
        let one = |name: &str| {
            Submission::One(SubmitJob {
                name: name.into(),
                command: "true".into(),
                ..SubmitJob::default()
            })
        };
        assert_eq!(request_hash(&one("a")), request_hash(&one("a")));
        assert_ne!(request_hash(&one("a")), request_hash(&one("b")));
        let batch = Submission::Batch(BatchSubmit::default());
        assert_ne!(request_hash(&batch), request_hash(&one("a")));
        assert_eq!(request_hash(&batch).len(), 64);
    }
}
