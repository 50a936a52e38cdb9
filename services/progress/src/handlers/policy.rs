//! Who may call what: the progress service's authorisation table, and the finer rules that
//! depend on the task (a unit acts only on tasks it leads or coordinates; direction comes from
//! the assigning leader or the Chairman).

use dondoc_runtime::auth::{Principal, Role};

use crate::domain::TaskFacts;
use crate::handlers::error::{ApiError, Denied};

/// The RPCs of `ProgressService`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rpc {
    AcknowledgeTask,
    ReportProgress,
    RequestCoordination,
    SubmitCoordination,
    ReportDifficulty,
    GiveDirection,
    RequestExtension,
    RequestHandOff,
    SubmitResult,
    ReviewResult,
    EvaluateReplyDeadlines,
    RegisterIncomingDocument,
    RegisterOutgoingDocument,
    ListRegister,
    GetDocument,
    GetAttachment,
    GetDossier,
    CloseDossier,
    ArchiveDossier,
    GetExecution,
    ListExecutions,
}

impl Rpc {
    pub const ALL: [Rpc; 21] = [
        Rpc::AcknowledgeTask,
        Rpc::ReportProgress,
        Rpc::RequestCoordination,
        Rpc::SubmitCoordination,
        Rpc::ReportDifficulty,
        Rpc::GiveDirection,
        Rpc::RequestExtension,
        Rpc::RequestHandOff,
        Rpc::SubmitResult,
        Rpc::ReviewResult,
        Rpc::EvaluateReplyDeadlines,
        Rpc::RegisterIncomingDocument,
        Rpc::RegisterOutgoingDocument,
        Rpc::ListRegister,
        Rpc::GetDocument,
        Rpc::GetAttachment,
        Rpc::GetDossier,
        Rpc::CloseDossier,
        Rpc::ArchiveDossier,
        Rpc::GetExecution,
        Rpc::ListExecutions,
    ];

    /// Whether only the task's lead unit may call it.
    pub fn is_lead_unit_act(self) -> bool {
        matches!(
            self,
            Rpc::AcknowledgeTask
                | Rpc::ReportProgress
                | Rpc::RequestCoordination
                | Rpc::ReportDifficulty
                | Rpc::RequestExtension
                | Rpc::RequestHandOff
                | Rpc::SubmitResult
        )
    }
}

use Role::{Admin, HomeAffairs, Leader, Office, Unit};

/// Roles allowed to call each RPC at all. The work is the unit's own: nobody acknowledges,
/// reports or submits in its name. The Office reviews; leaders direct.
pub const POLICY: &[(Rpc, &[Role])] = &[
    (Rpc::AcknowledgeTask, &[Unit]),
    (Rpc::ReportProgress, &[Unit]),
    (Rpc::RequestCoordination, &[Unit]),
    (Rpc::SubmitCoordination, &[Unit]),
    (Rpc::ReportDifficulty, &[Unit]),
    (Rpc::GiveDirection, &[Leader]),
    (Rpc::RequestExtension, &[Unit]),
    (Rpc::RequestHandOff, &[Unit]),
    (Rpc::SubmitResult, &[Unit]),
    (Rpc::ReviewResult, &[Office]),
    (Rpc::EvaluateReplyDeadlines, &[Admin, Office]),
    // The Office keeps the registers (văn thư); units read the documents of their own tasks.
    (Rpc::RegisterIncomingDocument, &[Office]),
    (Rpc::RegisterOutgoingDocument, &[Office]),
    (Rpc::ListRegister, &[Admin, Office, Leader, HomeAffairs]),
    (
        Rpc::GetDocument,
        &[Admin, Office, Leader, Unit, HomeAffairs],
    ),
    (Rpc::GetDossier, &[Admin, Office, Leader, Unit, HomeAffairs]),
    (
        Rpc::GetAttachment,
        &[Admin, Office, Leader, Unit, HomeAffairs],
    ),
    // The Office controls every document, and so the dossier's lifecycle.
    (Rpc::CloseDossier, &[Office]),
    (Rpc::ArchiveDossier, &[Office]),
    (
        Rpc::GetExecution,
        &[Admin, Office, Leader, Unit, HomeAffairs],
    ),
    (
        Rpc::ListExecutions,
        &[Admin, Office, Leader, Unit, HomeAffairs],
    ),
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

/// The task-level rule for `rpc`: lead-unit acts only by the lead unit; a coordination reply
/// only by a coordinating unit (the domain checks it is the one asked).
pub fn authorize_on_task(rpc: Rpc, caller: &Principal, task: &TaskFacts) -> Result<(), ApiError> {
    let unit = caller.unit_code.as_deref().unwrap_or_default();
    if rpc.is_lead_unit_act() && task.lead_unit != unit {
        return Err(ApiError::denied(
            "NOT_THE_LEAD_UNIT",
            format!("only the lead unit {} acts on this task", task.lead_unit),
            format!(
                "Chỉ đơn vị chủ trì {} thực hiện thao tác này.",
                task.lead_unit
            ),
        ));
    }
    if rpc == Rpc::SubmitCoordination && !task.is_coordinating(unit) {
        return Err(ApiError::denied(
            "NOT_A_COORDINATING_UNIT",
            "only a coordinating unit of the task replies to a coordination request",
            "Chỉ đơn vị phối hợp của nhiệm vụ mới trả lời đề nghị phối hợp.",
        ));
    }
    Ok(())
}

/// Units read only the tasks they lead or coordinate; every other role reads all.
pub fn may_read(caller: &Principal, task: &TaskFacts) -> bool {
    match (caller.role, caller.unit_code.as_deref()) {
        (Unit, Some(unit)) => task.lead_unit == unit || task.is_coordinating(unit),
        (Unit, None) => false,
        _ => true,
    }
}

/// Whether the leader assigned this task (the Chairman is checked by the caller, who knows
/// the leader directory).
pub fn assigned_by(leader_id: &str, task: &TaskFacts) -> bool {
    task.assigning_leader_id.as_deref() == Some(leader_id)
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
