//! A task's work dossier (hồ sơ công việc, Decree 30/2020): what it holds is read from the
//! task, the registers and the execution; what this aggregate keeps is its lifecycle — open
//! while the work goes on, closed by the Office once the task has ended (kết thúc hồ sơ), then
//! archived (nộp lưu), after which nothing may be added to it or to the task's execution.

use chrono::NaiveDate;

/// Where a dossier stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Dossier {
    #[default]
    Open,
    Closed {
        on: NaiveDate,
    },
    Archived {
        closed_on: NaiveDate,
        on: NaiveDate,
        reference: String,
    },
}

impl Dossier {
    pub fn is_archived(&self) -> bool {
        matches!(self, Dossier::Archived { .. })
    }
}

#[derive(Clone, Debug)]
pub enum DossierCommand {
    Close {
        /// Completed or cancelled.
        task_ended: bool,
        today: NaiveDate,
    },
    Archive {
        today: NaiveDate,
        reference: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DossierEvent {
    pub task_id: String,
    pub what: DossierChange,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DossierChange {
    Closed { on: NaiveDate },
    Archived { on: NaiveDate, reference: String },
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DossierError {
    #[error("the dossier is closed only once the task is completed or cancelled")]
    TaskNotEnded,
    #[error("the dossier is already closed")]
    AlreadyClosed,
    #[error("only a closed dossier is archived")]
    NotClosed,
    /// An archived dossier refuses every change.
    #[error("the dossier was archived: nothing may be added to it or to the task's execution")]
    Archived,
}

impl DossierError {
    pub fn reason(&self) -> &'static str {
        match self {
            DossierError::TaskNotEnded => "TASK_NOT_ENDED",
            DossierError::AlreadyClosed => "DOSSIER_ALREADY_CLOSED",
            DossierError::NotClosed => "DOSSIER_NOT_CLOSED",
            DossierError::Archived => "DOSSIER_ARCHIVED",
        }
    }

    pub fn message_vi(&self) -> String {
        match self {
            DossierError::TaskNotEnded => {
                "Chỉ kết thúc hồ sơ khi nhiệm vụ đã hoàn thành hoặc đã hủy.".into()
            }
            DossierError::AlreadyClosed => "Hồ sơ đã được kết thúc.".into(),
            DossierError::NotClosed => "Chỉ nộp lưu hồ sơ đã kết thúc.".into(),
            DossierError::Archived => "Hồ sơ đã nộp lưu: không được bổ sung hay thay đổi.".into(),
        }
    }
}

/// The command carries the task id for the events.
#[derive(Clone, Debug)]
pub struct DossierRequest {
    pub task_id: String,
    pub command: DossierCommand,
}

impl dondoc_eventsourcing::Aggregate for Dossier {
    const TYPE: &'static str = dondoc_contracts::progress::DOSSIER_STREAM;
    type Command = DossierRequest;
    type Event = DossierEvent;
    type Error = DossierError;

    fn decide(&self, request: &DossierRequest) -> Result<Vec<DossierEvent>, DossierError> {
        let what = match (&request.command, self) {
            (_, Dossier::Archived { .. }) => return Err(DossierError::Archived),
            (DossierCommand::Close { task_ended, today }, Dossier::Open) => {
                if !task_ended {
                    return Err(DossierError::TaskNotEnded);
                }
                DossierChange::Closed { on: *today }
            }
            (DossierCommand::Close { .. }, Dossier::Closed { .. }) => {
                return Err(DossierError::AlreadyClosed);
            }
            (DossierCommand::Archive { .. }, Dossier::Open) => {
                return Err(DossierError::NotClosed);
            }
            (DossierCommand::Archive { today, reference }, Dossier::Closed { .. }) => {
                DossierChange::Archived {
                    on: *today,
                    reference: reference.clone(),
                }
            }
        };
        Ok(vec![DossierEvent {
            task_id: request.task_id.clone(),
            what,
        }])
    }

    fn apply(&mut self, event: &DossierEvent) {
        *self = match (&event.what, &*self) {
            (DossierChange::Closed { on }, _) => Dossier::Closed { on: *on },
            (DossierChange::Archived { on, reference }, Dossier::Closed { on: closed_on }) => {
                Dossier::Archived {
                    closed_on: *closed_on,
                    on: *on,
                    reference: reference.clone(),
                }
            }
            (DossierChange::Archived { on, reference }, _) => Dossier::Archived {
                closed_on: *on,
                on: *on,
                reference: reference.clone(),
            },
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dondoc_eventsourcing::Aggregate;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).expect("date")
    }

    fn run(state: &Dossier, command: DossierCommand) -> Result<Dossier, DossierError> {
        let events = state.decide(&DossierRequest {
            task_id: "t".into(),
            command,
        })?;
        let mut after = state.clone();
        for e in &events {
            after.apply(e);
        }
        Ok(after)
    }

    #[test]
    fn a_dossier_closes_when_the_task_ended_then_is_archived_and_then_refuses_everything() {
        let close = |ended| DossierCommand::Close {
            task_ended: ended,
            today: day(2),
        };
        let archive = || DossierCommand::Archive {
            today: day(3),
            reference: "MLHS-2026-15".into(),
        };
        assert_eq!(
            run(&Dossier::Open, close(false)),
            Err(DossierError::TaskNotEnded)
        );
        assert_eq!(run(&Dossier::Open, archive()), Err(DossierError::NotClosed));
        let closed = run(&Dossier::Open, close(true)).expect("closed");
        let archived = run(&closed, archive()).expect("archived");
        assert!(archived.is_archived());
        assert_eq!(run(&archived, close(true)), Err(DossierError::Archived));
        assert_eq!(run(&archived, archive()), Err(DossierError::Archived));
    }
}
