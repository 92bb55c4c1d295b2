//! What each administrator role may do. Every dashboard page and API route
//! names one [`Permission`]; this table is the only place that says which
//! roles hold it (and the role matrix test reads the same table).

use crate::domain::AdminRole;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// The overview (every role: it shows counts, no personal data).
    Overview,
    /// Read APs, NAS clients, users, groups, devices, vouchers.
    ReadInventory,
    /// Change NAS clients, APs, users, groups, devices.
    ManageNetwork,
    /// Read sessions (RADIUS and portal) and the troubleshooting timeline.
    ReadSessions,
    /// Disconnect or re-authorize a session.
    Disconnect,
    /// Create voucher batches and print them.
    CreateVouchers,
    /// Read the auth log, accounting and events.
    ReadLogs,
    /// The real-name export (identity with MAC, IP, AP, SSID, times): the
    /// audit administrator's, for inspections.
    ExportRealName,
    /// Read alerts.
    ReadAlerts,
    /// Acknowledge alerts, maintenance windows.
    ManageAlerts,
    /// Administrator accounts, roles, password and TOTP resets, tokens.
    ManageAdmins,
    /// The audit trail.
    ReadAudit,
    /// The effective configuration (secrets masked).
    ReadSettings,
}

impl Permission {
    pub const ALL: [Permission; 13] = [
        Permission::Overview,
        Permission::ReadInventory,
        Permission::ManageNetwork,
        Permission::ReadSessions,
        Permission::Disconnect,
        Permission::CreateVouchers,
        Permission::ReadLogs,
        Permission::ExportRealName,
        Permission::ReadAlerts,
        Permission::ManageAlerts,
        Permission::ManageAdmins,
        Permission::ReadAudit,
        Permission::ReadSettings,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Permission::Overview => "overview",
            Permission::ReadInventory => "read-inventory",
            Permission::ManageNetwork => "manage-network",
            Permission::ReadSessions => "read-sessions",
            Permission::Disconnect => "disconnect",
            Permission::CreateVouchers => "create-vouchers",
            Permission::ReadLogs => "read-logs",
            Permission::ExportRealName => "export-real-name",
            Permission::ReadAlerts => "read-alerts",
            Permission::ManageAlerts => "manage-alerts",
            Permission::ManageAdmins => "manage-admins",
            Permission::ReadAudit => "read-audit",
            Permission::ReadSettings => "read-settings",
        }
    }
}

/// Whether `role` holds `permission`.
pub fn allows(role: AdminRole, permission: Permission) -> bool {
    use AdminRole as R;
    use Permission as P;
    match role {
        R::Admin => true,
        // Listed, not "all but": a new permission is nobody's until given.
        R::System => matches!(
            permission,
            P::Overview
                | P::ReadInventory
                | P::ManageNetwork
                | P::ReadSessions
                | P::Disconnect
                | P::CreateVouchers
                | P::ReadLogs
                | P::ReadAlerts
                | P::ManageAlerts
                | P::ReadSettings
        ),
        R::Security => matches!(permission, P::Overview | P::ManageAdmins | P::ReadSettings),
        R::Audit => matches!(
            permission,
            P::Overview | P::ReadAudit | P::ReadLogs | P::ExportRealName | P::ReadAlerts
        ),
        R::Operator => matches!(
            permission,
            P::Overview
                | P::ReadInventory
                | P::ReadSessions
                | P::Disconnect
                | P::CreateVouchers
                | P::ReadLogs
                | P::ReadAlerts
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_roles_do_not_overlap_where_mlps_says_they_must_not() {
        // Only the audit administrator reads the trail of the others.
        for r in [AdminRole::System, AdminRole::Security, AdminRole::Operator] {
            assert!(!allows(r, Permission::ReadAudit), "{r}");
        }
        // The auditor changes nothing.
        for p in [
            Permission::ManageNetwork,
            Permission::Disconnect,
            Permission::CreateVouchers,
            Permission::ManageAlerts,
            Permission::ManageAdmins,
        ] {
            assert!(!allows(AdminRole::Audit, p), "{p:?}");
        }
        // Accounts are the security administrator's alone.
        for r in [AdminRole::System, AdminRole::Audit, AdminRole::Operator] {
            assert!(!allows(r, Permission::ManageAdmins), "{r}");
        }
        assert!(!allows(AdminRole::Security, Permission::ManageNetwork));
        for p in Permission::ALL {
            assert!(allows(AdminRole::Admin, p));
            assert!(allows(AdminRole::Audit, Permission::Overview));
        }
    }
}
