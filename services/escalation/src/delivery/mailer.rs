//! E-mails each notice, in Vietnamese, to the address the unit or leader directory gives for
//! its recipient, through the SMTP server the operator configured (off unless configured).
//! A delivery is retried with exponential backoff; the outcome — sent, or failed with the
//! reason — is recorded as an event in the notice's watch, so the Office can see who was told.
//!
//! Delivery is at least once: if the service stops between the server's acceptance and the
//! event being recorded, the e-mail is sent again on restart.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::consumers::notifications::{Audience, NoticeFilter};
use crate::domain::watch::Delivery;
use crate::domain::{NoticeKind, vi_date};
use crate::handlers::Handlers;
use dondoc_proto::v1 as pb;

/// `[escalation.smtp]`: where e-mail goes out.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SmtpSettings {
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    /// The sender, e.g. `Văn phòng UBND thành phố <vanphong@haiphong.gov.vn>`.
    pub from: String,
    /// STARTTLS before anything is sent (default on; off only for a relay on loopback).
    #[serde(default = "default_true")]
    pub starttls: bool,
    #[serde(default)]
    pub username: Option<String>,
    /// A file holding the password (never the password itself in settings).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Attempts per e-mail before it is recorded as failed (default 5).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// The first retry's delay; each next one doubles (default 2 s).
    #[serde(default = "default_backoff", with = "humantime_serde")]
    pub retry_backoff: Duration,
}

fn default_port() -> u16 {
    587
}
fn default_true() -> bool {
    true
}
fn default_attempts() -> u32 {
    5
}
fn default_backoff() -> Duration {
    Duration::from_secs(2)
}

const CHANNEL: &str = "email";
const BATCH: u64 = 50;

/// The subject and body of a notice's e-mail.
pub fn compose(n: &pb::Notification, addressee: &str) -> (String, String) {
    let label = NoticeKind::label_vi(&n.kind);
    let subject = format!("[Đôn đốc] {label}: {}", n.title);
    let date = |raw: &str| {
        chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map(vi_date)
            .unwrap_or_else(|_| "không có".to_owned())
    };
    let body = format!(
        "Kính gửi: {addressee},\n\n{text}\n\nMã nhiệm vụ: {task}\nThời hạn: {deadline}\nNgày \
         thông báo: {due}\n\nVăn phòng Ủy ban nhân dân thành phố\n(Thư gửi tự động từ hệ thống \
         theo dõi, đôn đốc thực hiện nhiệm vụ; vui lòng không trả lời thư này.)\n",
        text = n.text,
        task = n.task_id,
        deadline = date(&n.deadline),
        due = date(&n.due_on),
    );
    (subject, body)
}

/// The loop that e-mails notices.
pub struct Mailer {
    handlers: Handlers,
    settings: SmtpSettings,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(handlers: Handlers, settings: SmtpSettings) -> anyhow::Result<Self> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("smtp.from {:?} is not an address: {e}", settings.from))?;
        let mut builder = if settings.starttls {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)?
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
        }
        .port(settings.port)
        .timeout(Some(Duration::from_secs(30)));
        if let Some(user) = &settings.username {
            let password = match &settings.password_file {
                Some(path) => std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?
                    .trim_end()
                    .to_owned(),
                None => String::new(),
            };
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Self {
            handlers,
            transport: builder.build(),
            settings,
            from,
        })
    }

    /// Sends what is waiting; the number of notices dealt with.
    pub async fn send_available(&self, shutdown: &CancellationToken) -> anyhow::Result<usize> {
        let waiting = self
            .handlers
            .notices()
            .list(
                &Audience::Everyone,
                &NoticeFilter {
                    limit: BATCH,
                    unmailed: true,
                    ..Default::default()
                },
            )
            .await?;
        let mut done = 0;
        for n in &waiting {
            if shutdown.is_cancelled() {
                break;
            }
            let delivery = self.deliver(n, shutdown).await?;
            let Some(delivery) = delivery else { break };
            self.handlers.record_delivery(delivery).await?;
            done += 1;
        }
        Ok(done)
    }

    /// One notice's delivery with its retries; `None` if shutdown came first.
    async fn deliver(
        &self,
        n: &pb::Notification,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Option<Delivery>> {
        let facts = self.handlers.facts();
        let addressee = if !n.recipient_unit.is_empty() {
            facts.unit_addressee(&n.recipient_unit).await?
        } else if !n.recipient_leader_id.is_empty() {
            facts.leader_addressee(&n.recipient_leader_id).await?
        } else {
            None
        };
        let outcome = |address: &str, attempts: u32, error: Option<String>| Delivery {
            notice_id: n.notice_id.clone(),
            channel: CHANNEL.to_owned(),
            address: address.to_owned(),
            attempts,
            error,
        };
        let Some(addressee) = addressee.filter(|a| !a.email.trim().is_empty()) else {
            return Ok(Some(outcome(
                "",
                0,
                Some("no e-mail address in the directory for the recipient".into()),
            )));
        };
        let to: Mailbox = match format!("{} <{}>", addressee.name, addressee.email.trim()).parse() {
            Ok(to) => to,
            Err(e) => {
                return Ok(Some(outcome(
                    &addressee.email,
                    0,
                    Some(format!("the directory's address is not valid: {e}")),
                )));
            }
        };
        let (subject, body) = compose(n, &addressee.name);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)?;
        let mut delay = self.settings.retry_backoff;
        let mut last_error = String::new();
        for attempt in 1..=self.settings.max_attempts.max(1) {
            match self.transport.send(message.clone()).await {
                Ok(_) => return Ok(Some(outcome(&addressee.email, attempt, None))),
                Err(error) => {
                    last_error = error.to_string();
                    tracing::warn!(notice = %n.notice_id, attempt, error = %error, "e-mail not accepted");
                }
            }
            if attempt < self.settings.max_attempts {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(None),
                    () = tokio::time::sleep(delay) => {}
                }
                delay = delay.saturating_mul(2);
            }
        }
        Ok(Some(outcome(
            &addressee.email,
            self.settings.max_attempts.max(1),
            Some(last_error),
        )))
    }

    /// Runs until shutdown.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut changes = self.handlers.notices().subscribe();
        loop {
            changes.borrow_and_update();
            if let Err(error) = self.send_available(&shutdown).await {
                tracing::warn!(error = %error, "e-mail delivery interrupted; retrying");
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                changed = changes.changed() => if changed.is_err() { return },
                () = tokio::time::sleep(Duration::from_secs(10)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_e_mail_reads_in_vietnamese_with_dates_as_documents_write_them() {
        let n = pb::Notification {
            kind: "reminder".into(),
            title: "Báo cáo tình hình giải ngân vốn đầu tư công".into(),
            text: "Nhắc hạn: còn 3 ngày làm việc.".into(),
            task_id: "t-1".into(),
            deadline: "2026-03-20".into(),
            due_on: "2026-03-17".into(),
            ..Default::default()
        };

        let (subject, body) = compose(&n, "Sở Xây dựng");

        assert_eq!(
            subject,
            "[Đôn đốc] Nhắc hạn: Báo cáo tình hình giải ngân vốn đầu tư công"
        );
        assert!(body.starts_with("Kính gửi: Sở Xây dựng,"));
        assert!(body.contains("Thời hạn: 20/03/2026"));
        assert!(body.contains("Ngày thông báo: 17/03/2026"));
    }
}
