//! The escalation service's domain events ↔ the published contracts
//! (`dondoc_contracts::escalation`): what is stored in its log is exactly what consumers decode.

use chrono::NaiveDate;
use dondoc_contracts::escalation::{self as contract, EscalationEvent};
use dondoc_eventsourcing::{DecodeError, DomainEvent, Upcasters};
use dondoc_proto::v1 as pb;

use crate::domain::action::{ActionDocument, ActionKind, ActionRecord};
use crate::domain::watch::Delivery;
use crate::domain::{Notice, WatchEvent};

/// Upcasters of the escalation service's older event versions (none yet).
pub fn upcasters() -> Upcasters {
    contract::upcasters()
}

pub(crate) fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn parse_date(event_type: &str, field: &str, raw: &str) -> Result<NaiveDate, DecodeError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| DecodeError::Malformed {
        event_type: event_type.to_owned(),
        reason: format!("{field} is not a date: {raw:?}"),
    })
}

impl Notice {
    pub fn to_proto(&self) -> pb::NoticeIssued {
        pb::NoticeIssued {
            notice_id: self.notice_id.clone(),
            task_id: self.task_id.clone(),
            kind: self.kind.clone(),
            level: self.level,
            due_on: iso(self.due_on),
            deadline: self.deadline.map(iso).unwrap_or_default(),
            working_days: self.working_days,
            lead_unit: self.lead_unit.clone(),
            recipient_unit: self.recipient_unit.clone(),
            recipient_leader_id: self.recipient_leader_id.clone(),
            title: self.title.clone(),
            text: self.text.clone(),
            policy_version: self.policy_version.clone(),
            item_id: self.item_id.clone(),
        }
    }

    /// As shown to people before the read model gives it a cursor.
    pub fn to_notification(&self) -> pb::Notification {
        let m = self.to_proto();
        pb::Notification {
            cursor: 0,
            notice_id: m.notice_id,
            task_id: m.task_id,
            kind: m.kind,
            level: m.level,
            due_on: m.due_on,
            deadline: m.deadline,
            working_days: m.working_days,
            lead_unit: m.lead_unit,
            recipient_unit: m.recipient_unit,
            recipient_leader_id: m.recipient_leader_id,
            title: m.title,
            text: m.text,
            issued_at: None,
            email_status: String::new(),
            item_id: m.item_id,
        }
    }

    pub fn from_proto(m: pb::NoticeIssued) -> Result<Self, DecodeError> {
        let name = contract::NOTICE_ISSUED.name;
        Ok(Notice {
            due_on: parse_date(name, "due_on", &m.due_on)?,
            deadline: if m.deadline.is_empty() {
                None
            } else {
                Some(parse_date(name, "deadline", &m.deadline)?)
            },
            notice_id: m.notice_id,
            task_id: m.task_id,
            kind: m.kind,
            level: m.level,
            working_days: m.working_days,
            lead_unit: m.lead_unit,
            recipient_unit: m.recipient_unit,
            recipient_leader_id: m.recipient_leader_id,
            title: m.title,
            text: m.text,
            policy_version: m.policy_version,
            item_id: m.item_id,
        })
    }
}

impl WatchEvent {
    pub fn to_contract(&self) -> EscalationEvent {
        match self {
            WatchEvent::Issued(notice) => EscalationEvent::NoticeIssued(notice.to_proto()),
            WatchEvent::Delivered(d) => EscalationEvent::NoticeDelivered(pb::NoticeDelivered {
                notice_id: d.notice_id.clone(),
                task_id: task_of(&d.notice_id),
                channel: d.channel.clone(),
                address: d.address.clone(),
                attempts: d.attempts,
            }),
            WatchEvent::DeliveryFailed(d) => {
                EscalationEvent::NoticeDeliveryFailed(pb::NoticeDeliveryFailed {
                    notice_id: d.notice_id.clone(),
                    task_id: task_of(&d.notice_id),
                    channel: d.channel.clone(),
                    address: d.address.clone(),
                    attempts: d.attempts,
                    error: d.error.clone().unwrap_or_default(),
                })
            }
        }
    }
}

/// The task a notice id is about (its first segment).
pub fn task_of(notice_id: &str) -> String {
    notice_id.split('/').next().unwrap_or_default().to_owned()
}

fn not_ours(event_type: &str, schema_version: u32) -> DecodeError {
    DecodeError::UnknownType {
        event_type: event_type.to_owned(),
        schema_version,
    }
}

fn decode_contract(
    event_type: &str,
    schema_version: u32,
    payload: &[u8],
) -> Result<EscalationEvent, DecodeError> {
    EscalationEvent::decode_current(event_type, schema_version, payload)
        .map_err(|e| DecodeError::Malformed {
            event_type: event_type.to_owned(),
            reason: e.to_string(),
        })?
        .ok_or_else(|| not_ours(event_type, schema_version))
}

impl DomainEvent for WatchEvent {
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
        match decode_contract(event_type, schema_version, payload)? {
            EscalationEvent::NoticeIssued(m) => Ok(WatchEvent::Issued(Notice::from_proto(m)?)),
            EscalationEvent::NoticeDelivered(m) => Ok(WatchEvent::Delivered(Delivery {
                notice_id: m.notice_id,
                channel: m.channel,
                address: m.address,
                attempts: m.attempts,
                error: None,
            })),
            EscalationEvent::NoticeDeliveryFailed(m) => Ok(WatchEvent::DeliveryFailed(Delivery {
                notice_id: m.notice_id,
                channel: m.channel,
                address: m.address,
                attempts: m.attempts,
                error: Some(m.error),
            })),
            _ => Err(not_ours(event_type, schema_version)),
        }
    }
}

impl ActionRecord {
    pub fn to_proto(&self) -> pb::LeadershipActionRecorded {
        pb::LeadershipActionRecorded {
            action_id: self.action_id.clone(),
            kind: self.kind.as_str().to_owned(),
            leader_id: self.leader_id.clone(),
            units: self.units.clone(),
            task_ids: self.task_ids.clone(),
            document: Some(pb::SourceDocument {
                number: self.document.number.clone(),
                symbol: self.document.symbol.clone(),
                date: self.document.date.clone(),
                summary: self.document.summary.clone(),
            }),
            recorded_on: iso(self.recorded_on),
            note: self.note.clone(),
        }
    }

    pub fn from_proto(m: pb::LeadershipActionRecorded) -> Result<Self, DecodeError> {
        let name = contract::LEADERSHIP_ACTION_RECORDED.name;
        let kind = ActionKind::parse(&m.kind).ok_or_else(|| DecodeError::Malformed {
            event_type: name.to_owned(),
            reason: format!("unknown kind {:?}", m.kind),
        })?;
        let document = m.document.unwrap_or_default();
        Ok(ActionRecord {
            recorded_on: parse_date(name, "recorded_on", &m.recorded_on)?,
            action_id: m.action_id,
            kind,
            leader_id: m.leader_id,
            units: m.units,
            task_ids: m.task_ids,
            document: ActionDocument {
                number: document.number,
                symbol: document.symbol,
                date: document.date,
                summary: document.summary,
            },
            note: m.note,
        })
    }
}

impl DomainEvent for ActionRecord {
    fn event_type(&self) -> &'static str {
        contract::LEADERSHIP_ACTION_RECORDED.name
    }

    fn schema_version(&self) -> u32 {
        contract::LEADERSHIP_ACTION_RECORDED.version
    }

    fn encode(&self) -> Vec<u8> {
        EscalationEvent::LeadershipActionRecorded(self.to_proto()).encode()
    }

    fn decode(event_type: &str, schema_version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        match decode_contract(event_type, schema_version, payload)? {
            EscalationEvent::LeadershipActionRecorded(m) => ActionRecord::from_proto(m),
            _ => Err(not_ours(event_type, schema_version)),
        }
    }
}
