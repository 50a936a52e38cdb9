//! A discipline case (hồ sơ đề nghị xử lý kỷ luật) and its workflow: the Office drafts and
//! edits → Home Affairs gives its opinion → the Office submits to the Chairman → the Chairman
//! decides (a form allowed by the case's regime, or no discipline, with reasons) — or the
//! Office withdraws. A decided or withdrawn case never changes again. The clock runs from the
//! day the violation was detected to the decision: the regime's limit, or its extended limit
//! for a complex case.

use std::collections::BTreeSet;

use chrono::{Days, NaiveDate};
use dondoc_eventsourcing::Aggregate;

/// Where a case stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CaseState {
    #[default]
    Draft,
    OpinionGiven,
    Submitted,
    Decided,
    Withdrawn,
}

impl CaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Draft => "draft",
            CaseState::OpinionGiven => "opinion_given",
            CaseState::Submitted => "submitted",
            CaseState::Decided => "decided",
            CaseState::Withdrawn => "withdrawn",
        }
    }

    pub fn is_closed(self) -> bool {
        matches!(self, CaseState::Decided | CaseState::Withdrawn)
    }
}

/// Whom the case is about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    pub unit: String,
    pub person_name: String,
    pub person_title: String,
    pub group: String,
}

/// One claim of the case, traceable to an event in a service's log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evidence {
    pub event_id: String,
    pub source: String,
    pub kind: String,
    pub task_id: String,
    pub unit: String,
    pub occurred_on: Option<NaiveDate>,
    pub days_late: u32,
    pub detail: String,
}

/// Số, ký hiệu, ngày, trích yếu of a document of the case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Document {
    pub number: String,
    pub symbol: String,
    pub date: String,
    pub summary: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Opened {
    pub case_id: String,
    /// "policy" or "office".
    pub opened_by: String,
    pub trigger_key: String,
    pub policy_version: String,
    pub target: Target,
    pub detected_on: NaiveDate,
    pub regime: String,
    pub allowed_forms: Vec<String>,
    pub processing_days: u32,
    pub extended_processing_days: u32,
    pub evidence: Vec<Evidence>,
    pub summary: String,
    pub task_ids: Vec<String>,
    /// The day of the violation: the limitation period runs from it.
    pub violation_on: NaiveDate,
    /// The regime's shortest limitation period, months (0: none known).
    pub limitation_months: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opinion {
    pub agrees: bool,
    pub recommended_form: String,
    pub opinion: String,
    pub document: Document,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// `None`: no discipline.
    pub form: Option<String>,
    pub reasons: String,
    pub decided_on: NaiveDate,
    pub leader_id: String,
    pub document: Document,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    pub reason: String,
    pub objective_cause: bool,
    pub exempt_task_ids: Vec<String>,
    pub withdrawn_on: NaiveDate,
    pub unit: String,
}

/// Which legal limit a warning is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Limit {
    /// From detection to decision (90 days, 150 when extended).
    Processing,
    /// Thời hiệu: from the violation, in months.
    Limitation,
}

impl Limit {
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Processing => "processing",
            Limit::Limitation => "limitation",
        }
    }

    pub fn parse(raw: &str) -> Self {
        match raw {
            "limitation" => Limit::Limitation,
            _ => Limit::Processing,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub limit: Limit,
    /// The limit's length in days.
    pub limit_days: u32,
    pub due_on: NaiveDate,
    pub days_left: u32,
    pub unit: String,
}

/// Something that happened to a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseEvent {
    pub case_id: String,
    pub what: Happened,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Happened {
    Opened(Opened),
    Amended {
        summary: String,
        target: Target,
        added_evidence: Vec<Evidence>,
    },
    OpinionRecorded(Opinion),
    Submitted {
        on: NaiveDate,
    },
    ProcessingExtended {
        reason: String,
        processing_days: u32,
    },
    Decided(Decision),
    Withdrawn(Withdrawal),
    Warned(Warning),
}

#[derive(Clone, Debug)]
pub enum CaseCommand {
    Open(Opened),
    Amend {
        summary: Option<String>,
        target: Option<Target>,
        add_evidence: Vec<Evidence>,
    },
    RecordOpinion(Opinion),
    Submit {
        today: NaiveDate,
    },
    ExtendProcessing {
        reason: String,
    },
    Decide(Decision),
    Withdraw {
        reason: String,
        objective_cause: bool,
        today: NaiveDate,
    },
    /// Warns of the limit in force if `today` is within `warn_days_before` of it.
    EvaluateClock {
        today: NaiveDate,
        warn_days_before: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("case {0} already exists")]
    AlreadyOpened(String),
    #[error("no such case")]
    NotOpened,
    #[error("the case is {0} and can no longer change")]
    Closed(&'static str),
    #[error("the case is {0}: only a draft is amended or given an opinion")]
    NotADraft(&'static str),
    #[error("Home Affairs has not given its opinion yet")]
    NoOpinion,
    #[error("the case has not been submitted to the Chairman")]
    NotSubmitted,
    #[error("form {form:?} is not one of the case's forms ({allowed})")]
    FormNotAllowed { form: String, allowed: String },
    #[error("the processing limit is already extended")]
    AlreadyExtended,
}

impl CaseError {
    /// `google.rpc.ErrorInfo.reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            CaseError::AlreadyOpened(_) => "CASE_EXISTS",
            CaseError::NotOpened => "NO_CASE",
            CaseError::Closed(_) => "CASE_CLOSED",
            CaseError::NotADraft(_) => "CASE_NOT_A_DRAFT",
            CaseError::NoOpinion => "NO_HOME_AFFAIRS_OPINION",
            CaseError::NotSubmitted => "CASE_NOT_SUBMITTED",
            CaseError::FormNotAllowed { .. } => "FORM_NOT_ALLOWED",
            CaseError::AlreadyExtended => "PROCESSING_ALREADY_EXTENDED",
        }
    }

    pub fn message_vi(&self) -> String {
        match self {
            CaseError::AlreadyOpened(_) => "Hồ sơ đã tồn tại.".into(),
            CaseError::NotOpened => "Không có hồ sơ này.".into(),
            CaseError::Closed(_) => {
                "Hồ sơ đã có quyết định hoặc đã rút, không thể thay đổi.".into()
            }
            CaseError::NotADraft(_) => "Chỉ hồ sơ dự thảo mới được sửa hoặc cho ý kiến.".into(),
            CaseError::NoOpinion => "Sở Nội vụ chưa có ý kiến.".into(),
            CaseError::NotSubmitted => "Hồ sơ chưa được trình Chủ tịch UBND thành phố.".into(),
            CaseError::FormNotAllowed { allowed, .. } => {
                format!("Hình thức kỷ luật không đúng quy định; các hình thức: {allowed}.")
            }
            CaseError::AlreadyExtended => "Thời hạn xử lý đã được kéo dài.".into(),
        }
    }
}

/// A case as its events made it.
#[derive(Clone, Debug, Default)]
pub struct Case {
    pub opened: Option<Opened>,
    pub state: CaseState,
    pub summary: String,
    pub target: Target,
    pub evidence: Vec<Evidence>,
    pub processing_days: u32,
    pub extended: bool,
    pub opinion: Option<Opinion>,
    pub submitted_on: Option<NaiveDate>,
    pub decision: Option<Decision>,
    pub withdrawal: Option<Withdrawal>,
    /// Limits warned of, by kind and length in days.
    pub warned: BTreeSet<(Limit, u32)>,
}

impl Case {
    /// The last day for the decision under the limit in force.
    pub fn decide_by(&self) -> Option<NaiveDate> {
        let opened = self.opened.as_ref()?;
        opened
            .detected_on
            .checked_add_days(Days::new(u64::from(self.processing_days)))
    }

    /// The last day of the shortest limitation period.
    pub fn limitation_ends_on(&self) -> Option<NaiveDate> {
        let opened = self.opened.as_ref()?;
        if opened.limitation_months == 0 {
            return None;
        }
        opened
            .violation_on
            .checked_add_months(chrono::Months::new(opened.limitation_months))
    }

    /// The limits in force: (kind, length in days, last day).
    fn limits(&self) -> Vec<(Limit, u32, NaiveDate)> {
        let mut limits = Vec::new();
        if let Some(due) = self.decide_by() {
            limits.push((Limit::Processing, self.processing_days, due));
        }
        if let (Some(ends), Some(opened)) = (self.limitation_ends_on(), &self.opened) {
            let days = u32::try_from((ends - opened.violation_on).num_days()).unwrap_or(0);
            limits.push((Limit::Limitation, days, ends));
        }
        limits
    }

    fn open_case(&self) -> Result<&Opened, CaseError> {
        let opened = self.opened.as_ref().ok_or(CaseError::NotOpened)?;
        if self.state.is_closed() {
            return Err(CaseError::Closed(self.state.as_str()));
        }
        Ok(opened)
    }
}

impl Aggregate for Case {
    const TYPE: &'static str = dondoc_contracts::discipline::CASE_STREAM;
    type Command = CaseCommand;
    type Event = CaseEvent;
    type Error = CaseError;

    fn decide(&self, command: &CaseCommand) -> Result<Vec<CaseEvent>, CaseError> {
        if let (CaseCommand::Open(opened), None) = (command, &self.opened) {
            return Ok(vec![CaseEvent {
                case_id: opened.case_id.clone(),
                what: Happened::Opened(opened.clone()),
            }]);
        }
        let opened = self.open_case()?;
        let event = match command {
            CaseCommand::Open(_) => return Err(CaseError::AlreadyOpened(opened.case_id.clone())),
            CaseCommand::Amend {
                summary,
                target,
                add_evidence,
            } => {
                if !matches!(self.state, CaseState::Draft | CaseState::OpinionGiven) {
                    return Err(CaseError::NotADraft(self.state.as_str()));
                }
                let known: BTreeSet<&str> =
                    self.evidence.iter().map(|e| e.event_id.as_str()).collect();
                Happened::Amended {
                    summary: summary.clone().unwrap_or_else(|| self.summary.clone()),
                    target: target.clone().unwrap_or_else(|| self.target.clone()),
                    added_evidence: add_evidence
                        .iter()
                        .filter(|e| !known.contains(e.event_id.as_str()))
                        .cloned()
                        .collect(),
                }
            }
            CaseCommand::RecordOpinion(opinion) => {
                if !matches!(self.state, CaseState::Draft | CaseState::OpinionGiven) {
                    return Err(CaseError::NotADraft(self.state.as_str()));
                }
                if !opinion.recommended_form.is_empty() {
                    allowed(opened, &opinion.recommended_form)?;
                }
                Happened::OpinionRecorded(opinion.clone())
            }
            CaseCommand::Submit { today } => match self.state {
                CaseState::Draft => return Err(CaseError::NoOpinion),
                CaseState::OpinionGiven => Happened::Submitted { on: *today },
                other => return Err(CaseError::NotADraft(other.as_str())),
            },
            CaseCommand::ExtendProcessing { reason } => {
                if self.extended {
                    return Err(CaseError::AlreadyExtended);
                }
                Happened::ProcessingExtended {
                    reason: reason.clone(),
                    processing_days: opened.extended_processing_days,
                }
            }
            CaseCommand::Decide(decision) => {
                if self.state != CaseState::Submitted {
                    return Err(CaseError::NotSubmitted);
                }
                if let Some(form) = &decision.form {
                    allowed(opened, form)?;
                }
                Happened::Decided(decision.clone())
            }
            CaseCommand::Withdraw {
                reason,
                objective_cause,
                today,
            } => Happened::Withdrawn(Withdrawal {
                reason: reason.clone(),
                objective_cause: *objective_cause,
                exempt_task_ids: if *objective_cause {
                    opened.task_ids.clone()
                } else {
                    Vec::new()
                },
                withdrawn_on: *today,
                unit: self.target.unit.clone(),
            }),
            CaseCommand::EvaluateClock {
                today,
                warn_days_before,
            } => {
                // Every limit drawing near that was not warned of yet, each once.
                let unit = self.target.unit.clone();
                let case_id = opened.case_id.clone();
                return Ok(self
                    .limits()
                    .into_iter()
                    .filter(|(limit, days, _)| !self.warned.contains(&(*limit, *days)))
                    .filter(|(_, _, due_on)| {
                        let warn_from = due_on
                            .checked_sub_days(Days::new(u64::from(*warn_days_before)))
                            .unwrap_or(*due_on);
                        *today >= warn_from
                    })
                    .map(|(limit, limit_days, due_on)| CaseEvent {
                        case_id: case_id.clone(),
                        what: Happened::Warned(Warning {
                            limit,
                            limit_days,
                            due_on,
                            days_left: u32::try_from((due_on - *today).num_days().max(0))
                                .unwrap_or(0),
                            unit: unit.clone(),
                        }),
                    })
                    .collect());
            }
        };
        Ok(vec![CaseEvent {
            case_id: opened.case_id.clone(),
            what: event,
        }])
    }

    fn apply(&mut self, event: &CaseEvent) {
        match &event.what {
            Happened::Opened(opened) => {
                self.summary = opened.summary.clone();
                self.target = opened.target.clone();
                self.evidence = opened.evidence.clone();
                self.processing_days = opened.processing_days;
                self.opened = Some(opened.clone());
            }
            Happened::Amended {
                summary,
                target,
                added_evidence,
            } => {
                self.summary = summary.clone();
                self.target = target.clone();
                self.evidence.extend(added_evidence.iter().cloned());
            }
            Happened::OpinionRecorded(opinion) => {
                self.opinion = Some(opinion.clone());
                self.state = CaseState::OpinionGiven;
            }
            Happened::Submitted { on } => {
                self.submitted_on = Some(*on);
                self.state = CaseState::Submitted;
            }
            Happened::ProcessingExtended {
                processing_days, ..
            } => {
                self.processing_days = *processing_days;
                self.extended = true;
            }
            Happened::Decided(decision) => {
                self.decision = Some(decision.clone());
                self.state = CaseState::Decided;
            }
            Happened::Withdrawn(withdrawal) => {
                self.withdrawal = Some(withdrawal.clone());
                self.state = CaseState::Withdrawn;
            }
            Happened::Warned(warning) => {
                self.warned.insert((warning.limit, warning.limit_days));
            }
        }
    }
}

fn allowed(opened: &Opened, form: &str) -> Result<(), CaseError> {
    if opened.allowed_forms.iter().any(|f| f == form) {
        Ok(())
    } else {
        Err(CaseError::FormNotAllowed {
            form: form.to_owned(),
            allowed: opened.allowed_forms.join(", "),
        })
    }
}

#[cfg(test)]
mod tests;
