//! Webhooks: notifications POSTed as JSON to the URLs users register, signed per the Standard
//! Webhooks specification (standardwebhooks.com, v1): headers `webhook-id` (the same on every
//! retry, so receivers can drop duplicates), `webhook-timestamp` (unix seconds) and
//! `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, the key being
//! the base64 part of the `whsec_…` secret.
//!
//! Server-side request forgery: a URL must be http(s) and, unless the site allows it, resolve
//! only to public addresses — checked when it is registered and again at every send, and the
//! request goes to the address that was checked (no second lookup a rebinding DNS could
//! answer differently), with redirects refused.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// Longest URL accepted.
pub const MAX_URL_CHARS: usize = 2048;

/// A fresh secret: `whsec_` and the base64 of 24 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 24];
    rand::rng().fill_bytes(&mut key);
    format!("whsec_{}", BASE64.encode(key))
}

/// The `webhook-signature` value of `body` sent as message `id` at `timestamp`.
///
/// # Errors
/// When `secret` is not `whsec_<base64>`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let key = BASE64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|e| format!("the webhook secret is not base64: {e}"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
}

/// Whether `ip` is an address on the public internet (not loopback, private, link-local,
/// shared, documentation, multicast or unspecified; IPv4-mapped IPv6 judged as IPv4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// A URL a webhook may use, with the address to send to.
#[derive(Debug, Clone)]
pub struct Checked {
    pub url: url::Url,
    pub host: String,
    pub addr: SocketAddr,
}

/// Parses and resolves `raw`; the error says what is wrong (for a 422 on `url`).
pub async fn check_url(raw: &str, allow_private: bool) -> Result<Checked, String> {
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(format!("longer than {MAX_URL_CHARS} characters"));
    }
    let url = url::Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("'{}' is not http or https", url.scheme()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials in the URL are not allowed (use the signature)".into());
    }
    let host = url.host_str().ok_or("the URL has no host")?.to_owned();
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    let bare = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let addrs: Vec<SocketAddr> =
        match tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((bare.as_str(), port))).await {
            Ok(Ok(a)) => a.collect(),
            Ok(Err(e)) => return Err(format!("'{host}' does not resolve: {e}")),
            Err(_) => return Err(format!("resolving '{host}' took longer than 5 s")),
        };
    let Some(first) = addrs.first().copied() else {
        return Err(format!("'{host}' has no address"));
    };
    if !allow_private && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(format!(
            "'{host}' is {} — this host or a private network; this site sends webhooks to public addresses only",
            bad.ip()
        ));
    }
    Ok(Checked {
        url,
        host: bare,
        addr: first,
    })
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    pub message: String,
}

/// Most HTTP clients kept for reuse (one per receiver host and checked address).
const CLIENTS_MAX: usize = 1024;

type ClientKey = (String, SocketAddr, Duration);

/// Clients by (host, the address checked for it, timeout): a receiver's connections are kept
/// alive between deliveries, and each client only ever connects to the address it was made
/// for (`resolve` pins it), so a host that resolves elsewhere later gets a new client.
static CLIENTS: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<ClientKey, reqwest::Client>>> =
    std::sync::LazyLock::new(Default::default);

/// The client for `host` pinned to `addr` (no redirects, `timeout` per request).
fn client_for(host: &str, addr: SocketAddr, timeout: Duration) -> Result<reqwest::Client, String> {
    let key = (host.to_owned(), addr, timeout);
    if let Some(c) = CLIENTS.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(c);
    }
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .resolve(host, addr)
        .user_agent("Cosmic-Horizons-Webhooks/1")
        .build()
        .map_err(|e| e.to_string())?;
    if let Ok(mut m) = CLIENTS.lock() {
        if m.len() >= CLIENTS_MAX {
            m.clear();
        }
        m.insert(key, client.clone());
    }
    Ok(client)
}

/// POSTs `body` to `url` as message `id`, signed with `secret`; the receiver's (2xx) status.
pub async fn send(
    raw_url: &str,
    secret: &str,
    id: &str,
    body: Vec<u8>,
    allow_private: bool,
    timeout: Duration,
) -> Result<u16, SendError> {
    let err = |status, message: String| SendError { status, message };
    let checked = check_url(raw_url, allow_private).await.map_err(|m| err(None, m))?;
    let timestamp = chrono::Utc::now().timestamp();
    let signature = sign(secret, id, timestamp, &body).map_err(|m| err(None, m))?;
    let client = client_for(&checked.host, checked.addr, timeout).map_err(|m| err(None, m))?;
    let res = client
        .post(checked.url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| err(None, format!("no answer: {e}")))?;
    let status = res.status().as_u16();
    if res.status().is_success() {
        Ok(status)
    } else {
        Err(err(Some(status), format!("the receiver answered HTTP {status}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The specification's own example (standard-webhooks, spec/standard-webhooks.md).
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig.as_deref(), Ok("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
        assert!(sign("whsec_!!!", "a", 1, b"").is_err());
        assert!(new_secret().starts_with("whsec_"));
        assert_ne!(new_secret(), new_secret());
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().expect("ip")), "{private}");
        }
        for public in ["8.8.8.8", "130.199.1.1", "2606:4700::1111"] {
            assert!(is_public(public.parse().expect("ip")), "{public}");
        }
    }

    #[tokio::test]
    async fn urls_are_checked_before_anything_is_sent() {
        for (url, why) in [
            ("ftp://example.org/x", "not http"),
            ("not a url", "not a URL"),
            ("http://user:pw@example.org/", "credentials"),
            ("http://127.0.0.1:9/hook", "private network"),
            ("http://[::1]:9/hook", "private network"),
        ] {
            let e = check_url(url, false).await.expect_err(url);
            assert!(e.contains(why), "{url}: {e}");
        }
        assert!(check_url("http://127.0.0.1:9/hook", true).await.is_ok());
    }
}
