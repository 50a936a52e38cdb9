//! Who may call what: the escalation service's authorisation table, and whose notices each
//! caller sees.

use dondoc_runtime::auth::{Principal, Role};

use crate::consumers::notifications::Audience;
use crate::handlers::error::{ApiError, Denied};

/// The RPCs of `EscalationService`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rpc {
    EvaluateDeadlines,
    WatchNotifications,
    ListNotifications,
    ListEscalations,
    GetWatch,
    RecordLeadershipAction,
    ListLeadershipActions,
}

impl Rpc {
    pub const ALL: [Rpc; 7] = [
        Rpc::EvaluateDeadlines,
        Rpc::WatchNotifications,
        Rpc::ListNotifications,
        Rpc::ListEscalations,
        Rpc::GetWatch,
        Rpc::RecordLeadershipAction,
        Rpc::ListLeadershipActions,
    ];
}

use Role::{Admin, HomeAffairs, Leader, Office, Unit};

/// Roles allowed to call each RPC at all. Urging is the Office's duty (đôn đốc): it and the
/// operators move time; everyone reads the notices meant for them; the leadership and the
/// Office record the leadership's actions.
pub const POLICY: &[(Rpc, &[Role])] = &[
    (Rpc::EvaluateDeadlines, &[Admin, Office]),
    (
        Rpc::WatchNotifications,
        &[Admin, Office, Leader, Unit, HomeAffairs],
    ),
    (
        Rpc::ListNotifications,
        &[Admin, Office, Leader, Unit, HomeAffairs],
    ),
    (
        Rpc::ListEscalations,
        &[Admin, Office, Leader, Unit, HomeAffairs],
    ),
    (Rpc::GetWatch, &[Admin, Office, Leader, Unit, HomeAffairs]),
    (Rpc::RecordLeadershipAction, &[Office, Leader]),
    (
        Rpc::ListLeadershipActions,
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

/// The notices a caller sees: a unit its own (to it, or about the tasks it leads), a leader
/// those addressed to them, everyone else all.
pub fn audience(caller: &Principal) -> Audience {
    match caller.role {
        Unit => Audience::Unit(caller.unit_code.clone().unwrap_or_default()),
        Leader => Audience::Leader(caller.leader_id.clone().unwrap_or_default()),
        Admin | Office | HomeAffairs => Audience::Everyone,
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
