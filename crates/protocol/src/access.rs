//! Who may do what: permissions, and roles as named sets of them.
//!
//! Every route and every event-log rule of the relay checks a [`Permission`], never a role name.
//! The three built-in roles ([`Role`]) are editable defaults; admins add their own roles.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// One thing a role may allow. Without [`Permission::SeeAllConversations`] a person sees the
/// conversations assigned to them and the unassigned ones (and their customers), nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum Permission {
    /// See every conversation, its customer and its events, whoever it is assigned to.
    SeeAllConversations,
    /// Assign conversations to others and take them from others.
    Reassign,
    /// The live monitor, the queue and an agent's conversations and figures.
    Monitor,
    /// Review messages the outbound policy blocked: release or reject them.
    ReviewBlocked,
    /// Users and roles: create, change, deactivate, reset passwords.
    ManageUsers,
    /// Business numbers and undeliverable webhook bodies.
    ManageNumbers,
    /// Routing: settings, teams, skills, capacities, per-number routing policies.
    ManageRouting,
    /// Automations and the outbound policy: auto-replies, business hours, sensitive words, rate
    /// limits, templates.
    ManageAutomations,
    /// Read the audit log.
    ViewAudit,
    /// Export conversations and customers.
    Export,
    /// Send template broadcasts to many customers.
    Broadcast,
    /// Data governance: retention per number, legal holds, erasing a customer.
    ManageData,
}

impl Permission {
    pub const ALL: [Permission; 12] = [
        Permission::SeeAllConversations,
        Permission::Reassign,
        Permission::Monitor,
        Permission::ReviewBlocked,
        Permission::ManageUsers,
        Permission::ManageNumbers,
        Permission::ManageRouting,
        Permission::ManageAutomations,
        Permission::ViewAudit,
        Permission::Export,
        Permission::Broadcast,
        Permission::ManageData,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::SeeAllConversations => "see_all_conversations",
            Permission::Reassign => "reassign",
            Permission::Monitor => "monitor",
            Permission::ReviewBlocked => "review_blocked",
            Permission::ManageUsers => "manage_users",
            Permission::ManageNumbers => "manage_numbers",
            Permission::ManageRouting => "manage_routing",
            Permission::ManageAutomations => "manage_automations",
            Permission::ViewAudit => "view_audit",
            Permission::Export => "export",
            Permission::Broadcast => "broadcast",
            Permission::ManageData => "manage_data",
        }
    }

    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// What the permission allows, in a sentence (English; the desktop app translates by name).
    pub fn description(self) -> &'static str {
        match self {
            Permission::SeeAllConversations => {
                "See every conversation, its customer and its events, whoever it is assigned to"
            }
            Permission::Reassign => "Assign conversations to others and take them from others",
            Permission::Monitor => "The live monitor, the queue and agents' figures",
            Permission::ReviewBlocked => "Review blocked messages: release or reject them",
            Permission::ManageUsers => "Users and roles",
            Permission::ManageNumbers => "Business numbers and undeliverable webhooks",
            Permission::ManageRouting => "Routing settings, teams, skills and capacities",
            Permission::ManageAutomations => {
                "Auto-replies, business hours, sensitive words, rate limits and templates"
            }
            Permission::ViewAudit => "Read the audit log",
            Permission::Export => "Export conversations and customers",
            Permission::Broadcast => "Send template broadcasts",
            Permission::ManageData => "Retention, legal holds and erasing customers",
        }
    }
}

/// The predefined roles, created with every relay (their permissions can be edited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Agent, Role::Supervisor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The permissions the role starts with.
    pub fn default_permissions(self) -> Vec<Permission> {
        match self {
            Role::Agent => Vec::new(),
            Role::Supervisor => vec![
                Permission::SeeAllConversations,
                Permission::Reassign,
                Permission::Monitor,
                Permission::ReviewBlocked,
            ],
            Role::Admin => Permission::ALL.to_vec(),
        }
    }
}

impl AsRef<str> for Role {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// `GET /api/v1/admin/permissions`: one permission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PermissionInfo {
    pub name: Permission,
    pub description: String,
}

/// A role: a name and the permissions it grants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RoleInfo {
    pub id: i64,
    pub name: String,
    pub permissions: Vec<Permission>,
    /// One of the predefined roles (its name cannot change and it cannot be deleted).
    pub builtin: bool,
    /// Users holding the role.
    pub users: i64,
}

/// `POST /api/v1/admin/roles`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewRole {
    /// 1 to 40 characters: letters, digits, spaces, `-` and `_`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 40))]
    pub name: String,
    pub permissions: Vec<Permission>,
}

/// `PATCH /api/v1/admin/roles/{id}`: the fields to change (absent: unchanged). A change takes
/// effect on the next request of everyone holding the role; no one is signed out.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RolePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 40))]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<Permission>>,
}

/// A role name as stored: trimmed; 1 to 40 characters of letters, digits, spaces, `-`, `_`.
pub fn valid_role_name(name: &str) -> Result<String, String> {
    let len = name.chars().count();
    if name.trim().is_empty() || len > 40 {
        return Err("a role name has 1 to 40 characters".into());
    }
    if !crate::rules::fits(crate::rules::ROLE_NAME, name) {
        return Err("a role name holds letters, digits, spaces, '-' and '_' only".into());
    }
    Ok(name.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_defaults_nest() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
            assert_eq!(
                serde_json::to_value(p).unwrap(),
                serde_json::json!(p.as_str())
            );
        }
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        let sup = Role::Supervisor.default_permissions();
        assert!(sup
            .iter()
            .all(|p| Role::Admin.default_permissions().contains(p)));
        assert!(Role::Agent.default_permissions().is_empty());
    }

    #[test]
    fn role_names_are_checked() {
        assert_eq!(valid_role_name("  Team Lead ").unwrap(), "Team Lead");
        assert_eq!(valid_role_name("Qualität_2").unwrap(), "Qualität_2");
        assert!(valid_role_name("").is_err());
        assert!(valid_role_name(&"x".repeat(41)).is_err());
        assert!(valid_role_name("<b>x</b>").is_err());
        assert!(valid_role_name("a\nb").is_err());
    }
}
