//! Rate limits: writes per user or API token, sign-ins per client address (governor's
//! keyed GCRA limiters); a refusal says when to retry.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::http::Method;
use axum::response::IntoResponse;
use ch_api::{Credential, Principal, ServiceError};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::Refused;
use super::cross_site::is_write;
use crate::http::error::ApiError;
use crate::settings::AuthSettings;

/// The limiters; cheap to clone.
#[derive(Clone)]
pub(super) struct Limits {
    writes: Arc<DefaultKeyedRateLimiter<String>>,
    logins: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    /// Made once: building a quanta clock calibrates it (CPUID), which cost a quarter of the
    /// CPU of every request when done per request.
    clock: DefaultClock,
}

/// What a request is, for the limits.
pub(super) struct Request<'a> {
    pub method: &'a Method,
    /// The matched route pattern, if any.
    pub pattern: Option<&'a str>,
    /// Whether the route counts writes (not public, not a reading server function).
    pub counted: bool,
    pub principal: &'a Principal,
    pub client: IpAddr,
}

impl Limits {
    /// `auth.writes_per_minute` (burst `write_burst`) per user or token;
    /// `auth.logins_per_minute` (burst a third of it) per address.
    pub(super) fn new(s: &AuthSettings) -> Limits {
        Limits {
            writes: Arc::new(RateLimiter::keyed(quota(s.writes_per_minute, s.write_burst))),
            logins: Arc::new(RateLimiter::keyed(quota(
                s.logins_per_minute,
                s.logins_per_minute.div_ceil(3),
            ))),
            clock: DefaultClock::default(),
        }
    }

    /// Refuses the request (429, with `Retry-After`) when it goes over a limit.
    pub(super) fn check(&self, r: &Request<'_>) -> Result<(), Refused> {
        if !is_write(r.method) {
            return Ok(());
        }
        if r.pattern == Some("/api/auth/login")
            && let Err(not_until) = self.logins.check_key(&r.client)
        {
            let wait = not_until.wait_time_from(self.clock.now()).as_secs().max(1);
            return Err(limited(
                format!("too many sign-in attempts from this address; retry in {wait} s"),
                wait,
            ));
        }
        if !r.counted {
            return Ok(());
        }
        let key = match r.principal {
            Principal::User {
                credential: Credential::Token { token_id, .. },
                ..
            } => format!("token:{token_id}"),
            Principal::User { user, .. } => format!("user:{}", user.user_id),
            Principal::Anonymous => return Ok(()),
        };
        if let Err(not_until) = self.writes.check_key(&key) {
            let wait = not_until.wait_time_from(self.clock.now()).as_secs().max(1);
            return Err(limited(format!("too many writes; retry in {wait} s"), wait));
        }
        Ok(())
    }
}

fn limited(message: String, retry_after_secs: u64) -> Refused {
    Box::new(
        ApiError::from(ServiceError::RateLimited {
            message,
            retry_after_secs,
        })
        .into_response(),
    )
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    let per = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per).allow_burst(burst)
}
