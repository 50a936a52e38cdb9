//! The command and query handlers of the discipline service: what each call does, in domain
//! terms, whatever brought it (a gRPC call, the drafter, the clock ticker).
//!
//! Every change reads the same way: replay first (AIP-155), authorise (the table, then the
//! Chairman for a decision), validate every field at once (nothing written on refusal), run
//! through the case's stream. Every read of a case — in full or not — is recorded in the
//! case's audit stream before it is answered.

pub mod error;
pub mod policy;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use dondoc_eventsourcing::clock::business_date;
use dondoc_eventsourcing::repository::{CommandEnvelope, ExecuteError, Executed, Repository};
use dondoc_eventsourcing::{Actor, EventMetadata, EventStore, RequestKey, StoredOutcome};
use dondoc_runtime::auth::{Principal, Role};
use dondoc_runtime::clock::SharedClock;
use uuid::Uuid;

use crate::consumers::cases::CasesReader;
use crate::consumers::evidence::{FactsReader, Trigger};
use crate::domain::audit::{CaseAudit, CaseRead};
use crate::domain::case::{Decision, Document, Evidence, Opened, Opinion, Target, Warning};
use crate::domain::law::GROUPS;
use crate::domain::{Case, CaseCommand, CaseEvent, DraftingPolicy, FieldViolation, Happened, Law};
use error::ApiError;
use policy::{Rpc, authorize};

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

/// A case as shown to a caller.
#[derive(Clone, Debug)]
pub struct CaseView {
    pub case_id: String,
    pub case: Case,
    pub version: u64,
    /// Only that it exists, of which unit, and its state.
    pub redacted: bool,
    pub today: NaiveDate,
}

/// A new case, as received.
#[derive(Clone, Debug, Default)]
pub struct OpenRequest {
    pub target: Target,
    pub detected_on: String,
    pub summary: String,
    pub task_ids: Vec<String>,
    pub evidence_event_ids: Vec<String>,
}

/// A change to a case, as received.
#[derive(Clone, Debug)]
pub enum CaseChange {
    Amend {
        summary: String,
        target: Option<Target>,
        add_evidence_event_ids: Vec<String>,
    },
    Opinion {
        agrees: bool,
        recommended_form: String,
        opinion: String,
        document: Document,
    },
    Submit,
    Extend {
        reason: String,
    },
    Decide {
        form: String,
        reasons: String,
        document: Document,
    },
    Withdraw {
        reason: String,
        objective_cause: bool,
    },
}

impl CaseChange {
    pub fn rpc(&self) -> Rpc {
        match self {
            CaseChange::Amend { .. } => Rpc::AmendCase,
            CaseChange::Opinion { .. } => Rpc::RecordHomeAffairsOpinion,
            CaseChange::Submit => Rpc::SubmitToChairman,
            CaseChange::Extend { .. } => Rpc::ExtendProcessing,
            CaseChange::Decide { .. } => Rpc::DecideCase,
            CaseChange::Withdraw { .. } => Rpc::WithdrawCase,
        }
    }
}

const TEXT_MAX: usize = 4_000;

/// A text field by the shared rules (NFC, no control characters, at most `TEXT_MAX`).
fn text(v: &mut Vec<FieldViolation>, field: &str, raw: &str, required: bool) -> String {
    use dondoc_contracts::text::{Lines, optional, required as present};
    let checked = if required {
        present(raw, TEXT_MAX, Lines::Multi)
    } else {
        optional(raw, TEXT_MAX, Lines::Multi).map(Option::unwrap_or_default)
    };
    checked.unwrap_or_else(|e| {
        v.push(FieldViolation::new(field, e.to_string()));
        String::new()
    })
}

/// The day of the earliest evidence: when the violation began.
fn earliest(evidence: &[Evidence]) -> Option<NaiveDate> {
    evidence.iter().filter_map(|e| e.occurred_on).min()
}

/// The outcome saved for a retry: the case and its version.
fn outcome(case_id: &str, version: u64) -> StoredOutcome {
    StoredOutcome {
        status_code: 0,
        message: case_id.to_owned(),
        body: version.to_le_bytes().to_vec(),
    }
}

/// The handlers and what they share.
#[derive(Clone)]
pub struct Handlers {
    cases: Repository<Case>,
    audits: Repository<CaseAudit>,
    store: EventStore,
    facts: FactsReader,
    list: CasesReader,
    law: Arc<Law>,
    policy: Arc<DraftingPolicy>,
    clock: SharedClock,
}

impl Handlers {
    pub fn new(
        store: EventStore,
        facts: FactsReader,
        list: CasesReader,
        law: Arc<Law>,
        policy: Arc<DraftingPolicy>,
        clock: SharedClock,
    ) -> Self {
        Self {
            cases: Repository::new(store.clone()),
            audits: Repository::new(store.clone()),
            store,
            facts,
            list,
            law,
            policy,
            clock,
        }
    }

    /// The caller the service's own loops act as: the Office's drafting desk.
    pub fn system_caller(what: &str) -> Caller {
        Caller {
            principal: Principal {
                subject: format!("system:discipline-{what}"),
                role: Role::Office,
                unit_code: None,
                leader_id: None,
            },
            correlation_id: Uuid::now_v7().to_string(),
        }
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

    fn today(&self) -> NaiveDate {
        business_date(self.clock.now())
    }

    /// The unit's head as the default target (from the unit directory).
    async fn default_target(&self, unit: &str, group: &str) -> Result<Target, ApiError> {
        let title = match self.facts.unit(unit).await? {
            Some((name, head)) if !head.is_empty() => format!("{head} {name}"),
            Some((name, _)) => format!("Thủ trưởng {name}"),
            None => format!("Thủ trưởng đơn vị {unit}"),
        };
        Ok(Target {
            unit: unit.to_owned(),
            person_name: String::new(),
            person_title: title,
            group: group.to_owned(),
        })
    }

    async fn evidence_by_ids(
        &self,
        v: &mut Vec<FieldViolation>,
        field: &str,
        ids: &[String],
    ) -> Result<Vec<Evidence>, ApiError> {
        let mut out = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            match self.facts.evidence(id.trim()).await? {
                Some(e) => out.push(e),
                None => v.push(FieldViolation::new(
                    &format!("{field}[{i}]"),
                    "is not an event this service holds as evidence",
                )),
            }
        }
        Ok(out)
    }

    async fn run(
        &self,
        caller: &Caller,
        case_id: &str,
        command: CaseCommand,
        key: Option<RequestKey>,
        new_stream: bool,
        expected_version: Option<u64>,
    ) -> Result<CaseView, ApiError> {
        let causation = key
            .as_ref()
            .map(|k| k.request_id.clone())
            .unwrap_or_default();
        let executed = self
            .cases
            .execute(
                CommandEnvelope {
                    stream_id: case_id.to_owned(),
                    command,
                    expected_version,
                    new_stream,
                    request: key,
                    metadata: self.metadata(caller, &causation),
                },
                |decision| outcome(case_id, decision.new_version),
            )
            .await?;
        let case_id = match &executed {
            Executed::Applied { .. } => case_id.to_owned(),
            Executed::Replayed(first) => first.message.clone(),
        };
        self.list.catch_up().await?;
        self.view(&case_id, false).await
    }

    async fn view(&self, case_id: &str, redacted: bool) -> Result<CaseView, ApiError> {
        let loaded = self.cases.load(case_id).await?;
        if loaded.state.opened.is_none() {
            return Err(ApiError::NotFound(format!("no case {case_id}")));
        }
        Ok(CaseView {
            case_id: case_id.to_owned(),
            case: loaded.state,
            version: loaded.version,
            redacted,
            today: self.today(),
        })
    }

    /// The Office opens a case by hand.
    pub async fn open_case(
        &self,
        caller: &Caller,
        key: RequestKey,
        request: OpenRequest,
    ) -> Result<CaseView, ApiError> {
        if let Some(first) = self.store.replay(&key).await? {
            return self.view(&first.message, false).await;
        }
        authorize(Rpc::OpenCase, caller)?;
        let today = self.today();
        let mut v = Vec::new();
        let unit = request.target.unit.trim().to_owned();
        if !dondoc_contracts::text::is_code(&unit) {
            v.push(FieldViolation::new(
                "target.unit",
                "is required: a unit code",
            ));
        }
        let group = request.target.group.trim();
        let group = if group.is_empty() {
            self.policy.default_group.clone()
        } else {
            group.to_owned()
        };
        if !GROUPS.contains(&group.as_str()) {
            v.push(FieldViolation::new(
                "target.group",
                format!("must be one of {}", GROUPS.join(", ")),
            ));
        }
        let detected_on = match request.detected_on.trim() {
            "" => Some(today),
            raw => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(d) if d > today => {
                    v.push(FieldViolation::new("detected_on", "is after today"));
                    None
                }
                Ok(d) => Some(d),
                Err(_) => {
                    v.push(FieldViolation::new(
                        "detected_on",
                        "must be an ISO date (YYYY-MM-DD)",
                    ));
                    None
                }
            },
        };
        let summary = text(&mut v, "summary", &request.summary, true);
        for (i, task) in request.task_ids.iter().enumerate() {
            if task.trim().is_empty() || task.len() > 64 {
                v.push(FieldViolation::new(
                    &format!("task_ids[{i}]"),
                    "is not a task id",
                ));
            }
        }
        let evidence = self
            .evidence_by_ids(&mut v, "evidence_event_ids", &request.evidence_event_ids)
            .await?;
        let regime = detected_on.and_then(|d| self.law.regime(&group, d).cloned());
        if detected_on.is_some() && regime.is_none() && GROUPS.contains(&group.as_str()) {
            v.push(FieldViolation::new(
                "detected_on",
                "no legal regime of discipline is known for that day",
            ));
        }
        let (Some(detected_on), Some(regime), true) = (detected_on, regime, v.is_empty()) else {
            return Err(ApiError::Invalid(v));
        };
        let mut target = self.default_target(&unit, &group).await?;
        if !request.target.person_title.trim().is_empty() {
            target.person_title = request.target.person_title.trim().to_owned();
        }
        target.person_name = request.target.person_name.trim().to_owned();
        let case_id = Uuid::now_v7().to_string();
        let violation_on = earliest(&evidence).unwrap_or(detected_on).min(detected_on);
        let opened = Opened {
            violation_on,
            limitation_months: regime.limitation_months_light,
            case_id: case_id.clone(),
            opened_by: "office".into(),
            trigger_key: String::new(),
            policy_version: String::new(),
            target,
            detected_on,
            regime: regime.id.clone(),
            allowed_forms: regime.form_codes(),
            processing_days: regime.processing_days,
            extended_processing_days: regime.extended_processing_days,
            evidence,
            summary,
            task_ids: request
                .task_ids
                .iter()
                .map(|t| t.trim().to_owned())
                .collect(),
        };
        self.run(
            caller,
            &case_id,
            CaseCommand::Open(opened),
            Some(key),
            true,
            None,
        )
        .await
    }

    /// Drafts a case for every trigger of the policy that has none yet; the number drafted.
    /// A trigger's key is the request id of its draft, so the same facts never open two
    /// cases, whichever replica drafts and however often.
    ///
    /// Counted are the cases this call opened: a trigger another replica (or the periodic
    /// drafter) was drafting at the same moment comes back as its case, marked, not counted.
    pub async fn draft_pending(&self) -> Result<usize, ApiError> {
        let mut drafted = 0;
        for trigger in self.facts.pending_triggers().await? {
            let (case_id, opened_here) = self.draft(&trigger).await?;
            self.facts.mark_drafted(&trigger.key, &case_id).await?;
            drafted += usize::from(opened_here);
        }
        Ok(drafted)
    }

    /// The case drafted for `trigger`, and whether this call opened it (not found it opened).
    async fn draft(&self, trigger: &Trigger) -> Result<(String, bool), ApiError> {
        let key = RequestKey {
            request_id: format!("policy:{}", trigger.key),
            fingerprint: format!("discipline-draft:{}", trigger.key),
        };
        if let Some(first) = self.store.replay(&key).await? {
            return Ok((first.message, false));
        }
        let group = self.policy.default_group.clone();
        let Some(regime) = self.law.regime(&group, trigger.detected_on).cloned() else {
            return Err(ApiError::Internal(format!(
                "no legal regime for {group} on {}",
                trigger.detected_on
            )));
        };
        let target = self.default_target(&trigger.unit, &group).await?;
        let evidence = self.facts.evidence_of_tasks(&trigger.task_ids).await?;
        let summary = if trigger.key.starts_with("escalation:") {
            format!(
                "Dự thảo đề nghị xem xét trách nhiệm: nhiệm vụ do {} chủ trì đã quá hạn đến mức \
                 báo cáo Chủ tịch UBND thành phố.",
                target.person_title
            )
        } else {
            format!(
                "Dự thảo đề nghị xem xét trách nhiệm: {} có {} nhiệm vụ quá hạn trong kỳ báo cáo.",
                target.person_title,
                trigger.task_ids.len()
            )
        };
        let case_id = Uuid::now_v7().to_string();
        let violation_on = earliest(&evidence)
            .unwrap_or(trigger.detected_on)
            .min(trigger.detected_on);
        let opened = Opened {
            violation_on,
            limitation_months: regime.limitation_months_light,
            case_id: case_id.clone(),
            opened_by: "policy".into(),
            trigger_key: trigger.key.clone(),
            policy_version: self.policy.version.clone(),
            target,
            detected_on: trigger.detected_on,
            regime: regime.id.clone(),
            allowed_forms: regime.form_codes(),
            processing_days: regime.processing_days,
            extended_processing_days: regime.extended_processing_days,
            evidence,
            summary,
            task_ids: trigger.task_ids.clone(),
        };
        let caller = Self::system_caller("drafter");
        let view = self
            .run(
                &caller,
                &case_id,
                CaseCommand::Open(opened),
                Some(key),
                true,
                None,
            )
            .await?;
        // A concurrent draft of the same trigger committed first: its case comes back.
        let opened_here = view.case_id == case_id;
        Ok((view.case_id, opened_here))
    }

    /// A change to a case.
    pub async fn change(
        &self,
        caller: &Caller,
        key: RequestKey,
        case_id: &str,
        expected_version: u64,
        change: CaseChange,
    ) -> Result<CaseView, ApiError> {
        if let Some(first) = self.store.replay(&key).await? {
            return self.view(&first.message, false).await;
        }
        authorize(change.rpc(), caller)?;
        let case_id = case_id.trim();
        if case_id.is_empty() {
            return Err(ApiError::invalid("case_id", "is required"));
        }
        let today = self.today();
        let mut v = Vec::new();
        let command = match change {
            CaseChange::Amend {
                summary,
                target,
                add_evidence_event_ids,
            } => {
                let summary = text(&mut v, "summary", &summary, false);
                let target = match target {
                    Some(t) if !t.unit.trim().is_empty() => {
                        if !dondoc_contracts::text::is_code(t.unit.trim()) {
                            v.push(FieldViolation::new("target.unit", "is not a unit code"));
                        }
                        if !GROUPS.contains(&t.group.trim()) {
                            v.push(FieldViolation::new(
                                "target.group",
                                format!("must be one of {}", GROUPS.join(", ")),
                            ));
                        }
                        Some(Target {
                            unit: t.unit.trim().to_owned(),
                            person_name: t.person_name.trim().to_owned(),
                            person_title: t.person_title.trim().to_owned(),
                            group: t.group.trim().to_owned(),
                        })
                    }
                    _ => None,
                };
                let add_evidence = self
                    .evidence_by_ids(&mut v, "add_evidence_event_ids", &add_evidence_event_ids)
                    .await?;
                CaseCommand::Amend {
                    summary: (!summary.is_empty()).then_some(summary),
                    target,
                    add_evidence,
                }
            }
            CaseChange::Opinion {
                agrees,
                recommended_form,
                opinion,
                document,
            } => CaseCommand::RecordOpinion(Opinion {
                agrees,
                recommended_form: recommended_form.trim().to_owned(),
                opinion: text(&mut v, "opinion", &opinion, true),
                document,
            }),
            CaseChange::Submit => CaseCommand::Submit { today },
            CaseChange::Extend { reason } => CaseCommand::ExtendProcessing {
                reason: text(&mut v, "reason", &reason, true),
            },
            CaseChange::Decide {
                form,
                reasons,
                document,
            } => {
                let leader = caller.leader_id.clone().unwrap_or_default();
                if !self.facts.is_chairman(&leader, today).await? {
                    return Err(ApiError::denied(
                        "NOT_THE_CHAIRMAN",
                        "only the Chairman of the City People's Committee decides discipline",
                        "Chỉ Chủ tịch UBND thành phố quyết định kỷ luật.",
                    ));
                }
                CaseCommand::Decide(Decision {
                    form: (!form.trim().is_empty()).then(|| form.trim().to_owned()),
                    reasons: text(&mut v, "reasons", &reasons, true),
                    decided_on: today,
                    leader_id: leader,
                    document,
                })
            }
            CaseChange::Withdraw {
                reason,
                objective_cause,
            } => CaseCommand::Withdraw {
                reason: text(&mut v, "reason", &reason, true),
                objective_cause,
                today,
            },
        };
        if !v.is_empty() {
            return Err(ApiError::Invalid(v));
        }
        self.run(
            caller,
            case_id,
            command,
            Some(key),
            false,
            (expected_version > 0).then_some(expected_version),
        )
        .await
    }

    /// Whether the caller reads cases in full (personal data): the Office, Home Affairs, the
    /// Chairman of the day.
    async fn reads_in_full(&self, caller: &Caller) -> Result<bool, ApiError> {
        Ok(match caller.role {
            Role::Office | Role::HomeAffairs => true,
            Role::Leader => {
                let leader = caller.leader_id.as_deref().unwrap_or_default();
                self.facts.is_chairman(leader, self.today()).await?
            }
            Role::Unit | Role::Admin => false,
        })
    }

    async fn audit(&self, caller: &Caller, case_id: &str, how: &str) -> Result<(), ApiError> {
        // Reads of one case append to one stream: another read recorded at the same moment is
        // a conflict, retried on the new state a few times.
        for attempt in 1..=5 {
            let read = CaseRead {
                case_id: case_id.to_owned(),
                subject: caller.subject.clone(),
                role: caller.role.as_str().to_owned(),
                how: how.to_owned(),
            };
            let executed = self
                .audits
                .execute(
                    CommandEnvelope {
                        // Stream ids are unique across stream types: the audit has its own.
                        stream_id: format!("audit-{case_id}"),
                        command: read,
                        expected_version: None,
                        new_stream: false,
                        request: None,
                        metadata: self.metadata(caller, how),
                    },
                    |_| outcome(case_id, 0),
                )
                .await;
            match executed {
                Ok(_) => return Ok(()),
                Err(ExecuteError::Conflict { .. }) if attempt < 5 => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    /// One case, as the caller may see it; the read is recorded.
    pub async fn get_case(&self, caller: &Caller, case_id: &str) -> Result<CaseView, ApiError> {
        authorize(Rpc::GetCase, caller)?;
        let case_id = dondoc_contracts::text::identifier(case_id).ok_or_else(|| {
            ApiError::invalid(
                "case_id",
                "is required: the case's id (at most 128 characters, no control characters)",
            )
        })?;
        let full = self.reads_in_full(caller).await?;
        let view = self.view(case_id, !full).await?;
        if caller.role == Role::Unit
            && caller.unit_code.as_deref() != Some(view.case.target.unit.as_str())
        {
            // Another unit's case: not even its existence.
            return Err(ApiError::NotFound(format!("no case {case_id}")));
        }
        self.audit(caller, case_id, "GetCase").await?;
        Ok(view)
    }

    /// Cases, as the caller may see them; each read is recorded.
    pub async fn list_cases(
        &self,
        caller: &Caller,
        unit: Option<&str>,
        state: Option<&str>,
    ) -> Result<Vec<CaseView>, ApiError> {
        authorize(Rpc::ListCases, caller)?;
        let unit = match caller.role {
            Role::Unit => caller.unit_code.as_deref(),
            _ => unit,
        };
        let full = self.reads_in_full(caller).await?;
        let mut out = Vec::new();
        for row in self.list.list(unit, state).await? {
            self.audit(caller, &row.case_id, "ListCases").await?;
            out.push(self.view(&row.case_id, !full).await?);
        }
        Ok(out)
    }

    /// Who read a case, when.
    pub async fn case_audit(
        &self,
        caller: &Caller,
        case_id: &str,
    ) -> Result<Vec<dondoc_proto::v1::CaseAuditEntry>, ApiError> {
        authorize(Rpc::GetCaseAudit, caller)?;
        if caller.role == Role::Leader && !self.reads_in_full(caller).await? {
            return Err(ApiError::denied(
                "NOT_THE_CHAIRMAN",
                "only the Chairman among the leaders reads the audit of a case",
                "Chỉ Chủ tịch UBND thành phố xem nhật ký truy cập hồ sơ.",
            ));
        }
        self.view(case_id.trim(), true).await?;
        self.list.catch_up().await?;
        self.list.reads(case_id.trim()).await
    }

    /// Warns of every limit drawing near by `as_of` (default: now); the warnings issued.
    pub async fn evaluate_clocks(
        &self,
        caller: &Caller,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<Vec<(String, Warning)>, ApiError> {
        authorize(Rpc::EvaluateCaseClocks, caller)?;
        let today = business_date(as_of.unwrap_or_else(|| self.clock.now()));
        let mut warnings = Vec::new();
        for row in self.list.list(None, None).await? {
            if matches!(row.state.as_str(), "decided" | "withdrawn") {
                continue;
            }
            let executed = self
                .cases
                .execute(
                    CommandEnvelope {
                        stream_id: row.case_id.clone(),
                        command: CaseCommand::EvaluateClock {
                            today,
                            warn_days_before: self.policy.warn_days_before,
                        },
                        expected_version: None,
                        new_stream: false,
                        request: None,
                        metadata: self.metadata(caller, "evaluate-case-clocks"),
                    },
                    |d| outcome(&row.case_id, d.new_version),
                )
                .await;
            let events = match executed {
                Ok(Executed::Applied { events, .. }) => events,
                Ok(Executed::Replayed(_)) => Vec::new(),
                // Changed meanwhile: the next evaluation sees it.
                Err(ExecuteError::Conflict { .. }) => Vec::new(),
                Err(error) => return Err(error.into()),
            };
            for CaseEvent { case_id, what } in events {
                if let Happened::Warned(w) = what {
                    warnings.push((case_id, w));
                }
            }
        }
        Ok(warnings)
    }
}
