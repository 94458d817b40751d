//! Connection limits: per credential (a user's sessions, or one API token), per user (all
//! their sessions and tokens together: many tokens do not multiply the limit), per client
//! address, and in total. A permit is held for a connection's lifetime.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use ch_api::{Credential, Principal};

/// The counters; cheap to clone.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    per_credential: usize,
    per_user: usize,
    per_address: usize,
    total: usize,
    counts: Mutex<HashMap<String, usize>>,
}

const TOTAL: &str = "*";

/// Held while a connection is open; dropping it frees its places.
#[derive(Debug)]
pub struct Permit {
    limits: ConnectionLimits,
    keys: Vec<String>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.limits.inner.counts.lock().unwrap_or_else(PoisonError::into_inner);
        for k in &self.keys {
            if let Some(n) = counts.get_mut(k) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    counts.remove(k);
                }
            }
        }
    }
}

impl ConnectionLimits {
    pub fn new(per_credential: usize, per_user: usize, per_address: usize, total: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                per_credential,
                per_user,
                per_address,
                total,
                counts: Mutex::default(),
            }),
        }
    }

    /// Takes a place for a connection of `caller` from `addr`, or says which limit is full.
    pub fn acquire(&self, caller: &Principal, addr: IpAddr) -> Result<Permit, String> {
        let credential = match caller {
            Principal::User {
                credential: Credential::Token { token_id, .. },
                ..
            } => Some((format!("token:{token_id}"), "this API token")),
            Principal::User { user, .. } => Some((format!("sessions:{}", user.user_id), "this user's sessions")),
            Principal::Anonymous => None,
        };
        let mut wanted = vec![
            (TOTAL.to_owned(), self.inner.total, "the server".to_owned()),
            (
                format!("addr:{addr}"),
                self.inner.per_address,
                format!("address {addr}"),
            ),
        ];
        if let Some((key, what)) = credential {
            wanted.push((key, self.inner.per_credential, what.to_owned()));
        }
        if let Some(user) = caller.user() {
            wanted.push((
                format!("user:{}", user.user_id),
                self.inner.per_user,
                format!("user {}", user.username),
            ));
        }
        let mut counts = self.inner.counts.lock().unwrap_or_else(PoisonError::into_inner);
        for (key, max, what) in &wanted {
            if counts.get(key).copied().unwrap_or(0) >= *max {
                return Err(format!("{what} already holds {max} real-time connections (the limit)"));
            }
        }
        for (key, _, _) in &wanted {
            *counts.entry(key.clone()).or_default() += 1;
        }
        Ok(Permit {
            limits: self.clone(),
            keys: wanted.into_iter().map(|(k, _, _)| k).collect(),
        })
    }

    /// Open connections.
    pub fn open(&self) -> usize {
        let counts = self.inner.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.get(TOTAL).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use ch_api::{GlobalRole, UserIdentity};
    use uuid::Uuid;

    use super::*;

    fn identity() -> UserIdentity {
        UserIdentity {
            user_id: Uuid::now_v7(),
            username: "ada".into(),
            role: GlobalRole::Scientist,
            memberships: vec![],
        }
    }

    fn user() -> Principal {
        Principal::User {
            user: identity(),
            credential: Credential::Session {
                session_id: Uuid::now_v7(),
            },
        }
    }

    fn token_of(user: &UserIdentity) -> Principal {
        Principal::User {
            user: user.clone(),
            credential: Credential::Token {
                token_id: Uuid::now_v7(),
                scopes: vec![ch_api::Scope::Read],
                project: None,
            },
        }
    }

    #[test]
    fn many_tokens_do_not_multiply_a_users_limit() {
        let limits = ConnectionLimits::new(2, 3, 100, 100);
        let ada = identity();
        let (t1, t2) = (token_of(&ada), token_of(&ada));
        let here: IpAddr = [10, 0, 0, 1].into();
        let _a = limits.acquire(&t1, here).expect("first");
        let _b = limits.acquire(&t1, here).expect("second");
        assert!(
            limits
                .acquire(&t1, here)
                .expect_err("token full")
                .contains("this API token")
        );
        let _c = limits.acquire(&t2, here).expect("third, another token");
        assert!(limits.acquire(&t2, here).expect_err("user full").contains("user ada"));
        assert!(limits.acquire(&user(), here).is_ok(), "another user is not affected");
    }

    #[test]
    fn each_limit_holds_and_dropping_frees_a_place() {
        let limits = ConnectionLimits::new(2, 10, 3, 5);
        let (a, b) = (user(), user());
        let here: IpAddr = [10, 0, 0, 1].into();
        let there: IpAddr = [10, 0, 0, 2].into();
        let p1 = limits.acquire(&a, here).expect("test value");
        let _p2 = limits.acquire(&a, there).expect("test value");
        assert!(
            limits
                .acquire(&a, here)
                .expect_err("refused")
                .contains("this user's sessions")
        );
        let _p3 = limits.acquire(&b, here).expect("test value");
        let _p4 = limits.acquire(&Principal::Anonymous, here).expect("test value");
        assert!(
            limits
                .acquire(&Principal::Anonymous, here)
                .expect_err("refused")
                .contains("address 10.0.0.1")
        );
        let _p5 = limits.acquire(&Principal::Anonymous, there).expect("test value");
        assert!(
            limits
                .acquire(&Principal::Anonymous, there)
                .expect_err("refused")
                .contains("the server")
        );
        drop(p1);
        assert_eq!(limits.open(), 4);
        assert!(limits.acquire(&Principal::Anonymous, here).is_ok());
    }
}
