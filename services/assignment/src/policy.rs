//! Who may call what: the assignment service's authorisation table.
//!
//! One table, read top to bottom, is easier to audit than checks scattered through handlers.
//! Finer rules that depend on the task (a leader acts on tasks they issued; a unit reads its own
//! tasks) are in [`may_act_as_authority`] and [`may_read_task`].

use dondoc_runtime::auth::{Principal, Role};

use crate::domain::TaskRecord;
use crate::error::ApiError;

/// The RPCs of `AssignmentService`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rpc {
    ImportUnits,
    ListUnits,
    GetUnit,
    AssignTask,
    GetTask,
    ListTasks,
    ReassignTask,
    ExtendDeadline,
    CancelTask,
}

use Role::{Admin, HomeAffairs, Leader, Office, Unit};

/// Roles allowed to call each RPC at all.
const POLICY: &[(Rpc, &[Role])] = &[
    (Rpc::ImportUnits, &[Admin, Office]),
    (Rpc::ListUnits, &[Admin, Office, Leader, Unit, HomeAffairs]),
    (Rpc::GetUnit, &[Admin, Office, Leader, Unit, HomeAffairs]),
    // Leaders assign; the Office records assignments on their behalf.
    (Rpc::AssignTask, &[Admin, Office, Leader]),
    (Rpc::GetTask, &[Admin, Office, Leader, Unit, HomeAffairs]),
    (Rpc::ListTasks, &[Admin, Office, Leader, Unit, HomeAffairs]),
    // Units are let through so that the lead unit's attempt can be recorded and refused by the
    // domain rule; any other unit is denied in the handler.
    (Rpc::ReassignTask, &[Admin, Office, Leader, Unit]),
    (Rpc::ExtendDeadline, &[Admin, Office, Leader]),
    (Rpc::CancelTask, &[Admin, Office, Leader]),
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
        Err(ApiError::PermissionDenied(format!(
            "role {} may not call {rpc:?}",
            caller.role.as_str()
        )))
    }
}

/// Whether the caller acts for the issuing authority of `task`: the Office and administrators
/// always; a leader for tasks they issued and for tasks of a collective issuer (Government,
/// Prime Minister, the City People's Committee) that name no leader.
pub fn may_act_as_authority(caller: &Principal, task: &TaskRecord) -> bool {
    match caller.role {
        Admin | Office => true,
        Leader => match (&task.issuer.leader_id, &caller.leader_id) {
            (None, _) => true,
            (Some(issuer), Some(caller)) => issuer == caller,
            (Some(_), None) => false,
        },
        Unit | HomeAffairs => false,
    }
}

/// Units read only the tasks they lead or coordinate; every other role reads all tasks.
pub fn may_read_task(caller: &Principal, task: &TaskRecord) -> bool {
    match (caller.role, caller.unit_code.as_deref()) {
        (Unit, Some(unit)) => {
            task.lead_unit.as_str() == unit
                || task.coordinating_units.iter().any(|u| u.as_str() == unit)
        }
        (Unit, None) => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role) -> Principal {
        Principal {
            subject: "someone".into(),
            role,
            unit_code: (role == Unit).then(|| "SXD".into()),
            leader_id: (role == Leader).then(|| "pct-a".into()),
        }
    }

    #[test]
    fn a_unit_cannot_assign_tasks() {
        assert!(matches!(
            authorize(Rpc::AssignTask, &caller(Unit)),
            Err(ApiError::PermissionDenied(_))
        ));
    }

    #[test]
    fn leaders_and_the_office_assign_tasks() {
        assert!(authorize(Rpc::AssignTask, &caller(Leader)).is_ok());
        assert!(authorize(Rpc::AssignTask, &caller(Office)).is_ok());
    }

    #[test]
    fn home_affairs_reads_but_does_not_change_tasks() {
        assert!(authorize(Rpc::ListTasks, &caller(HomeAffairs)).is_ok());
        assert!(authorize(Rpc::CancelTask, &caller(HomeAffairs)).is_err());
    }

    #[test]
    fn every_rpc_has_a_policy_row() {
        for rpc in [
            Rpc::ImportUnits,
            Rpc::ListUnits,
            Rpc::GetUnit,
            Rpc::AssignTask,
            Rpc::GetTask,
            Rpc::ListTasks,
            Rpc::ReassignTask,
            Rpc::ExtendDeadline,
            Rpc::CancelTask,
        ] {
            assert!(POLICY.iter().any(|(r, _)| *r == rpc), "{rpc:?} has no row");
        }
    }
}
