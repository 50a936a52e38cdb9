//! What a lead unit asks of its task in the progress service, carried into the task itself:
//! extension requests and hand-off attempts.
//!
//! A lead unit works in the progress service; the task and its rules live here. An extension
//! request (`dondoc.execution.extension_requested`) is recorded on the task so that the leader
//! decides it here (`DecideExtension`) and the decision flows back; a hand-off attempt
//! (`dondoc.execution.hand_off_refused`) is recorded on the task too, as the evidence the task
//! shows. This consumer receives those events over NATS and keeps each in a small inbox table,
//! in the same transaction as the consumer's own bookkeeping; a forwarder then records each
//! through the command handlers under a request id derived from the event, so an event
//! redelivered — or forwarded twice after a crash — is recorded once. (The command cannot run
//! inside the consumer's transaction: on SQLite it would wait for the very write lock that
//! transaction holds.)

use std::time::Duration;

use async_trait::async_trait;
use dondoc_contracts::progress::{EXECUTION_STREAM, ProgressEvent};
use dondoc_eventsourcing::projection::{Projection, ProjectionError};
use dondoc_eventsourcing::{Database, RecordedEvent};
use sqlx::{AnyConnection, Row};
use tokio_util::sync::CancellationToken;

use crate::handlers::error::ApiError;
use crate::handlers::{ForwardedRequest, Handlers};

/// Kinds of request in the inbox.
const EXTENSION: &str = "extension";
const HAND_OFF: &str = "hand_off";

struct Waiting {
    kind: &'static str,
    extension_id: String,
    proposed_deadline: String,
    reason: String,
    requested_on: String,
    requested_unit: String,
}

#[derive(Debug, Default)]
pub struct ProgressRequestsProjection;

impl ProgressRequestsProjection {
    pub const NAME: &'static str = "assignment-progress-requests";
}

#[async_trait]
impl Projection for ProgressRequestsProjection {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn schema(&self) -> &'static [&'static str] {
        &["CREATE TABLE IF NOT EXISTS progress_requests_inbox_v1 (
            event_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            task_id TEXT NOT NULL,
            extension_id TEXT NOT NULL,
            requested_unit TEXT NOT NULL,
            proposed_deadline TEXT NOT NULL,
            reason TEXT NOT NULL,
            requested_on TEXT NOT NULL,
            actor_subject TEXT NOT NULL,
            correlation_id TEXT NOT NULL
        )"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["progress_requests_inbox_v1"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        if event.stream_type != EXECUTION_STREAM {
            return Ok(());
        }
        let decoded = ProgressEvent::decode(event).map_err(ProjectionError::from)?;
        let request = match decoded {
            Some(ProgressEvent::ExtensionRequested(m)) => Waiting {
                kind: EXTENSION,
                extension_id: m.extension_id,
                proposed_deadline: m.proposed_deadline,
                reason: m.reason,
                requested_on: m.requested_on,
                requested_unit: String::new(),
            },
            Some(ProgressEvent::HandOffRefused(m)) => Waiting {
                kind: HAND_OFF,
                extension_id: String::new(),
                proposed_deadline: String::new(),
                reason: m.reason_given,
                requested_on: m.attempted_on,
                requested_unit: m.requested_unit,
            },
            _ => return Ok(()),
        };
        // A rebuild delivers the event again after it was forwarded and deleted: it is put
        // back, and forwarding it again is answered from the first time (same request id).
        sqlx::query(
            "INSERT INTO progress_requests_inbox_v1 (event_id, kind, task_id, extension_id, \
             requested_unit, proposed_deadline, reason, requested_on, actor_subject, \
             correlation_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event.event_id.to_string())
        .bind(request.kind.to_owned())
        .bind(event.stream_id.clone())
        .bind(request.extension_id)
        .bind(request.requested_unit)
        .bind(request.proposed_deadline)
        .bind(request.reason)
        .bind(request.requested_on)
        .bind(event.actor.subject.clone())
        .bind(event.correlation_id.clone())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// How often the forwarder looks for requests to record.
const FORWARD_EVERY: Duration = Duration::from_millis(100);

/// Records every request waiting in the inbox on its task, until shutdown.
pub async fn forward(db: Database, handlers: Handlers, shutdown: CancellationToken) {
    loop {
        if let Err(error) = forward_waiting(&db, &handlers).await {
            tracing::warn!(error = %error, "extension requests not forwarded; retrying");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(FORWARD_EVERY) => {}
        }
    }
}

/// One round: each waiting request is recorded (or refused by the task's rules, which is
/// logged: the unit sees no decision come and may ask again) and leaves the inbox; one the
/// database could not take stays for the next round.
pub async fn forward_waiting(db: &Database, handlers: &Handlers) -> Result<usize, ApiError> {
    let rows = sqlx::query(
        "SELECT event_id, kind, task_id, extension_id, requested_unit, proposed_deadline, \
         reason, requested_on, actor_subject, correlation_id FROM progress_requests_inbox_v1 \
         ORDER BY event_id LIMIT 64",
    )
    .fetch_all(db.pool())
    .await
    .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let mut forwarded = 0;
    for row in &rows {
        let get = |column: &str| -> Result<String, ApiError> {
            row.try_get::<String, _>(column)
                .map_err(|e| ApiError::Internal(e.to_string()))
        };
        let request = ForwardedRequest {
            event_id: get("event_id")?,
            task_id: get("task_id")?,
            extension_id: get("extension_id")?,
            requested_unit: get("requested_unit")?,
            proposed_deadline: get("proposed_deadline")?,
            reason: get("reason")?,
            requested_on: get("requested_on")?,
            actor_subject: get("actor_subject")?,
            correlation_id: get("correlation_id")?,
        };
        let recorded = if get("kind")? == HAND_OFF {
            handlers.record_forwarded_hand_off(&request).await
        } else {
            handlers.record_forwarded_extension(&request).await
        };
        match recorded {
            Ok(()) => {}
            Err(error @ ApiError::Unavailable(_)) => return Err(error),
            Err(refused) => tracing::warn!(
                task_id = %request.task_id,
                event_id = %request.event_id,
                error = %refused,
                "a request from the progress service was refused by the task"
            ),
        }
        sqlx::query("DELETE FROM progress_requests_inbox_v1 WHERE event_id = $1")
            .bind(request.event_id.clone())
            .execute(db.pool())
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        forwarded += 1;
    }
    Ok(forwarded)
}
