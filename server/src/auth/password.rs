//! Password hashing with argon2id (the `argon2` crate's defaults: m = 19 MiB, t = 2, p = 1,
//! OWASP's recommended minimum), stored as PHC strings.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::LazyLock;

/// Shortest and longest password accepted, in characters.
pub const MIN_CHARS: usize = 10;
pub const MAX_CHARS: usize = 256;

/// Checks length and characters; the message names the problem.
pub fn check(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(format!("password must have at least {MIN_CHARS} characters"));
    }
    if n > MAX_CHARS {
        return Err(format!("password must have at most {MAX_CHARS} characters"));
    }
    if password.chars().any(char::is_control) {
        return Err("password must not contain control characters".into());
    }
    Ok(())
}

/// Hashes `password` with a fresh random salt. CPU-bound (~20 ms optimised): call it from
/// `spawn_blocking`.
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// A hash of a random password, verified against when the user does not exist so that an
/// unknown name takes as long as a wrong password (no user enumeration by timing).
static DUMMY: LazyLock<Option<String>> = LazyLock::new(|| hash("dummy password for timing").ok());

/// Whether `password` matches `stored`; `None` (no such user or no password) still spends
/// the time of one verification. The comparison inside argon2 is constant-time.
pub fn verify(stored: Option<&str>, password: &str) -> bool {
    let (phc, real) = match stored {
        Some(s) => (s.to_owned(), true),
        None => (DUMMY.clone().unwrap_or_default(), false),
    };
    let ok = PasswordHash::new(&phc)
        .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false);
    ok && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash("correct horse battery").expect("hash");
        let b = hash("correct horse battery").expect("hash");
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify(Some(&a), "correct horse battery"));
        assert!(!verify(Some(&a), "correct horse batterY"));
        assert!(!verify(None, "dummy password for timing"));
        assert!(!verify(Some("not a phc string"), "x"));
    }

    #[test]
    fn checks_length_and_control_characters() {
        assert!(check("short").is_err());
        assert!(check(&"x".repeat(257)).is_err());
        assert!(check("ten chars\u{7}!").is_err());
        assert!(check("a fine password ✓").is_ok());
    }
}
