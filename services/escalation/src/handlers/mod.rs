//! The command and query handlers of the escalation service: what each call does, in domain
//! terms, whatever brought it (a gRPC call, the ticker, the mailer).
//!
//! Evaluation is the heart: for every open watch, the schedule the policy and the calendar
//! imply on the business day evaluated; the notices of it that are due and not yet issued are
//! issued through the task's watch stream, which refuses any it already holds. So evaluating
//! an instant twice issues nothing new, two replicas evaluating together issue each notice
//! once (the loser of a race retries on the new state), and after a restart the first
//! evaluation issues whatever fell due while the service was down.

pub mod error;
pub mod policy;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use dondoc_eventsourcing::clock::business_date;
use dondoc_eventsourcing::repository::{CommandEnvelope, ExecuteError, Executed, Repository};
use dondoc_eventsourcing::{Actor, EventMetadata, EventStore, RequestKey, StoredOutcome};
use dondoc_proto::v1 as pb;
use dondoc_runtime::auth::{Principal, Role};
use dondoc_runtime::calendar::WorkingCalendar;
use dondoc_runtime::clock::SharedClock;
use prost::Message as _;
use uuid::Uuid;

use crate::consumers::facts::{FactsReader, KnownTask};
use crate::consumers::notifications::{NoticeFilter, NotificationsReader};
use crate::domain::action::{ActionDocument, ActionRecord};
use crate::domain::schedule::People;
use crate::domain::watch::Delivery;
use crate::domain::{
    ActionKind, EscalationPolicy, FieldViolation, LeadershipAction, LeadershipActionCommand,
    Notice, Schedule, Watch, WatchCommand,
};
use error::ApiError;
use policy::{Rpc, audience, authorize};

/// Who is calling, and the correlation id that groups everything their action causes.
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    pub correlation_id: String,
}

impl std::ops::Deref for Caller {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.principal
    }
}

/// What an evaluation did.
#[derive(Clone, Debug)]
pub struct Evaluation {
    pub business_date: NaiveDate,
    pub issued: Vec<Notice>,
    pub tasks_watched: u32,
}

/// A task's watch as shown to people.
#[derive(Clone, Debug)]
pub struct WatchView {
    pub known: KnownTask,
    pub schedule: Schedule,
    pub today: NaiveDate,
    pub issued: Vec<pb::Notification>,
}

/// A leadership action as received (raw fields, validated here).
#[derive(Clone, Debug, Default)]
pub struct ActionRequest {
    pub kind: String,
    pub leader_id: String,
    pub units: Vec<String>,
    pub task_ids: Vec<String>,
    pub document: pb::SourceDocument,
    pub note: String,
}

/// Most attempts at issuing a task's notices when another evaluator writes the same watch.
const CONFLICT_RETRIES: usize = 5;
const TEXT_MAX: usize = 4_000;

/// The handlers and what they share.
#[derive(Clone)]
pub struct Handlers {
    watches: Repository<Watch>,
    actions: Repository<LeadershipAction>,
    store: EventStore,
    db: dondoc_eventsourcing::Database,
    facts: FactsReader,
    notices: NotificationsReader,
    policy: Arc<EscalationPolicy>,
    calendar: Arc<WorkingCalendar>,
    clock: SharedClock,
}

impl Handlers {
    pub fn new(
        store: EventStore,
        facts: FactsReader,
        notices: NotificationsReader,
        policy: Arc<EscalationPolicy>,
        calendar: Arc<WorkingCalendar>,
        clock: SharedClock,
    ) -> Self {
        Self {
            watches: Repository::new(store.clone()),
            actions: Repository::new(store.clone()),
            db: store.database().clone(),
            store,
            facts,
            notices,
            policy,
            calendar,
            clock,
        }
    }

    /// The caller the service's own loops act as.
    pub fn system_caller(what: &str) -> Caller {
        Caller {
            principal: Principal {
                subject: format!("system:escalation-{what}"),
                role: Role::Admin,
                unit_code: None,
                leader_id: None,
            },
            correlation_id: Uuid::now_v7().to_string(),
        }
    }

    pub fn notices(&self) -> &NotificationsReader {
        &self.notices
    }

    pub fn facts(&self) -> &FactsReader {
        &self.facts
    }

    fn metadata(&self, caller: &Caller, causation: &str) -> EventMetadata {
        EventMetadata {
            occurred_at: dondoc_eventsourcing::store::storable_time(self.clock.now()),
            actor: Actor {
                subject: caller.subject.clone(),
                role: caller.role.as_str().to_owned(),
                unit_code: caller.unit_code.clone().unwrap_or_default(),
                leader_id: caller.leader_id.clone().unwrap_or_default(),
            },
            correlation_id: caller.correlation_id.clone(),
            causation_id: causation.to_owned(),
            traceparent: dondoc_runtime::telemetry::current_traceparent().unwrap_or_default(),
        }
    }

    async fn people(&self, today: NaiveDate) -> Result<People, ApiError> {
        Ok(People {
            unit_names: self.facts.unit_names().await?,
            chairman_id: self.facts.chairman_on(today).await?,
        })
    }

    fn schedule(&self, known: &KnownTask, people: &People, today: NaiveDate) -> Schedule {
        Schedule::plan(
            known.task.as_ref(),
            &known.work,
            &self.policy,
            &self.calendar,
            people,
            today,
        )
    }

    /// Issues every notice due by `as_of` (default: now) that was not issued yet.
    pub async fn evaluate_deadlines(
        &self,
        caller: &Caller,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Evaluation, ApiError> {
        authorize(Rpc::EvaluateDeadlines, caller)?;
        let today = business_date(as_of.unwrap_or_else(|| self.clock.now()));
        if !self.calendar.covers(chrono::Datelike::year(&today)) {
            tracing::warn!(%today, "the holiday calendar does not cover this year; only weekends are days off");
        }
        let people = self.people(today).await?;
        let open = self.facts.open_tasks().await?;
        let mut issued = Vec::new();
        for known in &open {
            let schedule = self.schedule(known, &people, today);
            let due: Vec<Notice> = schedule.due(today).cloned().collect();
            if due.is_empty() {
                continue;
            }
            // Most days nothing new is due: skip the stream read when the read model already
            // holds every due notice. The watch stream stays the judge of what is new.
            let known_ids: BTreeSet<String> = self
                .notices
                .known_ids(&known.task_id)
                .await?
                .into_iter()
                .collect();
            let new: Vec<Notice> = due
                .into_iter()
                .filter(|n| !known_ids.contains(&n.notice_id))
                .collect();
            if new.is_empty() {
                continue;
            }
            issued.extend(self.issue(caller, &known.task_id, new).await?);
        }
        issued.extend(self.issue_case_warnings(caller).await?);
        // Always: a notice another evaluator (the ticker, a replica) has just appended is in
        // the read model once this call returns, whoever issued it.
        self.notices.catch_up().await?;
        if !issued.is_empty() {
            tracing::info!(%today, issued = issued.len(), "notices issued");
        }
        Ok(Evaluation {
            business_date: today,
            issued,
            tasks_watched: u32::try_from(open.len()).unwrap_or(u32::MAX),
        })
    }

    /// Notices to the Office of every discipline case's limit drawing near, once each.
    async fn issue_case_warnings(&self, caller: &Caller) -> Result<Vec<Notice>, ApiError> {
        let mut issued = Vec::new();
        for w in crate::consumers::case_warnings::case_warnings(&self.db).await? {
            let notice = crate::domain::schedule::discipline_deadline_notice(
                &crate::domain::schedule::CaseLimit {
                    case_id: w.case_id,
                    unit: w.unit,
                    limit: w.limit,
                    limit_days: w.limit_days,
                    due_on: w.due_on,
                    days_left: w.days_left,
                    warned_on: w.warned_on,
                },
                &self.policy.version,
            );
            let known: BTreeSet<String> = self
                .notices
                .known_ids(&notice.task_id)
                .await?
                .into_iter()
                .collect();
            if known.contains(&notice.notice_id) {
                continue;
            }
            let subject = notice.task_id.clone();
            issued.extend(self.issue(caller, &subject, vec![notice]).await?);
        }
        Ok(issued)
    }

    /// Runs a command on a task's watch, deciding again on the new state when another
    /// evaluator (a replica, the ticker) wrote the stream in between.
    async fn on_watch(
        &self,
        caller: &Caller,
        task_id: &str,
        command: WatchCommand,
        causation: &str,
    ) -> Result<Vec<crate::domain::WatchEvent>, ApiError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let executed = self
                .watches
                .execute(
                    CommandEnvelope {
                        stream_id: task_id.to_owned(),
                        command: command.clone(),
                        expected_version: None,
                        new_stream: false,
                        request: None,
                        metadata: self.metadata(caller, causation),
                    },
                    |_| StoredOutcome {
                        status_code: 0,
                        message: String::new(),
                        body: Vec::new(),
                    },
                )
                .await;
            match executed {
                Ok(Executed::Applied { events, .. }) => return Ok(events),
                Ok(Executed::Replayed(_)) => return Ok(Vec::new()),
                Err(ExecuteError::Conflict { .. }) if attempt < CONFLICT_RETRIES => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }

    async fn issue(
        &self,
        caller: &Caller,
        task_id: &str,
        notices: Vec<Notice>,
    ) -> Result<Vec<Notice>, ApiError> {
        let events = self
            .on_watch(
                caller,
                task_id,
                WatchCommand::Issue(notices),
                "evaluate-deadlines",
            )
            .await?;
        Ok(events
            .into_iter()
            .filter_map(|e| match e {
                crate::domain::WatchEvent::Issued(n) => Some(n),
                _ => None,
            })
            .collect())
    }

    /// Records the outcome of an e-mail delivery in the notice's watch.
    pub async fn record_delivery(&self, delivery: Delivery) -> Result<(), ApiError> {
        let task_id = crate::events::task_of(&delivery.notice_id);
        let caller = Self::system_caller("mailer");
        let causation = delivery.notice_id.clone();
        self.on_watch(
            &caller,
            &task_id,
            WatchCommand::RecordDelivery(delivery),
            &causation,
        )
        .await?;
        self.notices.catch_up().await
    }

    /// Notices the caller may see.
    pub async fn list_notifications(
        &self,
        caller: &Caller,
        rpc: Rpc,
        filter: &NoticeFilter,
    ) -> Result<Vec<pb::Notification>, ApiError> {
        authorize(rpc, caller)?;
        self.notices.list(&audience(caller), filter).await
    }

    /// One task's watch.
    pub async fn get_watch(&self, caller: &Caller, task_id: &str) -> Result<WatchView, ApiError> {
        authorize(Rpc::GetWatch, caller)?;
        let task_id = dondoc_contracts::text::identifier(task_id).ok_or_else(|| {
            ApiError::invalid(
                "task_id",
                "is required: the task's id (at most 128 characters, no control characters)",
            )
        })?;
        let not_found = || ApiError::NotFound(format!("no watch of task {task_id}"));
        let known = self.facts.task(task_id).await?.ok_or_else(not_found)?;
        if caller.role == Role::Unit {
            let unit = caller.unit_code.as_deref().unwrap_or_default();
            if known.task.as_ref().is_none_or(|t| t.lead_unit != unit) {
                // A unit learns nothing of other units' tasks, not even that they exist.
                return Err(not_found());
            }
        }
        let today = business_date(self.clock.now());
        let people = self.people(today).await?;
        let schedule = self.schedule(&known, &people, today);
        let issued = self
            .notices
            .list(
                &crate::consumers::notifications::Audience::Everyone,
                &NoticeFilter {
                    task_id: Some(task_id.to_owned()),
                    limit: 10_000,
                    ..Default::default()
                },
            )
            .await?;
        Ok(WatchView {
            known,
            schedule,
            today,
            issued,
        })
    }

    /// Records a leadership action.
    pub async fn record_leadership_action(
        &self,
        caller: &Caller,
        key: RequestKey,
        request: ActionRequest,
    ) -> Result<pb::LeadershipAction, ApiError> {
        if let Some(first) = self.store.replay(&key).await? {
            return answer(&first);
        }
        authorize(Rpc::RecordLeadershipAction, caller)?;
        let today = business_date(self.clock.now());
        let record = validate_action(caller, &request, today)?;
        let executed = self
            .actions
            .execute(
                CommandEnvelope {
                    stream_id: record.action_id.clone(),
                    command: LeadershipActionCommand::Record(record.clone()),
                    expected_version: None,
                    new_stream: true,
                    request: Some(key.clone()),
                    metadata: self.metadata(caller, &key.request_id),
                },
                |_| StoredOutcome {
                    status_code: 0,
                    message: String::new(),
                    body: action_view(&record).encode_to_vec(),
                },
            )
            .await?;
        self.notices.catch_up().await?;
        match executed {
            Executed::Applied { outcome, .. } | Executed::Replayed(outcome) => answer(&outcome),
        }
    }

    pub async fn list_leadership_actions(
        &self,
        caller: &Caller,
        unit: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<pb::LeadershipAction>, ApiError> {
        authorize(Rpc::ListLeadershipActions, caller)?;
        let unit = match caller.role {
            // A unit sees the actions concerning it.
            Role::Unit => caller.unit_code.as_deref(),
            _ => unit,
        };
        self.notices.actions(unit, from, to).await
    }
}

fn answer(outcome: &StoredOutcome) -> Result<pb::LeadershipAction, ApiError> {
    pb::LeadershipAction::decode(outcome.body.as_slice())
        .map_err(|e| ApiError::Internal(format!("stored outcome unreadable: {e}")))
}

fn action_view(record: &ActionRecord) -> pb::LeadershipAction {
    let m = record.to_proto();
    pb::LeadershipAction {
        action_id: m.action_id,
        kind: m.kind,
        leader_id: m.leader_id,
        units: m.units,
        task_ids: m.task_ids,
        document: m.document,
        recorded_on: m.recorded_on,
        note: m.note,
    }
}

/// Every field checked at once; nothing written when one is wrong.
fn validate_action(
    caller: &Caller,
    request: &ActionRequest,
    today: NaiveDate,
) -> Result<ActionRecord, ApiError> {
    let mut v = Vec::new();
    let kind = ActionKind::parse(request.kind.trim());
    if kind.is_none() {
        v.push(FieldViolation::new(
            "kind",
            "must be reminder (nhắc nhở), criticism (phê bình) or commendation (biểu dương)",
        ));
    }
    let leader_id = match (caller.role, request.leader_id.trim()) {
        (Role::Leader, "") => caller.leader_id.clone().unwrap_or_default(),
        (Role::Leader, given) if Some(given) != caller.leader_id.as_deref() => {
            v.push(FieldViolation::new(
                "leader_id",
                "a leader records only their own actions",
            ));
            String::new()
        }
        (_, "") => {
            v.push(FieldViolation::new(
                "leader_id",
                "is required: the leader who signed the document",
            ));
            String::new()
        }
        (_, given) => given.to_owned(),
    };
    let units: Vec<String> = request.units.iter().map(|u| u.trim().to_owned()).collect();
    if units.is_empty() {
        v.push(FieldViolation::new(
            "units",
            "is required: the units the action concerns",
        ));
    }
    for (i, unit) in units.iter().enumerate() {
        if !dondoc_contracts::text::is_code(unit) {
            v.push(FieldViolation::new(
                &format!("units[{i}]"),
                "is not a unit code (letters, digits, - and _)",
            ));
        }
    }
    let task_ids: Vec<String> = request
        .task_ids
        .iter()
        .map(|t| t.trim().to_owned())
        .collect();
    for (i, task) in task_ids.iter().enumerate() {
        if task.is_empty() || task.len() > 64 {
            v.push(FieldViolation::new(
                &format!("task_ids[{i}]"),
                "is not a task id",
            ));
        }
    }
    let d = &request.document;
    let mut text = |field: &str, raw: &str, lines, required: bool| {
        use dondoc_contracts::text::{optional, required as present};
        let checked = if required {
            present(raw, TEXT_MAX, lines)
        } else {
            optional(raw, TEXT_MAX, lines).map(Option::unwrap_or_default)
        };
        checked.unwrap_or_else(|e| {
            v.push(FieldViolation::new(field, e.to_string()));
            String::new()
        })
    };
    use dondoc_contracts::text::Lines;
    let number = text("document.number", &d.number, Lines::Single, true);
    let symbol = text("document.symbol", &d.symbol, Lines::Single, true);
    let summary = text("document.summary", &d.summary, Lines::Multi, true);
    let note = text("note", &request.note, Lines::Multi, false);
    match NaiveDate::parse_from_str(d.date.trim(), "%Y-%m-%d") {
        Ok(date) if date > today => v.push(FieldViolation::new(
            "document.date",
            "is after today: a document is recorded once it is signed",
        )),
        Ok(_) => {}
        Err(_) => v.push(FieldViolation::new(
            "document.date",
            "must be an ISO date (YYYY-MM-DD)",
        )),
    }
    match kind {
        Some(kind) if v.is_empty() => Ok(ActionRecord {
            action_id: Uuid::now_v7().to_string(),
            kind,
            leader_id,
            units,
            task_ids,
            document: ActionDocument {
                number,
                symbol,
                date: d.date.trim().to_owned(),
                summary,
            },
            recorded_on: today,
            note,
        }),
        _ => Err(ApiError::Invalid(v)),
    }
}
