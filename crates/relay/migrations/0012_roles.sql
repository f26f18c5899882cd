-- Schema version 12: roles as named sets of permissions. `users.role` names a role; the three
-- predefined ones start with their default permissions (`protocol::access::Role`), editable.
-- `permissions` is a comma-separated list of permission names.
CREATE TABLE roles (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    permissions TEXT NOT NULL,
    builtin     INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
INSERT INTO roles (name, permissions, builtin, created_at) VALUES
    ('agent', '', 1, 0),
    ('supervisor', 'see_all_conversations,reassign,monitor,review_blocked', 1, 0),
    ('admin', 'see_all_conversations,reassign,monitor,review_blocked,manage_users,manage_numbers,manage_routing,manage_automations,view_audit,export,broadcast', 1, 0);
