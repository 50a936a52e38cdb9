//! Publishes each notice to its recipient's subject — `dondoc.notify.unit.<code>` or
//! `dondoc.notify.leader.<id>` (`dondoc.notify.office` when the policy named nobody) — as a
//! `dondoc.v1.Notification`, into the JetStream stream `DONDOC_NOTIFY` so that a gateway that
//! was away can catch up; plain subscribers receive it too. The notice id is the message id,
//! so a republish after a crash is dropped by JetStream's duplicate window.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use dondoc_contracts::escalation::{NOTIFY_STREAM, NOTIFY_SUBJECTS, leader_subject, unit_subject};
use dondoc_eventsourcing::Database;
use dondoc_proto::v1 as pb;
use prost::Message as _;
use tokio_util::sync::CancellationToken;

use crate::consumers::notifications::{Audience, NoticeFilter, NotificationsReader};

const CHECKPOINT: &str = "nats-publisher";
const BATCH: u64 = 200;

/// The subject a notification goes to.
pub fn subject_of(n: &pb::Notification) -> String {
    if !n.recipient_unit.is_empty() {
        unit_subject(&n.recipient_unit)
    } else if !n.recipient_leader_id.is_empty() {
        leader_subject(&n.recipient_leader_id)
    } else {
        "dondoc.notify.office".to_owned()
    }
}

/// The loop that publishes notices as they are issued.
#[derive(Clone)]
pub struct Publisher {
    db: Database,
    notices: NotificationsReader,
    js: jetstream::Context,
}

impl Publisher {
    pub fn new(db: Database, notices: NotificationsReader, js: jetstream::Context) -> Self {
        Self { db, notices, js }
    }

    async fn ensure_stream(&self) -> anyhow::Result<()> {
        self.js
            .get_or_create_stream(stream::Config {
                name: NOTIFY_STREAM.to_owned(),
                subjects: vec![NOTIFY_SUBJECTS.to_owned()],
                storage: stream::StorageType::File,
                // A gateway away for a month still finds its notices.
                max_age: Duration::from_secs(31 * 24 * 3600),
                duplicate_window: Duration::from_secs(24 * 3600),
                ..Default::default()
            })
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the {NOTIFY_STREAM} stream: {e}"))?;
        Ok(())
    }

    /// Publishes what was issued since the last run; the number published.
    pub async fn publish_available(&self) -> anyhow::Result<usize> {
        let mut after = super::checkpoint(&self.db, CHECKPOINT).await?;
        let mut published = 0;
        loop {
            let page = self
                .notices
                .list(
                    &Audience::Everyone,
                    &NoticeFilter {
                        after,
                        limit: BATCH,
                        ..Default::default()
                    },
                )
                .await?;
            if page.is_empty() {
                return Ok(published);
            }
            for n in &page {
                let mut headers = async_nats::HeaderMap::new();
                headers.insert("Nats-Msg-Id", n.notice_id.as_str());
                headers.insert("Content-Type", "application/x-protobuf");
                self.js
                    .publish_with_headers(subject_of(n), headers, n.encode_to_vec().into())
                    .await?
                    .await?;
                after = n.cursor;
                published += 1;
            }
            super::save_checkpoint(&self.db, CHECKPOINT, after).await?;
        }
    }

    /// Runs until shutdown: publishes whenever the read model moves, retrying after failures.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut changes = self.notices.subscribe();
        let mut ready = false;
        loop {
            changes.borrow_and_update();
            if !ready {
                match self.ensure_stream().await {
                    Ok(()) => ready = true,
                    Err(error) => tracing::warn!(error = %error, "notify stream not ready"),
                }
            }
            if ready && let Err(error) = self.publish_available().await {
                tracing::warn!(error = %error, "notices not published to NATS; retrying");
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                changed = changes.changed() => if changed.is_err() { return },
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    }
}
