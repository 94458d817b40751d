//! `[notify]`: how notifications leave the server (issue 31). The in-app inbox needs nothing;
//! e-mail needs `[notify.smtp]`.

use serde::{Deserialize, Serialize};

use super::Secret;

/// Notification delivery.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifySettings {
    /// The address users reach this site at (`https://horizons.example.org`), for links in
    /// e-mails (the job, the inbox, unsubscribing). Default: `http://<listen address>`.
    pub public_url: Option<String>,
    /// The SMTP server e-mail goes through; without it nobody is e-mailed (the inbox still
    /// works, and the rules page says so).
    pub smtp: Option<SmtpSettings>,
    /// Users' webhooks (always on; these are their limits).
    pub webhooks: WebhookSettings,
}

/// Users' webhooks: where they may point and how deliveries are retried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Whether a webhook may point at this host or a private network (loopback, RFC 1918,
    /// link-local, unique-local IPv6…). Off by default: otherwise any user could make the
    /// server send requests into the site's own network (server-side request forgery).
    pub allow_private: bool,
    /// Longest wait for a receiver's answer, in seconds. Default 10.
    pub timeout_secs: u64,
    /// Pause before the first retry, in milliseconds; doubling with jitter up to an hour.
    /// Default 30,000.
    pub retry_base_ms: u64,
    /// Attempts before a delivery is given up (`dead`, shown to its owner with "send again").
    /// Default 15 (about nine hours of retries).
    pub max_attempts: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            timeout_secs: 10,
            retry_base_ms: 30_000,
            max_attempts: 15,
        }
    }
}

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain SMTP upgraded with `STARTTLS` (RFC 3207), refused when the server does not offer
    /// it; port 587 by convention.
    #[default]
    Starttls,
    /// TLS from the first byte ("implicit TLS", RFC 8314); port 465 by convention.
    Tls,
    /// No encryption: only for a relay on the same host or a test server.
    Plain,
}

/// An SMTP server (RFC 5321) to send e-mail through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    /// Default 587.
    pub port: u16,
    pub security: SmtpSecurity,
    /// For `AUTH` (PLAIN or LOGIN, as the server offers); none when absent.
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The sender, `Cosmic Horizons <horizons@example.org>`.
    pub from: String,
    /// Longest wait for the server per message, in seconds. Default 10.
    pub timeout_secs: u64,
    /// Most e-mails one user gets per hour; beyond it, the rest of the hour's notifications
    /// wait in the inbox and go out as one digest when the hour ends. Default 20.
    pub max_per_user_per_hour: u32,
    /// Pause before the first retry of a message the server refused or did not take, in
    /// milliseconds; each later retry waits twice as long (with jitter), up to an hour.
    /// Default 30,000.
    pub retry_base_ms: u64,
    /// Attempts before a message is given up (`dead`, shown to its user). Default 12 (about
    /// six hours of retries).
    pub max_attempts: u32,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: None,
            password: None,
            from: "Cosmic Horizons <cosmic-horizons@localhost>".into(),
            timeout_secs: 10,
            max_per_user_per_hour: 20,
            retry_base_ms: 30_000,
            max_attempts: 12,
        }
    }
}
