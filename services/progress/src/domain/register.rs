//! The registers of documents (sổ đăng ký văn bản, Decree 30/2020): one per kind and year.
//!
//! A register is an aggregate whose stream is `<incoming|outgoing>-<year>`: the number a
//! document gets is the register's next, decided on the register as it stands and appended
//! only if nobody appended meanwhile (optimistic concurrency), so numbers are gap-free and
//! unique whatever the concurrency and the database. A new year is a new stream: numbering
//! starts again at 01 on 1 January.

use chrono::{Datelike, NaiveDate};

/// Sổ văn bản đến / sổ văn bản đi.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegisterKind {
    Incoming,
    Outgoing,
}

impl RegisterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RegisterKind::Incoming => "incoming",
            RegisterKind::Outgoing => "outgoing",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "incoming" => Some(RegisterKind::Incoming),
            "outgoing" => Some(RegisterKind::Outgoing),
            _ => None,
        }
    }

    /// The register of `kind` for the year of `date`.
    pub fn stream_id(self, year: i32) -> String {
        format!("{}-{year}", self.as_str())
    }
}

/// The register of a day.
pub fn year_of(date: NaiveDate) -> i32 {
    date.year()
}

/// Độ khẩn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Urgency {
    Normal,
    /// Khẩn.
    Urgent,
    /// Thượng khẩn.
    VeryUrgent,
    /// Hỏa tốc.
    Flash,
}

/// Độ mật.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrecy {
    Normal,
    /// Mật.
    Confidential,
    /// Tối mật.
    Secret,
    /// Tuyệt mật.
    TopSecret,
}

impl Secrecy {
    pub fn as_str(self) -> &'static str {
        match self {
            Secrecy::Normal => "normal",
            Secrecy::Confidential => "confidential",
            Secrecy::Secret => "secret",
            Secrecy::TopSecret => "top_secret",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Secrecy::Normal,
            Secrecy::Confidential,
            Secrecy::Secret,
            Secrecy::TopSecret,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

/// A document as entered in a register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredDocument {
    pub kind: RegisterKind,
    pub year: i32,
    /// 1, 2, … within the year's register.
    pub number: u32,
    /// Tên loại.
    pub document_type: String,
    /// The number the issuing body gave (incoming documents).
    pub issuer_number: String,
    /// Ký hiệu.
    pub symbol: String,
    pub issued_on: NaiveDate,
    /// Trích yếu.
    pub summary: String,
    pub issuing_body: String,
    pub signer: String,
    pub urgency: Urgency,
    pub secrecy: Secrecy,
    pub task_id: Option<String>,
    pub file_name: String,
    pub media_type: String,
    /// Lowercase hex SHA-256 of the content, kept in the blob store under it.
    pub sha256: String,
    pub size: u64,
    pub registered_on: NaiveDate,
}

impl RegisteredDocument {
    /// The document's id: its register, year and number (`incoming-2026-17`).
    pub fn document_id(&self) -> String {
        format!("{}-{}", self.kind.stream_id(self.year), self.number)
    }

    /// The number as written on the document: `01` in the incoming register, `01/UBND-VP`
    /// in the outgoing one.
    pub fn number_label(&self) -> String {
        match self.kind {
            RegisterKind::Incoming => format!("{:02}", self.number),
            RegisterKind::Outgoing => format!("{:02}/{}", self.number, self.symbol),
        }
    }
}

/// Splits a document id into its register stream and number.
pub fn parse_document_id(id: &str) -> Option<(String, u32)> {
    let (stream, number) = id.trim().rsplit_once('-')?;
    let (kind, year) = stream.split_once('-')?;
    RegisterKind::parse(kind)?;
    year.parse::<i32>().ok()?;
    Some((stream.to_owned(), number.parse().ok().filter(|n| *n > 0)?))
}

/// A register: how many numbers it has given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Register {
    pub entries: u32,
}

/// Enter a document (its number is the register's to give).
#[derive(Clone, Debug)]
pub struct EnterDocument {
    pub document: RegisteredDocument,
}

/// A document was entered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentEntered {
    pub document: RegisteredDocument,
}

/// A register refuses nothing it is asked: every document gets the next number.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {}

impl dondoc_eventsourcing::Aggregate for Register {
    const TYPE: &'static str = dondoc_contracts::progress::REGISTER_STREAM;
    type Command = EnterDocument;
    type Event = DocumentEntered;
    type Error = RegisterError;

    fn decide(&self, command: &EnterDocument) -> Result<Vec<DocumentEntered>, RegisterError> {
        let mut document = command.document.clone();
        document.number = self.entries + 1;
        Ok(vec![DocumentEntered { document }])
    }

    fn apply(&mut self, event: &DocumentEntered) {
        self.entries = self.entries.max(event.document.number);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dondoc_eventsourcing::Aggregate;

    fn document(kind: RegisterKind) -> RegisteredDocument {
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
        RegisteredDocument {
            kind,
            year: 2026,
            number: 0,
            document_type: "Công văn".into(),
            issuer_number: String::new(),
            symbol: "UBND-VP".into(),
            issued_on: day,
            summary: "Về việc đôn đốc".into(),
            issuing_body: "Sở Xây dựng".into(),
            signer: String::new(),
            urgency: Urgency::Normal,
            secrecy: Secrecy::Normal,
            task_id: None,
            file_name: String::new(),
            media_type: "text/plain".into(),
            sha256: String::new(),
            size: 0,
            registered_on: day,
        }
    }

    #[test]
    fn each_document_gets_the_next_number_and_its_label() {
        let mut register = Register::default();
        for expected in 1..=3 {
            let events = register
                .decide(&EnterDocument {
                    document: document(RegisterKind::Outgoing),
                })
                .expect("entered");
            assert_eq!(events[0].document.number, expected);
            register.apply(&events[0]);
        }
        let mut third = document(RegisterKind::Outgoing);
        third.number = 3;
        assert_eq!(third.number_label(), "03/UBND-VP");
        assert_eq!(third.document_id(), "outgoing-2026-3");
        assert_eq!(
            parse_document_id("outgoing-2026-3"),
            Some(("outgoing-2026".into(), 3))
        );
        assert_eq!(parse_document_id("elsewhere-2026-3"), None);
    }
}
