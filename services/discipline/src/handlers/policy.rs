//! Who may call what: the discipline service's authorisation table, and who reads a case in
//! full. Cases hold personal data: only the Office, Home Affairs and the Chairman read them;
//! a unit learns only that a case concerning it exists and its state; the others, that cases
//! exist.

use dondoc_runtime::auth::{Principal, Role};

use crate::handlers::error::{ApiError, Denied};

/// The RPCs of `DisciplineService`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rpc {
    OpenCase,
    AmendCase,
    RecordHomeAffairsOpinion,
    SubmitToChairman,
    ExtendProcessing,
    DecideCase,
    WithdrawCase,
    GetCase,
    ListCases,
    GetCaseAudit,
    EvaluateCaseClocks,
}

impl Rpc {
    pub const ALL: [Rpc; 11] = [
        Rpc::OpenCase,
        Rpc::AmendCase,
        Rpc::RecordHomeAffairsOpinion,
        Rpc::SubmitToChairman,
        Rpc::ExtendProcessing,
        Rpc::DecideCase,
        Rpc::WithdrawCase,
        Rpc::GetCase,
        Rpc::ListCases,
        Rpc::GetCaseAudit,
        Rpc::EvaluateCaseClocks,
    ];
}

use Role::{Admin, HomeAffairs, Leader, Office, Unit};

/// Roles allowed to call each RPC at all. The Office drafts and carries the case; Home
/// Affairs gives its opinion; the Chairman decides (checked against the leader directory);
/// everyone may look, and sees what `reads_in_full` allows.
pub const POLICY: &[(Rpc, &[Role])] = &[
    (Rpc::OpenCase, &[Office]),
    (Rpc::AmendCase, &[Office]),
    (Rpc::RecordHomeAffairsOpinion, &[HomeAffairs]),
    (Rpc::SubmitToChairman, &[Office]),
    (Rpc::ExtendProcessing, &[Office, Leader]),
    (Rpc::DecideCase, &[Leader]),
    (Rpc::WithdrawCase, &[Office]),
    (Rpc::GetCase, &[Admin, Office, Leader, Unit, HomeAffairs]),
    (Rpc::ListCases, &[Admin, Office, Leader, Unit, HomeAffairs]),
    (Rpc::GetCaseAudit, &[Admin, Office, Leader, HomeAffairs]),
    (Rpc::EvaluateCaseClocks, &[Admin, Office]),
];

/// Refuses a caller whose role may not call `rpc`.
pub fn authorize(rpc: Rpc, caller: &Principal) -> Result<(), ApiError> {
    let allowed = POLICY
        .iter()
        .find(|(r, _)| *r == rpc)
        .is_some_and(|(_, roles)| roles.contains(&caller.role));
    if allowed {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied(Denied {
            reason: "ROLE_NOT_ALLOWED",
            message: format!("role {} may not call {rpc:?}", caller.role.as_str()),
            message_vi: format!(
                "Vai trò {} không được thực hiện thao tác này ({rpc:?}).",
                caller.role.as_str()
            ),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rpc_has_a_row_in_the_table() {
        for rpc in Rpc::ALL {
            assert!(
                POLICY
                    .iter()
                    .any(|(r, roles)| *r == rpc && !roles.is_empty()),
                "{rpc:?} has no roles"
            );
        }
        assert_eq!(POLICY.len(), Rpc::ALL.len());
    }
}
