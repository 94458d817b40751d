//! Access tokens: short-lived HS256 JWTs (RFC 7519) carried in the `ch_access` cookie. They
//! name the user and the session; the session is still checked on every request, so a
//! logout takes effect at once.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: Uuid,
    /// The session id (refresh-token family).
    pub sid: Uuid,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Expires at, unix seconds.
    pub exp: i64,
}

/// Claims of a single-purpose link sent outside the site (an e-mail's unsubscribe link): it
/// names the user and what it may do, carries no session, and is refused for anything else
/// (an access token lacks `purpose`; a link lacks `sid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkClaims {
    /// The user id.
    pub sub: Uuid,
    /// What the link does, e.g. `unsubscribe-email`.
    pub purpose: String,
    /// What it applies to (the e-mail address it was sent to).
    pub subject: String,
    /// Expires at, unix seconds.
    pub exp: i64,
}

/// The signing key.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Keys {
    /// Keys from a shared secret (at least 32 bytes recommended).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    pub fn sign(&self, claims: &AccessClaims) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
    }

    /// Verifies signature, algorithm and expiry (no leeway).
    pub fn verify(&self, token: &str) -> Result<AccessClaims, jsonwebtoken::errors::Error> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        v.set_required_spec_claims(&["exp", "sub"]);
        Ok(jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &v)?.claims)
    }
}

impl Keys {
    pub fn sign_link(&self, claims: &LinkClaims) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
    }

    /// Verifies signature, expiry and that the link is for `purpose`.
    pub fn verify_link(&self, token: &str, purpose: &str) -> Result<LinkClaims, jsonwebtoken::errors::Error> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        v.set_required_spec_claims(&["exp", "sub"]);
        let claims = jsonwebtoken::decode::<LinkClaims>(token, &self.decoding, &v)?.claims;
        if claims.purpose != purpose {
            return Err(jsonwebtoken::errors::ErrorKind::InvalidToken.into());
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_verifies_and_refuses_tampering_and_expiry() {
        let keys = Keys::new(b"0123456789abcdef0123456789abcdef");
        let now = chrono::Utc::now().timestamp();
        let c = AccessClaims {
            sub: Uuid::now_v7(),
            sid: Uuid::now_v7(),
            iat: now,
            exp: now + 60,
        };
        let t = keys.sign(&c).expect("sign");
        assert_eq!(keys.verify(&t).expect("verify"), c);
        assert!(Keys::new(b"another key, also 32 bytes long!").verify(&t).is_err());
        let expired = keys
            .sign(&AccessClaims {
                exp: now - 1,
                ..c.clone()
            })
            .expect("sign");
        assert!(keys.verify(&expired).is_err());
        assert!(keys.verify("garbage").is_err());
    }

    #[test]
    fn links_serve_one_purpose_and_are_not_access_tokens() {
        let keys = Keys::new(b"0123456789abcdef0123456789abcdef");
        let now = chrono::Utc::now().timestamp();
        let link = LinkClaims {
            sub: Uuid::now_v7(),
            purpose: "unsubscribe-email".into(),
            subject: "ada@example.org".into(),
            exp: now + 60,
        };
        let t = keys.sign_link(&link).expect("sign");
        assert_eq!(keys.verify_link(&t, "unsubscribe-email").expect("verify"), link);
        assert!(keys.verify_link(&t, "delete-account").is_err());
        assert!(keys.verify(&t).is_err(), "a link is no access token");
        let access = keys
            .sign(&AccessClaims {
                sub: link.sub,
                sid: Uuid::now_v7(),
                iat: now,
                exp: now + 60,
            })
            .expect("sign");
        assert!(
            keys.verify_link(&access, "unsubscribe-email").is_err(),
            "an access token is no link"
        );
    }
}
