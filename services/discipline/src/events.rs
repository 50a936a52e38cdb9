//! The discipline service's domain events ↔ the published contracts
//! (`dondoc_contracts::discipline`).

use chrono::NaiveDate;
use dondoc_contracts::discipline::{self as contract, DisciplineEvent};
use dondoc_eventsourcing::{DecodeError, DomainEvent, Upcasters};
use dondoc_proto::v1 as pb;

use crate::domain::CaseEvent;
use crate::domain::case::Happened;
use crate::domain::case::{
    Decision, Document, Evidence, Opened, Opinion, Target, Warning, Withdrawal,
};

pub fn upcasters() -> Upcasters {
    contract::upcasters()
}

pub(crate) fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn date(field: &str, raw: &str) -> Result<NaiveDate, DecodeError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| DecodeError::Malformed {
        event_type: "dondoc.discipline".to_owned(),
        reason: format!("{field} is not a date: {raw:?}"),
    })
}

pub fn target_to_proto(t: &Target) -> pb::CaseTarget {
    pb::CaseTarget {
        unit: t.unit.clone(),
        person_name: t.person_name.clone(),
        person_title: t.person_title.clone(),
        group: t.group.clone(),
    }
}

pub fn target_from_proto(t: pb::CaseTarget) -> Target {
    Target {
        unit: t.unit,
        person_name: t.person_name,
        person_title: t.person_title,
        group: t.group,
    }
}

pub fn evidence_to_proto(e: &Evidence) -> pb::CaseEvidence {
    pb::CaseEvidence {
        event_id: e.event_id.clone(),
        source: e.source.clone(),
        kind: e.kind.clone(),
        task_id: e.task_id.clone(),
        unit: e.unit.clone(),
        occurred_on: e.occurred_on.map(iso).unwrap_or_default(),
        days_late: e.days_late,
        detail: e.detail.clone(),
    }
}

pub fn evidence_from_proto(e: pb::CaseEvidence) -> Evidence {
    Evidence {
        occurred_on: NaiveDate::parse_from_str(&e.occurred_on, "%Y-%m-%d").ok(),
        event_id: e.event_id,
        source: e.source,
        kind: e.kind,
        task_id: e.task_id,
        unit: e.unit,
        days_late: e.days_late,
        detail: e.detail,
    }
}

pub fn document_to_proto(d: &Document) -> pb::SourceDocument {
    pb::SourceDocument {
        number: d.number.clone(),
        symbol: d.symbol.clone(),
        date: d.date.clone(),
        summary: d.summary.clone(),
    }
}

pub fn document_from_proto(d: Option<pb::SourceDocument>) -> Document {
    let d = d.unwrap_or_default();
    Document {
        number: d.number,
        symbol: d.symbol,
        date: d.date,
        summary: d.summary,
    }
}

impl CaseEvent {
    /// The published form; the case id (the stream id) is repeated in every payload.
    pub fn to_contract(&self) -> DisciplineEvent {
        let case_id = self.case_id.clone();
        match &self.what {
            Happened::Opened(o) => DisciplineEvent::CaseOpened(pb::CaseOpened {
                case_id: o.case_id.clone(),
                opened_by: o.opened_by.clone(),
                trigger_key: o.trigger_key.clone(),
                policy_version: o.policy_version.clone(),
                target: Some(target_to_proto(&o.target)),
                detected_on: iso(o.detected_on),
                regime: o.regime.clone(),
                allowed_forms: o.allowed_forms.clone(),
                processing_days: o.processing_days,
                extended_processing_days: o.extended_processing_days,
                evidence: o.evidence.iter().map(evidence_to_proto).collect(),
                summary: o.summary.clone(),
                task_ids: o.task_ids.clone(),
                violation_on: iso(o.violation_on),
                limitation_months: o.limitation_months,
            }),
            Happened::Amended {
                summary,
                target,
                added_evidence,
            } => DisciplineEvent::CaseAmended(pb::CaseAmended {
                case_id,
                summary: summary.clone(),
                target: Some(target_to_proto(target)),
                added_evidence: added_evidence.iter().map(evidence_to_proto).collect(),
            }),
            Happened::OpinionRecorded(o) => {
                DisciplineEvent::HomeAffairsOpinionRecorded(pb::HomeAffairsOpinionRecorded {
                    case_id,
                    agrees: o.agrees,
                    recommended_form: o.recommended_form.clone(),
                    opinion: o.opinion.clone(),
                    document: Some(document_to_proto(&o.document)),
                })
            }
            Happened::Submitted { on } => DisciplineEvent::CaseSubmitted(pb::CaseSubmitted {
                case_id,
                submitted_on: iso(*on),
            }),
            Happened::ProcessingExtended {
                reason,
                processing_days,
            } => DisciplineEvent::ProcessingExtended(pb::CaseProcessingExtended {
                case_id,
                reason: reason.clone(),
                processing_days: *processing_days,
            }),
            Happened::Decided(d) => DisciplineEvent::CaseDecided(pb::CaseDecided {
                case_id,
                form: d.form.clone().unwrap_or_default(),
                reasons: d.reasons.clone(),
                decided_on: iso(d.decided_on),
                leader_id: d.leader_id.clone(),
                document: Some(document_to_proto(&d.document)),
            }),
            Happened::Withdrawn(w) => DisciplineEvent::CaseWithdrawn(pb::CaseWithdrawn {
                case_id,
                reason: w.reason.clone(),
                objective_cause: w.objective_cause,
                exempt_task_ids: w.exempt_task_ids.clone(),
                withdrawn_on: iso(w.withdrawn_on),
                unit: w.unit.clone(),
            }),
            Happened::Warned(w) => DisciplineEvent::DeadlineWarning(pb::CaseDeadlineWarning {
                case_id,
                limit: w.limit.as_str().to_owned(),
                limit_days: w.limit_days,
                due_on: iso(w.due_on),
                days_left: w.days_left,
                unit: w.unit.clone(),
            }),
        }
    }

    pub fn from_contract(event: DisciplineEvent) -> Result<Self, DecodeError> {
        let case_id = match &event {
            DisciplineEvent::CaseOpened(m) => m.case_id.clone(),
            DisciplineEvent::CaseAmended(m) => m.case_id.clone(),
            DisciplineEvent::HomeAffairsOpinionRecorded(m) => m.case_id.clone(),
            DisciplineEvent::CaseSubmitted(m) => m.case_id.clone(),
            DisciplineEvent::ProcessingExtended(m) => m.case_id.clone(),
            DisciplineEvent::CaseDecided(m) => m.case_id.clone(),
            DisciplineEvent::CaseWithdrawn(m) => m.case_id.clone(),
            DisciplineEvent::DeadlineWarning(m) => m.case_id.clone(),
            _ => String::new(),
        };
        let what = match event {
            DisciplineEvent::CaseOpened(o) => Happened::Opened(Opened {
                detected_on: date("detected_on", &o.detected_on)?,
                // Cases opened before the limitation was recorded: from the detection day.
                violation_on: if o.violation_on.is_empty() {
                    date("detected_on", &o.detected_on)?
                } else {
                    date("violation_on", &o.violation_on)?
                },
                limitation_months: o.limitation_months,
                case_id: o.case_id,
                opened_by: o.opened_by,
                trigger_key: o.trigger_key,
                policy_version: o.policy_version,
                target: target_from_proto(o.target.unwrap_or_default()),
                regime: o.regime,
                allowed_forms: o.allowed_forms,
                processing_days: o.processing_days,
                extended_processing_days: o.extended_processing_days,
                evidence: o.evidence.into_iter().map(evidence_from_proto).collect(),
                summary: o.summary,
                task_ids: o.task_ids,
            }),
            DisciplineEvent::CaseAmended(a) => Happened::Amended {
                summary: a.summary,
                target: target_from_proto(a.target.unwrap_or_default()),
                added_evidence: a
                    .added_evidence
                    .into_iter()
                    .map(evidence_from_proto)
                    .collect(),
            },
            DisciplineEvent::HomeAffairsOpinionRecorded(o) => Happened::OpinionRecorded(Opinion {
                agrees: o.agrees,
                recommended_form: o.recommended_form,
                opinion: o.opinion,
                document: document_from_proto(o.document),
            }),
            DisciplineEvent::CaseSubmitted(s) => Happened::Submitted {
                on: date("submitted_on", &s.submitted_on)?,
            },
            DisciplineEvent::ProcessingExtended(e) => Happened::ProcessingExtended {
                reason: e.reason,
                processing_days: e.processing_days,
            },
            DisciplineEvent::CaseDecided(d) => Happened::Decided(Decision {
                form: (!d.form.is_empty()).then_some(d.form),
                reasons: d.reasons,
                decided_on: date("decided_on", &d.decided_on)?,
                leader_id: d.leader_id,
                document: document_from_proto(d.document),
            }),
            DisciplineEvent::CaseWithdrawn(w) => Happened::Withdrawn(Withdrawal {
                withdrawn_on: date("withdrawn_on", &w.withdrawn_on)?,
                reason: w.reason,
                objective_cause: w.objective_cause,
                exempt_task_ids: w.exempt_task_ids,
                unit: w.unit,
            }),
            DisciplineEvent::DeadlineWarning(w) => Happened::Warned(Warning {
                limit: crate::domain::case::Limit::parse(&w.limit),
                due_on: date("due_on", &w.due_on)?,
                limit_days: w.limit_days,
                days_left: w.days_left,
                unit: w.unit,
            }),
            other => {
                return Err(DecodeError::UnknownType {
                    event_type: other.event_type().name.to_owned(),
                    schema_version: other.event_type().version,
                });
            }
        };
        Ok(CaseEvent { case_id, what })
    }
}

impl DomainEvent for CaseEvent {
    fn event_type(&self) -> &'static str {
        self.to_contract().event_type().name
    }

    fn schema_version(&self) -> u32 {
        self.to_contract().event_type().version
    }

    fn encode(&self) -> Vec<u8> {
        self.to_contract().encode()
    }

    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        let decoded = DisciplineEvent::decode_current(event_type, schema_version, payload)
            .map_err(|e| DecodeError::Malformed {
                event_type: event_type.to_owned(),
                reason: e.to_string(),
            })?
            .ok_or_else(|| DecodeError::UnknownType {
                event_type: event_type.to_owned(),
                schema_version,
            })?;
        Self::from_contract(decoded)
    }
}

impl DomainEvent for crate::domain::audit::CaseRead {
    fn event_type(&self) -> &'static str {
        contract::CASE_READ.name
    }

    fn schema_version(&self) -> u32 {
        contract::CASE_READ.version
    }

    fn encode(&self) -> Vec<u8> {
        DisciplineEvent::CaseRead(pb::CaseRead {
            case_id: self.case_id.clone(),
            subject: self.subject.clone(),
            role: self.role.clone(),
            how: self.how.clone(),
        })
        .encode()
    }

    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        match DisciplineEvent::decode_current(event_type, schema_version, payload) {
            Ok(Some(DisciplineEvent::CaseRead(m))) => Ok(Self {
                case_id: m.case_id,
                subject: m.subject,
                role: m.role,
                how: m.how,
            }),
            _ => Err(DecodeError::UnknownType {
                event_type: event_type.to_owned(),
                schema_version,
            }),
        }
    }
}
