//! A task's watch (theo dõi, đôn đốc): the notices issued about it and what became of their
//! delivery. Its stream is the guard against issuing a notice twice — whichever replica, ticker
//! or operator evaluates, the notice id is decided once in this stream.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use dondoc_eventsourcing::Aggregate;

/// A notice as issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// `<task>/<kind>-<level or days>/<deadline or item>`: what the notice is about.
    pub notice_id: String,
    pub task_id: String,
    pub kind: String,
    pub level: u32,
    pub due_on: NaiveDate,
    pub deadline: Option<NaiveDate>,
    pub working_days: i32,
    pub lead_unit: String,
    pub recipient_unit: String,
    pub recipient_leader_id: String,
    pub title: String,
    pub text: String,
    pub policy_version: String,
    pub item_id: String,
}

/// A delivery outcome by a channel (e-mail).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub notice_id: String,
    pub channel: String,
    pub address: String,
    pub attempts: u32,
    /// `None`: delivered; otherwise why it gave up.
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchEvent {
    Issued(Notice),
    Delivered(Delivery),
    DeliveryFailed(Delivery),
}

#[derive(Clone, Debug)]
pub enum WatchCommand {
    /// Issue those of these notices not issued yet.
    Issue(Vec<Notice>),
    /// Record a delivery outcome (once per notice and channel).
    RecordDelivery(Delivery),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WatchError {
    #[error("notice {0} was never issued")]
    UnknownNotice(String),
    #[error("notice {notice_id} belongs to task {task_id}, not to this watch")]
    WrongTask { notice_id: String, task_id: String },
}

/// Everything a watch needs to decide: the notices issued, and the deliveries recorded.
#[derive(Clone, Debug, Default)]
pub struct Watch {
    pub issued: BTreeMap<String, Notice>,
    /// `(notice id, channel)` → outcome.
    pub deliveries: BTreeMap<(String, String), Delivery>,
}

impl Aggregate for Watch {
    const TYPE: &'static str = dondoc_contracts::escalation::WATCH_STREAM;
    type Command = WatchCommand;
    type Event = WatchEvent;
    type Error = WatchError;

    fn decide(&self, command: &WatchCommand) -> Result<Vec<WatchEvent>, WatchError> {
        match command {
            WatchCommand::Issue(notices) => {
                let mut seen = std::collections::BTreeSet::new();
                let task = self.issued.values().next().map(|n| n.task_id.clone());
                let mut events = Vec::new();
                for notice in notices {
                    if let Some(task) = &task
                        && *task != notice.task_id
                    {
                        return Err(WatchError::WrongTask {
                            notice_id: notice.notice_id.clone(),
                            task_id: notice.task_id.clone(),
                        });
                    }
                    if self.issued.contains_key(&notice.notice_id)
                        || !seen.insert(notice.notice_id.clone())
                    {
                        continue;
                    }
                    events.push(WatchEvent::Issued(notice.clone()));
                }
                Ok(events)
            }
            WatchCommand::RecordDelivery(delivery) => {
                if !self.issued.contains_key(&delivery.notice_id) {
                    return Err(WatchError::UnknownNotice(delivery.notice_id.clone()));
                }
                let key = (delivery.notice_id.clone(), delivery.channel.clone());
                if self.deliveries.contains_key(&key) {
                    return Ok(Vec::new());
                }
                Ok(vec![match delivery.error {
                    None => WatchEvent::Delivered(delivery.clone()),
                    Some(_) => WatchEvent::DeliveryFailed(delivery.clone()),
                }])
            }
        }
    }

    fn apply(&mut self, event: &WatchEvent) {
        match event {
            WatchEvent::Issued(notice) => {
                self.issued.insert(notice.notice_id.clone(), notice.clone());
            }
            WatchEvent::Delivered(d) | WatchEvent::DeliveryFailed(d) => {
                self.deliveries
                    .insert((d.notice_id.clone(), d.channel.clone()), d.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(id: &str) -> Notice {
        Notice {
            notice_id: format!("t-1/{id}"),
            task_id: "t-1".into(),
            kind: "reminder".into(),
            level: 0,
            due_on: NaiveDate::from_ymd_opt(2026, 3, 2).expect("date"),
            deadline: None,
            working_days: 5,
            lead_unit: "SXD".into(),
            recipient_unit: "SXD".into(),
            recipient_leader_id: String::new(),
            title: "Báo cáo".into(),
            text: "Nhắc hạn".into(),
            policy_version: "2026.1".into(),
            item_id: String::new(),
        }
    }

    #[test]
    fn a_notice_already_issued_is_not_issued_again() {
        let watch = Watch::from_events(&[WatchEvent::Issued(notice("reminder-5/2026-03-09"))]);

        let events = watch
            .decide(&WatchCommand::Issue(vec![
                notice("reminder-5/2026-03-09"),
                notice("reminder-3/2026-03-09"),
                notice("reminder-3/2026-03-09"),
            ]))
            .expect("decided");

        assert_eq!(
            events,
            vec![WatchEvent::Issued(notice("reminder-3/2026-03-09"))]
        );
    }

    #[test]
    fn a_delivery_is_recorded_once_and_only_for_an_issued_notice() {
        let delivery = Delivery {
            notice_id: "t-1/overdue-1/2026-03-09".into(),
            channel: "email".into(),
            address: "sxd@haiphong.gov.vn".into(),
            attempts: 1,
            error: None,
        };
        let watch = Watch::default();
        assert_eq!(
            watch.decide(&WatchCommand::RecordDelivery(delivery.clone())),
            Err(WatchError::UnknownNotice(delivery.notice_id.clone()))
        );

        let watch = Watch::from_events(&[
            WatchEvent::Issued(notice("overdue-1/2026-03-09")),
            WatchEvent::Delivered(delivery.clone()),
        ]);
        assert_eq!(
            watch.decide(&WatchCommand::RecordDelivery(delivery)),
            Ok(Vec::new())
        );
    }
}
