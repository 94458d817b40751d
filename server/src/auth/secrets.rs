//! Random secrets and their stored form: 32 random bytes from the OS, hex-encoded; only their
//! SHA-256 is stored, and comparisons of hashes are constant-time.
//!
//! API tokens read `cht_<token id, 32 hex>_<secret, 64 hex>` so a token names its row
//! without a search; login links carry `<link id>.<secret>`.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// Prefix of API tokens (lets secret scanners recognise them).
pub const TOKEN_PREFIX: &str = "cht_";
/// Longest credential string looked at; longer ones are refused as malformed.
pub const MAX_CREDENTIAL_LEN: usize = 4096;

/// 32 random bytes, hex-encoded (256 bits).
pub fn random_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The stored form of a secret.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Constant-time equality of two digests.
pub fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Formats an API token from its id and secret.
pub fn format_token(token_id: Uuid, secret: &str) -> String {
    format!("{TOKEN_PREFIX}{}_{secret}", token_id.simple())
}

/// Splits an API token into its id and secret; `None` when it is not one.
pub fn parse_token(raw: &str) -> Option<(Uuid, &str)> {
    if raw.len() > MAX_CREDENTIAL_LEN {
        return None;
    }
    let rest = raw.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let ok = secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then_some(())?;
    Some((Uuid::try_parse(id).ok()?, secret))
}

/// Splits `<uuid>.<secret>` (refresh tokens and login links).
pub fn parse_pair(raw: &str) -> Option<(Uuid, &str)> {
    if raw.len() > MAX_CREDENTIAL_LEN {
        return None;
    }
    let (id, secret) = raw.split_once('.')?;
    let ok = secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then_some(())?;
    Some((Uuid::try_parse(id).ok()?, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        let secret = random_secret();
        let t = format_token(id, &secret);
        assert_eq!(parse_token(&t), Some((id, secret.as_str())));
        for bad in [
            "",
            "cht_",
            "cht_x_y",
            "Bearer x",
            &format!("cht_{}_short", id.simple()),
            &"a".repeat(5000),
        ] {
            assert_eq!(parse_token(bad), None, "{bad}");
        }
        assert!(same(&digest("a"), &digest("a")));
        assert!(!same(&digest("a"), &digest("b")));
        let pair = format!("{id}.{secret}");
        assert_eq!(parse_pair(&pair), Some((id, secret.as_str())));
        assert_eq!(parse_pair("x.y"), None);
    }
}
