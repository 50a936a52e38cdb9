//! Who may call what: the assignment service's authorisation table.
//!
//! One table, read top to bottom, is easier to audit than checks scattered through handlers.
//! Finer rules that depend on the task (a leader acts on tasks they issued; a unit reads its own
//! tasks) are in [`may_act_as_authority`] and [`may_read_task`].

use dondoc_runtime::auth::{Principal, Role};

use crate::domain::{Issuer, IssuerKind, TaskRecord};
use crate::handlers::error::ApiError;

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

/// Whether the caller acts for the issuing authority of `task`: the Office (on the
/// leadership's behalf) and administrators always; a leader only for tasks issued in their own
/// name. Tasks of a collective issuer (Government, Prime Minister, the City People's Committee)
/// or recorded without a leader id are changed through the Office, never by whichever leader
/// happens to ask.
pub fn may_act_as_authority(caller: &Principal, task: &TaskRecord) -> bool {
    match caller.role {
        Admin | Office => true,
        Leader => matches!(
            (&task.issuer.leader_id, &caller.leader_id),
            (Some(issuer), Some(caller)) if issuer == caller
        ),
        Unit | HomeAffairs => false,
    }
}

/// Whether the caller may assign a task with this issuer: the Office and administrators record
/// tasks of any issuer; a leader assigns only as the Chairman or a Vice-Chairman, in their own
/// name.
pub fn may_assign_as(caller: &Principal, issuer: &Issuer) -> bool {
    match caller.role {
        Admin | Office => true,
        Leader => {
            matches!(issuer.kind, IssuerKind::Chairman | IssuerKind::ViceChairman)
                && issuer.leader_id.is_some()
                && issuer.leader_id == caller.leader_id
        }
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

    fn task_issued_by(leader_id: Option<&str>) -> TaskRecord {
        let event = crate::domain::TaskEvent::Assigned {
            task_id: crate::domain::TaskId::from_uuid(uuid::Uuid::nil()),
            issuer: Issuer {
                kind: if leader_id.is_some() {
                    IssuerKind::ViceChairman
                } else {
                    IssuerKind::Chairman
                },
                leader_id: leader_id.map(str::to_owned),
                leader_name: None,
            },
            source_document: crate::domain::SourceDocument {
                number: "1".into(),
                symbol: "UBND".into(),
                date: chrono::NaiveDate::MIN,
                summary: "x".into(),
            },
            title: "x".into(),
            content: "x".into(),
            lead_unit: crate::domain::UnitCode::parse("SXD").expect("code"),
            coordinating_units: vec![],
            deadline: None,
            priority: crate::domain::Priority::Normal,
            assigned_on: chrono::NaiveDate::MIN,
        };
        TaskRecord::assigned(&event, 1, chrono::DateTime::UNIX_EPOCH, "office")
            .expect("an assignment starts a record")
    }

    #[test]
    fn a_leader_acts_only_on_tasks_issued_in_their_own_name() {
        let leader = caller(Leader); // pct-a

        assert!(may_act_as_authority(
            &leader,
            &task_issued_by(Some("pct-a"))
        ));
        assert!(!may_act_as_authority(
            &leader,
            &task_issued_by(Some("pct-b"))
        ));
        assert!(!may_act_as_authority(&leader, &task_issued_by(None)));
        assert!(may_act_as_authority(&caller(Office), &task_issued_by(None)));
    }

    #[test]
    fn a_leader_assigns_only_as_chairman_or_vice_chairman_in_their_own_name() {
        let leader = caller(Leader); // pct-a
        let issuer = |kind, id: Option<&str>| Issuer {
            kind,
            leader_id: id.map(str::to_owned),
            leader_name: None,
        };

        assert!(may_assign_as(
            &leader,
            &issuer(IssuerKind::ViceChairman, Some("pct-a"))
        ));
        assert!(!may_assign_as(
            &leader,
            &issuer(IssuerKind::ViceChairman, Some("pct-b"))
        ));
        assert!(!may_assign_as(
            &leader,
            &issuer(IssuerKind::Government, Some("pct-a"))
        ));
        assert!(may_assign_as(
            &caller(Office),
            &issuer(IssuerKind::Government, None)
        ));
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
