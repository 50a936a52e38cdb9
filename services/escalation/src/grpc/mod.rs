//! The `EscalationService` gRPC adapter: protobuf in, protobuf out, nothing decided here.

pub mod status;

use std::pin::Pin;

use chrono::{DateTime, Utc};
use dondoc_proto::v1 as pb;
use dondoc_proto::v1::escalation_service_server::EscalationService;
use dondoc_runtime::auth::principal;
use dondoc_runtime::request::correlation_id;
use futures::Stream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::consumers::notifications::NoticeFilter;
use crate::events::iso;
use crate::handlers::error::ApiError;
use crate::handlers::policy::Rpc;
use crate::handlers::{ActionRequest, Caller, Handlers, WatchView};

const DEFAULT_PAGE_SIZE: u64 = 100;
const MAX_PAGE_SIZE: u64 = 1_000;

/// The gRPC face of [`Handlers`].
#[derive(Clone)]
pub struct EscalationApi {
    handlers: Handlers,
    /// Ends open notification streams when the service stops, so a graceful shutdown does not
    /// wait forever on a client that keeps watching.
    shutdown: CancellationToken,
}

impl EscalationApi {
    pub fn new(handlers: Handlers, shutdown: CancellationToken) -> Self {
        Self { handlers, shutdown }
    }
}

fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
    Ok(Caller {
        principal: principal(request)?,
        correlation_id: correlation_id(request),
    })
}

fn answer<T>(result: Result<T, ApiError>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

fn instant(t: Option<prost_types::Timestamp>) -> Result<Option<DateTime<Utc>>, ApiError> {
    t.map(|t| {
        DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
            .ok_or_else(|| ApiError::invalid("as_of", "is not a valid instant"))
    })
    .transpose()
}

fn page_size(limit: u32) -> u64 {
    match u64::from(limit) {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    }
}

fn text(raw: &str) -> Option<String> {
    let raw = raw.trim();
    (!raw.is_empty()).then(|| raw.to_owned())
}

fn watch_to_proto(view: WatchView) -> pb::Watch {
    let task = view.known.task.unwrap_or_default();
    let next = view.schedule.next(view.today);
    pb::Watch {
        task_id: view.known.task_id,
        title: task.title,
        lead_unit: task.lead_unit,
        assigning_leader_id: task.assigning_leader_id.unwrap_or_default(),
        supervising_leader_id: task.supervising_leader_id.unwrap_or_default(),
        deadline: view.schedule.deadline.map(iso).unwrap_or_default(),
        state: view.schedule.phase.as_str().to_owned(),
        next_kind: next.map(|n| n.kind.clone()).unwrap_or_default(),
        next_due_on: next.map(|n| iso(n.due_on)).unwrap_or_default(),
        issued: view.issued,
    }
}

impl EscalationApi {
    /// A page of the notices `filter` selects, as `rpc` lets the caller see them.
    async fn page(
        &self,
        caller: &Caller,
        rpc: Rpc,
        filter: &NoticeFilter,
    ) -> Result<pb::ListNotificationsResponse, ApiError> {
        let notifications = self
            .handlers
            .list_notifications(caller, rpc, filter)
            .await?;
        Ok(pb::ListNotificationsResponse {
            last_cursor: notifications.last().map_or(0, |n| n.cursor),
            notifications,
        })
    }
}

type NotificationStream = Pin<Box<dyn Stream<Item = Result<pb::Notification, Status>> + Send>>;

#[tonic::async_trait]
impl EscalationService for EscalationApi {
    async fn evaluate_deadlines(
        &self,
        request: Request<pb::EvaluateDeadlinesRequest>,
    ) -> Result<Response<pb::EvaluateDeadlinesResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        answer(
            async {
                let as_of = instant(r.as_of)?;
                let done = self.handlers.evaluate_deadlines(&caller, as_of).await?;
                Ok(pb::EvaluateDeadlinesResponse {
                    business_date: iso(done.business_date),
                    issued: done
                        .issued
                        .iter()
                        .map(crate::domain::Notice::to_notification)
                        .collect(),
                    tasks_watched: done.tasks_watched,
                })
            }
            .await,
        )
    }

    type WatchNotificationsStream = NotificationStream;

    async fn watch_notifications(
        &self,
        request: Request<pb::WatchNotificationsRequest>,
    ) -> Result<Response<Self::WatchNotificationsStream>, Status> {
        let caller = caller(&request)?;
        let mut cursor = request.into_inner().after_cursor;
        // Refuse at once rather than in the stream.
        crate::handlers::policy::authorize(Rpc::WatchNotifications, &caller)
            .map_err(Status::from)?;
        let handlers = self.handlers.clone();
        let shutdown = self.shutdown.clone();
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<pb::Notification, Status>>(64);
        tokio::spawn(async move {
            let mut changes = handlers.notices().subscribe();
            loop {
                // Mark the current position seen before reading, so a notice added while this
                // page is read wakes the loop again instead of being missed.
                changes.borrow_and_update();
                let filter = NoticeFilter {
                    after: cursor,
                    limit: DEFAULT_PAGE_SIZE,
                    ..Default::default()
                };
                let page = match handlers
                    .list_notifications(&caller, Rpc::WatchNotifications, &filter)
                    .await
                {
                    Ok(page) => page,
                    Err(error) => {
                        let _ = tx.send(Err(error.into())).await;
                        return;
                    }
                };
                let full = page.len() as u64 == DEFAULT_PAGE_SIZE;
                for notification in page {
                    cursor = notification.cursor;
                    if tx.send(Ok(notification)).await.is_err() {
                        return;
                    }
                }
                if full {
                    continue;
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tx.closed() => return,
                    changed = changes.changed() => if changed.is_err() { return },
                }
            }
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn list_notifications(
        &self,
        request: Request<pb::ListNotificationsRequest>,
    ) -> Result<Response<pb::ListNotificationsResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let filter = NoticeFilter {
            after: r.after_cursor,
            limit: page_size(r.limit),
            task_id: text(&r.task_id),
            ..Default::default()
        };
        answer(self.page(&caller, Rpc::ListNotifications, &filter).await)
    }

    async fn list_escalations(
        &self,
        request: Request<pb::ListEscalationsRequest>,
    ) -> Result<Response<pb::ListNotificationsResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let filter = NoticeFilter {
            limit: MAX_PAGE_SIZE * 10,
            escalations_from_level: Some(r.min_level),
            lead_unit: text(&r.lead_unit),
            ..Default::default()
        };
        answer(self.page(&caller, Rpc::ListEscalations, &filter).await)
    }

    async fn get_watch(
        &self,
        request: Request<pb::GetWatchRequest>,
    ) -> Result<Response<pb::Watch>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        answer(
            self.handlers
                .get_watch(&caller, &r.task_id)
                .await
                .map(watch_to_proto),
        )
    }

    async fn record_leadership_action(
        &self,
        request: Request<pb::RecordLeadershipActionRequest>,
    ) -> Result<Response<pb::LeadershipAction>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        answer(
            async {
                let key = dondoc_runtime::request::request_key(
                    "RecordLeadershipAction",
                    &caller.subject,
                    &r.request_id,
                    &r,
                    |r| r.request_id.clear(),
                )
                .map_err(|e| ApiError::invalid("request_id", e.to_string()))?;
                self.handlers
                    .record_leadership_action(
                        &caller,
                        key,
                        ActionRequest {
                            kind: r.kind,
                            leader_id: r.leader_id,
                            units: r.units,
                            task_ids: r.task_ids,
                            document: r.document.unwrap_or_default(),
                            note: r.note,
                        },
                    )
                    .await
            }
            .await,
        )
    }

    async fn list_leadership_actions(
        &self,
        request: Request<pb::ListLeadershipActionsRequest>,
    ) -> Result<Response<pb::ListLeadershipActionsResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        answer(
            self.handlers
                .list_leadership_actions(
                    &caller,
                    text(&r.unit).as_deref(),
                    text(&r.from).as_deref(),
                    text(&r.to).as_deref(),
                )
                .await
                .map(|actions| pb::ListLeadershipActionsResponse { actions }),
        )
    }
}
