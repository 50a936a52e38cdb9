//! The audit of who read a case (stream type `case-audit`, id = `audit-<case id>`): a case holds
//! personal data of officials, and every read of it is itself a recorded fact. Kept apart from
//! the case's own stream so that reading never races a change to the case.

use dondoc_eventsourcing::Aggregate;

/// One read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseRead {
    pub case_id: String,
    pub subject: String,
    pub role: String,
    /// "GetCase", "ListCases".
    pub how: String,
}

#[derive(Clone, Debug, Default)]
pub struct CaseAudit {
    pub reads: u64,
}

impl Aggregate for CaseAudit {
    const TYPE: &'static str = dondoc_contracts::discipline::AUDIT_STREAM;
    type Command = CaseRead;
    type Event = CaseRead;
    type Error = std::convert::Infallible;

    fn decide(&self, command: &CaseRead) -> Result<Vec<CaseRead>, Self::Error> {
        Ok(vec![command.clone()])
    }

    fn apply(&mut self, _event: &CaseRead) {
        self.reads += 1;
    }
}
