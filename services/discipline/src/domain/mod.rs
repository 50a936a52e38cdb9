//! The discipline service's domain, without I/O: the legal regimes, the drafting policy, and
//! the case aggregate with its workflow and clock.

pub mod audit;
pub mod case;
pub mod law;
pub mod policy;

pub use case::{Case, CaseCommand, CaseError, CaseEvent, CaseState, Happened};
pub use law::Law;
pub use policy::DraftingPolicy;

/// One field of a request that was refused, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: &str, description: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            description: description.into(),
        }
    }
}
