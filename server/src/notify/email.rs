//! E-mail of notifications through the site's SMTP server (`[notify.smtp]`), with `lettre`.
//!
//! Each message has a text and an HTML part (the job, its project and system, how it ended, the
//! estimated cost, links to the job and the inbox), a `Message-ID` made from the notification's
//! id — so a message sent again after a crash between the server's acceptance and our record of
//! it is recognisably the same one — and an unsubscribe link that works without signing in
//! (`List-Unsubscribe`, one-click per RFC 8058), signed for that one purpose and address.

use std::time::Duration;

use ch_domain::{Job, Notification};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::auth::Auth;
use crate::html::escape;
use crate::settings::{SmtpSecurity, SmtpSettings};

/// What an unsubscribe link's token is for.
pub const UNSUBSCRIBE: &str = "unsubscribe-email";
/// How long an unsubscribe link works (a year: mail is read late).
const UNSUBSCRIBE_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// The address or the sender cannot be used (a retry cannot fix it).
    #[error("bad address: {0}")]
    Address(String),
    #[error("building the message: {0}")]
    Build(String),
    /// The SMTP server refused or did not answer (a retry may work).
    #[error("SMTP: {0}")]
    Smtp(String),
}

impl EmailError {
    /// Whether trying again later may succeed.
    pub fn retryable(&self) -> bool {
        matches!(self, EmailError::Smtp(_))
    }
}

/// Composes and sends notification e-mails; cheap to share.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `https://site` without a trailing slash.
    public_url: String,
    auth: Auth,
}

impl Mailer {
    /// A mailer for `smtp`; links point at `public_url`.
    ///
    /// # Errors
    /// When the sender address does not parse or the TLS setup fails.
    pub fn new(smtp: &SmtpSettings, public_url: &str, auth: Auth) -> anyhow::Result<Self> {
        let builder = match smtp.security {
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)?,
            SmtpSecurity::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
        };
        let mut builder = builder
            .port(smtp.port)
            .timeout(Some(Duration::from_secs(smtp.timeout_secs.max(1))));
        if let Some(user) = &smtp.username {
            let password = smtp
                .password
                .as_ref()
                .map(|p| p.expose().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let from: Mailbox = smtp
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("notify.smtp.from '{}' is not an address: {e}", smtp.from))?;
        Ok(Self {
            transport: builder.build(),
            from,
            public_url: public_url.trim_end_matches('/').to_owned(),
            auth,
        })
    }

    /// The unsubscribe link for `user_id` at `address`.
    pub fn unsubscribe_url(&self, user_id: uuid::Uuid, address: &str) -> Option<String> {
        let token = self.auth.sign_link(user_id, UNSUBSCRIBE, address, UNSUBSCRIBE_TTL)?;
        Some(format!(
            "{}/api/notifications/unsubscribe?token={token}",
            self.public_url
        ))
    }

    /// The e-mail of one notification to `to`; `job` adds its details when it could be read.
    ///
    /// # Errors
    /// [`EmailError::Address`] for an address the builder refuses.
    pub fn compose(&self, to: &str, n: &Notification, job: Option<&Job>) -> Result<Message, EmailError> {
        let job_url = format!("{}/jobs/{}", self.public_url, n.job_id);
        let mut facts: Vec<(&str, String)> = Vec::new();
        if let Some(j) = job {
            facts.push(("Status", j.status.to_string()));
            facts.push(("Project", j.project.clone()));
            facts.push(("System", j.target_system.clone()));
            if let (Some(s), Some(f)) = (j.started_at, j.finished_at) {
                facts.push(("Ran for", format!("{} s", (f - s).num_seconds().max(0))));
            }
            if let Some(code) = j.exit_code {
                facts.push(("Exit code", code.to_string()));
            }
            facts.push(("Estimated cost", format!("${:.2}", j.estimated_cost_usd)));
        }
        let text_facts: String = facts.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
        let html_facts: String = facts
            .iter()
            .map(|(k, v)| format!("<tr><th align=\"left\">{}</th><td>{}</td></tr>", escape(k), escape(v)))
            .collect();
        let unsubscribe = self.unsubscribe_url(n.user_id, to);
        let text = format!(
            "{}\n\n{}\n\n{text_facts}\nThe job: {job_url}\nYour inbox: {}/notifications\n{}",
            n.title,
            n.body,
            self.public_url,
            unsubscribe
                .as_ref()
                .map(|u| format!("\nNo more e-mail from Cosmic Horizons: {u}\n"))
                .unwrap_or_default()
        );
        let html = format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\"><h2>{}</h2><p>{}</p><table>{html_facts}</table>\
             <p><a href=\"{}\">Open the job</a> · <a href=\"{}/notifications\">Your inbox</a></p>{}</body></html>",
            escape(&n.title),
            escape(&n.body),
            escape(&job_url),
            escape(&self.public_url),
            unsubscribe
                .as_ref()
                .map(|u| format!(
                    "<p style=\"color:#666;font-size:small\"><a href=\"{}\">No more e-mail from Cosmic Horizons</a></p>",
                    escape(u)
                ))
                .unwrap_or_default()
        );
        self.message(
            to,
            &n.title,
            &format!("<{}@cosmic-horizons>", n.id),
            unsubscribe,
            text,
            html,
        )
    }

    /// One e-mail summing up `items` (oldest first) for a user who reached their hourly limit.
    ///
    /// # Errors
    /// As [`Mailer::compose`].
    pub fn compose_digest(&self, to: &str, items: &[Notification]) -> Result<Message, EmailError> {
        let subject = format!("{} notifications from Cosmic Horizons", items.len());
        let lines: String = items
            .iter()
            .map(|n| format!("- {} ({})\n  {}/jobs/{}\n", n.title, n.body, self.public_url, n.job_id))
            .collect();
        let rows: String = items
            .iter()
            .map(|n| {
                format!(
                    "<li><a href=\"{}/jobs/{}\">{}</a><br><small>{}</small></li>",
                    escape(&self.public_url),
                    n.job_id,
                    escape(&n.title),
                    escape(&n.body)
                )
            })
            .collect();
        let user = items.first().map(|n| n.user_id).unwrap_or_default();
        let unsubscribe = self.unsubscribe_url(user, to);
        let text = format!(
            "You reached this hour's e-mail limit; these came meanwhile:\n\n{lines}\nYour inbox: {}/notifications\n{}",
            self.public_url,
            unsubscribe
                .as_ref()
                .map(|u| format!("\nNo more e-mail: {u}\n"))
                .unwrap_or_default()
        );
        let html = format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\"><h2>{}</h2><ul>{rows}</ul>\
             <p><a href=\"{}/notifications\">Your inbox</a></p></body></html>",
            escape(&subject),
            escape(&self.public_url)
        );
        let id = items.first().map_or_else(uuid::Uuid::now_v7, |n| n.id);
        self.message(
            to,
            &subject,
            &format!("<digest-{id}@cosmic-horizons>"),
            unsubscribe,
            text,
            html,
        )
    }

    fn message(
        &self,
        to: &str,
        subject: &str,
        message_id: &str,
        unsubscribe: Option<String>,
        text: String,
        html: String,
    ) -> Result<Message, EmailError> {
        let to: Mailbox = to.parse().map_err(|e| EmailError::Address(format!("{to}: {e}")))?;
        let mut b = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(message_id.to_owned()));
        if let Some(u) = unsubscribe {
            b = b
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{u}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        b.multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| EmailError::Build(e.to_string()))
    }

    /// Hands `message` to the SMTP server.
    ///
    /// # Errors
    /// [`EmailError::Smtp`] when the server refuses it or does not answer in time.
    pub async fn send(&self, message: Message) -> Result<(), EmailError> {
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| EmailError::Smtp(e.to_string()))
    }
}
