//! E-mail of notifications through the site's SMTP server (`[notify.smtp]`), with `lettre`.
//!
//! Each message has a text and an HTML part (the job, its project and system, how it ended, the
//! estimated cost, links to the job and the inbox), a `Message-ID` made from the notification's
//! id — so a message sent again after a crash between the server's acceptance and our record of
//! it is recognisably the same one — and an unsubscribe link that works without signing in
//! (`List-Unsubscribe`, one-click per RFC 8058), signed for that one purpose and address.

use std::time::Duration;

use ch_domain::notification::duration;
use ch_domain::{Job, JobLogs, Notification};
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
/// Lines of each of the job's output streams quoted in an e-mail about its end.
pub const LOG_LINES: usize = 10;
/// Longest quoted log line, in characters (the rest is cut with `…`).
const LOG_LINE_CHARS: usize = 200;

/// The last `n` lines of `text` (a job's output), each cut to [`LOG_LINE_CHARS`] characters,
/// control characters other than tab dropped; empty lines at the end are left out.
pub fn last_lines(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| {
            let clean: String = l.chars().filter(|c| *c == '\t' || !c.is_control()).collect();
            match clean.char_indices().nth(LOG_LINE_CHARS) {
                Some((at, _)) => format!("{}…", &clean[..at]),
                None => clean,
            }
        })
        .collect()
}

/// Why a digest's notifications come together, by the recipient's `rules`.
pub fn digest_intro(rules: &ch_domain::NotificationRules) -> &'static str {
    match (rules.email_digest, &rules.quiet_hours) {
        (ch_domain::EmailDigest::Hourly, _) => "Your hourly digest of notifications:",
        (ch_domain::EmailDigest::Daily, _) => "Your daily digest of notifications:",
        (ch_domain::EmailDigest::Off, Some(_)) => {
            "These came during your quiet hours (or past this hour's e-mail limit):"
        }
        // Held under rules since changed, or past the hourly limit: the reason is not kept.
        (ch_domain::EmailDigest::Off, None) => {
            "These were held for one message (past this hour's e-mail limit, or by a digest or quiet hours you have since turned off):"
        }
    }
}

/// The quoted tails of `logs` as (heading, lines), standard error first (a failure's reason
/// is usually there); streams with nothing written are left out.
fn log_tails(logs: &JobLogs) -> Vec<(&'static str, Vec<String>)> {
    [
        ("Last lines of standard error", &logs.stderr),
        ("Last lines of standard output", &logs.stdout),
    ]
    .into_iter()
    .map(|(h, text)| (h, last_lines(text, LOG_LINES)))
    .filter(|(_, lines)| !lines.is_empty())
    .collect()
}

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

    /// The e-mail of one notification to `to`; `job` adds its details when it could be read,
    /// `logs` the last [`LOG_LINES`] lines of its output (for a job that ended).
    ///
    /// # Errors
    /// [`EmailError::Address`] for an address the builder refuses.
    pub fn compose(
        &self,
        to: &str,
        n: &Notification,
        job: Option<&Job>,
        logs: Option<&JobLogs>,
    ) -> Result<Message, EmailError> {
        let job_url = format!("{}/jobs/{}", self.public_url, n.job_id);
        let mut facts: Vec<(&str, String)> = Vec::new();
        if let Some(j) = job {
            facts.push(("Status", j.status.to_string()));
            facts.push(("Project", j.project.clone()));
            facts.push(("System", j.target_system.clone()));
            if let Some(secs) = j.run_seconds() {
                facts.push(("Ran for", duration(secs)));
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
        let tails = logs.map(log_tails).unwrap_or_default();
        let text_logs: String = tails
            .iter()
            .map(|(h, lines)| {
                format!(
                    "\n{h}:\n{}\n",
                    lines.iter().map(|l| format!("  {l}\n")).collect::<String>()
                )
            })
            .collect();
        let html_logs: String = tails
            .iter()
            .map(|(h, lines)| {
                format!(
                    "<h4>{}</h4><pre style=\"background:#f4f4f4;padding:6px;white-space:pre-wrap\">{}</pre>",
                    escape(h),
                    escape(&lines.join("\n"))
                )
            })
            .collect();
        let unsubscribe = self.unsubscribe_url(n.user_id, to);
        let text = format!(
            "{}\n\n{}\n\n{text_facts}{text_logs}\nThe job: {job_url}\nYour inbox: {}/notifications\n{}",
            n.title,
            n.body,
            self.public_url,
            unsubscribe
                .as_ref()
                .map(|u| format!("\nNo more e-mail from Cosmic Horizons: {u}\n"))
                .unwrap_or_default()
        );
        let html = format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\"><h2>{}</h2><p>{}</p><table>{html_facts}</table>{html_logs}\
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

    /// One e-mail summing up `items` (oldest first), held for a digest: `intro` says why
    /// ([`digest_intro`]).
    ///
    /// # Errors
    /// As [`Mailer::compose`].
    pub fn compose_digest(&self, to: &str, items: &[Notification], intro: &str) -> Result<Message, EmailError> {
        let subject = match items.len() {
            1 => "1 notification from Cosmic Horizons".to_owned(),
            n => format!("{n} notifications from Cosmic Horizons"),
        };
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
            "{intro}\n\n{lines}\nYour inbox: {}/notifications\n{}",
            self.public_url,
            unsubscribe
                .as_ref()
                .map(|u| format!("\nNo more e-mail: {u}\n"))
                .unwrap_or_default()
        );
        let html = format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\"><h2>{}</h2><p>{}</p><ul>{rows}</ul>\
             <p><a href=\"{}/notifications\">Your inbox</a></p></body></html>",
            escape(&subject),
            escape(intro),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_tail_is_short_and_clean() {
        let text = (1..=30).map(|i| format!("line {i}\n")).collect::<String>() + "\n\n";
        let tail = last_lines(&text, LOG_LINES);
        assert_eq!(tail.len(), LOG_LINES);
        assert_eq!(tail.first().map(String::as_str), Some("line 21"));
        assert_eq!(tail.last().map(String::as_str), Some("line 30"));
        let long = format!("{}\u{1b}[31mred\tx", "é".repeat(300));
        let cut = last_lines(&long, 1);
        assert_eq!(cut[0].chars().count(), LOG_LINE_CHARS + 1);
        assert!(cut[0].ends_with('…') && !cut[0].contains('\u{1b}'));
        assert!(last_lines("", 5).is_empty());
        let logs = JobLogs {
            stdout: "done\n".into(),
            stderr: String::new(),
            truncated: false,
        };
        assert_eq!(
            log_tails(&logs),
            vec![("Last lines of standard output", vec!["done".to_owned()])]
        );
    }
}
