//! Who may call what: the assignment service's authorisation table.
//!
//! One table, read top to bottom, is easier to audit than checks scattered through handlers.
//! Finer rules that depend on the task or the leader directory (a leader acts on tasks they
//! assigned, and the Chairman on any task of a Vice-Chairman; a unit reads its own tasks) are
//! the functions below it.

use chrono::NaiveDate;
use dondoc_runtime::auth::{Principal, Role};

use crate::domain::{Assigner, AssignerKind, LeaderRoster, LeaderTitle, TaskRecord};
use crate::handlers::error::{ApiError, Denied};

/// The RPCs of `AssignmentService`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rpc {
    ImportUnits,
    ListUnits,
    GetUnit,
    ImportLeaders,
    ListLeaders,
    AssignTask,
    ImportHistoricalTask,
    GetTask,
    ListTasks,
    ReassignTask,
    ExtendDeadline,
    RequestExtension,
    DecideExtension,
    CancelTask,
}

impl Rpc {
    pub const ALL: [Rpc; 14] = [
        Rpc::ImportUnits,
        Rpc::ListUnits,
        Rpc::GetUnit,
        Rpc::ImportLeaders,
        Rpc::ListLeaders,
        Rpc::AssignTask,
        Rpc::ImportHistoricalTask,
        Rpc::GetTask,
        Rpc::ListTasks,
        Rpc::ReassignTask,
        Rpc::ExtendDeadline,
        Rpc::RequestExtension,
        Rpc::DecideExtension,
        Rpc::CancelTask,
    ];
}

use Role::{Admin, HomeAffairs, Leader, Office, Unit};

/// Roles allowed to call each RPC at all.
pub const POLICY: &[(Rpc, &[Role])] = &[
    (Rpc::ImportUnits, &[Admin, Office]),
    (Rpc::ListUnits, &[Admin, Office, Leader, Unit, HomeAffairs]),
    (Rpc::GetUnit, &[Admin, Office, Leader, Unit, HomeAffairs]),
    (Rpc::ImportLeaders, &[Admin, Office]),
    (
        Rpc::ListLeaders,
        &[Admin, Office, Leader, Unit, HomeAffairs],
    ),
    // Leaders assign; the Office records assignments on their behalf.
    (Rpc::AssignTask, &[Admin, Office, Leader]),
    // Bringing in a paper register is the Office's work, audited as such.
    (Rpc::ImportHistoricalTask, &[Admin, Office]),
    (Rpc::GetTask, &[Admin, Office, Leader, Unit, HomeAffairs]),
    (Rpc::ListTasks, &[Admin, Office, Leader, Unit, HomeAffairs]),
    // Units are let through so that the lead unit's attempt can be recorded and refused by the
    // domain rule; any other unit is denied in the handler.
    (Rpc::ReassignTask, &[Admin, Office, Leader, Unit]),
    (Rpc::ExtendDeadline, &[Admin, Office, Leader]),
    // The lead unit asks (the progress service will carry its requests); the Office records
    // paper requests.
    (Rpc::RequestExtension, &[Admin, Office, Unit]),
    (Rpc::DecideExtension, &[Admin, Office, Leader]),
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

/// Whether `leader_id` was the Chairman on `date`.
fn is_chairman(roster: &LeaderRoster, leader_id: &str, date: NaiveDate) -> bool {
    roster
        .leader_on(leader_id, date)
        .is_some_and(|l| l.title == LeaderTitle::Chairman)
}

/// Whether `leader_id` speaks for the assigning authority of `task` on `date`: the leader who
/// assigned it, or the Chairman for any task of a Vice-Chairman. Tasks of the City People's
/// Committee as a body (or of an unclassified old issuer) are changed by the Chairman or
/// through the Office.
pub fn leader_acts_for(
    leader_id: &str,
    task: &TaskRecord,
    roster: &LeaderRoster,
    date: NaiveDate,
) -> bool {
    let assigner = &task.assignment.assigner;
    if assigner.kind.is_leader() && assigner.leader_id.as_deref() == Some(leader_id) {
        return true;
    }
    is_chairman(roster, leader_id, date)
        && matches!(
            assigner.kind,
            AssignerKind::ViceChairman | AssignerKind::CityPeoplesCommittee
        )
}

/// Whether the caller acts for the issuing authority of `task`: the Office (on the
/// leadership's behalf) and administrators always; a leader as [`leader_acts_for`] says.
pub fn may_act_as_authority(
    caller: &Principal,
    task: &TaskRecord,
    roster: &LeaderRoster,
    date: NaiveDate,
) -> bool {
    match caller.role {
        Admin | Office => true,
        Leader => caller
            .leader_id
            .as_deref()
            .is_some_and(|id| leader_acts_for(id, task, roster, date)),
        Unit | HomeAffairs => false,
    }
}

/// Whether `leader_id` may decide extensions of `task` on `date`: the authority
/// ([`leader_acts_for`]) or the Vice-Chairman supervising the lead unit.
pub fn may_decide_extension(
    leader_id: &str,
    task: &TaskRecord,
    roster: &LeaderRoster,
    date: NaiveDate,
) -> bool {
    leader_acts_for(leader_id, task, roster, date)
        || task.supervising_leader_id.as_deref() == Some(leader_id)
}

/// Whether the caller may assign in this assigner's name: the Office and administrators record
/// tasks of any assigner; a leader assigns only in their own name (the leader directory checks
/// the title).
pub fn may_assign_as(caller: &Principal, assigner: &Assigner) -> bool {
    match caller.role {
        Admin | Office => true,
        Leader => assigner.kind.is_leader() && assigner.leader_id == caller.leader_id,
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
            leader_id: (role == Leader).then(|| "pct-tran".into()),
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
        for rpc in Rpc::ALL {
            assert!(POLICY.iter().any(|(r, _)| *r == rpc), "{rpc:?} has no row");
        }
    }

    #[test]
    fn a_leader_assigns_only_in_their_own_name() {
        let leader = caller(Leader); // pct-tran
        let assigner = |kind, id: Option<&str>| Assigner {
            kind,
            leader_id: id.map(str::to_owned),
            leader_name: None,
        };

        assert!(may_assign_as(
            &leader,
            &assigner(AssignerKind::ViceChairman, Some("pct-tran"))
        ));
        assert!(!may_assign_as(
            &leader,
            &assigner(AssignerKind::ViceChairman, Some("pct-le"))
        ));
        assert!(!may_assign_as(
            &leader,
            &assigner(AssignerKind::CityPeoplesCommittee, None)
        ));
        assert!(may_assign_as(
            &caller(Office),
            &assigner(AssignerKind::CityPeoplesCommittee, None)
        ));
    }
}
